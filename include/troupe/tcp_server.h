/* troupe/tcp_server.h — a TCP server: a listener actor that gives each
 * accepted connection an actor of its own, started under a supervisor.
 * Built on the public API only (<troupe.h>, <troupe/tcp.h>,
 * <troupe/supervisor.h>).
 *
 * The listener actor owns the listening socket and, linked to it, a pool
 * supervisor (simple-one-for-one) of temporary children: a connection's
 * actor that crashes is not restarted (its socket closes with it, as it is
 * the socket's owner), and the others go on. For each accepted connection
 * the pool starts an actor from `conn`, whose init gets a tr_tcp_conn_arg,
 * and makes it the connection's owner before it can receive anything: it
 * then gets TR_MSG_TCP_DATA and, once, TR_MSG_TCP_CLOSED (troupe/tcp.h).
 * Give `conn` a bounded TR_OVERFLOW_BLOCK mailbox so a slow connection
 * actor stops its socket's reads instead of buffering them, and an idle
 * timeout with tr_receive_timeout if silent clients must not hold a
 * connection forever.
 *
 * Stopping: tr_send_exit(sys, server, TR_ESTOPPED) (or any exit of the
 * listener) closes the listener, stops the pool and so every connection. */
#ifndef TROUPE_TCP_SERVER_H
#define TROUPE_TCP_SERVER_H

#include <troupe.h>
#include <troupe/tcp.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tr_tcp_server_spec {
    const char *host;          /* numeric address to listen on (copied) */
    int port;                  /* 0: any free port */
    const tr_actor_spec *conn; /* each connection's actor (static, as for tr_spawn) */
    const void *arg;           /* handed to each connection's init in tr_tcp_conn_arg */
} tr_tcp_server_spec;

/* What a connection actor's init gets as its argument. */
typedef struct tr_tcp_conn_arg {
    tr_pid conn;               /* the connection's pid: write to it, close it */
    const tr_actor_spec *spec; /* the server's conn spec */
    const void *arg;           /* the server spec's arg */
} tr_tcp_conn_arg;

/* Starts a server and returns the listener actor's pid once it listens;
 * *bound_port (if not NULL) gets the port. Errors: TR_EINVAL (spec, host or
 * conn NULL), the errors of tr_tcp_listen (TR_EADDRINUSE, TR_ESYS, ...),
 * TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API tr_pid tr_tcp_server_start(tr_system *sys, const tr_tcp_server_spec *spec, int *bound_port);

#ifdef __cplusplus
}
#endif

#endif
