/*
 * pbjson: protobuf <-> JSON driven by protobuf-c descriptors (see ccs/pbjson.h for the mapping).
 *
 * Design. Nothing here knows a message type: both directions walk
 * ProtobufCMessageDescriptor.fields and read or write the C struct through each field's
 * `offset` and `quantifier_offset`, the same way libprotobuf-c's own packer does. The layout
 * rules we rely on (protobuf-c 1.4.1):
 *   - repeated:   size_t n_<name> at quantifier_offset, a malloc'd array at offset;
 *   - oneof:      the <oneof>_case enum (uint32_t-sized) at quantifier_offset holds the tag of
 *                 the member that is set (flag PROTOBUF_C_FIELD_FLAG_ONEOF);
 *   - proto2 optional scalars: protobuf_c_boolean has_<name> at quantifier_offset;
 *   - proto3 (LABEL_NONE) fields: no quantifier, presence = "not the default value";
 *   - strings start as a pointer to the field's default_value (protobuf_c_empty_string).
 * The decoder builds the message with malloc exactly as protobuf_c_message_unpack() would, so
 * protobuf_c_message_free_unpacked(msg, NULL) releases it, also halfway through a failed
 * decode: every field is written only once its value is complete, and arrays are zeroed first.
 *
 * Error messages name the field path with json names ("child.diagnoses[1].code"), never the
 * value, because values may be personal health information.
 */
#include "ccs/pbjson.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"

/* Deeper nesting than this is refused: recursive message types must not exhaust the stack. */
#define PBJSON_MAX_DEPTH 64

