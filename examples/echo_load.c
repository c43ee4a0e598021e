/* echo_load — a load client for line echo servers (examples/echo_server.c,
 * examples/echo_iterative.c, the Go and Erlang servers in bench/peers/):
 *
 *   echo_load [-t THREADS] [-w WINDOW] [-i IDLE_S] [-b BATCH] [-T TIMEOUT_S]
 *             HOST PORT CONNECTIONS LINES [LINE_BYTES]
 *
 * Opens CONNECTIONS TCP connections, then sends LINES lines of LINE_BYTES
 * bytes (default 32, the newline included) on each, at most WINDOW lines in
 * flight per connection (default 1), checks every echoed byte, and times each
 * line from the write of its first byte to the arrival of its newline. A
 * connection completes when all its lines are back, it has half-closed, and
 * the server has closed its side with nothing more sent. Exit 0 only if every
 * byte matched and every connection completed.
 *
 * Line n of connection c reads "c:n:" and then letters that depend on c, n
 * and the position, so a byte echoed on the wrong connection, in the wrong
 * order, dropped or doubled, is caught.
 *
 * Connections are spread over THREADS threads (default 2), each with its own
 * epoll set and non-blocking sockets. Each thread keeps at most BATCH connects
 * in progress (default 64), so a server that accepts slowly sees a short
 * queue, and retries one that is refused (or finds no port free) up to 5
 * times. -i IDLE_S holds every connection open and silent for IDLE_S seconds
 * after connecting (or until SIGUSR1), so that a caller can read the server's
 * memory per idle connection; "connected" is printed on stderr when that
 * begins. -T bounds the connect phase and the send phase (default 60 s each):
 * a connection still unfinished then counts as incomplete.
 *
 * Output: a summary, then one line for scripts:
 *   ECHO conns=... lines=... secs=... rate=... p50_us=... p99_us=... errors=...
 * secs runs from the first write to the last echo (to the end, if a
 * connection did not complete); rate is lines echoed per second; errors are
 * mismatches (at most one per connection: it is closed at the first) plus
 * incomplete connections. With a window of 1 each connection waits for its
 * echo before sending again, so p50 is about CONNECTIONS / rate.
 *
 * Limits: a descriptor per connection (the soft RLIMIT_NOFILE is raised to
 * the hard one; more than that is refused up front), and a local port per
 * connection to one server (net.ipv4.ip_local_port_range, 28,000 by default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING = 1, RETRY_WAIT, READY, RUNNING, DRAINING, DONE, FAILED };
enum { MAX_TRIES = 5, RBUF = 64 * 1024, WBUF = 64 * 1024, MAX_LINE = 64 * 1024 };
enum { HIST_SUB = 128, HIST_N = 64 * HIST_SUB }; /* log-linear, < 1 % error */

typedef struct {
    int fd;
    uint8_t state, tries, out; /* out: EPOLLOUT is in the interest set */
    uint32_t id;
    uint64_t wbytes, rbytes; /* bytes written, bytes echoed and checked */
    uint64_t retry_at;       /* RETRY_WAIT: not before (ns) */
} conn;

typedef struct {
    pthread_t thread;
    int ep;
    conn *c;
    uint32_t n;
    uint64_t *sent_at; /* n * window: when each line in flight was written */
    char *rbuf, *wbuf, *line;
    uint64_t hist[HIST_N];
    uint64_t lines, mismatches, last_ns;
    uint32_t done, failed, connected, retrying, active;
} worker;

static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint32_t conns, lines, line_bytes, window, threads, batch;
    double idle_s, timeout_s;
    uint64_t connect_deadline, run_deadline;
    pthread_barrier_t barrier;
} g = {.line_bytes = 32, .window = 1, .threads = 2, .batch = 64, .timeout_s = 60};

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER; /* strerror is not thread-safe */
static int reports;                                             /* the first few are shown */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(const conn *c, const char *what, int err) {
    pthread_mutex_lock(&report_lock);
    if (reports < 10)
        fprintf(stderr, "echo_load: connection %u: %s%s%s\n", c->id, what, err ? ": " : "",
                err ? strerror(err) : "");
    else if (reports == 10)
        fprintf(stderr, "echo_load: (further problems not shown)\n");
    reports++;
    pthread_mutex_unlock(&report_lock);
}

