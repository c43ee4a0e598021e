/* waiter.c — see waiter.h; and tr_ask, the blocking ask of plain threads.
 *
 * The waiting thread is the only consumer of its waiter's mailbox. Before
 * sleeping it marks the mailbox idle and checks that the system still runs;
 * a push that finds the mailbox idle, and a stop (tr_waiters_wake_all), set
 * `signaled` under the waiter's lock and signal, so neither a message nor a
 * stop that comes just before the sleep is missed. A reply to an ask that
 * timed out finds the pid changed (dead letter at send) or lands and is
 * drained as a dead letter when the waiter is handed back or next used. */
#include "waiter.h"

#include "deadline.h"
#include "scheduler.h"
#include "ask.h"
#include "system.h"

#include <stdlib.h>

struct tr_waiter {
    tr_mpsc mailbox;
    _Atomic tr_pid pid;
    uint32_t gen, index;
    struct tr_system *sys;
    uv_mutex_t lock;
    uv_cond_t cond;
    int signaled;
    _Atomic tr_pid asking;    /* the actor a tr_ask in flight asked (0: none), */
    _Atomic uint32_t ask_ref; /* and its reference */
    tr_waiter *next_free;
};

int tr_waiters_init(tr_waiters *ws) {
    ws->nchunks = 0;
    ws->free = NULL;
    return uv_mutex_init(&ws->lock);
}

static void drain(tr_system *sys, tr_waiter *wt) {
    tr_node *n;
    while ((n = tr_mpsc_pop(&wt->mailbox)))
        tr_msg_undeliverable(sys, NULL, (tr_msg *)n);
}

void tr_waiters_destroy(tr_system *sys, tr_waiters *ws) {
    for (uint32_t c = 0; c < ws->nchunks; c++) {
        tr_waiter *chunk = atomic_load(&ws->chunks[c]);
        for (uint32_t i = 0; i < TR_WAITER_CHUNK; i++) {
            drain(sys, &chunk[i]);
            uv_cond_destroy(&chunk[i].cond);
            uv_mutex_destroy(&chunk[i].lock);
        }
        free(chunk);
    }
    uv_mutex_destroy(&ws->lock);
}

static void waiter_signal(tr_waiter *wt) {
    uv_mutex_lock(&wt->lock);
    wt->signaled = 1;
    uv_cond_signal(&wt->cond);
    uv_mutex_unlock(&wt->lock);
}

void tr_waiters_wake_all(tr_waiters *ws) {
    for (uint32_t c = 0; c < TR_WAITER_CHUNKS; c++) {
        tr_waiter *chunk = atomic_load(&ws->chunks[c]);
        if (!chunk)
            break;
        for (uint32_t i = 0; i < TR_WAITER_CHUNK; i++)
            if (atomic_load(&chunk[i].pid) != TR_PID_NONE)
                waiter_signal(&chunk[i]);
    }
}

/* Adds a chunk of waiters to the free list. Locked. */
static int waiters_grow(tr_waiters *ws) {
    if (ws->nchunks == TR_WAITER_CHUNKS)
        return TR_ENOMEM;
    tr_waiter *chunk = calloc(TR_WAITER_CHUNK, sizeof *chunk);
    if (!chunk)
        return TR_ENOMEM;
    for (uint32_t i = 0; i < TR_WAITER_CHUNK; i++) {
        tr_waiter *wt = &chunk[i];
        int rc = uv_mutex_init(&wt->lock);
        if (rc == 0 && (rc = uv_cond_init(&wt->cond)) != 0)
            uv_mutex_destroy(&wt->lock);
        if (rc != 0) { /* undo the waiters made so far */
            while (i-- > 0) {
                uv_cond_destroy(&chunk[i].cond);
                uv_mutex_destroy(&chunk[i].lock);
            }
            free(chunk);
            return TR_ESYS;
        }
    }
    for (uint32_t i = 0; i < TR_WAITER_CHUNK; i++) {
        tr_waiter *wt = &chunk[i];
        tr_mpsc_init(&wt->mailbox);
        wt->index = ws->nchunks * TR_WAITER_CHUNK + i;
        wt->next_free = ws->free;
        ws->free = wt;
    }
    atomic_store_explicit(&ws->chunks[ws->nchunks++], chunk, memory_order_release);
    return 0;
}

