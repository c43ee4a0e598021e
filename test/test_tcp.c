/* test_tcp.c — sockets addressed by pids (troupe/tcp.h) and the stock server
 * (troupe/tcp_server.h), on loopback with plain POSIX clients.
 *
 * Hundreds of clients echo through the stock server, every byte checked,
 * with 2 workers (connections spread over both) and with 1; clients one at a
 * time, with nothing else to wake a worker; the raw API (listen, ACCEPTED,
 * start, DATA, write and forward, exactly one CLOSED, close after writes, a
 * connection handed to another owner); a BLOCK owner that does not run holds
 * at most capacity + one read, then megabytes arrive in order; a pipeline
 * into a slow BLOCK consumer stays within its bound; a peer that does not
 * read its echo stalls its own writes instead of growing the server;
 * garbage, half lines and resets cost only their own connection; idle
 * clients are closed by a receive timeout; an owner's exit closes its
 * sockets and a listener's stops its accepting; misuse gets its error code;
 * stopping the stock server closes its clients.
 *
 * Clients are blocking sockets with SO_RCVTIMEO / SO_SNDTIMEO, or
 * non-blocking ones with poll, as watchdogs. No assertion depends on timing:
 * waits are for conditions, and the one sleep (GATE_HOLD_MS) only gives a
 * faulty socket time to show itself. `test_tcp NAME` runs one case. */
#include "check.h"
#include "net.h"
#include "worker.h" /* TR_ID_WORKER_SHIFT, TR_NODE_SHIFT, TR_IO_NODE: which worker a socket is on */

#include <troupe/tcp.h>
#include <troupe/tcp_server.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { WATCHDOG_MS = 30000 }; /* every wait: far beyond what any case needs */

/* A socket that its owner's exit closed tells nobody (tcp.c): such closes
 * add no dead letters. */

/* ---- clients: plain POSIX sockets ---- */

/* A byte of stream position i that differs with position and seed at any
 * scale, so a chunk lost, doubled or delivered out of order is caught. */
static inline unsigned char stream_byte(uint64_t i, unsigned seed) {
    uint64_t x = ((i >> 3) + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 40);
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return (unsigned char)(x >> ((i & 7) * 8));
}

static void stream_fill(unsigned char *b, size_t n, uint64_t at, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        b[i] = stream_byte(at + i, seed);
}

static size_t stream_mismatches(const unsigned char *b, size_t n, uint64_t at, unsigned seed) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += b[i] != stream_byte(at + i, seed);
    return bad;
}

/* A blocking client whose every read and write gives up (failing the test)
 * after the watchdog. */
static int client_connect(int port) {
    int fd = net_connect(port, WATCHDOG_MS);
    CHECK(fd >= 0);
    return fd;
}

