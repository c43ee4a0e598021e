/* test_node.c — distribution (troupe/node.h): troupe systems in several
 * processes, connected through a nats-server of the test's own
 * (nats_harness.h).
 *
 * The test binary is its own peer: `test_node node URL CLUSTER [k=v...]`
 * runs a node that obeys command lines on stdin (spawn a service actor,
 * register or look up a global name, ask, send, stats, quit) and answers on
 * stdout. Service actors ("svc") do what a message asks (echo, increment,
 * forward, crash, link, monitor, trap, count sequences, send sequences, ask
 * asynchronously) and report what they see to the test's inbox, so each case
 * checks exact pids, reasons and references across processes:
 *
 *   start_errors      what tr_node_start and the name calls answer before,
 *                     after and instead of a start (TR_EINVAL, TR_ENOTSUP,
 *                     TR_ECONNREFUSED then a retry that works, TR_EALREADY,
 *                     TR_ENOJETSTREAM)
 *   auth_token, auth_user   wrong or missing credentials: TR_EAUTH; right
 *                     ones work
 *   tls               TLS with the CA works end to end (two processes); no
 *                     CA, no TLS, or no client certificate where one is
 *                     required: refused
 *   send_ask          three processes: remote send, tr_ask (reply, ENOREPLY,
 *                     EUNHANDLED, ENOACTOR), tr_ask_async from actors both
 *                     ways and between the peers
 *   forward           tr_msg_forward to another node, and through a second
 *                     node to a third and back to the first: the original
 *                     sender kept, replies straight to the asker
 *   max_frame         a payload of max_frame goes, one byte more is
 *                     TR_ETOOBIG; also at the default (1 MiB, capped by
 *                     the server's max_payload less 64)
 *   order_under_load  3 senders on two processes x 20,000 messages to an
 *                     actor on a third: every one arrives, each sender's in
 *                     order
 *   global_names      register on one node, whereis from the two others,
 *                     TR_EEXIST, the name gone after its actor exits and
 *                     after its node is killed, unregister, registering
 *                     from an actor
 *   name_taken_over   a name taken over while its node was away (written
 *                     straight into the bucket, as the taking node would)
 *                     is not written back by that node's next refresh: the
 *                     node drops it
 *   remote_monitor_link   monitors and links across nodes, both ways: DOWN
 *                     and EXIT with the exit reason, tr_kill and
 *                     tr_send_exit across, dead pids (TR_ENOACTOR)
 *   node_down         kill -9 of a node: monitors (on two other nodes) get
 *                     DOWN and trapping links EXIT with TR_ENODEDOWN, a
 *                     pending tr_ask and tr_ask_async end at once, later mail
 *                     is a counted dead letter, monitors set afterwards fire
 *                     at once
 *   restart           a restarted node has a new id; pids of the old
 *                     incarnation are dead (TR_ENOACTOR, a counted dead
 *                     letter) on every node; a node that shuts down is seen
 *                     down, and its monitors fire
 *   hostile_frames    a raw NATS client publishes malformed, truncated,
 *                     mistyped, oversized, misaddressed and forged frames to
 *                     a node's subject: each is counted in bad_frames and
 *                     dropped, nothing of them is delivered, and the node
 *                     goes on working
 *
 * No assertion depends on timing: every wait is for a condition, with a
 * watchdog far beyond what a case needs. Nodes use heartbeat_ms 100 and
 * down_after_ms 400. `test_node NAME` runs one case. Without nats-server
 * the test prints "SKIP: nats-server not installed" and passes; in a build
 * without NATS it checks that every call answers TR_ENOTSUP, and passes. */
#include "check.h"
#include "nats_harness.h"

#include "actor.h" /* TR_NODE_SHIFT, TR_IO_NODE: pids of a given node, for forged frames */
#include "msg.h"   /* TR_KIND_*: frame kinds */

#include <msgpack.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <troupe/node.h>

enum {
    WATCHDOG_MS = 20000, /* any single wait: far beyond what it needs */
    CHILD_START_MS = 20000,
    HEARTBEAT_MS = 100,
    DOWN_AFTER_MS = 400,
    SEQ_SENDERS = 3,
    SEQ_COUNT = SANITIZED ? 4000 : 20000,
    SEQ_CHUNK = 500, /* messages a sender sends per turn */
    MAX_SENDERS = 8,
};

/* Message types of the service actor. */
enum {
    T_ECHO = 100,  /* ask: reply with the payload; plain: T_ECHOED to the sender */
    T_ECHOED,      /* [the original sender's pid][payload] */
    T_INC,         /* ask i64: reply x + 1 */
    T_NOREPLY,     /* returns 0 without a reply */
    T_UNHANDLED,   /* returns TR_EUNHANDLED */
    T_CRASH,       /* i64: the exit reason receive returns */
    T_STOP,        /* tr_exit(cx, 0) */
    T_TARGET,      /* i64: from now on T_ECHO, T_INC and T_SPIN are forwarded there */
    T_LINK,        /* i64 pid: tr_link, then T_PING to it; reports EV_LINKED */
    T_MONITOR,     /* i64 pid: tr_monitor, then T_PING to it; reports EV_MONITORED */
    T_TRAP,        /* i64: tr_trap_exits */
    T_PING,        /* reports EV_PONG (pid: the sender) */
    T_SPIN,        /* forwards itself to itself forever: an ask that stays pending */
    T_ASK_ASYNC,   /* ask_req: tr_ask_async, reports EV_REPLY / EV_ASK_FAILED / EV_ASK_TIMEOUT */
    T_REGISTER,    /* a name: tr_register_global(self), reports EV_RC */
    T_SEQ,         /* seq_msg: counted by the sink, in order per sender */
    T_SEQ_QUERY,   /* ask: reply seq_status */
    T_SEQ_START,   /* seq_start: send count T_SEQ to `to` as sender id */
    T_SEQ_MORE,    /* to itself: the next chunk */
    T_HOSTILE_OK,  /* frames of the raw client that must arrive */
    T_HOSTILE_BAD, /* ...and those that must not */
    MSG_EVENT,     /* an event (below), to the report pid */
};

enum {
    EV_LINKED = 1,
    EV_MONITORED,
    EV_PONG,
    EV_EXIT,
    EV_DOWN,
    EV_REPLY,
    EV_ASK_FAILED,
    EV_ASK_TIMEOUT,
    EV_RC,
    EV_SENT,
};

static const char *ev_name(int ev) {
    static const char *names[] = {"?",     "LINKED",     "MONITORED",   "PONG", "EXIT", "DOWN",
                                  "REPLY", "ASK_FAILED", "ASK_TIMEOUT", "RC",   "SENT"};
    return ev >= 0 && ev <= EV_SENT ? names[ev] : "?";
}

typedef struct {
    int32_t ev, pad;
    tr_pid self; /* who reports */
    tr_pid pid;  /* about whom */
    int64_t reason, ref, value;
} event;

typedef struct {
    uint32_t id, pad;
    uint64_t seq;
} seq_msg;

typedef struct {
    tr_pid to;
    uint64_t count;
    uint32_t id, pad;
} seq_start;

typedef struct {
    uint64_t total, errors;
    uint64_t next[MAX_SENDERS];
} seq_status;

typedef struct {
    tr_pid to;
    uint32_t type, pad;
    int64_t arg;
} ask_req;

/* ---- the service actor ---- */

typedef struct {
    tr_pid report, target;
    seq_status sink;
    seq_start out; /* sending */
    uint64_t sent;
    uint32_t ask_ref;
} svc_state;

typedef struct {
    tr_pid report;
} svc_arg;

static void report(tr_ctx *cx, svc_state *s, int ev, tr_pid pid, int64_t reason, int64_t ref,
                   int64_t value) {
    if (!s->report)
        return;
    event e = {ev, 0, tr_self(cx), pid, reason, ref, value};
    int rc = tr_send(tr_ctx_system(cx), s->report, MSG_EVENT, &e, sizeof e);
    CHECK(rc == 0 || rc == TR_ESTOPPED || rc == TR_ENOACTOR); /* at the end: the inbox is gone */
}

static int svc_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((svc_state *)state)->report = ((const svc_arg *)arg)->report;
    return 0;
}

static int is_request(const tr_msg *m) {
    return tr_msg_ref(m) != 0 && !tr_msg_is_reply(m);
}

static int svc_send_seq_chunk(tr_ctx *cx, svc_state *s) {
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < SEQ_CHUNK && s->sent < s->out.count; i++, s->sent++) {
        seq_msg q = {s->out.id, 0, s->sent};
        CHECK_EQ(tr_send(sys, s->out.to, T_SEQ, &q, sizeof q), 0);
    }
    if (s->sent < s->out.count)
        CHECK_EQ(tr_send(sys, tr_self(cx), T_SEQ_MORE, NULL, 0), 0);
    else
        report(cx, s, EV_SENT, s->out.to, 0, 0, (int64_t)s->sent);
    return 0;
}

