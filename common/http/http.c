/*
 * Minimal HTTP endpoint (see ccs/http.h and README.md beside this file).
 *
 * A connection reads until the end of its request head, answers once, and closes. Three
 * rules keep it from costing the daemon more than a bounded amount of anything:
 *
 * - a deadline per connection (a uv_timer_t embedded in the connection): the head must be
 *   complete within header_timeout_ms and the response written within write_timeout_ms,
 *   otherwise the socket is closed, so a partial head or a client that never reads cannot
 *   hold a descriptor forever;
 * - a cap on live connections: at the cap the oldest connection still waiting for its head is
 *   closed to make room (an idle flood cannot lock out a health probe), and only when every
 *   slot is busy answering is the new one closed unanswered. Every pending connection is
 *   always accepted, so the listening socket never stays readable and the loop never spins;
 * - only a complete, well-formed head reaches the handler: a NUL byte (answered at once, as
 *   no later byte can make the head valid), a malformed request or header line gets a 400, a
 *   head larger than REQ_MAX a 431.
 *
 * Memory per connection is one struct holding both handles; it is freed in the second close
 * callback, as libuv requires. The socket itself is closed inside uv_close, so descriptors are
 * bounded by max_conns + 1 (the newcomer, before it has evicted someone) even in a burst of
 * accepts within one loop iteration.
 */
#include "ccs/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"

#define REQ_MAX 8192 /* request head, terminator included */
#define PATH_MAX_ 1024

enum conn_state { READING, WRITING, CLOSING };

typedef struct ccs_http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	ccs_http *h;
	struct ccs_http_conn *prev, *next; /* in h's live list while not CLOSING */
	enum conn_state state;
	int handles; /* open handles; the last close callback frees */
	size_t len;
	char *out;
	char req[REQ_MAX + 1];
} conn;

static unsigned or_default(unsigned v, unsigned def)
{
	return v ? v : def;
}

static void on_handle_closed(uv_handle_t *hd)
{
	conn *c = hd->data;
	if (--c->handles > 0)
		return;
	free(c->out);
	free(c);
}

static void unlink_conn(conn *c)
{
	ccs_http *h = c->h;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->last = c->prev;
	c->prev = c->next = NULL;
	h->stats.open--;
}

/*
 * Idempotent. A handle someone else already closed (a uv_walk at shutdown) is left alone: its
 * close callback is not ours, so the struct leaks rather than being freed under libuv.
 */