static void set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0);
    CHECK_EQ(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* The client calls below name the caller's line when they fail. */
#define send_all(fd, data, n) send_all_at(__LINE__, fd, data, n)
#define recv_exact(fd, data, n) recv_exact_at(__LINE__, fd, data, n)
#define expect_eof(fd) expect_eof_at(__LINE__, fd)

static void send_all_at(int line, int fd, const void *data, size_t n) {
    const char *p = data;
    while (n) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fprintf(stderr, "line %d: send: %s\n", line, strerror(errno));
        CHECK(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

/* Reads exactly n bytes: an early EOF, an error or the watchdog fails. */
static void recv_exact_at(int line, int fd, void *data, size_t n) {
    char *p = data;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fprintf(stderr, "line %d: recv: %zd (%s), %zu bytes short\n", line, r,
                    r ? strerror(errno) : "EOF", n);
        CHECK(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

/* What the next read says: 0 for EOF, else -errno (ECONNRESET, EAGAIN for the
 * watchdog), or 1 if bytes came. */
static int recv_end(int fd) {
    char c;
    ssize_t r;
    do
        r = recv(fd, &c, 1, 0);
    while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : r > 0 ? 1 : -errno;
}

static void expect_eof_at(int line, int fd) {
    int r = recv_end(fd);
    if (r != 0)
        fprintf(stderr, "line %d: no EOF: %s\n", line, r > 0 ? "data" : strerror(-r));
    CHECK_EQ(r, 0);
}

/* Closes fd with a reset (RST) instead of a FIN. */
static void reset_close(int fd) {
    struct linger l = {1, 0};
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    close(fd);
}

/* Line n of connection id: "id:n:" and letters that depend on both, then a
 * newline; 8 to 200 bytes. Returns its length. */
static size_t make_line(char *buf, unsigned id, unsigned n) {
    size_t len = 8 + (id * 7u + n * 13u) % 193u;
    int h = snprintf(buf, len, "%u:%u:", id, n);
    for (size_t i = (size_t)h; i < len - 1; i++)
        buf[i] = (char)('a' + (id + n * 7u + i) % 26);
    buf[len - 1] = '\n';
    return len;
}

/* One line there and back on fd. */
#define round_trip(fd, id, n) round_trip_at(__LINE__, fd, id, n)
static void round_trip_at(int line, int fd, unsigned id, unsigned n) {
    char out[256], in[256];
    size_t len = make_line(out, id, n);
    send_all_at(line, fd, out, len);
    recv_exact_at(line, fd, in, len);
    CHECK(memcmp(in, out, len) == 0);
}

/* Connects to port until a connect is refused (its listener has closed),
 * under the watchdog. Returns how many connects got through (or were reset)
 * before that. */
static unsigned connect_until_refused(int port) {
    unsigned through = 0;
    for (uint64_t end = check_now_ms() + WATCHDOG_MS;; uv_sleep(1)) {
        CHECK(check_now_ms() < end);
        int fd = net_connect(port, WATCHDOG_MS);
        if (fd == -ECONNREFUSED)
            return through;
        through++;
        if (fd == -ECONNRESET) /* the listener closed during the handshake */
            continue;
        CHECK(fd >= 0);
        close(fd);
    }
}

/* tr_system_wait with the watchdog, then check_finish. */
static tr_system_stats finish(tr_system *sys) {
    CHECK_EQ(tr_system_wait(sys, WATCHDOG_MS), 0);
    return check_finish(sys);
}

static tr_system_stats stats(tr_system *sys) {
    tr_system_stats st;
    CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    return st;
}

/* The worker a socket's pid lives on (internal: the id's top bits). */
static unsigned socket_worker(tr_pid sock) {
    uint64_t id = (uint64_t)sock & ((1ull << TR_NODE_SHIFT) - 1);
    return (unsigned)(id >> TR_ID_WORKER_SHIFT) - 1;
}

/* ---- the echo connection actor (as examples/echo_server.c) ---- */

enum { ECHO_MAILBOX = 16, MAX_WORKERS = 8 };

typedef struct {
    uint32_t idle_ms; /* 0: no idle timeout */
    int quit_on_data; /* 'q' ends it normally, 'c' crashes it, on the first DATA */
} echo_opts;

typedef struct {
    tr_pid conn;
    const echo_opts *opts;
    int closed;
    int64_t error; /* the reason of the TR_MSG_TCP_ERROR seen, if any */
} echo_state;

static struct {
    atomic_int started, exited, closed_ok, closed_reset, closed_other, errors, timeouts, killed,
        crashed;
    atomic_ullong bytes, data_msgs;
    atomic_int per_worker[MAX_WORKERS];
} g_echo;

static void echo_reset(void) {
    memset(&g_echo, 0, sizeof g_echo);
}

static int echo_init(tr_ctx *cx, void *state, const void *arg) {
    const tr_tcp_conn_arg *a = arg;
    echo_state *s = state;
    s->conn = a->conn;
    s->opts = a->arg;
    CHECK(tr_tcp_is_socket(s->conn));
    unsigned w = socket_worker(s->conn);
    CHECK(w < MAX_WORKERS);
    atomic_fetch_add(&g_echo.per_worker[w], 1);
    atomic_fetch_add(&g_echo.started, 1);
    return s->opts && s->opts->idle_ms ? tr_receive_timeout(cx, s->opts->idle_ms) : 0;
}

static int echo_receive(tr_ctx *cx, void *state, tr_msg *m) {
    echo_state *s = state;
    CHECK(!s->closed); /* nothing after the one CLOSED */
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_DATA:
        CHECK_EQ(tr_msg_sender(m), s->conn);
        CHECK(tr_msg_size(m) > 0 && tr_msg_size(m) <= TR_TCP_READ_MAX);
        atomic_fetch_add(&g_echo.bytes, tr_msg_size(m));
        atomic_fetch_add(&g_echo.data_msgs, 1);
        if (s->opts && s->opts->quit_on_data) {
            char c = *(const char *)tr_msg_data(m);
            if (c == 'q')
                return tr_exit(cx, 0);
            if (c == 'c')
                return TR_EXIT_USER(7); /* a crash */
        }
        return tr_msg_forward(cx, s->conn, m); /* back where it came from, without a copy */
    case TR_MSG_TIMEOUT:
        atomic_fetch_add(&g_echo.timeouts, 1);
        return tr_tcp_close(tr_ctx_system(cx), s->conn);
    case TR_MSG_TCP_ERROR: /* the CLOSED with the same reason follows */
        CHECK_EQ(tr_msg_sender(m), s->conn);
        CHECK_EQ(s->error, 0);
        CHECK(tr_msg_i64(m) < 0);
        s->error = tr_msg_i64(m);
        atomic_fetch_add(&g_echo.errors, 1);
        return 0;
    case TR_MSG_TCP_CLOSED: {
        CHECK_EQ(tr_msg_sender(m), s->conn);
        int64_t why = tr_msg_i64(m);
        CHECK_EQ(s->error, why); /* an error came first, with this reason, or none did */
        s->closed = 1;
        atomic_fetch_add(why == 0               ? &g_echo.closed_ok
                         : why == TR_ECONNRESET ? &g_echo.closed_reset
                                                : &g_echo.closed_other,
                         1);
        if (why != 0 && why != TR_ECONNRESET)
            fprintf(stderr, "echo: closed with %lld (%s)\n", (long long)why, tr_strerror((int)why));
        return tr_exit(cx, 0);
    }
    }
    fprintf(stderr, "echo: unexpected message type %#x from %llx\n", tr_msg_type(m),
            (unsigned long long)tr_msg_sender(m));
    return TR_EUNHANDLED;
}

static void echo_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)state;
    if (reason == TR_EKILLED)
        atomic_fetch_add(&g_echo.killed, 1);
    if (reason == TR_EXIT_USER(7))
        atomic_fetch_add(&g_echo.crashed, 1);
    atomic_fetch_add(&g_echo.exited, 1);
}

static const tr_actor_spec echo_spec = {
    .name = "echo_conn",
    .state_size = sizeof(echo_state),
    .init = echo_init,
    .receive = echo_receive,
    .terminate = echo_terminate,
    .mailbox_capacity = ECHO_MAILBOX,
    .overflow = TR_OVERFLOW_BLOCK,
};

static tr_pid start_echo_server(tr_system *sys, const echo_opts *opts, int *port) {
    tr_tcp_server_spec spec = {.host = "127.0.0.1", .port = 0, .conn = &echo_spec, .arg = opts};
    *port = 0;
    tr_pid server = tr_tcp_server_start(sys, &spec, port);
    CHECK(server > 0);
    CHECK(*port > 0 && *port <= 65535);
    return server;
}

/* Whether every actor of sys has exited and (unless dead < 0) at least
 * `dead` dead letters are counted. */
static int settled(tr_system *sys, long long dead) {
    tr_system_stats st = stats(sys);
    return st.exited == st.spawned && (dead < 0 || st.dead_letters >= (uint64_t)dead);
}

/* Stops the stock server of a kept system (check_system_kept), waits until
 * its actors have all exited and `dead` dead letters are counted (unless
 * dead < 0), stops the system and checks that no more came (settle_and_stop
 * is all but the first step). Waiting while the system runs matters: a
 * socket that its owner's exit closed counts its CLOSED when its worker
 * handles the owner's DOWN, and a worker that exits first drops that DOWN. */
static tr_system_stats settle_and_stop(tr_system *sys, long long dead) {
    CHECK_WAIT_UNTIL(settled(sys, dead), WATCHDOG_MS);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = finish(sys);
    if (dead >= 0)
        CHECK_EQ(st.dead_letters, dead);
    return st;
}

static tr_system_stats stop_server(tr_system *sys, tr_pid server, long long dead) {
    CHECK_EQ(tr_send_exit(sys, server, TR_ESTOPPED), 0);
    return settle_and_stop(sys, dead);
}

/* ---- 1 and 10: hundreds of clients echo through the stock server ---- */

typedef struct {
    int port;
    unsigned first, count, lines;
} echo_clients;

/* Opens its connections, then `lines` rounds: a line on each, then each
 * line back, byte for byte; then half-closes each and waits for EOF. */
static void echo_client_thread(void *arg) {
    const echo_clients *ec = arg;
    int *fds = malloc(ec->count * sizeof *fds);
    CHECK(fds != NULL);
    for (unsigned i = 0; i < ec->count; i++)
        fds[i] = client_connect(ec->port);
    char out[256], in[256];
    for (unsigned n = 0; n < ec->lines; n++) {
        for (unsigned i = 0; i < ec->count; i++) {
            size_t len = make_line(out, ec->first + i, n);
            send_all(fds[i], out, len);
        }
        for (unsigned i = 0; i < ec->count; i++) {
            size_t len = make_line(out, ec->first + i, n);
            recv_exact(fds[i], in, len);
            CHECK(memcmp(in, out, len) == 0);
        }
    }
    for (unsigned i = 0; i < ec->count; i++)
        CHECK_EQ(shutdown(fds[i], SHUT_WR), 0);
    for (unsigned i = 0; i < ec->count; i++) {
        expect_eof(fds[i]); /* the peer's EOF closed the connection: its actor exited */
        close(fds[i]);
    }
    free(fds);
}

enum { CLIENT_THREADS = 3 };

static void echo_many(unsigned workers, unsigned clients, unsigned lines) {
    echo_reset();
    tr_system *sys = check_system_kept(workers);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    uv_thread_t threads[CLIENT_THREADS];
    echo_clients ec[CLIENT_THREADS];
    unsigned per = clients / CLIENT_THREADS;
    CHECK_EQ(per * CLIENT_THREADS, clients);
    for (unsigned t = 0; t < CLIENT_THREADS; t++) {
        ec[t] = (echo_clients){port, t * per, per, lines};
        CHECK_EQ(uv_thread_create(&threads[t], echo_client_thread, &ec[t]), 0);
    }
    for (unsigned t = 0; t < CLIENT_THREADS; t++)
        CHECK_EQ(uv_thread_join(&threads[t]), 0);
    uint64_t bytes = 0;
    char line[256];
    for (unsigned id = 0; id < clients; id++)
        for (unsigned n = 0; n < lines; n++)
            bytes += make_line(line, id, n);
    /* every connection actor saw its peer's EOF and exited */
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == (int)clients, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.started), clients);
    CHECK_EQ(atomic_load(&g_echo.closed_ok), clients);
    CHECK_EQ(atomic_load(&g_echo.closed_reset), 0);
    CHECK_EQ(atomic_load(&g_echo.closed_other), 0);
    CHECK_EQ(atomic_load(&g_echo.bytes), bytes);
    /* (terminate, which counts g_echo.exited, runs before the runtime counts the exit) */
    CHECK_WAIT_UNTIL(stats(sys).exited == clients, WATCHDOG_MS);
    tr_system_stats st = stats(sys);
    CHECK_EQ(st.spawned, 2 + clients); /* the listener actor, its pool, a conn actor each */
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(st.unhandled, 0);
    /* connections go to the workers in turn */
    for (unsigned w = 0; w < workers; w++)
        CHECK(atomic_load(&g_echo.per_worker[w]) >= (int)(clients / workers / 2));
    /* the listening socket's CLOSED to its exited owner */
    st = stop_server(sys, server, 0);
    CHECK_EQ(st.spawned, 2 + clients);
    CHECK_EQ(st.unhandled, 0);
    CHECK_EQ(st.rejected + st.dropped, 0);
}

static void echo_300_clients_two_workers(void) {
    echo_many(2, 300, SANITIZED ? 10 : 20);
}

static void echo_300_clients_one_worker(void) {
    echo_many(1, 300, SANITIZED ? 5 : 10);
}

/* ---- 10b: one client after another: nothing else wakes a worker ---- */

/* Each connection is accepted on one worker and adopted on the next one in
 * turn through a command, which delivers TR_MSG_TCP_ACCEPTED to the server
 * actor; its start, its reads and its end are commands and mail too. With
 * one client at a time there is no other traffic: a delivery that leaves its
 * receiver runnable where no worker looks (a worker that runs commands while
 * it searches for work and then parks) stalls the client until the watchdog. */
static void one_client_after_another(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    enum { CLIENTS = SANITIZED ? 100 : 300 };
    for (unsigned i = 0; i < CLIENTS; i++) {
        /* one that leaves at once, its end still being handled when... */
        int fd = client_connect(port);
        send_all(fd, "bye\n", 4);
        close(fd);
        /* ...the next one comes */
        fd = client_connect(port);
        round_trip(fd, i, 0);
        CHECK_EQ(shutdown(fd, SHUT_WR), 0);
        expect_eof(fd);
        close(fd);
    }
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 2 * CLIENTS, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.closed_other), 0);
    /* (an echo to a connection that has closed by then is a dead letter) */
    tr_system_stats st = stop_server(sys, server, -1);
    CHECK(st.dead_letters <= CLIENTS);
}

/* ---- 2: the raw API, without the stock server ---- */

enum { RAW_LISTEN = 1, RAW_WRITE_CLOSE, RAW_CLOSE_LISTENER };
enum { RAW_BIG = 3 << 20, RAW_CHUNK = 60000 };

typedef struct {
    tr_pid listener, conn;
    int conn_closed;
} raw_state;

