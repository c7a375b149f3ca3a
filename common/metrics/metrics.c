/*
 * Prometheus registry (see ccs/metrics.h). Families and series live in small arrays: a daemon
 * has a few dozen series, and the series pointers handed out stay valid because series are
 * allocated one by one and never freed before the registry.
 */
#include "ccs/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"

#define MAX_BUCKETS 16

struct ccs_metric {
	int family;
	char *labels;
	double value;             /* counter/gauge value, histogram sum */
	unsigned long long count; /* histogram observations */
	unsigned long long buckets[MAX_BUCKETS]; /* per bound, not cumulative */
	double bounds[MAX_BUCKETS];              /* copied from the family at creation */
	size_t nbounds;
};

typedef struct family {
	char *name;
	ccs_metric_type type;
	char *help;
	double bounds[MAX_BUCKETS];
	size_t nbounds;
} family;

struct ccs_metrics {
	char *service; /* the value of every series' service label */
	family *fams;
	size_t nfams;
	ccs_metric **series;
	size_t nseries;
};

ccs_metrics *ccs_metrics_new(const char *service)
{
	ccs_metrics *m = ccs_xcalloc(1, sizeof(*m));
	size_t n = strlen(service) + 6;
	m->service = ccs_xmalloc(n);
	snprintf(m->service, n, "%s", service);
	return m;
}

void ccs_metrics_free(ccs_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nfams; i++) {
		free(m->fams[i].name);
		free(m->fams[i].help);
	}
	for (size_t i = 0; i < m->nseries; i++) {
		free(m->series[i]->labels);
		free(m->series[i]);
	}
	free(m->fams);
	free(m->series);
	free(m->service);
	free(m);
}

static long find_family(const ccs_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->nfams; i++)
		if (strcmp(m->fams[i].name, name) == 0)
			return (long)i;
	return -1;
}

void ccs_metrics_family(ccs_metrics *m, const char *name, ccs_metric_type type, const char *help,
			const double *buckets, size_t nbuckets)
{
	if (find_family(m, name) >= 0)
		return;
	m->fams = ccs_xrealloc(m->fams, (m->nfams + 1) * sizeof(*m->fams));
	family *f = &m->fams[m->nfams++];
	memset(f, 0, sizeof(*f));
	f->name = ccs_xstrdup(name);
	f->type = type;
	f->help = ccs_xstrdup(help);
	f->nbounds = nbuckets > MAX_BUCKETS ? MAX_BUCKETS : nbuckets;
	if (f->nbounds)
		memcpy(f->bounds, buckets, f->nbounds * sizeof(double));
}

ccs_metric *ccs_metrics_series(ccs_metrics *m, const char *name, const char *labels)
{
	long f = find_family(m, name);
	if (f < 0) {
		fprintf(stderr, "bug: metric family %s not declared\n", name);
		abort();
	}
	if (!labels)
		labels = "";
	for (size_t i = 0; i < m->nseries; i++)
		if (m->series[i]->family == f && strcmp(m->series[i]->labels, labels) == 0)
			return m->series[i];
	ccs_metric *s = ccs_xcalloc(1, sizeof(*s));
	s->family = (int)f;
	s->labels = ccs_xstrdup(labels);
	s->nbounds = m->fams[f].nbounds;
	memcpy(s->bounds, m->fams[f].bounds, sizeof(s->bounds));
	m->series = ccs_xrealloc(m->series, (m->nseries + 1) * sizeof(*m->series));
	m->series[m->nseries++] = s;
	return s;
}

void ccs_metric_add(ccs_metric *s, double delta)
{
	s->value += delta;
}

void ccs_metric_set(ccs_metric *s, double value)
{
	s->value = value;
}

double ccs_metric_value(const ccs_metric *s)
{
	return s->value;
}

/* Each observation lands in its first fitting bucket; rendering makes them cumulative. */
void ccs_metric_observe(ccs_metric *s, double value)
{
	s->value += value;
	s->count++;
	for (size_t i = 0; i < s->nbounds; i++) {
		if (value <= s->bounds[i]) {
			s->buckets[i]++;
			break;
		}
	}
}

void ccs_metrics_inc(ccs_metrics *m, const char *name, const char *labels, double delta)
{
	ccs_metric_add(ccs_metrics_series(m, name, labels), delta);
}

typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = ccs_xrealloc(b->p, b->cap);
	}
}

static void fmt_num(char *out, size_t len, double v)
{
	if (isinf(v))
		snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, len, "%.0f", v);
	else {
		/* The shortest text that reads back as the same double: le="0.1" stays readable and
		 * large sums stay exact. */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(out, len, "%.*g", prec, v);
			if (strtod(out, NULL) == v)
				break;
		}
	}
}

/* A series' label set: the registry's service label first, then its own labels. */
static void labels_open(buf *b, const ccs_metrics *m, const ccs_metric *s)
{
	bprintf(b, "{service=\"%s\"%s%s", m->service, *s->labels ? "," : "", s->labels);
}

char *ccs_metrics_render(const ccs_metrics *m, size_t *len)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	buf b = {ccs_xmalloc(4096), 0, 4096};
	char num[64];

	b.p[0] = '\0';
	for (size_t f = 0; f < m->nfams; f++) {
		const family *fam = &m->fams[f];
		bprintf(&b, "# HELP ccs_%s %s\n# TYPE ccs_%s %s\n", fam->name, fam->help, fam->name, types[fam->type]);
		for (size_t i = 0; i < m->nseries; i++) {
			const ccs_metric *s = m->series[i];
			if (s->family != (int)f)
				continue;
			if (fam->type != CCS_METRIC_HISTOGRAM) {
				fmt_num(num, sizeof(num), s->value);
				bprintf(&b, "ccs_%s", fam->name);
				labels_open(&b, m, s);
				bprintf(&b, "} %s\n", num);
				continue;
			}
			unsigned long long cum = 0;
			for (size_t k = 0; k < fam->nbounds; k++) {
				cum += s->buckets[k];
				fmt_num(num, sizeof(num), fam->bounds[k]);
				bprintf(&b, "ccs_%s_bucket", fam->name);
				labels_open(&b, m, s);
				bprintf(&b, ",le=\"%s\"} %llu\n", num, cum);
			}
			bprintf(&b, "ccs_%s_bucket", fam->name);
			labels_open(&b, m, s);
			bprintf(&b, ",le=\"+Inf\"} %llu\n", s->count);
			fmt_num(num, sizeof(num), s->value);
			bprintf(&b, "ccs_%s_sum", fam->name);
			labels_open(&b, m, s);
			bprintf(&b, "} %s\n", num);
			bprintf(&b, "ccs_%s_count", fam->name);
			labels_open(&b, m, s);
			bprintf(&b, "} %llu\n", s->count);
		}
	}
	*len = b.len;
	return b.p;
}
