/* timers — timer lateness: ACTORS actors each start their share of N =
 * 100,000 one-shot timers (tr_send_after) with random delays of 1..200 ms to
 * random actors among them; each payload carries the time it is due
 * (CLOCK_MONOTONIC, taken just before tr_send_after), and its receiver
 * records the lateness: arrival minus due. Printed: count, median_us, p99_us
 * and max_us of the lateness of all N; start_ms, how long the actors took to
 * start them all (each starts its 12,500 in one callback, during which its
 * worker fires nothing: that is most of the tail of all N); and after_start_*,
 * the same figures for the timers due after that, the runtime's own lateness.
 * rate is timers per second from the first start to the last arrival (about
 * N / 0.2 s: the delays set the pace, not the runtime).
 *
 * check=ok only if every timer arrived exactly once, none early (lateness >=
 * 0) and no dead letter was counted. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACTORS 8
#define MAX_DELAY_MS 200
#define NOT_ARRIVED INT64_MIN

enum { MSG_START = 1, MSG_TIMER, MSG_STOP };

typedef struct stamp {
    int64_t due_ns, index;
} stamp;

static int64_t g_n, g_each;
static tr_pid g_actors[ACTORS];
static int64_t *g_late; /* ns, per timer; NOT_ARRIVED until it does */
static _Atomic int64_t g_arrived, g_twice;
static _Atomic int64_t g_started_ns; /* when the last actor had started all its timers */
static int64_t *g_due;               /* ns, per timer */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int timer_actor(tr_ctx *cx, void *state, tr_msg *m) {
    uint64_t *rng = state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        int64_t k = tr_msg_i64(m);
        *rng = 0x9E3779B97F4A7C15ull * (uint64_t)(k + 1);
        int64_t first = k * g_each, last = k == ACTORS - 1 ? g_n : first + g_each;
        for (int64_t i = first; i < last; i++) {
            uint32_t delay = 1 + (uint32_t)(next_random(rng) % MAX_DELAY_MS);
            tr_pid to = g_actors[next_random(rng) % ACTORS];
            stamp s = {now_ns() + (int64_t)delay * 1000000, i};
            g_due[i] = s.due_ns;
            int rc = tr_send_after(cx, delay, to, MSG_TIMER, &s, sizeof s, NULL);
            if (rc != 0)
                return rc;
        }
        int64_t now = now_ns(), seen = atomic_load(&g_started_ns);
        while (seen < now && !atomic_compare_exchange_weak(&g_started_ns, &seen, now))
            ;
        return 0;
    }
    case MSG_TIMER: {
        int64_t now = now_ns();
        stamp s;
        memcpy(&s, tr_msg_data(m), sizeof s);
        if (s.index < 0 || s.index >= g_n || g_late[s.index] != NOT_ARRIVED) {
            atomic_fetch_add(&g_twice, 1);
            return 0;
        }
        g_late[s.index] = now - s.due_ns; /* one receiver per timer: no race */
        if (atomic_fetch_add(&g_arrived, 1) + 1 == g_n) {
            bench_mark_end();
            for (int k = 0; k < ACTORS; k++)
                tr_send_i64(tr_ctx_system(cx), g_actors[k], MSG_STOP, 0);
        }
        return 0;
    }
    case MSG_STOP: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec timer_spec = {
    .name = "timers", .state_size = sizeof(uint64_t), .receive = timer_actor};

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* " NAME_median_us=.. NAME_p99_us=.. NAME_max_us=.." of n sorted latenesses. */
static void describe(char *out, size_t size, const char *name, const int64_t *late, int64_t n) {
    if (n == 0) {
        snprintf(out, size, " %s_count=0", name);
        return;
    }
    snprintf(out, size, " %s_count=%lld %s_median_us=%.1f %s_p99_us=%.1f %s_max_us=%.1f", name,
             (long long)n, name, (double)late[n / 2] / 1e3, name,
             (double)late[(n * 99) / 100] / 1e3, name, (double)late[n - 1] / 1e3);
}

int main(int argc, char **argv) {
    g_n = 100000 / bench_divisor(argc, argv);
    if (g_n < ACTORS)
        g_n = ACTORS;
    g_each = g_n / ACTORS;
    g_late = malloc(sizeof *g_late * (size_t)g_n);
    g_due = malloc(sizeof *g_due * (size_t)g_n);
    int64_t *steady = malloc(sizeof *steady * (size_t)g_n);
    if (!g_late || !g_due || !steady)
        return 1;
    for (int64_t i = 0; i < g_n; i++)
        g_late[i] = NOT_ARRIVED;
    tr_system *sys = bench_system();
    for (int k = 0; k < ACTORS; k++)
        g_actors[k] = tr_spawn(sys, &timer_spec, NULL);
    double t0 = bench_now();
    int64_t t0_ns = now_ns();
    for (int k = 0; k < ACTORS; k++)
        tr_send_i64(sys, g_actors[k], MSG_START, k);
    bench_wait(sys);
    /* The timers due once every actor had started all of its own: their
       lateness is the runtime's, not that of a worker busy starting timers. */
    int64_t missing = 0, early = 0, nsteady = 0, started = atomic_load(&g_started_ns);
    for (int64_t i = 0; i < g_n; i++) {
        if (g_late[i] == NOT_ARRIVED)
            missing++;
        else if (g_late[i] < 0)
            early++;
        else if (g_due[i] >= started)
            steady[nsteady++] = g_late[i];
    }
    qsort(g_late, (size_t)g_n, sizeof *g_late, cmp_i64);
    qsort(steady, (size_t)nsteady, sizeof *steady, cmp_i64);
    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    int64_t arrived = atomic_load(&g_arrived), twice = atomic_load(&g_twice);
    int ok = missing == 0 && early == 0 && twice == 0 && arrived == g_n && st.dead_letters == 0;
    /* after the sort the missing ones (INT64_MIN) come first: the arrived ones follow */
    char after[160], extra[512];
    describe(after, sizeof after, "after_start", steady, nsteady);
    snprintf(extra, sizeof extra,
             " count=%lld median_us=%.1f p99_us=%.1f max_us=%.1f early=%lld missing=%lld "
             "twice=%lld start_ms=%.1f%s",
             (long long)arrived,
             g_n - missing ? (double)g_late[missing + (g_n - missing) / 2] / 1e3 : -1.0,
             g_n - missing ? (double)g_late[missing + ((g_n - missing) * 99) / 100] / 1e3 : -1.0,
             g_n - missing ? (double)g_late[g_n - 1] / 1e3 : -1.0, (long long)early,
             (long long)missing, (long long)twice, (double)(started - t0_ns) / 1e6, after);
    double end = bench_end();
    int rc = bench_report("timers", sys, g_n, (end > 0 ? end : bench_now()) - t0, ok, extra);
    tr_system_shutdown(sys);
    free(steady);
    free(g_due);
    free(g_late);
    return rc;
}
