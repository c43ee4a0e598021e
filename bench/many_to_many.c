/* many_to_many — PEERS = 1,000 actors each send M = 20,000 integers to
 * uniformly random other actors (each its own xorshift64 generator, seeded
 * from its index, so the traffic is the same in every run) and add up what
 * they receive: all-to-all traffic with no locality, 20,000,000 messages (the
 * scale divisor divides M). Written the natural way: each actor sends CHUNK
 * values per callback and then a message to itself to go on, and yields
 * (tr_yield, as the Tokio peer's yield_now), receiving in between; mailboxes
 * are unbounded.
 *
 * Every actor is told before the start how many values will come to it (main
 * replays the generators first, untimed), and exits once it has sent its M
 * and received that many. Value j (0-based) of actor i is i x M + j + 1, so
 * every value sent is distinct. check=ok needs, for every actor, the count
 * and the sum of the values it received equal to those of the replay, the
 * totals equal to PEERS x M and to the sum 1 + 2 + ... + PEERS x M, and no
 * dead letters (a value delivered twice would be one). */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>

enum { MSG_GO = 1, MSG_VALUE };
enum { PEERS = 1000, PER_PEER = 20000, CHUNK = 100 };

typedef struct {
    int64_t index, m, expected;
} peer_arg;

typedef struct {
    uint64_t rng;
    int64_t index, m, sent, expected, received, sum;
} peer_state;

/* Written by main before the first message is sent; read-only afterwards. */
static tr_pid g_pids[PEERS];
/* Each peer's count and sum, written once by the peer before it exits and
 * read by main after tr_system_wait. */
static int64_t g_received[PEERS], g_sum[PEERS];
static _Atomic int g_finished;

static uint64_t seed(int64_t index) {
    return 0x9e3779b97f4a7c15u * (uint64_t)(index + 1);
}

/* The next destination: uniform over the PEERS - 1 others. */
static inline int64_t next_dest(uint64_t *rng, int64_t self) {
    uint64_t x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    int64_t d = (int64_t)(((x >> 32) * (PEERS - 1)) >> 32);
    return d >= self ? d + 1 : d;
}

static int peer_maybe_done(tr_ctx *cx, peer_state *p) {
    if (p->sent < p->m || p->received < p->expected)
        return 0;
    g_received[p->index] = p->received;
    g_sum[p->index] = p->sum;
    if (atomic_fetch_add(&g_finished, 1) + 1 == PEERS)
        bench_mark_end();
    return tr_exit(cx, 0);
}

static int peer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    peer_state *p = state;
    if (tr_msg_type(m) == MSG_VALUE) {
        p->received++;
        p->sum += tr_msg_i64(m);
        return peer_maybe_done(cx, p);
    }
    /* MSG_GO: the next CHUNK values, then go on (or wait to receive the rest) */
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < CHUNK && p->sent < p->m; i++, p->sent++) {
        int64_t to = next_dest(&p->rng, p->index);
        int rc = tr_send_i64(sys, g_pids[to], MSG_VALUE, p->index * p->m + p->sent + 1);
        if (rc)
            return rc;
    }
    if (p->sent < p->m) {
        tr_yield(cx);
        return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
    }
    return peer_maybe_done(cx, p);
}

static int peer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    peer_state *p = state;
    const peer_arg *a = arg;
    p->index = a->index;
    p->m = a->m;
    p->expected = a->expected;
    p->rng = seed(a->index);
    return 0;
}

static const tr_actor_spec peer_spec = {
    .name = "peer", .state_size = sizeof(peer_state), .init = peer_init, .receive = peer_receive};

int main(int argc, char **argv) {
    int64_t m = PER_PEER / bench_divisor(argc, argv);
    if (m < 1)
        m = 1;
    int64_t n = PEERS * m;

    /* The replay: who receives how many values, and their sum. */
    static int64_t want_count[PEERS], want_sum[PEERS];
    for (int64_t i = 0; i < PEERS; i++) {
        uint64_t rng = seed(i);
        for (int64_t j = 0; j < m; j++) {
            int64_t d = next_dest(&rng, i);
            want_count[d]++;
            want_sum[d] += i * m + j + 1;
        }
    }

    tr_system *sys = bench_system();
    double t0 = bench_now();
    for (int64_t i = 0; i < PEERS; i++) {
        peer_arg a = {i, m, want_count[i]};
        if ((g_pids[i] = tr_spawn(sys, &peer_spec, &a)) < 0) {
            fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)g_pids[i]));
            return 1;
        }
    }
    for (int i = 0; i < PEERS; i++)
        tr_send_i64(sys, g_pids[i], MSG_GO, 0);
    bench_wait(sys);
    double secs = bench_end() - t0;

    int64_t received = 0, sum = 0;
    int ok = atomic_load(&g_finished) == PEERS;
    for (int i = 0; i < PEERS; i++) {
        ok &= g_received[i] == want_count[i] && g_sum[i] == want_sum[i];
        received += g_received[i];
        sum += g_sum[i];
    }
    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    ok &= received == n && sum == n * (n + 1) / 2 && st.dead_letters == 0;
    int rc = bench_report("many_to_many", sys, n, secs, ok, "");
    tr_system_shutdown(sys);
    return rc;
}
