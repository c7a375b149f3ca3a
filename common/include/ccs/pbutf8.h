/*
 * UTF-8 checks for decoded protobuf messages. protobuf-c 1.4.1 does not validate proto3
 * `string` fields, so a producer can send bytes that PostgreSQL's text columns reject; the
 * daemons check every string of an input once after unpacking and dead-letter the message as
 * a validation failure naming the field, instead of failing later with a database error.
 */
#ifndef CCS_PBUTF8_H
#define CCS_PBUTF8_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
int ccs_utf8_valid(const char *s, size_t len);

/*
 * Walk every string field of `m` and its nested messages (repeated fields and oneofs too).
 * Returns 0, or -1 with the path of the first bad field in `field` (e.g. "child.first_name").
 */
int ccs_pb_check_utf8(const ProtobufCMessage *m, char *field, size_t fieldlen)
	__attribute__((warn_unused_result));

/*
 * The same check on the encoded bytes, before unpacking, plus what the decoded form cannot show:
 * a NUL byte inside a string (protobuf-c keeps only what precedes it). Returns 0, or -1 with
 * the path of the first bad field and what is wrong in `field` ("child.last_name: contains a
 * NUL byte"). Malformed encodings are left to the unpacker.
 */
int ccs_pb_check_wire(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, char *field,
		      size_t fieldlen) __attribute__((warn_unused_result));

#endif
