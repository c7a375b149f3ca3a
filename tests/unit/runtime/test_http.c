/*
 * Unit tests for ccs_http: a real listening socket on 127.0.0.1 (port 0: the kernel picks a
 * free one, read back with uv_tcp_getsockname) and libuv clients on the same loop. Each test
 * runs its own loop and checks that uv_loop_close() succeeds afterwards, so a handle the
 * server forgot to close fails the test (and leaks show under ASan). A watchdog closes every
 * client after a few seconds, so a server that holds a connection open fails the test instead
 * of hanging it.
 */
#include "ccs/http.h"

#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccs_test.h"

#define MAXPATHS 16
#define WATCHDOG_MS 3000

/* ---------------------------------------------------------------- server side */

struct client;

/* Limits and timings for one run; zero fields keep the server's defaults. */
typedef struct opts {
	unsigned header_timeout_ms, write_timeout_ms, max_conns;
	unsigned stop_after_ms; /* call ccs_http_stop this long after the start */
} opts;

typedef struct srv {
	ccs_http http;
	int calls;
	char paths[MAXPATHS][128];
	int open_clients;
	struct client *cs;
	size_t n;
	uv_timer_t watchdog, stopper;
	uv_check_t check;
	int watchdog_fired;
	unsigned peak_open; /* the most connections the server held open at once */
	uint64_t t0;
} srv;

static void connect_waiting_clients(srv *s);

static int handler(void *ctx, const char *path, char **body, size_t *len, const char **ctype)
{
	srv *s = ctx;
	if (s->calls < MAXPATHS)
		snprintf(s->paths[s->calls], sizeof(s->paths[0]), "%s", path);
	if (s->calls++ == 0)
		connect_waiting_clients(s);
	if (strcmp(path, "/x") == 0) {
		*body = ccs_xstrdup("hello\n");
		*len = 6;
		return 200;
	}
	if (strcmp(path, "/big") == 0) {
		*len = 1 << 20;
		*body = ccs_xmalloc(*len);
		for (size_t i = 0; i < *len; i++)
			(*body)[i] = (char)('a' + i % 26);
		*ctype = "application/octet-stream";
		return 200;
	}
	if (strcmp(path, "/huge") == 0) {
		/* more than loopback socket buffers hold, so its write waits for the reader */
		*len = (size_t)16 << 20;
		*body = ccs_xmalloc(*len);
		memset(*body, 'h', *len);
		return 200;
	}
	if (strcmp(path, "/empty") == 0) {
		*body = NULL;
		*len = 0;
		return 503;
	}
	*body = ccs_xstrdup("nope\n");
	*len = 5;
	return 404;
}

/* ---------------------------------------------------------------- client side */

typedef struct client {
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr[2];
	uv_timer_t later, start, reader;
	srv *server;
	const char *part1, *part2; /* part2 is sent 30 ms after part1 (a split request head) */
	size_t part1_len;          /* when part1 holds a NUL; else strlen */
	int idle;                  /* no part1: stay connected instead of hanging up */
	unsigned delay_ms;         /* connect this long after the server starts */
	int after_handler;         /* connect once the handler has been called */
	unsigned read_delay_ms;    /* start reading the response this long after connecting */
	char *out[2];              /* writable copies for uv_buf_t */
	char *resp;
	size_t len, cap;
	int status; /* read error, 0 on a clean EOF */
	int closed;
	uint64_t closed_ms; /* since the server started */
} client;

static void on_client_closed(uv_handle_t *h)
{
	client *c = h->data;
	srv *s = c->server;
	c->closed = 1;
	c->closed_ms = uv_now(h->loop) - s->t0;
	if (--s->open_clients == 0) {
		ccs_http_stop(&s->http);
		uv_close((uv_handle_t *)&s->watchdog, NULL);
		uv_close((uv_handle_t *)&s->stopper, NULL);
		uv_close((uv_handle_t *)&s->check, NULL);
	}
}

static void close_client(client *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	client *c = h->data;
	if (c->cap - c->len < suggested) {
		c->cap = c->len + suggested + 1;
		c->resp = ccs_xrealloc(c->resp, c->cap);
	}
	b->base = c->resp + c->len;
	b->len = c->cap - c->len - 1;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	client *c = s->data;
	(void)b;
	if (n > 0) {
		c->len += (size_t)n;
		c->resp[c->len] = '\0';
		return;
	}
	if (n < 0) {
		c->status = n == UV_EOF ? 0 : (int)n;
		close_client(c);
	}
}

