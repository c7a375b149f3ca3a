/*
 * The reason-text catalog (see reason_texts.h). A flat array of rows; 40 rows are looked up
 * by a linear scan, which is cheaper than anything cleverer at this size.
 */
#include "reason_texts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/err.h"

#define MAX_ROWS 128
#define MAX_LINE 4096

extern const char ccs_elig_texts_builtin[];

struct ccs_elig_texts {
	struct {
		char *code, *en, *es;
	} rows[MAX_ROWS];
	size_t n;
};

void ccs_elig_texts_free(ccs_elig_texts *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->rows[i].code);
		free(t->rows[i].en);
		free(t->rows[i].es);
	}
	free(t);
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (!p)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Well-formed UTF-8 without control characters (a notice is printed). */
static bool text_ok(const unsigned char *s)
{
	while (*s) {
		int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : (*s & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0 || (n == 0 && *s < 0x20) || (n == 1 && *s < 0xC2))
			return false;
		s++;
		for (int i = 0; i < n; i++, s++)
			if ((*s & 0xC0) != 0x80)
				return false;
	}
	return true;
}

static bool code_known(const char *c)
{
	return strcmp(c, CCS_ELIG_TEXTS_APPEAL_RIGHTS) == 0 || ccs_elig_reason_from_str(c) != CCS_ELIG_R_NONE;
}

int ccs_elig_texts_parse(const char *data, size_t len, const char *source, ccs_elig_texts **out, char *errbuf,
			 size_t errlen)
{
	ccs_elig_texts *t = calloc(1, sizeof(*t));
	char buf[MAX_LINE + 2];
	size_t pos = 0;
	int line = 0, rc = -EINVAL;
	bool header = false;

	if (!t)
		abort();
	*out = NULL;
	source = source ? source : "texts";
	if (len > CCS_ELIG_TEXTS_MAX_BYTES) {
		ccs_errf(errbuf, errlen, "%s: larger than %u bytes", source, CCS_ELIG_TEXTS_MAX_BYTES);
		rc = -EFBIG;
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		char *t1, *t2;
		line++;
		if (n > MAX_LINE) {
			ccs_errf(errbuf, errlen, "%s:%d: line longer than %d bytes", source, line, MAX_LINE);
			goto out;
		}
		memcpy(buf, data + pos, n);
		buf[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (n && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (memchr(buf, '\0', n)) {
			ccs_errf(errbuf, errlen, "%s:%d: NUL byte", source, line);
			goto out;
		}
		if (n == 0 || buf[0] == '#')
			continue;
		if (!header) {
			if (strcmp(buf, "ccs-reason-texts\t1") != 0) {
				ccs_errf(errbuf, errlen, "%s:%d: first record must be \"ccs-reason-texts<TAB>1\"", source, line);
				goto out;
			}
			header = true;
			continue;
		}
		t1 = strchr(buf, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t1 || !t2 || strchr(t2 + 1, '\t')) {
			ccs_errf(errbuf, errlen, "%s:%d: want CODE<TAB>english<TAB>spanish", source, line);
			goto out;
		}
		*t1 = *t2 = '\0';
		if (!code_known(buf)) {
			ccs_errf(errbuf, errlen, "%s:%d: unknown reason code \"%.60s\"", source, line, buf);
			goto out;
		}
		if (!t1[1] || !t2[1] || !text_ok((unsigned char *)t1 + 1) || !text_ok((unsigned char *)t2 + 1)) {
			ccs_errf(errbuf, errlen, "%s:%d: %s: empty text or not UTF-8", source, line, buf);
			goto out;
		}
		for (size_t i = 0; i < t->n; i++)
			if (strcmp(t->rows[i].code, buf) == 0) {
				ccs_errf(errbuf, errlen, "%s:%d: %s given twice", source, line, buf);
				goto out;
			}
		if (t->n == MAX_ROWS) {
			ccs_errf(errbuf, errlen, "%s:%d: more than %d rows", source, line, MAX_ROWS);
			goto out;
		}
		t->rows[t->n].code = dup_n(buf, strlen(buf));
		t->rows[t->n].en = dup_n(t1 + 1, strlen(t1 + 1));
		t->rows[t->n].es = dup_n(t2 + 1, strlen(t2 + 1));
		t->n++;
	}
	if (!header) {
		ccs_errf(errbuf, errlen, "%s:1: empty file", source);
		goto out;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	ccs_elig_texts_free(t);
	return rc;
}

int ccs_elig_texts_load(const char *path, ccs_elig_texts **out, char *errbuf, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char *data = NULL;
	long sz;
	int rc = -EINVAL;

	*out = NULL;
	if (!fp || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		ccs_errf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if ((unsigned long)sz > CCS_ELIG_TEXTS_MAX_BYTES) {
		ccs_errf(errbuf, errlen, "%s: larger than %u bytes", path, CCS_ELIG_TEXTS_MAX_BYTES);
		rc = -EFBIG;
		goto out;
	}
	data = malloc((size_t)sz + 1);
	if (!data)
		abort();
	if (fread(data, 1, (size_t)sz, fp) != (size_t)sz) {
		ccs_errf(errbuf, errlen, "%s: short read", path);
		goto out;
	}
	rc = ccs_elig_texts_parse(data, (size_t)sz, path, out, errbuf, errlen);
out:
	if (fp)
		fclose(fp);
	free(data);
	return rc;
}

bool ccs_elig_texts_get(const ccs_elig_texts *t, const char *code, const char **en, const char **es)
{
	for (size_t i = 0; t && code && i < t->n; i++)
		if (strcmp(t->rows[i].code, code) == 0) {
			*en = t->rows[i].en;
			*es = t->rows[i].es;
			return true;
		}
	*en = *es = "";
	return false;
}

int ccs_elig_texts_check(const ccs_elig_texts *t, char *errbuf, size_t errlen)
{
	const char *en, *es;
	if (!ccs_elig_texts_get(t, CCS_ELIG_TEXTS_APPEAL_RIGHTS, &en, &es)) {
		ccs_errf(errbuf, errlen, "reason texts: no %s row", CCS_ELIG_TEXTS_APPEAL_RIGHTS);
		return -EINVAL;
	}
	for (int r = 1; r < CCS_ELIG_R_COUNT; r++)
		if (!ccs_elig_texts_get(t, ccs_elig_reason_str((ccs_elig_reason)r), &en, &es)) {
			ccs_errf(errbuf, errlen, "reason texts: no row for %s", ccs_elig_reason_str((ccs_elig_reason)r));
			return -EINVAL;
		}
	return 0;
}

static ccs_elig_texts *builtin;

const ccs_elig_texts *ccs_elig_texts_builtin_get(void)
{
	char eb[256];
	if (builtin)
		return builtin;
	if (ccs_elig_texts_parse(ccs_elig_texts_builtin, strlen(ccs_elig_texts_builtin), "builtin:reason_texts.tsv",
				 &builtin, eb, sizeof(eb)) != 0 ||
	    ccs_elig_texts_check(builtin, eb, sizeof(eb)) != 0) {
		fprintf(stderr, "built-in reason texts invalid: %s\n", eb);
		abort();
	}
	return builtin;
}
