/*
 * Header blob encoding (see ccs/hdrs.h).
 */
#include "ccs/hdrs.h"

#include <string.h>

void ccs_hdrs_init(ccs_hdrs *h, ccs_arena *arena)
{
	h->arena = arena;
	h->cap = 512;
	h->buf = ccs_arena_alloc(arena, h->cap);
	h->len = 0;
}

static void reserve(ccs_hdrs *h, size_t more)
{
	if (h->len + more <= h->cap)
		return;
	size_t cap = (h->len + more) * 2;
	uint8_t *nb = ccs_arena_alloc(h->arena, cap);
	memcpy(nb, h->buf, h->len);
	h->buf = nb;
	h->cap = cap;
}

void ccs_hdrs_add(ccs_hdrs *h, const char *name, size_t nlen, const void *val, size_t vlen)
{
	if (nlen > 0xffff)
		nlen = 0xffff;
	if (vlen > 0x7fffffff)
		vlen = 0x7fffffff;
	reserve(h, 6 + nlen + vlen);
	uint8_t *p = h->buf + h->len;
	p[0] = (uint8_t)(nlen >> 8);
	p[1] = (uint8_t)nlen;
	memcpy(p + 2, name, nlen);
	p += 2 + nlen;
	p[0] = (uint8_t)(vlen >> 24);
	p[1] = (uint8_t)(vlen >> 16);
	p[2] = (uint8_t)(vlen >> 8);
	p[3] = (uint8_t)vlen;
	if (vlen)
		memcpy(p + 4, val, vlen);
	h->len += 6 + nlen + vlen;
}

void ccs_hdrs_add_str(ccs_hdrs *h, const char *name, const char *val)
{
	ccs_hdrs_add(h, name, strlen(name), val ? val : "", val ? strlen(val) : 0);
}

int ccs_hdrs_parse(const uint8_t *blob, size_t len, ccs_hdrs_cb cb, void *ctx)
{
	size_t pos = 0;
	while (pos < len) {
		if (len - pos < 2)
			return -1;
		size_t nlen = (size_t)blob[pos] << 8 | blob[pos + 1];
		pos += 2;
		if (len - pos < nlen + 4)
			return -1;
		const char *name = (const char *)blob + pos;
		pos += nlen;
		size_t vlen = (size_t)blob[pos] << 24 | (size_t)blob[pos + 1] << 16 |
			      (size_t)blob[pos + 2] << 8 | blob[pos + 3];
		pos += 4;
		if (len - pos < vlen)
			return -1;
		int rc = cb(ctx, name, nlen, blob + pos, vlen);
		if (rc)
			return rc;
		pos += vlen;
	}
	return 0;
}

void ccs_hdrs_add_blob(ccs_hdrs *h, const ccs_hdrs *other)
{
	reserve(h, other->len);
	memcpy(h->buf + h->len, other->buf, other->len);
	h->len += other->len;
}
