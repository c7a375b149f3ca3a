/*
 * UTF-8 validation of decoded messages (see ccs/pbutf8.h). Driven by the descriptors, so it
 * covers every contract without per-message code. Depth is bounded by the contracts (no
 * recursive message types), but a limit guards against a future one.
 */
#include "ccs/pbutf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32

int ccs_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int check_string(const char *v, const char *prefix, const char *name, char *field, size_t len)
{
	if (!v)
		return 0;
	size_t n = strlen(v);
	if (ccs_utf8_valid(v, n))
		return 0;
	snprintf(field, len, "%s%s", prefix, name);
	return -1;
}

static int walk(const ProtobufCMessage *m, const char *prefix, int depth, char *field, size_t len)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char sub[256];

	if (depth > MAX_DEPTH) {
		snprintf(field, len, "%s(nesting too deep)", prefix);
		return -1;
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(const void *)(base + f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			const void *const *arr = *(const void *const *const *)(const void *)(base + f->offset);
			for (size_t k = 0; k < n; k++) {
				snprintf(sub, sizeof(sub), "%s%s[%zu]", prefix, f->name, k);
				if (f->type == PROTOBUF_C_TYPE_STRING) {
					if (check_string(arr[k], "", sub, field, len))
						return -1;
				} else {
					size_t sl = strlen(sub);
					snprintf(sub + sl, sizeof(sub) - sl, ".");
					if (walk(arr[k], sub, depth + 1, field, len))
						return -1;
				}
			}
			continue;
		}
		const void *v = *(const void *const *)(const void *)(base + f->offset);
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (check_string(v, prefix, f->name, field, len))
				return -1;
		} else if (v) {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, f->name);
			if (walk(v, sub, depth + 1, field, len))
				return -1;
		}
	}
	return 0;
}

int ccs_pb_check_utf8(const ProtobufCMessage *m, char *field, size_t fieldlen)
{
	if (fieldlen)
		field[0] = '\0';
	return m ? walk(m, "", 0, field, fieldlen) : 0;
}

/* ---------------------------------------------------------------- wire-level string check */

/* Read a base-128 varint; 0 on success. */
static int wire_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
		uint8_t b = p[(*pos)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/*
 * Walk the encoded message field by field. Only length-delimited fields the descriptor names
 * as strings or messages are looked into; anything malformed stops the walk with 0, because
 * the unpacker that runs next reports it as a decode failure with its own words.
 */
static int wire_walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len, const char *prefix,
		     int depth, char *field, size_t flen)
{
	size_t pos = 0;
	char sub[256];

	if (depth > MAX_DEPTH) {
		snprintf(field, flen, "%s(nesting too deep)", prefix);
		return -1;
	}
	while (pos < len) {
		uint64_t key, n;
		size_t at = pos;
		/* A field key as protobuf-c reads it: at most 5 bytes, the field number kept in 32
		 * bits. A longer key fails its unpack; a number beyond 2^29 is still an (unknown)
		 * field it skips, so the walk must skip it too and go on (found by fuzz_pbwire). */
		if (wire_varint(p, len, &pos, &key) != 0 || pos - at > 5)
			return 0;
		switch (key & 7) {
		case 0:
			if (wire_varint(p, len, &pos, &n) != 0)
				return 0;
			continue;
		case 1:
			pos += 8;
			continue;
		case 5:
			pos += 4;
			continue;
		case 2:
			break;
		default:
			return 0;
		}
		if (wire_varint(p, len, &pos, &n) != 0 || n > len - pos)
			return 0;
		const uint8_t *v = p + pos;
		pos += (size_t)n;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(d, (unsigned)(uint32_t)(key >> 3));
		if (!f)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			/* protobuf-c copies a string up to its first NUL: "Gar\0cia" would arrive as
			 * "Gar". Such a value is refused, not silently cut. */
			if (memchr(v, 0, (size_t)n)) {
				snprintf(field, flen, "%s%s: contains a NUL byte", prefix, f->name);
				return -1;
			}
			if (!ccs_utf8_valid((const char *)v, (size_t)n)) {
				snprintf(field, flen, "%s%s: not valid UTF-8", prefix, f->name);
				return -1;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, f->name);
			if (wire_walk(f->descriptor, v, (size_t)n, sub, depth + 1, field, flen))
				return -1;
		}
	}
	return 0;
}

int ccs_pb_check_wire(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len, char *field,
		      size_t fieldlen)
{
	if (fieldlen)
		field[0] = '\0';
	return wire_walk(d, data ? data : (const uint8_t *)"", data ? len : 0, "", 0, field, fieldlen);
}