tr_waiter *tr_waiter_get(tr_system *sys) {
    tr_waiters *ws = &sys->waiters;
    uv_mutex_lock(&ws->lock);
    tr_waiter *wt = ws->free || waiters_grow(ws) == 0 ? ws->free : NULL;
    if (wt)
        ws->free = wt->next_free;
    uv_mutex_unlock(&ws->lock);
    if (wt) {
        wt->sys = sys;
        wt->gen = (wt->gen + 1) & TR_GEN_MASK;
        wt->gen += wt->gen == 0;
        atomic_store(&wt->pid, tr_pid_make(TR_WAITER_NODE, wt->gen,
                                           wt->index | sys->node << TR_WAITER_INDEX_BITS));
    }
    return wt;
}

void tr_waiter_put(tr_system *sys, tr_waiter *wt) {
    tr_waiters *ws = &sys->waiters;
    atomic_store(&wt->pid, TR_PID_NONE);
    drain(sys, wt);
    uv_mutex_lock(&wt->lock);
    wt->signaled = 0;
    uv_mutex_unlock(&wt->lock);
    uv_mutex_lock(&ws->lock);
    wt->next_free = ws->free;
    ws->free = wt;
    uv_mutex_unlock(&ws->lock);
}

tr_pid tr_waiter_pid(const tr_waiter *wt) {
    return atomic_load_explicit(&wt->pid, memory_order_relaxed);
}

tr_system *tr_waiter_system(const tr_waiter *wt) {
    return wt->sys;
}

static tr_waiter *waiter_lookup(tr_waiters *ws, tr_pid pid) {
    uint32_t slot = (uint32_t)((uint64_t)pid & ((1u << TR_WAITER_INDEX_BITS) - 1));
    if (slot / TR_WAITER_CHUNK >= TR_WAITER_CHUNKS)
        return NULL;
    tr_waiter *chunk =
        atomic_load_explicit(&ws->chunks[slot / TR_WAITER_CHUNK], memory_order_acquire);
    return chunk ? &chunk[slot % TR_WAITER_CHUNK] : NULL;
}

int tr_waiter_deliver(tr_system *sys, tr_worker *w, tr_pid pid, tr_msg *m) {
    tr_waiter *wt = waiter_lookup(&sys->waiters, pid);
    if (!wt || atomic_load_explicit(&wt->pid, memory_order_acquire) != pid) {
        tr_msg_dead_letter(sys, w, m);
        return TR_ENOACTOR;
    }
    if (tr_mpsc_push(&wt->mailbox, &m->node))
        waiter_signal(wt);
    return 0;
}

static int wanted(const tr_msg *m, tr_pid pid, uint32_t ref) {
    if (m->to != pid) /* sent to an earlier user of the block */
        return 0;
    if (ref == 0)
        return m->kind == TR_KIND_USER;
    return (m->flags & TR_MSGF_REPLY) && m->ref == ref;
}

int tr_waiter_next(tr_system *sys, tr_waiter *wt, int timeout_ms, uint32_t ref, tr_msg **out) {
    uint64_t deadline = tr_deadline(timeout_ms);
    tr_pid pid = tr_waiter_pid(wt);
    for (;;) {
        tr_node *n = tr_mpsc_pop(&wt->mailbox);
        if (n) {
            tr_msg *m = (tr_msg *)n;
            if (wanted(m, pid, ref)) {
                *out = m;
                return 0;
            }
            tr_msg_undeliverable(sys, NULL, m);
            continue;
        }
        if (!tr_mpsc_mark_idle(&wt->mailbox))
            continue; /* a push is landing */
        if (atomic_load(&sys->state) != TR_SYS_RUNNING)
            return TR_ESTOPPED;
        int rc = 0;
        uv_mutex_lock(&wt->lock);
        while (!wt->signaled && rc == 0)
            rc = tr_cond_wait_until(&wt->cond, &wt->lock, deadline);
        wt->signaled = 0;
        uv_mutex_unlock(&wt->lock);
        if (rc)
            return rc;
    }
}

