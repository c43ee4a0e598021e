/* node_nats.c — distribution over NATS (troupe/node.h): the connection, a
 * node's id and membership, frames out and in.
 *
 * Threads. libnats runs the connection on threads of its own: a reader, a
 * delivery thread per subscription (frames in arrival order on one,
 * heartbeats on another), and a flusher. Its libuv adapter would put the
 * reads on a worker's loop instead: measured on an idle loop, that adds a
 * third to the round trip (bench/README.md), and a worker's loop is polled
 * only every 64 turns while the worker is busy, so every frame would also
 * wait behind its actors, and publishes from the other workers would have to
 * hop to that loop. On its own threads a frame is delivered as soon as it is read,
 * and any worker publishes directly (natsConnection_Publish writes under the
 * connection's lock; with SendAsap at once, one write per batch). The
 * delivery thread delivers as a plain thread does (the API's caller count
 * keeps the system alive under it). A heartbeat thread of ours publishes
 * heartbeats, refreshes this node's keys and finds silent nodes.
 *
 * Per-pair order: a worker batches, per destination node, what its actors
 * send during a turn and publishes the batches when the turn ends, before
 * the actor may run on another worker; sends from outside a turn are
 * published at once. One connection keeps the publishes in order, one
 * reader thread keeps deliveries in order.
 *
 * Node down: the heartbeat thread marks a node down when it has not been
 * heard from for down_after_ms (or says goodbye, or this node's connection
 * drops), and sends each local actor related to it (recorded when a LINK or
 * MONITOR crossed between them) a NODE_DOWN signal: its own owner then
 * fires its links and monitors to that node (links.h). */
#include "node.h"

#include "ask.h"
#include "frame.h"
#include "remote.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TR_NODE_DESTS 8 /* destination nodes a worker batches for at once */

/* A worker's batches, one per destination node it sent to in this turn. */
typedef struct tr_node_out {
    unsigned ndests;
    unsigned node[TR_NODE_DESTS];
    tr_batch_writer bw[TR_NODE_DESTS];
} tr_node_out;

static uint64_t now_ms(void) {
    return uv_hrtime() / 1000000u;
}

int tr_remote_error(natsStatus s) {
    switch (s) {
    case NATS_OK: return 0;
    case NATS_NO_MEMORY: return TR_ENOMEM;
    case NATS_TIMEOUT: return TR_ETIMEDOUT;
    case NATS_NOT_FOUND: return TR_ENOTFOUND;
    case NATS_CONNECTION_AUTH_FAILED:
    case NATS_NOT_PERMITTED: return TR_EAUTH;
    case NATS_NO_SERVER:
    case NATS_IO_ERROR:
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED: return TR_ECONNREFUSED;
    case NATS_INVALID_ARG: return TR_EINVAL;
    default: return TR_ESYS;
    }
}

static void subject_of(const tr_remote *r, unsigned node, char *out, size_t size) {
    snprintf(out, size, "%s.n.%u", r->cluster, node);
}

/* ---- membership ---- */

/* Heard from node (a heartbeat or a frame): up, unless it went down. */
static void node_seen(tr_remote *r, unsigned node) {
    if (node == 0 || node > TR_NODE_MAX || node == r->id)
        return;
    atomic_store_explicit(&r->last_seen[node], now_ms(), memory_order_relaxed);
    uint8_t unknown = TR_NODE_UNKNOWN;
    atomic_compare_exchange_strong(&r->state[node], &unknown, TR_NODE_UP);
}

static int notify_down(tr_system *sys, tr_pid pid, unsigned node) {
    return tr_signal_send(sys, tr_worker_of(sys), TR_PID_NONE, pid, TR_KIND_NODE_DOWN, (int)node,
                          0);
}

/* A plain thread's call into the runtime (the API's caller count). */
static int notify_down_call(tr_system *sys, tr_pid pid, unsigned node) {
    TR_API_CALL(sys, int, notify_down(sys, pid, node));
}

/* Marks node down (once) and tells the local actors related to it. */
static void node_down(tr_remote *r, unsigned node) {
    if (node == 0 || node > TR_NODE_MAX || node == r->id)
        return;
    if (atomic_exchange(&r->state[node], TR_NODE_DOWN) == TR_NODE_DOWN)
        return;
    atomic_fetch_add(&r->nodes_down, 1);
    uv_mutex_lock(&r->lock);
    tr_vec related = r->related[node];
    memset(&r->related[node], 0, sizeof related);
    uv_mutex_unlock(&r->lock);
    for (uint32_t i = 0; i < related.n; i++)
        notify_down_call(r->sys, TR_VEC_AT(&related, tr_pid, i), node);
    tr_vec_free(&related);
    tr_waiters_node_down(r->sys, node);
}

