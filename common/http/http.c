/*
 * Minimal HTTP endpoint (see ccs/http.h). A connection reads until the end of the request head
 * (or 8 KiB), answers, and closes. Memory per connection is one struct freed in the close
 * callback, as libuv requires.
 */
#include "ccs/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"

#define REQ_MAX 8192

typedef struct conn {
	uv_tcp_t tcp;
	uv_write_t wr;
	ccs_http *h;
	size_t len;
	char *out;
	char req[REQ_MAX + 1];
} conn;

static void on_close(uv_handle_t *hd)
{
	conn *c = hd->data;
	free(c->out);
	free(c);
}

static void on_written(uv_write_t *w, int status)
{
	conn *c = w->data;
	(void)status;
	uv_close((uv_handle_t *)&c->tcp, on_close);
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
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static void respond(conn *c)
{
	char *body = NULL;
	size_t blen = 0;
	const char *ctype = "text/plain; charset=utf-8";
	int status;
	char path[256];

	c->req[c->len] = '\0';
	if (sscanf(c->req, "GET %255s", path) != 1) {
		status = 405;
		body = ccs_xstrdup("only GET is supported\n");
		blen = strlen(body);
	} else {
		char *q = strchr(path, '?');
		if (q)
			*q = '\0';
		status = c->h->handler(c->h->ctx, path, &body, &blen, &ctype);
	}
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			  status, reason(status), ctype, blen);
	c->out = ccs_xmalloc((size_t)hl + blen);
	memcpy(c->out, head, (size_t)hl);
	if (blen)
		memcpy(c->out + hl, body, blen);
	free(body);
	uv_buf_t b = uv_buf_init(c->out, (unsigned)((size_t)hl + blen));
	c->wr.data = c;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0)
		uv_close((uv_handle_t *)&c->tcp, on_close);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	conn *c = s->data;
	(void)b;
	if (n < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->len >= REQ_MAX)
		respond(c);
}

static void on_conn(uv_stream_t *srv, int status)
{
	ccs_http *h = srv->data;
	if (status < 0)
		return;
	conn *c = ccs_xcalloc(1, sizeof(*c));
	c->h = h;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0)
		uv_close((uv_handle_t *)&c->tcp, on_close);
}

int ccs_http_start(ccs_http *h, uv_loop_t *loop, const char *listen, ccs_http_handler handler,
		   void *ctx, char *errbuf, size_t errlen)
{
	char host[128];
	int port = 0, rc;
	struct sockaddr_in addr;
	const char *colon = strrchr(listen, ':');

	memset(h, 0, sizeof(*h));
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
}
