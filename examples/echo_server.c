/* echo_server.c — a TCP echo server with an actor per connection:
 * `echo_server HOST PORT [IDLE_MS]`. Every byte a client sends comes back;
 * a client silent for IDLE_MS (default 30,000) is disconnected, and one that
 * misbehaves costs only its own connection. Compare echo_iterative, where
 * one silent client stalls everyone. Runs until interrupted (Ctrl-C). */
#include <troupe/tcp_server.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CONN_MAILBOX                                                                               \
    16 /* reads held for a busy connection actor before its socket stops reading                   \
        */

static uint32_t idle_ms = 30000;

static int conn_init(tr_ctx *cx, void *state, const void *arg) {
    *(tr_pid *)state = ((const tr_tcp_conn_arg *)arg)->conn;
    return tr_receive_timeout(cx, idle_ms);
}

static int conn_receive(tr_ctx *cx, void *state, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_DATA: /* back where it came from, without a copy */
        return tr_msg_forward(cx, tr_msg_sender(m), m);
    case TR_MSG_TIMEOUT: /* silent too long */
        return tr_tcp_close(tr_ctx_system(cx), *(tr_pid *)state);
    case TR_MSG_TCP_ERROR: /* a reset, say: TR_MSG_TCP_CLOSED follows */ return 0;
    case TR_MSG_TCP_CLOSED: return tr_exit(cx, 0);
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec conn_spec = {
    .name = "echo_conn",
    .state_size = sizeof(tr_pid),
    .init = conn_init,
    .receive = conn_receive,
    .mailbox_capacity = CONN_MAILBOX,
    .overflow = TR_OVERFLOW_BLOCK,
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

int main(int argc, char **argv) {
    if (argc < 3 || atoi(argv[2]) < 0 || atoi(argv[2]) > 65535) {
        fprintf(stderr, "usage: %s HOST PORT [IDLE_MS]\n", argv[0]);
        return 2;
    }
    if (argc > 3)
        idle_ms = (uint32_t)strtoul(argv[3], NULL, 10);
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    if (getenv("WORKERS"))
        cfg.workers = (unsigned)atoi(getenv("WORKERS"));
    tr_system *sys;
    int rc = tr_system_create(&cfg, &sys);
    if (rc != 0) {
        fprintf(stderr, "echo_server: %s\n", tr_strerror(rc));
        return 1;
    }
    tr_tcp_server_spec spec = {.host = argv[1], .port = atoi(argv[2]), .conn = &conn_spec};
    int port = 0;
    tr_pid server = tr_tcp_server_start(sys, &spec, &port);
    if (server < 0) {
        fprintf(stderr, "echo_server: cannot listen on %s:%s: %s\n", argv[1], argv[2],
                tr_strerror((int)server));
        tr_system_shutdown(sys);
        return 1;
    }
    printf("echo_server: listening on %s:%d, %u workers, an actor per connection\n", argv[1], port,
           cfg.workers);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    while (!interrupted)
        pause();
    tr_system_stats st;
    tr_system_stop(sys);
    tr_system_wait(sys, -1);
    tr_system_stats_get(sys, &st);
    /* every actor but the listener and its pool was a connection's */
    printf("echo_server: %llu connections served\n", (unsigned long long)st.spawned - 2);
    tr_system_shutdown(sys);
    return 0;
}