static int pid_order(const void *a, const void *b) {
    tr_pid x = *(const tr_pid *)a, y = *(const tr_pid *)b;
    return (x > y) - (x < y);
}

/* Drops repeats and exited actors from v (when it has grown: relate). */
static void related_compact(tr_remote *r, tr_vec *v) {
    tr_pid *p = v->items;
    qsort(p, v->n, sizeof *p, pid_order);
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if ((n == 0 || p[i] != p[n - 1]) && tr_live_actor(r->sys, p[i]))
            p[n++] = p[i];
    v->n = n;
}

/* Records that local pid has a link, a monitor or an ask across to node. Only
 * the last few entries are checked for a repeat; the list is compacted when
 * it doubles. */
static void relate(tr_remote *r, unsigned node, tr_pid pid) {
    if (pid <= 0 || node == 0 || node > TR_NODE_MAX)
        return;
    uv_mutex_lock(&r->lock);
    tr_vec *v = &r->related[node];
    int known = 0;
    for (uint32_t i = v->n; i > 0 && i + 16 > v->n && !known; i--)
        known = TR_VEC_AT(v, tr_pid, i - 1) == pid;
    if (!known && v->n >= 1024 && v->n == v->cap)
        related_compact(r, v);
    if (!known) /* out of memory: that actor will not hear of the node going down */
        (void)tr_vec_push(v, &pid, sizeof pid);
    uv_mutex_unlock(&r->lock);
}

int tr_remote_node_up(tr_remote *r, unsigned node) {
    if (node == r->id)
        return 1;
    if (node == 0 || node > TR_NODE_MAX || atomic_load(&r->closing))
        return 0;
    uint8_t st = atomic_load_explicit(&r->state[node], memory_order_relaxed);
    if (st != TR_NODE_UNKNOWN)
        return st == TR_NODE_UP;
    /* Not heard from yet (it may have just started): its key says. */
    char key[32];
    snprintf(key, sizeof key, "node.%u", node);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, r->kv, key);
    if (e)
        kvEntry_Destroy(e);
    if (s == NATS_OK)
        node_seen(r, node);
    else if (s == NATS_NOT_FOUND)
        node_down(r, node); /* gone, or never was: ids are not reused */
    return atomic_load(&r->state[node]) == TR_NODE_UP;
}

static void on_beat(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    tr_remote *r = closure;
    char buf[16] = {0};
    int len = natsMsg_GetDataLength(msg);
    if (len > 0 && len < (int)sizeof buf) {
        memcpy(buf, natsMsg_GetData(msg), (size_t)len);
        unsigned long node = strtoul(buf, NULL, 10);
        if (node <= TR_NODE_MAX) {
            if (atomic_load(&r->state[node]) != TR_NODE_DOWN)
                node_seen(r, (unsigned)node);
        }
    }
    natsMsg_Destroy(msg);
}

static void publish_beat(tr_remote *r) {
    char subject[96], body[16];
    snprintf(subject, sizeof subject, "%s.hb", r->cluster);
    snprintf(body, sizeof body, "%u", r->id);
    natsConnection_PublishString(r->nc, subject, body);
}

static void beat_main(void *arg) {
    tr_remote *r = arg;
    char key[32];
    snprintf(key, sizeof key, "node.%u", r->id);
    uv_mutex_lock(&r->lock);
    while (!r->stopping) {
        uv_mutex_unlock(&r->lock);
        publish_beat(r);
        uint64_t rev;
        kvStore_PutString(&rev, r->kv, key, r->name);
        tr_gnames_refresh(r);
        uint64_t now = now_ms();
        for (unsigned node = 1; node <= TR_NODE_MAX; node++)
            if (atomic_load_explicit(&r->state[node], memory_order_relaxed) == TR_NODE_UP &&
                now - atomic_load_explicit(&r->last_seen[node], memory_order_relaxed) >
                    r->down_after_ms)
                node_down(r, node);
        uv_mutex_lock(&r->lock);
        if (!r->stopping)
            uv_cond_timedwait(&r->cond, &r->lock, (uint64_t)r->heartbeat_ms * 1000000u);
    }
    uv_mutex_unlock(&r->lock);
}