/* Line n of connection id, newline last. */
static void make_line(char *buf, uint32_t id, uint32_t n) {
    uint32_t len = g.line_bytes;
    char head[32];
    uint32_t h = (uint32_t)snprintf(head, sizeof head, "%u:%u:", id, n);
    if (h > len - 1)
        h = len - 1;
    memcpy(buf, head, h);
    for (uint32_t i = h; i < len - 1; i++)
        buf[i] = (char)('a' + (id + n * 7u + i) % 26);
    buf[len - 1] = '\n';
}

static void hist_add(uint64_t *hist, uint64_t v) {
    if (v < 2 * HIST_SUB) {
        hist[v]++;
        return;
    }
    int shift = 63 - __builtin_clzll(v) - 7;
    uint64_t idx = (uint64_t)shift * HIST_SUB + (v >> shift);
    hist[idx < HIST_N ? idx : HIST_N - 1]++;
}

/* The value at quantile q (the midpoint of its bucket). */
static double hist_quantile(const uint64_t *hist, uint64_t total, double q) {
    uint64_t rank = (uint64_t)(q * (double)total + 0.999999), seen = 0;
    for (int i = 0; i < HIST_N; i++) {
        seen += hist[i];
        if (total && seen >= rank) {
            if (i < 2 * HIST_SUB)
                return i;
            int shift = i / HIST_SUB - 1;
            uint64_t lo = (uint64_t)(i - shift * HIST_SUB) << shift;
            return (double)lo + (double)((1ull << shift) - 1) / 2;
        }
    }
    return 0;
}

/* Sets what epoll watches on c (op: EPOLL_CTL_ADD or _MOD); 0 or errno. */
static int watch(worker *w, conn *c, int op, uint32_t ev) {
    struct epoll_event e = {.events = ev, .data.u32 = (uint32_t)(c - w->c)};
    if (epoll_ctl(w->ep, op, c->fd, &e) != 0)
        return errno;
    c->out = (ev & EPOLLOUT) != 0;
    return 0;
}

static void finish(worker *w, conn *c, int state) {
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->state = (uint8_t)state;
    if (state == DONE)
        w->done++;
    else
        w->failed++;
    w->active--;
}

/* ---- connect phase ---- */

static int retriable(int err) {
    return err == ECONNREFUSED || err == EAGAIN || err == ETIMEDOUT || err == ECONNRESET ||
           err == EADDRNOTAVAIL || err == EINTR;
}

/* A connect failed with err: try again later, or give up on this one. */
static void connect_failed(worker *w, conn *c, int err, uint32_t *inflight) {
    if (c->state == CONNECTING)
        (*inflight)--;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    if (retriable(err) && ++c->tries < MAX_TRIES) {
        c->state = RETRY_WAIT;
        w->retrying++;
        c->retry_at = now_ns() + (20000000ull << c->tries); /* 40 ms, 80, 160, 320 */
        return;
    }
    char what[64];
    snprintf(what, sizeof what, "connect failed after %u tries", (unsigned)c->tries);
    report(c, what, err);
    c->state = FAILED;
    w->failed++;
}

static void start_connect(worker *w, conn *c, uint32_t *inflight) {
    if (c->state == RETRY_WAIT)
        w->retrying--;
    c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->state = FAILED;
        w->failed++;
        report(c, "socket", errno);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = CONNECTING;
    (*inflight)++;
    int err = watch(w, c, EPOLL_CTL_ADD, EPOLLOUT);
    if (err != 0) {
        connect_failed(w, c, err, inflight);
        return;
    }
    if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) != 0 && errno != EINPROGRESS)
        connect_failed(w, c, errno, inflight);
    /* else: done or in progress; either way epoll reports it writable */
}