static struct {
    _Atomic tr_pid listener, conn;
    atomic_int accepted, closed, listener_closed, wrote_close, data_after_close;
    atomic_llong last_reason;
    atomic_ullong bytes;
} g_raw;

static int raw_receive(tr_ctx *cx, void *state, tr_msg *m) {
    raw_state *s = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case RAW_LISTEN: {
        int port = 0;
        CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, tr_self(cx), &s->listener, &port), 0);
        CHECK(tr_tcp_is_socket(s->listener));
        atomic_store(&g_raw.listener, s->listener);
        return tr_reply_i64(cx, m, port);
    }
    case TR_MSG_TCP_ACCEPTED:
        CHECK_EQ(tr_msg_i64(m), s->listener);
        CHECK(tr_tcp_is_socket(tr_msg_sender(m)));
        CHECK(tr_msg_sender(m) != s->listener);
        CHECK(tr_msg_sender(m) != s->conn); /* a new pid per connection */
        s->conn = tr_msg_sender(m);
        s->conn_closed = 0;
        CHECK_EQ(tr_tcp_start(sys, s->conn, tr_self(cx)), 0);
        atomic_store(&g_raw.conn, s->conn);
        atomic_fetch_add(&g_raw.accepted, 1);
        return 0;
    case TR_MSG_TCP_DATA:
        /* "<", the data (forwarded: no copy), ">" */
        CHECK_EQ(tr_msg_sender(m), s->conn);
        if (s->conn_closed)
            atomic_fetch_add(&g_raw.data_after_close, 1);
        atomic_fetch_add(&g_raw.bytes, tr_msg_size(m));
        CHECK_EQ(tr_tcp_write(sys, s->conn, "<", 1), 0);
        CHECK_EQ(tr_msg_forward(cx, s->conn, m), 0);
        CHECK_EQ(tr_tcp_write(sys, s->conn, ">", 1), 0);
        return 0;
    case RAW_WRITE_CLOSE: { /* RAW_BIG bytes, then a close: the peer is not reading yet */
        unsigned char *buf = malloc(RAW_CHUNK);
        CHECK(buf != NULL);
        for (uint64_t at = 0; at < RAW_BIG; at += RAW_CHUNK) {
            size_t n = RAW_BIG - at < RAW_CHUNK ? RAW_BIG - at : RAW_CHUNK;
            stream_fill(buf, n, at, 2);
            CHECK_EQ(tr_tcp_write(sys, s->conn, buf, n), 0);
        }
        free(buf);
        CHECK_EQ(tr_tcp_close(sys, s->conn), 0);
        atomic_store(&g_raw.wrote_close, 1);
        return 0;
    }
    case RAW_CLOSE_LISTENER: return tr_tcp_close(sys, s->listener);
    case TR_MSG_TCP_CLOSED:
        CHECK_EQ(tr_msg_i64(m), 0);
        if (tr_msg_sender(m) == s->listener) {
            atomic_fetch_add(&g_raw.listener_closed, 1);
            return tr_exit(cx, 0);
        }
        CHECK_EQ(tr_msg_sender(m), s->conn);
        CHECK(!s->conn_closed); /* exactly once */
        s->conn_closed = 1;
        atomic_store(&g_raw.last_reason, tr_msg_i64(m));
        atomic_fetch_add(&g_raw.closed, 1);
        return 0;
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec raw_spec = {
    .name = "raw_owner", .state_size = sizeof(raw_state), .receive = raw_receive};

/* Sends n letters and reads back what raw_receive writes for them: "<"
 * chunk ">" per read, the chunks together exactly the letters sent. */
static void raw_exchange(int fd, size_t n, unsigned seed) {
    unsigned char *out = malloc(n);
    CHECK(out != NULL);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)('a' + stream_byte(i, seed) % 26);
    send_all(fd, out, n);
    size_t got = 0;
    unsigned char c;
    while (got < n) {
        recv_exact(fd, &c, 1);
        CHECK_EQ(c, '<');
        size_t chunk = 0;
        for (;;) {
            recv_exact(fd, &c, 1);
            if (c == '>')
                break;
            CHECK(got < n);
            CHECK_EQ(c, out[got]);
            got++;
            chunk++;
        }
        CHECK(chunk > 0); /* a read delivers something */
    }
    free(out);
}

static void raw_api(void) {
    memset(&g_raw, 0, sizeof g_raw);
    tr_system *sys = check_system(2, 64);
    tr_pid owner = check_spawn(sys, &raw_spec, NULL);
    int64_t port = 0;
    CHECK_EQ(tr_ask_i64(sys, owner, RAW_LISTEN, 0, &port, WATCHDOG_MS), 0);
    CHECK(port > 0);

    /* one: echoed with a frame around each read; the client's close is one
       CLOSED(0) */
    int fd = client_connect((int)port);
    raw_exchange(fd, 1000, 1);
    raw_exchange(fd, 100000, 3);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.closed) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_raw.last_reason), 0);
    CHECK_EQ(atomic_load(&g_raw.bytes), 101000);

    /* two: RAW_BIG bytes written, then tr_tcp_close, before the client reads
       anything: every byte arrives, then EOF; the owner gets CLOSED(0) */
    fd = client_connect((int)port);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.accepted) == 2, WATCHDOG_MS);
    tr_pid conn2 = atomic_load(&g_raw.conn);
    CHECK_EQ(tr_send(sys, owner, RAW_WRITE_CLOSE, NULL, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.wrote_close), WATCHDOG_MS);
    unsigned char *in = malloc(RAW_BIG);
    CHECK(in != NULL);
    recv_exact(fd, in, RAW_BIG);
    CHECK_EQ(stream_mismatches(in, RAW_BIG, 0, 2), 0);
    expect_eof(fd);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.closed) == 2, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_raw.last_reason), 0);
    /* closed: a write is a dead letter (the first here), a second close is
       harmless */
    CHECK_EQ(stats(sys).dead_letters, 0);
    CHECK_EQ(tr_tcp_write(sys, conn2, "x", 1), 0);
    CHECK_WAIT_UNTIL(stats(sys).dead_letters == 1, WATCHDOG_MS);
    CHECK_EQ(tr_tcp_close(sys, conn2), 0);
    CHECK_EQ(tr_tcp_close(sys, conn2), 0);

    /* three: a plain thread writes and closes a connection that an actor owns */
    fd = client_connect((int)port);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.accepted) == 3, WATCHDOG_MS);
    tr_pid conn3 = atomic_load(&g_raw.conn);
    CHECK(conn3 != conn2);
    size_t total = 0;
    unsigned char *buf = malloc(70000);
    CHECK(buf != NULL);
    for (size_t i = 0, n = 1; i < 20; i++, n = n * 3 % 70001) {
        stream_fill(buf, n, total, 5);
        CHECK_EQ(tr_tcp_write(sys, conn3, buf, n), 0);
        total += n;
    }
    CHECK_EQ(tr_tcp_write(sys, conn3, buf, 0), 0); /* nothing to write: harmless */
    CHECK_EQ(tr_tcp_close(sys, conn3), 0);
    CHECK(total <= RAW_BIG);
    recv_exact(fd, in, total);
    CHECK_EQ(stream_mismatches(in, total, 0, 5), 0);
    expect_eof(fd);
    close(fd);
    free(buf);
    free(in);
    CHECK_WAIT_UNTIL(atomic_load(&g_raw.closed) == 3, WATCHDOG_MS);

    /* the listener: closing it tells its owner, which then exits */
    CHECK_EQ(tr_send(sys, owner, RAW_CLOSE_LISTENER, NULL, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_raw.accepted), 3);
    CHECK_EQ(atomic_load(&g_raw.closed), 3); /* one each, none twice (checked in receive) */
    CHECK_EQ(atomic_load(&g_raw.listener_closed), 1);
    CHECK_EQ(atomic_load(&g_raw.data_after_close), 0);
    CHECK_EQ(st.dead_letters, 1); /* the write to conn2 */
    CHECK_EQ(st.unhandled, 0);
}

/* ---- 2b: a connection handed to another owner outlives the first ---- */

enum { HAND_LISTEN = 1 };

static struct {
    _Atomic tr_pid b;
    atomic_int b_closed, b_exited;
    atomic_llong b_reason;
} g_hand;

/* A: owns the listener and gives each connection to B. */
static int hand_a_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_pid *listener = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case HAND_LISTEN: {
        int port = 0;
        CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, tr_self(cx), listener, &port), 0);
        return tr_reply_i64(cx, m, port);
    }
    case TR_MSG_TCP_ACCEPTED:
        CHECK_EQ(tr_tcp_start(sys, tr_msg_sender(m), atomic_load(&g_hand.b)), 0);
        return 0;
    case CHECK_MSG_EXIT: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

/* B: echoes, and exits when its connection closes. */
static int hand_b_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_DATA: return tr_msg_forward(cx, tr_msg_sender(m), m);
    case TR_MSG_TCP_CLOSED:
        atomic_store(&g_hand.b_reason, tr_msg_i64(m));
        atomic_fetch_add(&g_hand.b_closed, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static void hand_b_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&g_hand.b_exited, 1);
}

