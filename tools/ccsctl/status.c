/*
 * ccsctl status: every daemon on one screen, from its own HTTP endpoint (common/svc):
 * /readyz (200 ready, else 503 with one line per check) and /metrics (Prometheus text, one
 * name per concept with the daemon in a service label: ccs_ready{service="referral"}).
 *
 * What an operator asks first when a child seems stuck: is every daemon up and ready, is one
 * behind on its inputs (lag), holding decisions it has not published (outbox backlog and the
 * age of its oldest row), or dead-lettering. A daemon that does not answer is "down".
 *
 * The HTTP client is the least that talks to our own endpoint: HTTP/1.0, one GET per
 * connection, the body read to the close, every step bounded by --timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "ccs/mem.h"
#include "ccsctl.h"

#define STATUS_DEFAULT_ENDPOINTS "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
#define STATUS_DEFAULT_TIMEOUT_MS 3000
#define STATUS_MAX_BODY (8 << 20)

static const char status_help[] =
	"Usage: ccsctl status [--endpoints HOST:PORT,...] [--json] [--timeout SECONDS]\n"
	"\n"
	"Ask each daemon's HTTP endpoint (/readyz and /metrics) and print one line per daemon:\n"
	"  SERVICE ENDPOINT STATE PARTS LAG OUTBOX OLDEST DEAD PROCESSED [why not ready]\n"
	"STATE is ready, not-ready (with the failing /readyz checks) or down (no answer). PARTS\n"
	"is the partitions assigned, LAG the consumer lag summed over them (librdkafka's last\n"
	"statistics), OUTBOX the decisions not yet published and OLDEST the age of the oldest,\n"
	"DEAD the dead letters written and PROCESSED the inputs processed since the daemon\n"
	"started.\n"
	"Exit status: 0 every daemon ready, 1 any not ready or down, 2 usage error.\n"
	"\n"
	"Options:\n"
	"      --endpoints LIST    comma-separated HOST:PORT of the daemons' http.listen; a bare\n"
	"                          PORT reuses the host before it (default:\n"
	"                          " STATUS_DEFAULT_ENDPOINTS ")\n"
	"      --json              one JSON object per daemon instead of the table:\n"
	"                          {\"endpoint\",\"service\",\"state\",\"reason\",\"partitions\",\"lag\",\n"
	"                          \"outbox_backlog\",\"outbox_oldest_age_seconds\",\"dead_letters\",\n"
	"                          \"processed\"}\n"
	"      --timeout SECONDS   per request (default 3)\n"
	"  -h, --help              show this help\n";

/* The figures of the screen: which metric, which series of it (label text that must appear
 * in the series' labels, "" for all) and every matching series summed. */
enum status_fig { FIG_READY, FIG_PARTS, FIG_LAG, FIG_BACKLOG, FIG_OLDEST, FIG_DEAD, FIG_PROCESSED, FIG_N };

/* zero: a daemon that exposes no series of it has none (a counter not yet incremented); else
 * the figure is unknown ("-": consumer lag before librdkafka's first statistics). */
static const struct {
	const char *metric, *labels, *json;
	int zero;
} figs[FIG_N] = {
	[FIG_READY] = {"ccs_ready", "", "ready", 0},
	[FIG_PARTS] = {"ccs_assigned_partitions", "", "partitions", 1},
	[FIG_LAG] = {"ccs_consumer_lag", "", "lag", 0},
	[FIG_BACKLOG] = {"ccs_outbox_backlog", "", "outbox_backlog", 0},
	[FIG_OLDEST] = {"ccs_outbox_oldest_age_seconds", "", "outbox_oldest_age_seconds", 0},
	[FIG_DEAD] = {"ccs_dead_letters_total", "", "dead_letters", 1},
	[FIG_PROCESSED] = {"ccs_messages_total", "result=\"processed\"", "processed", 1},
};

/*
 * /readyz lines that say a check passed ("postgresql ok", "partitions assigned (3, 0
 * fenced)", "processing running"); any other line after the first is a reason.
 */
static const char *const ready_ok[] = {"postgresql ok", "kafka ok", "processing running", NULL};

