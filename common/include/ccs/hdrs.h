/*
 * Header blobs: how the outbox stores Kafka headers in one bytea column. A blob is a sequence
 * of (u16 name length, name, u32 value length, value), big-endian. Any bytes survive, which
 * matters for dead letters whose headers came from a malformed producer.
 */
#ifndef CCS_HDRS_H
#define CCS_HDRS_H

#include <stddef.h>
#include <stdint.h>

#include "ccs/mem.h"

typedef struct ccs_hdrs {
	ccs_arena *arena;
	uint8_t *buf;
	size_t len, cap;
} ccs_hdrs;

void ccs_hdrs_init(ccs_hdrs *h, ccs_arena *arena);
void ccs_hdrs_add(ccs_hdrs *h, const char *name, size_t nlen, const void *val, size_t vlen);
void ccs_hdrs_add_str(ccs_hdrs *h, const char *name, const char *val);
/* Append every header of another blob. */
void ccs_hdrs_add_blob(ccs_hdrs *h, const ccs_hdrs *other);

/* Called once per header; return non-zero to stop. */
typedef int (*ccs_hdrs_cb)(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen);
/* Walk a blob; returns 0, the callback's non-zero value, or -1 when the blob is malformed. */
int ccs_hdrs_parse(const uint8_t *blob, size_t len, ccs_hdrs_cb cb, void *ctx)
	__attribute__((warn_unused_result));

#endif