/* Decoding or encoding state: the field path for error messages and the caller's errbuf. */
struct pbjson_ctx {
	char path[512];
	size_t pathlen;
	int depth;
	char *errbuf;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static void ctx_fail(struct pbjson_ctx *c, const char *fmt,
							      ...)
{
	char why[256];
	va_list ap;

	if (!c->errbuf || c->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->pathlen == 0) {
		snprintf(c->errbuf, c->errlen, "message: %s", why);
	} else {
		/* Keep the reason visible: elide the start of a path too long for the buffer. */
		size_t fixed = strlen(why) + sizeof("field '...': "), skip = 0;
		if (c->errlen > fixed + 16 && c->pathlen > c->errlen - fixed)
			skip = c->pathlen - (c->errlen - fixed);
		snprintf(c->errbuf, c->errlen, "field '%s%s': %s", skip ? "..." : "", c->path + skip,
			 why);
	}
}

/* Append ".name" (or "name" at the root) to the path; returns the length to restore. */
static size_t path_push_name(struct pbjson_ctx *c, const char *name)
{
	size_t old = c->pathlen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", name);

	if (n > 0)
		c->pathlen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static size_t path_push_index(struct pbjson_ctx *c, size_t i)
{
	size_t old = c->pathlen;
	int n = snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);

	if (n > 0)
		c->pathlen = old + (size_t)n < sizeof(c->path) ? old + (size_t)n : sizeof(c->path) - 1;
	return old;
}

static void path_pop(struct pbjson_ctx *c, size_t old)
{
	c->pathlen = old;
	c->path[old] = '\0';
}

#define MEMBER_PTR(msg, off) ((void *)((char *)(msg) + (off)))
#define MEMBER_CPTR(msg, off) ((const void *)((const char *)(msg) + (off)))

void ccs_pbjson_json_name(const char *name, char *buf, size_t buflen)
{
	size_t n = 0;
	int up = 0;

	if (buflen == 0)
		return;
	for (; *name && n + 1 < buflen; name++) {
		if (*name == '_') {
			up = 1;
			continue;
		}
		buf[n++] = up ? (char)toupper((unsigned char)*name) : *name;
		up = 0;
	}
	buf[n] = '\0';
}

/* Does `key` equal the json name of `name`? Compared in place, so no length limit applies. */
static int json_name_eq(const char *name, const char *key)
{
	int up = 0;

	for (; *name; name++) {
		char ch;
		if (*name == '_') {
			up = 1;
			continue;
		}
		ch = up ? (char)toupper((unsigned char)*name) : *name;
		up = 0;
		if (*key++ != ch)
			return 0;
	}
	return *key == '\0';
}

/* ---------------------------------------------------------------------------------------- */
/* base64 */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n)
{
	char *out = ccs_xmalloc((n + 2) / 3 * 4 + 1);
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_std[v >> 18 & 63];
		out[o++] = b64_std[v >> 12 & 63];
		out[o++] = b64_std[v >> 6 & 63];
		out[o++] = b64_std[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64_std[v >> 18 & 63];
		out[o++] = b64_std[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64_std[v >> 18 & 63];
		out[o++] = b64_std[v >> 12 & 63];
		out[o++] = b64_std[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Value of one base64 digit in either the standard or the url-safe alphabet, or -1. */
static int b64_digit(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decode base64 (padding optional). Returns 0, or -1 on a malformed input. */
static int b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *buf;
	size_t o = 0, i;
	uint32_t acc = 0;
	int bits = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	buf = ccs_xmalloc(n / 4 * 3 + 3);
	for (i = 0; i < n; i++) {
		int d = b64_digit((unsigned char)s[i]);
		if (d < 0) {
			free(buf);
			return -1;
		}
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = o;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* JSON -> message */

static int decode_message(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
			  const json_t *v, ProtobufCMessage **out);

/* Parse a whole decimal integer string (optional '-'); rejects blanks, '+', and junk. */
static int parse_int_str(const char *s, int is_signed, int64_t *si, uint64_t *ui)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	if (is_signed) {
		long long x = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
		*si = x;
	} else {
		unsigned long long x;
		if (*s == '-')
			return -1;
		x = strtoull(s, &end, 10);
		if (errno || *end)
			return -1;
		*ui = x;
	}
	return 0;
}

/*
 * A signed integer field in [lo, hi] from a JSON integer, an integral real (1e3), or a
 * decimal string ("123", how int64 arrives from proto3 JSON writers).
 */
static int get_signed(struct pbjson_ctx *c, const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t x;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_real(v)) {
		double r = json_real_value(v);
		if (!isfinite(r) || floor(r) != r || r < -9223372036854775808.0 ||
		    r >= 9223372036854775808.0) {
			ctx_fail(c, "expected an integer");
			return CCS_PBJSON_EINVAL;
		}
		x = (int64_t)r;
	} else if (json_is_string(v)) {
		if (parse_int_str(json_string_value(v), 1, &x, NULL) != 0) {
			ctx_fail(c, "expected an integer");
			return CCS_PBJSON_EINVAL;
		}
	} else {
		ctx_fail(c, "expected an integer");
		return CCS_PBJSON_EINVAL;
	}
	if (x < lo || x > hi) {
		ctx_fail(c, "integer out of range");
		return CCS_PBJSON_EINVAL;
	}
	*out = x;
	return 0;
}

static int get_unsigned(struct pbjson_ctx *c, const json_t *v, uint64_t hi, uint64_t *out)
{
	uint64_t x;

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0) {
			ctx_fail(c, "integer out of range");
			return CCS_PBJSON_EINVAL;
		}
		x = (uint64_t)i;
	} else if (json_is_real(v)) {
		double r = json_real_value(v);
		if (!isfinite(r) || floor(r) != r) {
			ctx_fail(c, "expected an integer");
			return CCS_PBJSON_EINVAL;
		}
		if (r < 0 || r >= 18446744073709551616.0) {
			ctx_fail(c, "integer out of range");
			return CCS_PBJSON_EINVAL;
		}
		x = (uint64_t)r;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (*s == '-') {
			ctx_fail(c, "integer out of range");
			return CCS_PBJSON_EINVAL;
		}
		if (parse_int_str(s, 0, NULL, &x) != 0) {
			ctx_fail(c, "expected an integer");
			return CCS_PBJSON_EINVAL;
		}
	} else {
		ctx_fail(c, "expected an integer");
		return CCS_PBJSON_EINVAL;
	}
	if (x > hi) {
		ctx_fail(c, "integer out of range");
		return CCS_PBJSON_EINVAL;
	}
	*out = x;
	return 0;
}

/* A float/double from a number or one of the strings "NaN", "Infinity", "-Infinity", "1.5". */
static int get_double(struct pbjson_ctx *c, const json_t *v, int is_float, double *out)
{
	double r;

	if (json_is_number(v)) {
		r = json_number_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		if (strcmp(s, "NaN") == 0) {
			r = NAN;
		} else if (strcmp(s, "Infinity") == 0) {
			r = INFINITY;
		} else if (strcmp(s, "-Infinity") == 0) {
			r = -INFINITY;
		} else {
			errno = 0;
			r = strtod(s, &end);
			if (*s == '\0' || isspace((unsigned char)*s) || *end || errno ||
			    !isfinite(r)) {
				ctx_fail(c, "expected a number");
				return CCS_PBJSON_EINVAL;
			}
		}
	} else {
		ctx_fail(c, "expected a number");
		return CCS_PBJSON_EINVAL;
	}
	if (is_float && isfinite(r) && (r > FLT_MAX || r < -FLT_MAX)) {
		ctx_fail(c, "number out of range");
		return CCS_PBJSON_EINVAL;
	}
	*out = r;
	return 0;
}

/* "ServiceLine" -> "SERVICE_LINE", the conventional prefix of that enum's value names. */
static void enum_prefix(const char *short_name, char *buf, size_t buflen)
{
	size_t n = 0;
	const char *p;

	for (p = short_name; *p && n + 2 < buflen; p++) {
		unsigned char ch = (unsigned char)*p;
		if (p != short_name && isupper(ch) &&
		    (islower((unsigned char)p[-1]) || isdigit((unsigned char)p[-1])))
			buf[n++] = '_';
		buf[n++] = (char)toupper(ch);
	}
	buf[n] = '\0';
}

/*
 * An enum value from its full name, from its name without the enum's prefix (a convenience
 * for people typing JSON by hand), or from its number (proto3 enums are open).
 */
static int get_enum(struct pbjson_ctx *c, const ProtobufCEnumDescriptor *ed, const json_t *v,
		    int32_t *out)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, s);
		if (!ev) {
			char full[256], pre[128];
			enum_prefix(ed->short_name, pre, sizeof(pre));
			if ((size_t)snprintf(full, sizeof(full), "%s_%s", pre, s) < sizeof(full))
				ev = protobuf_c_enum_descriptor_get_value_by_name(ed, full);
		}
		if (!ev) {
			ctx_fail(c, "unknown value for enum %s", ed->name);
			return CCS_PBJSON_EINVAL;
		}
		*out = ev->value;
		return 0;
	}
	if (json_is_number(v)) {
		int64_t x;
		int rc = get_signed(c, v, INT32_MIN, INT32_MAX, &x);
		if (rc == 0)
			*out = (int32_t)x;
		return rc;
	}
	ctx_fail(c, "expected an enum name (string) or number");
	return CCS_PBJSON_EINVAL;
}