struct status_row {
	const char *endpoint;
	char service[64];
	const char *state; /* "ready", "not-ready", "down" */
	char reason[512];
	double fig[FIG_N];
	int has[FIG_N];
};

/* --------------------------------------------------------------- HTTP */

/* Wait for fd to become readable or writable until the deadline; 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline - ccsctl_now_ms();
	int n;

	if (left <= 0)
		return 0;
	do
		n = poll(&p, 1, (int)left);
	while (n < 0 && errno == EINTR && !ccsctl_stop);
	return n;
}

/*
 * GET path from host:port. Returns the HTTP status and the body (malloc'd, NUL-terminated) in
 * *body, or -1 with why (connection refused, timeout) in errbuf.
 */
static int http_get(const char *host, const char *port, const char *path, int64_t timeout_ms, char **body,
		    char *errbuf, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = ccsctl_now_ms() + timeout_ms;
	char *buf = NULL, req[512];
	size_t len = 0, cap = 0, sent = 0, rl;
	int fd = -1, status = -1, gai, code;

	*body = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(errbuf, errlen, "%s", gai_strerror(gai));
		goto out;
	}
	snprintf(errbuf, errlen, "no address");
	for (ai = res; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) > 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		snprintf(errbuf, errlen, "%s", errno != EINPROGRESS ? strerror(errno)
					       : soerr		      ? strerror(soerr)
									      : "connect timed out");
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		goto out;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n", path, host, port);
	rl = strlen(req);
	while (sent < rl) {
		ssize_t n = send(fd, req + sent, rl - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR) && wait_fd(fd, POLLOUT, deadline) > 0)
			continue;
		snprintf(errbuf, errlen, "send: %s", n < 0 ? strerror(errno) : "timed out");
		goto out;
	}
	for (;;) {
		ssize_t n;
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			buf = ccs_xrealloc(buf, cap);
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			len += (size_t)n;
			if (len > STATUS_MAX_BODY) {
				snprintf(errbuf, errlen, "answer larger than %d bytes", STATUS_MAX_BODY);
				goto out;
			}
			continue;
		}
		if (n == 0)
			break;
		if ((errno == EAGAIN || errno == EINTR) && wait_fd(fd, POLLIN, deadline) > 0)
			continue;
		snprintf(errbuf, errlen, "receive: %s", errno == EAGAIN || errno == EINTR ? "timed out"
											: strerror(errno));
		goto out;
	}
	buf = buf ? buf : ccs_xmalloc(1);
	buf[len] = '\0';
	{
		char *sep = strstr(buf, "\r\n\r\n");
		if (sscanf(buf, "HTTP/%*d.%*d %d", &code) != 1 || !sep) {
			snprintf(errbuf, errlen, "not an HTTP answer");
			goto out;
		}
		*body = ccs_xstrdup(sep + 4);
		status = code;
	}
out:
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	free(buf);
	return status;
}

/* --------------------------------------------------------------- parsing */

/*
 * Add one exposition line to the row: `name{labels} value` (or `name value`). The service
 * label names the daemon.
 */
static void metric_line(struct status_row *row, const char *line)
{
	const char *brace = strchr(line, '{'), *sp = strchr(line, ' '), *labels = "", *val;
	size_t nl, ll = 0, i;
	char *end;
	double v;

	if (!sp || line[0] == '#')
		return;
	if (brace && brace < sp) {
		const char *close = strchr(brace, '}');
		if (!close)
			return;
		nl = (size_t)(brace - line);
		labels = brace + 1;
		ll = (size_t)(close - labels);
		val = close + 1;
	} else {
		nl = (size_t)(sp - line);
		val = sp;
	}
	v = strtod(val, &end);
	if (end == val)
		return;
	if (!row->service[0] && ll) {
		const char *s = strstr(labels, "service=\"");
		if (s && s < labels + ll) {
			const char *q = strchr(s + 9, '"');
			if (q && (size_t)(q - s - 9) < sizeof(row->service))
				snprintf(row->service, sizeof(row->service), "%.*s", (int)(q - s - 9), s + 9);
		}
	}
	for (i = 0; i < FIG_N; i++) {
		if (strlen(figs[i].metric) != nl || strncmp(line, figs[i].metric, nl) != 0)
			continue;
		if (*figs[i].labels) {
			char *l = ccs_xstrndup(labels, ll);
			int match = strstr(l, figs[i].labels) != NULL;
			free(l);
			if (!match)
				continue;
		}
		row->fig[i] += v;
		row->has[i] = 1;
	}
}

