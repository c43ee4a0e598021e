/* tcp.c — see tcp.h for the protocol and troupe/tcp.h for the API. */
#include "tcp.h"

#include "command.h"
#include "mute.h"
#include "signals.h"
#include "worker.h"

#include <troupe/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- sockets, by pid ---- */

/* What listeners and connections share; first in both. */
typedef struct sock {
    tr_handle h; /* h.close tells the kinds apart */
    tr_system *sys;
    tr_pid pid, owner;
    uint32_t ref; /* the monitor of the current owner (tcp.h, step 2) */
    uint8_t ended;
} sock;

typedef struct conn {
    sock s;
    uv_tcp_t tcp;
    uv_connect_t connecting; /* tr_tcp_connect's request */
    uint8_t started, reading, muted, write_paused, closing;
} conn;

typedef struct listener {
    sock s;
    uv_poll_t poll;
    uv_timer_t pause; /* accepting rests a while when descriptors run out */
    int fd, open_handles;
} listener;

typedef struct write_req {
    uv_write_t req;
    tr_msg *m;
} write_req;

static tr_pid io_pid(uint64_t id) {
    return (tr_pid)(((uint64_t)TR_IO_NODE << TR_NODE_SHIFT) | id);
}

static uint64_t io_id(tr_pid pid) {
    return (uint64_t)pid & ((1ull << TR_NODE_SHIFT) - 1);
}

int tr_tcp_is_socket(tr_pid pid) {
    return pid > 0 && tr_pid_node(pid) == TR_IO_NODE;
}

static void conn_close_handle(tr_handle *h);
static void listener_close_handle(tr_handle *h);

static conn *conn_of(tr_worker *w, tr_pid pid) {
    tr_handle *h = tr_worker_handle_get(w, io_id(pid));
    return h && h->close == conn_close_handle ? (conn *)h : NULL;
}

/* Sends `to` a message of type with an i64 payload, from socket s. */
static int tell(tr_worker *w, sock *s, tr_pid to, uint32_t type, int64_t value) {
    tr_msg *m = tr_msg_alloc(s->sys, w, type, sizeof value);
    if (!m)
        return TR_ENOMEM;
    memcpy(m->data, &value, sizeof value);
    m->sender = s->pid;
    return tr_msg_deliver(s->sys, w, to, m);
}

/* Step 2: s watches owner instead of the one it had. */
static void watch_owner(tr_worker *w, sock *s, tr_pid owner) {
    if (s->owner)
        tr_signal_send(s->sys, w, s->pid, s->owner, TR_KIND_DEMONITOR, 0, s->ref);
    s->owner = owner;
    s->ref++;
    tr_signal_send(s->sys, w, s->pid, owner, TR_KIND_MONITOR, 0, s->ref);
}

/* Step 4's messages: the owner is told, and forgets its monitor. */
static void sock_ended(tr_worker *w, sock *s, int64_t reason) {
    s->ended = 1;
    tr_worker_handle_remove(w, &s->h);
    if (!s->owner)
        return;
    if (reason != 0)
        tell(w, s, s->owner, TR_MSG_TCP_ERROR, reason);
    tell(w, s, s->owner, TR_MSG_TCP_CLOSED, reason);
    tr_signal_send(s->sys, w, s->pid, s->owner, TR_KIND_DEMONITOR, 0, s->ref);
}

/* A socket error as a TR_MSG_TCP_CLOSED reason. */
static int64_t close_reason(int uv_error) {
    if (uv_error == UV_EOF)
        return 0;
    if (uv_error == UV_ECONNRESET || uv_error == UV_EPIPE)
        return TR_ECONNRESET;
    if (uv_error == UV_ECONNREFUSED)
        return TR_ECONNREFUSED;
    return uv_error == UV_ENOBUFS ? TR_ENOMEM : TR_ESYS;
}

/* ---- connections ---- */

