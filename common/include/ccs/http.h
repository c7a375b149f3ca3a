/*
 * A deliberately small HTTP/1.0 server on the daemon's libuv loop for /metrics, /livez and
 * /readyz. One request per connection, GET only, responses built in full by the callback.
 * It is for scrapers and probes on a trusted network, not a general web server, but it must
 * never let a slow, idle or hostile client hold the loop or the file descriptors the consumer
 * and PostgreSQL need: every connection has a deadline and their number is capped.
 */
#ifndef CCS_HTTP_H
#define CCS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Fill *body (ccs_xmalloc'd; the server frees it) and *ctype; return the status code. */
typedef int (*ccs_http_handler)(void *ctx, const char *path, char **body, size_t *len,
				const char **ctype);

#define CCS_HTTP_HEADER_TIMEOUT_MS 5000u /* default ccs_http.header_timeout_ms */
#define CCS_HTTP_WRITE_TIMEOUT_MS 30000u /* default ccs_http.write_timeout_ms */
#define CCS_HTTP_MAX_CONNS 64u           /* default ccs_http.max_conns */

/* Counters for /metrics; the server only ever increments them (open goes up and down). */
typedef struct ccs_http_stats {
	uint64_t accepted;      /* connections accepted */
	uint64_t bad_requests;  /* answered 400, 414 or 431 without calling the handler */
	uint64_t timeouts;      /* closed because the head or the response took too long */
	uint64_t evicted;       /* idle connections closed to make room for a new one at the cap */
	uint64_t refused;       /* new connections closed unanswered: every slot was answering */
	uint64_t accept_errors; /* failed accepts (EMFILE, ENFILE, ...) */
	unsigned open;          /* open connections (each one descriptor) now, a gauge */
} ccs_http_stats;

struct ccs_http_conn;

typedef struct ccs_http {
	uv_tcp_t server;
	ccs_http_handler handler;
	void *ctx;
	int listening;
	/*
	 * Limits, filled with the defaults above by ccs_http_start and read each time a
	 * connection is accepted, so the caller may change them after ccs_http_start (before
	 * uv_run, or later on a reload). 0 means the default.
	 */
	unsigned header_timeout_ms; /* accept to complete request head; then the socket closes */
	unsigned write_timeout_ms;  /* complete head to response fully written */
	unsigned max_conns;         /* open connections; the oldest idle one makes room */
	ccs_http_stats stats;
	/* private: live connections, oldest first */
	struct ccs_http_conn *first, *last;
} ccs_http;

/* Listen on "host:port"; returns 0 or a negative libuv error with errbuf filled. */
int ccs_http_start(ccs_http *h, uv_loop_t *loop, const char *listen, ccs_http_handler handler,
		   void *ctx, char *errbuf, size_t errlen) __attribute__((warn_unused_result));
/*
 * Close the listening socket and every open connection (a response being written is cut
 * short: stop is for shutdown). Idempotent. Keep *h alive until the loop has run the close
 * callbacks.
 */
void ccs_http_stop(ccs_http *h);

#endif
