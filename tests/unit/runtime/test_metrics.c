/*
 * Unit tests for ccs_metrics: the Prometheus text exposition format (HELP/TYPE lines, the
 * service label, labels, cumulative histogram buckets with +Inf, _sum and _count) and series
 * identity. Every rendered sample line is also checked against the format's grammar.
 */
#include "ccs/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ccs_test.h"

static int contains_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

#define CCS_HAS_LINE(text, line)                                                    \
	do {                                                                        \
		if (!contains_line((text), (line)))                                 \
			CCS_FAIL_("missing line: %s", (line));                      \
	} while (0)

/* name{labels} value: a metric name, optional {...}, one space, a float Prometheus parses. */
static int sample_line_ok(const char *l, size_t n)
{
	size_t i = 0;
	if (i >= n || !(isalpha((unsigned char)l[i]) || l[i] == '_' || l[i] == ':'))
		return 0;
	while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_' || l[i] == ':'))
		i++;
	if (i < n && l[i] == '{') {
		int inq = 0;
		for (i++; i < n && (inq || l[i] != '}'); i++) {
			if (l[i] == '\\' && inq)
				i++;
			else if (l[i] == '"')
				inq = !inq;
		}
		if (i >= n)
			return 0;
		i++;
	}
	if (i >= n || l[i] != ' ')
		return 0;
	char num[64];
	size_t vl = n - i - 1;
	if (vl == 0 || vl >= sizeof(num))
		return 0;
	memcpy(num, l + i + 1, vl);
	num[vl] = '\0';
	if (!strcmp(num, "+Inf") || !strcmp(num, "-Inf") || !strcmp(num, "NaN"))
		return 1;
	char *end;
	(void)strtod(num, &end);
	return *end == '\0';
}

static void check_grammar(const char *text)
{
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		CCS_TRUE(e != NULL);
		if (!e)
			return;
		size_t n = (size_t)(e - p);
		if (n >= 7 && (!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7))) {
			p = e + 1;
			continue;
		}
		if (!sample_line_ok(p, n))
			CCS_FAIL_("not a sample line: %.*s", (int)n, p);
		p = e + 1;
	}
}

CCS_TEST(counter_and_gauge_render)
{
	ccs_metrics *m = ccs_metrics_new("referral");
	size_t len = 0;
	ccs_metrics_family(m, "messages_total", CCS_METRIC_COUNTER, "input messages by result", NULL, 0);
	ccs_metrics_family(m, "outbox_backlog", CCS_METRIC_GAUGE, "rows waiting", NULL, 0);
	ccs_metric *ok = ccs_metrics_series(m, "messages_total", "result=\"processed\"");
	ccs_metric_add(ok, 3);
	ccs_metric_add(ok, 2);
	ccs_metrics_inc(m, "messages_total", "result=\"duplicate\"", 1);
	ccs_metric_set(ccs_metrics_series(m, "outbox_backlog", NULL), 7);
	ccs_metric_set(ccs_metrics_series(m, "outbox_backlog", NULL), -2.5);
	char *out = ccs_metrics_render(m, &len);
	CCS_EQ_INT(len, strlen(out));
	CCS_HAS_LINE(out, "# HELP ccs_messages_total input messages by result");
	CCS_HAS_LINE(out, "# TYPE ccs_messages_total counter");
	CCS_HAS_LINE(out, "ccs_messages_total{service=\"referral\",result=\"processed\"} 5");
	CCS_HAS_LINE(out, "ccs_messages_total{service=\"referral\",result=\"duplicate\"} 1");
	CCS_HAS_LINE(out, "# TYPE ccs_outbox_backlog gauge");
	CCS_HAS_LINE(out, "ccs_outbox_backlog{service=\"referral\"} -2.5");
	/* HELP and TYPE come before the family's samples, once per family. */
	const char *type = strstr(out, "# TYPE ccs_messages_total");
	const char *sample = strstr(out, "ccs_messages_total{service=\"referral\",");
	CCS_TRUE(type && sample && type < sample);
	CCS_TRUE(strstr(type + 1, "# TYPE ccs_messages_total") == NULL);
	check_grammar(out);
	free(out);
	ccs_metrics_free(m);
}

