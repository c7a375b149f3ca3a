/*
 * Configuration table (see ccs/cfg.h). Values are kept as text and validated on load, so
 * --print-config shows exactly what was read and a bad value is reported with its source.
 */
#include "ccs/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccs/mem.h"

void ccs_cfg_init(ccs_cfg *c, const ccs_cfg_def *const *tables, size_t ntables)
{
	size_t n = 0;
	memset(c, 0, sizeof(*c));
	for (size_t t = 0; t < ntables; t++)
		for (const ccs_cfg_def *d = tables[t]; d->key; d++)
			n++;
	ccs_cfg_def *defs = ccs_xcalloc(n + 1, sizeof(*defs));
	n = 0;
	for (size_t t = 0; t < ntables; t++)
		for (const ccs_cfg_def *d = tables[t]; d->key; d++)
			defs[n++] = *d;
	c->defs = defs;
	c->owned_defs = defs;
	c->ndefs = n;
	c->values = ccs_xcalloc(n + 1, sizeof(char *));
}

static void free_kafka(ccs_cfg *c)
{
	for (size_t i = 0; i < c->nkafka; i++) {
		free(c->kafka[i].key);
		free(c->kafka[i].value);
	}
	free(c->kafka);
	c->kafka = NULL;
	c->nkafka = 0;
}