static void handover_outlives_the_first_owner(void) {
    static const tr_actor_spec a_spec = {
        .name = "hand_a", .state_size = sizeof(tr_pid), .receive = hand_a_receive};
    static const tr_actor_spec b_spec = {
        .name = "hand_b", .receive = hand_b_receive, .terminate = hand_b_terminate};
    memset(&g_hand, 0, sizeof g_hand);
    tr_system *sys = check_system_kept(2);
    tr_pid b = check_spawn(sys, &b_spec, NULL);
    atomic_store(&g_hand.b, b);
    tr_pid a = check_spawn(sys, &a_spec, NULL);
    int64_t port = 0;
    CHECK_EQ(tr_ask_i64(sys, a, HAND_LISTEN, 0, &port, WATCHDOG_MS), 0);
    int fd = client_connect((int)port);
    round_trip(fd, 1, 0); /* B echoes: it owns the connection */
    CHECK_EQ(tr_send(sys, a, CHECK_MSG_EXIT, NULL, 0), 0);
    /* A's exit closes its listener (connects are refused once that has
       landed) but not the connection it gave away */
    unsigned through = connect_until_refused((int)port);
    for (unsigned n = 1; n < 20; n++)
        round_trip(fd, 1, n);
    CHECK_EQ(atomic_load(&g_hand.b_closed), 0);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    expect_eof(fd);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_hand.b_exited) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_hand.b_closed), 1);
    CHECK_EQ(atomic_load(&g_hand.b_reason), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.spawned, 2);
    /* for each probe the listener accepted before it closed, its ACCEPTED to
       A (and the CLOSED that follows if A was still exiting) */
    CHECK(st.dead_letters <= 2 * through);
}

/* ---- 3: a held BLOCK owner holds at most capacity + one read ---- */

/* Before its client sends the stream, the connection's actor is made to stop
 * running without blocking a worker: told to, it sends two messages to a
 * gate actor of capacity 1 whose init, run by a plain thread, waits until
 * the test opens it, so the actor is muted on the gate. First it takes one
 * byte from the client: the socket monitors its owner with a signal sent
 * before its first read, and a signal lets a muted actor go (mute.h, step
 * 5), so the gate must come after that signal has been handled (it once came
 * before, under load, and the actor ran through the whole stream). Its socket must then
 * stop reading once the mailbox is full: the depth never goes past capacity
 * + the one read that found it full, however long the gate stays shut. Then
 * everything arrives, in order. */
enum { SLOW_CAP = 4, GATE_HOLD_MS = 30, MSG_GATE = 1 };
#define SLOW_BYTES ((uint64_t)(SANITIZED ? 4 : 16) << 20)

typedef struct {
    uint64_t offset, mismatches, msgs, backlog;
    int greeted, gated; /* the one-byte greeting, then MSG_GATE */
} slow_state;

static struct {
    atomic_ullong bytes, mismatches, msgs, backlog;
    _Atomic uint32_t high_water, capacity;
    _Atomic tr_pid actor, gate;
    atomic_int greeted, done, gate_open;
    atomic_int exited, exit_reason; /* the connection's actor ended, and why */
} g_slow;

static int gate_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    (void)arg;
    atomic_store(&g_slow.gate, tr_self(cx));
    /* (twice the watchdog: the test's own waits fail first, and say why) */
    for (uint64_t end = check_now_ms() + 2 * WATCHDOG_MS; !atomic_load(&g_slow.gate_open);
         uv_sleep(1))
        CHECK(check_now_ms() < end);
    return 0;
}

static const tr_actor_spec gate_spec = {
    .name = "gate",
    .init = gate_init,
    .receive = check_idle_receive,
    .mailbox_capacity = 1,
    .overflow = TR_OVERFLOW_BLOCK,
};

static void gate_thread(void *arg) {
    CHECK(tr_spawn(arg, &gate_spec, NULL) > 0); /* returns once the gate is open */
}

static int slow_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    (void)arg;
    atomic_store(&g_slow.actor, tr_self(cx));
    return 0;
}

static int slow_receive(tr_ctx *cx, void *state, tr_msg *m) {
    slow_state *s = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_GATE: /* the second finds the gate full: muted */
        CHECK(s->greeted && !s->gated && s->msgs == 0);
        s->gated = 1;
        CHECK_EQ(tr_send(sys, atomic_load(&g_slow.gate), 1, NULL, 0), 0);
        CHECK_EQ(tr_send(sys, atomic_load(&g_slow.gate), 1, NULL, 0), 0);
        return 0;
    case TR_MSG_TCP_DATA: {
        size_t n = tr_msg_size(m);
        if (!s->greeted) { /* the greeting: the socket's monitor is in place */
            CHECK_EQ(n, 1);
            s->greeted = 1;
            atomic_store(&g_slow.greeted, 1);
            return 0;
        }
        CHECK(n > 0 && n <= TR_TCP_READ_MAX);
        CHECK(s->gated);
        /* what the socket delivered and this actor has not taken yet, wherever
           the runtime keeps it (mailbox, stash): accepted so far, less those
           taken before this one */
        tr_mailbox_stats ms;
        CHECK_EQ(tr_actor_stats(sys, tr_self(cx), &ms), 0);
        uint64_t backlog = ms.accepted - 2 - s->msgs; /* the greeting and MSG_GATE were too */
        if (backlog > s->backlog)
            s->backlog = backlog;
        s->mismatches += stream_mismatches(tr_msg_data(m), n, s->offset, 9);
        s->offset += n;
        s->msgs++;
        return 0;
    }
    case TR_MSG_TCP_CLOSED: {
        CHECK_EQ(tr_msg_i64(m), 0);
        tr_mailbox_stats ms;
        CHECK_EQ(tr_actor_stats(sys, tr_self(cx), &ms), 0);
        atomic_store(&g_slow.high_water, ms.high_water);
        atomic_store(&g_slow.capacity, ms.capacity);
        atomic_store(&g_slow.bytes, s->offset);
        atomic_store(&g_slow.mismatches, s->mismatches);
        atomic_store(&g_slow.msgs, s->msgs);
        atomic_store(&g_slow.backlog, s->backlog);
        atomic_store(&g_slow.done, 1);
        return tr_exit(cx, 0);
    }
    }
    return TR_EUNHANDLED;
}

static void slow_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)state;
    atomic_store(&g_slow.exit_reason, reason);
    atomic_store(&g_slow.exited, 1);
}

static const tr_actor_spec slow_spec = {
    .name = "slow_conn",
    .state_size = sizeof(slow_state),
    .init = slow_init,
    .receive = slow_receive,
    .terminate = slow_terminate,
    .mailbox_capacity = SLOW_CAP,
    .overflow = TR_OVERFLOW_BLOCK,
};

typedef struct {
    int fd;
    const unsigned char *data;
    size_t size;
} bulk_client;

/* Sends it all, half-closes, and waits for the server's EOF. */
static void bulk_client_thread(void *arg) {
    const bulk_client *b = arg;
    int fd = b->fd;
    send_all(fd, b->data, b->size);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    expect_eof(fd); /* the socket closed after its last read: EOF came behind the data */
    close(fd);
}

/* The connection actor's mailbox; if it has gone, says why it ended. */
static tr_mailbox_stats mailbox(tr_system *sys, tr_pid pid) {
    tr_mailbox_stats ms = {0};
    int rc = tr_actor_stats(sys, pid, &ms);
    if (rc != 0)
        fprintf(stderr, "slow_conn: %s; ended: %d, reason %s\n", tr_strerror(rc),
                atomic_load(&g_slow.exited), tr_strerror(atomic_load(&g_slow.exit_reason)));
    CHECK_EQ(rc, 0);
    return ms;
}