static void parse_metrics(struct status_row *row, char *body)
{
	char *save = NULL, *line;

	for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		metric_line(row, line);
}

/* The failing checks of a /readyz body, "; "-joined into row->reason. */
static void parse_readyz(struct status_row *row, char *body)
{
	char *save = NULL, *line;
	size_t i, first = 1;

	for (line = strtok_r(body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int ok = 0;
		if (first) { /* "ready" / "not ready" */
			first = 0;
			continue;
		}
		for (i = 0; ready_ok[i]; i++)
			ok |= strcmp(line, ready_ok[i]) == 0;
		/* "partitions assigned (N, 0 fenced)" passes; none assigned or any fenced does not. */
		ok |= strncmp(line, "partitions assigned (", 21) == 0 && strstr(line, ", 0 fenced)") != NULL;
		if (ok)
			continue;
		snprintf(row->reason + strlen(row->reason), sizeof(row->reason) - strlen(row->reason), "%s%s",
			 row->reason[0] ? "; " : "", line);
	}
}

/* Ask one endpoint ("host:port"). */
static void ask(struct status_row *row, const char *endpoint, int64_t timeout_ms)
{
	const char *colon = strrchr(endpoint, ':');
	char host[256], why[256], *body = NULL;
	int code;

	row->endpoint = endpoint;
	row->state = "down";
	snprintf(host, sizeof(host), "%.*s", (int)(colon - endpoint), endpoint);
	/* "[::1]:9101" */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	code = http_get(host, colon + 1, "/readyz", timeout_ms, &body, why, sizeof(why));
	if (code < 0) {
		snprintf(row->reason, sizeof(row->reason), "%s", why);
		return;
	}
	row->state = code == 200 ? "ready" : "not-ready";
	if (code != 200) {
		parse_readyz(row, body);
		if (!row->reason[0])
			snprintf(row->reason, sizeof(row->reason), "/readyz answered %d", code);
	}
	free(body);
	body = NULL;
	code = http_get(host, colon + 1, "/metrics", timeout_ms, &body, why, sizeof(why));
	if (code == 200) {
		size_t i;
		parse_metrics(row, body);
		for (i = 0; i < FIG_N; i++)
			row->has[i] |= figs[i].zero;
	} else
		snprintf(row->reason + strlen(row->reason), sizeof(row->reason) - strlen(row->reason),
			 "%s/metrics: %s", row->reason[0] ? "; " : "", code < 0 ? why : "not 200");
	free(body);
}

/* --------------------------------------------------------------- printing */

static void fig_text(const struct status_row *r, enum status_fig f, char *buf, size_t len)
{
	if (!r->has[f])
		snprintf(buf, len, "-");
	else if (f == FIG_OLDEST)
		snprintf(buf, len, "%.0fs", r->fig[f]);
	else
		snprintf(buf, len, "%.0f", r->fig[f]);
}

static void print_row_text(const struct status_row *r)
{
	static const enum status_fig cols[] = {FIG_PARTS, FIG_LAG, FIG_BACKLOG, FIG_OLDEST, FIG_DEAD, FIG_PROCESSED};
	static const int widths[] = {5, 7, 7, 7, 6, 10};
	char buf[32];
	size_t i;

	printf("%-12s %-21s %-9s", r->service[0] ? r->service : "?", r->endpoint, r->state);
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		fig_text(r, cols[i], buf, sizeof(buf));
		printf(" %*s", widths[i], buf);
	}
	if (r->reason[0])
		printf("  %s", r->reason);
	putchar('\n');
}

