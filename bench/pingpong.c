/* pingpong — two actors bounce one message R = 1,000,000 times (2R messages):
 * the cost of a send, a scheduling hand-off and a receive, one at a time. */
#include "bench_common.h"

enum { MSG_BALL = 1, MSG_QUIT };

typedef struct {
    tr_pid pong;
    int64_t rounds, replies;
} ping_state;

static int64_t g_replies;

static int pong_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) == MSG_QUIT)
        return tr_exit(cx, 0);
    return tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_BALL, tr_msg_i64(m) + 1);
}

static int ping_init(tr_ctx *cx, void *state, const void *arg) {
    ping_state *p = state;
    const ping_state *setup = arg;
    p->pong = setup->pong;
    p->rounds = setup->rounds;
    return tr_send_i64(tr_ctx_system(cx), p->pong, MSG_BALL, 0);
}

static int ping_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ping_state *p = state;
    tr_system *sys = tr_ctx_system(cx);
    if (++p->replies < p->rounds)
        return tr_send_i64(sys, p->pong, MSG_BALL, tr_msg_i64(m));
    bench_mark_end();
    g_replies = p->replies;
    tr_send_i64(sys, p->pong, MSG_QUIT, 0);
    return tr_exit(cx, 0);
}

static const tr_actor_spec pong_spec = {.name = "pong", .receive = pong_receive};
static const tr_actor_spec ping_spec = {
    .name = "ping", .state_size = sizeof(ping_state), .init = ping_init, .receive = ping_receive};

int main(int argc, char **argv) {
    int64_t rounds = 1000000 / bench_divisor(argc, argv);
    tr_system *sys = bench_system();
    double t0 = bench_now();
    ping_state setup = {.pong = tr_spawn(sys, &pong_spec, NULL), .rounds = rounds};
    tr_spawn(sys, &ping_spec, &setup);
    bench_wait(sys);
    int rc = bench_report("pingpong", sys, 2 * rounds, bench_end() - t0, g_replies == rounds, "");
    tr_system_shutdown(sys);
    return rc;
}
