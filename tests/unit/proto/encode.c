/*
 * ccs-test-encode TOPIC < json: encode one proto3 JSON document as the topic's message and
 * write the protobuf bytes to stdout. The contract test pipes them into `protoc --decode` to
 * prove a consumer needs nothing but the .proto files.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ccs/pbjson.h"

int main(int argc, char **argv)
{
	char err[512], buf[1 << 16];
	ProtobufCMessage *m = NULL;
	size_t n;

	if (argc != 2)
		return 2;
	const ProtobufCMessageDescriptor *d = ccs_pbjson_topic_descriptor(argv[1]);
	n = fread(buf, 1, sizeof(buf), stdin);
	if (!d || ccs_pbjson_from_json(d, buf, n, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "encode: %s\n", d ? err : "unknown topic");
		return 1;
	}
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *out = malloc(len ? len : 1);
	protobuf_c_message_pack(m, out);
	fwrite(out, 1, len, stdout);
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
