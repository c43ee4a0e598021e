/* ask.c — request/response between actors: tr_reply*, and tr_ask_async with
 * its timeout.
 *
 * A pending ask is a reference in the asking actor's set. The timeout is a
 * uv timer on the loop of the worker that made the ask; when it fires it sends
 * the actor an internal timeout message. Whichever of reply and timeout
 * reaches the actor first settles the reference; the other is then a dead
 * letter (a late reply) or dropped silently (a timeout after the reply). The
 * timer is never cancelled from another thread: it always fires and closes
 * itself on its own loop, so no uv call ever crosses threads. */
#include "ask.h"

#include "scheduler.h"

#include <stdlib.h>
#include <string.h>

struct tr_asks {
    uint32_t n, cap;
    uint32_t refs[];
};

int tr_asks_settle(tr_actor *a, uint32_t ref) {
    struct tr_asks *s = a->asks;
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->refs[i] == ref) {
            s->refs[i] = s->refs[--s->n];
            return 1;
        }
    return 0;
}

void tr_asks_clear(tr_actor *a) {
    free(a->asks);
    a->asks = NULL;
}

static int asks_add(tr_actor *a, uint32_t ref) {
    struct tr_asks *s = a->asks;
    if (!s || s->n == s->cap) {
        uint32_t cap = s ? 2 * s->cap : 4;
        s = realloc(s, sizeof *s + cap * sizeof s->refs[0]);
        if (!s)
            return TR_ENOMEM;
        if (!a->asks)
            s->n = 0;
        s->cap = cap;
        a->asks = s;
    }
    s->refs[s->n++] = ref;
    return 0;
}

/* ---- timeout timers ---- */

typedef struct ask_timer {
    uv_timer_t timer; /* first: the handle is the allocation; data points to itself */
    tr_system *sys;
    tr_pid pid;
    uint32_t ref;
} ask_timer;

static void ask_timer_closed(uv_handle_t *h) {
    tr_worker *w = tr_tls_worker;
    if (w)
        w->active_handles--;
    free(h);
}

int tr_ask_timer_close(uv_handle_t *h) {
    if (h->type != UV_TIMER || h->data != h)
        return 0;
    uv_close(h, ask_timer_closed);
    return 1;
}

static void ask_timer_fired(uv_timer_t *t) {
    ask_timer *at = (ask_timer *)t;
    tr_msg *m = tr_msg_alloc(at->sys, tr_tls_worker, TR_MSG_ASK_TIMEOUT, 0);
    if (m) {
        m->kind = TR_KIND_ASK_TIMEOUT;
        m->ref = at->ref;
        tr_msg_deliver(at->sys, tr_tls_worker, at->pid, m);
    }
    uv_close((uv_handle_t *)t, ask_timer_closed);
}

static int ask_timer_start(tr_ctx *cx, uint32_t ref, int timeout_ms) {
    ask_timer *at = malloc(sizeof *at);
    if (!at)
        return TR_ENOMEM;
    at->sys = cx->sys;
    at->pid = atomic_load_explicit(&cx->actor->pid, memory_order_relaxed);
    at->ref = ref;
    uv_timer_init(&cx->worker->loop, &at->timer);
    at->timer.data = at;
    uv_timer_start(&at->timer, ask_timer_fired, (uint64_t)timeout_ms, 0);
    cx->worker->active_handles++;
    return 0;
}

/* ---- the API ---- */

int tr_ask_async(tr_ctx *cx, tr_pid to, tr_msg *req, int timeout_ms, uint32_t *ref) {
    if (!tr_ctx_check(cx) || !cx->worker)
        return tr_msg_consume(req, TR_ENOTACTOR);
    if (!req || !ref || timeout_ms <= 0)
        return TR_EINVAL;
    if (atomic_load_explicit(&req->state, memory_order_relaxed) != TR_MSG_OWNED)
        return TR_EALREADY;
    tr_actor *a = cx->actor;
    uint32_t r = ++a->next_ref ? a->next_ref : ++a->next_ref;
    int rc = asks_add(a, r);
    if (rc == 0)
        rc = ask_timer_start(cx, r, timeout_ms);
    if (rc) {
        tr_asks_settle(a, r);
        tr_msg_release(cx->sys, cx->worker, req);
        return rc;
    }
    req->sender = atomic_load_explicit(&a->pid, memory_order_relaxed);
    req->ref = r;
    rc = tr_msg_deliver(cx->sys, cx->worker, to, req);
    if (rc) {
        tr_asks_settle(a, r); /* its timer will find nothing to report */
        return rc;
    }
    *ref = r;
    return 0;
}

int tr_reply_msg(tr_ctx *cx, const tr_msg *m, tr_msg *reply) {
    if (!tr_ctx_check(cx))
        return tr_msg_consume(reply, TR_ENOTACTOR);
    if (!m || !reply)
        return TR_EINVAL;
    if (atomic_load_explicit(&reply->state, memory_order_relaxed) != TR_MSG_OWNED)
        return TR_EALREADY;
    reply->sender = atomic_load_explicit(&cx->actor->pid, memory_order_relaxed);
    reply->ref = m->ref;
    reply->flags |= TR_MSGF_REPLY;
    return tr_msg_deliver(cx->sys, cx->worker, m->sender, reply);
}

int tr_reply(tr_ctx *cx, const tr_msg *m, const void *data, size_t size) {
    if (!tr_ctx_check(cx))
        return TR_ENOTACTOR;
    if (!m || (size && !data))
        return TR_EINVAL;
    tr_msg *r = tr_msg_alloc(cx->sys, cx->worker, m->type, size);
    if (!r)
        return TR_ENOMEM;
    if (size)
        memcpy(r->data, data, size);
    return tr_reply_msg(cx, m, r);
}

int tr_reply_i64(tr_ctx *cx, const tr_msg *m, int64_t value) {
    return tr_reply(cx, m, &value, sizeof value);
}