static void held_reader_bounded_memory(void) {
    memset(&g_slow, 0, sizeof g_slow);
    tr_system *sys = check_system_kept(2);
    uv_thread_t gate, client;
    CHECK_EQ(uv_thread_create(&gate, gate_thread, sys), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_slow.gate) != 0, WATCHDOG_MS);
    tr_tcp_server_spec spec = {.host = "127.0.0.1", .conn = &slow_spec};
    int port = 0;
    tr_pid server = tr_tcp_server_start(sys, &spec, &port);
    CHECK(server > 0);
    bulk_client b = {client_connect(port), malloc(SLOW_BYTES), SLOW_BYTES};
    CHECK_WAIT_UNTIL(atomic_load(&g_slow.actor) != 0, WATCHDOG_MS);
    tr_pid actor = atomic_load(&g_slow.actor);
    send_all(b.fd, "g", 1);
    CHECK_WAIT_UNTIL(atomic_load(&g_slow.greeted), WATCHDOG_MS);
    CHECK_EQ(tr_send(sys, actor, MSG_GATE, NULL, 0), 0);
    CHECK_WAIT_UNTIL(mailbox(sys, actor).muted == 1, WATCHDOG_MS);
    /* made in advance, so the client sends at the kernel's pace */
    CHECK(b.data != NULL);
    stream_fill((unsigned char *)b.data, SLOW_BYTES, 0, 9);
    CHECK_EQ(uv_thread_create(&client, bulk_client_thread, &b), 0);
    /* the socket fills the mailbox of its muted owner... */
    CHECK_WAIT_UNTIL(mailbox(sys, actor).high_water >= SLOW_CAP, WATCHDOG_MS);
    /* ...and reads no more: give a socket that went on reading the time to
       show it (a correct one passes whatever this wait is) */
    uv_sleep(GATE_HOLD_MS);
    tr_mailbox_stats ms = mailbox(sys, actor);
    CHECK(ms.high_water <= SLOW_CAP + 1);
    CHECK(ms.depth >= SLOW_CAP && ms.depth <= SLOW_CAP + 1);
    CHECK_EQ(ms.muted, 1);
    atomic_store(&g_slow.gate_open, 1);
    CHECK_EQ(uv_thread_join(&gate), 0);
    CHECK_EQ(uv_thread_join(&client), 0);
    free((void *)b.data);
    CHECK_WAIT_UNTIL(atomic_load(&g_slow.done), WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_slow.bytes), SLOW_BYTES);
    CHECK_EQ(atomic_load(&g_slow.mismatches), 0);
    CHECK_EQ(atomic_load(&g_slow.capacity), SLOW_CAP);
    /* the bound: capacity plus the one read that found the mailbox full */
    uint32_t hw = atomic_load(&g_slow.high_water);
    uint64_t backlog = atomic_load(&g_slow.backlog);
    if (hw > SLOW_CAP + 1 || backlog > SLOW_CAP + 1)
        fprintf(stderr,
                "held reader: high water %u, largest backlog %llu, capacity %d, %llu reads\n", hw,
                (unsigned long long)backlog, SLOW_CAP,
                (unsigned long long)atomic_load(&g_slow.msgs));
    CHECK(hw <= SLOW_CAP + 1);
    CHECK(backlog <= SLOW_CAP + 1); /* the messages held, not just those counted */
    CHECK_EQ(tr_send(sys, atomic_load(&g_slow.gate), CHECK_MSG_EXIT, NULL, 0), 0);
    tr_system_stats st = stop_server(sys, server, 0); /* the listener's CLOSED goes to nobody */
    CHECK_EQ(st.rejected + st.dropped, 0);
    CHECK_EQ(st.muted, 1); /* the actor, on the gate */
    CHECK_EQ(st.overruns, 0);
}

/* ---- 3b: a pipeline: socket, connection actor, slow BLOCK consumer ---- */

/* The connection's actor passes each read on to a consumer with a small BLOCK
 * mailbox that is slower than the client: the actor is muted on the
 * consumer, its own mailbox fills, and its socket stops reading, so the
 * consumer holds at most its capacity, plus one callback's sends of its muted
 * sender, plus what went past the bound counted as overruns (a sender that
 * others are muted on is not muted: troupe.h, TR_OVERFLOW_BLOCK). Overruns are
 * expected here: while the socket is muted on the connection's actor, the
 * actor passes on what its own full mailbox holds (ECHO_MAILBOX plus the read
 * that found it full) as overruns, until it drains below its low watermark
 * and the socket reads again; its next send to a full consumer mutes it. So
 * the overruns come in runs of at most ECHO_MAILBOX + 1, and the consumer's
 * excess is one such run, or two where the actor's worker stalls between
 * them (seen under load); a mute that did not hold would queue most reads. */
enum { PIPE_CAP = 8 };
#define PIPE_BYTES ((uint64_t)(SANITIZED ? 4 : 16) << 20)
#define PIPE_SPIN_NS 100000

static struct {
    _Atomic tr_pid consumer;
    atomic_ullong bytes, mismatches, msgs;
    atomic_int closed;
} g_pipe;

static int pipe_conn_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_DATA: return tr_msg_forward(cx, atomic_load(&g_pipe.consumer), m);
    case TR_MSG_TCP_CLOSED:
        CHECK_EQ(tr_msg_i64(m), 0);
        atomic_store(&g_pipe.closed, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec pipe_conn_spec = {
    .name = "pipe_conn",
    .receive = pipe_conn_receive,
    .mailbox_capacity = ECHO_MAILBOX,
    .overflow = TR_OVERFLOW_BLOCK,
};

static int pipe_consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    uint64_t *offset = state;
    if (tr_msg_type(m) != TR_MSG_TCP_DATA)
        return check_idle_receive(cx, state, m);
    size_t n = tr_msg_size(m);
    atomic_fetch_add(&g_pipe.mismatches, stream_mismatches(tr_msg_data(m), n, *offset, 11));
    *offset += n;
    atomic_store(&g_pipe.bytes, *offset);
    atomic_fetch_add(&g_pipe.msgs, 1);
    for (uint64_t t0 = uv_hrtime(); uv_hrtime() - t0 < PIPE_SPIN_NS;)
        ;
    return 0;
}

static const tr_actor_spec pipe_consumer_spec = {
    .name = "pipe_consumer",
    .state_size = sizeof(uint64_t),
    .receive = pipe_consumer_receive,
    .mailbox_capacity = PIPE_CAP,
    .overflow = TR_OVERFLOW_BLOCK,
};

static void pipeline_to_a_slow_consumer_is_bounded(void) {
    memset(&g_pipe, 0, sizeof g_pipe);
    tr_system *sys = check_system_kept(2);
    tr_pid consumer = check_spawn(sys, &pipe_consumer_spec, NULL);
    atomic_store(&g_pipe.consumer, consumer);
    tr_tcp_server_spec spec = {.host = "127.0.0.1", .conn = &pipe_conn_spec};
    int port = 0;
    tr_pid server = tr_tcp_server_start(sys, &spec, &port);
    CHECK(server > 0);
    unsigned char *data = malloc(PIPE_BYTES);
    CHECK(data != NULL);
    stream_fill(data, PIPE_BYTES, 0, 11);
    int fd = client_connect(port);
    send_all(fd, data, PIPE_BYTES);
    free(data);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    expect_eof(fd);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_pipe.bytes) == PIPE_BYTES, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_pipe.mismatches), 0);
    tr_mailbox_stats ms = mailbox(sys, consumer);
    fprintf(stderr,
            "pipeline: consumer high water %u (capacity %u), overruns %llu, %llu reads; "
            "muted %llu times in all\n",
            ms.high_water, ms.capacity, (unsigned long long)ms.overruns,
            (unsigned long long)atomic_load(&g_pipe.msgs), (unsigned long long)stats(sys).muted);
    CHECK(ms.high_water <= PIPE_CAP + 1 + ms.overruns);
    CHECK(ms.high_water <= PIPE_CAP + 1 + 2 * (ECHO_MAILBOX + 1)); /* the overruns are bounded */
    /* The connection's actor may still be muted with its CLOSED queued: a
       stop now would kill it and make that CLOSED a dead letter. */
    CHECK_WAIT_UNTIL(atomic_load(&g_pipe.closed), WATCHDOG_MS);
    CHECK_EQ(tr_send(sys, consumer, CHECK_MSG_EXIT, NULL, 0), 0);
    stop_server(sys, server, 0);
}

/* ---- 4: a peer that does not read its echo stalls its own writes ---- */

#define UNREAD_LIMIT ((uint64_t)128 << 20)      /* far beyond every kernel buffer on the way */
#define UNREAD_SERVER_HELD ((uint64_t)24 << 20) /* server's kernel send buffer + its queues */
enum { STALL_MS = 300 };

static void unread_echo_stalls_the_writer(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    int small = 64 << 10;
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in a = net_loopback(port);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    set_nonblocking(fd);
    enum { CHUNK = 64 << 10 };
    unsigned char *buf = malloc(CHUNK);
    CHECK(buf != NULL);
    /* write, never read, until the writes block for good (two polls in a
       row find no room) */
    uint64_t sent = 0;
    int stalls = 0;
    while (sent < UNREAD_LIMIT && stalls < 2) {
        stream_fill(buf, CHUNK, sent, 4);
        ssize_t n = send(fd, buf, CHUNK, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (uint64_t)n;
            stalls = 0;
            continue;
        }
        CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        struct pollfd p = {fd, POLLOUT, 0};
        int r = poll(&p, 1, STALL_MS);
        CHECK(r >= 0);
        stalls += r == 0;
    }
    uint64_t server_read = atomic_load(&g_echo.bytes);
    fprintf(stderr,
            "unread echo: the client wrote %llu KiB before its writes blocked; the server "
            "read %llu KiB\n",
            (unsigned long long)(sent >> 10), (unsigned long long)(server_read >> 10));
    CHECK(sent < UNREAD_LIMIT); /* the writes blocked: the server stopped reading */
    CHECK(server_read <= UNREAD_SERVER_HELD);
    CHECK(sent > TR_TCP_WRITE_HIGH);
    CHECK_EQ(atomic_load(&g_echo.started), 1);
    /* now read it all back: the server resumes, every byte in order */
    uint64_t got = 0;
    while (got < sent) {
        struct pollfd p = {fd, POLLIN, 0};
        CHECK_EQ(poll(&p, 1, WATCHDOG_MS), 1);
        size_t want = sent - got < CHUNK ? (size_t)(sent - got) : CHUNK;
        ssize_t n = recv(fd, buf, want, 0);
        CHECK(n > 0);
        CHECK_EQ(stream_mismatches(buf, (size_t)n, got, 4), 0);
        got += (uint64_t)n;
    }
    free(buf);
    CHECK_EQ(atomic_load(&g_echo.bytes), sent);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    struct pollfd p = {fd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, WATCHDOG_MS), 1);
    expect_eof(fd);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.closed_ok), 1);
    stop_server(sys, server, 0);
}

