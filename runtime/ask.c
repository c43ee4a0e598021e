/* ask.c — request/response between actors: tr_reply*, and tr_ask_async with
 * its timeout.
 *
 * A pending ask is a reference in the asking actor's set (its links.h
 * record). The timeout is a timer (timer.h) that sends the actor an internal
 * timeout message. Whichever of reply and timeout reaches the actor first
 * settles the reference; the other is then a dead letter (a late reply) or
 * dropped silently (a timeout after the reply).
 *
 * An asker never waits for a reply that cannot come: when a request is lost
 * (its receiver exited with it queued, crashed on it, returned without
 * replying or forwarding it, or a forward found the next receiver dead), the
 * runtime sends the asker an ASK_FAILED notice with the reason (tr_ask_fail);
 * it settles the ask like a reply. */
#include "ask.h"

#include "links.h"
#include "scheduler.h"
#include "timer.h"

#include <string.h>

int tr_asks_settle(tr_actor *a, uint32_t ref) {
    tr_vec *asks = a->ext ? &a->ext->asks : NULL;
    for (uint32_t i = 0; asks && i < asks->n; i++)
        if (TR_VEC_AT(asks, tr_watch, i).ref == ref) {
            tr_vec_take(asks, i, sizeof(tr_watch));
            return 1;
        }
    return 0;
}

static int asks_add(tr_actor *a, uint32_t ref, tr_pid to) {
    tr_actor_ext *x = tr_ext_get(a);
    tr_watch ask = {.pid = to, .ref = ref};
    return x ? tr_vec_push(&x->asks, &ask, sizeof ask) : TR_ENOMEM;
}

/* ---- timeout timers ---- */

/* The timer of ask ref: an ASK_TIMEOUT notice to the asker, made now. */
static int ask_timer_start(tr_callback *cb, uint32_t ref, int timeout_ms) {
    tr_msg *m = tr_msg_alloc(cb->sys, cb->worker, TR_MSG_ASK_TIMEOUT, 0);
    if (!m)
        return TR_ENOMEM;
    m->kind = TR_KIND_ASK_TIMEOUT;
    m->ref = ref;
    return tr_timer_start(cb->worker, (uint64_t)timeout_ms,
                          atomic_load_explicit(&cb->actor->pid, memory_order_relaxed), m);
}

/* ---- failed asks ---- */

void tr_ask_fail(tr_system *sys, tr_worker *w, tr_pid asker, uint32_t ref, tr_pid from,
                 int reason) {
    int state = atomic_load(&sys->state);
    if (asker == TR_PID_NONE || state == TR_SYS_DONE)
        return;                  /* once done, every plain-thread asker has been woken already */
    if (state != TR_SYS_RUNNING) /* the stop is why: say so, as the woken asker would */
        reason = TR_ESTOPPED;
    tr_msg *m = tr_msg_alloc(sys, w, TR_MSG_ASK_FAILED, sizeof(int64_t));
    if (!m)
        return; /* out of memory: the asker's timeout (or the stop) still ends its wait */
    int64_t why = reason;
    memcpy(m->data, &why, sizeof why);
    m->kind = TR_KIND_ASK_FAILED;
    m->flags = TR_MSGF_REPLY;
    m->ref = ref;
    m->sender = from;
    tr_msg_deliver(sys, w, asker, m);
}

/* ---- the API ---- */

int tr_ask_async(tr_ctx *cx, tr_pid to, tr_msg *req, int timeout_ms, uint32_t *ref) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb || !cb->worker)
        return tr_msg_consume(req, TR_ENOTACTOR);
    if (!req || !ref || timeout_ms <= 0)
        return TR_EINVAL;
    int rc = tr_msg_check_owner(req);
    if (rc)
        return rc;
    if (!tr_sys_running(cb->sys))
        return tr_msg_consume(req, TR_ESTOPPED);
    tr_actor *a = cb->actor;
    uint32_t r = tr_next_ref(a);
    rc = asks_add(a, r, to);
    if (rc == 0)
        rc = ask_timer_start(cb, r, timeout_ms);
    if (rc) {
        tr_asks_settle(a, r);
        tr_msg_release(cb->sys, cb->worker, req);
        return rc;
    }
    req->sender = atomic_load_explicit(&a->pid, memory_order_relaxed);
    req->ref = r;
    rc = tr_msg_deliver(cb->sys, cb->worker, to, req);
    if (rc) {
        tr_asks_settle(a, r); /* its timer will find nothing to report */
        return rc;
    }
    *ref = r;
    return 0;
}

/* Sends reply (owned by the runtime or the caller) to the asker of m. */
static int reply_send(tr_callback *cb, const tr_msg *m, tr_msg *reply) {
    if (!tr_sys_running(cb->sys)) {
        tr_msg_release(cb->sys, cb->worker, reply);
        return TR_ESTOPPED;
    }
    reply->sender = atomic_load_explicit(&cb->actor->pid, memory_order_relaxed);
    reply->ref = m->ref;
    reply->flags |= TR_MSGF_REPLY;
    if (m == cb->current)
        cb->replied = 1;
    /* An asker that has gone (timed out, exited) makes the reply a counted
       dead letter, not an error: returning it would crash a healthy server. */
    int rc = tr_msg_deliver(cb->sys, cb->worker, m->sender, reply);
    return rc == TR_ENOACTOR ? 0 : rc;
}

int tr_reply_msg(tr_ctx *cx, const tr_msg *m, tr_msg *reply) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return tr_msg_consume(reply, TR_ENOTACTOR);
    if (!m || !reply)
        return TR_EINVAL;
    int rc = tr_msg_check_owner(reply);
    return rc ? rc : reply_send(cb, m, reply);
}

int tr_reply(tr_ctx *cx, const tr_msg *m, const void *data, size_t size) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (!m || (size && !data))
        return TR_EINVAL;
    tr_msg *r = tr_msg_alloc(cb->sys, cb->worker, m->type, size);
    if (!r)
        return TR_ENOMEM;
    if (size)
        memcpy(r->data, data, size);
    return reply_send(cb, m, r);
}

int tr_reply_i64(tr_ctx *cx, const tr_msg *m, int64_t value) {
    return tr_reply(cx, m, &value, sizeof value);
}
