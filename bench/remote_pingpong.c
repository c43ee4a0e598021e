/* remote_pingpong — R = 100,000 round trips between an actor on one node and
 * an actor on another, two processes on one machine through one NATS server
 * (bench/remote.sh starts them): the latency of a message to another node and
 * back. Two roles:
 *
 *   bench_remote_pingpong serve URL         a node of cluster "bench" with the
 *       pong actor, registered globally as "bench.pong"; pong echoes each
 *       ball to its sender, answers the client's RSS question, and exits when
 *       told to quit or when the client's ping actor goes down (a monitor on
 *       the first ball's sender: TR_ENODEDOWN when its node goes); the
 *       process ends with it.
 *   bench_remote_pingpong run URL [divisor] a node that finds "bench.pong"
 *       (retrying up to 10 s) and runs the ping actor, which sends a ball,
 *       waits for it to come back, and so R times; each round trip is timed
 *       on the monotonic clock. Prints the BENCH line (n = 2R messages, as
 *       pingpong) with p50_us, p99_us and server_rss_kb, the server's peak
 *       RSS, then tells the server to quit.
 *
 * The Erlang peer is bench/peers/erlang/remote_bench.erl (two nodes of
 * distributed Erlang on loopback). */
#include "bench_common.h"
#include "bench_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <troupe/node.h>

enum { MSG_START = 1, MSG_BALL, MSG_RSS };

#define PONG_NAME "bench.pong"

/* ---- serve ------------------------------------------------------------------ */

static int pong_receive(tr_ctx *cx, void *state, tr_msg *m) {
    bench_server *p = state;
    switch (tr_msg_type(m)) {
    case MSG_BALL: { /* the client's ping: when it goes, so does this server */
        int rc = bench_server_watch(cx, p, tr_msg_sender(m));
        return rc ? rc : tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_BALL, tr_msg_i64(m));
    }
    case MSG_RSS: return tr_reply_i64(cx, m, bench_status_kb("VmHWM"));
    }
    return bench_server_receive(cx, p, m);
}

static const tr_actor_spec pong_spec = {.name = "pong",
                                        .state_size = sizeof(bench_server),
                                        .init = bench_server_init,
                                        .receive = pong_receive,
                                        .terminate = bench_server_terminate};

/* ---- run -------------------------------------------------------------------- */

typedef struct ping_arg {
    tr_pid pong;
    int64_t rounds;
    double *samples; /* rounds of them, seconds */
    tr_pid report;   /* main's inbox: MSG_DONE with the round trips completed, or -1 */
} ping_arg;

typedef struct {
    ping_arg a;
    int64_t done;
    double sent; /* when the ball in flight left */
} ping_state;

/* The first ball leaves from a turn on a worker, not from the init that main
 * runs: every send to the other node is then a worker's. */
static int ping_init(tr_ctx *cx, void *state, const void *arg) {
    ((ping_state *)state)->a = *(const ping_arg *)arg;
    return tr_send_i64(tr_ctx_system(cx), tr_self(cx), MSG_START, 0);
}

/* Reports to main and stays: the server watches this actor, and its going
 * would end the server before main has asked for its RSS. */
static int ping_finish(tr_ctx *cx, ping_state *p, int64_t result) {
    bench_mark_end();
    return tr_send_i64(tr_ctx_system(cx), p->a.report, MSG_DONE, result);
}

static int ping_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ping_state *p = state;
    tr_system *sys = tr_ctx_system(cx);
    int rc;
    switch (tr_msg_type(m)) {
    case MSG_START:
        p->sent = bench_now();
        rc = tr_send_i64(sys, p->a.pong, MSG_BALL, 0);
        break;
    case MSG_BALL: {
        double now = bench_now();
        if (tr_msg_i64(m) != p->done) /* each ball comes back as it left */
            return ping_finish(cx, p, -1);
        p->a.samples[p->done++] = now - p->sent;
        if (p->done == p->a.rounds)
            return ping_finish(cx, p, p->done);
        p->sent = now;
        rc = tr_send_i64(sys, p->a.pong, MSG_BALL, p->done);
        break;
    }
    default: return TR_EUNHANDLED;
    }
    if (rc) {
        fprintf(stderr, "remote_pingpong: send to pong: %s\n", tr_strerror(rc));
        return ping_finish(cx, p, -1);
    }
    return 0;
}

static const tr_actor_spec ping_spec = {
    .name = "ping", .state_size = sizeof(ping_state), .init = ping_init, .receive = ping_receive};

static int run(const char *url, long divisor) {
    int64_t rounds = 100000 / divisor;
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    bench_node_start(sys, url, "remote_pingpong-run");
    double *samples = calloc((size_t)rounds, sizeof *samples);
    if (!samples || tr_inbox_open(sys, &inbox) != 0)
        return 1;
    tr_pid pong = bench_find_global(sys, PONG_NAME);

    double t0 = bench_now();
    ping_arg a = {
        .pong = pong, .rounds = rounds, .samples = samples, .report = tr_inbox_pid(inbox)};
    tr_pid ping = tr_spawn(sys, &ping_spec, &a);
    tr_msg *done = NULL;
    int rc = ping < 0 ? (int)ping : tr_inbox_receive(inbox, &done, BENCH_RESULT_MS);
    int64_t got = rc == 0 ? tr_msg_i64(done) : -1;
    tr_msg_free(done);
    if (rc) {
        fprintf(stderr, "remote_pingpong: no result from ping: %s\n", tr_strerror(rc));
        return 1;
    }
    double secs = bench_end() - t0;

    int64_t server_rss = -1;
    tr_ask_i64(sys, pong, MSG_RSS, 0, &server_rss, 5000);
    tr_send_i64(sys, pong, MSG_QUIT, 0);

    int64_t n = got > 0 ? got : 1;
    bench_sort(samples, n);
    char extra[128];
    snprintf(extra, sizeof extra, " p50_us=%.1f p99_us=%.1f server_rss_kb=%lld",
             bench_percentile_us(samples, n, 50), bench_percentile_us(samples, n, 99),
             (long long)server_rss);
    rc = bench_report("remote_pingpong", sys, 2 * rounds, secs, got == rounds, extra);

    bench_node_stats_print(sys, "remote_pingpong");
    free(samples);
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return rc;
}

int main(int argc, char **argv) {
    return bench_remote_main(argc, argv, "remote_pingpong", PONG_NAME, &pong_spec, run);
}
