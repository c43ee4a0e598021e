/* restart — a one-for-one supervisor with one permanent child, made to crash
 * C = 10,000 times; each sample is the time from the crash order until the
 * restarted child has answered a ping (p50_us, p99_us); rate is restarts/s.
 *
 * It mirrors the Erlang peer (bench_restart.erl) step by step. There the
 * driver is a process on a scheduler, the supervisor registers each start of
 * the child as bench_child, and a sample is: whereis(bench_child) -> Old,
 * clock, Old ! crash, poll whereis (erlang:yield() between tries) until it
 * names a new pid, New ! {ping, self()}, receive pong, clock. Here the driver
 * is an actor, the child spec's name makes the supervisor register each start
 * as "bench_child", and the driver polls tr_whereis, yielding between tries
 * (tr_yield, with a message to itself to try again). The
 * intensity is Erlang's too: 1,000,000 restarts per second, never reached.
 *
 * check=ok only if every sample ended with a pong from a new pid, and the
 * supervisor counted exactly C restarts. */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <troupe/supervisor.h>

enum { MSG_PING = 1, MSG_PONG, MSG_CRASH, MSG_NEXT, MSG_POLL, MSG_DONE };

#define CHILD_NAME "bench_child"

static int child_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_PING: return tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_PONG, 0);
    case MSG_CRASH: return TR_EXIT_USER(1);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec child_spec = {.name = "bench_child", .receive = child_receive};

typedef struct driver_arg {
    int64_t n;
    double *samples; /* n of them, seconds */
    tr_pid report;   /* main's inbox: MSG_DONE with the samples taken */
} driver_arg;

typedef struct driver {
    driver_arg a;
    int64_t taken; /* samples complete */
    tr_pid old, new_child;
    double t0;
    int failed;
} driver;

static int driver_init(tr_ctx *cx, void *state, const void *arg) {
    driver *d = state;
    d->a = *(const driver_arg *)arg;
    return tr_send_i64(tr_ctx_system(cx), tr_self(cx), MSG_NEXT, 0);
}

/* The last step of the work: report to main and exit (any failure included). */
static int driver_done(tr_ctx *cx, driver *d) {
    bench_mark_end();
    tr_send_i64(tr_ctx_system(cx), d->a.report, MSG_DONE, d->failed ? -1 : d->taken);
    return tr_exit(cx, 0);
}

static int driver_receive(tr_ctx *cx, void *state, tr_msg *m) {
    driver *d = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_NEXT: /* one sample: order the crash */
        d->old = tr_whereis(sys, CHILD_NAME);
        d->t0 = bench_now();
        if (d->old <= 0 || tr_send_i64(sys, d->old, MSG_CRASH, 0) != 0) {
            d->failed = 1;
            return driver_done(cx, d);
        }
        return tr_send_i64(sys, tr_self(cx), MSG_POLL, 0);
    case MSG_POLL: /* restarted yet? (unregistered, or still the old one: not yet) */
        d->new_child = tr_whereis(sys, CHILD_NAME);
        if (d->new_child <= 0 || d->new_child == d->old) {
            tr_yield(cx);
            return tr_send_i64(sys, tr_self(cx), MSG_POLL, 0);
        }
        return tr_send_i64(sys, d->new_child, MSG_PING, 0);
    case MSG_PONG:
        d->a.samples[d->taken++] = bench_now() - d->t0;
        if (tr_msg_sender(m) != d->new_child)
            d->failed = 1;
        if (d->failed || d->taken == d->a.n)
            return driver_done(cx, d);
        return tr_send_i64(sys, tr_self(cx), MSG_NEXT, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec driver_spec = {
    .name = "driver", .state_size = sizeof(driver), .init = driver_init, .receive = driver_receive};

int main(int argc, char **argv) {
    int64_t n = 10000 / bench_divisor(argc, argv);
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    double *samples = calloc((size_t)n, sizeof *samples);
    if (!samples || tr_inbox_open(sys, &inbox) != 0)
        return 1;

    static const tr_sup_child_spec child = {
        .id = "child", .actor = &child_spec, .restart = TR_SUP_PERMANENT, .name = CHILD_NAME};
    static const tr_sup_spec sup_spec = {.strategy = TR_SUP_ONE_FOR_ONE,
                                         .intensity = 1000000,
                                         .period_ms = 1000,
                                         .children = &child,
                                         .nchildren = 1};
    tr_pid sup = tr_sup_start(sys, &sup_spec);
    if (sup < 0) {
        fprintf(stderr, "tr_sup_start: %s\n", tr_strerror((int)sup));
        return 1;
    }

    double t0 = bench_now();
    driver_arg a = {.n = n, .samples = samples, .report = tr_inbox_pid(inbox)};
    tr_pid driver_pid = tr_spawn(sys, &driver_spec, &a);
    tr_msg *done = NULL;
    int rc = driver_pid < 0 ? (int)driver_pid : tr_inbox_receive(inbox, &done, 120 * 1000);
    int64_t taken = rc == 0 ? tr_msg_i64(done) : -1;
    double secs = bench_end() - t0;
    tr_msg_free(done);
    if (rc != 0)
        fprintf(stderr, "restart: no result from the driver: %s\n", tr_strerror(rc));

    tr_sup_stats st = {0};
    int src = tr_sup_stats_get(sys, sup, &st, 10 * 1000);
    if (src != 0)
        fprintf(stderr, "tr_sup_stats_get: %s\n", tr_strerror(src));
    int ok = taken == n && src == 0 && st.restarts == (uint64_t)n;

    /* The supervisor stops its child and exits; then the system stops by itself. */
    tr_inbox_close(inbox);
    tr_send_exit(sys, sup, TR_ESTOPPED);
    bench_wait(sys);

    bench_sort(samples, n);
    char extra[96];
    snprintf(extra, sizeof extra, " p50_us=%.1f p99_us=%.1f", bench_percentile_us(samples, n, 50),
             bench_percentile_us(samples, n, 99));
    rc = bench_report("restart", sys, n, secs, ok, extra);
    free(samples);
    tr_system_shutdown(sys);
    return rc;
}
