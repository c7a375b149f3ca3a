/*
 * Allocation wrappers and the batch arena (see ccs/mem.h).
 */
#include "ccs/mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ccs_arena_block {
	ccs_arena_block *next;
	size_t cap;
	size_t used;
	max_align_t data[];
};

static void default_oom(size_t size)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"size\":%zu}\n", size);
	abort();
}

static ccs_oom_fn oom_hook = default_oom;

void ccs_mem_set_oom_hook(ccs_oom_fn fn)
{
	oom_hook = fn ? fn : default_oom;
}

void *ccs_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom_hook(size);
	return p;
}

void *ccs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom_hook(n * size);
	return p;
}

void *ccs_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		oom_hook(size);
	return q;
}

char *ccs_xstrdup(const char *s)
{
	return ccs_xstrndup(s, strlen(s));
}

char *ccs_xstrndup(const char *s, size_t n)
{
	char *p = ccs_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void ccs_arena_init(ccs_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size ? block_size : 64 * 1024;
}

static ccs_arena_block *block_new(size_t cap)
{
	ccs_arena_block *b = ccs_xmalloc(sizeof(*b) + cap);
	b->next = NULL;
	b->cap = cap;
	b->used = 0;
	return b;
}

void *ccs_arena_alloc(ccs_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size_t need = (size + align - 1) & ~(align - 1);
	ccs_arena_block *b = a->head;

	if (need == 0)
		need = align;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > a->block_size ? need : a->block_size;
		ccs_arena_block *nb = block_new(cap);
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

char *ccs_arena_strndup(ccs_arena *a, const char *s, size_t n)
{
	char *p = ccs_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *ccs_arena_strdup(ccs_arena *a, const char *s)
{
	return ccs_arena_strndup(a, s, strlen(s));
}

char *ccs_arena_printf(ccs_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = ccs_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void ccs_arena_reset(ccs_arena *a)
{
	ccs_arena_block *b = a->head;
	if (!b)
		return;
	/* Keep the oldest ordinary-sized block: a batch that fits reuses it with no malloc. */
	while (b->next) {
		ccs_arena_block *next = b->next;
		free(b);
		b = next;
	}
	b->used = 0;
	a->head = b;
}

void ccs_arena_destroy(ccs_arena *a)
{
	ccs_arena_block *b = a->head;
	while (b) {
		ccs_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}
