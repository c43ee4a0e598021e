/* ring — 1,000 actors in a ring pass one token H = 10,000,000 hops: the cost
 * of a hand-off between actors that are not a fixed pair. */
#include "bench_common.h"

#include <stdlib.h>

enum { MSG_NEXT = 1, MSG_TOKEN };
enum { RING = 1000 };

typedef struct {
    tr_pid next;
} link_state;

static int64_t g_hops_wanted, g_hops_seen;

static int link_receive(tr_ctx *cx, void *state, tr_msg *m) {
    link_state *l = state;
    if (tr_msg_type(m) == MSG_NEXT) {
        l->next = tr_msg_i64(m);
        return 0;
    }
    int64_t hops = tr_msg_i64(m);
    if (hops < g_hops_wanted)
        return tr_send_i64(tr_ctx_system(cx), l->next, MSG_TOKEN, hops + 1);
    bench_mark_end();
    g_hops_seen = hops;
    return tr_system_stop(tr_ctx_system(cx));
}

static const tr_actor_spec link_spec = {
    .name = "link", .state_size = sizeof(link_state), .receive = link_receive};

int main(int argc, char **argv) {
    g_hops_wanted = 10000000 / bench_divisor(argc, argv);
    tr_system *sys = bench_system();
    tr_pid *ring = malloc(RING * sizeof *ring);
    double t0 = bench_now();
    for (int i = 0; i < RING; i++)
        ring[i] = tr_spawn(sys, &link_spec, NULL);
    for (int i = 0; i < RING; i++)
        tr_send_i64(sys, ring[i], MSG_NEXT, ring[(i + 1) % RING]);
    tr_send_i64(sys, ring[0], MSG_TOKEN, 0);
    bench_wait(sys);
    int rc = bench_report("ring", sys, g_hops_wanted, bench_end() - t0,
                          g_hops_seen == g_hops_wanted, "");
    free(ring);
    tr_system_shutdown(sys);
    return rc;
}
