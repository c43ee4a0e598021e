/* waiter.c — see waiter.h; and tr_ask, the blocking ask of plain threads.
 *
 * The waiting thread is the only consumer of its waiter's mailbox. Before
 * sleeping it marks the mailbox idle; a push that finds it idle signals the
 * condition (under the waiter's lock, with a `signaled` flag, so a signal that
 * comes before the sleep is not lost). A reply to an ask that timed out finds
 * the pid changed (dead letter at send) or lands and is drained as a dead
 * letter when the waiter is handed back or next used. */
#include "waiter.h"

#include "deadline.h"
#include "scheduler.h"
#include "system.h"

#include <stdlib.h>

struct tr_waiter {
    tr_mpsc mailbox;
    _Atomic tr_pid pid;
    uint32_t gen, index;
    uv_mutex_t lock;
    uv_cond_t cond;
    int signaled;
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
        tr_msg_dead_letter(sys, NULL, (tr_msg *)n);
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

static tr_waiter *waiter_get(tr_waiters *ws, unsigned node) {
    uv_mutex_lock(&ws->lock);
    tr_waiter *wt = ws->free || waiters_grow(ws) == 0 ? ws->free : NULL;
    if (wt)
        ws->free = wt->next_free;
    uv_mutex_unlock(&ws->lock);
    if (wt) {
        wt->gen = (wt->gen + 1) & TR_GEN_MASK;
        wt->gen += wt->gen == 0;
        atomic_store(&wt->pid, tr_pid_make(node, wt->gen, wt->index));
    }
    return wt;
}

static void waiter_put(tr_system *sys, tr_waiters *ws, tr_waiter *wt) {
    atomic_store(&wt->pid, TR_PID_NONE);
    drain(sys, wt);
    uv_mutex_lock(&ws->lock);
    wt->next_free = ws->free;
    ws->free = wt;
    uv_mutex_unlock(&ws->lock);
}

static tr_waiter *waiter_lookup(tr_waiters *ws, tr_pid pid) {
    uint32_t slot = (uint32_t)((uint64_t)pid & ((1u << TR_SLOT_BITS) - 1));
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
    if (tr_mpsc_push(&wt->mailbox, &m->node)) {
        uv_mutex_lock(&wt->lock);
        wt->signaled = 1;
        uv_cond_signal(&wt->cond);
        uv_mutex_unlock(&wt->lock);
    }
    return 0;
}

/* Waits for the reply to ref; other mail is a dead letter. */
static int waiter_wait(tr_system *sys, tr_waiter *wt, tr_pid pid, uint32_t ref, tr_msg **reply,
                       int timeout_ms) {
    uint64_t deadline = tr_deadline(timeout_ms);
    for (;;) {
        tr_node *n = tr_mpsc_pop(&wt->mailbox);
        if (n) {
            tr_msg *m = (tr_msg *)n;
            if (m->to == pid && (m->flags & TR_MSGF_REPLY) && m->ref == ref) {
                atomic_store_explicit(&m->state, TR_MSG_OWNED, memory_order_relaxed);
                *reply = m;
                return 0;
            }
            tr_msg_dead_letter(sys, NULL, m);
            continue;
        }
        if (!tr_mpsc_mark_idle(&wt->mailbox))
            continue; /* a push is landing */
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

int tr_ask(tr_system *sys, tr_pid to, tr_msg *req, tr_msg **reply, int timeout_ms) {
    if (!sys || !reply || !req)
        return TR_EINVAL;
    if (atomic_load_explicit(&req->state, memory_order_relaxed) != TR_MSG_OWNED)
        return TR_EALREADY;
    *reply = NULL;
    if (tr_tls_worker)
        return tr_msg_consume(req, TR_EINACTOR);
    tr_waiter *wt = waiter_get(&sys->waiters, TR_WAITER_NODE);
    if (!wt) {
        tr_msg_release(sys, NULL, req);
        return TR_ENOMEM;
    }
    tr_pid pid = atomic_load_explicit(&wt->pid, memory_order_relaxed);
    uint32_t ref = atomic_fetch_add(&sys->ref_seq, 1) + 1;
    req->sender = pid;
    req->ref = ref;
    int rc = tr_msg_deliver(sys, NULL, to, req);
    if (rc == 0)
        rc = waiter_wait(sys, wt, pid, ref, reply, timeout_ms);
    waiter_put(sys, &sys->waiters, wt);
    return rc;
}

int tr_ask_i64(tr_system *sys, tr_pid to, uint32_t type, int64_t arg, int64_t *out,
               int timeout_ms) {
    if (!sys || !out || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    tr_msg *req = tr_msg_new(sys, type, sizeof arg);
    if (!req)
        return TR_ENOMEM;
    *(int64_t *)tr_msg_data(req) = arg;
    tr_msg *reply;
    int rc = tr_ask(sys, to, req, &reply, timeout_ms);
    if (rc == 0) {
        *out = tr_msg_i64(reply);
        tr_msg_free(reply);
    }
    return rc;
}