static int svc_receive(tr_ctx *cx, void *state, tr_msg *m) {
    svc_state *s = state;
    tr_system *sys = tr_ctx_system(cx);
    uint32_t type = tr_msg_type(m), ref = 0;
    int64_t x = tr_msg_i64(m);
    int rc;
    if (tr_msg_is_reply(m)) { /* of our tr_ask_async */
        int ours = tr_msg_ref(m) == s->ask_ref;
        if (type == TR_MSG_ASK_FAILED)
            report(cx, s, EV_ASK_FAILED, 0, x, ours, 0);
        else if (type == TR_MSG_ASK_TIMEOUT)
            report(cx, s, EV_ASK_TIMEOUT, 0, 0, ours, 0);
        else
            report(cx, s, EV_REPLY, tr_msg_sender(m), 0, ours, x);
        return 0;
    }
    if (s->target && (type == T_ECHO || type == T_INC || type == T_SPIN))
        return tr_msg_forward(cx, s->target, m);
    switch (type) {
    case T_ECHO:
        if (is_request(m))
            return tr_reply(cx, m, tr_msg_data(m), tr_msg_size(m));
        else {
            tr_pid from = tr_msg_sender(m);
            CHECK(from > 0);
            size_t n = tr_msg_size(m);
            unsigned char *buf = malloc(n + 8);
            CHECK(buf != NULL);
            memcpy(buf, &from, 8);
            if (n)
                memcpy(buf + 8, tr_msg_data(m), n);
            rc = tr_send(sys, from, T_ECHOED, buf, n + 8);
            free(buf);
            CHECK_EQ(rc, 0);
            return 0;
        }
    case T_INC: return tr_reply_i64(cx, m, x + 1);
    case T_NOREPLY: return 0;
    case T_UNHANDLED: return TR_EUNHANDLED;
    case T_CRASH: return (int)x;
    case T_STOP: return tr_exit(cx, 0);
    case T_TARGET: s->target = x; return 0;
    case T_LINK:
        CHECK_EQ(tr_link(cx, x), 0);
        rc = tr_send(sys, x, T_PING, NULL, 0); /* after the link, in this pair's order */
        CHECK(rc == 0 || rc == TR_ENOACTOR);
        report(cx, s, EV_LINKED, x, 0, 0, 0);
        return 0;
    case T_MONITOR:
        CHECK_EQ(tr_monitor(cx, x, &ref), 0);
        rc = tr_send(sys, x, T_PING, NULL, 0);
        CHECK(rc == 0 || rc == TR_ENOACTOR);
        report(cx, s, EV_MONITORED, x, 0, ref, 0);
        return 0;
    case T_TRAP: tr_trap_exits(cx, (int)x); return 0;
    case T_PING: report(cx, s, EV_PONG, tr_msg_sender(m), 0, 0, 0); return 0;
    case T_SPIN: return tr_msg_forward(cx, tr_self(cx), m);
    case T_ASK_ASYNC: {
        ask_req q;
        CHECK_EQ(tr_msg_size(m), sizeof q);
        memcpy(&q, tr_msg_data(m), sizeof q);
        tr_msg *req = tr_msg_new(sys, q.type, 8);
        CHECK(req != NULL);
        memcpy(tr_msg_data(req), &q.arg, 8);
        CHECK_EQ(tr_ask_async(cx, q.to, req, WATCHDOG_MS, &s->ask_ref), 0);
        return 0;
    }
    case T_REGISTER: {
        char name[128];
        size_t n = tr_msg_size(m);
        CHECK(n < sizeof name);
        memcpy(name, tr_msg_data(m), n);
        name[n] = 0;
        report(cx, s, EV_RC, 0, 0, 0, tr_register_global(sys, name, tr_self(cx)));
        return 0;
    }
    case T_SEQ: {
        seq_msg q;
        CHECK_EQ(tr_msg_size(m), sizeof q);
        memcpy(&q, tr_msg_data(m), sizeof q);
        CHECK(q.id < MAX_SENDERS);
        if (q.seq != s->sink.next[q.id]) {
            if (!s->sink.errors)
                fprintf(stderr, "sink: sender %u: seq %llu after %llu\n", q.id,
                        (unsigned long long)q.seq, (unsigned long long)s->sink.next[q.id]);
            s->sink.errors++;
        }
        s->sink.next[q.id] = q.seq + 1;
        s->sink.total++;
        return 0;
    }
    case T_SEQ_QUERY: return tr_reply(cx, m, &s->sink, sizeof s->sink);
    case T_SEQ_START:
        CHECK_EQ(tr_msg_size(m), sizeof s->out);
        memcpy(&s->out, tr_msg_data(m), sizeof s->out);
        s->sent = 0;
        return svc_send_seq_chunk(cx, s);
    case T_SEQ_MORE: return svc_send_seq_chunk(cx, s);
    case TR_MSG_EXIT:
        report(cx, s, EV_EXIT, tr_msg_exit_pid(m), tr_msg_exit_reason(m), 0, 0);
        return 0;
    case TR_MSG_DOWN:
        report(cx, s, EV_DOWN, tr_msg_exit_pid(m), tr_msg_exit_reason(m), tr_msg_ref(m), 0);
        return 0;
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec svc_spec = {
    .name = "svc", .state_size = sizeof(svc_state), .init = svc_init, .receive = svc_receive};

/* ---- node configuration ---- */

static nh_server g_srv; /* the plain server most cases share */

typedef struct {
    const char *token, *user, *password;
    int tls;
    const char *ca, *cert, *key;
    unsigned max_frame;
} creds;

static tr_node_config node_cfg(const char *url, const char *cluster, const creds *c) {
    static const creds none;
    if (!c)
        c = &none;
    tr_node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.cluster = cluster;
    cfg.name = "test";
    cfg.token = c->token;
    cfg.user = c->user;
    cfg.password = c->password;
    cfg.tls = c->tls;
    cfg.tls_ca = c->ca;
    cfg.tls_cert = c->cert;
    cfg.tls_key = c->key;
    cfg.max_frame = c->max_frame;
    cfg.heartbeat_ms = HEARTBEAT_MS;
    cfg.down_after_ms = DOWN_AFTER_MS;
    return cfg;
}

/* tr_node_start on a fresh system; returns what it returned. */
static int try_start(const char *url, const char *cluster, const creds *c) {
    tr_system *sys = check_system_kept(1);
    tr_node_config cfg = node_cfg(url, cluster, c);
    int rc = tr_node_start(sys, &cfg);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    return rc;
}

/* A pid of node `node` (no such actor need exist). */
static tr_pid pid_of_node(unsigned node, uint64_t slot) {
    return (tr_pid)(((uint64_t)node << TR_NODE_SHIFT) | slot);
}

/* ---- the peer role: a node in a child process ---- */

static int role_node(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: test_node node URL CLUSTER [key=value...]\n");
        return 2;
    }
    creds c;
    memset(&c, 0, sizeof c);
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "token=", 6) == 0)
            c.token = a + 6;
        else if (strncmp(a, "user=", 5) == 0)
            c.user = a + 5;
        else if (strncmp(a, "pass=", 5) == 0)
            c.password = a + 5;
        else if (strcmp(a, "tls=1") == 0)
            c.tls = 1;
        else if (strncmp(a, "ca=", 3) == 0)
            c.ca = a + 3;
        else if (strncmp(a, "cert=", 5) == 0)
            c.cert = a + 5;
        else if (strncmp(a, "key=", 4) == 0)
            c.key = a + 4;
        else if (strncmp(a, "max_frame=", 10) == 0)
            c.max_frame = (unsigned)strtoul(a + 10, NULL, 10);
        else {
            fprintf(stderr, "test_node node: unknown option %s\n", a);
            return 2;
        }
    }
    tr_system *sys = check_system_kept(2);
    tr_node_config cfg = node_cfg(argv[2], argv[3], &c);
    cfg.name = "peer";
    int id = tr_node_start(sys, &cfg);
    if (id <= 0) {
        printf("FAIL tr_node_start %d %s\n", id, tr_strerror(id));
        fflush(stdout);
        tr_system_shutdown(sys);
        return 1;
    }
    printf("READY %d\n", id);
    fflush(stdout);
    char line[512], name[128];
    long long a, b;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "spawn %lld", &a) == 1) {
            svc_arg arg = {a};
            printf("PID %lld\n", (long long)tr_spawn(sys, &svc_spec, &arg));
        } else if (sscanf(line, "register %127s %lld", name, &a) == 2) {
            printf("RC %d\n", tr_register_global(sys, name, a));
        } else if (sscanf(line, "unregister %127s", name) == 1) {
            printf("RC %d\n", tr_unregister_global(sys, name));
        } else if (sscanf(line, "whereis %127s", name) == 1) {
            printf("PID %lld\n", (long long)tr_whereis_global(sys, name));
        } else if (sscanf(line, "up %lld", &a) == 1) {
            printf("UP %d\n", tr_node_up(sys, (unsigned)a));
        } else if (sscanf(line, "send %lld", &a) == 1) {
            printf("RC %d\n", tr_send(sys, a, T_PING, NULL, 0));
        } else if (sscanf(line, "ask %lld %lld", &a, &b) == 2) {
            int64_t v = 0;
            int rc = tr_ask_i64(sys, a, T_INC, b, &v, WATCHDOG_MS);
            printf("ASK %d %lld\n", rc, (long long)v);
        } else if (strncmp(line, "stats", 5) == 0) {
            tr_node_stats st;
            memset(&st, 0, sizeof st);
            int rc = tr_node_stats_get(sys, &st);
            printf("STATS %d %llu %llu %u %u\n", rc, (unsigned long long)st.bad_frames,
                   (unsigned long long)st.dead_letters, st.nodes_up, st.nodes_down);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        } else {
            printf("ERR unknown command: %s", line);
        }
        fflush(stdout);
    }
    CHECK_EQ(tr_system_shutdown(sys), 0);
    printf("BYE\n");
    fflush(stdout);
    return 0;
}

/* ---- the test's side: peers ---- */

typedef struct {
    nh_child c;
    unsigned node;
} peer;

static void peer_start_on(peer *p, const char *url, const char *cluster, const char *const *opts) {
    const char *args[24] = {"node", url, cluster};
    int n = 3;
    for (; opts && *opts && n < 23; opts++)
        args[n++] = *opts;
    args[n] = NULL;
    CHECK_EQ(nh_child_start(&p->c, args), 0);
    char line[256];
    CHECK_EQ(nh_child_expect(&p->c, "READY", line, sizeof line, CHILD_START_MS), 0);
    unsigned id = 0;
    CHECK_EQ(sscanf(line, "READY %u", &id), 1);
    CHECK(id >= 1 && id <= TR_NODE_MAX);
    p->node = id;
}

static void peer_start(peer *p, const char *cluster) {
    peer_start_on(p, g_srv.url, cluster, NULL);
}

/* Sends a command and returns the first number of the answer line that
 * starts with `answer`. */
static long long peer_cmd(peer *p, const char *answer, const char *fmt, ...) {
    char cmd[512], line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    CHECK_EQ(nh_child_send(&p->c, "%s", cmd), 0);
    CHECK_EQ(nh_child_expect(&p->c, answer, line, sizeof line, WATCHDOG_MS), 0);
    long long v = 0;
    CHECK_EQ(sscanf(line + strlen(answer), "%lld", &v), 1);
    return v;
}