static void print_row_json(const struct status_row *r)
{
	json_t *o = json_pack("{s:s,s:o,s:s,s:o}", "endpoint", r->endpoint, "service",
			      r->service[0] ? json_string(r->service) : json_null(), "state", r->state, "reason",
			      r->reason[0] ? json_string(r->reason) : json_null());
	size_t i;

	for (i = 0; i < FIG_N; i++)
		if (i != FIG_READY)
			json_object_set_new(o, figs[i].json, r->has[i] ? json_integer((json_int_t)r->fig[i])
								     : json_null());
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

/* Split LIST into endpoints; a bare port takes the host of the entry before it. NULL on a bad entry. */
static char **split_endpoints(const char *list, size_t *n)
{
	char *copy = ccs_xstrdup(list), *save = NULL, *tok, host[256] = "";
	char **out = NULL;
	size_t k = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *colon = strrchr(tok, ':');
		char *e;
		out = ccs_xrealloc(out, (k + 2) * sizeof(*out));
		if (colon && colon != tok && colon[1]) {
			snprintf(host, sizeof(host), "%.*s", (int)(colon - tok), tok);
			out[k++] = ccs_xstrdup(tok);
		} else if (!colon && host[0] && strspn(tok, "0123456789") == strlen(tok)) {
			size_t len = strlen(host) + strlen(tok) + 2;
			e = ccs_xmalloc(len);
			snprintf(e, len, "%s:%s", host, tok);
			out[k++] = e;
		} else {
			ccsctl_err("status: bad endpoint '%s' (HOST:PORT, or PORT after a HOST:PORT)", tok);
			while (k)
				free(out[--k]);
			free(out);
			out = NULL;
			break;
		}
	}
	free(copy);
	if (out && k == 0) {
		ccsctl_err("status: no endpoint given");
		free(out);
		out = NULL;
	}
	*n = k;
	return out;
}

int ccsctl_cmd_status(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"endpoints", required_argument, NULL, 'e'},
		{"json", no_argument, NULL, 'J'},
		{"timeout", required_argument, NULL, 'T'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const char *list = STATUS_DEFAULT_ENDPOINTS;
	struct status_row *rows = NULL;
	char **eps = NULL;
	size_t neps = 0, i;
	int64_t timeout_ms = STATUS_DEFAULT_TIMEOUT_MS;
	int opt, exit_now = -1, as_json = 0, rc = CCSCTL_EXIT_USAGE;

	while ((opt = getopt_long(argc, argv, "e:" CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'e') {
			list = optarg;
		} else if (opt == 'J') {
			as_json = 1;
		} else if (opt == 'T') {
			char *end;
			double s = strtod(optarg, &end);
			if (*optarg == '\0' || *end || !(s > 0) || s > 3600) {
				ccsctl_err("--timeout wants a number of seconds, got '%s'", optarg);
				goto out;
			}
			timeout_ms = (int64_t)(s * 1000) + 1;
		} else if (ccsctl_common_opt(o, opt, optarg, status_help, &exit_now)) {
			/* -b and -X are accepted (common options) but status talks HTTP only. */
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
		} else {
			fputs(status_help, stderr);
			goto out;
		}
	}
	if (optind != argc) {
		ccsctl_err("status: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	eps = split_endpoints(list, &neps);
	if (!eps)
		goto out;
	rows = ccs_xcalloc(neps, sizeof(*rows));
	rc = CCSCTL_EXIT_OK;
	if (!as_json)
		printf("%-12s %-21s %-9s %5s %7s %7s %7s %6s %10s\n", "SERVICE", "ENDPOINT", "STATE", "PARTS", "LAG",
		       "OUTBOX", "OLDEST", "DEAD", "PROCESSED");
	for (i = 0; i < neps; i++) {
		ask(&rows[i], eps[i], timeout_ms);
		if (strcmp(rows[i].state, "ready") != 0)
			rc = CCSCTL_EXIT_FAIL;
		if (as_json)
			print_row_json(&rows[i]);
		else
			print_row_text(&rows[i]);
	}
	if (fflush(stdout) != 0) {
		ccsctl_err("status: writing to standard output failed");
		rc = CCSCTL_EXIT_FAIL;
	}
out:
	for (i = 0; i < neps; i++)
		free(eps[i]);
	free(eps);
	free(rows);
	return rc;
}