static void connect_phase(worker *w) {
    uint32_t next = 0, inflight = 0;
    struct epoll_event ev[256];
    while (w->connected + w->failed < w->n) {
        uint64_t now = now_ns();
        if (now > g.connect_deadline) {
            for (uint32_t i = 0; i < w->n; i++) {
                conn *c = &w->c[i];
                if (c->state != READY && c->state != FAILED) {
                    if (c->fd >= 0)
                        close(c->fd);
                    c->fd = -1;
                    c->state = FAILED;
                    w->failed++;
                    report(c, "connect timed out", 0);
                }
            }
            break;
        }
        /* Retries that are due come first, then new connections. */
        for (uint32_t i = 0; w->retrying > 0 && i < next && inflight < g.batch; i++)
            if (w->c[i].state == RETRY_WAIT && w->c[i].retry_at <= now)
                start_connect(w, &w->c[i], &inflight);
        while (next < w->n && inflight < g.batch)
            start_connect(w, &w->c[next++], &inflight);
        int k = epoll_wait(w->ep, ev, 256, 10);
        for (int i = 0; i < k; i++) {
            conn *c = &w->c[ev[i].data.u32];
            if (c->state != CONNECTING)
                continue;
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
            if (err != 0) {
                connect_failed(w, c, err, &inflight);
                continue;
            }
            inflight--;
            c->state = READY;
            w->connected++;
            epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL); /* unwatched until the send phase */
        }
    }
}

/* ---- send phase ---- */

/* Writes what the window allows; returns -1 if the connection failed. */
static int pump(worker *w, conn *c) {
    uint64_t L = g.line_bytes, acked = c->rbytes / L;
    uint64_t lines = acked + g.window < g.lines ? acked + g.window : g.lines;
    uint64_t limit = lines * L;
    while (c->wbytes < limit) {
        size_t len = 0;
        uint64_t pos = c->wbytes;
        while (pos + len < limit && len < WBUF) {
            uint64_t p = pos + len, n = p / L, off = p % L;
            size_t k = (size_t)(L - off);
            if (k > WBUF - len)
                k = WBUF - len;
            make_line(w->line, c->id, (uint32_t)n);
            memcpy(w->wbuf + len, w->line + off, k);
            len += k;
        }
        ssize_t r = send(c->fd, w->wbuf, len, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            report(c, "send", errno);
            finish(w, c, FAILED);
            return -1;
        }
        uint64_t now = now_ns();
        for (uint64_t n = (pos + L - 1) / L; n * L < pos + (uint64_t)r; n++)
            w->sent_at[(uint64_t)(c - w->c) * g.window + n % g.window] = now;
        c->wbytes += (uint64_t)r;
    }
    int want_out = c->wbytes < limit;
    int err =
        want_out == c->out ? 0 : watch(w, c, EPOLL_CTL_MOD, EPOLLIN | (want_out ? EPOLLOUT : 0));
    if (err != 0) {
        report(c, "epoll_ctl", err);
        finish(w, c, FAILED);
        return -1;
    }
    return 0;
}