/* This node's connection dropped: every other node is down for it (it
 * cannot tell which are alive, and those that are will have marked it down). */
static void on_disconnected(natsConnection *nc, void *closure) {
    (void)nc;
    tr_remote *r = closure;
    if (atomic_load(&r->closing))
        return; /* this node is leaving: nobody left to tell */
    for (unsigned node = 1; node <= TR_NODE_MAX; node++)
        if (atomic_load(&r->state[node]) == TR_NODE_UP)
            node_down(r, node);
}

/* The last of the connection's callbacks: remote_close may free r. */
static void on_closed(natsConnection *nc, void *closure) {
    (void)nc;
    uv_sem_post(&((tr_remote *)closure)->conn_closed);
}

/* ---- frames in ---- */

/* Whether pid may be the sender of a frame of kind from node `from`: none,
 * or an actor or a plain thread of a node; of `from` itself for a signal (a
 * message may have been forwarded, and keeps its first sender). */
static int sent_by(tr_pid pid, unsigned from, uint8_t kind) {
    if (pid == TR_PID_NONE)
        return 1;
    unsigned node = tr_pid_node(pid);
    if (node == TR_WAITER_NODE)
        node = tr_waiter_node(pid);
    if (pid < 0 || node == 0 || node > TR_NODE_MAX)
        return 0;
    return kind < TR_KIND_FIRST_SIGNAL || node == from;
}

/* Whether pid is an address of this node that frames may reach: an actor or
 * a plain thread's ask (not a socket). */
static int owned(const tr_remote *r, tr_pid pid) {
    unsigned node = tr_pid_node(pid);
    return pid > 0 && (node == r->id || (node == TR_WAITER_NODE && tr_waiter_node(pid) == r->id));
}

static int kind_allowed(uint8_t kind) {
    switch (kind) {
    case TR_KIND_USER:
    case TR_KIND_ASK_FAILED:
    case TR_KIND_LINK:
    case TR_KIND_UNLINK:
    case TR_KIND_MONITOR:
    case TR_KIND_DEMONITOR:
    case TR_KIND_EXIT:
    case TR_KIND_EXIT_SENT:
    case TR_KIND_KILL:
    case TR_KIND_DOWN: return 1;
    default: return 0;
    }
}

static int deliver(tr_system *sys, tr_msg *m) {
    if (!tr_sys_running(sys)) {
        tr_msg_release(sys, NULL, m);
        return TR_ESTOPPED;
    }
    if (m->kind >= TR_KIND_FIRST_SIGNAL)
        return tr_signal_deliver(sys, NULL, m);
    return tr_msg_pass_on(sys, NULL, m->to, m); /* an asker on its node need not wait */
}

/* One frame from node `from`: checked, made a message, delivered. */
static void take_frame(tr_remote *r, unsigned from, const tr_frame *f) {
    if (!kind_allowed(f->kind) || (f->flags & ~TR_MSGF_REPLY) || !owned(r, f->to) ||
        !sent_by(f->from, from, f->kind) ||
        (f->type >= TR_MSG_RESERVED && f->kind == TR_KIND_USER && !(f->flags & TR_MSGF_REPLY))) {
        atomic_fetch_add(&r->bad_frames, 1);
        return;
    }
    tr_msg *m = tr_msg_alloc_in(r->sys, &r->pool, f->type, f->size);
    if (!m) {
        atomic_fetch_add(&r->dead_letters, 1);
        return;
    }
    if (f->size)
        memcpy(m->data, f->data, f->size);
    m->kind = f->kind;
    m->flags = f->flags;
    m->ref = f->ref;
    m->sender = f->from;
    m->to = f->to;
    if (f->kind == TR_KIND_LINK || f->kind == TR_KIND_MONITOR)
        relate(r, from, f->to);
    atomic_fetch_add_explicit(&r->frames_in, 1, memory_order_relaxed);
    deliver(r->sys, m);
}

/* The frames of a batch from node `from`, the reader's first answer (rc, f)
 * taken already: one call into the runtime as a plain thread (the API's
 * caller count) for the whole batch. Returns the reader's last answer. */
static int take_frames(tr_remote *r, unsigned from, tr_batch_reader *br, int rc, tr_frame *f) {
    for (; rc == 1; rc = tr_batch_next(br, f))
        take_frame(r, from, f);
    return rc;
}

