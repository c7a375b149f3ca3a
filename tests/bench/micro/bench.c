/*
 * Micro-benchmark harness (see bench.h). Output, one line per benchmark:
 *   bench <name> <ns/op> ns/op <ops/s> ops/s <iterations> iters <seconds> s
 * so a script can grep and compare runs. CCS_BENCH_LIST prints the names instead of running;
 * CCS_BENCH_ONLY=<name> runs that benchmark alone (bench_callgrind.sh uses both).
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CCS_BENCH_BUILD_TYPE
#define CCS_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef CCS_BENCH_SANITIZE
#define CCS_BENCH_SANITIZE 0
#endif

volatile uint64_t ccs_bench_sink;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A positive number from the environment, or def when unset or malformed. */
static double env_num(const char *name, double def)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v <= 0)
		return def;
	return v;
}

void ccs_bench_begin(const char *binary)
{
	if (getenv("CCS_BENCH_LIST"))
		return;
	printf("# %s: build %s%s, target %.2f s per benchmark\n", binary, CCS_BENCH_BUILD_TYPE,
	       CCS_BENCH_SANITIZE ? " with ASan+UBSan (figures not comparable)" : "",
	       env_num("CCS_BENCH_TIME", 1.0));
	fflush(stdout);
}

void ccs_bench_fail(const char *what)
{
	fprintf(stderr, "bench: precondition failed: %s\n", what);
	exit(1);
}

double ccs_bench_run(const char *name, ccs_bench_fn fn, void *ctx)
{
	double target = env_num("CCS_BENCH_TIME", 1.0);
	double fixed = env_num("CCS_BENCH_ITERS", 0);
	const char *only = getenv("CCS_BENCH_ONLY");
	uint64_t iters = 1;
	double t0, dt;

	if (getenv("CCS_BENCH_LIST")) {
		printf("%s\n", name);
		return 0;
	}
	if (only && *only && strcmp(only, name) != 0)
		return 0;
	if (fixed > 0) {
		iters = (uint64_t)fixed;
	} else {
		fn(ctx, 1); /* warm caches and lazy initialisation outside the measurement */
		for (;;) {
			t0 = now_s();
			fn(ctx, iters);
			dt = now_s() - t0;
			if (dt >= target / 10 || iters >= (UINT64_C(1) << 40))
				break;
			iters *= 2;
		}
		/* Scale to the target from the last calibration run. */
		iters = (uint64_t)((double)iters * target / (dt > 0 ? dt : 1e-9));
		if (iters < 1)
			iters = 1;
	}
	/* A calibration run slowed by other load undershoots: run again, scaled, up to twice. */
	for (int attempt = 0;; attempt++) {
		t0 = now_s();
		fn(ctx, iters);
		dt = now_s() - t0;
		if (fixed > 0 || dt >= target / 2 || attempt == 2)
			break;
		iters = (uint64_t)((double)iters * target / (dt > 0 ? dt : 1e-9));
	}
	double ns = dt * 1e9 / (double)iters;
	printf("bench %-40s %10.1f ns/op %12.0f ops/s %10llu iters %6.2f s\n", name, ns,
	       ns > 0 ? 1e9 / ns : 0.0, (unsigned long long)iters, dt);
	fflush(stdout);
	return ns;
}
