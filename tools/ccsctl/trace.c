/*
 * ccsctl trace: one referral's path through the pipeline, for "this child seems stuck".
 *
 * Every record the daemons publish names the event it came from: ce_id (its own UUIDv5 id),
 * ccs_causation_id (the ce_id of the input that caused it), ccs_correlation_id (the original
 * event's id, carried through every daemon), a W3C traceparent whose trace id is shared by the
 * whole referral, and the Kafka key (the case id once a case exists). A dead letter keeps the
 * original's headers and adds dlq_*. So the path is a graph over headers alone: the command
 * reads every known topic and its .dlq from the oldest record to the end offsets seen at start
 * (every partition assigned, no group joined, nothing committed), keeps each record's headers,
 * and walks:
 *
 *   seeds   records whose ce_id, key, correlation id or causation id is ID, or whose trace id
 *           is ID (32 hex digits, or a UUID's 32 hex digits);
 *   down    from a seed: the records it caused (causation id = its ce_id), recursively;
 *   case    once: every record keyed like a record found so far going down (the referral
 *           decision is keyed by the case id, so evidence and the eligibility and scheduling
 *           decisions of that case join the referral's path), then down again from them;
 *   up      from any of those: the input that caused it (ce_id = its causation id),
 *           recursively, without going down again from what is found going up: an MTU calendar
 *           change that caused one child's rebooking is shown, its effects on other children
 *           are not;
 *   same    a record with the ce_id of one on the path (a dead letter of it, or a copy
 *           published again after a crash) is on the path too.
 *
 * Keys are expanded once, not to a fixed point, so that a record keyed by something shared
 * (an MTU id) cannot pull in the whole topic. The path prints in Kafka timestamp order (the
 * time each record was written; ce_time is copied from the input and says when it happened);
 * records written in the same millisecond print causes first.
 *
 * Office streams (ccs.eligibility.decided.v1.office.*) are copies of the decided topic's records
 * and are not read.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"
#include "ccs/uuid.h"
#include "ccsctl.h"

#define TRACE_METADATA_TIMEOUT_MS 10000
#define TRACE_DEFAULT_TIMEOUT_MS 60000
#define TRACE_DLQ_SUFFIX ".dlq"
#define TRACE_SOURCE_PREFIX "urn:ccs:mtp:"
#define TRACE_ID_LEN 32

static const char trace_help[] =
	"Usage: ccsctl trace ID [--prefix P] [--json] [--timeout SECONDS] [common options]\n"
	"\n"
	"Print the path of a referral (or of any event) through the pipeline's topics: every\n"
	"record linked to ID, in Kafka timestamp order, one line each:\n"
	"  time  topic partition@offset  source  type/decision kind  ce_id  key  -> handled by\n"
	"ID is an event id (ce_id), a case or referral id (the Kafka key), a correlation id or\n"
	"a trace id (32 hex digits of a traceparent header). From the records matching ID the\n"
	"path follows ccs_causation_id both ways (what they caused, recursively, and what caused\n"
	"them), and the records keyed like them (the case): a referral's event id shows the\n"
	"referral, its decision, the case's evidence, eligibility and scheduling decisions.\n"
	"\"-> handled by\" names the daemons that published something caused by the record (or\n"
	"dead-lettered it); \"-> none\" means nothing has been published for it (yet). A dead\n"
	"letter shows its error class.\n"
	"Reads every known topic and its .dlq from the oldest record to the end offsets seen at\n"
	"start; no consumer group is joined and nothing is committed.\n"
	"Exit status: 0 path printed, 1 nothing found (or the topics could not be read in\n"
	"time: what was found is printed), 2 usage error.\n"
	"\n"
	"Options:\n"
	"      --prefix P          the daemons' topics.prefix (prepended to every topic name)\n"
	"      --json              one JSON object per record instead of text:\n"
	"                          {\"time\",\"timestamp\",\"topic\",\"partition\",\"offset\",\"source\",\n"
	"                          \"type\",\"kind\",\"ce_id\",\"key\",\"correlation_id\",\n"
	"                          \"causation_id\",\"trace_id\",\"handled_by\":[...],\n"
	"                          \"dead_letter\":{\"service\",\"error_class\",\"error_message\"}}\n"
	"      --timeout SECONDS   give up reading after SECONDS (default 60)\n"
	"\n" CCSCTL_COMMON_HELP;

/* How a record joined the path: going up (a cause; not followed down) or going down. */
enum trace_mark { MARK_NONE = 0, MARK_UP = 1, MARK_DOWN = 2 };

