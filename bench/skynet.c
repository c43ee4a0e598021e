/* skynet — a 10-ary tree of actors down to 1,000,000 leaves: leaf i replies i,
 * parents sum their children's replies and reply (1,111,111 actors): the cost
 * of spawning, a first message and an exit. Each actor is told its part of the
 * tree in a start message, so subtrees grow on whichever worker runs them. */
#include "bench_common.h"

#include <stdatomic.h>

enum { MSG_START = 1, MSG_SUM };

typedef struct {
    int64_t first, size;
} part;

typedef struct {
    tr_pid parent;
    int64_t sum;
    int pending;
} node_state;

static _Atomic int64_t g_root_sum = -1;

static int node_receive(tr_ctx *cx, void *state, tr_msg *m);
static const tr_actor_spec node_spec = {
    .name = "skynet", .state_size = sizeof(node_state), .receive = node_receive};

/* Hands the sum up: to the parent, or to main when this is the root. */
static int report(tr_ctx *cx, node_state *n, int64_t sum) {
    if (n->parent != TR_PID_NONE)
        tr_send_i64(tr_ctx_system(cx), n->parent, MSG_SUM, sum);
    else {
        bench_mark_end();
        atomic_store(&g_root_sum, sum);
    }
    return tr_exit(cx, 0);
}

static int node_receive(tr_ctx *cx, void *state, tr_msg *m) {
    node_state *n = state;
    if (tr_msg_type(m) == MSG_SUM) {
        n->sum += tr_msg_i64(m);
        return --n->pending == 0 ? report(cx, n, n->sum) : 0;
    }
    part p = *(const part *)tr_msg_data(m);
    n->parent = tr_msg_sender(m);
    if (p.size == 1)
        return report(cx, n, p.first);
    tr_system *sys = tr_ctx_system(cx);
    int64_t step = p.size / 10;
    n->pending = 10;
    for (int i = 0; i < 10; i++) {
        part child = {p.first + i * step, step};
        tr_pid c = tr_spawn(sys, &node_spec, NULL);
        if (c < 0)
            return (int)c;
        tr_send(sys, c, MSG_START, &child, sizeof child);
    }
    return 0;
}

int main(int argc, char **argv) {
    /* The tree is 10-ary, so the leaves are a power of ten: the divisor's
       share rounded down to one (a divisor of 2 gives 100,000 leaves). */
    int64_t leaves = 1;
    while (leaves * 10 <= 1000000 / bench_divisor(argc, argv))
        leaves *= 10;
    int64_t actors = 0;
    for (int64_t l = leaves; l >= 1; l /= 10)
        actors += l;
    tr_system *sys = bench_system();
    double t0 = bench_now();
    part root = {0, leaves};
    tr_send(sys, tr_spawn(sys, &node_spec, NULL), MSG_START, &root, sizeof root);
    bench_wait(sys);
    int rc = bench_report("skynet", sys, actors, bench_end() - t0,
                          atomic_load(&g_root_sum) == leaves * (leaves - 1) / 2, "");
    tr_system_shutdown(sys);
    return rc;
}
