/*
 * Unit tests for ccs_pbjson: every field kind of the test message in both directions, the
 * proto3 JSON conventions (json names, enum names, int64 strings, base64, defaults omitted,
 * oneofs), the exact error messages, and the topic table over the real contracts.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pbjson.h"
#include "ccs_test.h"
#include "pbjson_test.pb-c.h"
#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/referral.pb-c.h"
#include "ccs/mtp/v1/scheduling.pb-c.h"

CCS_TEST_MAIN()

#define KITCHEN (&ccs__test__v1__kitchen__descriptor)

/* Decode JSON text into a Kitchen; NULL on error, with the reason in err. */
static Ccs__Test__V1__Kitchen *kitchen(const char *json, char *err, size_t errlen)
{
	ProtobufCMessage *m = NULL;
	int rc = ccs_pbjson_from_json(KITCHEN, json, strlen(json), &m, err, errlen);
	if (rc != 0) {
		CCS_TRUE(m == NULL);
		return NULL;
	}
	return (Ccs__Test__V1__Kitchen *)m;
}

/* The error message decoding `json` into `d` produces ("" when it decodes). */
static const char *decode_error(const ProtobufCMessageDescriptor *d, const char *json)
{
	static char err[256];
	ProtobufCMessage *m = NULL;
	int rc = ccs_pbjson_from_json(d, json, strlen(json), &m, err, sizeof(err));
	if (rc == 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return "";
	}
	CCS_TRUE(rc == CCS_PBJSON_EINVAL || rc == CCS_PBJSON_EPARSE);
	CCS_TRUE(m == NULL);
	return err;
}

/* Decode then encode compactly; the canonical output for `json`, or NULL on decode error. */
static char *canon(const ProtobufCMessageDescriptor *d, const char *json)
{
	ProtobufCMessage *m = NULL;
	char err[256], *out;

	if (ccs_pbjson_from_json(d, json, strlen(json), &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "  decode failed: %s\n", err);
		return NULL;
	}
	out = ccs_pbjson_to_json(m, 0);
	protobuf_c_message_free_unpacked(m, NULL);
	return out;
}

#define CCS_CANON(d, in, want)                      \
	do {                                        \
		char *got_ = canon((d), (in));      \
		CCS_EQ_STR(got_, (want));           \
		free(got_);                         \
	} while (0)

CCS_TEST(json_names)
{
	char buf[64];

	ccs_pbjson_json_name("birth_date", buf, sizeof(buf));
	CCS_EQ_STR(buf, "birthDate");
	ccs_pbjson_json_name("address_line1", buf, sizeof(buf));
	CCS_EQ_STR(buf, "addressLine1");
	ccs_pbjson_json_name("icd10_code", buf, sizeof(buf));
	CCS_EQ_STR(buf, "icd10Code");
	ccs_pbjson_json_name("plain", buf, sizeof(buf));
	CCS_EQ_STR(buf, "plain");
	ccs_pbjson_json_name("birth_date", buf, 4);
	CCS_EQ_STR(buf, "bir");
}

