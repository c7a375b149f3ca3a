/*
 * Fuzzer for ccs_pbjson: the first input byte picks a message type (the all-kinds test message
 * or one of the topic contracts), the rest is JSON text. Whatever decodes must
 *   1. encode (the codec never builds a message it cannot print),
 *   2. decode again from its own output to the same wire bytes (JSON is a faithful view), and
 *   3. survive protobuf-c's own pack/unpack with identical JSON (the struct we built is what
 *      libprotobuf-c would have built).
 * Any violation aborts, which libFuzzer and the corpus replay both report.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pbjson.h"
#include "pbjson_test.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *pick(uint8_t sel)
{
	static const char *const topics[] = {
		"ccs.referral.submitted.v1",  "ccs.referral.decided.v1",
		"ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1",
		"ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1",
	};
	unsigned i = sel % 7;

	if (i == 6)
		return &ccs__test__v1__kitchen__descriptor;
	return ccs_pbjson_topic_descriptor(topics[i]);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
	uint8_t *buf;

	*n = protobuf_c_message_get_packed_size(m);
	buf = malloc(*n ? *n : 1);
	if (!buf || protobuf_c_message_pack(m, buf) != *n)
		abort();
	return buf;
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_pbjson: invariant violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m1 = NULL, *m2 = NULL, *m3 = NULL;
	char err[256], *j1 = NULL, *j2 = NULL, *j3 = NULL;
	uint8_t *w1 = NULL, *w2 = NULL;
	size_t n1, n2;

	if (size < 1)
		return 0;
	d = pick(data[0]);
	if (ccs_pbjson_from_json(d, (const char *)data + 1, size - 1, &m1, err, sizeof(err)) != 0) {
		check(m1 == NULL && err[0] != '\0', "failed decode leaves no message and a reason");
		return 0;
	}
	check(protobuf_c_message_check(m1), "decoded message passes protobuf_c_message_check");
	j1 = ccs_pbjson_to_json(m1, 0);
	check(j1 != NULL, "decoded message encodes");
	check(ccs_pbjson_from_json(d, j1, strlen(j1), &m2, err, sizeof(err)) == 0,
	      "own output decodes");
	w1 = pack(m1, &n1);
	w2 = pack(m2, &n2);
	check(n1 == n2 && memcmp(w1, w2, n1) == 0, "JSON round trip keeps the wire bytes");
	j2 = ccs_pbjson_to_json(m2, 1);
	check(j2 != NULL, "pretty output");
	m3 = protobuf_c_message_unpack(d, NULL, n1, w1);
	check(m3 != NULL, "packed message unpacks");
	j3 = ccs_pbjson_to_json(m3, 0);
	check(j3 != NULL && strcmp(j1, j3) == 0, "unpacked message prints the same JSON");

	free(j1);
	free(j2);
	free(j3);
	free(w1);
	free(w2);
	protobuf_c_message_free_unpacked(m1, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
	protobuf_c_message_free_unpacked(m3, NULL);
	return 0;
}