/* ---- 5: garbage, half lines and resets cost only their connection ---- */

static void bad_clients_cost_only_themselves(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    int good = client_connect(port);
    round_trip(good, 1, 0);
    unsigned seed = 12345;
    enum { ROUNDS = 10, BAD_PER_ROUND = 4 };
    unsigned char junk[4096];
    for (unsigned r = 0; r < ROUNDS; r++) {
        /* random bytes, then a close with the echo unread (often a reset) */
        int fd = client_connect(port);
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)rand_r(&seed);
        send_all(fd, junk, sizeof junk);
        close(fd);
        /* half a line, then EOF: the half comes back, then EOF */
        fd = client_connect(port);
        static const char half[] = "half a line, no newl";
        send_all(fd, half, sizeof half - 1);
        char in[sizeof half];
        recv_exact(fd, in, sizeof half - 1);
        CHECK(memcmp(in, half, sizeof half - 1) == 0);
        CHECK_EQ(shutdown(fd, SHUT_WR), 0);
        expect_eof(fd);
        close(fd);
        /* a reset in the middle of a large write */
        fd = client_connect(port);
        set_nonblocking(fd);
        unsigned char big[64 << 10];
        memset(big, 'z', sizeof big);
        for (int i = 0; i < 16; i++) {
            ssize_t n = send(fd, big, sizeof big, MSG_NOSIGNAL);
            if (n < 0) {
                CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
                break;
            }
        }
        reset_close(fd);
        /* a reset with nothing said */
        fd = client_connect(port);
        reset_close(fd);
        /* the good client is served all along */
        round_trip(good, 1, r + 1);
    }
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == ROUNDS * BAD_PER_ROUND, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.started), 1 + ROUNDS * BAD_PER_ROUND);
    /* each got one CLOSED, with reason 0 or TR_ECONNRESET; the half-line
       clients' EOF is certainly 0 */
    CHECK_EQ(atomic_load(&g_echo.closed_other), 0);
    CHECK_EQ(atomic_load(&g_echo.closed_ok) + atomic_load(&g_echo.closed_reset),
             ROUNDS * BAD_PER_ROUND);
    CHECK(atomic_load(&g_echo.closed_ok) >= ROUNDS);
    CHECK_EQ(atomic_load(&g_echo.errors), atomic_load(&g_echo.closed_reset));
    /* and a new client still gets served */
    int late = client_connect(port);
    for (unsigned n = 0; n < 5; n++)
        round_trip(late, 2, n);
    CHECK_EQ(shutdown(late, SHUT_WR), 0);
    expect_eof(late);
    close(late);
    CHECK_EQ(shutdown(good, SHUT_WR), 0);
    expect_eof(good);
    close(good);
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 2 + ROUNDS * BAD_PER_ROUND, WATCHDOG_MS);
    tr_system_stats st = stop_server(sys, server, -1);
    CHECK_EQ(st.spawned, 2 + 2 + ROUNDS * BAD_PER_ROUND);
    CHECK_EQ(st.unhandled, 0);
    /* (echoes forwarded to a connection its peer had reset by then are dead
       letters: how many depends on timing) */
}

/* ---- 6: a silent client is closed by its actor's receive timeout ---- */

static void idle_clients_are_closed(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts idle = {100, 0};
    int port;
    tr_pid server = start_echo_server(sys, &idle, &port);
    uint64_t t0 = check_now_ms();
    int silent = client_connect(port);
    int once = client_connect(port);
    round_trip(once, 3, 0);
    expect_eof(silent);
    CHECK(check_now_ms() - t0 >= 100); /* never before its timeout */
    expect_eof(once);
    close(silent);
    close(once);
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 2, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.closed_ok), 2); /* tr_tcp_close: reason 0 */
    CHECK(atomic_load(&g_echo.timeouts) >= 2);
    stop_server(sys, server, 0);
}

/* ---- 7: an owner's exit closes its sockets ---- */

static void conn_owner_exit_closes_it(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts quit = {0, 1};
    int port;
    tr_pid server = start_echo_server(sys, &quit, &port);
    int normal = client_connect(port), crash = client_connect(port);
    send_all(normal, "q", 1); /* its actor exits normally */
    send_all(crash, "c", 1);  /* its actor crashes */
    expect_eof(normal);
    expect_eof(crash);
    close(normal);
    close(crash);
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 2, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.crashed), 1);
    /* the server goes on: a crash of a temporary child is not a restart */
    int again = client_connect(port);
    round_trip(again, 4, 0);
    CHECK_EQ(shutdown(again, SHUT_WR), 0);
    expect_eof(again);
    close(again);
    CHECK_WAIT_UNTIL(atomic_load(&g_echo.exited) == 3, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_echo.closed_ok), 1);
    /* each socket whose owner's exit closed it tells the exited owner: the
       two connections and the listener */
    stop_server(sys, server, 0);
}

/* An actor that listens and keeps what it accepts without starting it. */
enum { KEEP_LISTEN = 1 };

static struct {
    _Atomic tr_pid conn, listener, from; /* from: the listener of the last ACCEPTED */
    atomic_int accepted, closed;
    atomic_llong reason;
} g_keep;

static int keeper_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_pid *listener = state;
    switch (tr_msg_type(m)) {
    case KEEP_LISTEN: {
        int port = 0;
        int rc = tr_tcp_listen(tr_ctx_system(cx), "127.0.0.1", (int)tr_msg_i64(m), tr_self(cx),
                               listener, &port);
        if (rc == 0)
            atomic_store(&g_keep.listener, *listener);
        return tr_reply_i64(cx, m, rc ? rc : port);
    }
    case TR_MSG_TCP_ACCEPTED:
        CHECK(tr_tcp_is_socket(tr_msg_i64(m)));
        atomic_store(&g_keep.from, tr_msg_i64(m));
        atomic_store(&g_keep.conn, tr_msg_sender(m));
        atomic_fetch_add(&g_keep.accepted, 1);
        return 0;
    case TR_MSG_TCP_CLOSED:
        atomic_store(&g_keep.reason, tr_msg_i64(m));
        atomic_fetch_add(&g_keep.closed, 1);
        return 0;
    case CHECK_MSG_EXIT: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec keeper_spec = {
    .name = "keeper", .state_size = sizeof(tr_pid), .receive = keeper_receive};

static int keeper_listen(tr_system *sys, tr_pid keeper, int port) {
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, keeper, KEEP_LISTEN, port, &out, WATCHDOG_MS), 0);
    return (int)out;
}

static void listener_owner_exit_stops_accepting(void) {
    memset(&g_keep, 0, sizeof g_keep);
    tr_system *sys = check_system_kept(2);
    tr_pid keeper = check_spawn(sys, &keeper_spec, NULL);
    int port = keeper_listen(sys, keeper, 0);
    CHECK(port > 0);
    int fd = client_connect(port);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.accepted) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_keep.from), atomic_load(&g_keep.listener));
    CHECK_EQ(tr_send(sys, keeper, CHECK_MSG_EXIT, NULL, 0), 0);
    /* the connection it accepted (never started: still its) closes */
    expect_eof(fd);
    close(fd);
    /* and the listener: connects are refused once its close has landed */
    unsigned through = connect_until_refused(port);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_keep.closed), 0);
    /* up to two for each probe the listener accepted before it closed */
    CHECK(st.dead_letters <= 2 * through);
}

/* ---- 8: errors ---- */

/* "::1", where the machine has IPv6: a connection comes in over it. Leaves
 * keeper's counts as they were, but two more CLOSED(0) and one ACCEPTED. */
static void listen_on_ipv6_loopback(tr_system *sys, tr_pid keeper) {
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    int have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&a6, sizeof a6) == 0;
    if (probe >= 0)
        close(probe);
    if (!have_v6) {
        fprintf(stderr, "(no IPv6 loopback here: \"::1\" not tried)\n");
        return;
    }
    int closed = atomic_load(&g_keep.closed), accepted = atomic_load(&g_keep.accepted);
    tr_pid l6 = TR_PID_NONE;
    int port = 0;
    CHECK_EQ(tr_tcp_listen(sys, "::1", 0, keeper, &l6, &port), 0);
    CHECK(port > 0);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_EQ(net_set_timeouts(fd, WATCHDOG_MS), 0);
    a6.sin6_port = htons((uint16_t)port);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a6, sizeof a6), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.accepted) == accepted + 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_keep.from), l6);
    tr_pid conn = atomic_load(&g_keep.conn);
    CHECK_EQ(tr_tcp_write(sys, conn, "six", 3), 0);
    CHECK_EQ(tr_tcp_close(sys, conn), 0);
    char in[3];
    recv_exact(fd, in, 3);
    CHECK(memcmp(in, "six", 3) == 0);
    expect_eof(fd);
    close(fd);
    CHECK_EQ(tr_tcp_close(sys, l6), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.closed) == closed + 2, WATCHDOG_MS);
}