static int take_frames_call(tr_remote *r, unsigned from, tr_batch_reader *br, int rc, tr_frame *f) {
    TR_API_CALL(r->sys, int, take_frames(r, from, br, rc, f));
}

static void on_frames(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc;
    (void)sub;
    tr_remote *r = closure;
    atomic_fetch_add_explicit(&r->batches_in, 1, memory_order_relaxed);
    tr_batch_reader br;
    unsigned from;
    if (tr_batch_open(&br, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), r->max_frame,
                      &from) != 0) {
        atomic_fetch_add(&r->bad_frames, 1);
        natsMsg_Destroy(msg);
        return;
    }
    tr_frame f;
    int rc = tr_batch_next(&br, &f);
    if (from == 0 || from > TR_NODE_MAX || from == r->id) {
        atomic_fetch_add(&r->bad_frames, 1); /* a forgery */
    } else if (rc == 0) {                    /* a batch without frames: its node's goodbye */
        node_down(r, from);
    } else if (atomic_load(&r->state[from]) == TR_NODE_DOWN) {
        atomic_fetch_add(&r->dead_letters, 1); /* too late: it is down for this node */
    } else {
        node_seen(r, from);
        if (take_frames_call(r, from, &br, rc, &f) < 0)
            atomic_fetch_add(&r->bad_frames, 1);
    }
    tr_batch_close(&br);
    natsMsg_Destroy(msg);
}

static void on_sub_done(void *closure) {
    uv_sem_post(&((tr_remote *)closure)->subs_done);
}

/* ---- frames out ---- */

static void publish(tr_remote *r, unsigned node, tr_batch_writer *bw) {
    char subject[96];
    subject_of(r, node, subject, sizeof subject);
    atomic_fetch_add_explicit(&r->frames_out, bw->frames, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->batches_out, bw->frames != 0, memory_order_relaxed);
    if (natsConnection_Publish(r->nc, subject, bw->buf.data, (int)bw->buf.size) != NATS_OK)
        atomic_fetch_add(&r->dead_letters, bw->frames); /* the connection is closing */
}

void tr_node_flush(tr_worker *w) {
    tr_node_out *out = w->node_out;
    tr_remote *r = w->sys->remote;
    w->node_pending = 0;
    for (unsigned i = 0; i < out->ndests; i++)
        if (out->bw[i].frames)
            publish(r, out->node[i], &out->bw[i]);
    out->ndests = 0;
}

/* w's batch for node, made or started if need be; NULL when out of memory. */
static tr_batch_writer *batch_for(tr_remote *r, tr_worker *w, unsigned node) {
    if (!w->node_out) {
        w->node_out = calloc(1, sizeof *w->node_out);
        if (!w->node_out)
            return NULL;
        for (unsigned i = 0; i < TR_NODE_DESTS; i++)
            tr_batch_writer_init(&w->node_out->bw[i]);
    }
    tr_node_out *out = w->node_out;
    for (unsigned i = 0; i < out->ndests; i++)
        if (out->node[i] == node)
            return &out->bw[i];
    if (out->ndests == TR_NODE_DESTS)
        tr_node_flush(w);
    unsigned i = out->ndests++;
    out->node[i] = node;
    tr_batch_reset(&out->bw[i], r->id);
    return &out->bw[i];
}

/* m could not reach node for `reason`: a dead letter, whose asker, linker or
 * monitor hears the reason. The send itself answers TR_ENOACTOR for a node
 * that is down (its pids are as dead as can be told), else the reason. */
static int undeliverable(tr_remote *r, tr_worker *w, tr_msg *m, int reason) {
    atomic_fetch_add(&r->dead_letters, 1);
    tr_msg_unreachable(r->sys, w, m, reason);
    return reason == TR_ENODEDOWN ? TR_ENOACTOR : reason;
}

