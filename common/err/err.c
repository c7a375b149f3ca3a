/* Error buffers (see ccs/err.h). */
#include "ccs/err.h"

#include <stdarg.h>
#include <stdio.h>

void ccs_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}
