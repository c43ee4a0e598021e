/* bench_common.c — see bench_common.h. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long bench_divisor(int argc, char **argv) {
    long div = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    if (div < 1) {
        fprintf(stderr, "usage: %s [scale-divisor >= 1]\n", argv[0]);
        exit(2);
    }
    return div;
}

tr_system *bench_system(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    const char *w = getenv("WORKERS");
    cfg.workers = w ? (unsigned)strtoul(w, NULL, 10) : 2;
    const char *sharing = getenv("SHARING"); /* auto (default), always or never */
    if (sharing && strcmp(sharing, "always") == 0)
        cfg.sharing = TR_SHARING_ALWAYS;
    else if (sharing && strcmp(sharing, "never") == 0)
        cfg.sharing = TR_SHARING_NEVER;
    else if (sharing && strcmp(sharing, "auto") != 0) {
        fprintf(stderr, "SHARING=%s: auto, always or never\n", sharing);
        exit(1);
    }
    tr_system *sys;
    int rc = tr_system_create(&cfg, &sys);
    if (rc) {
        fprintf(stderr, "tr_system_create: %s\n", tr_strerror(rc));
        exit(1);
    }
    return sys;
}

void bench_wait(tr_system *sys) {
    int rc = tr_system_wait(sys, 120 * 1000);
    if (rc == 0)
        return;
    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    fprintf(stderr,
            "tr_system_wait: %s (spawned %llu, exited %llu, dead letters %llu, unhandled %llu, "
            "rejected %llu)\n",
            tr_strerror(rc), (unsigned long long)st.spawned, (unsigned long long)st.exited,
            (unsigned long long)st.dead_letters, (unsigned long long)st.unhandled,
            (unsigned long long)st.rejected);
    exit(1);
}

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long bench_status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kb = strtol(line + len + 1, NULL, 10);
    fclose(f);
    return kb;
}

static _Atomic double end_time;

void bench_mark_end(void) {
    double none = 0;
    atomic_compare_exchange_strong(&end_time, &none, bench_now());
}

double bench_end(void) {
    return atomic_load(&end_time);
}

int bench_report(const char *name, tr_system *sys, int64_t n, double secs, int ok,
                 const char *extra) {
    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    /* how the run ended up sharing work between workers (README: Sharing) */
    char sharing[64] = "";
    if (st.workers > 1)
        snprintf(sharing, sizeof sharing, " sharing=%s sharing_changes=%llu",
                 st.sharing ? "share" : "keep", (unsigned long long)st.sharing_changes);
    printf("BENCH name=%s impl=troupe workers=%u n=%lld secs=%.3f rate=%lld rss_kb=%ld "
           "check=%s%s%s\n",
           name, st.workers, (long long)n, secs, (long long)((double)n / secs),
           bench_status_kb("VmHWM"), ok ? "ok" : "FAIL", extra, sharing);
    fflush(stdout);
    return ok ? 0 : 1;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

void bench_sort(double *samples, int64_t n) {
    qsort(samples, (size_t)n, sizeof *samples, by_value);
}

double bench_percentile_us(const double *sorted, int64_t n, int pct) {
    int64_t k = n * pct / 100;
    return sorted[(k < 1 ? 1 : k) - 1] * 1e6;
}