/* Checks what arrived against what was sent; returns -1 if the connection ended. */
static int check(worker *w, conn *c, const char *buf, size_t len, uint64_t now) {
    uint64_t L = g.line_bytes;
    for (size_t p = 0; p < len;) {
        uint64_t n = c->rbytes / L, off = c->rbytes % L;
        size_t k = (size_t)(L - off);
        if (k > len - p)
            k = len - p;
        int extra = n >= g.lines || c->rbytes + k > c->wbytes, bad = extra;
        if (!bad) {
            make_line(w->line, c->id, (uint32_t)n);
            bad = memcmp(buf + p, w->line + off, k) != 0;
        }
        if (bad) {
            char what[96];
            snprintf(what, sizeof what, "%s line %llu of %u",
                     extra ? "more echoed than sent, in" : "echo differs from what was sent, in",
                     (unsigned long long)n + 1, g.lines);
            report(c, what, 0);
            w->mismatches++;
            finish(w, c, FAILED);
            return -1;
        }
        c->rbytes += k;
        p += k;
        if (c->rbytes % L == 0) {
            uint64_t at = w->sent_at[(uint64_t)(c - w->c) * g.window + n % g.window];
            hist_add(w->hist, now - at);
            w->lines++;
            w->last_ns = now;
        }
    }
    if (c->rbytes == (uint64_t)g.lines * L) {
        /* Everything is back: half-close, then expect the server to close. */
        if (shutdown(c->fd, SHUT_WR) != 0) {
            report(c, "shutdown", errno);
            finish(w, c, FAILED);
            return -1;
        }
        c->state = DRAINING;
        int err = c->out ? watch(w, c, EPOLL_CTL_MOD, EPOLLIN) : 0;
        if (err != 0) {
            report(c, "epoll_ctl", err);
            finish(w, c, FAILED);
            return -1;
        }
        return 0;
    }
    return pump(w, c);
}

static void readable(worker *w, conn *c) {
    ssize_t r = recv(c->fd, w->rbuf, RBUF, 0);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            report(c, "recv", errno);
            finish(w, c, FAILED);
        }
        return;
    }
    if (r == 0) {
        if (c->state == DRAINING) {
            finish(w, c, DONE);
            return;
        }
        char what[96];
        snprintf(what, sizeof what, "server closed the connection after %llu of %u lines",
                 (unsigned long long)(c->rbytes / g.line_bytes), g.lines);
        report(c, what, 0);
        finish(w, c, FAILED);
        return;
    }
    if (c->state == DRAINING) {
        report(c, "bytes after the last echo", 0);
        w->mismatches++;
        finish(w, c, FAILED);
        return;
    }
    check(w, c, w->rbuf, (size_t)r, now_ns());
}

static void run_phase(worker *w) {
    for (uint32_t i = 0; i < w->n; i++) {
        conn *c = &w->c[i];
        if (c->state != READY)
            continue;
        c->state = RUNNING;
        w->active++;
        int err = watch(w, c, EPOLL_CTL_ADD, EPOLLIN);
        if (err != 0) {
            report(c, "epoll_ctl", err);
            finish(w, c, FAILED);
            continue;
        }
        pump(w, c);
    }
    struct epoll_event ev[512];
    while (w->active > 0) {
        if (now_ns() > g.run_deadline) {
            for (uint32_t i = 0; i < w->n; i++) {
                conn *c = &w->c[i];
                if (c->state == RUNNING || c->state == DRAINING) {
                    char what[96];
                    snprintf(what, sizeof what, "timed out with %llu of %u lines back",
                             (unsigned long long)(c->rbytes / g.line_bytes), g.lines);
                    report(c, what, 0);
                    finish(w, c, FAILED);
                }
            }
            break;
        }
        int k = epoll_wait(w->ep, ev, 512, 100);
        for (int i = 0; i < k; i++) {
            conn *c = &w->c[ev[i].data.u32];
            if (c->state != RUNNING && c->state != DRAINING)
                continue;
            if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                readable(w, c);
            if (c->state == RUNNING && (ev[i].events & EPOLLOUT))
                pump(w, c);
        }
    }
}

static void *worker_main(void *arg) {
    worker *w = arg;
    connect_phase(w);
    pthread_barrier_wait(&g.barrier); /* all connected */
    pthread_barrier_wait(&g.barrier); /* go */
    run_phase(w);
    return NULL;
}

/* ---- setup ---- */

static void usage(void) {
    fprintf(stderr, "usage: echo_load [-t THREADS] [-w WINDOW] [-i IDLE_S] [-b BATCH] "
                    "[-T TIMEOUT_S] HOST PORT CONNECTIONS LINES [LINE_BYTES]\n"
                    "  defaults: 2 threads, window 1 line, no idle hold, 64 connects in "
                    "progress per thread, 60 s per phase, 32-byte lines\n");
    exit(2);
}

