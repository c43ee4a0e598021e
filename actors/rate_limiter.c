/* rate_limiter.c — see troupe/flow.h, "Rate limiter".
 *
 * The bucket is kept in exact integer arithmetic: one token is worth
 * period_ns units, and every nanosecond adds `rate` units, so no rounding
 * ever lets through more than the configured rate. The bounds on burst and
 * period keep a full bucket (burst * period_ns) within 64 bits.
 *
 * The bucket is refilled from the clock whenever the limiter runs; a timer
 * message (tr_send_after, to itself) only makes sure it runs when the next
 * token is due while messages wait. At most one such timer is pending: there
 * is no cancel, and one is all the queue needs. */
#include "flow_common.h"

#include <troupe/flow.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_TICK (TR_FLOW_MSG_BASE + 0x11) /* the refill timer, from the limiter to itself */

typedef struct limiter {
    tr_rl_config cfg;
    tr_pid self;
    uint64_t token;     /* units per token: the period in ns */
    uint64_t level;     /* units in the bucket, <= burst * token */
    uint64_t last_ns;   /* when the bucket was last refilled */
    flow_queue waiting; /* delayed messages, oldest first */
    int tick_pending;
    tr_rl_stats stats;
} limiter;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void refill(limiter *l) {
    uint64_t now = now_ns(), elapsed = now - l->last_ns;
    uint64_t room = (uint64_t)l->cfg.burst * l->token - l->level;
    l->last_ns = now;
    /* elapsed * rate overflows only well past the point where the bucket is full */
    if (elapsed >= room / l->cfg.rate + 1)
        l->level += room;
    else
        l->level += elapsed * l->cfg.rate;
}

static int take_token(limiter *l) {
    if (l->level < l->token)
        return 0;
    l->level -= l->token;
    return 1;
}

/* Sends waiting messages while tokens last. */
static void release(limiter *l, tr_system *sys) {
    while (l->waiting.head && take_token(l)) {
        flow_item *it = l->waiting.head;
        if (tr_send(sys, l->cfg.target, it->type, it->data, it->size) == TR_ENOMEM) {
            l->level += l->token; /* not sent: try again at the next tick */
            return;
        }
        /* any other failure is the runtime's to count (a dead letter, say) */
        flow_queue_drop(&l->waiting);
        l->stats.queued--;
    }
}

/* While messages wait, a tick is due when the next token is. */
static void tick_schedule(limiter *l, tr_ctx *cx) {
    if (!l->waiting.head || l->tick_pending)
        return;
    uint64_t missing = l->level < l->token ? l->token - l->level : 0;
    uint64_t ns = (missing + l->cfg.rate - 1) / l->cfg.rate;
    uint32_t ms = (uint32_t)((ns + 999999u) / 1000000u);
    /* Without a timer (no memory), the next message to arrive releases them. */
    if (tr_send_after(cx, ms ? ms : 1, l->self, MSG_TICK, NULL, 0, NULL) == 0)
        l->tick_pending = 1;
}

static int enqueue(limiter *l, tr_msg *m) {
    int rc = flow_queue_push(&l->waiting, tr_msg_type(m), tr_msg_data(m), tr_msg_size(m));
    if (rc == 0)
        l->stats.queued++;
    return rc;
}

/* A request (an ask) being received carries its ask's reference. */
static int is_request(const tr_msg *m) {
    return tr_msg_ref(m) != 0 && !tr_msg_is_reply(m);
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

/* A message to pass on: now, later or never. */
static void admit(limiter *l, tr_ctx *cx, tr_msg *m) {
    if (!l->waiting.head && take_token(l)) {
        /* A failed forward (a dead target) is counted by the runtime, which
           also fails a forwarded request's ask. */
        if (tr_msg_forward(cx, l->cfg.target, m) == 0)
            l->stats.forwarded++;
        return;
    }
    int request = is_request(m);
    if (!request && l->stats.queued < l->cfg.queue_limit && enqueue(l, m) == 0) {
        l->stats.delayed++;
        return;
    }
    l->stats.refused++;
    if (request)
        refuse(cx, m);
}

static int rl_init(tr_ctx *cx, void *state, const void *arg) {
    limiter *l = state;
    l->cfg = *(const tr_rl_config *)arg;
    if (!l->cfg.period_ms)
        l->cfg.period_ms = 1000;
    l->self = tr_self(cx);
    l->token = (uint64_t)l->cfg.period_ms * 1000000u;
    l->level = (uint64_t)l->cfg.burst * l->token;
    l->last_ns = now_ns();
    return 0;
}

static int rl_receive(tr_ctx *cx, void *state, tr_msg *m) {
    limiter *l = state;
    uint32_t type = tr_msg_type(m);
    if (type == TR_RL_MSG_STATS)
        return tr_reply(cx, m, &l->stats, sizeof l->stats);
    refill(l);
    release(l, tr_ctx_system(cx));
    if (type == MSG_TICK && tr_msg_sender(m) == l->self)
        l->tick_pending = 0;
    else if (!tr_msg_is_reply(m)) /* a reply (to a delayed copy) is not traffic */
        admit(l, cx, m);
    tick_schedule(l, cx);
    return 0;
}

static void rl_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)reason;
    limiter *l = state;
    flow_queue_clear(&l->waiting);
}

static const tr_actor_spec rl_actor = {
    .name = "rate limiter",
    .state_size = sizeof(limiter),
    .init = rl_init,
    .receive = rl_receive,
    .terminate = rl_terminate,
};

static int config_ok(const tr_rl_config *cfg) {
    return cfg && cfg->target > 0 && cfg->rate >= 1 && cfg->burst >= 1 &&
           cfg->burst <= TR_RL_BURST_MAX && cfg->period_ms <= TR_RL_PERIOD_MAX_MS;
}

tr_pid tr_rl_start(tr_system *sys, const tr_rl_config *cfg) {
    return flow_start(sys, &rl_actor, cfg, config_ok(cfg));
}

tr_pid tr_rl_start_link(tr_ctx *cx, const tr_rl_config *cfg) {
    return flow_start_link(cx, &rl_actor, cfg, config_ok(cfg));
}

int tr_rl_stats_read(tr_msg *m, tr_rl_stats *out) {
    return flow_stats_read(m, TR_RL_MSG_STATS, out, sizeof *out);
}

int tr_rl_stats_get(tr_system *sys, tr_pid rl, tr_rl_stats *out, int timeout_ms) {
    return flow_stats_get(sys, rl, TR_RL_MSG_STATS, out, sizeof *out, timeout_ms);
}