/* One record's place and headers; strings live in the trace's arena ("" when absent). */
struct trace_rec {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int64_t ts; /* Kafka timestamp, ms; -1 if none */
	size_t topic_rank;
	const char *key, *ce_id, *source, *type, *kind, *corr, *cause, *trace;
	const char *dlq_service, *dlq_class, *dlq_message;
	int dlq;
	int mark;
	int depth;    /* causation hops to the first ancestor on the path */
	int repeated; /* same ce_id and topic as an earlier record: a copy published again */
};

/* One assigned partition and the end offset it is read to. */
struct trace_part {
	const char *topic;
	int32_t partition;
	int64_t end;
	int done;
};

struct trace {
	ccs_arena arena;
	struct trace_rec *recs;
	size_t nrecs, cap;
	const char **topics; /* the names read, in the order of the pipeline's topic table */
	size_t ntopics;
	struct trace_part *parts;
	size_t nparts;
	/* Indexes into recs, sorted by ce_id, causation id and key. */
	size_t *by_id, *by_cause, *by_key;
	/* Worklist of records to expand. */
	size_t *work;
	size_t nwork;
};

/* The last value of a header, copied into the arena; "" when absent. */
static const char *hdr(struct trace *t, rd_kafka_headers_t *h, const char *name)
{
	const void *v;
	size_t n;

	if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
		return "";
	return ccs_arena_strndup(&t->arena, v, n);
}

/*
 * The trace id of a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>"), lowercase, or "" when
 * the header is absent or malformed.
 */