/* ---- tr_ask ---- */

/* Waits for the reply to ref, or the notice that none will come. */
static int await_reply(tr_system *sys, tr_waiter *wt, uint32_t ref, tr_msg **reply,
                       int timeout_ms) {
    tr_msg *m;
    int rc = tr_waiter_next(sys, wt, timeout_ms, ref, &m);
    if (rc)
        return rc;
    if (m->kind == TR_KIND_ASK_FAILED) {
        int64_t reason = tr_msg_i64(m);
        tr_msg_release(sys, NULL, m);
        return (int)reason;
    }
    tr_msg_give(m);
    *reply = m;
    return 0;
}

static int ask(tr_system *sys, tr_pid to, tr_msg *req, tr_msg **reply, int timeout_ms) {
    if (!tr_sys_running(sys))
        return tr_msg_consume(req, TR_ESTOPPED);
    tr_waiter *wt = tr_waiter_get(sys);
    if (!wt)
        return tr_msg_consume(req, TR_ENOMEM);
    uint32_t ref = atomic_fetch_add(&sys->ref_seq, 1) + 1;
    ref += ref == 0;
    req->sender = tr_waiter_pid(wt);
    req->ref = ref;
    atomic_store(&wt->ask_ref, ref);
    /* seq_cst, then the send looks at the node's state; tr_waiters_node_down
       runs after the node is marked down: one of the two sees the other. */
    atomic_store(&wt->asking, to);
    int rc = tr_msg_deliver(sys, NULL, to, req);
    if (rc == 0)
        rc = await_reply(sys, wt, ref, reply, timeout_ms);
    atomic_store(&wt->asking, TR_PID_NONE);
    tr_waiter_put(sys, wt);
    return rc;
}

int tr_ask(tr_system *sys, tr_pid to, tr_msg *req, tr_msg **reply, int timeout_ms) {
    if (!sys || !reply || !req)
        return TR_EINVAL;
    *reply = NULL;
    int rc = tr_msg_check_owner(req);
    if (rc)
        return rc;
    if (tr_in_callback())
        return tr_msg_consume(req, TR_EINACTOR);
    TR_API_CALL(sys, int, ask(sys, to, req, reply, timeout_ms));
}

int tr_ask_i64(tr_system *sys, tr_pid to, uint32_t type, int64_t arg, int64_t *out,
               int timeout_ms) {
    if (!sys || !out || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    if (tr_in_callback())
        return TR_EINACTOR;
    tr_msg *req;
    int rc = tr_msg_create(sys, type, sizeof arg, &req);
    if (rc)
        return rc;
    *(int64_t *)tr_msg_data(req) = arg;
    tr_msg *reply;
    rc = tr_ask(sys, to, req, &reply, timeout_ms);
    if (rc == 0) {
        *out = tr_msg_i64(reply);
        tr_msg_free(reply);
    }
    return rc;
}

void tr_waiters_node_down(tr_system *sys, unsigned node) {
    tr_waiters *ws = &sys->waiters;
    for (uint32_t c = 0; c < TR_WAITER_CHUNKS; c++) {
        tr_waiter *chunk = atomic_load_explicit(&ws->chunks[c], memory_order_acquire);
        for (uint32_t i = 0; chunk && i < TR_WAITER_CHUNK; i++) {
            tr_waiter *wt = &chunk[i];
            tr_pid to = atomic_load(&wt->asking);
            if (to <= 0 || tr_pid_node(to) != node)
                continue;
            tr_pid pid = tr_waiter_pid(wt);
            uint32_t ref = atomic_load(&wt->ask_ref);
            /* Still that ask? A waiter reused meanwhile for an ask elsewhere
               stored its ref before its target, so `asking` no longer says to
               (an ask to the same node is as doomed). */
            if (pid != TR_PID_NONE && atomic_load(&wt->asking) == to)
                tr_ask_fail(sys, NULL, pid, ref, to, TR_ENODEDOWN);
        }
    }
}