static tr_pid peer_spawn(peer *p, tr_pid report) {
    tr_pid pid = peer_cmd(p, "PID", "spawn %lld", (long long)report);
    CHECK(pid > 0);
    CHECK_EQ(tr_pid_node(pid), p->node);
    return pid;
}

/* Ends a peer with "quit": it shuts down and exits with 0. */
static void peer_quit(peer *p) {
    CHECK_EQ(nh_child_send(&p->c, "quit"), 0);
    CHECK_EQ(nh_child_expect(&p->c, "BYE", NULL, 0, WATCHDOG_MS), 0);
    CHECK(nh_exited_ok(nh_child_wait(&p->c, WATCHDOG_MS)));
}

static void peer_kill(peer *p) {
    nh_child_kill(&p->c, SIGKILL);
    int status = nh_child_wait(&p->c, WATCHDOG_MS);
    CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* ---- the test's side: its own node ---- */

typedef struct {
    tr_system *sys;
    tr_inbox *ib;
    tr_pid me; /* the inbox's pid */
    unsigned node;
    tr_msg *held[128]; /* received, not yet taken */
    int nheld;
} rig;

static void rig_open_on(rig *r, const char *url, const char *cluster, const creds *c) {
    memset(r, 0, sizeof *r);
    r->sys = check_system_kept(2);
    tr_node_config cfg = node_cfg(url, cluster, c);
    int id = tr_node_start(r->sys, &cfg);
    CHECK(id > 0);
    r->node = (unsigned)id;
    CHECK_EQ(tr_node_self(r->sys), r->node);
    CHECK_EQ(tr_inbox_open(r->sys, &r->ib), 0);
    r->me = tr_inbox_pid(r->ib); /* a reply address: node TR_WAITER_NODE (waiter.h) */
}

static void rig_open(rig *r, const char *cluster) {
    rig_open_on(r, g_srv.url, cluster, NULL);
}

static tr_pid rig_spawn(rig *r) {
    svc_arg a = {r->me};
    tr_pid pid = check_spawn(r->sys, &svc_spec, &a);
    CHECK_EQ(tr_pid_node(pid), r->node);
    return pid;
}

static void print_event(const char *what, const event *e) {
    fprintf(stderr, "  %s: %s self=%lld pid=%lld reason=%lld (%s) ref=%lld value=%lld\n", what,
            ev_name(e->ev), (long long)e->self, (long long)e->pid, (long long)e->reason,
            check_code_name(e->reason), (long long)e->ref, (long long)e->value);
}

static void print_held(rig *r) {
    for (int i = 0; i < r->nheld; i++) {
        tr_msg *m = r->held[i];
        if (tr_msg_type(m) == MSG_EVENT && tr_msg_size(m) == sizeof(event)) {
            event e;
            memcpy(&e, tr_msg_data(m), sizeof e);
            print_event("held", &e);
        } else {
            fprintf(stderr, "  held: message type %u from %lld, %zu bytes\n", tr_msg_type(m),
                    (long long)tr_msg_sender(m), tr_msg_size(m));
        }
    }
}

static int matches(tr_msg *m, uint32_t type, int ev, tr_pid self) {
    if (tr_msg_type(m) != type)
        return 0;
    if (type != MSG_EVENT)
        return 1;
    event e;
    CHECK_EQ(tr_msg_size(m), sizeof e);
    memcpy(&e, tr_msg_data(m), sizeof e);
    return e.ev == ev && (self == 0 || e.self == self);
}

/* The first message of `type` (for MSG_EVENT: event ev reported by self, 0:
 * anyone) at the inbox, whatever came before it (kept for later takes).
 * Fails the test after the watchdog. */
static tr_msg *take(rig *r, uint32_t type, int ev, tr_pid self, int line) {
    for (int i = 0; i < r->nheld; i++)
        if (matches(r->held[i], type, ev, self)) {
            tr_msg *m = r->held[i];
            memmove(r->held + i, r->held + i + 1, sizeof r->held[0] * (size_t)(r->nheld - i - 1));
            r->nheld--;
            return m;
        }
    uint64_t end = check_now_ms() + WATCHDOG_MS;
    for (;;) {
        uint64_t now = check_now_ms();
        tr_msg *m = NULL;
        int rc = tr_inbox_receive(r->ib, &m, now >= end ? 0 : (int)(end - now));
        if (rc == TR_ETIMEDOUT) {
            fprintf(stderr, "%s:%d: no message of type %u (event %s from %lld) within %d ms\n",
                    __FILE__, line, type, type == MSG_EVENT ? ev_name(ev) : "-", (long long)self,
                    WATCHDOG_MS);
            print_held(r);
            exit(1);
        }
        CHECK_EQ(rc, 0);
        if (matches(m, type, ev, self))
            return m;
        CHECK(r->nheld < (int)(sizeof r->held / sizeof r->held[0]));
        r->held[r->nheld++] = m;
    }
}

static event take_event_at(rig *r, int ev, tr_pid self, int line) {
    tr_msg *m = take(r, MSG_EVENT, ev, self, line);
    event e;
    memcpy(&e, tr_msg_data(m), sizeof e);
    CHECK_EQ(tr_msg_free(m), 0);
    return e;
}
#define take_event(r, ev, self) take_event_at(r, ev, self, __LINE__)

/* Nothing left unaccounted for: no event held, none queued. */
static void rig_quiet(rig *r) {
    if (r->nheld) {
        fprintf(stderr, "unexpected messages at the inbox:\n");
        print_held(r);
    }
    CHECK_EQ(r->nheld, 0);
    tr_msg *m = NULL;
    int rc = tr_inbox_receive(r->ib, &m, 0);
    if (rc == 0) {
        r->held[r->nheld++] = m;
        fprintf(stderr, "unexpected message at the inbox:\n");
        print_held(r);
    }
    CHECK_EQ(rc, TR_ETIMEDOUT);
}

static void rig_close(rig *r) {
    for (int i = 0; i < r->nheld; i++)
        tr_msg_free(r->held[i]);
    r->nheld = 0;
    CHECK_EQ(tr_inbox_close(r->ib), 0);
    CHECK_EQ(tr_system_shutdown(r->sys), 0);
}

static void cmd(rig *r, tr_pid to, uint32_t type, int64_t x) {
    CHECK_EQ(tr_send_i64(r->sys, to, type, x), 0);
}

/* P links (or monitors) pid; returns once the link has landed: P's ping to
 * pid came after it, in the same pair's order, and pid reported it. The
 * monitor's ref goes to *ref. */
static void link_landed(rig *r, tr_pid p, tr_pid pid, int monitor, int64_t *ref) {
    cmd(r, p, monitor ? T_MONITOR : T_LINK, pid);
    event e = take_event(r, monitor ? EV_MONITORED : EV_LINKED, p);
    CHECK_EQ(e.pid, pid);
    if (ref)
        *ref = e.ref;
    e = take_event(r, EV_PONG, pid);
    CHECK_EQ(e.pid, p);
}

static tr_node_stats node_stats(rig *r) {
    tr_node_stats st;
    CHECK_EQ(tr_node_stats_get(r->sys, &st), 0);
    return st;
}

static int64_t ask_inc(rig *r, tr_pid to, int64_t x) {
    int64_t v = 0;
    CHECK_EQ(tr_ask_i64(r->sys, to, T_INC, x, &v, WATCHDOG_MS), 0);
    return v;
}

/* An ask of T_ECHO with a patterned payload of n bytes: the reply is the
 * same bytes. */
static void ask_echo(rig *r, tr_pid to, size_t n, unsigned seed) {
    tr_msg *req = check_msg(r->sys, T_ECHO, n), *rep = NULL;
    check_pattern_fill(tr_msg_data(req), n, seed);
    CHECK_EQ(tr_ask(r->sys, to, req, &rep, WATCHDOG_MS), 0);
    CHECK(tr_msg_is_reply(rep));
    CHECK_EQ(tr_msg_type(rep), T_ECHO);
    CHECK_EQ(tr_msg_size(rep), n);
    CHECK(check_pattern_ok(tr_msg_data(rep), n, seed));
    CHECK_EQ(tr_msg_free(rep), 0);
}

/* A plain T_ECHO from the inbox to `to`; the T_ECHOED comes back from
 * `echoer`, saying the inbox was the sender it saw. */
static void send_echo(rig *r, tr_pid to, tr_pid echoer, size_t n, unsigned seed) {
    unsigned char *buf = malloc(n ? n : 1);
    CHECK(buf != NULL);
    check_pattern_fill(buf, n, seed);
    CHECK_EQ(tr_inbox_send(r->ib, to, T_ECHO, buf, n), 0);
    free(buf);
    tr_msg *m = take(r, T_ECHOED, 0, 0, __LINE__);
    CHECK_EQ(tr_msg_sender(m), echoer);
    CHECK_EQ(tr_msg_size(m), n + 8);
    tr_pid seen;
    memcpy(&seen, tr_msg_data(m), 8);
    CHECK_EQ(seen, r->me);
    CHECK(check_pattern_ok((unsigned char *)tr_msg_data(m) + 8, n, seed));
    CHECK_EQ(tr_msg_free(m), 0);
}

/* ---- cases ---- */

static void start_errors(void) {
    /* Not a node. */
    tr_system *sys = check_system_kept(1);
    tr_node_stats st;
    CHECK_EQ(tr_node_self(sys), 0);
    CHECK_EQ(tr_node_up(sys, 1), 0);
    CHECK_EQ(tr_node_stats_get(sys, &st), TR_ENOTSUP);
    CHECK_EQ(tr_whereis_global(sys, "x"), TR_ENOTSUP);
    CHECK_EQ(tr_unregister_global(sys, "x"), TR_ENOTSUP);
    CHECK_EQ(tr_node_start(sys, NULL), TR_EINVAL);
    tr_node_config cfg = node_cfg(NULL, "t_start", NULL);
    CHECK_EQ(tr_node_start(sys, &cfg), TR_EINVAL);
    static const char *const bad_clusters[] = {"a.b", "a b", "a*", "a>", "a/b"};
    for (size_t i = 0; i < sizeof bad_clusters / sizeof bad_clusters[0]; i++) {
        cfg = node_cfg(g_srv.url, bad_clusters[i], NULL);
        CHECK_EQ(tr_node_start(sys, &cfg), TR_EINVAL);
    }
    /* Nobody at the address; then the right one, on the same system. */
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", net_free_port());
    cfg = node_cfg(url, "t_start", NULL);
    CHECK_EQ(tr_node_start(sys, &cfg), TR_ECONNREFUSED);
    CHECK_EQ(tr_node_self(sys), 0);
    cfg = node_cfg(g_srv.url, "t_start", NULL);
    int id = tr_node_start(sys, &cfg);
    CHECK(id >= 1 && id <= (int)TR_NODE_MAX);
    CHECK_EQ(tr_node_start(sys, &cfg), TR_EALREADY);
    CHECK_EQ(tr_node_self(sys), id);
    CHECK_EQ(tr_node_up(sys, (unsigned)id), 1);
    CHECK_EQ(tr_node_up(sys, (unsigned)id + 1), 0);
    CHECK_EQ(tr_node_stats_get(sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_node_stats_get(sys, &st), 0);
    CHECK_EQ(st.nodes_up, 0);
    CHECK_EQ(st.bad_frames, 0);
    tr_pid p = check_spawn_idle(sys);
    CHECK_EQ(tr_pid_node(p), id);
    /* Names: bad ones, pids that are not local live actors. */
    char n64[65], n65[66];
    memset(n64, 'a', 64), n64[64] = 0;
    memset(n65, 'b', 65), n65[65] = 0;
    CHECK_EQ(tr_register_global(sys, "", p), TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, n65, p), TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, "a b", p), TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, "a*", p), TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, NULL, p), TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, "remote", pid_of_node((unsigned)id % TR_NODE_MAX + 1, 5)),
             TR_EINVAL);
    CHECK_EQ(tr_register_global(sys, "dead", check_dead_pid(sys)), TR_ENOACTOR);
    CHECK_EQ(tr_whereis_global(sys, "a b"), TR_EINVAL);
    CHECK_EQ(tr_whereis_global(sys, "nobody"), TR_ENOTFOUND);
    CHECK_EQ(tr_unregister_global(sys, "nobody"), TR_ENOTFOUND);
    CHECK_EQ(tr_register_global(sys, n64, p), 0);
    CHECK_EQ(tr_whereis_global(sys, n64), p);
    CHECK_EQ(tr_register_global(sys, "Mixed-Name_0.9", p), 0); /* two names, one pid */
    CHECK_EQ(tr_whereis_global(sys, "Mixed-Name_0.9"), p);
    CHECK_EQ(tr_unregister_global(sys, n64), 0);
    CHECK_EQ(tr_whereis_global(sys, n64), TR_ENOTFOUND);
    CHECK_EQ(tr_system_shutdown(sys), 0);

    /* A system that has spawned is too late to become a node. */
    sys = check_system_kept(1);
    check_spawn_idle(sys);
    CHECK_EQ(tr_node_start(sys, &cfg), TR_EALREADY);
    CHECK_EQ(tr_system_shutdown(sys), 0);

    /* A server without JetStream. */
    nh_server s;
    nh_opts o = {.no_jetstream = 1};
    CHECK_EQ(nh_start(&s, &o), 0);
    CHECK_EQ(try_start(s.url, "t_start", NULL), TR_ENOJETSTREAM);
    nh_stop(&s);
}

