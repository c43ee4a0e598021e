/* troupe/tcp.h — TCP on the workers' libuv loops.
 *
 * A socket is addressed like an actor: a listener and each connection have a
 * pid (from a node of their own, so they are never confused with actors),
 * and mail to a connection's pid is written to it. A socket lives on the
 * loop of one worker for its whole life; any actor on any worker, or any
 * plain thread, may use it, because everything reaches it as mail or a
 * command on that worker, in the order each sender sent it.
 *
 *   listen     tr_tcp_listen opens a listener. Each connection it accepts
 *              is placed on a worker in turn (so connections spread over
 *              the workers) and announced to the listener's owner with
 *              TR_MSG_TCP_ACCEPTED, sent by the connection's pid.
 *   connect    tr_tcp_connect opens a connection to a listener elsewhere;
 *              its owner gets TR_MSG_TCP_CONNECTED, then data as below
 *              (or TR_MSG_TCP_ERROR and TR_MSG_TCP_CLOSED if it fails).
 *   own        tr_tcp_start gives a connection to an actor (its owner,
 *              typically one spawned for it) and starts reading: data
 *              arrives as TR_MSG_TCP_DATA, and the end, exactly once, as
 *              TR_MSG_TCP_CLOSED (after a TR_MSG_TCP_ERROR if it failed),
 *              all sent by the connection's pid.
 *   write      tr_tcp_write, or any message sent or forwarded to the
 *              connection's pid (its payload is written; forwarding a
 *              TR_MSG_TCP_DATA message writes it back without a copy).
 *   close      tr_tcp_close, after what was written before it.
 *
 * Lifetimes. A connection or listener is closed when its owner exits (it
 * monitors its owner), so an actor per connection cannot leak its socket.
 * A connection accepted but not yet started belongs to the listener's
 * owner. Everything is closed when the system stops.
 *
 * Flow control. Reading stops while the owner's mailbox is full and starts
 * again when it drains below its low watermark, when the owner's mailbox is
 * bounded with TR_OVERFLOW_BLOCK (the policy to use for a connection's
 * actor: a slow consumer then holds at most its capacity plus one read of
 * TR_TCP_READ_MAX bytes). With an unbounded mailbox reads never stop; with
 * FAIL or DROP_* the data that does not fit is refused or dropped and
 * counted, as for any sender. Reading also stops while more than
 * TR_TCP_WRITE_HIGH bytes wait to be written (a peer that does not read
 * what an echo-like server writes back cannot make it buffer without end),
 * and starts again below TR_TCP_WRITE_LOW.
 *
 * End of input closes: when the peer shuts down its side (EOF), the
 * connection is closed at once and its owner gets TR_MSG_TCP_CLOSED (0), as
 * Erlang's gen_tcp does by default; what it writes afterwards is a dead
 * letter. A peer that wants every answer reads them before it closes.
 *
 * SIGPIPE: the process's first tr_tcp_listen or tr_tcp_connect sets SIGPIPE
 * to be ignored unless the program has installed a handler by then (a write
 * to a reset peer would otherwise end the process); such a write is reported
 * as TR_ECONNRESET.
 *
 * Addresses are numeric IPv4 or IPv6 ("127.0.0.1", "::1", "0.0.0.0"). */
#ifndef TROUPE_TCP_H
#define TROUPE_TCP_H

#include <troupe.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_TCP_READ_MAX 65536          /* the most one read delivers */
#define TR_TCP_WRITE_HIGH (256u << 10) /* unwritten bytes that stop reading, */
#define TR_TCP_WRITE_LOW (64u << 10)   /* and the level that starts it again */

/* A connection was accepted: sender = the connection's pid; tr_msg_i64 =
 * the listener's pid. */
#define TR_MSG_TCP_ACCEPTED 0xFFFF0010u
/* Bytes read from the connection (sender): tr_msg_data / tr_msg_size. */
#define TR_MSG_TCP_DATA 0xFFFF0011u
/* The connection (sender) is closed; tr_msg_i64 says why: 0 when the peer
 * closed it or tr_tcp_close did, TR_ECONNRESET when the peer reset it,
 * TR_ESYS for another socket error, TR_ENOMEM. No data follows it. */
#define TR_MSG_TCP_CLOSED 0xFFFF0012u
/* The socket (sender) failed, with tr_msg_i64 the reason (as for CLOSED):
 * sent just before the TR_MSG_TCP_CLOSED with that reason, for owners that
 * handle errors apart. */
#define TR_MSG_TCP_ERROR 0xFFFF0013u
/* A connection tr_tcp_connect opened (sender) is connected and reading. */
#define TR_MSG_TCP_CONNECTED 0xFFFF0014u

/* Whether pid names a socket (a connection or a listener) rather than an
 * actor: 1 or 0, no errors. Any thread. */
TR_API int tr_tcp_is_socket(tr_pid pid);

/* Listens on host:port (port 0: a free port, which *bound_port gets if it is
 * not NULL); accepted connections are announced to owner. Stores the
 * listener's pid in *listener. Errors: TR_EINVAL (sys, host or listener
 * NULL, host not numeric, port out of range, owner not a pid or a socket's
 * pid), TR_EADDRINUSE, TR_ESYS (the socket could not be made: no
 * descriptors left, say), TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API int tr_tcp_listen(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *listener,
                         int *bound_port);

/* Connects to host:port from the calling actor's worker (a worker picked in
 * turn from a plain thread), for owner, which gets TR_MSG_TCP_CONNECTED when
 * the connection is up (reading starts then), or TR_MSG_TCP_ERROR and
 * TR_MSG_TCP_CLOSED with TR_ECONNREFUSED (nobody listens), TR_ENOMEM, or
 * TR_ESYS (another failure) if it cannot be made. Stores the
 * connection's pid in *conn at once: writes to it before it is up wait for
 * it, in order. The connection closes when owner exits. Errors: TR_EINVAL
 * (sys, host or conn NULL, host not numeric, port not 1..65535, owner not a
 * pid or a socket's pid), TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API int tr_tcp_connect(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *conn);

/* Makes owner the owner of connection conn and starts reading (again, if it
 * had another owner: the connection then stops monitoring that one). The
 * data that arrives from now on goes to owner. Returns 0 once the request is
 * on its way; a connection that has closed meanwhile ignores it (its
 * TR_MSG_TCP_CLOSED went to its previous owner), as does a listener's pid.
 * Errors: TR_EINVAL (conn not a socket of sys, owner not a pid or a
 * socket's pid), TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API int tr_tcp_start(tr_system *sys, tr_pid conn, tr_pid owner);

/* Writes a copy of size bytes of data to connection conn: the same as
 * tr_send(sys, conn, 0, data, size). Writes from one sender are written in
 * the order sent. Returns 0 once the write is on its way; a write to a
 * connection that has closed is a counted dead letter. Errors: TR_EINVAL,
 * TR_ETOOBIG, TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API int tr_tcp_write(tr_system *sys, tr_pid conn, const void *data, size_t size);

/* Closes a connection once what was written to it before is written, or
 * closes a listener. The owner gets TR_MSG_TCP_CLOSED (reason 0). Harmless
 * on a socket already closed: returns 0. Errors: TR_EINVAL (not a socket of
 * sys), TR_ENOMEM, TR_ESTOPPED. Any thread. */
TR_API int tr_tcp_close(tr_system *sys, tr_pid sock);

#ifdef __cplusplus
}
#endif

#endif