static int get_string(struct pbjson_ctx *c, const json_t *v, char **out)
{
	if (!json_is_string(v)) {
		ctx_fail(c, "expected string");
		return CCS_PBJSON_EINVAL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		ctx_fail(c, "string contains a NUL character");
		return CCS_PBJSON_EINVAL;
	}
	*out = ccs_xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

static int get_bytes(struct pbjson_ctx *c, const json_t *v, ProtobufCBinaryData *out)
{
	if (!json_is_string(v)) {
		ctx_fail(c, "expected base64 string");
		return CCS_PBJSON_EINVAL;
	}
	if (b64_decode(json_string_value(v), json_string_length(v), &out->data, &out->len) != 0) {
		ctx_fail(c, "invalid base64");
		return CCS_PBJSON_EINVAL;
	}
	return 0;
}

/* Size of one element of a field's C representation (for repeated arrays). */
static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/*
 * Decode one value of field `f` into `dst` (an element slot or the struct member). `dst` must
 * hold zeros or the field's initial value; on error nothing has been stored.
 */
static int decode_value(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
			void *dst)
{
	int64_t si;
	uint64_t ui;
	double r;
	int rc = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		rc = get_signed(c, v, INT32_MIN, INT32_MAX, &si);
		if (rc == 0)
			*(int32_t *)dst = (int32_t)si;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = get_signed(c, v, INT64_MIN, INT64_MAX, &si);
		if (rc == 0)
			*(int64_t *)dst = si;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = get_unsigned(c, v, UINT32_MAX, &ui);
		if (rc == 0)
			*(uint32_t *)dst = (uint32_t)ui;
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = get_unsigned(c, v, UINT64_MAX, &ui);
		if (rc == 0)
			*(uint64_t *)dst = ui;
		break;
	/* Negative zero is stored as zero: protobuf-c 1.4.1 leaves a proto3 float or double
	 * equal to 0 off the wire, so -0 could not survive a pack (found by fuzz_pbjson: "-0e91"
	 * for a float, the string "-0" for a double). */
	case PROTOBUF_C_TYPE_FLOAT:
		rc = get_double(c, v, 1, &r);
		if (rc == 0)
			*(float *)dst = (float)r == 0.0f ? 0.0f : (float)r;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		rc = get_double(c, v, 0, &r);
		if (rc == 0)
			*(double *)dst = r == 0.0 ? 0.0 : r;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v)) {
			ctx_fail(c, "expected true or false");
			rc = CCS_PBJSON_EINVAL;
			break;
		}
		*(protobuf_c_boolean *)dst = json_is_true(v);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t e;
		rc = get_enum(c, f->descriptor, v, &e);
		if (rc == 0)
			*(int32_t *)dst = e;
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;
		rc = get_string(c, v, &s);
		if (rc == 0)
			*(char **)dst = s;
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData b;
		rc = get_bytes(c, v, &b);
		if (rc == 0)
			*(ProtobufCBinaryData *)dst = b;
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub;
		rc = decode_message(c, f->descriptor, v, &sub);
		if (rc == 0)
			*(ProtobufCMessage **)dst = sub;
		break;
	}
	}
	return rc;
}

