/*
 * Unit tests for ccs_log: stderr is redirected into a pipe, and every line written must parse
 * as one JSON object (jansson) whose fields give back exactly what was logged. Also: level
 * filtering, and that the macros do not evaluate their arguments below the threshold.
 */
#include "ccs/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ccs_test.h"

static int saved_fd = -1, pipe_fd[2] = {-1, -1};

static void capture_begin(void)
{
	fflush(stderr);
	CCS_EQ_INT(pipe(pipe_fd), 0);
	/* Lines are small and few: the pipe buffer (64 KiB) holds them all without a reader. */
	saved_fd = dup(STDERR_FILENO);
	dup2(pipe_fd[1], STDERR_FILENO);
	close(pipe_fd[1]);
}

/* Restore stderr and return everything written meanwhile (malloc'd). */
static char *capture_end(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	while ((n = read(pipe_fd[0], buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 1024)
			buf = realloc(buf, cap *= 2);
	}
	close(pipe_fd[0]);
	buf[len] = '\0';
	return buf;
}

/* Split into lines; each must be a JSON object. Returns the number of lines, fills objs. */
static size_t parse_lines(char *text, json_t **objs, size_t max)
{
	size_t n = 0;
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		CCS_TRUE(nl != NULL); /* every line ends with a newline */
		if (!nl)
			break;
		json_error_t je;
		json_t *o = json_loadb(line, (size_t)(nl - line), 0, &je);
		if (!o || !json_is_object(o))
			CCS_FAIL_("not a JSON object (%s): %.*s", je.text, (int)(nl - line > 300 ? 300 : nl - line), line);
		if (n < max)
			objs[n] = o;
		else
			json_decref(o);
		n++;
		line = nl + 1;
	}
	return n;
}

