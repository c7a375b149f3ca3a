/*
 * Micro-benchmark harness (see bench.h). Output, one line per benchmark:
 *   bench <name> <best ns/op> ns/op <ops/s> ops/s  (median <ns> ns/op; 3 x <iters> iters, <s> s)
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

/* Time one run of iters iterations, in seconds. */
static double timed(ccs_bench_fn fn, void *ctx, uint64_t iters)
{
	double t0 = now_s();

	fn(ctx, iters);
	return now_s() - t0;
}

/*
 * Calibrate to target/REPEATS per run, then run REPEATS times: the fastest run is the figure
 * (other load on the machine only ever slows a run down), the median shows the spread.
 */
#define REPEATS 3

double ccs_bench_run(const char *name, ccs_bench_fn fn, void *ctx)
{
	double target = env_num("CCS_BENCH_TIME", 1.0);
	double fixed = env_num("CCS_BENCH_ITERS", 0);
	const char *only = getenv("CCS_BENCH_ONLY");
	double runs[REPEATS], dt, best, median, total = 0;
	uint64_t iters = 1;
	int i, j;

	if (getenv("CCS_BENCH_LIST")) {
		printf("%s\n", name);
		return 0;
	}
	if (only && *only && strcmp(only, name) != 0)
		return 0;
	if (fixed > 0) {
		/* Exactly that many iterations, once, no warm-up: for instruction counts. */
		iters = (uint64_t)fixed;
		dt = timed(fn, ctx, iters);
		printf("bench %-40s %10.1f ns/op (fixed %llu iterations)\n", name,
		       dt * 1e9 / (double)iters, (unsigned long long)iters);
		fflush(stdout);
		return dt * 1e9 / (double)iters;
	}
	fn(ctx, 1); /* warm caches and lazy initialisation outside the measurement */
	for (;;) {
		dt = timed(fn, ctx, iters);
		if (dt >= target / REPEATS / 10 || iters >= (UINT64_C(1) << 40))
			break;
		iters *= 2;
	}
	iters = (uint64_t)((double)iters * (target / REPEATS) / (dt > 0 ? dt : 1e-9));
	if (iters < 1)
		iters = 1;
	for (i = 0; i < REPEATS; i++) {
		runs[i] = timed(fn, ctx, iters);
		total += runs[i];
	}
	/* Insertion sort of three. */
	for (i = 1; i < REPEATS; i++)
		for (j = i; j > 0 && runs[j] < runs[j - 1]; j--) {
			double t = runs[j];

			runs[j] = runs[j - 1];
			runs[j - 1] = t;
		}
	best = runs[0] * 1e9 / (double)iters;
	median = runs[REPEATS / 2] * 1e9 / (double)iters;
	printf("bench %-40s %9.1f ns/op %11.0f ops/s  (median %.1f ns/op; %d x %llu iters, %.2f s)\n",
	       name, best, best > 0 ? 1e9 / best : 0.0, median, REPEATS, (unsigned long long)iters,
	       total);
	fflush(stdout);
	return best;
}