int tr_node_route(tr_system *sys, tr_worker *w, unsigned node, tr_msg *m) {
    tr_remote *r = sys->remote;
    if (!tr_remote_node_up(r, node))
        return undeliverable(r, w, m, TR_ENODEDOWN);
    if (m->size > r->max_frame) {
        if (tr_msg_is_request(m))
            tr_ask_fail(sys, w, m->sender, m->ref, m->to, TR_ETOOBIG);
        tr_msg_release(sys, w, m);
        return TR_ETOOBIG;
    }
    tr_frame f = {.kind = m->kind,
                  .flags = (uint8_t)(m->flags & TR_MSGF_REPLY),
                  .to = m->to,
                  .from = m->sender,
                  .type = m->type,
                  .ref = m->ref,
                  .data = (const char *)m->data,
                  .size = m->size};
    /* Its sender must hear if node goes down: a link, a monitor, or an
       actor's ask (a plain thread's is found among the waiters). */
    if (m->kind == TR_KIND_LINK || m->kind == TR_KIND_MONITOR ||
        (tr_msg_is_request(m) && tr_pid_node(m->sender) == r->id))
        relate(r, node, m->sender);
    int rc;
    if (w && atomic_load_explicit(&w->in_callback, memory_order_relaxed)) {
        tr_batch_writer *bw = batch_for(r, w, node);
        if (bw && bw->frames && bw->buf.size + f.size + TR_FRAME_OVERHEAD > r->max_batch) {
            publish(r, node, bw); /* full: this frame starts the next */
            tr_batch_reset(bw, r->id);
        }
        rc = bw ? tr_batch_add(bw, &f) : TR_ENOMEM;
        w->node_pending |= rc == 0;
    } else { /* outside a turn: at once, through the writer plain threads share */
        uv_mutex_lock(&r->plain_lock);
        tr_batch_reset(&r->plain, r->id);
        rc = tr_batch_add(&r->plain, &f);
        if (rc == 0)
            publish(r, node, &r->plain);
        uv_mutex_unlock(&r->plain_lock);
    }
    if (rc)
        return undeliverable(r, w, m, rc);
    tr_msg_release(sys, w, m);
    return 0;
}

/* ---- start and stop ---- */

int tr_remote_name_ok(const char *s, size_t max, int dots) {
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max ||
            !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9') || s[n] == '-' || s[n] == '_' || (dots && s[n] == '.')))
            return 0;
    return n > 0;
}

static natsStatus make_options(const tr_node_config *cfg, tr_remote *r, natsOptions **out) {
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, cfg->url);
    if (s == NATS_OK)
        s = natsOptions_SetName(o, r->name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000);
    if (s == NATS_OK && cfg->user)
        s = natsOptions_SetUserInfo(o, cfg->user, cfg->password);
    if (s == NATS_OK && cfg->token)
        s = natsOptions_SetToken(o, cfg->token);
    if (s == NATS_OK && cfg->tls)
        s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && cfg->tls_ca)
        s = natsOptions_LoadCATrustedCertificates(o, cfg->tls_ca);
    if (s == NATS_OK && cfg->tls_cert)
        s = natsOptions_LoadCertificatesChain(o, cfg->tls_cert, cfg->tls_key);
    if (s == NATS_OK) /* a batch leaves when its turn ends, not when libnats' flusher wakes */
        s = natsOptions_SetSendAsap(o, true);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, r);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(o, on_closed, r);
    if (s != NATS_OK)
        natsOptions_Destroy(o);
    else
        *out = o;
    return s;
}

/* Binds the bucket, or makes it (ttl_ms 0: keys never expire). */
static natsStatus bucket(tr_remote *r, const char *name, int64_t ttl_ms, kvStore **out) {
    natsStatus s = js_KeyValue(out, r->js, name);
    if (s != NATS_NOT_FOUND)
        return s;
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = name;
    kc.History = 1;
    kc.TTL = ttl_ms * 1000000; /* nanoseconds */
    s = js_CreateKeyValue(out, r->js, &kc);
    return s == NATS_OK ? s : js_KeyValue(out, r->js, name); /* another node made it first */
}

/* Takes the next free id from the counter: the counter moves by compare-and-
 * set, and an id whose node key still lives is skipped. */