/*
 * A repeated field: a JSON array whose elements are decoded into a zeroed array that is
 * attached to the message first, so that a failure halfway leaves a freeable message.
 */
static int decode_repeated(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f,
			   const json_t *v, ProtobufCMessage *msg)
{
	size_t n, i, es = elem_size(f->type);
	char *arr;

	if (!json_is_array(v)) {
		ctx_fail(c, "expected array");
		return CCS_PBJSON_EINVAL;
	}
	n = json_array_size(v);
	if (n == 0)
		return 0;
	arr = ccs_xcalloc(n, es);
	*(void **)MEMBER_PTR(msg, f->offset) = arr;
	*(size_t *)MEMBER_PTR(msg, f->quantifier_offset) = n;
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		size_t old = path_push_index(c, i);
		int rc;
		if (json_is_null(e)) {
			ctx_fail(c, "null is not allowed in an array");
			rc = CCS_PBJSON_EINVAL;
		} else {
			rc = decode_value(c, f, e, arr + i * es);
		}
		path_pop(c, old);
		if (rc)
			return rc;
	}
	return 0;
}

/* Find the field a JSON key names: its json name or its original proto name. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
	unsigned i;

	if (f)
		return f;
	for (i = 0; i < d->n_fields; i++)
		if (json_name_eq(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

/* The name of the oneof member whose tag is `id` (for the "already set" message). */
static const char *field_name_by_id(const ProtobufCMessageDescriptor *d, uint32_t id)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)id);
	return f ? f->name : "?";
}

static int decode_field(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
			const ProtobufCFieldDescriptor *f, const json_t *v, ProtobufCMessage *msg)
{
	void *member = MEMBER_PTR(msg, f->offset);
	union {
		int32_t i32;
		int64_t i64;
		float fl;
		double db;
		protobuf_c_boolean b;
		char *s;
		ProtobufCBinaryData bin;
		ProtobufCMessage *m;
	} tmp;
	int rc;

	/* proto3 JSON: null means "the default", i.e. leave the field unset. */
	if (json_is_null(v))
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return decode_repeated(c, f, v, msg);

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t set = *(const uint32_t *)MEMBER_CPTR(msg, f->quantifier_offset);
		if (set != 0 && set != f->id) {
			ctx_fail(c, "another member of the same oneof is already set ('%s')",
				 field_name_by_id(d, set));
			return CCS_PBJSON_EINVAL;
		}
	}
	memset(&tmp, 0, sizeof(tmp));
	rc = decode_value(c, f, v, &tmp);
	if (rc)
		return rc;
	memcpy(member, &tmp, elem_size(f->type));
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)MEMBER_PTR(msg, f->quantifier_offset) = f->id;
	else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		 f->type != PROTOBUF_C_TYPE_MESSAGE)
		*(protobuf_c_boolean *)MEMBER_PTR(msg, f->quantifier_offset) = 1;
	return 0;
}

