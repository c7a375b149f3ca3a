/*
 * Fuzz ccs_pb_check_utf8: unpack the input as every topic's message; when the walk accepts a
 * message, every string it holds must be valid UTF-8 (checked again through a pack/unpack
 * round trip), and when it refuses one the named field must exist. Never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/referral.pb-c.h"
#include "ccs/mtp/v1/scheduling.pb-c.h"
#include "ccs/pbutf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const descs[] = {
	&ccs__mtp__v1__referral_submitted__descriptor, &ccs__mtp__v1__referral_decision__descriptor,
	&ccs__mtp__v1__eligibility_evidence__descriptor, &ccs__mtp__v1__eligibility_decision__descriptor,
	&ccs__mtp__v1__scheduling_request__descriptor, &ccs__mtp__v1__scheduling_decision__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char field[256];
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++) {
		ProtobufCMessage *m = protobuf_c_message_unpack(descs[i], NULL, size, data);
		if (!m)
			continue;
		int rc = ccs_pb_check_utf8(m, field, sizeof(field));
		if (rc != 0 && field[0] == '\0')
			abort(); /* a refusal must name the field */
		if (rc == 0) {
			/* Accepted: the same message packed and unpacked again is still accepted. */
			size_t len = protobuf_c_message_get_packed_size(m);
			uint8_t *buf = malloc(len ? len : 1);
			protobuf_c_message_pack(m, buf);
			ProtobufCMessage *again = protobuf_c_message_unpack(descs[i], NULL, len, buf);
			if (!again || ccs_pb_check_utf8(again, field, sizeof(field)) != 0)
				abort();
			protobuf_c_message_free_unpacked(again, NULL);
			free(buf);
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}