static void conn_freed(uv_handle_t *h) {
    free(h->data);
}

static void conn_close_handle(tr_handle *h) {
    conn *c = (conn *)h;
    c->s.ended = 1;
    uv_close((uv_handle_t *)&c->tcp, conn_freed);
}

static void conn_end(tr_worker *w, conn *c, int64_t reason) {
    if (c->s.ended)
        return;
    sock_ended(w, &c->s, reason);
    conn_close_handle(&c->s.h); /* cancels pending writes first (their callbacks free them) */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    tr_worker *w = tr_tls_worker;
    if (!w->io_buf)
        w->io_buf = malloc(TR_TCP_READ_MAX);
    *buf = uv_buf_init(w->io_buf, w->io_buf ? TR_TCP_READ_MAX : 0); /* 0: UV_ENOBUFS */
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Reads while the connection is started and nothing holds it back. */
static void conn_update_reading(conn *c) {
    int want = c->started && !c->muted && !c->write_paused && !c->closing && !c->s.ended;
    if (want == c->reading)
        return;
    c->reading = (uint8_t)want;
    if (want)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    conn *c = stream->data;
    tr_worker *w = tr_tls_worker;
    tr_system *sys = c->s.sys;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_end(w, c, close_reason((int)nread));
        return;
    }
    tr_msg *m = tr_msg_alloc(sys, w, TR_MSG_TCP_DATA, (size_t)nread);
    if (!m) {
        conn_end(w, c, TR_ENOMEM);
        return;
    }
    memcpy(m->data, buf->base, (size_t)nread);
    m->sender = c->s.pid;
    w->io_sending = 1; /* step 3 */
    int rc = tr_msg_deliver(sys, w, c->s.owner, m);
    w->io_sending = 0;
    if (rc == TR_ENOACTOR) { /* the owner is gone: its DOWN is on the way */
        conn_end(w, c, 0);
        return;
    }
    if (w->mute_to && tr_mute_io(w, c->s.pid)) {
        c->muted = 1;
        conn_update_reading(c);
    }
}

void tr_tcp_resume(tr_worker *w, tr_pid io) {
    conn *c = conn_of(w, io);
    if (c) {
        c->muted = 0;
        conn_update_reading(c);
    }
}

static void on_written(uv_write_t *req, int status) {
    write_req *r = (write_req *)req;
    conn *c = req->handle->data;
    tr_worker *w = tr_tls_worker;
    tr_msg_release(c->s.sys, w, r->m);
    free(r);
    if (c->s.ended)
        return;
    if (status < 0) {
        conn_end(w, c, close_reason(status));
        return;
    }
    size_t queued = c->tcp.write_queue_size;
    if (c->closing && queued == 0) {
        conn_end(w, c, 0);
        return;
    }
    if (c->write_paused && queued < TR_TCP_WRITE_LOW) {
        c->write_paused = 0;
        conn_update_reading(c);
    }
}

/* Writes m's payload: at once if the socket takes it all, else queued. Takes m. */
static void conn_write(tr_worker *w, conn *c, tr_msg *m) {
    tr_system *sys = c->s.sys;
    uv_stream_t *stream = (uv_stream_t *)&c->tcp;
    uv_buf_t buf = uv_buf_init((char *)m->data, m->size);
    int n = c->tcp.write_queue_size || !m->size ? 0 : uv_try_write(stream, &buf, 1);
    if (n == UV_EAGAIN)
        n = 0;
    if (n < 0 || (size_t)n == buf.len) {
        tr_msg_release(sys, w, m);
        if (n < 0)
            conn_end(w, c, close_reason(n));
        return;
    }
    buf.base += n;
    buf.len -= (size_t)n;
    write_req *r = malloc(sizeof *r);
    if (!r) {
        tr_msg_release(sys, w, m);
        conn_end(w, c, TR_ENOMEM);
        return;
    }
    r->m = m;
    int rc = uv_write(&r->req, stream, &buf, 1, on_written);
    if (rc < 0) {
        free(r);
        tr_msg_release(sys, w, m);
        conn_end(w, c, close_reason(rc));
        return;
    }
    if (c->tcp.write_queue_size > TR_TCP_WRITE_HIGH && !c->write_paused) {
        c->write_paused = 1;
        conn_update_reading(c);
    }
}