/* Fields that were never given keep their initial values; proto2 `required` ones must appear. */
static int check_required(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
			  const unsigned char *seen)
{
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i]) {
			char jn[128];
			size_t old;
			ccs_pbjson_json_name(d->fields[i].name, jn, sizeof(jn));
			old = path_push_name(c, jn);
			ctx_fail(c, "required field missing");
			path_pop(c, old);
			return CCS_PBJSON_EINVAL;
		}
	}
	return 0;
}

static int decode_message(struct pbjson_ctx *c, const ProtobufCMessageDescriptor *d,
			  const json_t *v, ProtobufCMessage **out)
{
	ProtobufCMessage *msg = NULL;
	unsigned char *seen = NULL;
	const char *key;
	json_t *val;
	int rc = 0;

	*out = NULL;
	if (!json_is_object(v)) {
		ctx_fail(c, "expected object");
		return CCS_PBJSON_EINVAL;
	}
	if (c->depth >= PBJSON_MAX_DEPTH) {
		ctx_fail(c, "nesting deeper than %d", PBJSON_MAX_DEPTH);
		return CCS_PBJSON_EINVAL;
	}
	c->depth++;
	msg = ccs_xmalloc(d->sizeof_message);
	d->message_init(msg);
	seen = ccs_xcalloc(d->n_fields ? d->n_fields : 1, 1);

	/* json_object_foreach wants a non-const object; iteration does not modify it. */
	json_object_foreach((json_t *)(uintptr_t)v, key, val) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		char jn[128];
		size_t old;

		if (!f) {
			old = path_push_name(c, key);
			ctx_fail(c, "unknown field");
			path_pop(c, old);
			rc = CCS_PBJSON_EINVAL;
			goto out;
		}
		ccs_pbjson_json_name(f->name, jn, sizeof(jn));
		old = path_push_name(c, jn);
		if (seen[f - d->fields]) {
			ctx_fail(c, "given twice (json name and proto name)");
			rc = CCS_PBJSON_EINVAL;
		} else {
			seen[f - d->fields] = 1;
			rc = decode_field(c, d, f, val, msg);
		}
		path_pop(c, old);
		if (rc)
			goto out;
	}
	rc = check_required(c, d, seen);
out:
	c->depth--;
	free(seen);
	if (rc) {
		protobuf_c_message_free_unpacked(msg, NULL);
		msg = NULL;
	}
	*out = msg;
	return rc;
}

int ccs_pbjson_from_jansson(const ProtobufCMessageDescriptor *d, const json_t *v,
			    ProtobufCMessage **out, char *errbuf, size_t errlen)
{
	struct pbjson_ctx c = {.errbuf = errbuf, .errlen = errlen};

	if (errbuf && errlen)
		errbuf[0] = '\0';
	return decode_message(&c, d, v, out);
}

int ccs_pbjson_from_json(const ProtobufCMessageDescriptor *d, const char *json, size_t len,
			 ProtobufCMessage **out, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
		return CCS_PBJSON_EPARSE;
	}
	rc = ccs_pbjson_from_jansson(d, root, out, errbuf, errlen);
	json_decref(root);
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* message -> JSON */

static json_t *encode_message(struct pbjson_ctx *c, const ProtobufCMessage *m);

static json_t *fmt_int64(int64_t x)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRId64, x);
	return json_string(buf);
}

static json_t *fmt_uint64(uint64_t x)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%" PRIu64, x);
	return json_string(buf);
}

static json_t *fmt_double(double r)
{
	if (isnan(r))
		return json_string("NaN");
	if (isinf(r))
		return json_string(r > 0 ? "Infinity" : "-Infinity");
	return json_real(r);
}