static int claim_id(tr_remote *r) {
    for (unsigned tries = 0; tries < 4 * TR_NODE_MAX; tries++) {
        kvEntry *e = NULL;
        natsStatus s = kvStore_Get(&e, r->ids, "next");
        unsigned id;
        uint64_t rev = 0;
        char value[16];
        if (s == NATS_NOT_FOUND) {
            id = 1;
            s = kvStore_CreateString(&rev, r->ids, "next", "1");
        } else if (s == NATS_OK) {
            unsigned long last = strtoul(kvEntry_ValueString(e), NULL, 10);
            id = (unsigned)(last % TR_NODE_MAX) + 1;
            snprintf(value, sizeof value, "%u", id);
            s = kvStore_UpdateString(&rev, r->ids, "next", value, kvEntry_Revision(e));
        }
        if (e)
            kvEntry_Destroy(e);
        if (s == NATS_ERR)
            continue; /* another node moved the counter first */
        if (s != NATS_OK)
            return tr_remote_error(s);
        char key[32];
        snprintf(key, sizeof key, "node.%u", id);
        s = kvStore_CreateString(&rev, r->kv, key, r->name);
        if (s == NATS_OK)
            return (int)id;
        if (s != NATS_ERR)
            return tr_remote_error(s);
    }
    return TR_ETIMEDOUT; /* every id is alive */
}

/* Every node whose key lives is up: this node learns of those that started
 * before it (later ones announce themselves with their first heartbeat). */
static void seed_members(tr_remote *r) {
    kvKeysList keys = {0};
    if (kvStore_Keys(&keys, r->kv, NULL) != NATS_OK)
        return;
    for (int i = 0; i < keys.Count; i++)
        if (strncmp(keys.Keys[i], "node.", 5) == 0)
            node_seen(r, (unsigned)strtoul(keys.Keys[i] + 5, NULL, 10));
    kvKeysList_Destroy(&keys);
}

static int subscribe(tr_remote *r, const char *subject, natsMsgHandler cb, natsSubscription **out) {
    natsStatus s = natsConnection_Subscribe(out, r->nc, subject, cb, r);
    if (s == NATS_OK)
        s = natsSubscription_SetOnCompleteCB(*out, on_sub_done, r);
    if (s == NATS_OK) {
        r->nsubs++;
        /* Frames wait in libnats' queue rather than being dropped while a
           full mailbox holds the reader (what it drops is counted). */
        natsSubscription_SetPendingLimits(*out, -1, 256 << 20);
    }
    return tr_remote_error(s);
}

/* A batch without frames to each node up: this node leaves. It goes where
 * the frames go, so it arrives after every frame this node sent there. */
static void say_goodbye(tr_remote *r) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    tr_batch_reset(&bw, r->id);
    for (unsigned node = 1; node <= TR_NODE_MAX; node++)
        if (atomic_load(&r->state[node]) == TR_NODE_UP)
            publish(r, node, &bw);
    tr_batch_writer_free(&bw);
}

/* libnats keeps threads of its own (timers, clean-up) until the library is
 * closed, and OpenSSL's exit handlers free locks that those threads take: a
 * process that exits with them running races with itself (ThreadSanitizer
 * sees it). So the first node of the process opens the library and the last
 * one closes it, waiting until its threads are gone; libnats forbids an
 * open and a close at once, hence the lock. */
static uv_once_t lib_once = UV_ONCE_INIT;
static uv_mutex_t lib_lock;
static unsigned lib_nodes; /* nodes of this process holding the library */

static void lib_init(void) {
    if (uv_mutex_init(&lib_lock) != 0)
        abort(); /* as libuv itself does when a mutex cannot be made */
}

static void lib_hold(void) {
    uv_once(&lib_once, lib_init);
    uv_mutex_lock(&lib_lock);
    if (lib_nodes++ == 0)
        nats_Open(-1);
    uv_mutex_unlock(&lib_lock);
}

/* After every NATS object of the node is destroyed. */
static void lib_release(void) {
    uv_mutex_lock(&lib_lock);
    if (--lib_nodes == 0)
        nats_CloseAndWait(2000);
    uv_mutex_unlock(&lib_lock);
}

/* Ends r's traffic: the heartbeat stops, the node says goodbye, the
 * connection closes and its callbacks are over, so no frame is delivered
 * after it. The NATS objects stay, closed (their calls fail), until
 * remote_free: API calls still under way may use them. */
static void remote_close(tr_remote *r) {
    if (r->beat_started) {
        uv_mutex_lock(&r->lock);
        r->stopping = 1;
        uv_cond_signal(&r->cond);
        uv_mutex_unlock(&r->lock);
        uv_thread_join(&r->beat_thread);
        r->beat_started = 0;
        tr_gnames_drop_all(r);
        char key[32];
        snprintf(key, sizeof key, "node.%u", r->id);
        kvStore_Delete(r->kv, key);
        say_goodbye(r);
    }
    atomic_store(&r->closing, 1);
    if (r->nc) {
        natsConnection_FlushTimeout(r->nc, 1000);
        natsConnection_Close(r->nc); /* ends the subscriptions, then calls on_closed */
        for (; r->nsubs > 0; r->nsubs--)
            uv_sem_wait(&r->subs_done);
        uv_sem_wait(&r->conn_closed);
    }
    tr_pool_local_flush(&r->sys->pool, &r->pool); /* the delivery thread's blocks */
}