static void auth_token(void) {
    nh_server s;
    nh_opts o = {.token = "s3cret-Token"};
    CHECK_EQ(nh_start(&s, &o), 0);
    creds wrong = {.token = "not-it"}, right = {.token = "s3cret-Token"};
    creds as_user = {.user = "s3cret-Token", .password = "x"};
    CHECK_EQ(try_start(s.url, "t_auth", &wrong), TR_EAUTH);
    CHECK_EQ(try_start(s.url, "t_auth", NULL), TR_EAUTH);
    CHECK_EQ(try_start(s.url, "t_auth", &as_user), TR_EAUTH);
    int id = try_start(s.url, "t_auth", &right);
    CHECK(id > 0);
    /* Two nodes with the token talk. */
    rig r;
    rig_open_on(&r, s.url, "t_auth", &right);
    peer b;
    const char *opts[] = {"token=s3cret-Token", NULL};
    peer_start_on(&b, s.url, "t_auth", opts);
    CHECK_EQ(ask_inc(&r, peer_spawn(&b, r.me), 41), 42);
    peer_quit(&b);
    rig_close(&r);
    nh_stop(&s);
}

static void auth_user(void) {
    nh_server s;
    nh_opts o = {.user = "troupe", .password = "pa55word"};
    CHECK_EQ(nh_start(&s, &o), 0);
    creds wrong = {.user = "troupe", .password = "nope"},
          right = {.user = "troupe", .password = "pa55word"};
    creds nobody = {.user = "eve", .password = "pa55word"};
    CHECK_EQ(try_start(s.url, "t_auth", &wrong), TR_EAUTH);
    CHECK_EQ(try_start(s.url, "t_auth", &nobody), TR_EAUTH);
    CHECK_EQ(try_start(s.url, "t_auth", NULL), TR_EAUTH);
    CHECK(try_start(s.url, "t_auth", &right) > 0);
    nh_stop(&s);
}

static void tls(void) {
    nh_server s;
    nh_opts o = {.tls = 1};
    CHECK_EQ(nh_start(&s, &o), 0);
    printf("  (TLS certificates: %s)\n",
           s.certs_by_openssl ? "made now by openssl" : "the fixed test ones, not openssl's");
    creds with_ca = {.tls = 1, .ca = s.ca}, no_ca = {.tls = 1}, plain = {0};
    /* The server's certificate is not signed by anyone the client trusts,
       or the client does not speak TLS: refused (which code is not said). */
    CHECK(try_start(s.url, "t_tls", &no_ca) < 0);
    CHECK(try_start(s.url, "t_tls", &plain) < 0);
    /* With the CA: two processes, a round trip. */
    rig r;
    rig_open_on(&r, s.url, "t_tls", &with_ca);
    char ca[NH_PATH + 32];
    snprintf(ca, sizeof ca, "ca=%s", s.ca);
    const char *opts[] = {"tls=1", ca, NULL};
    peer b;
    peer_start_on(&b, s.url, "t_tls", opts);
    tr_pid x = peer_spawn(&b, r.me);
    CHECK_EQ(ask_inc(&r, x, 1), 2);
    ask_echo(&r, x, 10000, 3);
    CHECK_EQ(peer_cmd(&b, "ASK", "ask %lld 7", (long long)rig_spawn(&r)), 0);
    peer_quit(&b);
    rig_close(&r);
    nh_stop(&s);

    /* Client certificates required. */
    nh_opts mo = {.tls = 1, .tls_verify = 1};
    CHECK_EQ(nh_start(&s, &mo), 0);
    creds with_cert = {.tls = 1, .ca = s.ca, .cert = s.cert, .key = s.key};
    creds no_cert = {.tls = 1, .ca = s.ca};
    CHECK(try_start(s.url, "t_tls", &no_cert) < 0);
    CHECK(try_start(s.url, "t_tls", &with_cert) > 0);
    nh_stop(&s);
}