static void conn_close(conn *c)
{
	if (c->state == CLOSING)
		return;
	c->state = CLOSING;
	unlink_conn(c);
	if (!uv_is_closing((uv_handle_t *)&c->timer))
		uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_written(uv_write_t *w, int status)
{
	conn *c = w->data;
	(void)status; /* success or not, the connection is done */
	conn_close(c);
}

static void on_timeout(uv_timer_t *t)
{
	conn *c = t->data;
	c->h->stats.timeouts++;
	conn_close(c);
}

static void alloc_cb(uv_handle_t *hd, size_t suggested, uv_buf_t *b)
{
	conn *c = hd->data;
	(void)suggested;
	b->base = c->req + c->len;
	b->len = REQ_MAX - c->len;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* Send status + body (ownership of body passes here) and close once written or timed out. */
static void respond(conn *c, int status, char *body, size_t blen, const char *ctype)
{
	char head[256];
	int hl;
	uv_buf_t b;

	if (c->state == CLOSING) /* the handler stopped the server */
		goto out;
	hl = snprintf(head, sizeof(head),
		      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      status, reason(status), ctype, blen);
	if (hl < 0 || (size_t)hl >= sizeof(head)) {
		conn_close(c);
		goto out;
	}
	c->out = ccs_xmalloc((size_t)hl + blen);
	memcpy(c->out, head, (size_t)hl);
	if (blen)
		memcpy(c->out + hl, body, blen);
	b = uv_buf_init(c->out, (unsigned)((size_t)hl + blen));
	c->state = WRITING;
	c->wr.data = c;
	uv_read_stop((uv_stream_t *)&c->tcp);
	/* The loop's clock dates from before the handler ran, and rendering may take a while. */
	uv_update_time(c->tcp.loop);
	uv_timer_start(&c->timer, on_timeout, or_default(c->h->write_timeout_ms, CCS_HTTP_WRITE_TIMEOUT_MS), 0);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
		conn_close(c);
out:
	free(body);
}

static void respond_text(conn *c, int status, const char *text)
{
	if (status == 400 || status == 414 || status == 431)
		c->h->stats.bad_requests++;
	respond(c, status, ccs_xstrdup(text), strlen(text), "text/plain; charset=utf-8");
}

/* RFC 9110 tchar: what a method or a header name may be made of. */
static int is_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Visible ASCII or obs-text (bytes >= 0x80); no controls, no space. */
static int is_vchar(unsigned char ch)
{
	return ch > 0x20 && ch != 0x7f;
}

/*
 * Length of the head (terminator included) if req[0, len) holds one, else 0. The head ends at
 * an empty line, CRLF or bare LF. Scanning starts at `from` minus the two bytes that may
 * begin a terminator split across reads.
 */
static size_t head_end(const char *req, size_t len, size_t from)
{
	for (size_t i = from >= 2 ? from - 2 : 0; i < len; i++) {
		if (req[i] != '\n')
			continue;
		if (i + 1 < len && req[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && req[i + 1] == '\r' && req[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/*
 * Check a complete head in place: "METHOD SP target SP HTTP/d.d", then "name: value" lines.
 * Lines end in CRLF or LF; a CR anywhere else, a control byte, an obs-fold continuation line or
 * a line without a valid name is malformed. Returns 0 with the request line split into
 * method/target (NUL-terminated in req), or a static reason for the 400.
 */
static const char *parse_head(char *req, size_t hlen, char **method, char **target)
{
	char *p = req, *end = req + hlen;
	char *eol = memchr(p, '\n', hlen);
	char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;

	/* request line */
	*method = p;
	while (p < line_end && is_tchar((unsigned char)*p))
		p++;
	if (p == *method || p == line_end || *p != ' ')
		return "malformed request line";
	*p++ = '\0';
	*target = p;
	while (p < line_end && is_vchar((unsigned char)*p))
		p++;
	if (p == *target || p == line_end || *p != ' ')
		return "malformed request line";
	*p++ = '\0';
	if (line_end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[5] < '0' || p[5] > '9' || p[6] != '.' ||
	    p[7] < '0' || p[7] > '9')
		return "malformed request line";

	/* header lines, up to the empty one */
	for (p = eol + 1; p < end;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (line_end == p)
			break; /* the empty line */
		char *q = p;
		while (q < line_end && is_tchar((unsigned char)*q))
			q++;
		if (q == p || q == line_end || *q != ':')
			return "malformed header line";
		for (q++; q < line_end; q++) {
			unsigned char ch = (unsigned char)*q;
			if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
				return "malformed header line";
		}
		p = eol + 1;
	}
	return NULL;
}

/* A complete head of hlen bytes is in c->req: answer it, from the handler or with an error. */
static void handle_head(conn *c, size_t hlen)
{
	char *method, *target, *body = NULL;
	size_t blen = 0, tl;
	const char *ctype = "text/plain; charset=utf-8", *bad, *text = NULL;
	char path[PATH_MAX_], msg[64];
	int status;

	bad = parse_head(c->req, hlen, &method, &target);
	if (bad) {
		snprintf(msg, sizeof(msg), "bad request: %s\n", bad);
		status = 400, text = msg;
		goto out;
	}
	if (strcmp(method, "GET") != 0) {
		status = 405, text = "only GET is supported\n";
		goto out;
	}
	if (target[0] != '/') {
		status = 400, text = "bad request: target must be a path\n";
		goto out;
	}
	tl = strcspn(target, "?");
	if (tl >= sizeof(path)) {
		status = 414, text = "path too long\n";
		goto out;
	}
	memcpy(path, target, tl);
	path[tl] = '\0';
	status = c->h->handler(c->h->ctx, path, &body, &blen, &ctype);
out:
	if (text)
		respond_text(c, status, text);
	else
		respond(c, status, body, blen, ctype);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn *c = s->data;
	size_t old = c->len, hlen;
	(void)b;

	if (n < 0) {
		conn_close(c); /* EOF or error before a complete head: nobody to answer */
		return;
	}
	if (n == 0)
		return;
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (memchr(c->req + old, '\0', (size_t)n)) {
		respond_text(c, 400, "bad request: NUL byte in the request head\n");
		return;
	}
	hlen = head_end(c->req, c->len, old);
	if (hlen)
		handle_head(c, hlen);
	else if (c->len >= REQ_MAX)
		respond_text(c, 431, "request head too large\n");
}

/* The oldest connection still waiting for its head, other than `except`; NULL if none. */
static conn *oldest_idle(ccs_http *h, const conn *except)
{
	for (conn *c = h->first; c; c = c->next)
		if (c != except && c->state == READING)
			return c;
	return NULL;
}

static void on_conn(uv_stream_t *srv, int status)
{
	ccs_http *h = srv->data;
	conn *c;

	if (status < 0) {
		/* libuv has already dropped the pending connection (its EMFILE reserve fd) */
		h->stats.accept_errors++;
		return;
	}
	c = ccs_xcalloc(1, sizeof(*c));
	c->h = h;
	c->state = READING;
	c->handles = 2;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->prev = h->last;
	if (h->last)
		h->last->next = c;
	else
		h->first = c;
	h->last = c;
	h->stats.open++;
	/* Always accept, even at the cap: a connection left pending keeps the listener readable. */
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
		h->stats.accept_errors++;
		goto fail;
	}
	h->stats.accepted++;
	if (h->stats.open > or_default(h->max_conns, CCS_HTTP_MAX_CONNS)) {
		conn *old = oldest_idle(h, c);
		if (!old) {
			h->stats.refused++;
			goto fail;
		}
		h->stats.evicted++;
		conn_close(old);
	}
	uv_timer_start(&c->timer, on_timeout, or_default(h->header_timeout_ms, CCS_HTTP_HEADER_TIMEOUT_MS), 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) == 0)
		return;
fail:
	conn_close(c);
}

int ccs_http_start(ccs_http *h, uv_loop_t *loop, const char *listen, ccs_http_handler handler,
		   void *ctx, char *errbuf, size_t errlen)
{
	char host[128];
	int port = 0, rc;
	struct sockaddr_in addr;
	const char *colon = strrchr(listen, ':');

	memset(h, 0, sizeof(*h));
	h->header_timeout_ms = CCS_HTTP_HEADER_TIMEOUT_MS;
	h->write_timeout_ms = CCS_HTTP_WRITE_TIMEOUT_MS;
	h->max_conns = CCS_HTTP_MAX_CONNS;
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || sscanf(colon + 1, "%d", &port) != 1) {
		snprintf(errbuf, errlen, "http.listen: expected host:port, got \"%s\"", listen);
		return UV_EINVAL;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	rc = uv_ip4_addr(host, port, &addr);
	if (rc)
		goto fail;
	h->handler = handler;
	h->ctx = ctx;
	uv_tcp_init(loop, &h->server);
	h->server.data = h;
	h->listening = 1;
	rc = uv_tcp_bind(&h->server, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&h->server, 64, on_conn);
	if (rc == 0)
		return 0;
	ccs_http_stop(h);
fail:
	snprintf(errbuf, errlen, "http.listen %s: %s", listen, uv_strerror(rc));
	return rc;
}

void ccs_http_stop(ccs_http *h)
{
	if (h->listening && !uv_is_closing((uv_handle_t *)&h->server))
		uv_close((uv_handle_t *)&h->server, NULL);
	h->listening = 0;
	/* Close the connections too: a caller that walks the loop closing every handle next
	 * would otherwise close ours with its callback, and their memory would never be freed. */
	while (h->first)
		conn_close(h->first);
}