CCS_TEST(scalars_decode_into_struct)
{
	char err[256];
	Ccs__Test__V1__Kitchen *k = kitchen(
		"{\"fInt32\":-5,\"fInt64\":\"-9223372036854775808\",\"fUint32\":4294967295,"
		"\"fUint64\":\"18446744073709551615\",\"fSint32\":-7,\"fSint64\":123456789012,"
		"\"fFixed32\":7,\"fFixed64\":\"8\",\"fSfixed32\":-9,\"fSfixed64\":\"-10\","
		"\"fFloat\":1.5,\"fDouble\":-2.25,\"fBool\":true,\"fString\":\"h\\u00e9llo\","
		"\"fBytes\":\"aGVsbG8=\",\"color\":\"COLOR_DEEP_BLUE\",\"caseId\":\"c-1\"}",
		err, sizeof(err));

	CCS_TRUE(k != NULL);
	if (!k) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CCS_EQ_INT(k->f_int32, -5);
	CCS_TRUE(k->f_int64 == INT64_MIN);
	CCS_EQ_INT(k->f_uint32, 4294967295LL);
	CCS_TRUE(k->f_uint64 == UINT64_MAX);
	CCS_EQ_INT(k->f_sint32, -7);
	CCS_EQ_INT(k->f_sint64, 123456789012LL);
	CCS_EQ_INT(k->f_fixed32, 7);
	CCS_EQ_INT(k->f_fixed64, 8);
	CCS_EQ_INT(k->f_sfixed32, -9);
	CCS_EQ_INT(k->f_sfixed64, -10);
	CCS_TRUE(k->f_float == 1.5f);
	CCS_TRUE(k->f_double == -2.25);
	CCS_EQ_INT(k->f_bool, 1);
	CCS_EQ_STR(k->f_string, "h\xc3\xa9llo");
	CCS_EQ_INT(k->f_bytes.len, 5);
	CCS_TRUE(k->f_bytes.len == 5 && memcmp(k->f_bytes.data, "hello", 5) == 0);
	CCS_EQ_INT(k->color, CCS__TEST__V1__COLOR__COLOR_DEEP_BLUE);
	CCS_EQ_STR(k->case_id, "c-1");
	CCS_EQ_INT(k->choice_case, CCS__TEST__V1__KITCHEN__CHOICE__NOT_SET);
	/* The decoded message is a valid protobuf-c message (packable, required-field check). */
	CCS_TRUE(protobuf_c_message_check(&k->base));
	protobuf_c_message_free_unpacked(&k->base, NULL);
}

CCS_TEST(scalars_round_trip_canonical)
{
	/* Input uses proto names and numbers for 64-bit; output is json names and strings. */
	CCS_CANON(KITCHEN,
		  "{\"f_int32\":-5,\"f_int64\":-42,\"f_uint64\":42,\"f_bool\":true,"
		  "\"f_string\":\"x\",\"f_bytes\":\"AAEC\",\"color\":1,\"f_double\":0.5}",
		  "{\"fInt32\":-5,\"fInt64\":\"-42\",\"fUint64\":\"42\",\"fDouble\":0.5,"
		  "\"fBool\":true,\"fString\":\"x\",\"fBytes\":\"AAEC\",\"color\":\"COLOR_RED\"}");
}

CCS_TEST(defaults_are_omitted)
{
	CCS_CANON(KITCHEN, "{}", "{}");
	CCS_CANON(KITCHEN,
		  "{\"fInt32\":0,\"fInt64\":\"0\",\"fBool\":false,\"fString\":\"\",\"fBytes\":\"\","
		  "\"color\":\"COLOR_UNSPECIFIED\",\"rInt32\":[],\"fDouble\":0}",
		  "{}");
	/* null means default, for scalars, messages and repeated fields alike. */
	CCS_CANON(KITCHEN, "{\"fInt32\":null,\"inner\":null,\"rString\":null}", "{}");
	/* An empty nested message is present (its pointer is set), and prints as {}. */
	CCS_CANON(KITCHEN, "{\"inner\":{}}", "{\"inner\":{}}");
	/* -0.0 is stored as 0, the default: protobuf-c 1.4.1 leaves a proto3 double equal to 0
	 * off the wire, so -0.0 could not survive a pack (fuzz_pbjson found it). */
	CCS_CANON(KITCHEN, "{\"fDouble\":-0.0}", "{}");
}