static void send_ask(void) {
    rig r;
    rig_open(&r, "t_basic");
    peer b, c;
    peer_start(&b, "t_basic");
    peer_start(&c, "t_basic");
    CHECK(b.node != c.node && b.node != r.node && c.node != r.node);
    CHECK_WAIT_UNTIL(tr_node_up(r.sys, b.node) && tr_node_up(r.sys, c.node), WATCHDOG_MS);
    tr_pid xb = peer_spawn(&b, r.me), xc = peer_spawn(&c, r.me), p = rig_spawn(&r);

    /* Plain sends both ways, payloads of several sizes. */
    static const size_t sizes[] = {0, 1, 7, 1000, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        send_echo(&r, xb, xb, sizes[i], (unsigned)i);
    /* Asks from a plain thread. */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        ask_echo(&r, xc, sizes[i], (unsigned)i + 10);
    CHECK_EQ(ask_inc(&r, xb, 41), 42);
    int64_t v = 0;
    CHECK_EQ(tr_ask_i64(r.sys, xb, T_NOREPLY, 0, &v, WATCHDOG_MS), TR_ENOREPLY);
    CHECK_EQ(tr_ask_i64(r.sys, xb, T_UNHANDLED, 0, &v, WATCHDOG_MS), TR_EUNHANDLED);
    /* An ask to an actor that exits instead of replying; then to its pid. */
    tr_pid dead = peer_spawn(&b, r.me);
    int rc = tr_ask_i64(r.sys, dead, T_STOP, 0, &v, WATCHDOG_MS);
    CHECK(rc == TR_ENOACTOR || rc == TR_ENOREPLY);
    CHECK_EQ(tr_ask_i64(r.sys, dead, T_INC, 0, &v, WATCHDOG_MS), TR_ENOACTOR);
    /* Asks from the peers' plain threads to actors here and on each other. */
    CHECK_EQ(peer_cmd(&b, "ASK", "ask %lld 5", (long long)p), 0);
    CHECK_EQ(peer_cmd(&c, "ASK", "ask %lld 5", (long long)xb), 0);

    /* tr_ask_async from an actor here: to C, to a dead pid, to one that
       does not reply. */
    ask_req q = {xc, T_INC, 0, 41};
    CHECK_EQ(tr_send(r.sys, p, T_ASK_ASYNC, &q, sizeof q), 0);
    event e = take_event(&r, EV_REPLY, p);
    CHECK_EQ(e.value, 42);
    CHECK_EQ(e.ref, 1); /* the ref matched */
    q.to = dead;
    CHECK_EQ(tr_send(r.sys, p, T_ASK_ASYNC, &q, sizeof q), 0);
    e = take_event(&r, EV_ASK_FAILED, p);
    CHECK_EQ(e.reason, TR_ENOACTOR);
    CHECK_EQ(e.ref, 1);
    q.type = T_NOREPLY;
    q.to = xc;
    CHECK_EQ(tr_send(r.sys, p, T_ASK_ASYNC, &q, sizeof q), 0);
    e = take_event(&r, EV_ASK_FAILED, p);
    CHECK_EQ(e.reason, TR_ENOREPLY);
    /* ...and from C's actor to one here, and to B's. */
    q = (ask_req){p, T_INC, 0, 9};
    CHECK_EQ(tr_send(r.sys, xc, T_ASK_ASYNC, &q, sizeof q), 0);
    e = take_event(&r, EV_REPLY, xc);
    CHECK_EQ(e.value, 10);
    CHECK_EQ(e.ref, 1);
    q.to = xb;
    CHECK_EQ(tr_send(r.sys, xc, T_ASK_ASYNC, &q, sizeof q), 0);
    e = take_event(&r, EV_REPLY, xc);
    CHECK_EQ(e.value, 10);

    rig_quiet(&r);
    tr_node_stats st = node_stats(&r);
    CHECK(st.frames_out > 0 && st.frames_in > 0 && st.batches_out > 0 && st.batches_in > 0);
    CHECK_EQ(st.bad_frames, 0);
    CHECK(st.nodes_up >= 2);
    peer_quit(&b);
    peer_quit(&c);
    rig_close(&r);
}

static void forward(void) {
    rig r;
    rig_open(&r, "t_forward");
    peer b, c;
    peer_start(&b, "t_forward");
    peer_start(&c, "t_forward");
    tr_pid xb = peer_spawn(&b, r.me), xc = peer_spawn(&c, r.me), p = rig_spawn(&r);
    /* Forwarded by an actor on the receiving node, to one on another: the
       frame's sender is a pid of the node that publishes it. */
    tr_pid fa = rig_spawn(&r);
    cmd(&r, fa, T_TARGET, xc);
    CHECK_EQ(ask_inc(&r, fa, 10), 11); /* ...and is its reply address */
    tr_pid fc = peer_spawn(&c, r.me);
    cmd(&r, fc, T_TARGET, xb);
    CHECK_EQ(ask_inc(&r, fc, 20), 21);
    /* Through B to C (the sender stays the inbox, a pid of this node, not
       B's), through B back here, and an ask through B answered by C
       straight to the asker. */
    tr_pid fb = peer_spawn(&b, r.me);
    cmd(&r, fb, T_TARGET, xc);
    send_echo(&r, fb, xc, 100, 21);
    ask_echo(&r, fb, 3000, 22);
    CHECK_EQ(ask_inc(&r, fb, 99), 100);
    tr_pid fb2 = peer_spawn(&b, r.me);
    cmd(&r, fb2, T_TARGET, p);
    send_echo(&r, fb2, p, 100, 23);
    CHECK_EQ(ask_inc(&r, fb2, -1), 0);
    /* An actor's tr_ask_async through B to C: the reply comes back here. */
    ask_req q = {fb, T_INC, 0, 41};
    CHECK_EQ(tr_send(r.sys, p, T_ASK_ASYNC, &q, sizeof q), 0);
    event e = take_event(&r, EV_REPLY, p);
    CHECK_EQ(e.value, 42);
    CHECK_EQ(e.ref, 1);
    rig_quiet(&r);
    CHECK_EQ(node_stats(&r).bad_frames, 0);
    peer_quit(&b);
    peer_quit(&c);
    rig_close(&r);
}

static void max_frame(void) {
    /* Here 64 KiB; the peer has the default. */
    rig r;
    creds c = {.max_frame = 65536};
    rig_open_on(&r, g_srv.url, "t_frame", &c);
    peer b;
    peer_start(&b, "t_frame");
    tr_pid x = peer_spawn(&b, r.me);
    ask_echo(&r, x, 65536, 1);
    unsigned char *big = calloc(1, (1u << 20) + 1);
    CHECK(big != NULL);
    CHECK_EQ(tr_send(r.sys, x, T_ECHO, big, 65537), TR_ETOOBIG);
    tr_msg *req = check_msg(r.sys, T_ECHO, 65537), *rep = NULL;
    CHECK_EQ(tr_ask(r.sys, x, req, &rep, WATCHDOG_MS), TR_ETOOBIG);
    CHECK_EQ(ask_inc(&r, x, 1), 2); /* nothing stuck */
    peer_quit(&b);
    rig_close(&r);

    /* The default, 1 MiB, on both sides, is capped by the server's
       max_payload (1 MiB here) less 64 bytes for the frame's and the batch's
       headers (troupe/node.h). */
    rig_open(&r, "t_frame");
    peer_start(&b, "t_frame");
    x = peer_spawn(&b, r.me);
    ask_echo(&r, x, (1u << 20) - 64, 2);
    CHECK_EQ(tr_send(r.sys, x, T_ECHO, big, (1u << 20) - 63), TR_ETOOBIG);
    CHECK_EQ(ask_inc(&r, x, 2), 3);
    free(big);
    peer_quit(&b);
    rig_close(&r);
}

static seq_status seq_query(rig *r, tr_pid sink) {
    tr_msg *req = check_msg(r->sys, T_SEQ_QUERY, 0), *rep = NULL;
    CHECK_EQ(tr_ask(r->sys, sink, req, &rep, WATCHDOG_MS), 0);
    seq_status st;
    CHECK_EQ(tr_msg_size(rep), sizeof st);
    memcpy(&st, tr_msg_data(rep), sizeof st);
    CHECK_EQ(tr_msg_free(rep), 0);
    return st;
}

static void order_under_load(void) {
    rig r;
    rig_open(&r, "t_order");
    peer b, c;
    peer_start(&b, "t_order");
    peer_start(&c, "t_order");
    tr_pid sink = peer_spawn(&b, r.me);
    tr_pid senders[SEQ_SENDERS] = {rig_spawn(&r), rig_spawn(&r), peer_spawn(&c, r.me)};
    uint64_t t0 = check_now_ms();
    for (uint32_t i = 0; i < SEQ_SENDERS; i++) {
        seq_start s = {sink, SEQ_COUNT, i, 0};
        CHECK_EQ(tr_send(r.sys, senders[i], T_SEQ_START, &s, sizeof s), 0);
    }
    for (int i = 0; i < SEQ_SENDERS; i++)
        CHECK_EQ(take_event(&r, EV_SENT, senders[i]).value, SEQ_COUNT);
    seq_status st;
    uint64_t end = check_now_ms() + 60000;
    while ((st = seq_query(&r, sink)).total < (uint64_t)SEQ_SENDERS * SEQ_COUNT && st.errors == 0 &&
           check_now_ms() < end)
        uv_sleep(10);
    printf("  %d x %d messages across nodes in %llu ms\n", SEQ_SENDERS, SEQ_COUNT,
           (unsigned long long)(check_now_ms() - t0));
    CHECK_EQ(st.errors, 0);
    CHECK_EQ(st.total, (uint64_t)SEQ_SENDERS * SEQ_COUNT);
    for (int i = 0; i < SEQ_SENDERS; i++)
        CHECK_EQ(st.next[i], SEQ_COUNT);
    rig_quiet(&r);
    peer_quit(&b);
    peer_quit(&c);
    rig_close(&r);
}

static long long peer_whereis(peer *p, const char *name) {
    return peer_cmd(p, "PID", "whereis %s", name);
}

static void global_names(void) {
    rig r;
    rig_open(&r, "t_names");
    peer b, c;
    peer_start(&b, "t_names");
    peer_start(&c, "t_names");
    tr_pid x = peer_spawn(&b, r.me), mine = rig_spawn(&r), yc = peer_spawn(&c, r.me);

    CHECK_EQ(peer_cmd(&b, "RC", "register svc.alpha %lld", (long long)x), 0);
    CHECK_EQ(tr_whereis_global(r.sys, "svc.alpha"), x);
    CHECK_EQ(peer_whereis(&c, "svc.alpha"), x);
    CHECK_EQ(peer_whereis(&b, "svc.alpha"), x);
    CHECK_EQ(tr_register_global(r.sys, "svc.alpha", mine), TR_EEXIST);
    CHECK_EQ(peer_cmd(&c, "RC", "register svc.alpha %lld", (long long)yc), TR_EEXIST);
    CHECK_EQ(peer_cmd(&b, "RC", "register svc.alpha %lld", (long long)x), TR_EEXIST);
    CHECK_EQ(ask_inc(&r, tr_whereis_global(r.sys, "svc.alpha"), 1), 2);
    CHECK_EQ(tr_unregister_global(r.sys, "svc.alpha"), TR_ENOTFOUND); /* not this node's */
    CHECK_EQ(tr_whereis_global(r.sys, "svc.nobody"), TR_ENOTFOUND);

    /* The actor exits: the name goes (soon: poll). */
    cmd(&r, x, T_STOP, 0);
    CHECK_WAIT_UNTIL(tr_whereis_global(r.sys, "svc.alpha") == TR_ENOTFOUND, WATCHDOG_MS);
    CHECK_EQ(peer_whereis(&c, "svc.alpha"), TR_ENOTFOUND);
    /* ...and is free for anyone. */
    CHECK_EQ(tr_register_global(r.sys, "svc.alpha", mine), 0);
    CHECK_EQ(peer_whereis(&c, "svc.alpha"), mine);
    CHECK_EQ(peer_cmd(&c, "RC", "register svc.alpha %lld", (long long)yc), TR_EEXIST);
    CHECK_EQ(tr_unregister_global(r.sys, "svc.alpha"), 0);
    CHECK_EQ(tr_unregister_global(r.sys, "svc.alpha"), TR_ENOTFOUND);
    CHECK_EQ(peer_whereis(&c, "svc.alpha"), TR_ENOTFOUND);

    /* Registered by an actor, from its callback. */
    const char *name = "svc.by-actor";
    CHECK_EQ(tr_send(r.sys, yc, T_REGISTER, name, strlen(name)), 0);
    CHECK_EQ(take_event(&r, EV_RC, yc).value, 0);
    CHECK_EQ(tr_whereis_global(r.sys, name), yc);
    CHECK_EQ(tr_send(r.sys, mine, T_REGISTER, name, strlen(name)), 0);
    CHECK_EQ(take_event(&r, EV_RC, mine).value, TR_EEXIST);

    /* The node holding a name is killed: the name goes with it. */
    tr_pid y = peer_spawn(&b, r.me);
    CHECK_EQ(peer_cmd(&b, "RC", "register svc.beta %lld", (long long)y), 0);
    CHECK_EQ(tr_whereis_global(r.sys, "svc.beta"), y);
    CHECK_EQ(peer_whereis(&c, "svc.beta"), y);
    peer_kill(&b);
    CHECK_WAIT_UNTIL(tr_whereis_global(r.sys, "svc.beta") == TR_ENOTFOUND, WATCHDOG_MS);
    uint64_t end = check_now_ms() + WATCHDOG_MS;
    while (peer_whereis(&c, "svc.beta") != TR_ENOTFOUND && check_now_ms() < end)
        uv_sleep(20);
    CHECK_EQ(peer_whereis(&c, "svc.beta"), TR_ENOTFOUND);
    CHECK_EQ(peer_cmd(&c, "RC", "register svc.beta %lld", (long long)yc), 0);
    CHECK_EQ(tr_whereis_global(r.sys, "svc.beta"), yc);
    rig_quiet(&r);
    peer_quit(&c);
    rig_close(&r);
}

/* Each refresh pass holds b's names lock, so once a canary name registered
 * after the takeover has been released for its exited actor (a pass reached
 * it) and b has answered one more register (that pass ended), a whole pass
 * has run since the takeover. */
static void name_taken_over(void) {
    rig r;
    rig_open(&r, "t_takeover");
    peer b;
    peer_start(&b, "t_takeover");
    tr_pid x = peer_spawn(&b, r.me), mine = rig_spawn(&r);
    CHECK_EQ(peer_cmd(&b, "RC", "register svc.gamma %lld", (long long)x), 0);
    CHECK_EQ(tr_whereis_global(r.sys, "svc.gamma"), x);

    nh_conn conn;
    CHECK_EQ(nh_conn_open(&conn, g_srv.port, NULL, NULL, NULL), 0);
    char value[24];
    int n = snprintf(value, sizeof value, "%lld", (long long)mine);
    CHECK_EQ(nh_conn_pub(&conn, "$KV.t_takeover.name.svc.gamma", value, (size_t)n), 0);
    nh_conn_close(&conn);
    CHECK_WAIT_UNTIL(tr_whereis_global(r.sys, "svc.gamma") == mine, WATCHDOG_MS);

    tr_pid canary = peer_spawn(&b, r.me);
    CHECK_EQ(peer_cmd(&b, "RC", "register canary.one %lld", (long long)canary), 0);
    cmd(&r, canary, T_STOP, 0);
    CHECK_WAIT_UNTIL(tr_whereis_global(r.sys, "canary.one") == TR_ENOTFOUND, WATCHDOG_MS);
    CHECK_EQ(peer_cmd(&b, "RC", "register canary.two %lld", (long long)x), 0);

    CHECK_EQ(tr_whereis_global(r.sys, "svc.gamma"), mine);
    CHECK_EQ(peer_whereis(&b, "svc.gamma"), mine);
    CHECK_EQ(peer_cmd(&b, "RC", "unregister svc.gamma"), TR_ENOTFOUND); /* not b's any more */
    rig_quiet(&r);
    peer_quit(&b);
    rig_close(&r);
}

static void remote_monitor_link(void) {
    rig r;
    rig_open(&r, "t_watch");
    peer b;
    peer_start(&b, "t_watch");
    tr_pid p = rig_spawn(&r);
    cmd(&r, p, T_TRAP, 1);
    int64_t ref = 0;
    event e;

    /* A monitor here on an actor there: DOWN with its exit reason. */
    tr_pid x1 = peer_spawn(&b, r.me);
    link_landed(&r, p, x1, 1, &ref);
    cmd(&r, x1, T_CRASH, TR_EXIT_USER(7));
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x1);
    CHECK_EQ(e.reason, TR_EXIT_USER(7));
    CHECK_EQ(e.ref, ref);
    /* A normal exit too. */
    tr_pid x0 = peer_spawn(&b, r.me);
    link_landed(&r, p, x0, 1, &ref);
    cmd(&r, x0, T_STOP, 0);
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x0);
    CHECK_EQ(e.reason, 0);
    CHECK_EQ(e.ref, ref);

    /* A link from a trapping actor here: EXIT with the reason. */
    tr_pid x2 = peer_spawn(&b, r.me);
    link_landed(&r, p, x2, 0, NULL);
    cmd(&r, x2, T_CRASH, TR_EXIT_USER(9));
    e = take_event(&r, EV_EXIT, p);
    CHECK_EQ(e.pid, x2);
    CHECK_EQ(e.reason, TR_EXIT_USER(9));

    /* A link made there to an actor here that crashes: the one there, not
       trapping, goes down with the same reason (seen by P's monitor). */
    tr_pid x3 = peer_spawn(&b, r.me), victim = rig_spawn(&r);
    link_landed(&r, p, x3, 1, &ref);
    link_landed(&r, x3, victim, 0, NULL);
    cmd(&r, victim, T_CRASH, TR_EXIT_USER(5));
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x3);
    CHECK_EQ(e.reason, TR_EXIT_USER(5));
    /* ...and the other way: B's trapping actor sees the exit of one here. */
    tr_pid x4 = peer_spawn(&b, r.me), here = rig_spawn(&r);
    cmd(&r, x4, T_TRAP, 1);
    link_landed(&r, x4, here, 0, NULL);
    cmd(&r, here, T_CRASH, TR_EXIT_USER(6));
    e = take_event(&r, EV_EXIT, x4);
    CHECK_EQ(e.pid, here);
    CHECK_EQ(e.reason, TR_EXIT_USER(6));
    /* B monitors one here. */
    tr_pid here2 = rig_spawn(&r);
    link_landed(&r, x4, here2, 1, &ref);
    cmd(&r, here2, T_CRASH, TR_EXIT_USER(8));
    e = take_event(&r, EV_DOWN, x4);
    CHECK_EQ(e.pid, here2);
    CHECK_EQ(e.reason, TR_EXIT_USER(8));
    CHECK_EQ(e.ref, ref);

    /* tr_kill and tr_send_exit across nodes. */
    tr_pid x5 = peer_spawn(&b, r.me), x6 = peer_spawn(&b, r.me);
    link_landed(&r, p, x5, 1, &ref);
    CHECK_EQ(tr_kill(r.sys, x5), 0);
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x5);
    CHECK_EQ(e.reason, TR_EKILLED);
    link_landed(&r, p, x6, 1, &ref);
    CHECK_EQ(tr_send_exit(r.sys, x6, TR_EXIT_USER(3)), 0);
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x6);
    CHECK_EQ(e.reason, TR_EXIT_USER(3));
    /* tr_send_exit to a trapping actor there: a TR_MSG_EXIT from nobody. */
    CHECK_EQ(tr_send_exit(r.sys, x4, TR_EXIT_USER(4)), 0);
    e = take_event(&r, EV_EXIT, x4);
    CHECK_EQ(e.pid, TR_PID_NONE);
    CHECK_EQ(e.reason, TR_EXIT_USER(4));

    /* Dead pids of a live node: TR_ENOACTOR, as locally. */
    cmd(&r, p, T_MONITOR, x1);
    CHECK_EQ(take_event(&r, EV_MONITORED, p).pid, x1);
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x1);
    CHECK_EQ(e.reason, TR_ENOACTOR);
    cmd(&r, p, T_LINK, x2);
    CHECK_EQ(take_event(&r, EV_LINKED, p).pid, x2);
    e = take_event(&r, EV_EXIT, p);
    CHECK_EQ(e.pid, x2);
    CHECK_EQ(e.reason, TR_ENOACTOR);

    rig_quiet(&r);
    peer_quit(&b);
    rig_close(&r);
}

