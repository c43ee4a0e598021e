/* fanout_fj — fork-join throughput. One producer actor and 100 receiver
 * actors; the work is cut into rounds of 10,000 messages. In each round the
 * producer sends the round's values (consecutive integers) round-robin to the
 * receivers, 100 to each, in one callback (the fork); each receiver runs a
 * small integer hash over each value (WORK_ITERS = 32 dependent rounds of
 * xor-shift-multiply, 20-50 ns) and adds the results up, and when it has had
 * its 100 it reports its sum to the producer (the join). The producer starts
 * the next round only when all 100 reports are in; after the last round it
 * stops the receivers and exits. 3,000 rounds: 30,000,000 messages (the
 * scale divisor divides the rounds, at least one). Mailboxes are unbounded
 * (a receiver never holds more than one round's 100).
 *
 * n and rate count the values sent (the 100 reports per round, 1 % more, are
 * not counted). check=ok needs exactly rounds x 100 reports and a total equal
 * to the same hash summed over the same values on one thread, computed after
 * the run. That pass is timed too: work_alone_rate= is its rate, the work
 * without the runtime on one core (an optimistic one: the core overlaps the
 * hashes of consecutive values, which a receiver, with a message to take
 * between two, does less well). */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum { MSG_VALUE = 1, MSG_REPORT, MSG_NEXT, MSG_STOP };
enum { RECEIVERS = 100, PER_RECEIVER = 100, ROUNDS = 3000, WORK_ITERS = 32 };

/* The receivers' work: WORK_ITERS dependent rounds of xor-shift-multiply. The
 * xor-shift makes each round non-linear, so the compiler cannot fold them. */
static inline uint64_t work(uint64_t x) {
    for (int i = 0; i < WORK_ITERS; i++) {
        x ^= x >> 31;
        x *= 0x9e3779b97f4a7c15u;
    }
    return x;
}

typedef struct {
    tr_pid receivers[RECEIVERS];
    int64_t rounds, round, next; /* rounds to run, rounds begun, next value */
    int missing;                 /* reports still missing in this round */
    int64_t reports;             /* reports received in all */
    uint64_t total;
} producer_state;

typedef struct {
    int count; /* values received in this round */
    uint64_t sum;
} receiver_state;

typedef struct {
    const tr_pid *receivers;
    int64_t rounds;
} producer_arg;

/* What the producer saw, for main (written once, before it exits). */
static _Atomic uint64_t g_total;
static _Atomic int64_t g_reports;

static int receiver_receive(tr_ctx *cx, void *state, tr_msg *m) {
    receiver_state *r = state;
    if (tr_msg_type(m) == MSG_STOP)
        return tr_exit(cx, 0);
    r->sum += work((uint64_t)tr_msg_i64(m));
    if (++r->count < PER_RECEIVER)
        return 0;
    int rc = tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_REPORT, (int64_t)r->sum);
    r->count = 0;
    r->sum = 0;
    return rc;
}

/* The fork: one round's values, round-robin over the receivers. */
static int fork_round(tr_ctx *cx, producer_state *p) {
    tr_system *sys = tr_ctx_system(cx);
    p->round++;
    p->missing = RECEIVERS;
    for (int i = 0; i < RECEIVERS * PER_RECEIVER; i++, p->next++) {
        int rc = tr_send_i64(sys, p->receivers[i % RECEIVERS], MSG_VALUE, p->next);
        if (rc)
            return rc;
    }
    return 0;
}

static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer_state *p = state;
    if (tr_msg_type(m) == MSG_NEXT) /* the start */
        return fork_round(cx, p);
    /* MSG_REPORT: the join */
    p->total += (uint64_t)tr_msg_i64(m);
    p->reports++;
    if (--p->missing > 0)
        return 0;
    if (p->round < p->rounds)
        return fork_round(cx, p);
    bench_mark_end();
    atomic_store(&g_total, p->total);
    atomic_store(&g_reports, p->reports);
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < RECEIVERS; i++)
        tr_send_i64(sys, p->receivers[i], MSG_STOP, 0);
    return tr_exit(cx, 0);
}

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    producer_state *p = state;
    const producer_arg *a = arg;
    memcpy(p->receivers, a->receivers, sizeof p->receivers);
    p->rounds = a->rounds;
    return 0;
}

static const tr_actor_spec receiver_spec = {
    .name = "receiver", .state_size = sizeof(receiver_state), .receive = receiver_receive};
static const tr_actor_spec producer_spec = {.name = "producer",
                                            .state_size = sizeof(producer_state),
                                            .init = producer_init,
                                            .receive = producer_receive};

int main(int argc, char **argv) {
    int64_t rounds = ROUNDS / bench_divisor(argc, argv);
    if (rounds < 1)
        rounds = 1;
    int64_t n = rounds * RECEIVERS * PER_RECEIVER;
    tr_system *sys = bench_system();
    double t0 = bench_now();
    tr_pid receivers[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++)
        if ((receivers[i] = tr_spawn(sys, &receiver_spec, NULL)) < 0) {
            fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)receivers[i]));
            return 1;
        }
    producer_arg pa = {receivers, rounds};
    tr_pid producer = tr_spawn(sys, &producer_spec, &pa);
    if (producer < 0) {
        fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)producer));
        return 1;
    }
    tr_send_i64(sys, producer, MSG_NEXT, 0);
    bench_wait(sys);
    double secs = bench_end() - t0;

    /* The check, timed: the same work over the same values on this thread. */
    double w0 = bench_now();
    uint64_t want = 0;
    for (int64_t v = 0; v < n; v++)
        want += work((uint64_t)v);
    double alone_secs = bench_now() - w0;

    int ok = atomic_load(&g_total) == want && atomic_load(&g_reports) == rounds * RECEIVERS;
    char extra[128];
    snprintf(extra, sizeof extra, " rounds=%lld work_alone_rate=%lld", (long long)rounds,
             (long long)((double)n / alone_secs));
    int rc = bench_report("fanout_fj", sys, n, secs, ok, extra);
    tr_system_shutdown(sys);
    return rc;
}
