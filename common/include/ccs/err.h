/*
 * Error buffers: libraries report failures as a negative code plus text in a caller-supplied
 * buffer (STYLE.md habit 2). ccs_errf() is the one way to fill such a buffer.
 */
#ifndef CCS_ERR_H
#define CCS_ERR_H

#include <stddef.h>

/* Format into errbuf (truncating); a NULL or empty buffer is allowed and left alone. */
void ccs_errf(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