typedef struct {
    tr_system *sys;
    tr_pid to;
    atomic_int rc;
    atomic_int started;
} pending_ask;

static void *pending_ask_thread(void *arg) {
    pending_ask *a = arg;
    tr_msg *req = tr_msg_new(a->sys, T_SPIN, 0), *rep = NULL;
    CHECK(req != NULL);
    atomic_store(&a->started, 1);
    int rc = tr_ask(a->sys, a->to, req, &rep, WATCHDOG_MS);
    if (rc == 0)
        tr_msg_free(rep);
    atomic_store(&a->rc, rc);
    return NULL;
}

static void node_down(void) {
    rig r;
    rig_open(&r, "t_down");
    peer b, c;
    peer_start(&b, "t_down");
    peer_start(&c, "t_down");
    tr_pid p = rig_spawn(&r), xb = peer_spawn(&b, r.me);
    tr_pid y1 = peer_spawn(&c, r.me), y2 = peer_spawn(&c, r.me), spin = peer_spawn(&c, r.me);
    cmd(&r, p, T_TRAP, 1);
    int64_t ref_p = 0, ref_b = 0;
    link_landed(&r, p, y1, 1, &ref_p);
    link_landed(&r, p, y2, 0, NULL);
    link_landed(&r, xb, y1, 1, &ref_b);
    /* Asks that will never be answered: a plain thread's and an actor's,
       both on their way to C (published) before C is killed. */
    uint64_t sent = node_stats(&r).frames_out;
    pending_ask pa = {r.sys, spin, 1, 0};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, pending_ask_thread, &pa), 0);
    CHECK_WAIT_UNTIL(atomic_load(&pa.started), WATCHDOG_MS);
    ask_req q = {spin, T_SPIN, 0, 0};
    CHECK_EQ(tr_send(r.sys, p, T_ASK_ASYNC, &q, sizeof q), 0);
    CHECK_WAIT_UNTIL(node_stats(&r).frames_out >= sent + 2, WATCHDOG_MS);
    CHECK_EQ(ask_inc(&r, y1, 1), 2); /* C is up and serving */
    tr_node_stats before = node_stats(&r);

    peer_kill(&c);
    uint64_t t0 = check_now_ms();
    event e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, y1);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    CHECK_EQ(e.ref, ref_p);
    e = take_event(&r, EV_EXIT, p);
    CHECK_EQ(e.pid, y2);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    e = take_event(&r, EV_DOWN, xb); /* the third process saw it too */
    CHECK_EQ(e.pid, y1);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    CHECK_EQ(e.ref, ref_b);
    /* The pending asks end now, not at their timeout: the plain thread's
       here, the actor's at the end. */
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&pa.rc), TR_ENODEDOWN);
    printf("  node down seen after %llu ms (down_after_ms %d)\n",
           (unsigned long long)(check_now_ms() - t0), DOWN_AFTER_MS);
    CHECK_EQ(tr_node_up(r.sys, c.node), 0);
    CHECK_EQ(peer_cmd(&b, "UP", "up %u", c.node), 0);
    CHECK_EQ(tr_node_up(r.sys, b.node), 1);
    tr_node_stats st = node_stats(&r);
    CHECK(st.nodes_down >= before.nodes_down + 1);
    CHECK_EQ(st.nodes_up, before.nodes_up - 1);

    /* Mail to the down node: a counted dead letter, TR_ENOACTOR. */
    CHECK_EQ(tr_send(r.sys, y1, T_PING, NULL, 0), TR_ENOACTOR);
    CHECK_EQ(node_stats(&r).dead_letters, st.dead_letters + 1);
    int64_t v;
    CHECK_EQ(tr_ask_i64(r.sys, y1, T_INC, 0, &v, WATCHDOG_MS), TR_ENOACTOR);
    /* Monitors and links set now fire at once with TR_ENODEDOWN. */
    cmd(&r, p, T_MONITOR, y2);
    CHECK_EQ(take_event(&r, EV_MONITORED, p).pid, y2);
    e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, y2);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    cmd(&r, p, T_LINK, y1);
    CHECK_EQ(take_event(&r, EV_LINKED, p).pid, y1);
    e = take_event(&r, EV_EXIT, p);
    CHECK_EQ(e.pid, y1);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    /* B still works. */
    CHECK_EQ(ask_inc(&r, xb, 3), 4);
    e = take_event(&r, EV_ASK_FAILED, p);
    CHECK_EQ(e.reason, TR_ENODEDOWN);
    rig_quiet(&r);
    peer_quit(&b);
    rig_close(&r);
}