CCS_TEST(int64_accepts_numbers_and_strings)
{
	CCS_CANON(KITCHEN, "{\"fInt64\":9007199254740993}", "{\"fInt64\":\"9007199254740993\"}");
	CCS_CANON(KITCHEN, "{\"fInt64\":\"9223372036854775807\"}",
		  "{\"fInt64\":\"9223372036854775807\"}");
	CCS_CANON(KITCHEN, "{\"fInt32\":\"12\"}", "{\"fInt32\":12}");
	CCS_CANON(KITCHEN, "{\"fInt32\":1e3}", "{\"fInt32\":1000}");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt64\":\"9223372036854775808\"}"),
		   "field 'fInt64': expected an integer");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt32\":2147483648}"),
		   "field 'fInt32': integer out of range");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fUint32\":-1}"), "field 'fUint32': integer out of range");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fUint64\":\"-1\"}"),
		   "field 'fUint64': integer out of range");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt64\":\" 12\"}"), "field 'fInt64': expected an integer");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt64\":\"12x\"}"), "field 'fInt64': expected an integer");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt64\":1.5}"), "field 'fInt64': expected an integer");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fInt64\":true}"), "field 'fInt64': expected an integer");
}

CCS_TEST(floats)
{
	char err[256];
	Ccs__Test__V1__Kitchen *k =
		kitchen("{\"fFloat\":\"NaN\",\"fDouble\":\"-Infinity\"}", err, sizeof(err));

	CCS_TRUE(k != NULL);
	if (k) {
		CCS_TRUE(isnan(k->f_float));
		CCS_TRUE(isinf(k->f_double) && k->f_double < 0);
		protobuf_c_message_free_unpacked(&k->base, NULL);
	}
	CCS_CANON(KITCHEN, "{\"fFloat\":\"Infinity\",\"fDouble\":\"NaN\"}",
		  "{\"fFloat\":\"Infinity\",\"fDouble\":\"NaN\"}");
	CCS_CANON(KITCHEN, "{\"fDouble\":\"2.5\"}", "{\"fDouble\":2.5}");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fFloat\":1e39}"), "field 'fFloat': number out of range");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fDouble\":\"fast\"}"), "field 'fDouble': expected a number");
}

CCS_TEST(enums)
{
	CCS_CANON(KITCHEN, "{\"color\":\"COLOR_DEEP_BLUE\"}", "{\"color\":\"COLOR_DEEP_BLUE\"}");
	/* Without the enum's prefix, as people type it. */
	CCS_CANON(KITCHEN, "{\"color\":\"DEEP_BLUE\"}", "{\"color\":\"COLOR_DEEP_BLUE\"}");
	CCS_CANON(KITCHEN, "{\"color\":2}", "{\"color\":\"COLOR_DEEP_BLUE\"}");
	/* proto3 enums are open: an unknown number survives and prints as a number. */
	CCS_CANON(KITCHEN, "{\"color\":77}", "{\"color\":77}");
	CCS_CANON(KITCHEN, "{\"rColor\":[\"COLOR_RED\",\"DEEP_BLUE\",0]}",
		  "{\"rColor\":[\"COLOR_RED\",\"COLOR_DEEP_BLUE\",\"COLOR_UNSPECIFIED\"]}");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"color\":\"PURPLE\"}"),
		   "field 'color': unknown value for enum ccs.test.v1.Color");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"color\":\"color_red\"}"),
		   "field 'color': unknown value for enum ccs.test.v1.Color");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"color\":{}}"),
		   "field 'color': expected an enum name (string) or number");
}

