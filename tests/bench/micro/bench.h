/*
 * A tiny micro-benchmark harness: figures, never timed assertions.
 *
 * ccs_bench_run() calibrates the iteration count by doubling, then runs three times a third of
 * the target time (CCS_BENCH_TIME seconds, default 1) and prints the fastest run's ns/op and
 * ops/s and the median ns/op, measured with CLOCK_MONOTONIC. The fastest run is the figure
 * because other load on the machine only ever slows a run down. With CCS_BENCH_ITERS=N it skips
 * calibration and runs exactly N iterations: that is how bench_callgrind.sh gets instruction
 * counts per operation (the difference between two counts divided by the difference in N).
 *
 * A benchmark body runs `iters` iterations itself (no call per operation) and feeds results to
 * ccs_bench_sink so the compiler cannot drop the work. CCS_BENCH_ONLY=<name> runs one benchmark,
 * CCS_BENCH_LIST=1 lists them.
 */
#ifndef CCS_BENCH_H
#define CCS_BENCH_H

#include <stdint.h>

typedef void (*ccs_bench_fn)(void *ctx, uint64_t iters);

/* Results land here; volatile so that the work that produced them is kept. */
extern volatile uint64_t ccs_bench_sink;

/* Print the header line: benchmark binary, build type, sanitizers. */
void ccs_bench_begin(const char *binary);
/* Time fn; prints one line and returns ns per operation (0 when skipped or listed). */
double ccs_bench_run(const char *name, ccs_bench_fn fn, void *ctx);
/* A functional precondition failed: print why and exit 1 (a benchmark of broken code is void). */
void ccs_bench_fail(const char *what) __attribute__((noreturn));

#endif
