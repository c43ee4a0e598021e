/* load_shedder.c — see troupe/flow.h, "Load shedder".
 *
 * The shedder knows, for each worker, how many requests it has handed it
 * that the worker has not reported done: 0 is idle, 1 is busy with one, and
 * each one more is a request waiting in the worker's mailbox. Its decisions
 * depend only on the order of what reaches its own mailbox (requests, done
 * reports, exits), never on timing. */
#include "flow_common.h"

#include <troupe/flow.h>

#include <stdlib.h>
#include <string.h>

#define MSG_DONE (TR_FLOW_MSG_BASE + 0x31) /* a worker has finished a request */

typedef struct worker {
    tr_pid pid;
    uint32_t handed; /* requests handed to it and not done: 0 when idle */
} worker;

typedef struct shed {
    worker *w;
    uint32_t n;
    uint32_t next; /* where the search for a worker starts: after the last picked */
    uint32_t queue_limit;
    tr_shed_stats stats; /* workers, busy and waiting kept current */
} shed;

static uint32_t worker_of(const shed *s, tr_pid pid) {
    uint32_t i = 0;
    while (i < s->n && s->w[i].pid != pid)
        i++;
    return i;
}

/* The worker a request goes to, or s->n if it must be refused. */
static uint32_t pick(const shed *s) {
    uint32_t best = s->n;
    for (uint32_t k = 0; k < s->n; k++) {
        uint32_t i = (s->next + k) % s->n;
        if (s->w[i].handed == 0)
            return i;
        if (best == s->n || s->w[i].handed < s->w[best].handed)
            best = i;
    }
    return s->stats.waiting < s->queue_limit ? best : s->n;
}

/* Answers request m with a refusal. Without memory for it, receive returns
 * without a reply and the runtime answers the asker TR_ENOREPLY. */
static void refuse(tr_ctx *cx, const tr_msg *m) {
    tr_msg *r;
    int64_t why = TR_EFULL;
    if (tr_msg_create(tr_ctx_system(cx), TR_FLOW_MSG_REFUSED, sizeof why, &r) == 0) {
        memcpy(tr_msg_data(r), &why, sizeof why);
        tr_reply_msg(cx, m, r);
    }
}

static void dispatch(shed *s, tr_ctx *cx, tr_msg *m) {
    uint32_t i = pick(s);
    if (i == s->n) {
        s->stats.overloaded++;
        refuse(cx, m);
        return;
    }
    s->next = (i + 1) % s->n;
    /* A failed forward is the runtime's to answer: a worker that has just
       exited (its exit signal is on its way) fails the ask with TR_ENOACTOR. */
    if (tr_msg_forward(cx, s->w[i].pid, m) != 0)
        return;
    if (s->w[i].handed++ == 0) {
        s->stats.handed++;
        s->stats.busy++;
    } else {
        s->stats.waited++;
        s->stats.waiting++;
    }
}

static void on_done(shed *s, tr_pid from) {
    uint32_t i = worker_of(s, from);
    if (i == s->n || s->w[i].handed == 0)
        return; /* not a worker of ours, or not busy */
    if (--s->w[i].handed == 0)
        s->stats.busy--;
    else
        s->stats.waiting--;
}

/* Takes worker i out of the pool. */
static void worker_remove(shed *s, uint32_t i) {
    uint32_t handed = s->w[i].handed;
    if (handed > 0) {
        s->stats.busy--;
        s->stats.waiting -= handed - 1;
    }
    memmove(&s->w[i], &s->w[i + 1], (s->n - i - 1) * sizeof *s->w);
    s->stats.workers = --s->n;
    if (s->next > i)
        s->next--;
    if (s->next >= s->n)
        s->next = 0;
}

static int on_exit_signal(shed *s, tr_ctx *cx, tr_pid from, int reason) {
    uint32_t i = worker_of(s, from);
    if (i == s->n || TR_EXIT_ABNORMAL(reason)) /* else as if not trapping */
        return reason != 0 ? tr_exit(cx, reason) : 0;
    worker_remove(s, i);
    return s->n == 0 ? tr_exit(cx, 0) : 0;
}

static int shed_init(tr_ctx *cx, void *state, const void *arg) {
    const tr_shed_config *cfg = arg;
    shed *s = state;
    if (!(s->w = calloc(cfg->workers, sizeof *s->w)))
        return TR_ENOMEM;
    s->queue_limit = cfg->queue_limit;
    tr_trap_exits(cx, 1);
    tr_shed_worker_arg wa = {.shedder = tr_self(cx), .arg = cfg->worker_arg};
    for (wa.index = 0; wa.index < cfg->workers; wa.index++) {
        tr_pid pid = tr_spawn_link(cx, cfg->worker, &wa);
        if (pid < 0) { /* those started get an exit signal with this */
            free(s->w);
            return (int)pid;
        }
        s->w[s->n++].pid = pid;
    }
    s->stats.workers = s->n;
    return 0;
}

static int shed_receive(tr_ctx *cx, void *state, tr_msg *m) {
    shed *s = state;
    switch (tr_msg_type(m)) {
    case TR_MSG_EXIT: return on_exit_signal(s, cx, tr_msg_exit_pid(m), tr_msg_exit_reason(m));
    case MSG_DONE: on_done(s, tr_msg_sender(m)); return 0;
    case TR_SHED_MSG_STATS: return tr_reply(cx, m, &s->stats, sizeof s->stats);
    default: dispatch(s, cx, m); return 0;
    }
}

static void shed_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)reason;
    free(((shed *)state)->w);
}

static const tr_actor_spec shed_actor = {
    .name = "load shedder",
    .state_size = sizeof(shed),
    .init = shed_init,
    .receive = shed_receive,
    .terminate = shed_terminate,
};

static int config_ok(const tr_shed_config *cfg) {
    return cfg && cfg->worker && cfg->workers >= 1 && cfg->workers <= TR_SHED_WORKERS_MAX;
}

tr_pid tr_shed_start(tr_system *sys, const tr_shed_config *cfg) {
    return flow_start(sys, &shed_actor, cfg, config_ok(cfg));
}

tr_pid tr_shed_start_link(tr_ctx *cx, const tr_shed_config *cfg) {
    return flow_start_link(cx, &shed_actor, cfg, config_ok(cfg));
}

int tr_shed_done(tr_ctx *cx, tr_pid shedder) {
    tr_system *sys = tr_ctx_system(cx);
    if (!sys)
        return TR_ENOTACTOR;
    if (shedder <= 0)
        return TR_EINVAL;
    return tr_send(sys, shedder, MSG_DONE, NULL, 0);
}

int tr_shed_stats_read(tr_msg *m, tr_shed_stats *out) {
    return flow_stats_read(m, TR_SHED_MSG_STATS, out, sizeof *out);
}

int tr_shed_stats_get(tr_system *sys, tr_pid shedder, tr_shed_stats *out, int timeout_ms) {
    return flow_stats_get(sys, shedder, TR_SHED_MSG_STATS, out, sizeof *out, timeout_ms);
}