/* Destroys what remote_open made, lets the NATS library go, and frees r:
 * after remote_close, and once no API call can be using r. */
static void remote_free(tr_remote *r) {
    natsSubscription_Destroy(r->frames);
    natsSubscription_Destroy(r->beats);
    kvStore_Destroy(r->kv);
    kvStore_Destroy(r->ids);
    jsCtx_Destroy(r->js);
    natsConnection_Destroy(r->nc);
    lib_release();
    for (unsigned i = 0; i < TR_NODE_IDS; i++)
        tr_vec_free(&r->related[i]);
    tr_vec_free(&r->names);
    tr_batch_writer_free(&r->plain);
    uv_sem_destroy(&r->conn_closed);
    uv_sem_destroy(&r->subs_done);
    uv_cond_destroy(&r->cond);
    uv_mutex_destroy(&r->plain_lock);
    uv_mutex_destroy(&r->names_lock);
    uv_mutex_destroy(&r->lock);
    free(r);
}

static tr_remote *remote_new(tr_system *sys, const tr_node_config *cfg) {
    tr_remote *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (uv_mutex_init(&r->lock) != 0)
        goto fail_lock;
    if (uv_mutex_init(&r->names_lock) != 0)
        goto fail_names_lock;
    if (uv_mutex_init(&r->plain_lock) != 0)
        goto fail_plain_lock;
    if (uv_cond_init(&r->cond) != 0)
        goto fail_cond;
    if (uv_sem_init(&r->subs_done, 0) != 0)
        goto fail_subs_done;
    if (uv_sem_init(&r->conn_closed, 0) != 0)
        goto fail_conn_closed;
    r->sys = sys;
    tr_batch_writer_init(&r->plain);
    snprintf(r->cluster, sizeof r->cluster, "%s", cfg->cluster ? cfg->cluster : "troupe");
    snprintf(r->name, sizeof r->name, "%s", cfg->name ? cfg->name : "node");
    r->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 250;
    r->down_after_ms = cfg->down_after_ms ? cfg->down_after_ms : 4 * r->heartbeat_ms;
    r->max_frame = cfg->max_frame ? cfg->max_frame : 1u << 20;
    return r;

fail_conn_closed:
    uv_sem_destroy(&r->subs_done);
fail_subs_done:
    uv_cond_destroy(&r->cond);
fail_cond:
    uv_mutex_destroy(&r->plain_lock);
fail_plain_lock:
    uv_mutex_destroy(&r->names_lock);
fail_names_lock:
    uv_mutex_destroy(&r->lock);
fail_lock:
    free(r);
    return NULL;
}

/* Connects, claims an id, subscribes, announces itself. Returns the id or
 * an error (r then holds what remote_close undoes). */
static int remote_open(tr_remote *r, const tr_node_config *cfg) {
    natsOptions *opts = NULL;
    natsStatus s = make_options(cfg, r, &opts);
    if (s != NATS_OK)
        return tr_remote_error(s);
    s = natsConnection_Connect(&r->nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK)
        return tr_remote_error(s);
    /* A batch must fit the server's max_payload: one frame of max_frame
       bytes, its header and the batch's header with it. */
    int64_t server_max = natsConnection_GetMaxPayload(r->nc);
    if (server_max > TR_FRAME_OVERHEAD && (int64_t)r->max_frame > server_max - TR_FRAME_OVERHEAD)
        r->max_frame = (uint32_t)(server_max - TR_FRAME_OVERHEAD);
    r->max_batch = server_max > 0 ? (size_t)server_max : (size_t)1 << 20;
    s = natsConnection_JetStream(&r->js, r->nc, NULL);
    if (s != NATS_OK)
        return tr_remote_error(s);
    char ids_name[80];
    snprintf(ids_name, sizeof ids_name, "%s_ids", r->cluster);
    s = bucket(r, r->cluster, r->down_after_ms, &r->kv);
    if (s == NATS_OK)
        s = bucket(r, ids_name, 0, &r->ids);
    if (s != NATS_OK) /* no JetStream answers the bucket requests */
        return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS ? TR_ENOJETSTREAM : tr_remote_error(s);
    int id = claim_id(r);
    if (id < 0)
        return id;
    r->id = (unsigned)id;
    /* Before the first frame can arrive (no actor exists yet to see it). */
    r->sys->remote = r;
    r->sys->node = r->id;
    char subject[96];
    subject_of(r, r->id, subject, sizeof subject);
    int rc = subscribe(r, subject, on_frames, &r->frames);
    snprintf(subject, sizeof subject, "%s.hb", r->cluster);
    if (rc == 0)
        rc = subscribe(r, subject, on_beat, &r->beats);
    if (rc == 0)
        rc = tr_remote_error(natsConnection_FlushTimeout(r->nc, 2000));
    if (rc)
        return rc;
    seed_members(r);
    if (uv_thread_create(&r->beat_thread, beat_main, r) != 0)
        return TR_ESYS;
    r->beat_started = 1;
    return id;
}