static const char *field_str(json_t *o, const char *k)
{
	json_t *v = o ? json_object_get(o, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void free_objs(json_t **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(objs[i]);
}

CCS_TEST(line_shape_and_fields)
{
	json_t *o[4] = {0};
	ccs_log_init("referral", CCS_LOG_INFO_L);
	capture_begin();
	CCS_LOG_INFO("batch committed", "partition", CCS_LOG_I(2), "events", CCS_LOG_I(-7),
		     "max", CCS_LOG_I(INT64_MAX), "topic", CCS_LOG_S("ccs.referral.submitted.v1"),
		     "none", CCS_LOG_S(NULL));
	char *out = capture_end();
	size_t n = parse_lines(out, o, 4);
	CCS_EQ_INT(n, 1);
	if (n == 1 && o[0]) {
		CCS_EQ_STR(field_str(o[0], "msg"), "batch committed");
		CCS_EQ_STR(field_str(o[0], "level"), "info");
		CCS_EQ_STR(field_str(o[0], "service"), "referral");
		CCS_EQ_INT(json_integer_value(json_object_get(o[0], "partition")), 2);
		CCS_EQ_INT(json_integer_value(json_object_get(o[0], "events")), -7);
		CCS_TRUE(json_integer_value(json_object_get(o[0], "max")) == INT64_MAX);
		CCS_EQ_STR(field_str(o[0], "topic"), "ccs.referral.submitted.v1");
		CCS_EQ_STR(field_str(o[0], "none"), "");
		/* ts: RFC 3339 UTC with milliseconds. */
		const char *ts = field_str(o[0], "ts");
		CCS_TRUE(ts && strlen(ts) == 24 && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
	}
	free_objs(o, n < 4 ? n : 4);
	free(out);
}

CCS_TEST(escaping_round_trips)
{
	static const char *const values[] = {
		"quote \" backslash \\ slash /",
		"newline\nreturn\rtab\tbell\a",
		"\x01\x1f control bytes",
		"utf-8: caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80",
		"{\"looks\":\"like json\"}",
		"",
	};
	size_t nv = sizeof(values) / sizeof(values[0]);
	json_t *o[8] = {0};
	ccs_log_init("svc \"quoted\"", CCS_LOG_DEBUG);
	capture_begin();
	for (size_t i = 0; i < nv; i++)
		CCS_LOG_WARN("value\n\"msg\"", "k\"ey", CCS_LOG_S(values[i]));
	char *out = capture_end();
	size_t n = parse_lines(out, o, 8);
	CCS_EQ_INT(n, nv);
	for (size_t i = 0; i < n && i < nv; i++) {
		CCS_EQ_STR(field_str(o[i], "k\"ey"), values[i]);
		CCS_EQ_STR(field_str(o[i], "msg"), "value\n\"msg\"");
		CCS_EQ_STR(field_str(o[i], "service"), "svc \"quoted\"");
		CCS_EQ_STR(field_str(o[i], "level"), "warn");
	}
	free_objs(o, n < 8 ? n : 8);
	free(out);
	ccs_log_init("ccs", CCS_LOG_INFO_L);
}

static int evaluated;

static const char *side_effect(void)
{
	evaluated++;
	return "x";
}

CCS_TEST(threshold_filters_and_skips_argument_evaluation)
{
	json_t *o[8] = {0};
	ccs_log_init("t", CCS_LOG_WARN_L);
	evaluated = 0;
	capture_begin();
	CCS_LOG_DBG("d", "v", CCS_LOG_S(side_effect()));
	CCS_LOG_INFO("i", "v", CCS_LOG_S(side_effect()));
	CCS_LOG_WARN("w", "v", CCS_LOG_S(side_effect()));
	CCS_LOG_ERROR("e");
	ccs_log_set_level(CCS_LOG_DEBUG);
	CCS_LOG_DBG("d2");
	CCS_LOG_MSG(CCS_LOG_INFO_L, "scoped", "topic-a", 3, 42, "extra", CCS_LOG_I(1));
	char *out = capture_end();
	size_t n = parse_lines(out, o, 8);
	CCS_EQ_INT(evaluated, 1);
	CCS_EQ_INT(n, 4);
	if (n == 4) {
		CCS_EQ_STR(field_str(o[0], "msg"), "w");
		CCS_EQ_STR(field_str(o[1], "level"), "error");
		CCS_EQ_STR(field_str(o[2], "level"), "debug");
		CCS_EQ_STR(field_str(o[3], "topic"), "topic-a");
		CCS_EQ_INT(json_integer_value(json_object_get(o[3], "partition")), 3);
		CCS_EQ_INT(json_integer_value(json_object_get(o[3], "offset")), 42);
		CCS_EQ_INT(json_integer_value(json_object_get(o[3], "extra")), 1);
	}
	free_objs(o, n < 8 ? n : 8);
	free(out);
	ccs_log_init("ccs", CCS_LOG_INFO_L);
}

CCS_TEST(level_names)
{
	ccs_log_level l = CCS_LOG_FATAL_L;
	CCS_EQ_INT(ccs_log_parse_level("debug", &l), 0);
	CCS_EQ_INT(l, CCS_LOG_DEBUG);
	CCS_EQ_INT(ccs_log_parse_level("WARN", &l), 0);
	CCS_EQ_INT(l, CCS_LOG_WARN_L);
	CCS_EQ_INT(ccs_log_parse_level("Error", &l), 0);
	CCS_EQ_INT(l, CCS_LOG_ERROR_L);
	CCS_EQ_INT(ccs_log_parse_level("warning", &l), -1);
	CCS_EQ_INT(ccs_log_parse_level("", &l), -1);
	CCS_EQ_INT(l, CCS_LOG_ERROR_L); /* untouched on failure */
	CCS_EQ_STR(ccs_log_level_name(CCS_LOG_FATAL_L), "fatal");
	CCS_EQ_STR(ccs_log_level_name((ccs_log_level)99), "info");
}

/*
 * A line is one write(2) of at most 2 KiB, so long values are cut. The cut must still leave a
 * valid JSON object (a log shipper drops unparsable lines, and the line may be the one that
 * explains an outage), and must not split a UTF-8 sequence.
 */
CCS_TEST(long_values_still_give_valid_json)
{
	json_t *o[4] = {0};
	size_t big = 3000;
	char *ascii = malloc(big + 1), *utf8 = malloc(big + 1);
	memset(ascii, 'a', big);
	ascii[big] = '\0';
	for (size_t i = 0; i + 2 <= big; i += 2) {
		utf8[i] = (char)0xc3;
		utf8[i + 1] = (char)0xa9; /* é */
	}
	utf8[big] = '\0';
	ccs_log_init("t", CCS_LOG_INFO_L);
	capture_begin();
	CCS_LOG_INFO("long", "v", CCS_LOG_S(ascii), "after", CCS_LOG_I(1));
	CCS_LOG_INFO("long", "pad", CCS_LOG_S(ascii + 1000), "w", CCS_LOG_S(utf8 + 1001), "after", CCS_LOG_I(1));
	CCS_LOG_INFO("long", "quotes", CCS_LOG_S("\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\""),
		     "v", CCS_LOG_S(ascii + 1100), "more", CCS_LOG_S(ascii));
	char *out = capture_end();
	size_t n = parse_lines(out, o, 4);
	CCS_EQ_INT(n, 3);
	for (size_t i = 0; i < n && i < 4; i++)
		CCS_EQ_STR(field_str(o[i], "msg"), "long");
	free_objs(o, n < 4 ? n : 4);
	free(out);
	free(ascii);
	free(utf8);
}

/*
 * Error texts from librdkafka, PostgreSQL or a malformed header can hold bytes that are not
 * UTF-8; the line must still be valid JSON (jansson, like most parsers, rejects invalid UTF-8).
 */
CCS_TEST(invalid_utf8_still_gives_valid_json)
{
	json_t *o[2] = {0};
	ccs_log_init("t", CCS_LOG_INFO_L);
	capture_begin();
	CCS_LOG_WARN("bad bytes", "v", CCS_LOG_S("ab\xff\xfe" "cd\xc3"));
	char *out = capture_end();
	size_t n = parse_lines(out, o, 2);
	CCS_EQ_INT(n, 1);
	const char *v = n == 1 ? field_str(o[0], "v") : NULL;
	CCS_TRUE(v && strncmp(v, "ab", 2) == 0 && strstr(v, "cd") != NULL);
	free_objs(o, n < 2 ? n : 2);
	free(out);
}

CCS_TEST_MAIN()
