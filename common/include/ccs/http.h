/*
 * A deliberately small HTTP/1.0 server on the daemon's libuv loop for /metrics, /livez and
 * /readyz. One request per connection, GET only, responses built in full by the callback.
 * It is for scrapers and probes on a trusted network, not a general web server.
 */
#ifndef CCS_HTTP_H
#define CCS_HTTP_H

#include <stddef.h>

#include <uv.h>

/* Fill *body (ccs_xmalloc'd; the server frees it) and *ctype; return the status code. */
typedef int (*ccs_http_handler)(void *ctx, const char *path, char **body, size_t *len,
				const char **ctype);

typedef struct ccs_http {
	uv_tcp_t server;
	ccs_http_handler handler;
	void *ctx;
	int listening;
} ccs_http;

/* Listen on "host:port"; returns 0 or a negative libuv error with errbuf filled. */
int ccs_http_start(ccs_http *h, uv_loop_t *loop, const char *listen, ccs_http_handler handler,
		   void *ctx, char *errbuf, size_t errlen) __attribute__((warn_unused_result));
/* Close the listening socket; open connections finish on their own. */
void ccs_http_stop(ccs_http *h);

#endif
