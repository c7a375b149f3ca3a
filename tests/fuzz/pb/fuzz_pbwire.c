/*
 * Fuzz the engine's decode path (common/svc decode()): for each input topic of the contract
 * table, the wire-level string check (ccs_pb_check_wire) and then protobuf-c's unpack, as the
 * engine runs them on every input. Invariants: neither crashes nor leaks; a message the wire
 * check passes and the unpacker accepts holds only valid UTF-8 (ccs_pb_check_utf8 agrees), so
 * handlers never see bad text; a refusal names a field.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pbjson.h"
#include "ccs/pbutf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char field[256], field2[256];
	const char *name;

	for (size_t i = 0; (name = ccs_pbjson_topic_name(i)) != NULL; i++) {
		const ProtobufCMessageDescriptor *d = ccs_pbjson_topic_descriptor(name);
		if (!d)
			abort(); /* the table names a topic it cannot type */
		int wire = ccs_pb_check_wire(d, data, size, field, sizeof(field));
		if (wire != 0 && !field[0])
			abort(); /* a refusal must name the field */
		ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, size, data);
		if (!m)
			continue;
		if (wire == 0 && ccs_pb_check_utf8(m, field2, sizeof(field2)) != 0) {
			fprintf(stderr, "%s: wire check passed but %s is not UTF-8\n", d->name, field2);
			abort();
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}
