/*
 * UUIDs: random v4 for new event ids, name-based v5 (SHA-1) for deterministic decision ids.
 * A decision id is v5(CCS namespace, "<input event id>/<decision kind>"), so replaying an input
 * yields the same id and consumers can de-duplicate on ce_id.
 */
#ifndef CCS_UUID_H
#define CCS_UUID_H

#include <stddef.h>
#include <stdint.h>

#define CCS_UUID_STRLEN 37 /* 36 characters and NUL */

typedef struct ccs_uuid {
	uint8_t b[16];
} ccs_uuid;

/* The project's namespace for v5 ids (itself a fixed v5 id under the URL namespace). */
extern const ccs_uuid ccs_uuid_ns;

void ccs_uuid_v4(ccs_uuid *out);
void ccs_uuid_v5(ccs_uuid *out, const ccs_uuid *ns, const void *name, size_t len);
/* v5 of "<input_id>/<kind>" in the project namespace, formatted. */
void ccs_uuid_decision_id(char out[CCS_UUID_STRLEN], const char *input_id, const char *kind);
void ccs_uuid_format(const ccs_uuid *u, char out[CCS_UUID_STRLEN]);
/* Parse canonical 8-4-4-4-12 hex (either case). Returns 0 or -1. */
int ccs_uuid_parse(const char *s, ccs_uuid *out) __attribute__((warn_unused_result));

/* SHA-1 of a buffer, used by v5 and nowhere security-relevant. */
void ccs_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
