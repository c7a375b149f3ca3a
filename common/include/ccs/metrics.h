/*
 * Metrics: one registry per process, rendered in the Prometheus text format by /metrics and
 * summarised in a periodic log line. A series is a (name, labels) pair; callers look a series
 * up once and keep the pointer, so the hot path is a single add.
 *
 * Names are given without the "ccs_" prefix, which the registry adds; every series also gets the
 * label service="<service>", so the three daemons share one name per concept
 * (ccs_messages_total{service="referral",result="processed"}) and rules are written once.
 * Label text is pre-rendered (`result="ok"`) and must never carry personal data: ids and codes
 * only.
 */
#ifndef CCS_METRICS_H
#define CCS_METRICS_H

#include <stddef.h>

typedef enum ccs_metric_type {
	CCS_METRIC_COUNTER,
	CCS_METRIC_GAUGE,
	CCS_METRIC_HISTOGRAM,
} ccs_metric_type;

typedef struct ccs_metric ccs_metric;
typedef struct ccs_metrics ccs_metrics;

ccs_metrics *ccs_metrics_new(const char *service);
void ccs_metrics_free(ccs_metrics *m);
/* Declare a family (type and help); histograms take their bucket bounds here. */
void ccs_metrics_family(ccs_metrics *m, const char *name, ccs_metric_type type, const char *help,
			const double *buckets, size_t nbuckets);
/* Get or create the series; the family must have been declared. */
ccs_metric *ccs_metrics_series(ccs_metrics *m, const char *name, const char *labels);
void ccs_metric_add(ccs_metric *s, double delta);
void ccs_metric_set(ccs_metric *s, double value);
void ccs_metric_observe(ccs_metric *s, double value);
double ccs_metric_value(const ccs_metric *s);
/* Convenience for rare paths: look up and add. */
void ccs_metrics_inc(ccs_metrics *m, const char *name, const char *labels, double delta);
/* Render the whole registry; caller frees. */
char *ccs_metrics_render(const ccs_metrics *m, size_t *len);

#endif