static const char *traceparent_id(struct trace *t, const char *tp)
{
	size_t i;

	if (strlen(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
		return "";
	for (i = 3; i < 35; i++)
		if (!strchr("0123456789abcdefABCDEF", tp[i]))
			return "";
	return ccs_arena_strndup(&t->arena, tp + 3, TRACE_ID_LEN);
}

/* ID as a trace id: 32 hex digits, or a UUID's 32 hex digits; lowercase into out, or 0. */
static int as_trace_id(const char *id, char out[TRACE_ID_LEN + 1])
{
	size_t k = 0;

	for (; *id; id++) {
		if (*id == '-')
			continue;
		if (k == TRACE_ID_LEN || !strchr("0123456789abcdefABCDEF", *id))
			return 0;
		out[k++] = (char)(*id >= 'A' && *id <= 'F' ? *id - 'A' + 'a' : *id);
	}
	out[k] = '\0';
	return k == TRACE_ID_LEN;
}

static void keep(struct trace *t, const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	rd_kafka_timestamp_type_t tstype;
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct trace_rec *r;
	size_t i, tl = strlen(topic), sl = strlen(TRACE_DLQ_SUFFIX);

	if (t->nrecs == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->recs = ccs_xrealloc(t->recs, t->cap * sizeof(*t->recs));
	}
	r = &t->recs[t->nrecs++];
	memset(r, 0, sizeof(*r));
	for (i = 0; i < t->ntopics; i++)
		if (strcmp(t->topics[i], topic) == 0)
			break;
	r->topic = i < t->ntopics ? t->topics[i] : ccs_arena_strdup(&t->arena, topic);
	r->topic_rank = i;
	r->partition = m->partition;
	r->offset = m->offset;
	r->ts = rd_kafka_message_timestamp(m, &tstype);
	if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		r->ts = -1;
	r->key = m->key ? ccs_arena_strndup(&t->arena, m->key, m->key_len) : "";
	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
		h = NULL;
	r->ce_id = hdr(t, h, "ce_id");
	r->source = hdr(t, h, "ce_source");
	r->type = hdr(t, h, "ce_type");
	r->kind = hdr(t, h, "ccs_decision_kind");
	r->corr = hdr(t, h, "ccs_correlation_id");
	r->cause = hdr(t, h, "ccs_causation_id");
	r->trace = traceparent_id(t, hdr(t, h, "traceparent"));
	r->dlq = tl > sl && strcmp(topic + tl - sl, TRACE_DLQ_SUFFIX) == 0;
	r->dlq_service = hdr(t, h, "dlq_service");
	r->dlq_class = hdr(t, h, "dlq_error_class");
	r->dlq_message = hdr(t, h, "dlq_error_message");
}

/* ---------------------------------------------------------------- reading */

/* The topics to read: each known topic and its dead-letter topic, under the prefix. */
static void topic_names(struct trace *t, const char *prefix)
{
	size_t i, n = 0;

	while (ccs_pbjson_topic_name(n))
		n++;
	t->topics = ccs_xcalloc(2 * n, sizeof(*t->topics));
	for (i = 0; i < n; i++) {
		t->topics[t->ntopics++] =
			ccs_arena_printf(&t->arena, "%s%s", prefix, ccs_pbjson_topic_name(i));
		t->topics[t->ntopics++] = ccs_arena_printf(&t->arena, "%s%s" TRACE_DLQ_SUFFIX, prefix,
							   ccs_pbjson_topic_name(i));
	}
}

/*
 * Assign every partition of every topic to read that exists, from its oldest record; a
 * partition already empty is done. Returns 0 or -1.
 */
static int assign_topics(struct trace *t, rd_kafka_t *rk)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *list = NULL;
	rd_kafka_resp_err_t err;
	size_t i;
	int j, rc = -1;

	err = rd_kafka_metadata(rk, 1, NULL, &md, TRACE_METADATA_TIMEOUT_MS);
	if (err) {
		ccsctl_err("trace: metadata: %s", rd_kafka_err2str(err));
		goto out;
	}
	list = rd_kafka_topic_partition_list_new(16);
	for (i = 0; i < t->ntopics; i++) {
		const struct rd_kafka_metadata_topic *mt = NULL;
		for (j = 0; j < md->topic_cnt; j++)
			if (strcmp(md->topics[j].topic, t->topics[i]) == 0)
				mt = &md->topics[j];
		if (!mt || mt->err)
			continue; /* a topic nobody has created yet holds nothing to trace */
		t->parts = ccs_xrealloc(t->parts, (t->nparts + (size_t)mt->partition_cnt + 1) *
							  sizeof(*t->parts));
		for (j = 0; j < mt->partition_cnt; j++) {
			struct trace_part *p = &t->parts[t->nparts++];
			int64_t lo, hi;
			err = rd_kafka_query_watermark_offsets(rk, t->topics[i], mt->partitions[j].id,
							       &lo, &hi, TRACE_METADATA_TIMEOUT_MS);
			if (err) {
				ccsctl_err("trace: offsets of %s [%d]: %s", t->topics[i],
					   mt->partitions[j].id, rd_kafka_err2str(err));
				goto out;
			}
			p->topic = t->topics[i];
			p->partition = mt->partitions[j].id;
			p->end = hi;
			p->done = lo >= hi;
			if (!p->done)
				rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = lo;
		}
	}
	err = rd_kafka_assign(rk, list);
	if (err) {
		ccsctl_err("trace: assign: %s", rd_kafka_err2str(err));
		goto out;
	}
	rc = 0;
out:
	if (list)
		rd_kafka_topic_partition_list_destroy(list);
	if (md)
		rd_kafka_metadata_destroy(md);
	return rc;
}

static struct trace_part *part_of(struct trace *t, const char *topic, int32_t partition)
{
	size_t i;

	for (i = 0; i < t->nparts; i++)
		if (t->parts[i].partition == partition && strcmp(t->parts[i].topic, topic) == 0)
			return &t->parts[i];
	return NULL;
}

static int all_read(const struct trace *t)
{
	size_t i;

	for (i = 0; i < t->nparts; i++)
		if (!t->parts[i].done)
			return 0;
	return 1;
}

/*
 * Read every assigned partition to its end offset, keeping each record's headers. Returns 0
 * when everything was read, 1 when the time ran out or a signal came (what was read is kept),
 * -1 on an error.
 */
static int read_all(struct trace *t, const struct ccsctl_common *o, int64_t timeout_ms)
{
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk = NULL;
	char err[512], group[64], us[CCS_UUID_STRLEN];
	ccs_uuid u;
	int64_t deadline = ccsctl_now_ms() + timeout_ms;
	int rc = -1;

	conf = ccsctl_conf_new(o, err, sizeof(err));
	if (!conf) {
		ccsctl_err("%s", err);
		return -1;
	}
	/* librdkafka 2.0 wants a group.id even to assign(): a throwaway one, never joined. */
	ccs_uuid_v4(&u);
	ccs_uuid_format(&u, us);
	snprintf(group, sizeof(group), "ccsctl-%s", us);
	if (ccsctl_conf_set(conf, "enable.auto.commit", "false") ||
	    ccsctl_conf_set(conf, "enable.auto.offset.store", "false") ||
	    ccsctl_conf_set(conf, "enable.partition.eof", "true") ||
	    ccsctl_conf_set(conf, "auto.offset.reset", "earliest") ||
	    ccsctl_conf_set(conf, "group.id", group)) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		ccsctl_err("%s", err);
		return -1;
	}
	rd_kafka_poll_set_consumer(rk);
	if (assign_topics(t, rk) != 0)
		goto out;
	rc = 0;
	while (!all_read(t)) {
		rd_kafka_message_t *m;
		struct trace_part *p;

		if (ccsctl_stop || ccsctl_now_ms() >= deadline) {
			ccsctl_err("trace: %s before every topic was read to its end; the path "
				   "may be incomplete",
				   ccsctl_stop ? "interrupted" : "timed out");
			rc = 1;
			break;
		}
		m = rd_kafka_consumer_poll(rk, 100);
		if (!m)
			continue;
		p = m->rkt ? part_of(t, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			/* The end: also past offsets that hold no record (transaction markers). */
			if (p)
				p->done = 1;
		} else if (m->err) {
			ccsctl_err("trace: consume: %s", rd_kafka_message_errstr(m));
			if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
			    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
			    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
				rd_kafka_message_destroy(m);
				rc = -1;
				break;
			}
		} else if (p && !p->done) {
			keep(t, m);
			if (m->offset + 1 >= p->end)
				p->done = 1;
		}
		rd_kafka_message_destroy(m);
	}
	if (rd_kafka_fatal_error(rk, NULL, 0))
		rc = -1;
out:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return rc;
}

/* ---------------------------------------------------------------- the path */

/* qsort_r is not C11: the index being sorted is chosen through this, set just before. */
static const struct trace_rec *sort_recs;
static size_t sort_field;

static const char *field(const struct trace_rec *r, size_t f)
{
	return f == 0 ? r->ce_id : f == 1 ? r->cause : r->key;
}

static int cmp_field(const void *a, const void *b)
{
	return strcmp(field(&sort_recs[*(const size_t *)a], sort_field),
		      field(&sort_recs[*(const size_t *)b], sort_field));
}

static size_t *index_by(const struct trace *t, size_t f)
{
	size_t *ix = ccs_xcalloc(t->nrecs + 1, sizeof(*ix)), i;

	for (i = 0; i < t->nrecs; i++)
		ix[i] = i;
	sort_recs = t->recs;
	sort_field = f;
	qsort(ix, t->nrecs, sizeof(*ix), cmp_field);
	return ix;
}

/* The first position in index ix (sorted by field f) whose value is v; nrecs if none. */
static size_t find_first(const struct trace *t, const size_t *ix, size_t f, const char *v)
{
	size_t lo = 0, hi = t->nrecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(field(&t->recs[ix[mid]], f), v) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nrecs && strcmp(field(&t->recs[ix[lo]], f), v) == 0 ? lo : t->nrecs;
}

/* Put record i on the path with `mark` (a record seen going up may later be reached going
 * down: then it is expanded again, downwards). */
static void mark(struct trace *t, size_t i, int how)
{
	if (t->recs[i].mark >= how)
		return;
	t->recs[i].mark = how;
	t->work[t->nwork++] = i; /* each record enters at most twice: work holds 2 * nrecs */
}

