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
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <troupe/node.h>

enum { MSG_START = 1, MSG_BALL, MSG_RSS, MSG_QUIT, MSG_DONE };

#define PONG_NAME "bench.pong"
#define FIND_MS 10000    /* how long run waits for the server's name */
#define SERVE_MS 600000  /* how long serve waits for its client to finish */
#define RESULT_MS 120000 /* how long run waits for the ping actor */

/* ---- serve ------------------------------------------------------------------ */

typedef struct {
    tr_pid report; /* main's inbox: MSG_DONE when pong has exited, however */
    int watching;
} pong_state;

static int pong_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((pong_state *)state)->report = *(const tr_pid *)arg;
    return 0;
}

static void pong_terminate(tr_ctx *cx, void *state, int reason) {
    tr_send_i64(tr_ctx_system(cx), ((pong_state *)state)->report, MSG_DONE, reason);
}

static int pong_receive(tr_ctx *cx, void *state, tr_msg *m) {
    pong_state *p = state;
    switch (tr_msg_type(m)) {
    case MSG_BALL:
        if (!p->watching) { /* the client's ping: when it goes, so does this server */
            uint32_t ref;
            p->watching = 1;
            int rc = tr_monitor(cx, tr_msg_sender(m), &ref);
            if (rc)
                return rc;
        }
        return tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_BALL, tr_msg_i64(m));
    case MSG_RSS: return tr_reply_i64(cx, m, bench_status_kb("VmHWM"));
    case MSG_QUIT: return tr_exit(cx, 0);
    case TR_MSG_DOWN: /* normally TR_ENODEDOWN: the client's node has gone */
        fprintf(stderr, "remote_pingpong: the client's ping went down (%s)\n",
                tr_strerror(tr_msg_exit_reason(m)));
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec pong_spec = {.name = "pong",
                                        .state_size = sizeof(pong_state),
                                        .init = pong_init,
                                        .receive = pong_receive,
                                        .terminate = pong_terminate};

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

/* ---- both ------------------------------------------------------------------- */

static void node_start(tr_system *sys, const char *url, const char *name) {
    tr_node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.cluster = "bench";
    cfg.name = name;
    int rc = tr_node_start(sys, &cfg);
    if (rc < 0) {
        fprintf(stderr, "tr_node_start(%s): %s\n", url, tr_strerror(rc));
        exit(1);
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    nanosleep(&ts, NULL);
}

/* The server may not have registered yet: ask again until FIND_MS. A name
 * counts once its node is up here too, so that no pid of an earlier run's
 * server (gone, but not yet known to be) is taken, and the first send goes
 * to a node this one has heard from. */
static tr_pid find_global(tr_system *sys, const char *name) {
    double deadline = bench_now() + FIND_MS / 1e3;
    for (;;) {
        tr_pid pid = tr_whereis_global(sys, name);
        if (pid > 0 && tr_node_up(sys, tr_pid_node(pid)) == 1)
            return pid;
        if (bench_now() > deadline) {
            fprintf(stderr, "tr_whereis_global(%s): %s after %d ms\n", name,
                    pid > 0 ? "its node is not up" : tr_strerror((int)pid), FIND_MS);
            exit(1);
        }
        sleep_ms(50);
    }
}

/* The previous server's name is dropped once its node is known to be gone. */
static void register_global(tr_system *sys, const char *name, tr_pid pid) {
    double deadline = bench_now() + FIND_MS / 1e3;
    int rc;
    while ((rc = tr_register_global(sys, name, pid)) == TR_EEXIST && bench_now() < deadline)
        sleep_ms(100);
    if (rc) {
        fprintf(stderr, "tr_register_global(%s): %s\n", name, tr_strerror(rc));
        exit(1);
    }
}

static int serve(const char *url) {
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    node_start(sys, url, "remote_pingpong-serve");
    if (tr_inbox_open(sys, &inbox) != 0)
        return 1;
    tr_pid report = tr_inbox_pid(inbox);
    tr_pid pong = tr_spawn(sys, &pong_spec, &report);
    if (pong < 0) {
        fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)pong));
        return 1;
    }
    register_global(sys, PONG_NAME, pong);
    fprintf(stderr, "remote_pingpong: serving %s on node %u\n", PONG_NAME, tr_node_self(sys));
    tr_msg *done = NULL;
    int rc = tr_inbox_receive(inbox, &done, SERVE_MS);
    if (rc)
        fprintf(stderr, "remote_pingpong: serve: %s\n", tr_strerror(rc));
    tr_msg_free(done);
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return rc ? 1 : 0;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The k-th smallest, k = max(1, n * pct / 100), as restart and the peers. */
static double percentile_us(const double *sorted, int64_t n, int pct) {
    int64_t k = n * pct / 100;
    return sorted[(k < 1 ? 1 : k) - 1] * 1e6;
}

static int run(const char *url, long divisor) {
    int64_t rounds = 100000 / divisor;
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    node_start(sys, url, "remote_pingpong-run");
    double *samples = calloc((size_t)rounds, sizeof *samples);
    if (!samples || tr_inbox_open(sys, &inbox) != 0)
        return 1;
    tr_pid pong = find_global(sys, PONG_NAME);

    double t0 = bench_now();
    ping_arg a = {
        .pong = pong, .rounds = rounds, .samples = samples, .report = tr_inbox_pid(inbox)};
    tr_pid ping = tr_spawn(sys, &ping_spec, &a);
    tr_msg *done = NULL;
    int rc = ping < 0 ? (int)ping : tr_inbox_receive(inbox, &done, RESULT_MS);
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
    qsort(samples, (size_t)n, sizeof *samples, by_value);
    char extra[128];
    snprintf(extra, sizeof extra, " p50_us=%.1f p99_us=%.1f server_rss_kb=%lld",
             percentile_us(samples, n, 50), percentile_us(samples, n, 99), (long long)server_rss);
    rc = bench_report("remote_pingpong", sys, 2 * rounds, secs, got == rounds, extra);

    tr_node_stats ns;
    if (tr_node_stats_get(sys, &ns) == 0)
        fprintf(stderr,
                "remote_pingpong: node stats: frames out %llu in %llu, batches out %llu in %llu, "
                "bad %llu, dead letters %llu\n",
                (unsigned long long)ns.frames_out, (unsigned long long)ns.frames_in,
                (unsigned long long)ns.batches_out, (unsigned long long)ns.batches_in,
                (unsigned long long)ns.bad_frames, (unsigned long long)ns.dead_letters);
    free(samples);
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return rc;
}

int main(int argc, char **argv) {
    long divisor = argc > 3 ? strtol(argv[3], NULL, 10) : 1;
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "run") == 0 && divisor >= 1)
        return run(argv[2], divisor);
    fprintf(stderr, "usage: %s serve URL | run URL [scale-divisor >= 1]\n", argv[0]);
    return 2;
}
