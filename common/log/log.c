/*
 * JSON-lines logger (see ccs/log.h). A line is built in a stack buffer and written with one
 * write(2), so lines from concurrent processes sharing a terminal do not interleave.
 */
#include "ccs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int ccs_log_threshold = CCS_LOG_INFO_L;
static const char *log_service = "ccs";

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void ccs_log_init(const char *service, ccs_log_level level)
{
	log_service = service;
	ccs_log_threshold = (int)level;
}

void ccs_log_set_level(ccs_log_level level)
{
	ccs_log_threshold = (int)level;
}

const char *ccs_log_level_name(ccs_log_level level)
{
	return (unsigned)level < 5 ? level_names[level] : "info";
}

int ccs_log_parse_level(const char *name, ccs_log_level *out)
{
	for (int i = 0; i < 5; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (ccs_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Append s JSON-escaped; truncates silently at the buffer's end. */
static size_t put_escaped(char *buf, size_t pos, size_t cap, const char *s)
{
	for (; s && *s && pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = (char)c;
		} else if (c < 0x20) {
			pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
		} else {
			buf[pos++] = (char)c;
		}
	}
	return pos;
}

static size_t put_raw(char *buf, size_t pos, size_t cap, const char *s)
{
	size_t n = strlen(s);
	if (pos + n >= cap)
		n = cap - pos - 1;
	memcpy(buf + pos, s, n);
	return pos + n;
}

void ccs_log_write(ccs_log_level level, const char *msg, ...)
{
	char buf[2048];
	const size_t cap = sizeof(buf) - 2;
	size_t pos = 0;
	struct timeval tv;
	struct tm tm;
	char ts[40];
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	pos += (size_t)snprintf(buf, cap, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"service\":\"", ts,
				(int)(tv.tv_usec / 1000), ccs_log_level_name(level));
	pos = put_escaped(buf, pos, cap, log_service);
	pos = put_raw(buf, pos, cap, "\",\"msg\":\"");
	pos = put_escaped(buf, pos, cap, msg);
	pos = put_raw(buf, pos, cap, "\"");

	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		ccs_log_val v = va_arg(ap, ccs_log_val);
		pos = put_raw(buf, pos, cap, ",\"");
		pos = put_escaped(buf, pos, cap, key);
		pos = put_raw(buf, pos, cap, "\":");
		if (v.is_int) {
			char num[24];
			snprintf(num, sizeof(num), "%lld", (long long)v.i);
			pos = put_raw(buf, pos, cap, num);
		} else {
			pos = put_raw(buf, pos, cap, "\"");
			pos = put_escaped(buf, pos, cap, v.s ? v.s : "");
			pos = put_raw(buf, pos, cap, "\"");
		}
	}
	va_end(ap);
	buf[pos++] = '}';
	buf[pos++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, pos);
	(void)w;
}