/* Every record whose field f equals v gets `how`. An empty value links nothing. */
static void mark_all(struct trace *t, const size_t *ix, size_t f, const char *v, int how)
{
	size_t k;

	if (!*v)
		return;
	for (k = find_first(t, ix, f, v); k < t->nrecs && strcmp(field(&t->recs[ix[k]], f), v) == 0;
	     k++)
		mark(t, ix[k], how);
}

/* Expand the worklist to a fixed point: same event, causes (up), effects (down). */
static void expand(struct trace *t)
{
	while (t->nwork) {
		size_t i = t->work[--t->nwork];
		const struct trace_rec *r = &t->recs[i];
		int how = r->mark;
		mark_all(t, t->by_id, 0, r->ce_id, how);
		mark_all(t, t->by_id, 0, r->cause, MARK_UP);
		if (how == MARK_DOWN)
			mark_all(t, t->by_cause, 1, r->ce_id, MARK_DOWN);
	}
}

/* Mark the path of `id`; returns how many records are on it. */
static size_t find_path(struct trace *t, const char *id)
{
	char tid[TRACE_ID_LEN + 1];
	int is_trace = as_trace_id(id, tid);
	size_t i, n = 0, nkeys = 0;
	const char **keys;

	t->by_id = index_by(t, 0);
	t->by_cause = index_by(t, 1);
	t->by_key = index_by(t, 2);
	t->work = ccs_xcalloc(2 * t->nrecs + 1, sizeof(*t->work));
	for (i = 0; i < t->nrecs; i++) {
		const struct trace_rec *r = &t->recs[i];
		if (strcasecmp(r->ce_id, id) == 0 || strcmp(r->key, id) == 0 ||
		    strcasecmp(r->corr, id) == 0 || strcasecmp(r->cause, id) == 0 ||
		    (is_trace && strcasecmp(r->trace, tid) == 0))
			mark(t, i, MARK_DOWN);
	}
	expand(t);
	/* The case: every record keyed like one found going down, once (see the top comment). */
	keys = ccs_xcalloc(t->nrecs + 1, sizeof(*keys));
	for (i = 0; i < t->nrecs; i++)
		if (t->recs[i].mark == MARK_DOWN && *t->recs[i].key)
			keys[nkeys++] = t->recs[i].key;
	for (i = 0; i < nkeys; i++)
		mark_all(t, t->by_key, 2, keys[i], MARK_DOWN);
	free(keys);
	expand(t);
	for (i = 0; i < t->nrecs; i++)
		n += t->recs[i].mark != MARK_NONE;
	return n;
}

/* Causation hops from r to the first record of the path it descends from. */
static int depth_of(const struct trace *t, size_t i)
{
	int d = 0;
	size_t k;

	while (d <= (int)t->nrecs) {
		const char *cause = t->recs[i].cause;
		k = *cause ? find_first(t, t->by_id, 0, cause) : t->nrecs;
		if (k == t->nrecs || t->recs[t->by_id[k]].mark == MARK_NONE ||
		    strcmp(t->recs[t->by_id[k]].ce_id, t->recs[i].ce_id) == 0)
			break;
		i = t->by_id[k];
		d++;
	}
	return d;
}

/* Path order: Kafka time, then causes before effects, then the pipeline's topic order. */
static int cmp_path(const void *a, const void *b)
{
	const struct trace_rec *x = &sort_recs[*(const size_t *)a], *y = &sort_recs[*(const size_t *)b];

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->topic_rank != y->topic_rank)
		return x->topic_rank < y->topic_rank ? -1 : 1;
	if (x->partition != y->partition)
		return x->partition < y->partition ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* ---------------------------------------------------------------- printing */

/* "urn:ccs:mtp:referral" -> "referral": the daemon's name. */
static const char *short_source(const char *s)
{
	size_t n = strlen(TRACE_SOURCE_PREFIX);

	return strncmp(s, TRACE_SOURCE_PREFIX, n) == 0 && s[n] ? s + n : s;
}

/* "ccs.mtp.v1.ReferralDecision" -> "ReferralDecision". */
static const char *short_type(const char *s)
{
	const char *dot = strrchr(s, '.');

	return dot ? dot + 1 : s;
}

