/* timer.c — see timer.h. */
#include "timer.h"

#include <stdlib.h>
#include <string.h>

typedef struct msg_timer {
    uv_timer_t timer; /* first: the handle is the allocation; data points to itself */
    tr_system *sys;
    tr_pid to;
    tr_msg *m; /* NULL once delivered */
} msg_timer;

static void timer_closed(uv_handle_t *h) {
    msg_timer *t = (msg_timer *)h;
    tr_worker *w = tr_tls_worker;
    if (t->m)
        tr_msg_release(t->sys, w, t->m);
    if (w)
        w->active_handles--;
    free(t);
}

int tr_timer_close(uv_handle_t *h) {
    if (h->type != UV_TIMER || h->data != h)
        return 0;
    uv_close(h, timer_closed);
    return 1;
}

static void timer_fired(uv_timer_t *handle) {
    msg_timer *t = (msg_timer *)handle;
    tr_msg *m = t->m;
    t->m = NULL;
    if (tr_sys_running(t->sys))
        tr_msg_deliver(t->sys, tr_tls_worker, t->to, m);
    else
        tr_msg_release(t->sys, tr_tls_worker, m);
    uv_close((uv_handle_t *)handle, timer_closed);
}

int tr_timer_start(tr_worker *w, uint64_t delay_ms, tr_pid to, tr_msg *m) {
    msg_timer *t = malloc(sizeof *t);
    if (!t) {
        tr_msg_release(w->sys, w, m);
        return TR_ENOMEM;
    }
    t->sys = w->sys;
    t->to = to;
    t->m = m;
    uv_timer_init(&w->loop, &t->timer);
    t->timer.data = t;
    uv_timer_start(&t->timer, timer_fired, delay_ms, 0);
    w->active_handles++;
    return 0;
}

/* ---- the API ---- */

int tr_send_after(tr_ctx *cx, uint32_t delay_ms, tr_pid pid, uint32_t type, const void *data,
                  size_t size) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb || !cb->worker)
        return TR_ENOTACTOR;
    if ((size && !data) || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    if (size > TR_MSG_MAX_PAYLOAD)
        return TR_ETOOBIG;
    if (!tr_sys_running(cb->sys))
        return TR_ESTOPPED;
    tr_msg *m = tr_msg_alloc(cb->sys, cb->worker, type, size);
    if (!m)
        return TR_ENOMEM;
    if (size)
        memcpy(m->data, data, size);
    m->sender = atomic_load_explicit(&cb->actor->pid, memory_order_relaxed);
    return tr_timer_start(cb->worker, delay_ms, pid, m);
}