static void errors(void) {
    memset(&g_keep, 0, sizeof g_keep);
    tr_system *sys = check_system_kept(2);
    tr_pid actor = check_spawn_idle(sys);
    tr_pid l = 0;
    int port = 0;
    /* bad arguments */
    CHECK_EQ(tr_tcp_listen(NULL, "127.0.0.1", 0, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, NULL, 0, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "not-an-ip", 0, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "localhost", 0, actor, &l, &port), TR_EINVAL); /* not numeric */
    CHECK_EQ(tr_tcp_listen(sys, "", 0, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 70000, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 65536, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", -1, actor, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, TR_PID_NONE, &l, &port), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, actor, NULL, &port), TR_EINVAL);
    CHECK_EQ(l, 0);
    CHECK_EQ(port, 0);

    /* a port already taken: by a plain socket, then by troupe itself */
    int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(taken >= 0);
    struct sockaddr_in a = net_loopback(0);
    CHECK_EQ(bind(taken, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(taken, 4), 0);
    socklen_t alen = sizeof a;
    CHECK_EQ(getsockname(taken, (struct sockaddr *)&a, &alen), 0);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", ntohs(a.sin_port), actor, &l, NULL), TR_EADDRINUSE);
    close(taken);
    tr_pid keeper = check_spawn(sys, &keeper_spec, NULL);
    port = keeper_listen(sys, keeper, 0);
    CHECK(port > 0);
    CHECK_EQ(keeper_listen(sys, keeper, port), TR_EADDRINUSE); /* from an actor */
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", port, actor, &l, NULL), TR_EADDRINUSE);
    CHECK_EQ(l, 0);

    /* non-sockets */
    tr_pid bogus = (tr_pid)(((uint64_t)TR_IO_NODE << TR_NODE_SHIFT) |
                            ((uint64_t)100 << TR_ID_WORKER_SHIFT) | 1); /* no worker 100 */
    tr_inbox *ib;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    const tr_pid not_sockets[] = {actor, TR_PID_NONE, -5, bogus, tr_inbox_pid(ib)};
    for (size_t i = 0; i < sizeof not_sockets / sizeof *not_sockets; i++) {
        tr_pid p = not_sockets[i];
        CHECK_EQ(tr_tcp_write(sys, p, "x", 1), TR_EINVAL);
        CHECK_EQ(tr_tcp_start(sys, p, actor), TR_EINVAL);
        CHECK_EQ(tr_tcp_close(sys, p), TR_EINVAL);
        CHECK_EQ(tr_tcp_is_socket(p), p == bogus);
    }
    CHECK_EQ(tr_inbox_close(ib), 0);

    /* a connection: accepted by keeper, never started */
    int fd = client_connect(port);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.accepted) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_keep.from), atomic_load(&g_keep.listener));
    tr_pid conn = atomic_load(&g_keep.conn);
    CHECK(tr_tcp_is_socket(conn));
    CHECK_EQ(tr_tcp_is_socket(keeper), 0);
    CHECK_EQ(tr_tcp_write(NULL, conn, "x", 1), TR_EINVAL);
    CHECK_EQ(tr_tcp_write(sys, conn, NULL, 1), TR_EINVAL);
    CHECK_EQ(tr_tcp_start(NULL, conn, actor), TR_EINVAL);
    CHECK_EQ(tr_tcp_start(sys, conn, TR_PID_NONE), TR_EINVAL);
    /* a socket owns no socket: it could never answer or exit */
    tr_pid none = 0;
    CHECK_EQ(tr_tcp_start(sys, conn, conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_start(sys, conn, atomic_load(&g_keep.listener)), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(sys, "127.0.0.1", port, conn, &none), TR_EINVAL);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, conn, &none, NULL), TR_EINVAL);
    CHECK_EQ(none, 0);
    CHECK_EQ(tr_tcp_close(NULL, conn), TR_EINVAL);
    void *huge = malloc(((size_t)64 << 20) + 1);
    CHECK(huge != NULL);
    CHECK_EQ(tr_tcp_write(sys, conn, huge, ((size_t)64 << 20) + 1), TR_ETOOBIG);
    free(huge);
    /* an ask to a connection fails at once: nothing there can answer (the
       request is the first dead letter here) */
    int64_t out;
    CHECK_EQ(tr_ask_i64(sys, conn, 7, 1, &out, WATCHDOG_MS), TR_ENOACTOR);
    CHECK_WAIT_UNTIL(stats(sys).dead_letters == 1, WATCHDOG_MS);
    /* a send to a connection's pid writes it, like tr_tcp_write */
    CHECK_EQ(tr_send(sys, conn, 42, "hello", 5), 0);
    CHECK_EQ(tr_tcp_write(sys, conn, " world", 6), 0);
    CHECK_EQ(tr_tcp_close(sys, conn), 0);
    CHECK_EQ(tr_tcp_close(sys, conn), 0); /* twice: harmless */
    char in[11];
    recv_exact(fd, in, 11);
    CHECK(memcmp(in, "hello world", 11) == 0);
    expect_eof(fd);
    close(fd);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.closed) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_keep.reason), 0);
    /* closed: a write is one dead letter; close and start are ignored */
    CHECK_EQ(stats(sys).dead_letters, 1);
    CHECK_EQ(tr_tcp_write(sys, conn, "late", 4), 0);
    CHECK_WAIT_UNTIL(stats(sys).dead_letters == 2, WATCHDOG_MS);
    CHECK_EQ(tr_tcp_close(sys, conn), 0);
    CHECK_EQ(tr_tcp_start(sys, conn, keeper), 0);
    /* a write to a listener is a dead letter too */
    tr_pid listener = TR_PID_NONE;
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, keeper, &listener, NULL), 0);
    CHECK(tr_tcp_is_socket(listener));
    CHECK(listener != conn);
    CHECK_EQ(tr_tcp_write(sys, listener, "x", 1), 0);
    CHECK_WAIT_UNTIL(stats(sys).dead_letters == 3, WATCHDOG_MS);
    /* a listener is not a connection: tr_tcp_start is refused or ignored */
    int rc = tr_tcp_start(sys, listener, keeper);
    CHECK(rc == 0 || rc == TR_EINVAL);
    CHECK_EQ(tr_tcp_close(sys, listener), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.closed) == 2, WATCHDOG_MS); /* CLOSED(0) to its owner */
    CHECK_EQ(atomic_load(&g_keep.reason), 0);
    CHECK_EQ(tr_tcp_close(sys, listener), 0);
    CHECK_EQ(tr_tcp_close(sys, atomic_load(&g_keep.listener)), 0); /* the first one */
    CHECK_WAIT_UNTIL(atomic_load(&g_keep.closed) == 3, WATCHDOG_MS);
    listen_on_ipv6_loopback(sys, keeper);
    CHECK_EQ(tr_send(sys, keeper, CHECK_MSG_EXIT, NULL, 0), 0);
    CHECK_WAIT_UNTIL(stats(sys).exited == 1, WATCHDOG_MS);

    /* once stopped */
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(tr_tcp_listen(sys, "127.0.0.1", 0, actor, &l, NULL), TR_ESTOPPED);
    CHECK_EQ(tr_tcp_write(sys, conn, "x", 1), TR_ESTOPPED);
    CHECK_EQ(tr_tcp_start(sys, conn, actor), TR_ESTOPPED);
    CHECK_EQ(tr_tcp_close(sys, conn), TR_ESTOPPED);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 3); /* the ask and the two writes */
}

/* ---- 9: the stock server: its port, its errors, its stop ---- */

enum { STOP_CLIENTS = 20 };

/* Clients with a live actor each, which see EOF when the server is stopped. */
static void connect_and_wait_for_eof_after_stop(tr_system *sys, tr_pid server, int port,
                                                unsigned clients) {
    int fds[STOP_CLIENTS];
    CHECK(clients <= STOP_CLIENTS);
    for (unsigned i = 0; i < clients; i++) {
        fds[i] = client_connect(port);
        round_trip(fds[i], i, 0); /* its actor is up */
    }
    CHECK_EQ(atomic_load(&g_echo.started), clients);
    CHECK_EQ(tr_send_exit(sys, server, TR_ESTOPPED), 0);
    for (unsigned i = 0; i < clients; i++) {
        expect_eof(fds[i]);
        close(fds[i]);
    }
}

