/* timer.c — see timer.h. */
#include "timer.h"

#include "command.h"
#include "links.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

typedef struct msg_timer {
    tr_handle h; /* first: the worker's id map holds this */
    uv_timer_t timer;
    tr_system *sys;
    tr_pid to;
    uint32_t period_ms; /* 0: once */
    tr_msg *m;          /* what it sends (a periodic timer sends copies); NULL once sent */
} msg_timer;

static void timer_closed(uv_handle_t *uh) {
    msg_timer *t = uh->data;
    if (t->m)
        tr_msg_release(t->sys, tr_tls_worker, t->m);
    free(t);
}

/* The handle's close (worker exit: already out of the id map). */
static void timer_close(tr_handle *h) {
    msg_timer *t = (msg_timer *)h;
    uv_close((uv_handle_t *)&t->timer, timer_closed);
}

/* Ends t on its own worker w. */
static void timer_end(tr_worker *w, msg_timer *t) {
    tr_worker_handle_remove(w, &t->h);
    timer_close(&t->h);
}

/* A copy of a periodic timer's message, for one firing. */
static tr_msg *copy_of(tr_system *sys, tr_worker *w, const tr_msg *m) {
    tr_msg *c = tr_msg_alloc(sys, w, m->type, m->size);
    if (!c)
        return NULL;
    memcpy(c->data, m->data, m->size);
    c->sender = m->sender;
    c->kind = m->kind;
    c->ref = m->ref;
    return c;
}

static void timer_fired(uv_timer_t *ut) {
    msg_timer *t = ut->data;
    tr_worker *w = tr_tls_worker;
    if (!tr_sys_running(t->sys)) {
        timer_end(w, t);
        return;
    }
    if (t->period_ms) {
        /* A missed firing (no memory) is skipped; a receiver that is gone
           gets one dead letter and the timer ends. */
        tr_msg *c = copy_of(t->sys, w, t->m);
        if (c && tr_msg_deliver(t->sys, w, t->to, c) == TR_ENOACTOR)
            timer_end(w, t);
        return;
    }
    tr_msg *m = t->m;
    t->m = NULL;
    tr_msg_deliver(t->sys, w, t->to, m);
    timer_end(w, t);
}

/* Starts a timer with id on w, w's thread. Takes m: 0 or TR_ENOMEM. */
static int timer_begin(tr_worker *w, uint64_t id, uint64_t delay_ms, uint32_t period_ms, tr_pid to,
                       tr_msg *m) {
    msg_timer *t = malloc(sizeof *t);
    if (!t) {
        tr_msg_release(w->sys, w, m);
        return TR_ENOMEM;
    }
    t->h.id = id;
    t->h.close = timer_close;
    t->sys = w->sys;
    t->to = to;
    t->period_ms = period_ms;
    t->m = m;
    if (tr_worker_handle_add(w, &t->h) != 0) {
        tr_msg_release(w->sys, w, m);
        free(t);
        return TR_ENOMEM;
    }
    uv_timer_init(&w->loop, &t->timer);
    t->timer.data = t;
    /* Never early (timer.h): the loop's clock is whole milliseconds, and on Linux it is
       CLOCK_MONOTONIC_COARSE where that ticks every millisecond, up to a tick behind. */
    uv_update_time(&w->loop);
    uint64_t now_ms = (uv_hrtime() + 999999) / 1000000, loop_ms = uv_now(&w->loop);
    uv_timer_start(&t->timer, timer_fired, delay_ms + (now_ms > loop_ms ? now_ms - loop_ms : 0),
                   period_ms);
    return 0;
}

int tr_timer_start(tr_worker *w, uint64_t delay_ms, tr_pid to, tr_msg *m) {
    return timer_begin(w, tr_worker_new_id(w), delay_ms, 0, to, m);
}

/* ---- from other threads: commands ---- */

typedef struct start_args {
    uint64_t id, since_ns; /* when it was asked for: the delay counts from then */
    uint64_t delay_ms;
    uint32_t period_ms;
    tr_pid to;
    tr_msg *m;
} start_args;

