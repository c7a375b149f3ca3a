/*
 * UUID v4/v5 and the SHA-1 they need (see ccs/uuid.h). SHA-1 is written out here rather than
 * pulled from a crypto library because v5 is its only use and the input is not secret.
 */
#include "ccs/uuid.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* 6f1c2b9e-... : v5(URL namespace, "urn:ccs:mtp") fixed at design time. */
const ccs_uuid ccs_uuid_ns = {{0x6f, 0x1c, 0x2b, 0x9e, 0x4d, 0x3a, 0x5b, 0x1e, 0x9a, 0x77, 0x1c,
			       0xc5, 0x0d, 0x2a, 0x6e, 0x31}};

static uint32_t rol(uint32_t x, int n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
	uint32_t w[80];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
	for (int i = 0; i < 80; i++) {
		uint32_t f, k;
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5A827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ED9EBA1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8F1BBCDC;
		} else {
			f = b ^ c ^ d;
			k = 0xCA62C1D6;
		}
		uint32_t t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void ccs_sha1(const void *data, size_t len, uint8_t out[20])
{
	uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
	const uint8_t *p = data;
	uint8_t tail[128];
	size_t full = len / 64 * 64, rest = len - full;

	for (size_t i = 0; i < full; i += 64)
		sha1_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	if (rest)
		memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	size_t tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha1_block(h, tail);
	if (tlen == 128)
		sha1_block(h, tail + 64);
	for (int i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void ccs_uuid_v4(ccs_uuid *out)
{
	size_t got = 0;
	while (got < sizeof(out->b)) {
		ssize_t n = getrandom(out->b + got, sizeof(out->b) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
	out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

void ccs_uuid_v5(ccs_uuid *out, const ccs_uuid *ns, const void *name, size_t len)
{
	uint8_t digest[20];
	uint8_t stackbuf[256];
	uint8_t *buf = stackbuf;
	if (len + 16 > sizeof(stackbuf)) {
		/* Names are short ids; a long one is hashed in two steps to stay allocation-free. */
		uint8_t inner[20];
		ccs_sha1(name, len, inner);
		memcpy(stackbuf, ns->b, 16);
		memcpy(stackbuf + 16, inner, 20);
		ccs_sha1(stackbuf, 36, digest);
	} else {
		memcpy(buf, ns->b, 16);
		memcpy(buf + 16, name, len);
		ccs_sha1(buf, len + 16, digest);
	}
	memcpy(out->b, digest, 16);
	out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x50);
	out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

void ccs_uuid_decision_id(char out[CCS_UUID_STRLEN], const char *input_id, const char *kind)
{
	char name[192];
	ccs_uuid u;
	int n = snprintf(name, sizeof(name), "%s/%s", input_id, kind);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(name))
		n = (int)sizeof(name) - 1;
	ccs_uuid_v5(&u, &ccs_uuid_ns, name, (size_t)n);
	ccs_uuid_format(&u, out);
}

void ccs_uuid_format(const ccs_uuid *u, char out[CCS_UUID_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	int j = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[u->b[i] >> 4];
		out[j++] = hex[u->b[i] & 15];
	}
	out[j] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ccs_uuid_parse(const char *s, ccs_uuid *out)
{
	int j = 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		int hi = hexval(s[i]);
		if (hi < 0)
			return -1;
		i++;
		int lo = hexval(s[i]);
		if (lo < 0)
			return -1;
		out->b[j++] = (uint8_t)(hi << 4 | lo);
	}
	return s[36] == '\0' ? 0 : -1;
}
