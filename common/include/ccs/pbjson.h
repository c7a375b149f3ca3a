/*
 * pbjson: protobuf <-> JSON for any protobuf-c message, driven by the generated descriptors.
 *
 * The mapping follows the proto3 JSON conventions so that what ccsctl prints is what any other
 * language's JsonFormat would print:
 *   - keys are lowerCamelCase json names on output; input accepts the json name or the
 *     original field name;
 *   - enums are value names on output ("SERVICE_LINE_MTP_THERAPY"); input accepts the full
 *     name, the name without the enum's UPPER_SNAKE prefix ("MTP_THERAPY") or the number;
 *   - 64-bit integers are JSON strings on output; input accepts a number or a string;
 *   - bytes are standard base64 with padding on output; input also accepts url-safe base64
 *     and missing padding;
 *   - float/double NaN and infinities are the strings "NaN", "Infinity", "-Infinity";
 *   - fields holding their default value are omitted, except a oneof member, whose presence
 *     is the information;
 *   - JSON null for a field means "default", as in proto3.
 * Input is strict: unknown fields, duplicate keys, wrong types and out-of-range numbers are
 * errors, reported with the field path: "field 'child.birthDate': expected string".
 *
 * Messages built by ccs_pbjson_from_json() use the default protobuf-c allocator layout, so the
 * caller frees them with protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef CCS_PBJSON_H
#define CCS_PBJSON_H

#include <stddef.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Error codes (negative). */
#define CCS_PBJSON_EPARSE (-1)   /* the text is not JSON */
#define CCS_PBJSON_EINVAL (-2)   /* JSON that does not fit the message */
#define CCS_PBJSON_EENCODE (-3)  /* a message that cannot be rendered (invalid UTF-8 string) */

/*
 * Parse `len` bytes of JSON text into a new message of type `d`. On success *out owns the
 * message (free with protobuf_c_message_free_unpacked(*out, NULL)) and 0 is returned; on error
 * *out is NULL, a negative code is returned and errbuf holds a one-line reason.
 */
int ccs_pbjson_from_json(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
			 ProtobufCMessage **out, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));

/* Same, from an already parsed JSON value (the caller keeps ownership of `v`). */
int ccs_pbjson_from_jansson(const ProtobufCMessageDescriptor *d, const json_t *v,
			    ProtobufCMessage **out, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Render a message as JSON text, compact (one line) or pretty (indented by 2). Returns a
 * malloc'd NUL-terminated string the caller frees, or NULL when the message holds a string
 * that is not valid UTF-8.
 */
char *ccs_pbjson_to_json(const ProtobufCMessage *m, int pretty);

/* Same, as a new jansson value (caller owns the reference), with the reason on failure. */
json_t *ccs_pbjson_to_jansson(const ProtobufCMessage *m, char *errbuf, size_t errlen);

/* The lowerCamelCase json name of a proto field name, into buf (truncated to buflen). */
void ccs_pbjson_json_name(const char *field_name, char *buf, size_t buflen);

/*
 * The message type carried by a topic ("ccs.referral.submitted.v1" ->
 * ccs.mtp.v1.ReferralSubmitted). A dead-letter topic "<topic>.dlq" maps to its base topic's
 * type. A prefixed name ("it-42.ccs.referral.submitted.v1", see the daemons' topics.prefix)
 * maps like the name it ends with. NULL for an unknown topic.
 */
const ProtobufCMessageDescriptor *ccs_pbjson_topic_descriptor(const char *topic);

/* The i-th known (base) topic name, or NULL past the end; for --help texts and listings. */
const char *ccs_pbjson_topic_name(size_t i);

#endif