static void run_start(tr_worker *w, void *data, size_t size) {
    start_args a;
    memcpy(&a, data, size);
    uint64_t waited_ms = (uv_hrtime() - a.since_ns) / 1000000u; /* rounded down: never early */
    timer_begin(w, a.id, a.delay_ms > waited_ms ? a.delay_ms - waited_ms : 0, a.period_ms, a.to,
                a.m);
}

static void drop_start(tr_worker *w, void *data, size_t size) {
    start_args a;
    memcpy(&a, data, size);
    tr_msg_release(w->sys, w, a.m);
}

static void run_cancel(tr_worker *w, void *data, size_t size) {
    uint64_t id;
    memcpy(&id, data, size);
    tr_handle *h = tr_worker_handle_get(w, id);
    if (h && h->close == timer_close)
        timer_end(w, (msg_timer *)h);
}

/* Starts a timer for m on the calling worker, or by a command on a worker
 * picked in turn. Takes m. Stores its id in *out (if not NULL) on success. */
static int timer_launch(tr_system *sys, uint64_t delay_ms, uint32_t period_ms, tr_pid to, tr_msg *m,
                        tr_timer *out) {
    tr_worker *w = tr_worker_of(sys);
    tr_worker *v = w ? w : tr_worker_pick(sys);
    uint64_t id = tr_worker_new_id(v);
    if (w) {
        int rc = timer_begin(w, id, delay_ms, period_ms, to, m);
        if (rc == 0 && out)
            *out = id;
        return rc;
    }
    start_args a = {id, uv_hrtime(), delay_ms, period_ms, to, m};
    if (tr_command_send(sys, v, run_start, drop_start, &a, sizeof a) != 0) {
        tr_msg_release(sys, NULL, m);
        return TR_ENOMEM;
    }
    if (out)
        *out = id;
    return 0;
}

/* ---- the API ---- */

/* A timer's message from sender: checked as tr_send checks. */
static int timer_msg(tr_system *sys, tr_pid sender, uint32_t type, const void *data, size_t size,
                     tr_msg **out) {
    if ((size && !data) || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    if (size > TR_MSG_MAX_PAYLOAD)
        return TR_ETOOBIG;
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    tr_msg *m = tr_msg_alloc(sys, tr_worker_of(sys), type, size);
    if (!m)
        return TR_ENOMEM;
    if (size)
        memcpy(m->data, data, size);
    m->sender = sender;
    *out = m;
    return 0;
}

static int send_later(tr_system *sys, tr_pid sender, uint32_t delay_ms, uint32_t period_ms,
                      tr_pid pid, uint32_t type, const void *data, size_t size, tr_timer *timer) {
    tr_msg *m;
    int rc = timer_msg(sys, sender, type, data, size, &m);
    if (rc != 0)
        return rc;
    return timer_launch(sys, delay_ms, period_ms, pid, m, timer);
}

static int actor_send_later(tr_ctx *cx, uint32_t delay_ms, uint32_t period_ms, tr_pid pid,
                            uint32_t type, const void *data, size_t size, tr_timer *timer) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    tr_pid self = atomic_load_explicit(&cb->actor->pid, memory_order_relaxed);
    return send_later(cb->sys, self, delay_ms, period_ms, pid, type, data, size, timer);
}

int tr_send_after(tr_ctx *cx, uint32_t delay_ms, tr_pid pid, uint32_t type, const void *data,
                  size_t size, tr_timer *timer) {
    return actor_send_later(cx, delay_ms, 0, pid, type, data, size, timer);
}

int tr_send_every(tr_ctx *cx, uint32_t period_ms, tr_pid pid, uint32_t type, const void *data,
                  size_t size, tr_timer *timer) {
    if (period_ms == 0)
        return TR_EINVAL;
    return actor_send_later(cx, period_ms, period_ms, pid, type, data, size, timer);
}

static int system_send_later(tr_system *sys, uint32_t delay_ms, uint32_t period_ms, tr_pid pid,
                             uint32_t type, const void *data, size_t size, tr_timer *timer) {
    return send_later(sys, TR_PID_NONE, delay_ms, period_ms, pid, type, data, size, timer);
}