static uint32_t num(const char *s, unsigned long lo, unsigned long hi, const char *what) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi || *s == '-') {
        fprintf(stderr, "echo_load: %s must be a number from %lu to %lu, not \"%s\"\n", what, lo,
                hi, s);
        usage();
    }
    return (uint32_t)v;
}

static double secs(const char *s, const char *what) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0) || v > 1e6) {
        fprintf(stderr, "echo_load: %s must be a number of seconds, not \"%s\"\n", what, s);
        usage();
    }
    return v;
}

/* One descriptor per connection, plus stdio and the epoll sets: raise the soft
 * limit to the hard one, or say why the connections cannot fit. */
static void raise_nofile(void) {
    struct rlimit rl;
    rlim_t need = (rlim_t)g.conns + g.threads + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
        fprintf(stderr,
                "echo_load: %u connections need about %llu file descriptors, but the hard "
                "limit (ulimit -Hn) is %llu.\n  Raise it as root (ulimit -Hn %llu in the shell "
                "that starts this; LimitNOFILE= for a systemd unit; nofile in "
                "/etc/security/limits.conf; docker run --ulimit nofile=N:N) or use fewer "
                "connections.\n",
                g.conns, (unsigned long long)need, (unsigned long long)rl.rlim_max,
                (unsigned long long)need);
        exit(1);
    }
    if (rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            perror("echo_load: setrlimit(RLIMIT_NOFILE)");
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "t:w:i:b:T:h")) != -1) {
        switch (opt) {
        case 't': g.threads = num(optarg, 1, 64, "-t THREADS"); break;
        case 'w': g.window = num(optarg, 1, 4096, "-w WINDOW"); break;
        case 'i': g.idle_s = secs(optarg, "-i IDLE_S"); break;
        case 'b': g.batch = num(optarg, 1, 100000, "-b BATCH"); break;
        case 'T': g.timeout_s = secs(optarg, "-T TIMEOUT_S"); break;
        default: usage();
        }
    }
    if (argc - optind != 4 && argc - optind != 5)
        usage();
    const char *host = argv[optind], *port = argv[optind + 1];
    g.conns = num(argv[optind + 2], 1, 1000000, "CONNECTIONS");
    g.lines = num(argv[optind + 3], 1, 1000000000, "LINES");
    if (argc - optind == 5)
        g.line_bytes = num(argv[optind + 4], 2, MAX_LINE, "LINE_BYTES");
    if (g.threads > g.conns)
        g.threads = g.conns;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echo_load: %s port %s: %s\n", host, port, gai_strerror(rc));
        return 2;
    }
    memcpy(&g.addr, res->ai_addr, res->ai_addrlen);
    g.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    raise_nofile();

    /* SIGUSR1 ends the idle hold early; the threads inherit it blocked. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    signal(SIGPIPE, SIG_IGN);

    worker *ws = calloc(g.threads, sizeof *ws);
    if (!ws)
        return 1;
    pthread_barrier_init(&g.barrier, NULL, g.threads + 1);
    uint64_t t_start = now_ns();
    g.connect_deadline = t_start + (uint64_t)(g.timeout_s * 1e9);
    for (uint32_t t = 0; t < g.threads; t++) {
        worker *w = &ws[t];
        uint32_t first = (uint32_t)((uint64_t)g.conns * t / g.threads);
        w->n = (uint32_t)((uint64_t)g.conns * (t + 1) / g.threads) - first;
        w->c = calloc(w->n, sizeof *w->c);
        w->sent_at = calloc((size_t)w->n * g.window, sizeof *w->sent_at);
        w->rbuf = malloc(RBUF);
        w->wbuf = malloc(WBUF);
        w->line = malloc(MAX_LINE);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        if (!w->c || !w->sent_at || !w->rbuf || !w->wbuf || !w->line || w->ep < 0) {
            perror("echo_load: setup");
            return 1;
        }
        for (uint32_t i = 0; i < w->n; i++) {
            w->c[i].fd = -1;
            w->c[i].id = first + i;
        }
        if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
            fprintf(stderr, "echo_load: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }

    pthread_barrier_wait(&g.barrier);
    uint32_t connected = 0;
    for (uint32_t t = 0; t < g.threads; t++)
        connected += ws[t].connected;
    char idle[80] = "";
    if (g.idle_s > 0)
        snprintf(idle, sizeof idle, "; holding them idle for %g s (or until SIGUSR1)", g.idle_s);
    fprintf(stderr, "echo_load: connected %u of %u in %.2f s%s\n", connected, g.conns,
            (double)(now_ns() - t_start) / 1e9, idle);
    if (g.idle_s > 0) {
        struct timespec ts = {(time_t)g.idle_s,
                              (long)((g.idle_s - (double)(time_t)g.idle_s) * 1e9)};
        uint64_t until = now_ns() + (uint64_t)(g.idle_s * 1e9);
        while (sigtimedwait(&usr1, NULL, &ts) < 0 && errno == EINTR) {
            uint64_t now = now_ns();
            if (now >= until)
                break;
            ts.tv_sec = (time_t)((until - now) / 1000000000u);
            ts.tv_nsec = (long)((until - now) % 1000000000u);
        }
    }
    uint64_t t0 = now_ns();
    g.run_deadline = t0 + (uint64_t)(g.timeout_s * 1e9);
    pthread_barrier_wait(&g.barrier);

    uint64_t lines = 0, mismatches = 0, last = t0, total = 0;
    uint32_t done = 0;
    static uint64_t hist[HIST_N];
    for (uint32_t t = 0; t < g.threads; t++) {
        worker *w = &ws[t];
        pthread_join(w->thread, NULL);
        lines += w->lines;
        mismatches += w->mismatches;
        done += w->done;
        if (w->last_ns > last)
            last = w->last_ns;
        for (int i = 0; i < HIST_N; i++)
            hist[i] += w->hist[i];
        close(w->ep);
        free(w->c);
        free(w->sent_at);
        free(w->rbuf);
        free(w->wbuf);
        free(w->line);
    }
    uint64_t t_end = now_ns();
    free(ws);
    pthread_barrier_destroy(&g.barrier);
    for (int i = 0; i < HIST_N; i++)
        total += hist[i];

    /* Until the last echo; while a connection is unfinished, until the end. */
    double s = (double)((done < g.conns ? t_end : last) - t0) / 1e9;
    double rate = s > 0 ? (double)lines / s : 0;
    double p50 = hist_quantile(hist, total, 0.50) / 1e3,
           p99 = hist_quantile(hist, total, 0.99) / 1e3;
    uint32_t incomplete = g.conns - done;
    uint64_t errors = mismatches + incomplete;
    printf("echo_load: %u connections x %u lines of %u bytes (window %u, %u threads)\n", g.conns,
           g.lines, g.line_bytes, g.window, g.threads);
    printf("echo_load: %llu lines echoed in %.3f s = %.0f lines/s; latency p50 %.1f us, p99 %.1f "
           "us; %llu mismatches, %u of %u connections incomplete\n",
           (unsigned long long)lines, s, rate, p50, p99, (unsigned long long)mismatches, incomplete,
           g.conns);
    printf("ECHO conns=%u lines=%llu line_bytes=%u window=%u threads=%u secs=%.3f rate=%.0f "
           "p50_us=%.1f p99_us=%.1f mismatches=%llu incomplete=%u errors=%llu\n",
           g.conns, (unsigned long long)lines, g.line_bytes, g.window, g.threads, s, rate, p50, p99,
           (unsigned long long)mismatches, incomplete, (unsigned long long)errors);
    return errors == 0 ? 0 : 1;
}