/* tr_tcp_close on a connection: once its writes are out. */
static void conn_close(tr_worker *w, conn *c) {
    if (c->tcp.write_queue_size == 0) {
        conn_end(w, c, 0);
        return;
    }
    c->closing = 1;
    conn_update_reading(c);
}

typedef struct adopt_args {
    int fd;
    uint64_t id;
    tr_pid owner, listener;
} adopt_args;

/* A connection on w's loop with id, not registered yet; NULL when out of
 * memory. */
static conn *conn_new(tr_worker *w, uint64_t id) {
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->s.h.id = id;
    c->s.h.close = conn_close_handle;
    c->s.sys = w->sys;
    c->s.pid = io_pid(id);
    uv_tcp_init(&w->loop, &c->tcp);
    c->tcp.data = c;
    return c;
}

/* Registers c on w and has it watch owner. Returns 0, or TR_ENOMEM (c is
 * then closing). */
static int conn_register(tr_worker *w, conn *c, tr_pid owner) {
    if (tr_worker_handle_add(w, &c->s.h) != 0) {
        conn_close_handle(&c->s.h);
        return TR_ENOMEM;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    watch_owner(w, &c->s, owner);
    return 0;
}

/* Tells c's owner that c is there (type: ACCEPTED or CONNECTED). An owner
 * that cannot be told (gone, or no memory for the message) leaves nobody to
 * read c: it ends. */
static void announce(tr_worker *w, conn *c, uint32_t type, int64_t value) {
    if (tell(w, &c->s, c->s.owner, type, value) != 0) {
        c->s.owner = TR_PID_NONE; /* nobody to tell */
        conn_end(w, c, 0);
    }
}

/* A connection accepted elsewhere settles on w: it is announced to the
 * listener's owner, which it belongs to until tr_tcp_start. */
static void adopt(tr_worker *w, const adopt_args *a) {
    conn *c = conn_new(w, a->id);
    if (!c) {
        close(a->fd);
        return;
    }
    if (uv_tcp_open(&c->tcp, a->fd) != 0) {
        close(a->fd);
        conn_close_handle(&c->s.h);
        return;
    }
    if (conn_register(w, c, a->owner) == 0)
        announce(w, c, TR_MSG_TCP_ACCEPTED, a->listener);
}

static void run_adopt(tr_worker *w, void *data, size_t size) {
    adopt_args a;
    memcpy(&a, data, size);
    adopt(w, &a);
}

static void drop_adopt(tr_worker *w, void *data, size_t size) {
    (void)w;
    adopt_args a;
    memcpy(&a, data, size);
    close(a.fd);
}

typedef struct connect_args {
    struct sockaddr_storage addr;
    uint64_t id;
    tr_pid owner;
} connect_args;

static void on_connected(uv_connect_t *req, int status) {
    conn *c = req->handle->data;
    tr_worker *w = tr_tls_worker;
    if (c->s.ended) /* closed while connecting (its owner exited, say) */
        return;
    if (status < 0) {
        conn_end(w, c, close_reason(status));
        return;
    }
    c->started = 1;
    announce(w, c, TR_MSG_TCP_CONNECTED, 0);
    if (!c->s.ended)
        conn_update_reading(c);
}

static void run_connect(tr_worker *w, void *data, size_t size) {
    connect_args a;
    memcpy(&a, data, size);
    conn *c = conn_new(w, a.id);
    if (!c || conn_register(w, c, a.owner) != 0) { /* no memory: the owner hears it */
        sock gone = {.sys = w->sys, .pid = io_pid(a.id)};
        tell(w, &gone, a.owner, TR_MSG_TCP_ERROR, TR_ENOMEM);
        tell(w, &gone, a.owner, TR_MSG_TCP_CLOSED, TR_ENOMEM);
        return;
    }
    int rc = uv_tcp_connect(&c->connecting, &c->tcp, (struct sockaddr *)&a.addr, on_connected);
    if (rc < 0)
        conn_end(w, c, close_reason(rc));
}

/* ---- listeners ---- */

static void listener_freed(uv_handle_t *h) {
    listener *l = h->data;
    if (--l->open_handles == 0) {
        close(l->fd);
        free(l);
    }
}

static void listener_close_handle(tr_handle *h) {
    listener *l = (listener *)h;
    l->s.ended = 1;
    uv_close((uv_handle_t *)&l->poll, listener_freed);
    uv_close((uv_handle_t *)&l->pause, listener_freed);
}

static void listener_end(tr_worker *w, listener *l, int64_t reason) {
    if (l->s.ended)
        return;
    sock_ended(w, &l->s, reason);
    listener_close_handle(&l->s.h);
}

/* Hands accepted descriptor fd to a worker picked in turn. */
static void place(tr_worker *w, listener *l, int fd) {
    tr_system *sys = l->s.sys;
    tr_worker *v = tr_worker_pick(sys);
    adopt_args a = {fd, tr_worker_new_id(v), l->s.owner, l->s.pid};
    if (v == w)
        adopt(w, &a);
    else if (tr_command_send(sys, v, run_adopt, drop_adopt, &a, sizeof a) != 0)
        close(fd);
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_rested(uv_timer_t *t) {
    listener *l = t->data;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

#define TR_ACCEPT_BATCH 64   /* accepts per wake-up, so one listener cannot hog its worker */
#define TR_ACCEPT_REST_MS 50 /* the rest when descriptors (or memory) run out */

static void on_readable(uv_poll_t *p, int status, int events) {
    (void)events;
    listener *l = p->data;
    tr_worker *w = tr_tls_worker;
    if (status < 0) {
        listener_end(w, l, TR_ESYS);
        return;
    }
    for (int i = 0; i < TR_ACCEPT_BATCH; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            place(w, l, fd);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The pending connection stays queued: try again after a rest
               instead of spinning on a socket that stays readable. */
            uv_poll_stop(&l->poll);
            uv_timer_start(&l->pause, on_rested, TR_ACCEPT_REST_MS, 0);
            return;
        }
        /* ECONNABORTED, EINTR, a protocol error: that connection only */
    }
}

typedef struct listen_args {
    int fd;
    uint64_t id;
    tr_pid owner;
} listen_args;

static void listen_begin(tr_worker *w, const listen_args *a) {
    listener *l = calloc(1, sizeof *l);
    if (!l || uv_poll_init_socket(&w->loop, &l->poll, a->fd) != 0) {
        free(l);
        close(a->fd);
        return;
    }
    l->fd = a->fd;
    l->s.h.id = a->id;
    l->s.h.close = listener_close_handle;
    l->s.sys = w->sys;
    l->s.pid = io_pid(a->id);
    l->poll.data = l;
    uv_timer_init(&w->loop, &l->pause);
    l->pause.data = l;
    l->open_handles = 2;
    if (tr_worker_handle_add(w, &l->s.h) != 0) {
        listener_close_handle(&l->s.h);
        return;
    }
    watch_owner(w, &l->s, a->owner);
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

static void run_listen(tr_worker *w, void *data, size_t size) {
    listen_args a;
    memcpy(&a, data, size);
    listen_begin(w, &a);
}

static void drop_listen(tr_worker *w, void *data, size_t size) {
    (void)w;
    listen_args a;
    memcpy(&a, data, size);
    close(a.fd);
}

/* ---- mail and commands on the socket's worker ---- */

int tr_io_deliver(tr_system *sys, tr_worker *w, tr_pid to, tr_msg *m) {
    tr_worker *v = tr_worker_of_id(sys, io_id(to));
    if (!v) {
        tr_msg_undeliverable(sys, w, m);
        return TR_ENOACTOR;
    }
    tr_command_post(sys, v, m); /* step 1: even from v itself */
    return 0;
}

void tr_io_mail(tr_worker *w, tr_msg *m) {
    tr_system *sys = w->sys;
    tr_handle *h = tr_worker_handle_get(w, io_id(m->to));
    sock *s = (sock *)h;
    if (h && m->kind == TR_KIND_DOWN) { /* an owner exited (step 2) */
        if (m->ref == s->ref) {
            s->owner = TR_PID_NONE; /* nobody left to tell */
            if (h->close == conn_close_handle)
                conn_end(w, (conn *)h, 0);
            else
                listener_end(w, (listener *)h, 0);
        }
        tr_msg_release(sys, w, m);
        return;
    }
    /* Writes go to connections that are not closing; anything else (a link,
       an ask, a write to a listener or a closed socket) finds nothing there
       to take it. */
    conn *c = h && h->close == conn_close_handle ? (conn *)h : NULL;
    if (!c || c->closing || m->kind != TR_KIND_USER || tr_msg_is_request(m)) {
        tr_msg_undeliverable(sys, w, m);
        return;
    }
    conn_write(w, c, m);
}

typedef struct start_args {
    tr_pid conn, owner;
} start_args;

static void run_start(tr_worker *w, void *data, size_t size) {
    start_args a;
    memcpy(&a, data, size);
    conn *c = conn_of(w, a.conn);
    if (!c)
        return; /* it has closed meanwhile */
    if (c->s.owner != a.owner)
        watch_owner(w, &c->s, a.owner);
    c->started = 1;
    c->muted = 0; /* a mute was on the previous owner's mailbox */
    conn_update_reading(c);
}

static void run_close(tr_worker *w, void *data, size_t size) {
    tr_pid pid;
    memcpy(&pid, data, size);
    tr_handle *h = tr_worker_handle_get(w, io_id(pid));
    if (h && h->close == conn_close_handle)
        conn_close(w, (conn *)h);
    else if (h && h->close == listener_close_handle)
        listener_end(w, (listener *)h, 0);
}

/* ---- the API ---- */

/* The worker sock's pid names, or NULL. */
static tr_worker *worker_of_socket(tr_system *sys, tr_pid pid) {
    return tr_tcp_is_socket(pid) ? tr_worker_of_id(sys, io_id(pid)) : NULL;
}

/* A command about a socket, through its worker's inbox (step 1's order). */
static int sock_command(tr_system *sys, tr_pid sockpid, tr_command_fn fn, const void *args,
                        size_t size) {
    tr_worker *v = worker_of_socket(sys, sockpid);
    if (!v)
        return TR_EINVAL;
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    return tr_command_send(sys, v, fn, NULL, args, size);
}

static int start(tr_system *sys, tr_pid conn_pid, tr_pid owner) {
    start_args a = {conn_pid, owner};
    return sock_command(sys, conn_pid, run_start, &a, sizeof a);
}

/* Whether owner can own a socket: a pid, but not a socket's, which would
 * neither take the socket's messages nor exit for it to close. */
static int owner_ok(tr_pid owner) {
    return owner > 0 && !tr_tcp_is_socket(owner);
}

int tr_tcp_start(tr_system *sys, tr_pid conn_pid, tr_pid owner) {
    if (!sys || !owner_ok(owner))
        return TR_EINVAL;
    TR_API_CALL(sys, int, start(sys, conn_pid, owner));
}

int tr_tcp_close(tr_system *sys, tr_pid sockpid) {
    if (!sys)
        return TR_EINVAL;
    TR_API_CALL(sys, int, sock_command(sys, sockpid, run_close, &sockpid, sizeof sockpid));
}

int tr_tcp_write(tr_system *sys, tr_pid conn_pid, const void *data, size_t size) {
    if (!sys || !worker_of_socket(sys, conn_pid))
        return TR_EINVAL;
    if (size > TR_MSG_MAX_PAYLOAD)
        return TR_ETOOBIG;
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    return tr_send(sys, conn_pid, 0, data, size);
}

/* A write to a connection the peer has reset raises SIGPIPE, which would
 * end the process: unless the program has a handler of its own when the
 * process makes its first socket, it is ignored, and the error arrives as
 * TR_ECONNRESET instead. */
static uv_once_t sigpipe_once = UV_ONCE_INIT;

static void ignore_sigpipe_now(void) {
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

static void ignore_sigpipe(void) {
    uv_once(&sigpipe_once, ignore_sigpipe_now);
}

/* Has a socket made, by the command fn with args (size bytes, holding the
 * socket's id at *id, filled here), on the calling worker or on one picked
 * in turn, and stores its pid in *pid. Returns 0 or TR_ENOMEM. */
static int sock_make(tr_system *sys, uint64_t *id, tr_command_fn fn, tr_command_fn drop,
                     const void *args, size_t size, tr_pid *pid) {
    tr_worker *v = tr_worker_of(sys);
    if (!v)
        v = tr_worker_pick(sys);
    *id = tr_worker_new_id(v);
    int rc = tr_command_send(sys, v, fn, drop, args, size);
    if (rc == 0)
        *pid = io_pid(*id);
    return rc;
}

/* Reads a numeric address. Returns 0 or TR_EINVAL. */
static int parse_addr(const char *host, int port, struct sockaddr_storage *addr) {
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) != 0)
        return TR_EINVAL;
    return 0;
}

static int do_connect(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *conn_pid) {
    connect_args a;
    memset(&a, 0, sizeof a);
    if (parse_addr(host, port, &a.addr) != 0)
        return TR_EINVAL;
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    ignore_sigpipe();
    a.owner = owner;
    return sock_make(sys, &a.id, run_connect, NULL, &a, sizeof a, conn_pid);
}

int tr_tcp_connect(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *conn_pid) {
    if (!sys || !host || !conn_pid || port < 1 || port > 65535 || !owner_ok(owner))
        return TR_EINVAL;
    TR_API_CALL(sys, int, do_connect(sys, host, port, owner, conn_pid));
}

/* Makes, binds and opens a listening socket. Returns the descriptor or a
 * TR_E* code. */
static int open_listener(const char *host, int port, int *bound_port) {
    ignore_sigpipe();
    struct sockaddr_storage addr;
    if (parse_addr(host, port, &addr) != 0)
        return TR_EINVAL;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return TR_ESYS;
    int one = 1;
    socklen_t len =
        addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        int rc = errno == EADDRINUSE ? TR_EADDRINUSE : TR_ESYS;
        close(fd);
        return rc;
    }
    if (bound_port)
        *bound_port = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                                      : ((struct sockaddr_in6 *)&addr)->sin6_port);
    return fd;
}

static int do_listen(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *listener_pid,
                     int *bound_port) {
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    int fd = open_listener(host, port, bound_port);
    if (fd < 0)
        return fd;
    listen_args a = {fd, 0, owner};
    int rc = sock_make(sys, &a.id, run_listen, drop_listen, &a, sizeof a, listener_pid);
    if (rc != 0)
        close(fd);
    return rc;
}

int tr_tcp_listen(tr_system *sys, const char *host, int port, tr_pid owner, tr_pid *listener_pid,
                  int *bound_port) {
    if (!sys || !host || !listener_pid || port < 0 || port > 65535 || !owner_ok(owner))
        return TR_EINVAL;
    TR_API_CALL(sys, int, do_listen(sys, host, port, owner, listener_pid, bound_port));
}
