/*
 * Memory: OOM is fatal through one replaceable hook, and a bump arena for per-batch data.
 *
 * Every allocation in the project goes through ccs_xmalloc() and friends, which never return
 * NULL: on failure they call the OOM hook (default: log and abort). Tests may replace the hook.
 *
 * The arena hands out memory for one batch of messages (decoded fields, query parameters) and
 * is reset after the batch commits, so the hot path does no per-message malloc/free.
 */
#ifndef CCS_MEM_H
#define CCS_MEM_H

#include <stddef.h>

typedef void (*ccs_oom_fn)(size_t size);

void ccs_mem_set_oom_hook(ccs_oom_fn fn);
void *ccs_xmalloc(size_t size);
void *ccs_xcalloc(size_t n, size_t size);
void *ccs_xrealloc(void *p, size_t size);
char *ccs_xstrdup(const char *s);
char *ccs_xstrndup(const char *s, size_t n);

typedef struct ccs_arena_block ccs_arena_block;
typedef struct ccs_arena {
	ccs_arena_block *head;  /* current block; older blocks chained behind it */
	size_t block_size;      /* size of ordinary blocks */
} ccs_arena;

void ccs_arena_init(ccs_arena *a, size_t block_size);
void *ccs_arena_alloc(ccs_arena *a, size_t size);
char *ccs_arena_strdup(ccs_arena *a, const char *s);
char *ccs_arena_strndup(ccs_arena *a, const char *s, size_t n);
/* Printf into the arena. */
char *ccs_arena_printf(ccs_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forget everything allocated; keeps the first block for reuse. */
void ccs_arena_reset(ccs_arena *a);
void ccs_arena_destroy(ccs_arena *a);

#endif
