/*
 * ccs-contract-decode: the daemons' decoding path, on its own, for the wire-compatibility test.
 *
 *   ccs-contract-decode TOPIC --type        print the topic's message type (the shared table)
 *   ccs-contract-decode TOPIC JSON < bytes  decode as a daemon does (wire check for UTF-8 and
 *                                           NUL, unpack, UTF-8 check), render proto3 JSON into
 *                                           the file JSON as ccsctl tail would, and write the
 *                                           message re-packed to stdout
 *
 * The re-packed bytes let the test compare, with protoc, what this decoder kept against what
 * protoc read from the same input: a field of the older version lost or misread shows there.
 * Exit 0, or 1 with the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pbjson.h"
#include "ccs/pbutf8.h"

#define DECODE_MAX_INPUT (1 << 20)

int main(int argc, char **argv)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m = NULL;
	uint8_t *in = NULL, *out = NULL;
	char field[256], *json = NULL;
	FILE *jf = NULL;
	size_t n, len;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: ccs-contract-decode TOPIC --type | TOPIC JSONFILE < bytes\n");
		return 2;
	}
	d = ccs_pbjson_topic_descriptor(argv[1]);
	if (!d) {
		fprintf(stderr, "decode: no contract for topic %s\n", argv[1]);
		goto out;
	}
	if (strcmp(argv[2], "--type") == 0) {
		printf("%s\n", d->name);
		rc = 0;
		goto out;
	}
	in = malloc(DECODE_MAX_INPUT);
	if (!in)
		goto out;
	n = fread(in, 1, DECODE_MAX_INPUT, stdin);
	if (ccs_pb_check_wire(d, in, n, field, sizeof(field)) != 0) {
		fprintf(stderr, "decode: wire check: %s\n", field);
		goto out;
	}
	m = protobuf_c_message_unpack(d, NULL, n, in);
	if (!m) {
		fprintf(stderr, "decode: %s does not unpack\n", d->name);
		goto out;
	}
	if (ccs_pb_check_utf8(m, field, sizeof(field)) != 0) {
		fprintf(stderr, "decode: invalid UTF-8 in %s\n", field);
		goto out;
	}
	json = ccs_pbjson_to_json(m, 1);
	jf = fopen(argv[2], "w");
	if (!json || !jf || fputs(json, jf) < 0) {
		fprintf(stderr, "decode: cannot render JSON into %s\n", argv[2]);
		goto out;
	}
	len = protobuf_c_message_get_packed_size(m);
	out = malloc(len ? len : 1);
	if (!out)
		goto out;
	protobuf_c_message_pack(m, out);
	if (fwrite(out, 1, len, stdout) != len)
		goto out;
	rc = 0;
out:
	if (jf && fclose(jf) != 0)
		rc = 1;
	free(json);
	free(out);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	free(in);
	return rc;
}