void ccs_cfg_free(ccs_cfg *c)
{
	for (size_t i = 0; i < c->ndefs; i++)
		free(c->values[i]);
	free(c->values);
	free(c->owned_defs);
	free_kafka(c);
	for (size_t i = 0; i < c->noverrides; i++)
		free(c->overrides[i]);
	free(c->overrides);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

static long find(const ccs_cfg *c, const char *key)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (strcmp(c->defs[i].key, key) == 0)
			return (long)i;
	return -1;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

/* Validate and store one value; `src` names where it came from for the error message. */
static int set_value(ccs_cfg *c, const char *key, const char *val, int reload, const char *src,
		     char *errbuf, size_t errlen)
{
	long i = find(c, key);
	if (i < 0) {
		if (strncmp(key, "kafka.", 6) == 0 && key[6]) {
			if (reload)
				return 0;
			for (size_t k = 0; k < c->nkafka; k++) {
				if (strcmp(c->kafka[k].key, key + 6) == 0) {
					free(c->kafka[k].value);
					c->kafka[k].value = ccs_xstrdup(val);
					return 0;
				}
			}
			c->kafka = ccs_xrealloc(c->kafka, (c->nkafka + 1) * sizeof(*c->kafka));
			c->kafka[c->nkafka].key = ccs_xstrdup(key + 6);
			c->kafka[c->nkafka].value = ccs_xstrdup(val);
			c->nkafka++;
			return 0;
		}
		snprintf(errbuf, errlen, "unknown setting \"%s\" (%s)", key, src);
		return -EINVAL;
	}
	const ccs_cfg_def *d = &c->defs[i];
	if (reload && !(d->flags & CCS_CFG_RELOAD))
		return 0;
	if (d->type == CCS_CFG_INT) {
		long x;
		if (parse_int(val, &x) != 0 || x < d->min || x > d->max) {
			snprintf(errbuf, errlen, "invalid value for %s (%s): expected an integer in [%ld, %ld]",
				 key, src, d->min, d->max);
			return -EINVAL;
		}
	} else if (d->type == CCS_CFG_BOOL) {
		int b;
		if (parse_bool(val, &b) != 0) {
			snprintf(errbuf, errlen, "invalid value for %s (%s): expected true or false", key, src);
			return -EINVAL;
		}
	}
	free(c->values[i]);
	c->values[i] = ccs_xstrdup(val);
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(ccs_cfg *c, int reload, char *errbuf, size_t errlen)
{
	FILE *f = fopen(c->file, "r");
	char line[4096], src[512];
	int lineno = 0, rc = 0;

	if (!f) {
		snprintf(errbuf, errlen, "cannot open config file %s: %s", c->file, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(errbuf, errlen, "%s:%d: expected key = value", c->file, lineno);
			rc = -EINVAL;
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		snprintf(src, sizeof(src), "%s:%d", c->file, lineno);
		rc = set_value(c, key, val, reload, src, errbuf, errlen);
		if (rc)
			goto out;
	}
out:
	fclose(f);
	return rc;
}

/* pg.url -> CCS_PG_URL */
static void env_name(const char *key, char *buf, size_t len)
{
	size_t j = 0;
	j += (size_t)snprintf(buf, len, "CCS_");
	for (; *key && j + 1 < len; key++)
		buf[j++] = *key == '.' || *key == '-' ? '_' : (char)toupper((unsigned char)*key);
	buf[j] = '\0';
}

int ccs_cfg_add_override(ccs_cfg *c, const char *kv, char *errbuf, size_t errlen)
{
	if (!strchr(kv, '=')) {
		snprintf(errbuf, errlen, "-X expects key=value, got \"%s\"", kv);
		return -EINVAL;
	}
	c->overrides = ccs_xrealloc(c->overrides, (c->noverrides + 1) * sizeof(char *));
	c->overrides[c->noverrides++] = ccs_xstrdup(kv);
	return 0;
}

int ccs_cfg_load(ccs_cfg *c, int reload, char *errbuf, size_t errlen)
{
	int rc = 0;
	char name[256];
	char **saved = NULL;

	if (reload) {
		/* A failed reload must leave every value as it was (SIGHUP keeps the old settings). */
		saved = ccs_xcalloc(c->ndefs + 1, sizeof(char *));
		for (size_t i = 0; i < c->ndefs; i++)
			saved[i] = c->values[i] ? ccs_xstrdup(c->values[i]) : NULL;
	} else {
		for (size_t i = 0; i < c->ndefs; i++) {
			free(c->values[i]);
			c->values[i] = ccs_xstrdup(c->defs[i].def ? c->defs[i].def : "");
		}
		free_kafka(c);
	}
	if (c->file && (rc = load_file(c, reload, errbuf, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < c->ndefs; i++) {
		env_name(c->defs[i].key, name, sizeof(name));
		const char *v = getenv(name);
		if (v && (rc = set_value(c, c->defs[i].key, v, reload, name, errbuf, errlen)) != 0)
			goto out;
	}
	for (size_t i = 0; i < c->noverrides; i++) {
		char *kv = ccs_xstrdup(c->overrides[i]);
		char *eq = strchr(kv, '=');
		*eq = '\0';
		rc = set_value(c, trim(kv), trim(eq + 1), reload, "-X", errbuf, errlen);
		free(kv);
		if (rc)
			goto out;
	}
out:
	for (size_t i = 0; saved && i < c->ndefs; i++) {
		if (rc) {
			free(c->values[i]);
			c->values[i] = saved[i];
		} else {
			free(saved[i]);
		}
	}
	free(saved);
	return rc;
}

const char *ccs_cfg_str(const ccs_cfg *c, const char *key)
{
	long i = find(c, key);
	if (i < 0) {
		fprintf(stderr, "bug: unknown config key %s\n", key);
		abort();
	}
	return c->values[i] ? c->values[i] : "";
}

long ccs_cfg_int(const ccs_cfg *c, const char *key)
{
	long x = 0;
	(void)parse_int(ccs_cfg_str(c, key), &x);
	return x;
}

int ccs_cfg_bool(const ccs_cfg *c, const char *key)
{
	int b = 0;
	(void)parse_bool(ccs_cfg_str(c, key), &b);
	return b;
}

/*
 * Passwords inside connection strings are masked even when the key is not secret: a URL's
 * scheme://user:PASSWORD@host, and every password=PASSWORD parameter (URL query or libpq
 * key=value conninfo, where the value may be single-quoted).
 */
static void print_masked_url(FILE *out, const char *v)
{
	const char *scheme = strstr(v, "://");
	const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
	const char *colon = scheme && at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	const char *p = v, *k;

	if (colon) {
		fprintf(out, "%.*s:********", (int)(colon - v), v);
		p = at;
	}
	while ((k = strcasestr(p, "password=")) != NULL) {
		k += strlen("password=");
		fwrite(p, 1, (size_t)(k - p), out);
		fputs("********", out);
		if (*k == '\'') {
			for (k++; *k && *k != '\''; k++)
				if (*k == '\\' && k[1])
					k++;
			if (*k)
				k++;
		} else {
			k += strcspn(k, "& \t");
		}
		p = k;
	}
	fputs(p, out);
}

static int kafka_key_secret(const char *k)
{
	return strstr(k, "password") || strstr(k, "secret") || strstr(k, "key.pem") ||
	       strstr(k, "sasl.oauthbearer.config");
}

void ccs_cfg_print(const ccs_cfg *c, FILE *out)
{
	for (size_t i = 0; i < c->ndefs; i++) {
		fprintf(out, "%s = ", c->defs[i].key);
		if (c->defs[i].flags & CCS_CFG_SECRET)
			fputs(c->values[i] && *c->values[i] ? "********" : "", out);
		else
			print_masked_url(out, c->values[i] ? c->values[i] : "");
		fputc('\n', out);
	}
	for (size_t i = 0; i < c->nkafka; i++)
		fprintf(out, "kafka.%s = %s\n", c->kafka[i].key,
			kafka_key_secret(c->kafka[i].key) ? "********" : c->kafka[i].value);
}

void ccs_cfg_help(const ccs_cfg *c, FILE *out)
{
	char name[256];
	for (size_t i = 0; i < c->ndefs; i++) {
		env_name(c->defs[i].key, name, sizeof(name));
		fprintf(out, "  %-28s %s%s\n      default \"%s\", env %s\n", c->defs[i].key,
			c->defs[i].help, c->defs[i].flags & CCS_CFG_RELOAD ? " (reloadable)" : "",
			c->defs[i].def ? c->defs[i].def : "", name);
	}
	fputs("  kafka.<property>             passed to librdkafka as-is (TLS, SASL, tuning)\n", out);
}
