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

/*
 * A line under construction. put() refuses what does not fit below `limit`, which keeps the
 * last bytes of the buffer for the closing `"}` and newline, so a cut line is still one
 * valid JSON object.
 */
typedef struct line {
	char buf[2048];
	size_t pos;
	int full;
} line;

#define LINE_LIMIT (sizeof(((line *)0)->buf) - 4)

static void put(line *l, const char *s, size_t n)
{
	if (l->full || l->pos + n > LINE_LIMIT) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->pos, s, n);
	l->pos += n;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the bytes are not UTF-8. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
		 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong 3/4-byte forms, surrogates and code points above U+10FFFF. */
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* Append s JSON-escaped, whole characters only; bytes that are not UTF-8 become U+FFFD. */
static void put_escaped(line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	char esc[8];
	while (*p && !l->full) {
		size_t n = utf8_len(p);
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			put(l, esc, 6);
		} else if (n == 0) {
			put(l, "\\ufffd", 6);
			n = 1;
		} else {
			put(l, (const char *)p, n);
		}
		if (!l->full)
			p += n ? n : 1;
	}
}

static void put_str(line *l, const char *s)
{
	put(l, s, strlen(s));
}

/*
 * Append a quoted, escaped string, possibly cut but always closed: the quotes come from the
 * reserve when needed. Only call it right after a `:` or at a value position.
 */
static void put_quoted(line *l, const char *s)
{
	if (l->full || l->pos + 1 > LINE_LIMIT) {
		l->full = 1;
		l->buf[l->pos++] = '"';
		l->buf[l->pos++] = '"';
		return;
	}
	l->buf[l->pos++] = '"';
	put_escaped(l, s);
	l->buf[l->pos++] = '"';
}

void ccs_log_write(ccs_log_level level, const char *msg, ...)
{
	line l;
	struct timeval tv;
	struct tm tm;
	char ts[40], head[96];
	va_list ap;

	l.pos = 0;
	l.full = 0;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(head, sizeof(head), "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"service\":", ts,
		 (int)(tv.tv_usec / 1000), ccs_log_level_name(level));
	put_str(&l, head);
	put_quoted(&l, log_service);
	put_str(&l, ",\"msg\":");
	if (!l.full)
		put_quoted(&l, msg);

	va_start(ap, msg);
	while (!l.full) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		ccs_log_val v = va_arg(ap, ccs_log_val);
		/* The key is whole or the field is dropped; a string value may be cut. */
		size_t mark = l.pos;
		put_str(&l, ",");
		if (!l.full)
			put_quoted(&l, key);
		put_str(&l, ":");
		if (l.full) {
			l.pos = mark;
			break;
		}
		if (v.is_int) {
			char num[24];
			snprintf(num, sizeof(num), "%lld", (long long)v.i);
			put_str(&l, num);
			if (l.full)
				l.pos = mark;
		} else {
			put_quoted(&l, v.s);
		}
	}
	va_end(ap);
	l.buf[l.pos++] = '}';
	l.buf[l.pos++] = '\n';
	ssize_t w = write(STDERR_FILENO, l.buf, l.pos);
	(void)w;
}