CCS_TEST(series_identity)
{
	ccs_metrics *m = ccs_metrics_new("x");
	ccs_metrics_family(m, "a_total", CCS_METRIC_COUNTER, "a", NULL, 0);
	ccs_metrics_family(m, "a_total", CCS_METRIC_GAUGE, "declared twice: first wins", NULL, 0);
	ccs_metric *s1 = ccs_metrics_series(m, "a_total", "k=\"1\"");
	ccs_metric *s2 = ccs_metrics_series(m, "a_total", "k=\"2\"");
	/* Pointers stay valid while other series are created. */
	for (int i = 0; i < 100; i++) {
		char l[32];
		snprintf(l, sizeof(l), "k=\"n%d\"", i);
		ccs_metrics_series(m, "a_total", l);
	}
	CCS_TRUE(s1 != s2);
	CCS_TRUE(ccs_metrics_series(m, "a_total", "k=\"1\"") == s1);
	CCS_TRUE(ccs_metrics_series(m, "a_total", NULL) == ccs_metrics_series(m, "a_total", ""));
	ccs_metric_add(s1, 4);
	CCS_TRUE(ccs_metric_value(s1) == 4.0);
	CCS_TRUE(ccs_metric_value(s2) == 0.0);
	size_t len;
	char *out = ccs_metrics_render(m, &len);
	CCS_HAS_LINE(out, "# TYPE ccs_a_total counter");
	CCS_HAS_LINE(out, "ccs_a_total{service=\"x\",k=\"n99\"} 0");
	check_grammar(out);
	free(out);
	ccs_metrics_free(m);
}

CCS_TEST(histogram_buckets_are_cumulative)
{
	static const double b[] = {0.01, 0.1, 1};
	ccs_metrics *m = ccs_metrics_new("eligibility");
	size_t len;
	ccs_metrics_family(m, "transaction_seconds", CCS_METRIC_HISTOGRAM, "batch transaction time", b, 3);
	ccs_metric *h = ccs_metrics_series(m, "transaction_seconds", "");
	ccs_metric_observe(h, 0.005); /* first bucket; bounds render as written, not 0.10000000000000001 */
	ccs_metric_observe(h, 0.01);  /* exactly on a bound: le is inclusive */
	ccs_metric_observe(h, 0.5);   /* third */
	ccs_metric_observe(h, 2);     /* above every bound: only +Inf */
	ccs_metric_observe(h, 4);
	char *out = ccs_metrics_render(m, &len);
	CCS_HAS_LINE(out, "# TYPE ccs_transaction_seconds histogram");
	CCS_HAS_LINE(out, "ccs_transaction_seconds_bucket{service=\"eligibility\",le=\"0.01\"} 2");
	CCS_HAS_LINE(out, "ccs_transaction_seconds_bucket{service=\"eligibility\",le=\"0.1\"} 2");
	CCS_HAS_LINE(out, "ccs_transaction_seconds_bucket{service=\"eligibility\",le=\"1\"} 3");
	CCS_HAS_LINE(out, "ccs_transaction_seconds_bucket{service=\"eligibility\",le=\"+Inf\"} 5");
	/* The sum reads back as exactly the double the observations add up to. */
	double want = 0.005;
	want += 0.01;
	want += 0.5;
	want += 2;
	want += 4;
	const char *sum = strstr(out, "\nccs_transaction_seconds_sum{service=\"eligibility\"} ");
	CCS_TRUE(sum && strtod(sum + strlen("\nccs_transaction_seconds_sum{service=\"eligibility\"} "), NULL) == want);
	CCS_HAS_LINE(out, "ccs_transaction_seconds_count{service=\"eligibility\"} 5");
	/* Buckets appear in increasing order of le. */
	const char *p1 = strstr(out, "le=\"0.01\""), *p2 = strstr(out, "le=\"1\""), *p3 = strstr(out, "le=\"+Inf\"");
	CCS_TRUE(p1 && p2 && p3 && p1 < p2 && p2 < p3);
	check_grammar(out);
	free(out);
	ccs_metrics_free(m);
}

