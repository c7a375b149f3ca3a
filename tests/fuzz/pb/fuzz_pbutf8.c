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

/*
 * Whether the message or one below it kept an unknown field numbered 0. protobuf-c 1.4.1
 * refuses tag 0 only when it is encoded in one byte: a longer varint (0x81 0x00) is accepted,
 * kept as an unknown field and packed again as the one-byte 0x01, which its own unpack then
 * refuses. The round trip below cannot hold for such a message (found by fuzzing, see
 * corpus/regression_field0_multibyte_tag.bin); everything else about it is still checked.
 */
static int has_field0(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return 1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			const ProtobufCMessage *const *v =
				*(const ProtobufCMessage *const *const *)(const void *)(base + f->offset);
			for (size_t j = 0; j < n; j++)
				if (v[j] && has_field0(v[j]))
					return 1;
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub =
			*(const ProtobufCMessage *const *)(const void *)(base + f->offset);
		if (sub && has_field0(sub))
			return 1;
	}
	return 0;
}

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
		if (rc == 0 && !has_field0(m)) {
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