/* Waits until the peer sees node down. */
static void peer_wait_down(peer *p, unsigned node) {
    uint64_t end = check_now_ms() + WATCHDOG_MS;
    while (peer_cmd(p, "UP", "up %u", node) != 0 && check_now_ms() < end)
        uv_sleep(20);
    CHECK_EQ(peer_cmd(p, "UP", "up %u", node), 0);
}

static void restart(void) {
    rig r;
    rig_open(&r, "t_restart");
    peer b, c;
    peer_start(&b, "t_restart");
    peer_start(&c, "t_restart");
    unsigned old = b.node;
    tr_pid x = peer_spawn(&b, r.me);
    CHECK_EQ(ask_inc(&r, x, 1), 2);
    CHECK_EQ(peer_cmd(&c, "ASK", "ask %lld 1", (long long)x), 0);
    peer_kill(&b);
    CHECK_WAIT_UNTIL(tr_node_up(r.sys, old) == 0, WATCHDOG_MS);

    /* The same program again: a new incarnation, a new id. */
    peer_start(&b, "t_restart");
    CHECK(b.node != old);
    CHECK_WAIT_UNTIL(tr_node_up(r.sys, b.node) == 1, WATCHDOG_MS);
    CHECK_EQ(tr_node_up(r.sys, old), 0);
    tr_pid x2 = peer_spawn(&b, r.me);
    CHECK_EQ(ask_inc(&r, x2, 5), 6);
    /* The old incarnation's pids are dead: here (a counted dead letter),
       from the new incarnation (which never knew the old one), and from C. */
    tr_node_stats before = node_stats(&r);
    CHECK_EQ(tr_send(r.sys, x, T_PING, NULL, 0), TR_ENOACTOR);
    CHECK_EQ(node_stats(&r).dead_letters, before.dead_letters + 1);
    int64_t v;
    CHECK_EQ(tr_ask_i64(r.sys, x, T_INC, 0, &v, WATCHDOG_MS), TR_ENOACTOR);
    peer_wait_down(&b, old); /* (it may have seen the old one's key, not yet expired) */
    peer_wait_down(&c, old);
    CHECK_EQ(peer_cmd(&b, "RC", "send %lld", (long long)x), TR_ENOACTOR);
    CHECK_EQ(peer_cmd(&b, "ASK", "ask %lld 1", (long long)x), TR_ENOACTOR);
    CHECK_EQ(peer_cmd(&c, "RC", "send %lld", (long long)x), TR_ENOACTOR);
    CHECK_EQ(peer_cmd(&b, "UP", "up %u", old), 0);

    /* A node that shuts down says goodbye: its actors' monitors fire, it is
       down, and the next incarnation has yet another id. */
    tr_pid p = rig_spawn(&r);
    int64_t ref = 0;
    link_landed(&r, p, x2, 1, &ref);
    unsigned second = b.node;
    peer_quit(&b);
    event e = take_event(&r, EV_DOWN, p);
    CHECK_EQ(e.pid, x2);
    CHECK(e.reason == TR_ESTOPPED || e.reason == TR_ENODEDOWN);
    CHECK_WAIT_UNTIL(tr_node_up(r.sys, second) == 0, WATCHDOG_MS);
    peer_start(&b, "t_restart");
    CHECK(b.node != old && b.node != second);
    CHECK_EQ(peer_cmd(&b, "RC", "send %lld", (long long)x2), TR_ENOACTOR);
    rig_quiet(&r);
    peer_quit(&b);
    peer_quit(&c);
    rig_close(&r);
}

/* ---- hostile frames ---- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} batch;

static void batch_begin(batch *b) {
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void batch_header(batch *b, unsigned node) {
    msgpack_pack_array(&b->pk, 2);
    msgpack_pack_uint32(&b->pk, 1);
    msgpack_pack_uint32(&b->pk, node);
}

/* A frame's array and every element but its payload, the last one. */
static void frame_head(batch *b, unsigned kind, tr_pid to, tr_pid from, uint32_t type) {
    msgpack_pack_array(&b->pk, 7);
    msgpack_pack_uint32(&b->pk, kind);
    msgpack_pack_int64(&b->pk, to);
    msgpack_pack_int64(&b->pk, from);
    msgpack_pack_uint32(&b->pk, type);
    msgpack_pack_uint32(&b->pk, 0); /* ref */
    msgpack_pack_uint32(&b->pk, 0); /* flags */
}

static void batch_frame(batch *b, unsigned kind, tr_pid to, tr_pid from, uint32_t type,
                        const void *data, uint32_t size) {
    frame_head(b, kind, to, from, type);
    msgpack_pack_bin(&b->pk, size);
    msgpack_pack_bin_body(&b->pk, data, size);
}

/* An element of a hand-made frame: 'u' unsigned v, 'i' signed v, 's' a
 * str, 'b' a bin, 'n' nil (strs and bins hold "bad"). */
typedef struct {
    char kind;
    int64_t v;
} field;

/* An array header declaring `declared` elements, then the n fields. */
static void pack_fields(batch *b, uint32_t declared, const field *f, size_t n) {
    msgpack_pack_array(&b->pk, declared);
    for (size_t i = 0; i < n; i++) {
        switch (f[i].kind) {
        case 'u': msgpack_pack_uint64(&b->pk, (uint64_t)f[i].v); break;
        case 'i': msgpack_pack_int64(&b->pk, f[i].v); break;
        case 's': msgpack_pack_str_with_body(&b->pk, "bad", 3); break;
        case 'b': msgpack_pack_bin_with_body(&b->pk, "bad", 3); break;
        default: msgpack_pack_nil(&b->pk); break;
        }
    }
}