CCS_TEST(bytes_base64)
{
	char err[256];
	Ccs__Test__V1__Kitchen *k;

	/* Url-safe alphabet and missing padding are accepted; output is standard and padded. */
	CCS_CANON(KITCHEN, "{\"fBytes\":\"-_8\"}", "{\"fBytes\":\"+/8=\"}");
	CCS_CANON(KITCHEN, "{\"fBytes\":\"aGk\"}", "{\"fBytes\":\"aGk=\"}");
	CCS_CANON(KITCHEN, "{\"rBytes\":[\"YQ==\",\"YWI=\",\"YWJj\"]}",
		  "{\"rBytes\":[\"YQ==\",\"YWI=\",\"YWJj\"]}");
	k = kitchen("{\"fBytes\":\"AP8A\"}", err, sizeof(err));
	CCS_TRUE(k != NULL);
	if (k) {
		CCS_EQ_INT(k->f_bytes.len, 3);
		CCS_TRUE(k->f_bytes.len == 3 && k->f_bytes.data[0] == 0 &&
			 k->f_bytes.data[1] == 0xff && k->f_bytes.data[2] == 0);
		protobuf_c_message_free_unpacked(&k->base, NULL);
	}
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fBytes\":\"a\"}"), "field 'fBytes': invalid base64");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fBytes\":\"ab!d\"}"), "field 'fBytes': invalid base64");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fBytes\":3}"), "field 'fBytes': expected base64 string");
}

CCS_TEST(repeated_and_nested)
{
	CCS_CANON(KITCHEN,
		  "{\"rInt32\":[1,-2,3],\"rInt64\":[\"1\",2],\"rString\":[\"a\",\"\"],"
		  "\"rInner\":[{\"birthDate\":\"2020-01-02\"},{},{\"count\":3,\"child\":{\"count\":4}}],"
		  "\"rDouble\":[1.5],\"rBool\":[true,false]}",
		  "{\"rInt32\":[1,-2,3],\"rInt64\":[\"1\",\"2\"],\"rString\":[\"a\",\"\"],"
		  "\"rInner\":[{\"birthDate\":\"2020-01-02\"},{},{\"count\":3,\"child\":{\"count\":4}}],"
		  "\"rDouble\":[1.5],\"rBool\":[true,false]}");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"rInner\":[{},{\"birthDate\":7}]}"),
		   "field 'rInner[1].birthDate': expected string");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"rInt32\":[1,null]}"),
		   "field 'rInt32[1]': null is not allowed in an array");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"rInt32\":5}"), "field 'rInt32': expected array");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"inner\":{\"child\":{\"child\":{\"nope\":1}}}}"),
		   "field 'inner.child.child.nope': unknown field");
}

CCS_TEST(oneof)
{
	char err[256];
	Ccs__Test__V1__Kitchen *k;

	k = kitchen("{\"oInt64\":\"5\"}", err, sizeof(err));
	CCS_TRUE(k != NULL);
	if (k) {
		CCS_EQ_INT(k->choice_case, CCS__TEST__V1__KITCHEN__CHOICE_O_INT64);
		CCS_EQ_INT(k->o_int64, 5);
		protobuf_c_message_free_unpacked(&k->base, NULL);
	}
	k = kitchen("{\"o_inner\":{\"count\":1}}", err, sizeof(err));
	CCS_TRUE(k != NULL);
	if (k) {
		CCS_EQ_INT(k->choice_case, CCS__TEST__V1__KITCHEN__CHOICE_O_INNER);
		CCS_TRUE(k->o_inner != NULL && k->o_inner->count == 1);
		protobuf_c_message_free_unpacked(&k->base, NULL);
	}
	/* A set oneof member is printed even when it holds its default value. */
	CCS_CANON(KITCHEN, "{\"oInt64\":0}", "{\"oInt64\":\"0\"}");
	CCS_CANON(KITCHEN, "{\"oString\":\"\"}", "{\"oString\":\"\"}");
	CCS_CANON(KITCHEN, "{\"oColor\":\"COLOR_UNSPECIFIED\"}", "{\"oColor\":\"COLOR_UNSPECIFIED\"}");
	CCS_CANON(KITCHEN, "{\"oInner\":{}}", "{\"oInner\":{}}");
	CCS_CANON(KITCHEN, "{\"oString\":\"x\",\"caseId\":\"k\"}", "{\"oString\":\"x\",\"caseId\":\"k\"}");
	/* null leaves the oneof unset, so another member may follow. */
	CCS_CANON(KITCHEN, "{\"oString\":null,\"oInt64\":\"3\"}", "{\"oInt64\":\"3\"}");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"oString\":\"x\",\"oInner\":{}}"),
		   "field 'oInner': another member of the same oneof is already set ('o_string')");
	/* The failed member's sub-message must not leak (ASan's leak check runs this test). */
	CCS_EQ_STR(decode_error(KITCHEN, "{\"oInner\":{\"count\":1},\"oString\":\"x\"}"),
		   "field 'oString': another member of the same oneof is already set ('o_inner')");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"oInner\":{\"count\":\"x\"}}"),
		   "field 'oInner.count': expected an integer");
}

