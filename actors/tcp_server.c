/* tcp_server.c — the listener actor of troupe/tcp_server.h, on the public API. */
#include <troupe/supervisor.h>
#include <troupe/tcp_server.h>

#include <string.h>

typedef struct server {
    tr_tcp_server_spec spec;
    char host[64];
    tr_pid pool, listener;
    int *port_out; /* where init puts the bound port (it runs in tr_spawn) */
} server;

/* The pool's start function: the connection's actor, linked to the pool,
 * owns the connection from before its first message. */
static tr_pid start_conn(tr_ctx *cx, const void *arg) {
    const tr_tcp_conn_arg *c = arg;
    tr_system *sys = tr_ctx_system(cx);
    tr_pid pid = tr_spawn_link(cx, c->spec, c);
    if (pid < 0 || tr_tcp_start(sys, c->conn, pid) != 0)
        tr_tcp_close(sys, c->conn); /* nobody will own it: do not keep it open */
    return pid;
}

static int server_init(tr_ctx *cx, void *state, const void *arg) {
    server *s = state;
    memcpy(s, arg, sizeof *s);
    s->spec.host = s->host;
    const tr_sup_child_spec child = {.id = "conn",
                                     .start = start_conn,
                                     .restart = TR_SUP_TEMPORARY,
                                     .shutdown_ms = TR_SUP_BRUTAL_KILL};
    const tr_sup_spec pool = {.strategy = TR_SUP_SIMPLE_ONE_FOR_ONE,
                              .intensity = 1,
                              .period_ms = 5000,
                              .children = &child,
                              .nchildren = 1};
    s->pool = tr_sup_start_link(cx, &pool);
    if (s->pool < 0)
        return (int)s->pool;
    return tr_tcp_listen(tr_ctx_system(cx), s->host, s->spec.port, tr_self(cx), &s->listener,
                         s->port_out);
}

static int server_receive(tr_ctx *cx, void *state, tr_msg *m) {
    server *s = state;
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_ACCEPTED: {
        tr_tcp_conn_arg c = {tr_msg_sender(m), s->spec.conn, s->spec.arg};
        tr_sup_call call = {.op = TR_SUP_START_CHILD, .arg = &c, .arg_size = sizeof c};
        if (tr_sup_call_async(cx, s->pool, &call, 0) != 0)
            tr_tcp_close(tr_ctx_system(cx), c.conn);
        return 0;
    }
    case TR_MSG_TCP_ERROR: /* TR_MSG_TCP_CLOSED follows */ return 0;
    case TR_MSG_TCP_CLOSED: /* the listening socket failed */
        return tr_exit(cx, (int)tr_msg_i64(m));
    case TR_SUP_MSG_ANSWER: /* a start that failed has closed its connection */ return 0;
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec server_spec = {
    .name = "tcp_server",
    .state_size = sizeof(server),
    .init = server_init,
    .receive = server_receive,
};

tr_pid tr_tcp_server_start(tr_system *sys, const tr_tcp_server_spec *spec, int *bound_port) {
    server init = {.port_out = bound_port};
    if (!sys || !spec || !spec->host || !spec->conn || strlen(spec->host) >= sizeof init.host)
        return TR_EINVAL;
    init.spec = *spec;
    strcpy(init.host, spec->host);
    return tr_spawn(sys, &server_spec, &init); /* init fails with the listener's error */
}
