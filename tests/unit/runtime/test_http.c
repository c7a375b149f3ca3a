/*
 * Unit tests for ccs_http: a real listening socket on 127.0.0.1 (port 0: the kernel picks a
 * free one, read back with uv_tcp_getsockname) and libuv clients on the same loop. Each test
 * runs its own loop and checks that uv_loop_close() succeeds afterwards, so a handle the
 * server forgot to close fails the test (and leaks show under ASan).
 */
#include "ccs/http.h"

#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccs_test.h"

#define MAXC 4
#define MAXPATHS 16

/* ---------------------------------------------------------------- server side */

typedef struct srv {
	ccs_http http;
	int calls;
	char paths[MAXPATHS][128];
	int open_clients;
} srv;

static int handler(void *ctx, const char *path, char **body, size_t *len, const char **ctype)
{
	srv *s = ctx;
	if (s->calls < MAXPATHS)
		snprintf(s->paths[s->calls], sizeof(s->paths[0]), "%s", path);
	s->calls++;
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
	uv_timer_t later;
	srv *server;
	const char *part1, *part2; /* part2 is sent 30 ms after part1 (a split request head) */
	char out[2][256];          /* writable copies for uv_buf_t */
	char *resp;
	size_t len, cap;
	int status;  /* read error, 0 on a clean EOF */
	int closed;
} client;

static void on_client_closed(uv_handle_t *h)
{
	client *c = h->data;
	c->closed = 1;
	if (--c->server->open_clients == 0)
		ccs_http_stop(&c->server->http);
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

static void send_part(client *c, int i, const char *text)
{
	snprintf(c->out[i], sizeof(c->out[i]), "%s", text);
	uv_buf_t b = uv_buf_init(c->out[i], (unsigned)strlen(c->out[i]));
	if (uv_write(&c->wr[i], (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
		close_client(c);
}

static void on_later(uv_timer_t *t)
{
	client *c = t->data;
	send_part(c, 1, c->part2);
	uv_close((uv_handle_t *)&c->later, NULL);
}

static void on_connect(uv_connect_t *req, int status)
{
	client *c = req->data;
	if (status < 0) {
		c->status = status;
		close_client(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (c->part1)
		send_part(c, 0, c->part1);
	else
		close_client(c); /* connect and hang up without a request */
	if (c->part2) {
		uv_timer_init(c->tcp.loop, &c->later);
		c->later.data = c;
		uv_timer_start(&c->later, on_later, 30, 0);
	}
}

/*
 * Start the server on an ephemeral port, run `n` clients concurrently, run the loop until
 * everything is closed. Returns 0 when the loop could be closed afterwards.
 */
static int run(srv *s, client *cs, size_t n)
{
	uv_loop_t loop;
	char err[256] = "";
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	memset(s, 0, sizeof(*s));
	uv_loop_init(&loop);
	CCS_EQ_INT(ccs_http_start(&s->http, &loop, "127.0.0.1:0", handler, s, err, sizeof(err)), 0);
	CCS_EQ_STR(err, "");
	CCS_EQ_INT(uv_tcp_getsockname(&s->http.server, (struct sockaddr *)&ss, &sl), 0);
	int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	CCS_TRUE(port > 0);
	struct sockaddr_in addr;
	uv_ip4_addr("127.0.0.1", port, &addr);
	for (size_t i = 0; i < n; i++) {
		client *c = &cs[i];
		c->server = s;
		uv_tcp_init(&loop, &c->tcp);
		c->tcp.data = c;
		c->conn.data = c;
		s->open_clients++;
		CCS_EQ_INT(uv_tcp_connect(&c->conn, &c->tcp, (const struct sockaddr *)&addr, on_connect), 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < n; i++)
		CCS_TRUE(cs[i].closed);
	return uv_loop_close(&loop);
}

static void client_free(client *c)
{
	free(c->resp);
}

static const char *body_of(const client *c)
{
	const char *b = c->resp ? strstr(c->resp, "\r\n\r\n") : NULL;
	return b ? b + 4 : "";
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
		"\r\n\r\n",
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

CCS_TEST_MAIN()