static void on_written(uv_write_t *w, int status)
{
	(void)w;
	(void)status;
}

static void send_part(client *c, int i, const char *text, size_t len)
{
	c->out[i] = ccs_xmalloc(len + 1);
	memcpy(c->out[i], text, len);
	uv_buf_t b = uv_buf_init(c->out[i], (unsigned)len);
	if (uv_write(&c->wr[i], (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
		close_client(c);
}

static void on_later(uv_timer_t *t)
{
	client *c = t->data;
	send_part(c, 1, c->part2, strlen(c->part2));
	uv_close((uv_handle_t *)&c->later, NULL);
}

static void on_reader(uv_timer_t *t)
{
	client *c = t->data;
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	uv_close((uv_handle_t *)&c->reader, NULL);
}

static void on_connect(uv_connect_t *req, int status)
{
	client *c = req->data;
	if (status < 0) {
		c->status = status;
		close_client(c);
		return;
	}
	if (c->read_delay_ms) {
		uv_timer_init(c->tcp.loop, &c->reader);
		c->reader.data = c;
		uv_timer_start(&c->reader, on_reader, c->read_delay_ms, 0);
	} else {
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	}
	if (c->part1)
		send_part(c, 0, c->part1, c->part1_len ? c->part1_len : strlen(c->part1));
	else if (!c->idle)
		close_client(c); /* connect and hang up without a request */
	if (c->part2) {
		uv_timer_init(c->tcp.loop, &c->later);
		c->later.data = c;
		uv_timer_start(&c->later, on_later, 30, 0);
	}
}

static struct sockaddr_in server_addr;

static void client_connect(client *c)
{
	CCS_EQ_INT(uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&server_addr, on_connect), 0);
}

static void connect_waiting_clients(srv *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->cs[i].after_handler)
			client_connect(&s->cs[i]);
}

static void on_start(uv_timer_t *t)
{
	client *c = t->data;
	client_connect(c);
	uv_close((uv_handle_t *)&c->start, NULL);
}

/* A server that keeps a connection open past the test's patience fails it, not hangs it. */
static void on_watchdog(uv_timer_t *t)
{
	srv *s = t->data;
	s->watchdog_fired = 1;
	fprintf(stderr, "  watchdog: closing the clients the server left open\n");
	for (size_t i = 0; i < s->n; i++)
		close_client(&s->cs[i]);
}

static void on_stopper(uv_timer_t *t)
{
	srv *s = t->data;
	ccs_http_stop(&s->http);
}

static void on_check(uv_check_t *h)
{
	srv *s = h->data;
	if (s->http.stats.open > s->peak_open)
		s->peak_open = s->http.stats.open;
}

/*
 * Start the server on an ephemeral port with the limits in o (NULL: defaults), run `n` clients,
 * run the loop until everything is closed. Returns 0 when the loop could be closed afterwards.
 */
static int run_with(srv *s, client *cs, size_t n, const opts *o)
{
	uv_loop_t loop;
	char err[256] = "";
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	memset(s, 0, sizeof(*s));
	s->cs = cs;
	s->n = n;
	uv_loop_init(&loop);
	CCS_EQ_INT(ccs_http_start(&s->http, &loop, "127.0.0.1:0", handler, s, err, sizeof(err)), 0);
	CCS_EQ_STR(err, "");
	if (o && o->header_timeout_ms)
		s->http.header_timeout_ms = o->header_timeout_ms;
	if (o && o->write_timeout_ms)
		s->http.write_timeout_ms = o->write_timeout_ms;
	if (o && o->max_conns)
		s->http.max_conns = o->max_conns;
	CCS_EQ_INT(uv_tcp_getsockname(&s->http.server, (struct sockaddr *)&ss, &sl), 0);
	int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	CCS_TRUE(port > 0);
	uv_ip4_addr("127.0.0.1", port, &server_addr);
	s->t0 = uv_now(&loop);
	uv_timer_init(&loop, &s->watchdog);
	s->watchdog.data = s;
	uv_timer_start(&s->watchdog, on_watchdog, WATCHDOG_MS, 0);
	uv_timer_init(&loop, &s->stopper);
	s->stopper.data = s;
	if (o && o->stop_after_ms)
		uv_timer_start(&s->stopper, on_stopper, o->stop_after_ms, 0);
	uv_check_init(&loop, &s->check);
	s->check.data = s;
	uv_check_start(&s->check, on_check);
	for (size_t i = 0; i < n; i++) {
		client *c = &cs[i];
		c->server = s;
		uv_tcp_init(&loop, &c->tcp);
		c->tcp.data = c;
		c->conn.data = c;
		s->open_clients++;
		if (c->after_handler) {
			continue;
		} else if (c->delay_ms) {
			uv_timer_init(&loop, &c->start);
			c->start.data = c;
			uv_timer_start(&c->start, on_start, c->delay_ms, 0);
		} else {
			client_connect(c);
		}
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < n; i++)
		CCS_TRUE(cs[i].closed);
	CCS_EQ_INT(s->watchdog_fired, 0);
	CCS_EQ_INT(s->http.stats.open, 0);
	return uv_loop_close(&loop);
}

static int run(srv *s, client *cs, size_t n)
{
	return run_with(s, cs, n, NULL);
}

static void client_free(client *c)
{
	free(c->resp);
	free(c->out[0]);
	free(c->out[1]);
}

static const char *body_of(const client *c)
{
	const char *b = c->resp ? strstr(c->resp, "\r\n\r\n") : NULL;
	return b ? b + 4 : "";
}

static int status_is(const client *c, const char *line)
{
	return c->resp && strncmp(c->resp, line, strlen(line)) == 0;
}

/* ---------------------------------------------------------------- tests */

CCS_TEST(get_known_path)
{
	srv s;
	client c = {0};
	c.part1 = "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_EQ_INT(c.status, 0);
	CCS_TRUE(c.resp != NULL);
	if (!c.resp)
		return;
	CCS_TRUE(strncmp(c.resp, "HTTP/1.0 200 OK\r\n", 17) == 0);
	CCS_TRUE(strstr(c.resp, "\r\nContent-Length: 6\r\n") != NULL);
	CCS_TRUE(strstr(c.resp, "\r\nContent-Type: text/plain; charset=utf-8\r\n") != NULL);
	CCS_TRUE(strstr(c.resp, "\r\nConnection: close\r\n") != NULL);
	CCS_EQ_STR(body_of(&c), "hello\n");
	CCS_EQ_INT(s.calls, 1);
	CCS_EQ_STR(s.paths[0], "/x");
	client_free(&c);
}

CCS_TEST(query_string_is_stripped_and_bare_lf_accepted)
{
	srv s;
	client c = {0};
	c.part1 = "GET /x?name=ignored&b=2 HTTP/1.0\n\n";
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_EQ_STR(s.paths[0], "/x");
	CCS_TRUE(c.resp && strncmp(c.resp, "HTTP/1.0 200 OK\r\n", 17) == 0);
	client_free(&c);
}

CCS_TEST(unknown_path_is_404)
{
	srv s;
	client c = {0};
	c.part1 = "GET /nowhere HTTP/1.0\r\n\r\n";
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_TRUE(c.resp && strncmp(c.resp, "HTTP/1.0 404 Not Found\r\n", 24) == 0);
	CCS_EQ_STR(body_of(&c), "nope\n");
	CCS_EQ_STR(s.paths[0], "/nowhere");
	client_free(&c);
}

CCS_TEST(other_methods_are_405_without_calling_the_handler)
{
	static const char *const reqs[] = {
		"POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		"HEAD /x HTTP/1.0\r\n\r\n",
		"get /x HTTP/1.0\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		srv s;
		client c = {0};
		c.part1 = reqs[i];
		CCS_EQ_INT(run(&s, &c, 1), 0);
		CCS_TRUE(c.resp && strncmp(c.resp, "HTTP/1.0 405 Method Not Allowed\r\n", 33) == 0);
		CCS_EQ_INT(s.calls, 0);
		client_free(&c);
	}
}

CCS_TEST(status_without_body)
{
	srv s;
	client c = {0};
	c.part1 = "GET /empty HTTP/1.0\r\n\r\n";
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_TRUE(c.resp && strncmp(c.resp, "HTTP/1.0 503 Service Unavailable\r\n", 34) == 0);
	CCS_TRUE(c.resp && strstr(c.resp, "\r\nContent-Length: 0\r\n") != NULL);
	CCS_EQ_STR(body_of(&c), "");
	client_free(&c);
}

CCS_TEST(split_request_head_is_reassembled)
{
	srv s;
	client c = {0};
	c.part1 = "GET /x HT";
	c.part2 = "TP/1.0\r\nHost: a\r\n\r\n";
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_EQ_INT(s.calls, 1);
	CCS_EQ_STR(body_of(&c), "hello\n");
	client_free(&c);
}

CCS_TEST(large_body_and_concurrent_clients)
{
	srv s;
	client cs[3];
	memset(cs, 0, sizeof(cs));
	cs[0].part1 = "GET /big HTTP/1.0\r\n\r\n";
	cs[1].part1 = "GET /x HTTP/1.0\r\n\r\n";
	cs[2].part1 = NULL; /* connects and hangs up: the server must close its side */
	CCS_EQ_INT(run(&s, cs, 3), 0);
	CCS_EQ_INT(s.calls, 2);
	const char *b = body_of(&cs[0]);
	size_t blen = cs[0].resp ? cs[0].len - (size_t)(b - cs[0].resp) : 0;
	CCS_EQ_INT(blen, 1 << 20);
	CCS_TRUE(cs[0].resp && strstr(cs[0].resp, "Content-Length: 1048576\r\n") != NULL);
	CCS_TRUE(cs[0].resp && strstr(cs[0].resp, "Content-Type: application/octet-stream\r\n") != NULL);
	CCS_TRUE(blen == (1 << 20) && b[0] == 'a' && b[(1 << 20) - 1] == (char)('a' + ((1 << 20) - 1) % 26));
	CCS_EQ_STR(body_of(&cs[1]), "hello\n");
	for (int i = 0; i < 3; i++)
		client_free(&cs[i]);
}

CCS_TEST(bad_listen_addresses)
{
	static const char *const bad[] = {"nohost", "127.0.0.1", "127.0.0.1:abc", "localhost:9101", "300.1.1.1:80", ":"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uv_loop_t loop;
		ccs_http h;
		char err[256] = "";
		uv_loop_init(&loop);
		int rc = ccs_http_start(&h, &loop, bad[i], handler, NULL, err, sizeof(err));
		if (rc == 0)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CCS_TRUE(rc < 0);
		CCS_TRUE(strstr(err, bad[i]) != NULL);
		if (rc == 0)
			ccs_http_stop(&h);
		uv_run(&loop, UV_RUN_DEFAULT);
		CCS_EQ_INT(uv_loop_close(&loop), 0);
	}
}

CCS_TEST(port_in_use_is_reported)
{
	uv_loop_t loop;
	ccs_http a, b;
	char err[256] = "", listen[64];
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	uv_loop_init(&loop);
	CCS_EQ_INT(ccs_http_start(&a, &loop, "127.0.0.1:0", handler, NULL, err, sizeof(err)), 0);
	CCS_EQ_INT(uv_tcp_getsockname(&a.server, (struct sockaddr *)&ss, &sl), 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	CCS_EQ_INT(ccs_http_start(&b, &loop, listen, handler, NULL, err, sizeof(err)), UV_EADDRINUSE);
	CCS_TRUE(strstr(err, listen) != NULL);
	CCS_EQ_INT(b.listening, 0);
	ccs_http_stop(&a);
	ccs_http_stop(&a); /* idempotent */
	uv_run(&loop, UV_RUN_DEFAULT);
	CCS_EQ_INT(uv_loop_close(&loop), 0);
}

/* ---------------------------------------------------------------- hardening */

CCS_TEST(partial_head_and_silent_client_are_closed_after_the_timeout)
{
	srv s;
	client cs[2];
	opts o = {.header_timeout_ms = 150};
	memset(cs, 0, sizeof(cs));
	cs[0].part1 = "GET /x HTTP/1.0\r\nHost: a\r\n"; /* never finished */
	cs[1].idle = 1;                                 /* never says anything */
	CCS_EQ_INT(run_with(&s, cs, 2, &o), 0);
	for (int i = 0; i < 2; i++) {
		CCS_EQ_INT(cs[i].len, 0); /* closed unanswered: a partial head is no request */
		CCS_EQ_INT(cs[i].status, 0);
		CCS_TRUE(cs[i].closed_ms >= 140 && cs[i].closed_ms < 1000);
		client_free(&cs[i]);
	}
	CCS_EQ_INT(s.calls, 0);
	CCS_EQ_INT(s.http.stats.timeouts, 2);
	CCS_EQ_INT(s.http.stats.accepted, 2);
}

CCS_TEST(nul_in_head_is_400)
{
	static const struct {
		const char *req;
		size_t len;
	} reqs[] = {
		{"GET /x\0 HTTP/1.0\r\n\r\n", 20},
		{"GET /x HTTP/1.0\r\nHost: a\0b\r\n\r\n", 30},
		{"GET /\0", 6}, /* answered at once, not after the head timeout */
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		srv s;
		client c = {0};
		c.part1 = reqs[i].req;
		c.part1_len = reqs[i].len;
		CCS_EQ_INT(run(&s, &c, 1), 0);
		CCS_TRUE(status_is(&c, "HTTP/1.0 400 Bad Request\r\n"));
		CCS_EQ_STR(body_of(&c), "bad request: NUL byte in the request head\n");
		CCS_TRUE(c.closed_ms < 1000);
		CCS_EQ_INT(s.calls, 0);
		CCS_EQ_INT(s.http.stats.bad_requests, 1);
		client_free(&c);
	}
}

CCS_TEST(malformed_heads_are_400)
{
	static const char *const reqs[] = {
		"\r\n\r\n",
		"\n\n",
		"GET\r\n\r\n",
		"GET /x\r\n\r\n",                 /* HTTP/0.9 */
		"GET  /x HTTP/1.0\r\n\r\n",       /* two spaces */
		"GET /x HTTP/1.0 \r\n\r\n",       /* trailing space */
		"GET /x FTP/1.0\r\n\r\n",
		"GET /x HTTP/1\r\n\r\n",
		"GET /a\x01 HTTP/1.0\r\n\r\n",    /* control byte in the target */
		"GET /a\rb HTTP/1.0\r\n\r\n",     /* bare CR */
		"GET x HTTP/1.0\r\n\r\n",         /* not a path */
		"G(T /x HTTP/1.0\r\n\r\n",        /* not a method token */
		"GET /x HTTP/1.0\r\nno colon\r\n\r\n",
		"GET /x HTTP/1.0\r\nA b: c\r\n\r\n",
		"GET /x HTTP/1.0\r\n: empty name\r\n\r\n",
		"GET /x HTTP/1.0\r\nA: b\r\n folded\r\n\r\n",
		"GET /x HTTP/1.0\r\nA: b\rc\r\n\r\n",
		"GET /x HTTP/1.0\r\nA: \x7f\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		srv s;
		client c = {0};
		c.part1 = reqs[i];
		CCS_EQ_INT(run(&s, &c, 1), 0);
		if (!status_is(&c, "HTTP/1.0 400 Bad Request\r\n"))
			fprintf(stderr, "  request %zu: %s\n", i, c.resp ? c.resp : "(no response)");
		CCS_TRUE(status_is(&c, "HTTP/1.0 400 Bad Request\r\n"));
		CCS_TRUE(strncmp(body_of(&c), "bad request: ", 13) == 0);
		CCS_EQ_INT(s.calls, 0);
		CCS_EQ_INT(s.http.stats.bad_requests, 1);
		client_free(&c);
	}
}

CCS_TEST(well_formed_variants_still_work)
{
	static const char *const reqs[] = {
		"GET /x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\r\n\r\n",
		"GET /x HTTP/1.1\nHost: a\n\n",
		"GET /x HTTP/1.1\r\nX-Latin: caf\xc3\xa9\r\n\r\n",
		"GET /x HTTP/1.0\r\n\r\nbody bytes after the head are ignored",
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		srv s;
		client c = {0};
		c.part1 = reqs[i];
		CCS_EQ_INT(run(&s, &c, 1), 0);
		CCS_TRUE(status_is(&c, "HTTP/1.0 200 OK\r\n"));
		CCS_EQ_STR(body_of(&c), "hello\n");
		CCS_EQ_INT(s.http.stats.bad_requests, 0);
		client_free(&c);
	}
}

CCS_TEST(too_large_head_is_431_and_long_path_414)
{
	srv s;
	client c = {0};
	char *big = ccs_xmalloc(8192 + 1);
	memset(big, 'a', 8192);
	memcpy(big, "GET /x HTTP/1.0\r\nX: ", 20);
	big[8192] = '\0'; /* exactly the server's limit, no end of head */
	c.part1 = big;
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_TRUE(status_is(&c, "HTTP/1.0 431 Request Header Fields Too Large\r\n"));
	CCS_EQ_INT(s.calls, 0);
	CCS_EQ_INT(s.http.stats.bad_requests, 1);
	client_free(&c);

	memset(&c, 0, sizeof(c));
	memset(big, 'p', 3000);
	memcpy(big, "GET /", 5);
	snprintf(big + 3000, 64, " HTTP/1.0\r\n\r\n");
	c.part1 = big;
	CCS_EQ_INT(run(&s, &c, 1), 0);
	CCS_TRUE(status_is(&c, "HTTP/1.0 414 URI Too Long\r\n"));
	CCS_EQ_INT(s.calls, 0);
	client_free(&c);
	free(big);
}

/*
 * 40 silent connections against a cap of 4, then a probe: the server never holds more than
 * the cap (uv_close closes the socket at once), the oldest idle connections make room,
 * and the probe is answered at once rather than after the head timeout.
 */
CCS_TEST(idle_flood_is_capped_and_a_probe_still_gets_through)
{
	enum { IDLE = 40 };
	srv s;
	client cs[IDLE + 1];
	opts o = {.header_timeout_ms = 1000, .max_conns = 4};
	memset(cs, 0, sizeof(cs));
	for (int i = 0; i < IDLE; i++)
		cs[i].idle = 1;
	cs[IDLE].part1 = "GET /x HTTP/1.0\r\n\r\n";
	cs[IDLE].delay_ms = 200;
	CCS_EQ_INT(run_with(&s, cs, IDLE + 1, &o), 0);
	CCS_TRUE(status_is(&cs[IDLE], "HTTP/1.0 200 OK\r\n"));
	CCS_EQ_STR(body_of(&cs[IDLE]), "hello\n");
	CCS_TRUE(cs[IDLE].closed_ms < 900);
	int early = 0;
	for (int i = 0; i < IDLE; i++) {
		CCS_EQ_INT(cs[i].len, 0);
		if (cs[i].closed_ms < 900)
			early++;
	}
	CCS_EQ_INT(early, IDLE - 3); /* evicted; the 3 left beside the probe timed out */
	CCS_EQ_INT(s.http.stats.accepted, IDLE + 1);
	CCS_EQ_INT(s.http.stats.evicted, IDLE - 3);
	CCS_EQ_INT(s.http.stats.timeouts, 3);
	CCS_EQ_INT(s.http.stats.refused, 0);
	CCS_TRUE(s.peak_open <= 4);
	CCS_EQ_INT(s.calls, 1);
	for (int i = 0; i <= IDLE; i++)
		client_free(&cs[i]);
}

/*
 * Cap 1, and the one slot is busy writing a response its client does not read yet: a newcomer
 * is closed unanswered (answers in progress are never evicted); a reader that never catches up
 * is cut off by the write timeout.
 */
CCS_TEST(busy_slots_refuse_and_a_stalled_reader_times_out)
{
	srv s;
	client cs[2];
	opts o = {.max_conns = 1, .write_timeout_ms = 500};
	memset(cs, 0, sizeof(cs));
	cs[0].part1 = "GET /huge HTTP/1.0\r\n\r\n";
	cs[0].read_delay_ms = 800;
	cs[1].part1 = "GET /x HTTP/1.0\r\n\r\n";
	cs[1].after_handler = 1; /* so the slot is surely busy answering cs[0] */
	CCS_EQ_INT(run_with(&s, cs, 2, &o), 0);
	CCS_EQ_INT(s.http.stats.refused, 1);
	CCS_EQ_INT(s.http.stats.timeouts, 1);
	CCS_EQ_INT(s.calls, 1);
	CCS_TRUE(cs[1].closed_ms < cs[0].closed_ms);
	CCS_TRUE(cs[1].resp == NULL || strstr(cs[1].resp, "HTTP/1.0") == NULL);
	CCS_TRUE(cs[0].len < ((size_t)16 << 20)); /* cut short */
	for (int i = 0; i < 2; i++)
		client_free(&cs[i]);
}

CCS_TEST(stop_closes_idle_connections)
{
	srv s;
	client c = {0};
	opts o = {.stop_after_ms = 100};
	c.idle = 1;
	CCS_EQ_INT(run_with(&s, &c, 1, &o), 0);
	CCS_TRUE(c.closed_ms >= 90 && c.closed_ms < 1000);
	CCS_EQ_INT(s.http.stats.timeouts, 0);
	client_free(&c);
}

CCS_TEST_MAIN()