/* Append s to the array of strings a unless it is there already. */
static void add_unique(json_t *a, const char *s)
{
	size_t j;

	for (j = 0; j < json_array_size(a); j++)
		if (strcmp(json_string_value(json_array_get(a, j)), s) == 0)
			return;
	json_array_append_new(a, json_string(s)); /* a NULL (not UTF-8) string is not added */
}

/* The daemons that acted on record i: published a record it caused, or dead-lettered it. */
static json_t *handled_by(const struct trace *t, size_t i)
{
	const struct trace_rec *r = &t->recs[i];
	json_t *a = json_array();
	size_t k;

	if (!*r->ce_id || r->dlq)
		return a;
	for (k = find_first(t, t->by_cause, 1, r->ce_id);
	     k < t->nrecs && strcmp(t->recs[t->by_cause[k]].cause, r->ce_id) == 0; k++) {
		const struct trace_rec *c = &t->recs[t->by_cause[k]];
		/* A dead letter keeps the causation id of the message it holds: not an effect. */
		if (!c->dlq && *c->source && strcmp(c->ce_id, r->ce_id) != 0)
			add_unique(a, short_source(c->source));
	}
	for (k = find_first(t, t->by_id, 0, r->ce_id);
	     k < t->nrecs && strcmp(t->recs[t->by_id[k]].ce_id, r->ce_id) == 0; k++) {
		const struct trace_rec *d = &t->recs[t->by_id[k]];
		if (d->dlq) {
			char what[128];
			snprintf(what, sizeof(what), "%s (dead letter)",
				 *d->dlq_service ? d->dlq_service : "?");
			add_unique(a, what);
		}
	}
	return a;
}

