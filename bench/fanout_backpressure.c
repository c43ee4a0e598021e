/* fanout_backpressure — one producer actor sends N = 10,000,000 integers to
 * one slow consumer actor whose mailbox is bounded at 1,000 with
 * TR_OVERFLOW_BLOCK. Per message the consumer runs 64 rounds of
 * x = x * 6364136223846793005 + 1442695040888963407 on a uint64 (~70 ns).
 *
 * The producer is written the natural way: each callback sends CHUNK values
 * and then sends itself a message to go on. When a send finds the consumer's
 * mailbox full the runtime mutes the producer once that callback returns, and
 * runs it again when the consumer has worked the depth down below the low
 * watermark; so the consumer's mailbox never holds more than CAPACITY + CHUNK
 * messages and memory stays flat, with no flow control in the program.
 *
 * The same process then times the consumer's work alone (the 64 rounds for
 * the same N values on one thread, no runtime): ceiling_rate= is that rate,
 * ratio= the run's rate over it (how close the runtime gets to the work's own
 * limit). check=ok needs every value received exactly once and in order, and
 * the consumer's checksum (each value folded into a 64-round chain) equal to
 * the ceiling's, which also shows that the compiler kept all 64 rounds.
 * high_water= is the consumer's largest mailbox depth (bound: CAPACITY +
 * CHUNK), muted= how often the producer was muted. */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>

enum { MSG_GO = 1, MSG_VALUE };
enum { CAPACITY = 1000, CHUNK = 1000 };

/* Keeps x in a register the compiler must assume changed, so it can neither
 * fold the rounds into one multiply-add nor skip any. Costs no instruction. */
#if defined(__GNUC__)
#define KEEP(x) __asm__("" : "+r"(x))
#else
#define KEEP(x) ((void)0)
#endif

/* The consumer's work: 64 dependent rounds of a 64-bit LCG. */
static inline uint64_t slow_work(uint64_t x) {
    for (int i = 0; i < 64; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        KEEP(x);
    }
    return x;
}

typedef struct {
    tr_pid consumer;
    int64_t next, n;
} producer_state;

typedef struct {
    int64_t next, n; /* the next value expected; how many */
    uint64_t acc;    /* the checksum: acc = slow_work(acc + value), in order */
    int in_order;
} consumer_state;

/* What the consumer saw, for main (written once, before it exits). */
static _Atomic int64_t g_received;
static _Atomic uint64_t g_acc;
static _Atomic int g_in_order;
static _Atomic uint32_t g_high_water;

/* After the last value: publishes what the consumer saw and exits. Out of
 * line, so the per-message path does not save registers for it. */
static __attribute__((noinline)) int consumer_finish(tr_ctx *cx, consumer_state *c) {
    bench_mark_end();
    tr_mailbox_stats ms;
    if (tr_actor_stats(tr_ctx_system(cx), tr_self(cx), &ms) == 0)
        atomic_store(&g_high_water, ms.high_water);
    atomic_store(&g_received, c->next);
    atomic_store(&g_acc, c->acc);
    atomic_store(&g_in_order, c->in_order);
    return tr_exit(cx, 0);
}

static int consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    consumer_state *c = state;
    int64_t v = tr_msg_i64(m);
    c->in_order &= v == c->next;
    c->next++;
    c->acc = slow_work(c->acc + (uint64_t)v);
    return c->next < c->n ? 0 : consumer_finish(cx, c);
}

static int consumer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    consumer_state *c = state;
    c->n = *(const int64_t *)arg;
    c->in_order = 1;
    return 0;
}

/* Sends the next CHUNK values, then asks itself to go on (or exits). */
static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)m;
    producer_state *p = state;
    tr_system *sys = tr_ctx_system(cx);
    int64_t end = p->next + CHUNK < p->n ? p->next + CHUNK : p->n;
    for (; p->next < end; p->next++) {
        int rc = tr_send_i64(sys, p->consumer, MSG_VALUE, p->next);
        if (rc)
            return rc;
    }
    if (p->next == p->n)
        return tr_exit(cx, 0);
    return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
}

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    producer_state *p = state;
    const int64_t *a = arg; /* consumer pid, n */
    p->consumer = a[0];
    p->n = a[1];
    return 0;
}

static const tr_actor_spec consumer_spec = {.name = "consumer",
                                            .state_size = sizeof(consumer_state),
                                            .init = consumer_init,
                                            .receive = consumer_receive,
                                            .mailbox_capacity = CAPACITY,
                                            .overflow = TR_OVERFLOW_BLOCK};
static const tr_actor_spec producer_spec = {.name = "producer",
                                            .state_size = sizeof(producer_state),
                                            .init = producer_init,
                                            .receive = producer_receive};

int main(int argc, char **argv) {
    int64_t n = 10000000 / bench_divisor(argc, argv);
    tr_system *sys = bench_system();
    double t0 = bench_now();
    tr_pid consumer = tr_spawn(sys, &consumer_spec, &n);
    int64_t parg[2] = {consumer, n};
    tr_pid producer = tr_spawn(sys, &producer_spec, parg);
    if (consumer < 0 || producer < 0) {
        fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)(consumer < 0 ? consumer : producer)));
        return 1;
    }
    tr_send_i64(sys, producer, MSG_GO, 0);
    bench_wait(sys);
    double secs = bench_end() - t0;

    /* The ceiling: the same work, same values, on this thread alone. */
    double c0 = bench_now();
    uint64_t acc = 0;
    for (int64_t v = 0; v < n; v++)
        acc = slow_work(acc + (uint64_t)v);
    double ceiling_secs = bench_now() - c0;

    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    int ok =
        atomic_load(&g_received) == n && atomic_load(&g_in_order) && atomic_load(&g_acc) == acc;
    double rate = (double)n / secs, ceiling = (double)n / ceiling_secs;
    char extra[256];
    snprintf(extra, sizeof extra,
             " ceiling_rate=%lld ratio=%.3f high_water=%u muted=%llu overruns=%llu",
             (long long)ceiling, rate / ceiling, (unsigned)atomic_load(&g_high_water),
             (unsigned long long)st.muted, (unsigned long long)st.overruns);
    int rc = bench_report("fanout_backpressure", sys, n, secs, ok, extra);
    tr_system_shutdown(sys);
    return rc;
}