static int node_start(tr_system *sys, const tr_node_config *cfg) {
    if (sys->remote || atomic_load(&sys->table.nchunks) != 0)
        return TR_EALREADY;
    tr_remote *r = remote_new(sys, cfg);
    if (!r)
        return TR_ENOMEM;
    lib_hold();
    int id = remote_open(r, cfg);
    if (id < 0) {
        remote_close(r);
        sys->remote = NULL;
        sys->node = 0;
        remote_free(r);
    }
    return id;
}

int tr_node_start(tr_system *sys, const tr_node_config *cfg) {
    if (!sys || !cfg || !cfg->url || (cfg->cluster && !tr_remote_name_ok(cfg->cluster, 48, 0)) ||
        (cfg->name && strlen(cfg->name) >= 64))
        return TR_EINVAL;
    if (tr_in_callback())
        return TR_EINACTOR;
    TR_API_CALL(sys, int, node_start(sys, cfg));
}

void tr_node_stop(tr_system *sys) {
    if (sys->remote)
        remote_close(sys->remote);
}

void tr_node_free(tr_system *sys) {
    for (unsigned i = 0; sys->workers && i < sys->cfg.workers; i++) {
        tr_node_out *out = sys->workers[i].node_out;
        if (!out)
            continue;
        for (unsigned d = 0; d < TR_NODE_DESTS; d++)
            tr_batch_writer_free(&out->bw[d]);
        free(out);
        sys->workers[i].node_out = NULL;
    }
    if (sys->remote) { /* closed by tr_node_stop: a node's system always finishes */
        remote_free(sys->remote);
        sys->remote = NULL;
    }
}

/* ---- queries ---- */

unsigned tr_node_self(tr_system *sys) {
    return sys ? sys->node : 0;
}

static int node_up(tr_system *sys, unsigned node) {
    return node == sys->node || atomic_load(&sys->remote->state[node]) == TR_NODE_UP;
}

int tr_node_up(tr_system *sys, unsigned node) {
    if (!sys || !sys->remote || node == 0 || node > TR_NODE_MAX)
        return 0;
    TR_API_CALL(sys, int, node_up(sys, node));
}

static int node_stats_get(tr_remote *r, tr_node_stats *out) {
    memset(out, 0, sizeof *out);
    out->frames_out = atomic_load(&r->frames_out);
    out->frames_in = atomic_load(&r->frames_in);
    out->batches_out = atomic_load(&r->batches_out);
    out->batches_in = atomic_load(&r->batches_in);
    out->bad_frames = atomic_load(&r->bad_frames);
    out->dead_letters = atomic_load(&r->dead_letters);
    int64_t dropped = 0;
    if (natsSubscription_GetDropped(r->frames, &dropped) == NATS_OK)
        out->dead_letters += (uint64_t)dropped; /* batches libnats could not queue */
    out->nodes_down = atomic_load(&r->nodes_down);
    for (unsigned node = 1; node <= TR_NODE_MAX; node++)
        out->nodes_up += atomic_load(&r->state[node]) == TR_NODE_UP;
    return 0;
}

int tr_node_stats_get(tr_system *sys, tr_node_stats *out) {
    if (!sys || !out)
        return TR_EINVAL;
    if (!sys->remote)
        return TR_ENOTSUP;
    TR_API_CALL(sys, int, node_stats_get(sys->remote, out));
}
