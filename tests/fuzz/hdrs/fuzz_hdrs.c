/*
 * Fuzzer for ccs_hdrs (the outbox's header blobs, which may carry a malformed producer's
 * headers into a dead letter). Properties:
 *   1. ccs_hdrs_parse never reads outside the blob, whatever the bytes (ASan checks);
 *      every (name, value) it reports lies inside the blob, in order, without overlap;
 *   2. a blob it accepts re-encodes with ccs_hdrs_add to exactly the same bytes (the
 *      encoding is canonical, so nothing is lost or reinterpreted on the way to Kafka);
 *   3. headers cut from the input in any way encode to a blob that parses back to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/hdrs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct walk {
	const uint8_t *blob;
	size_t len;
	const uint8_t *prev_end;
	ccs_hdrs *out;
	size_t n;
} walk;

static int check_and_copy(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	walk *w = ctx;
	const uint8_t *n = (const uint8_t *)name;
	/* Inside the blob, after the previous header, name before value. */
	if (n < w->prev_end || n + nlen > w->blob + w->len || val < n + nlen ||
	    val + vlen > w->blob + w->len)
		abort();
	w->prev_end = val + vlen;
	if (w->out)
		ccs_hdrs_add(w->out, name, nlen, val, vlen);
	w->n++;
	return 0;
}

/* Property 3: split the input into (name, value) pairs by its own bytes. */
static void encode_pieces(const uint8_t *data, size_t size)
{
	ccs_arena a;
	ccs_hdrs h;
	size_t pos = 0, count = 0;
	const uint8_t *names[64], *vals[64];
	size_t nl[64], vl[64];

	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	while (pos < size && count < 64) {
		size_t n = data[pos++] % 32;
		if (n > size - pos)
			n = size - pos;
		names[count] = data + pos;
		nl[count] = n;
		pos += n;
		size_t v = pos < size ? data[pos++] : 0;
		if (v > size - pos)
			v = size - pos;
		vals[count] = data + pos;
		vl[count] = v;
		pos += v;
		ccs_hdrs_add(&h, (const char *)names[count], nl[count], vals[count], vl[count]);
		count++;
	}
	walk w = {h.buf, h.len, h.buf, NULL, 0};
	if (ccs_hdrs_parse(h.buf, h.len, check_and_copy, &w) != 0 || w.n != count)
		abort();
	/* Compare pair by pair: parse again and check contents. */
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		size_t n = (size_t)h.buf[off] << 8 | h.buf[off + 1];
		if (n != nl[i] || memcmp(h.buf + off + 2, names[i], n) != 0)
			abort();
		off += 2 + n;
		size_t v = (size_t)h.buf[off] << 24 | (size_t)h.buf[off + 1] << 16 |
			   (size_t)h.buf[off + 2] << 8 | h.buf[off + 3];
		if (v != vl[i] || memcmp(h.buf + off + 4, vals[i], v) != 0)
			abort();
		off += 4 + v;
	}
	if (off != h.len)
		abort();
	ccs_arena_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ccs_arena a;
	ccs_hdrs h;

	/* Properties 1 and 2, on a private copy so ASan sees the exact bounds. */
	uint8_t *blob = malloc(size ? size : 1);
	if (size)
		memcpy(blob, data, size);
	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	walk w = {blob, size, blob, &h, 0};
	int rc = ccs_hdrs_parse(blob, size, check_and_copy, &w);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == 0 && (h.len != size || (size && memcmp(h.buf, blob, size) != 0)))
		abort();
	ccs_arena_destroy(&a);
	free(blob);

	encode_pieces(data, size);
	return 0;
}
