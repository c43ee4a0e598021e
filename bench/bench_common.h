/* bench_common.h — what every benchmark shares: the system it runs on
 * (WORKERS threads, default 2), the scale divisor from argv, a monotonic clock,
 * peak and current RSS, and the one BENCH line (its format: bench/README.md). */
#ifndef TROUPE_BENCH_COMMON_H
#define TROUPE_BENCH_COMMON_H

#include <stdint.h>
#include <troupe.h>

/* The scale divisor (argv[1], default 1); exits with usage on a bad one. */
long bench_divisor(int argc, char **argv);

/* A system with WORKERS workers (default 2) and SHARING (auto, always or
 * never: tr_sharing) work sharing; exits on failure. */
tr_system *bench_system(void);

/* Waits for the system to stop by itself. After 120 s it prints the stats
 * to stderr and exits 1: a hang is a runtime bug, not a result. */
void bench_wait(tr_system *sys);

/* Seconds on the monotonic clock. */
double bench_now(void);

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"), or -1. */
long bench_status_kb(const char *field);

/* Records the end of the work, once, from whichever thread sees it. */
void bench_mark_end(void);
double bench_end(void);

/* Sorts n samples (seconds) in place, for bench_percentile_us. */
void bench_sort(double *samples, int64_t n);
/* The k-th smallest of sorted, k = max(1, n * pct / 100) (the peers' way),
 * in microseconds. */
double bench_percentile_us(const double *sorted, int64_t n, int pct);

/* Prints the BENCH line; extra (may be "") is appended as is. Returns the
 * exit status: 0 if ok. */
int bench_report(const char *name, tr_system *sys, int64_t n, double secs, int ok,
                 const char *extra);

#endif