static void format_time(int64_t ts, char *buf, size_t len)
{
	time_t s = (time_t)(ts / 1000);
	struct tm tm;

	if (ts < 0 || !gmtime_r(&s, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", (int)(ts % 1000));
}

/* A JSON string for a header value, or null when absent or not UTF-8. */
static json_t *jstr(const char *s)
{
	json_t *v = *s ? ccsctl_json_text(s, strlen(s)) : NULL;

	return v ? v : json_null();
}

static int print_json(const struct trace *t, size_t i, json_t *by)
{
	const struct trace_rec *r = &t->recs[i];
	char when[40];
	json_t *o;
	int rc;

	format_time(r->ts, when, sizeof(when));
	o = json_pack("{s:s,s:I,s:s,s:i,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:O}", "time", when,
		      "timestamp", (json_int_t)r->ts, "topic", r->topic, "partition", (int)r->partition,
		      "offset", (json_int_t)r->offset, "source", jstr(r->source), "type", jstr(r->type),
		      "kind", jstr(r->kind), "ce_id", jstr(r->ce_id), "key", jstr(r->key),
		      "correlation_id", jstr(r->corr), "causation_id", jstr(r->cause), "trace_id",
		      jstr(r->trace), "handled_by", by);
	if (!o)
		return -1;
	if (r->dlq)
		json_object_set_new(o, "dead_letter",
				    json_pack("{s:o,s:o,s:o}", "service", jstr(r->dlq_service),
					      "error_class", jstr(r->dlq_class), "error_message",
					      jstr(r->dlq_message)));
	if (r->repeated)
		json_object_set_new(o, "repeated", json_true());
	rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return rc == 0 && fputc('\n', stdout) != EOF ? 0 : -1;
}

static int print_text(const struct trace *t, size_t i, json_t *by, size_t prefix_len)
{
	const struct trace_rec *r = &t->recs[i];
	char when[40], what[160], place[64];
	const char *by_name;
	size_t j;

	format_time(r->ts, when, sizeof(when));
	snprintf(what, sizeof(what), "%s%s%s%s", r->dlq ? "dead letter " : "",
		 *r->type ? short_type(r->type) : "?", *r->kind ? "/" : "", r->kind);
	snprintf(place, sizeof(place), "%d@%lld", (int)r->partition, (long long)r->offset);
	/* A dead letter's step is the daemon that refused the message, not the one that sent it. */
	by_name = r->dlq && *r->dlq_service ? r->dlq_service : *r->source ? short_source(r->source) : "?";
	printf("%s  %-34s %-7s %-12s %-40s ce_id=%s key=%s", when, r->topic + prefix_len, place, by_name, what,
	       *r->ce_id ? r->ce_id : "-", *r->key ? r->key : "-");
	if (r->dlq)
		printf(" error=%s", *r->dlq_class ? r->dlq_class : "?");
	if (r->repeated)
		printf(" (published again)");
	if (!r->dlq) {
		fputs(" ->", stdout);
		for (j = 0; j < json_array_size(by); j++)
			printf("%s%s", j ? ", " : " ", json_string_value(json_array_get(by, j)));
		if (!json_array_size(by))
			fputs(" none", stdout);
	}
	return putchar('\n') == EOF ? -1 : 0;
}

static int print_path(struct trace *t, int as_json, size_t prefix_len)
{
	size_t *order = ccs_xcalloc(t->nrecs + 1, sizeof(*order)), n = 0, i, k;
	int rc = 0;

	for (i = 0; i < t->nrecs; i++) {
		if (t->recs[i].mark == MARK_NONE)
			continue;
		t->recs[i].depth = depth_of(t, i);
		order[n++] = i;
	}
	sort_recs = t->recs;
	qsort(order, n, sizeof(*order), cmp_path);
	/* A second record with the same ce_id on the same topic is the same event published
	 * again (an outbox row re-sent after a crash): shown, and said so. */
	for (i = 0; i < n; i++)
		for (k = 0; k < i && !t->recs[order[i]].repeated; k++)
			t->recs[order[i]].repeated = *t->recs[order[i]].ce_id &&
				t->recs[order[k]].topic == t->recs[order[i]].topic &&
				strcmp(t->recs[order[k]].ce_id, t->recs[order[i]].ce_id) == 0;
	for (i = 0; i < n && rc == 0; i++) {
		json_t *by = handled_by(t, order[i]);
		rc = as_json ? print_json(t, order[i], by) : print_text(t, order[i], by, prefix_len);
		json_decref(by);
	}
	if (rc != 0 || fflush(stdout) != 0) {
		ccsctl_err("trace: writing to standard output failed");
		rc = -1;
	}
	free(order);
	return rc;
}

int ccsctl_cmd_trace(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"prefix", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'J'},
		{"timeout", required_argument, NULL, 'T'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct trace t;
	const char *prefix = "", *id;
	int64_t timeout_ms = TRACE_DEFAULT_TIMEOUT_MS;
	int opt, exit_now = -1, as_json = 0, rc = CCSCTL_EXIT_USAGE, rr;

	memset(&t, 0, sizeof(t));
	ccs_arena_init(&t.arena, 1 << 16);
	while ((opt = getopt_long(argc, argv, CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'P') {
			prefix = optarg;
		} else if (opt == 'J') {
			as_json = 1;
		} else if (opt == 'T') {
			char *end;
			double s = strtod(optarg, &end);
			if (*optarg == '\0' || *end || !(s > 0) || s > 1e6) {
				ccsctl_err("--timeout wants a number of seconds, got '%s'", optarg);
				goto out;
			}
			timeout_ms = (int64_t)(s * 1000) + 1;
		} else if (ccsctl_common_opt(o, opt, optarg, trace_help, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
		} else {
			fputs(trace_help, stderr);
			goto out;
		}
	}
	if (optind + 1 != argc || !*argv[optind]) {
		ccsctl_err("trace: %s", optind >= argc ? "an ID is required" : "one ID only");
		goto out;
	}
	id = argv[optind];
	topic_names(&t, prefix);
	rc = CCSCTL_EXIT_FAIL;
	rr = read_all(&t, o, timeout_ms);
	if (rr < 0)
		goto out;
	if (find_path(&t, id) == 0) {
		ccsctl_err("trace: nothing found for %s in %zu records of %zu topics", id, t.nrecs,
			   t.ntopics);
		goto out;
	}
	if (print_path(&t, as_json, strlen(prefix)) != 0 || rr != 0)
		goto out;
	rc = CCSCTL_EXIT_OK;
out:
	free(t.recs);
	free(t.topics);
	free(t.parts);
	free(t.by_id);
	free(t.by_cause);
	free(t.by_key);
	free(t.work);
	ccs_arena_destroy(&t.arena);
	return rc;
}
