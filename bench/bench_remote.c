/* bench_remote.c — see bench_remote.h. */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */
#include "bench_remote.h"

#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <troupe/node.h>

void bench_node_start(tr_system *sys, const char *url, const char *name) {
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

tr_pid bench_find_global(tr_system *sys, const char *name) {
    double deadline = bench_now() + BENCH_FIND_MS / 1e3;
    for (;;) {
        tr_pid pid = tr_whereis_global(sys, name);
        if (pid > 0 && tr_node_up(sys, tr_pid_node(pid)) == 1)
            return pid;
        if (bench_now() > deadline) {
            fprintf(stderr, "tr_whereis_global(%s): %s after %d ms\n", name,
                    pid > 0 ? "its node is not up" : tr_strerror((int)pid), BENCH_FIND_MS);
            exit(1);
        }
        sleep_ms(50);
    }
}

/* The previous server's name is dropped once its node is known to be gone. */
static void register_global(tr_system *sys, const char *name, tr_pid pid) {
    double deadline = bench_now() + BENCH_FIND_MS / 1e3;
    int rc;
    while ((rc = tr_register_global(sys, name, pid)) == TR_EEXIST && bench_now() < deadline)
        sleep_ms(100);
    if (rc) {
        fprintf(stderr, "tr_register_global(%s): %s\n", name, tr_strerror(rc));
        exit(1);
    }
}

int bench_serve(const char *bench, const char *url, const char *name, const tr_actor_spec *spec) {
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    char node_name[64];
    snprintf(node_name, sizeof node_name, "%s-serve", bench);
    bench_node_start(sys, url, node_name);
    if (tr_inbox_open(sys, &inbox) != 0)
        return 1;
    bench_server head = {.bench = bench, .report = tr_inbox_pid(inbox)};
    tr_pid actor = tr_spawn(sys, spec, &head);
    if (actor < 0) {
        fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)actor));
        return 1;
    }
    register_global(sys, name, actor);
    fprintf(stderr, "%s: serving %s on node %u\n", bench, name, tr_node_self(sys));
    tr_msg *done = NULL;
    int rc = tr_inbox_receive(inbox, &done, BENCH_SERVE_MS);
    if (rc)
        fprintf(stderr, "%s: serve: %s\n", bench, tr_strerror(rc));
    tr_msg_free(done);
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return rc ? 1 : 0;
}

int bench_server_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(bench_server *)state = *(const bench_server *)arg;
    return 0;
}

void bench_server_terminate(tr_ctx *cx, void *state, int reason) {
    tr_send_i64(tr_ctx_system(cx), ((bench_server *)state)->report, MSG_DONE, reason);
}

int bench_server_watch(tr_ctx *cx, bench_server *s, tr_pid sender) {
    if (s->watching)
        return 0;
    uint32_t ref;
    s->watching = 1;
    return tr_monitor(cx, sender, &ref);
}

int bench_server_receive(tr_ctx *cx, bench_server *s, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case MSG_QUIT: return tr_exit(cx, 0);
    case TR_MSG_DOWN: /* normally TR_ENODEDOWN: the client's node has gone */
        fprintf(stderr, "%s: the client's actor went down (%s)\n", s->bench,
                tr_strerror(tr_msg_exit_reason(m)));
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

void bench_node_stats_print(tr_system *sys, const char *bench) {
    tr_node_stats ns;
    if (tr_node_stats_get(sys, &ns) == 0)
        fprintf(stderr,
                "%s: node stats: frames out %llu in %llu, batches out %llu in %llu, bad %llu, "
                "dead letters %llu\n",
                bench, (unsigned long long)ns.frames_out, (unsigned long long)ns.frames_in,
                (unsigned long long)ns.batches_out, (unsigned long long)ns.batches_in,
                (unsigned long long)ns.bad_frames, (unsigned long long)ns.dead_letters);
}

int bench_remote_main(int argc, char **argv, const char *bench, const char *name,
                      const tr_actor_spec *spec, int (*run)(const char *url, long divisor)) {
    long divisor = argc > 3 ? strtol(argv[3], NULL, 10) : 1;
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return bench_serve(bench, argv[2], name, spec);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "run") == 0 && divisor >= 1)
        return run(argv[2], divisor);
    fprintf(stderr, "usage: %s serve URL | run URL [scale-divisor >= 1]\n", argv[0]);
    return 2;
}