CCS_TEST(input_errors)
{
	CCS_EQ_STR(decode_error(KITCHEN, "[]"), "message: expected object");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"zzz\":1}"), "field 'zzz': unknown field");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"inner\":{\"birthDate\":1}}"),
		   "field 'inner.birthDate': expected string");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"inner\":[]}"), "field 'inner': expected object");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"fBool\":\"true\"}"), "field 'fBool': expected true or false");
	CCS_EQ_STR(decode_error(KITCHEN, "{\"caseId\":\"a\",\"case_id\":\"b\"}"),
		   "field 'caseId': given twice (json name and proto name)");
	CCS_TRUE(strncmp(decode_error(KITCHEN, "{\"caseId\":\"a\",\"caseId\":\"b\"}"), "invalid JSON",
			 12) == 0);
	CCS_TRUE(strncmp(decode_error(KITCHEN, "{\"caseId\":"), "invalid JSON at line 1", 22) == 0);
	CCS_TRUE(strncmp(decode_error(KITCHEN, "{\"caseId\":\"a\\u0000b\"}"), "invalid JSON", 12) ==
		 0);
	/* Case matters for field names, as in every proto3 JSON parser. */
	CCS_EQ_STR(decode_error(KITCHEN, "{\"CaseId\":\"a\"}"), "field 'CaseId': unknown field");
}

CCS_TEST(errbuf_may_be_absent_or_tiny)
{
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	char tiny[8];

	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, "{\"x\":1}", 7, &m, NULL, 0), CCS_PBJSON_EINVAL);
	CCS_TRUE(m == NULL);
	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, "{\"x\":1}", 7, &m, tiny, sizeof(tiny)),
		   CCS_PBJSON_EINVAL);
	CCS_EQ_STR(tiny, "field '");
	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, "nope", 4, &m, tiny, sizeof(tiny)), CCS_PBJSON_EPARSE);
	/* Only `len` bytes are read: the trailing garbage is outside the buffer. */
	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, "{}garbage", 2, &m, NULL, 0), 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

CCS_TEST(nul_in_string_from_jansson)
{
	json_t *o = json_object();
	ProtobufCMessage *m = NULL;
	char err[128];

	json_object_set_new(o, "fString", json_stringn("a\0b", 3));
	CCS_EQ_INT(ccs_pbjson_from_jansson(KITCHEN, o, &m, err, sizeof(err)), CCS_PBJSON_EINVAL);
	CCS_EQ_STR(err, "field 'fString': string contains a NUL character");
	json_decref(o);
}

CCS_TEST(depth_limit)
{
	char buf[4096];
	size_t n = 0;
	int i;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"inner\":");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"child\":");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{}");
	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}");
	{
		/* The path is longer than the error buffer: its start is elided, not the reason. */
		const char *e = decode_error(KITCHEN, buf);
		CCS_TRUE(strncmp(e, "field '...", 10) == 0);
		CCS_TRUE(strstr(e, ".child': nesting deeper than 64") != NULL);
		CCS_TRUE(strlen(e) < 256);
	}
}