static void hostile_frames(void) {
    rig r;
    creds cr = {.max_frame = 4096};
    rig_open_on(&r, g_srv.url, "t_hostile", &cr);
    peer b;
    peer_start(&b, "t_hostile");
    tr_pid xb = peer_spawn(&b, r.me), p = rig_spawn(&r);
    CHECK_EQ(ask_inc(&r, xb, 1), 2);
    CHECK_WAIT_UNTIL(tr_node_up(r.sys, b.node), WATCHDOG_MS);
    tr_node_stats before = node_stats(&r);
    CHECK_EQ(before.bad_frames, 0);

    nh_conn conn;
    CHECK_EQ(nh_conn_open(&conn, g_srv.port, NULL, NULL, NULL), 0);
    char subject[64];
    snprintf(subject, sizeof subject, "t_hostile.n.%u", r.node);
    const unsigned from = b.node; /* the batches claim to come from B */
    const char ok[] = "bad", payload[] = "x";
    unsigned nbad = 0;
    batch bt;
#define PUBLISH()                                                                                  \
    do {                                                                                           \
        CHECK_EQ(nh_conn_pub(&conn, subject, bt.sb.data, bt.sb.size), 0);                          \
        msgpack_sbuffer_destroy(&bt.sb);                                                           \
    } while (0)
#define RAW(bytes, n)                                                                              \
    do {                                                                                           \
        CHECK_EQ(nh_conn_pub(&conn, subject, bytes, n), 0);                                        \
        nbad++;                                                                                    \
    } while (0)

    /* Batches without a valid header: dropped whole, counted. */
    RAW("", 0);
    RAW("\xc1\xc1\xc1\xc1", 4);
    RAW("\x92\x01", 2);         /* [1, ... truncated */
    RAW("\x2a", 1);             /* 42, not an array */
    RAW("\x92\x01\xa1\x42", 4); /* [1, "B"] */
    batch_begin(&bt);           /* version 2, then a frame that would be fine */
    msgpack_pack_array(&bt.pk, 2);
    msgpack_pack_uint32(&bt.pk, 2);
    msgpack_pack_uint32(&bt.pk, from);
    batch_frame(&bt, 0, r.me, 0, T_HOSTILE_BAD, ok, 3);
    PUBLISH();
    nbad++;

    /* One bad frame per batch after a good header: wrong lengths, types and
       ranges. */
    const tr_pid me = r.me;
    const struct {
        const char *what;
        uint32_t declared; /* the array's length as its header says */
        size_t n;          /* the elements that follow */
        field f[8];
    } bad[] = {
        {"truncated: 3 of 7", 7, 3, {{'u', 0}, {'i', me}, {'i', 0}}},
        {"`to` a string",
         7,
         7,
         {{'u', 0}, {'s', 0}, {'i', 0}, {'u', T_HOSTILE_BAD}, {'u', 0}, {'u', 0}, {'b', 0}}},
        {"the payload a str",
         7,
         7,
         {{'u', 0}, {'i', me}, {'i', 0}, {'u', T_HOSTILE_BAD}, {'u', 0}, {'u', 0}, {'s', 0}}},
        {"a negative kind",
         7,
         7,
         {{'i', -1}, {'i', me}, {'i', 0}, {'u', T_HOSTILE_BAD}, {'u', 0}, {'u', 0}, {'b', 0}}},
        {"a ref past 32 bits",
         7,
         7,
         {{'u', 0},
          {'i', me},
          {'i', 0},
          {'u', T_HOSTILE_BAD},
          {'u', 1ll << 40},
          {'u', 0},
          {'b', 0}}},
        {"6 elements",
         6,
         6,
         {{'u', 0}, {'i', me}, {'i', 0}, {'u', T_HOSTILE_BAD}, {'u', 0}, {'b', 0}}},
        {"8 elements",
         8,
         8,
         {{'u', 0},
          {'i', me},
          {'i', 0},
          {'u', T_HOSTILE_BAD},
          {'u', 0},
          {'u', 0},
          {'b', 0},
          {'n', 0}}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        batch_begin(&bt);
        batch_header(&bt, from);
        pack_fields(&bt, bad[i].declared, bad[i].f, bad[i].n);
        PUBLISH();
        nbad++;
    }
    batch_begin(&bt); /* the frame cut in its payload */
    batch_header(&bt, from);
    batch_frame(&bt, 0, r.me, 0, T_HOSTILE_BAD, ok, 3);
    CHECK_EQ(nh_conn_pub(&conn, subject, bt.sb.data, bt.sb.size - 2), 0);
    msgpack_sbuffer_destroy(&bt.sb);
    nbad++;
    {
        /* A bin that declares 4 GB - 16 and holds 10 bytes. */
        static const unsigned char huge[] = {0xc6, 0xff, 0xff, 0xff, 0xf0, 1, 2, 3,
                                             4,    5,    6,    7,    8,    9, 10};
        batch_begin(&bt);
        batch_header(&bt, from);
        frame_head(&bt, 0, r.me, 0, T_HOSTILE_BAD);
        msgpack_sbuffer_write(&bt.sb, (const char *)huge, sizeof huge);
        PUBLISH();
        nbad++;
    }
    {
        /* A payload over this node's max_frame (4096), really there. */
        char *big = calloc(1, 4097);
        CHECK(big != NULL);
        batch_begin(&bt);
        batch_header(&bt, from);
        batch_frame(&bt, 0, r.me, 0, T_HOSTILE_BAD, big, 4097);
        PUBLISH();
        nbad++;
        free(big);
    }
    /* Kinds that are not mail from another node: unknown, a worker's
       command, a stop. */
    static const unsigned kinds[] = {250, TR_KIND_COMMAND, TR_KIND_STOP};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        batch_begin(&bt);
        batch_header(&bt, from);
        batch_frame(&bt, kinds[i], i == 2 ? p : r.me, 0, T_HOSTILE_BAD, ok, 3);
        PUBLISH();
        nbad++;
    }
    /* Misaddressed: to B's actor (not this node's), to a socket pid, to pid
       0 and to a negative pid. */
    tr_pid tos[4] = {xb, pid_of_node(TR_IO_NODE, 1), 0, -5};
    for (int i = 0; i < 4; i++) {
        batch_begin(&bt);
        batch_header(&bt, from);
        batch_frame(&bt, 0, tos[i], 0, T_HOSTILE_BAD, ok, 3);
        PUBLISH();
        nbad++;
    }
    /* Forged senders of signals: a pid of this node, and of a third node,
       in a batch that says it comes from B (a message may carry another
       node's sender, as a forward does; a signal may not). */
    unsigned third = 1;
    while (third == r.node || third == b.node)
        third++;
    tr_pid forged[2] = {p, pid_of_node(third, 7)};
    static const unsigned forged_kinds[2] = {TR_KIND_EXIT_SENT, TR_KIND_LINK};
    for (int i = 0; i < 2; i++) {
        batch_begin(&bt);
        batch_header(&bt, from);
        batch_frame(&bt, forged_kinds[i], r.me, forged[i], T_HOSTILE_BAD, ok, 3);
        PUBLISH();
        nbad++;
    }
    /* A good frame, then a bad one (7 nils), then one that is never read: the good
       one arrives, the batch ends at the bad one (counted once). */
    batch_begin(&bt);
    batch_header(&bt, from);
    batch_frame(&bt, 0, r.me, 0, T_HOSTILE_OK, payload, 1);
    static const field nils[7] = {{'n', 0}, {'n', 0}, {'n', 0}, {'n', 0},
                                  {'n', 0}, {'n', 0}, {'n', 0}};
    pack_fields(&bt, 7, nils, 7);
    batch_frame(&bt, 0, r.me, 0, T_HOSTILE_BAD, ok, 3);
    PUBLISH();
    nbad++;
    /* Finally a good batch from "B": a frame from nobody and one from B's
       actor, both delivered. */
    batch_begin(&bt);
    batch_header(&bt, from);
    batch_frame(&bt, 0, r.me, 0, T_HOSTILE_OK, payload, 1);
    batch_frame(&bt, 0, r.me, xb, T_HOSTILE_OK, payload, 1);
    PUBLISH();
    nh_conn_close(&conn);

    tr_msg *m = take(&r, T_HOSTILE_OK, 0, 0, __LINE__);
    CHECK_EQ(tr_msg_sender(m), TR_PID_NONE);
    tr_msg_free(m);
    m = take(&r, T_HOSTILE_OK, 0, 0, __LINE__);
    CHECK_EQ(tr_msg_sender(m), TR_PID_NONE);
    tr_msg_free(m);
    m = take(&r, T_HOSTILE_OK, 0, 0, __LINE__);
    CHECK_EQ(tr_msg_sender(m), xb);
    CHECK_EQ(tr_msg_size(m), 1);
    tr_msg_free(m);
    uint64_t end = check_now_ms() + WATCHDOG_MS;
    while (node_stats(&r).bad_frames < before.bad_frames + nbad && check_now_ms() < end)
        uv_sleep(5);
    tr_node_stats st = node_stats(&r);
    if (st.bad_frames != before.bad_frames + nbad)
        fprintf(stderr, "bad_frames %llu, expected %u\n", (unsigned long long)st.bad_frames, nbad);
    CHECK_EQ(st.bad_frames, before.bad_frames + nbad);
    /* The node goes on: P (sent a forged stop) lives, B is up, asks work
       both ways, and nothing else arrived. */
    CHECK_EQ(ask_inc(&r, p, 1), 2);
    CHECK_EQ(ask_inc(&r, xb, 2), 3);
    CHECK_EQ(peer_cmd(&b, "ASK", "ask %lld 3", (long long)p), 0);
    CHECK_EQ(tr_node_up(r.sys, b.node), 1);
    rig_quiet(&r);
    peer_quit(&b);
    rig_close(&r);
#undef PUBLISH
#undef RAW
}

/* A build without NATS (TROUPE_WITH_NATS=OFF, or no libnats): every call
 * answers TR_ENOTSUP. Returns whether that is this build. */
static int built_without_nats(void) {
    tr_system *sys = check_system_kept(1);
    tr_node_config cfg = node_cfg("nats://127.0.0.1:1", "t_probe", NULL);
    int rc = tr_node_start(sys, &cfg);
    if (rc == TR_ENOTSUP) {
        tr_node_stats st;
        tr_pid p = check_spawn_idle(sys);
        CHECK_EQ(tr_node_self(sys), 0);
        CHECK_EQ(tr_node_up(sys, 1), 0);
        CHECK_EQ(tr_register_global(sys, "x", p), TR_ENOTSUP);
        CHECK_EQ(tr_unregister_global(sys, "x"), TR_ENOTSUP);
        CHECK_EQ(tr_whereis_global(sys, "x"), TR_ENOTSUP);
        CHECK_EQ(tr_node_stats_get(sys, &st), TR_ENOTSUP);
    } else {
        CHECK(rc < 0); /* nobody listens on port 1 */
    }
    CHECK_EQ(tr_system_shutdown(sys), 0);
    return rc == TR_ENOTSUP;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "node") == 0)
        return role_node(argc, argv);
    if (built_without_nats()) {
        printf("ok every call answers TR_ENOTSUP\nSKIP: built without NATS (TROUPE_WITH_NATS)\n");
        return 0;
    }
    NH_REQUIRE_SERVER();
    check_only = argc > 1 ? argv[1] : NULL;
    CHECK_EQ(nh_start(&g_srv, NULL), 0);
    RUN_CASE(start_errors);
    RUN_CASE(auth_token);
    RUN_CASE(auth_user);
    RUN_CASE(tls);
    RUN_CASE(send_ask);
    RUN_CASE(forward);
    RUN_CASE(max_frame);
    RUN_CASE(order_under_load);
    RUN_CASE(global_names);
    RUN_CASE(name_taken_over);
    RUN_CASE(remote_monitor_link);
    RUN_CASE(node_down);
    RUN_CASE(restart);
    RUN_CASE(hostile_frames);
    nh_stop(&g_srv);
    return check_summary();
}