int tr_system_send_after(tr_system *sys, uint32_t delay_ms, uint32_t period_ms, tr_pid pid,
                         uint32_t type, const void *data, size_t size, tr_timer *timer) {
    if (!sys)
        return TR_EINVAL;
    TR_API_CALL(sys, int,
                system_send_later(sys, delay_ms, period_ms, pid, type, data, size, timer));
}

static int cancel(tr_system *sys, tr_timer timer) {
    tr_worker *v = tr_worker_of_id(sys, timer);
    uint64_t seq = timer & ((1ull << TR_ID_WORKER_SHIFT) - 1); /* 1 .. next_id if issued */
    if (!v || seq - 1 >= atomic_load_explicit(&v->next_id, memory_order_relaxed))
        return TR_EINVAL;
    if (!tr_sys_running(sys))
        return 0; /* every timer is dropped anyway */
    /* Not found on its own worker, it may have fired, or its start (a plain thread's command) may
       still wait among the worker's commands: then the cancel goes after it. */
    if (v == tr_worker_of(sys) && tr_worker_handle_get(v, timer)) {
        run_cancel(v, &timer, sizeof timer);
        return 0;
    }
    return tr_command_send(sys, v, run_cancel, NULL, &timer, sizeof timer);
}

int tr_timer_cancel(tr_system *sys, tr_timer timer) {
    if (!sys)
        return TR_EINVAL;
    TR_API_CALL(sys, int, cancel(sys, timer));
}

/* ---- receive timeouts ---- */

/* Sends the running actor its next receive-timeout message, due in ms. */
static int recv_timeout_arm(tr_callback *cb, tr_actor_ext *x, uint64_t ms, tr_msg *reuse) {
    tr_pid self = atomic_load_explicit(&cb->actor->pid, memory_order_relaxed);
    tr_msg *m = reuse ? reuse : tr_msg_alloc(cb->sys, cb->worker, 0, 0);
    if (!m)
        return TR_ENOMEM;
    m->kind = TR_KIND_RECV_TIMEOUT;
    m->type = 0;
    m->sender = self;
    m->ref = x->recv_gen;
    return timer_launch(cb->sys, ms, 0, self, m, NULL);
}

int tr_receive_timeout(tr_ctx *cx, uint32_t ms) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (!tr_sys_running(cb->sys))
        return TR_ESTOPPED;
    tr_actor *a = cb->actor;
    tr_actor_ext *x = tr_ext_get(a);
    if (!x)
        return TR_ENOMEM;
    x->recv_gen++; /* a timer already out is stale from now on */
    x->recv_timeout_ms = ms;
    a->flags &= (uint8_t)~TR_ACTORF_RECV_TIMEOUT;
    if (ms == 0)
        return 0;
    x->recv_last_ns = uv_hrtime();
    int rc = recv_timeout_arm(cb, x, ms, NULL);
    if (rc == 0)
        a->flags |= TR_ACTORF_RECV_TIMEOUT;
    return rc;
}

int tr_recv_timeout_due(tr_callback *cb, tr_msg *m, int mail_first) {
    tr_actor *a = cb->actor;
    tr_actor_ext *x = a->ext;
    if (!(a->flags & TR_ACTORF_RECV_TIMEOUT) || !x || m->ref != x->recv_gen) {
        tr_msg_release(cb->sys, cb->worker, m); /* stale: the setting changed */
        return 0;
    }
    uint64_t now = uv_hrtime();
    uint64_t quiet_ms = mail_first ? 0 : (now - x->recv_last_ns) / 1000000u;
    if (quiet_ms < x->recv_timeout_ms) { /* there was mail since: wait for the rest */
        if (recv_timeout_arm(cb, x, x->recv_timeout_ms - quiet_ms, m) != 0)
            a->flags &= (uint8_t)~TR_ACTORF_RECV_TIMEOUT;
        return 0;
    }
    x->recv_last_ns = now;
    if (recv_timeout_arm(cb, x, x->recv_timeout_ms, NULL) != 0)
        a->flags &= (uint8_t)~TR_ACTORF_RECV_TIMEOUT;
    m->type = TR_MSG_TIMEOUT;
    return 1;
}