CCS_TEST(encode_rejects_invalid_utf8)
{
	/* The generated __INIT macro casts away const (-Wcast-qual), so use the init function. */
	Ccs__Test__V1__Kitchen k;
	char bad[] = {'a', (char)0xff, 0};
	char err[128];
	json_t *j;

	ccs__test__v1__kitchen__init(&k);
	k.f_string = bad;
	CCS_TRUE(ccs_pbjson_to_json(&k.base, 0) == NULL);
	j = ccs_pbjson_to_jansson(&k.base, err, sizeof(err));
	CCS_TRUE(j == NULL);
	CCS_EQ_STR(err, "field 'fString': string is not valid UTF-8");
}

/* JSON -> message -> wire -> message -> JSON gives the same JSON: the struct we build is what
 * protobuf-c itself would have unpacked. */
CCS_TEST(agrees_with_wire_format)
{
	const char *in =
		"{\"fInt32\":-1,\"fInt64\":\"-2\",\"fSint64\":\"-3\",\"fFixed64\":\"4\","
		"\"fString\":\"s\",\"fBytes\":\"AQI=\",\"color\":\"COLOR_RED\","
		"\"inner\":{\"birthDate\":\"2019-02-03\",\"child\":{\"count\":9}},"
		"\"rInt32\":[1,2],\"rString\":[\"x\"],\"rColor\":[\"COLOR_DEEP_BLUE\"],"
		"\"rInner\":[{\"count\":1}],\"oInner\":{\"count\":2},\"caseId\":\"c\"}";
	ProtobufCMessage *m = NULL, *m2;
	char err[256], *j1, *j2;
	uint8_t *wire;
	size_t n;

	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, in, strlen(in), &m, err, sizeof(err)), 0);
	if (!m)
		return;
	n = protobuf_c_message_get_packed_size(m);
	wire = malloc(n);
	CCS_EQ_INT(protobuf_c_message_pack(m, wire), n);
	m2 = protobuf_c_message_unpack(KITCHEN, NULL, n, wire);
	CCS_TRUE(m2 != NULL);
	j1 = ccs_pbjson_to_json(m, 0);
	j2 = m2 ? ccs_pbjson_to_json(m2, 0) : NULL;
	CCS_EQ_STR(j1, j2);
	CCS_EQ_STR(j1, in);
	free(j1);
	free(j2);
	free(wire);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
}

CCS_TEST(pretty_output)
{
	char *s = canon(KITCHEN, "{\"fInt32\":1,\"inner\":{\"count\":2}}");
	ProtobufCMessage *m = NULL;
	char *p;

	CCS_EQ_INT(ccs_pbjson_from_json(KITCHEN, s, strlen(s), &m, NULL, 0), 0);
	p = m ? ccs_pbjson_to_json(m, 1) : NULL;
	CCS_EQ_STR(p, "{\n  \"fInt32\": 1,\n  \"inner\": {\n    \"count\": 2\n  }\n}");
	free(p);
	free(s);
	protobuf_c_message_free_unpacked(m, NULL);
}

