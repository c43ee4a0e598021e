/* steps — long work cut into steps, with room left for the others. On one
 * worker, a "crunch" actor counts the primes below LIMIT, STEP numbers at a
 * time, sending itself a message to go on after each step; meanwhile a
 * "pinger" bounces a ball off an "echo" actor and times each round trip.
 *
 * It runs twice. First crunch only sends itself the next step: its message is
 * next in its mailbox, so a turn runs steps until the batch (64) or the time
 * budget (a millisecond or two) ends it, and a round trip that lands behind
 * such a turn waits for all of it. Then crunch also calls tr_yield, so each
 * turn is one step and a round trip waits for one step at most. Each run
 * prints the round trips' median, 99th percentile and worst time. The check: both runs count
 * the same primes as a count on one thread (exit 0). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <troupe.h>

enum { MSG_STEP = 1, MSG_BALL, MSG_DONE };
enum { LIMIT = 2000000, STEP = 200, MAX_SAMPLES = 1 << 20 };

/* The pinger's round trips, in ns; written by its actor, read by main after
 * the system has stopped. */
static uint64_t g_rtt[MAX_SAMPLES];
static int g_samples;
static tr_pid g_echo;
static atomic_int g_crunch_done; /* set by crunch: the pinger stops too */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int is_prime(uint32_t n) {
    if (n < 2)
        return 0;
    for (uint32_t d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

typedef struct {
    int yield;     /* call tr_yield after each step */
    tr_pid report; /* main's inbox: MSG_DONE with the count */
} crunch_arg;

typedef struct {
    crunch_arg a;
    uint32_t next;
    int64_t primes;
} crunch_state;

static int crunch_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    crunch_state *c = state;
    c->a = *(const crunch_arg *)arg;
    return 0;
}

/* MSG_STEP: STEP more numbers, then the next step or the answer. */
static int crunch_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)m;
    crunch_state *c = state;
    tr_system *sys = tr_ctx_system(cx);
    for (uint32_t end = c->next + STEP; c->next < end && c->next < LIMIT; c->next++)
        c->primes += is_prime(c->next);
    if (c->next >= LIMIT) {
        atomic_store(&g_crunch_done, 1);
        tr_send_i64(sys, c->a.report, MSG_DONE, c->primes);
        return tr_exit(cx, 0);
    }
    if (c->a.yield)
        tr_yield(cx);
    return tr_send_i64(sys, tr_self(cx), MSG_STEP, 0);
}

static const tr_actor_spec crunch_spec = {.name = "crunch",
                                          .state_size = sizeof(crunch_state),
                                          .init = crunch_init,
                                          .receive = crunch_receive};

static int echo_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    return tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_BALL, 0);
}

static const tr_actor_spec echo_spec = {.name = "echo", .receive = echo_receive};

/* MSG_BALL: the last round trip is over; time it, send the next one. */
static int pinger_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)m;
    uint64_t *sent = state, now = now_ns();
    if (*sent && g_samples < MAX_SAMPLES)
        g_rtt[g_samples++] = now - *sent;
    if (atomic_load(&g_crunch_done))
        return tr_exit(cx, 0);
    *sent = now_ns();
    return tr_send_i64(tr_ctx_system(cx), g_echo, MSG_BALL, 0);
}

static const tr_actor_spec pinger_spec = {
    .name = "pinger", .state_size = sizeof(uint64_t), .receive = pinger_receive};

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One run; returns the primes crunch counted, or -1. */
static int64_t run(int yield) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    cfg.workers = 1; /* crunch, echo and pinger share one worker */
    tr_system *sys = tr_system_new(&cfg);
    tr_inbox *inbox = NULL;
    if (!sys || tr_inbox_open(sys, &inbox) != 0)
        return -1;
    g_samples = 0;
    atomic_store(&g_crunch_done, 0);
    g_echo = tr_spawn(sys, &echo_spec, NULL);
    crunch_arg a = {yield, tr_inbox_pid(inbox)};
    tr_pid crunch = tr_spawn(sys, &crunch_spec, &a);
    tr_pid pinger = tr_spawn(sys, &pinger_spec, NULL);
    tr_send_i64(sys, crunch, MSG_STEP, 0);
    tr_send_i64(sys, pinger, MSG_BALL, 0);
    tr_msg *m = NULL;
    int64_t primes = tr_inbox_receive(inbox, &m, 60000) == 0 ? tr_msg_i64(m) : -1;
    tr_msg_free(m);
    tr_inbox_close(inbox);
    tr_system_stop(sys);
    tr_system_shutdown(sys);
    qsort(g_rtt, (size_t)g_samples, sizeof g_rtt[0], cmp_u64);
    int n = g_samples > 0 ? g_samples : 1; /* (g_rtt[0] is 0 when there are none) */
    printf("%-34s %7d round trips, median %5.1f us, p99 %7.1f us, worst %7.1f us; %lld primes\n",
           yield ? "crunch sends itself a step, yields" : "crunch sends itself a step", g_samples,
           g_rtt[n / 2] / 1e3, g_rtt[n * 99 / 100] / 1e3, g_rtt[n - 1] / 1e3, (long long)primes);
    return primes;
}

int main(void) {
    int64_t want = 0;
    for (uint32_t n = 0; n < LIMIT; n++)
        want += is_prime(n);
    int64_t plain = run(0), yielding = run(1);
    int ok = plain == want && yielding == want;
    printf("check: %lld primes below %d in both runs -> %s\n", (long long)want, LIMIT,
           ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