static void stock_server_start_and_stop(void) {
    echo_reset();
    tr_system *sys = check_system_kept(2);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    tr_tcp_server_spec spec = {.host = "127.0.0.1", .port = port, .conn = &echo_spec};
    int other = -1;
    CHECK_EQ(tr_tcp_server_start(sys, &spec, &other), TR_EADDRINUSE);
    spec.host = "not-an-ip";
    spec.port = 0;
    CHECK_EQ(tr_tcp_server_start(sys, &spec, NULL), TR_EINVAL);
    spec.host = NULL;
    CHECK_EQ(tr_tcp_server_start(sys, &spec, NULL), TR_EINVAL);
    spec.host = "127.0.0.1";
    spec.conn = NULL;
    CHECK_EQ(tr_tcp_server_start(sys, &spec, NULL), TR_EINVAL);
    CHECK_EQ(tr_tcp_server_start(sys, NULL, NULL), TR_EINVAL);
    CHECK_EQ(tr_tcp_server_start(NULL, &spec, NULL), TR_EINVAL);
    /* the failed starts leave nothing behind: the pool a start made before
       its listen failed exits with it */
    CHECK_WAIT_UNTIL(stats(sys).spawned - stats(sys).exited == 2, WATCHDOG_MS);
    tr_system_stats st = stats(sys);
    uint64_t spawned = st.spawned;
    connect_and_wait_for_eof_after_stop(sys, server, port, STOP_CLIENTS);
    /* the connections and the listener closed by their owners' exits tell
       nobody: no dead letters */
    st = settle_and_stop(sys, 0);
    CHECK_EQ(atomic_load(&g_echo.exited), STOP_CLIENTS);
    CHECK_EQ(atomic_load(&g_echo.killed), STOP_CLIENTS); /* the pool's brutal kill */
    CHECK_EQ(atomic_load(&g_echo.closed_ok) + atomic_load(&g_echo.closed_reset), 0);
    CHECK_EQ(st.spawned, spawned + STOP_CLIENTS);
    CHECK_EQ(st.unhandled, 0);
}

/* A system that does not keep running stops by itself once the server has. */
static void stock_server_stop_ends_the_system(void) {
    echo_reset();
    tr_system *sys = check_system(2, 64);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    connect_and_wait_for_eof_after_stop(sys, server, port, 5);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.spawned, 2 + 5);
    CHECK_EQ(atomic_load(&g_echo.exited), 5);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- client connections (tr_tcp_connect) ---- */

static struct {
    _Atomic int connected, closed, errors, exited;
    _Atomic int64_t reason, error_reason;
    _Atomic size_t got;
    char echoed[64];
} g_dial;

typedef struct {
    tr_pid conn;
    size_t got;
    char buf[64];
} dialer;

static const char DIAL_LINE[] = "over the wire\n";

/* arg: the port to dial. Writes before the connection is up: the write
   waits for it. */
static int dial_init(tr_ctx *cx, void *state, const void *arg) {
    dialer *d = state;
    tr_system *sys = tr_ctx_system(cx);
    int rc = tr_tcp_connect(sys, "127.0.0.1", *(const int *)arg, tr_self(cx), &d->conn);
    if (rc != 0)
        return rc;
    CHECK(tr_tcp_is_socket(d->conn));
    return tr_tcp_write(sys, d->conn, DIAL_LINE, sizeof DIAL_LINE - 1);
}

static int dial_receive(tr_ctx *cx, void *state, tr_msg *m) {
    dialer *d = state;
    switch (tr_msg_type(m)) {
    case TR_MSG_TCP_CONNECTED:
        CHECK_EQ(tr_msg_sender(m), d->conn);
        atomic_fetch_add(&g_dial.connected, 1);
        return 0;
    case TR_MSG_TCP_DATA:
        CHECK(d->got + tr_msg_size(m) <= sizeof d->buf);
        memcpy(d->buf + d->got, tr_msg_data(m), tr_msg_size(m));
        d->got += tr_msg_size(m);
        if (d->got == sizeof DIAL_LINE - 1) {
            memcpy(g_dial.echoed, d->buf, d->got);
            atomic_store(&g_dial.got, d->got);
            return tr_tcp_close(tr_ctx_system(cx), d->conn);
        }
        return 0;
    case TR_MSG_TCP_ERROR:
        atomic_fetch_add(&g_dial.errors, 1);
        atomic_store(&g_dial.error_reason, tr_msg_i64(m));
        return 0;
    case TR_MSG_TCP_CLOSED:
        atomic_fetch_add(&g_dial.closed, 1);
        atomic_store(&g_dial.reason, tr_msg_i64(m));
        atomic_fetch_add(&g_dial.exited, 1);
        return tr_exit(cx, 0);
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec dial_spec = {
    .name = "dialer", .state_size = sizeof(dialer), .init = dial_init, .receive = dial_receive};

static void dial_reset(void) {
    memset(&g_dial, 0, sizeof g_dial);
}

/* An actor connects to the stock echo server of the same system, writes a
   line before the connection is up, gets it back, closes. */
static void client_connect_round_trip(void) {
    dial_reset();
    echo_reset();
    tr_system *sys = check_system(2, 64);
    static const echo_opts plain = {0, 0};
    int port;
    tr_pid server = start_echo_server(sys, &plain, &port);
    CHECK(tr_spawn(sys, &dial_spec, &port) > 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_dial.exited) == 1, WATCHDOG_MS);
    CHECK_EQ(atomic_load(&g_dial.connected), 1);
    CHECK_EQ(atomic_load(&g_dial.got), sizeof DIAL_LINE - 1);
    CHECK(memcmp(g_dial.echoed, DIAL_LINE, sizeof DIAL_LINE - 1) == 0);
    CHECK_EQ(atomic_load(&g_dial.closed), 1);
    CHECK_EQ(atomic_load(&g_dial.reason), 0);
    CHECK_EQ(atomic_load(&g_dial.errors), 0);
    CHECK_EQ(tr_send_exit(sys, server, TR_ESTOPPED), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.unhandled, 0);
}

/* A port nobody listens on: ERROR then CLOSED, both TR_ECONNREFUSED; the
   write made before it failed is a dead letter. Bad arguments. */
static void client_connect_refused(void) {
    dial_reset();
    int port = net_free_port();
    CHECK(port > 0);
    tr_system *sys = check_system(2, 64);
    CHECK(tr_spawn(sys, &dial_spec, &port) > 0);
    tr_system_stats st = finish(sys); /* the dialer exits on CLOSED */
    CHECK_EQ(atomic_load(&g_dial.connected), 0);
    CHECK_EQ(atomic_load(&g_dial.errors), 1);
    CHECK_EQ(atomic_load(&g_dial.error_reason), TR_ECONNREFUSED);
    CHECK_EQ(atomic_load(&g_dial.closed), 1);
    CHECK_EQ(atomic_load(&g_dial.reason), TR_ECONNREFUSED);
    CHECK(st.dead_letters <= 1); /* the write, if it came after the failure */

    tr_system *s2 = check_system(1, 64);
    tr_pid keep = check_spawn_idle(s2), conn;
    CHECK_EQ(tr_tcp_connect(NULL, "127.0.0.1", 80, keep, &conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, NULL, 80, keep, &conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, "127.0.0.1", 80, keep, NULL), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, "not-an-ip", 80, keep, &conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, "127.0.0.1", 0, keep, &conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, "127.0.0.1", 65536, keep, &conn), TR_EINVAL);
    CHECK_EQ(tr_tcp_connect(s2, "127.0.0.1", 80, 0, &conn), TR_EINVAL);
    CHECK_EQ(tr_system_stop(s2), 0);
    CHECK_EQ(tr_tcp_connect(s2, "127.0.0.1", 80, keep, &conn), TR_ESTOPPED);
    check_finish(s2);
}

int main(int argc, char **argv) {
    check_only = argc > 1 ? argv[1] : NULL; /* `test_tcp NAME` runs only the case NAME */
    /* SIGPIPE keeps its default action, as in a program that never heard of
       it: a runtime write to a reset peer must not kill the process (the
       clients here send with MSG_NOSIGNAL). */
    RUN_CASE(echo_300_clients_two_workers);
    RUN_CASE(echo_300_clients_one_worker);
    RUN_CASE(one_client_after_another);
    RUN_CASE(raw_api);
    RUN_CASE(handover_outlives_the_first_owner);
    RUN_CASE(held_reader_bounded_memory);
    RUN_CASE(pipeline_to_a_slow_consumer_is_bounded);
    RUN_CASE(unread_echo_stalls_the_writer);
    RUN_CASE(bad_clients_cost_only_themselves);
    RUN_CASE(idle_clients_are_closed);
    RUN_CASE(conn_owner_exit_closes_it);
    RUN_CASE(listener_owner_exit_stops_accepting);
    RUN_CASE(errors);
    RUN_CASE(stock_server_start_and_stop);
    RUN_CASE(stock_server_stop_ends_the_system);
    RUN_CASE(client_connect_round_trip);
    RUN_CASE(client_connect_refused);
    return check_summary();
}