CCS_TEST(topic_table)
{
	const ProtobufCMessageDescriptor *d;
	static const struct {
		const char *topic, *type;
	} want[] = {
		{"ccs.referral.submitted.v1", "ccs.mtp.v1.ReferralSubmitted"},
		{"ccs.referral.decided.v1", "ccs.mtp.v1.ReferralDecision"},
		{"ccs.eligibility.evidence.v1", "ccs.mtp.v1.EligibilityEvidence"},
		{"ccs.eligibility.decided.v1", "ccs.mtp.v1.EligibilityDecision"},
		{"ccs.scheduling.requests.v1", "ccs.mtp.v1.SchedulingRequest"},
		{"ccs.scheduling.decided.v1", "ccs.mtp.v1.SchedulingDecision"},
		{"ccs.scheduling.decided.v1.dlq", "ccs.mtp.v1.SchedulingDecision"},
		{"ccs.referral.submitted.v1.dlq", "ccs.mtp.v1.ReferralSubmitted"},
		/* topics.prefix: a prefixed name maps like the name it ends with. */
		{"it-42.ccs.eligibility.evidence.v1", "ccs.mtp.v1.EligibilityEvidence"},
		{"it-42.ccs.eligibility.decided.v1.dlq", "ccs.mtp.v1.EligibilityDecision"},
	};
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		d = ccs_pbjson_topic_descriptor(want[i].topic);
		CCS_TRUE(d != NULL);
		CCS_EQ_STR(d ? d->name : NULL, want[i].type);
	}
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.referral.submitted.v2") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.referral.submitted.v1x") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor("referral.submitted.v1") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.referral.submitted.v1.dlq.dlq") == NULL);
	/* An office's or a county's copy of a topic carries the same messages. */
	CCS_TRUE(ccs_pbjson_topic_descriptor("it.x.ccs.eligibility.decided.v1.office.los-angeles") ==
		 &ccs__mtp__v1__eligibility_decision__descriptor);
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.scheduling.decided.v1.county.fresno") ==
		 &ccs__mtp__v1__scheduling_decision__descriptor);
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.eligibility.decided.v1.office.a.b") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor("ccs.eligibility.decided.v1.other.x") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor(".dlq") == NULL);
	CCS_TRUE(ccs_pbjson_topic_descriptor("") == NULL);
	CCS_EQ_STR(ccs_pbjson_topic_name(0), "ccs.referral.submitted.v1");
	CCS_TRUE(ccs_pbjson_topic_name(6) == NULL);
}

CCS_TEST(referral_submitted_contract)
{
	const ProtobufCMessageDescriptor *d = ccs_pbjson_topic_descriptor("ccs.referral.submitted.v1");
	const char *in =
		"{\"referralId\":\"6f1c2a7e-0b1d-4c36-9a57-1f0e8d2b9c01\","
		"\"referral_date\":\"2024-05-01\",\"source\":\"PHYSICIAN\","
		"\"child\":{\"firstName\":\"Test\",\"birth_date\":\"2019-03-04\","
		"\"countyOfResidence\":\"Fresno\"},"
		"\"diagnoses\":[{\"icd10Code\":\"G80.0\"}],"
		"\"requestedServices\":[\"SERVICE_LINE_MTP_THERAPY\",\"MTP_EQUIPMENT\"]}";
	ProtobufCMessage *m = NULL;
	Ccs__Mtp__V1__ReferralSubmitted *r;
	char err[256], *out;

	CCS_TRUE(d == &ccs__mtp__v1__referral_submitted__descriptor);
	CCS_EQ_INT(ccs_pbjson_from_json(d, in, strlen(in), &m, err, sizeof(err)), 0);
	if (!m) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	r = (Ccs__Mtp__V1__ReferralSubmitted *)m;
	CCS_EQ_STR(r->child->birth_date, "2019-03-04");
	CCS_EQ_INT(r->n_requested_services, 2);
	CCS_EQ_INT(r->requested_services[1], CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_EQUIPMENT);
	CCS_EQ_INT(r->source, CCS__MTP__V1__REFERRAL_SOURCE__REFERRAL_SOURCE_PHYSICIAN);
	out = ccs_pbjson_to_json(m, 0);
	CCS_EQ_STR(out, "{\"referralId\":\"6f1c2a7e-0b1d-4c36-9a57-1f0e8d2b9c01\","
			"\"referralDate\":\"2024-05-01\",\"source\":\"REFERRAL_SOURCE_PHYSICIAN\","
			"\"child\":{\"firstName\":\"Test\",\"birthDate\":\"2019-03-04\","
			"\"countyOfResidence\":\"Fresno\"},"
			"\"diagnoses\":[{\"icd10Code\":\"G80.0\"}],"
			"\"requestedServices\":[\"SERVICE_LINE_MTP_THERAPY\","
			"\"SERVICE_LINE_MTP_EQUIPMENT\"]}");
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);

	CCS_EQ_STR(decode_error(d, "{\"child\":{\"birthDate\":20190304}}"),
		   "field 'child.birthDate': expected string");
}