/* Encode one value of field `f` stored at `src`. NULL (with the reason set) on failure. */
static json_t *encode_value(struct pbjson_ctx *c, const ProtobufCFieldDescriptor *f,
			    const void *src)
{
	json_t *j = NULL;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return fmt_int64(*(const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return fmt_uint64(*(const uint64_t *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		return fmt_double(*(const float *)src);
	case PROTOBUF_C_TYPE_DOUBLE:
		return fmt_double(*(const double *)src);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t e = *(const int32_t *)src;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
		return ev ? json_string(ev->name) : json_integer(e);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		j = json_string(s ? s : "");
		if (!j)
			ctx_fail(c, "string is not valid UTF-8");
		return j;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = src;
		char *s = b64_encode(b->data, b->len);
		j = json_string(s);
		free(s);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
		if (!sub)
			return json_object();
		return encode_message(c, sub);
	}
	}
	return NULL;
}

/* proto3 presence: does this (non-oneof, LABEL_NONE) field hold its default value? */
static int is_default(const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return *(const uint32_t *)src == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)src == 0;
	case PROTOBUF_C_TYPE_FLOAT: {
		/* -0.0 is not the default: compare bits, as protobuf-c's packer does. */
		uint32_t bits;
		memcpy(&bits, src, sizeof(bits));
		return bits == 0;
	}
	case PROTOBUF_C_TYPE_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, src, sizeof(bits));
		return bits == 0;
	}
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)src;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)src)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)src == NULL;
	}
	return 1;
}

/* Is field `f` present in `m`, by the presence rule of its label (see the note on top)? */
static int field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const void *member = MEMBER_CPTR(m, f->offset);

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)MEMBER_CPTR(m, f->quantifier_offset) == f->id;
	switch (f->label) {
	case PROTOBUF_C_LABEL_REQUIRED:
		return 1;
	case PROTOBUF_C_LABEL_REPEATED:
		return *(const size_t *)MEMBER_CPTR(m, f->quantifier_offset) != 0;
	case PROTOBUF_C_LABEL_OPTIONAL:
		if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
			return *(void *const *)member != NULL &&
			       *(void *const *)member != f->default_value;
		return *(const protobuf_c_boolean *)MEMBER_CPTR(m, f->quantifier_offset);
	case PROTOBUF_C_LABEL_NONE:
		return !is_default(f, member);
	}
	return 0;
}

static json_t *encode_message(struct pbjson_ctx *c, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *obj = NULL;
	unsigned i;

	if (c->depth >= PBJSON_MAX_DEPTH) {
		ctx_fail(c, "nesting deeper than %d", PBJSON_MAX_DEPTH);
		return NULL;
	}
	c->depth++;
	obj = json_object();
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *member = MEMBER_CPTR(m, f->offset);
		char jn[128];
		size_t old;
		json_t *j = NULL;

		if (!field_present(m, f))
			continue;
		ccs_pbjson_json_name(f->name, jn, sizeof(jn));
		old = path_push_name(c, jn);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)MEMBER_CPTR(m, f->quantifier_offset), k;
			const char *arr = *(const char *const *)member;
			size_t es = elem_size(f->type);
			j = json_array();
			for (k = 0; k < n; k++) {
				size_t o2 = path_push_index(c, k);
				json_t *e = encode_value(c, f, arr + k * es);
				path_pop(c, o2);
				if (!e || json_array_append_new(j, e) != 0) {
					json_decref(j);
					j = NULL;
					break;
				}
			}
		} else {
			j = encode_value(c, f, member);
		}
		path_pop(c, old);
		if (!j || json_object_set_new(obj, jn, j) != 0) {
			json_decref(obj);
			obj = NULL;
			break;
		}
	}
	c->depth--;
	return obj;
}

json_t *ccs_pbjson_to_jansson(const ProtobufCMessage *m, char *errbuf, size_t errlen)
{
	struct pbjson_ctx c = {.errbuf = errbuf, .errlen = errlen};

	if (errbuf && errlen)
		errbuf[0] = '\0';
	return encode_message(&c, m);
}

char *ccs_pbjson_to_json(const ProtobufCMessage *m, int pretty)
{
	json_t *j = ccs_pbjson_to_jansson(m, NULL, 0);
	char *s;

	if (!j)
		return NULL;
	s = json_dumps(j, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	json_decref(j);
	return s;
}