CCS_TEST(histogram_with_labels)
{
	static const double b[] = {1, 10};
	ccs_metrics *m = ccs_metrics_new("scheduling");
	size_t len;
	ccs_metrics_family(m, "batch_size", CCS_METRIC_HISTOGRAM, "messages per transaction", b, 2);
	ccs_metric *h = ccs_metrics_series(m, "batch_size", "topic=\"t\"");
	ccs_metric_observe(h, 3);
	ccs_metrics_series(m, "batch_size", "topic=\"idle\""); /* no observations yet */
	char *out = ccs_metrics_render(m, &len);
	CCS_HAS_LINE(out, "ccs_batch_size_bucket{service=\"scheduling\",topic=\"t\",le=\"1\"} 0");
	CCS_HAS_LINE(out, "ccs_batch_size_bucket{service=\"scheduling\",topic=\"t\",le=\"10\"} 1");
	CCS_HAS_LINE(out, "ccs_batch_size_bucket{service=\"scheduling\",topic=\"t\",le=\"+Inf\"} 1");
	CCS_HAS_LINE(out, "ccs_batch_size_sum{service=\"scheduling\",topic=\"t\"} 3");
	CCS_HAS_LINE(out, "ccs_batch_size_count{service=\"scheduling\",topic=\"t\"} 1");
	CCS_HAS_LINE(out, "ccs_batch_size_bucket{service=\"scheduling\",topic=\"idle\",le=\"+Inf\"} 0");
	CCS_HAS_LINE(out, "ccs_batch_size_count{service=\"scheduling\",topic=\"idle\"} 0");
	check_grammar(out);
	free(out);
	ccs_metrics_free(m);
}

/* Counters grow without bound: a rendered value must not lose precision (rate() needs it). */
CCS_TEST(large_values_keep_precision)
{
	static const double b[] = {1};
	ccs_metrics *m = ccs_metrics_new("p");
	size_t len;
	ccs_metrics_family(m, "seconds", CCS_METRIC_HISTOGRAM, "h", b, 1);
	ccs_metrics_family(m, "bytes_total", CCS_METRIC_COUNTER, "c", NULL, 0);
	ccs_metric_observe(ccs_metrics_series(m, "seconds", ""), 1234567.25);
	ccs_metric_add(ccs_metrics_series(m, "bytes_total", ""), 12345678901.0);
	char *out = ccs_metrics_render(m, &len);
	CCS_HAS_LINE(out, "ccs_bytes_total{service=\"p\"} 12345678901");
	const char *sum = strstr(out, "ccs_seconds_sum{service=\"p\"} ");
	CCS_TRUE(sum != NULL);
	if (sum) {
		double v = strtod(sum + strlen("ccs_seconds_sum{service=\"p\"} "), NULL);
		if (v != 1234567.25)
			CCS_FAIL_("_sum rendered as %.*s", (int)strcspn(sum, "\n"), sum);
	}
	check_grammar(out);
	free(out);
	ccs_metrics_free(m);
}

CCS_TEST(empty_registry_renders_empty)
{
	ccs_metrics *m = ccs_metrics_new("e");
	size_t len = 99;
	char *out = ccs_metrics_render(m, &len);
	CCS_EQ_INT(len, 0);
	CCS_EQ_STR(out, "");
	free(out);
	ccs_metrics_free(m);
	ccs_metrics_free(NULL);
}

CCS_TEST_MAIN()
