/* credit.c — see troupe/flow.h, "Credit flow".
 *
 * A sender is a credit count and a queue of copies; a receiver, the credits
 * it owes each producer that has not reached a batch yet (an entry leaves
 * once its credits are granted, so only producers with a partial batch take
 * room). Both are plain memory owned by one actor: no locks. */
#include "flow_common.h"

#include <troupe/flow.h>

#include <stdlib.h>
#include <string.h>

struct tr_credit_sender {
    tr_pid to;
    uint32_t max_queued;
    flow_queue waiting; /* messages waiting for credits, oldest first */
    tr_credit_stats stats;
};

/* ---- the producer's side ---- */

int tr_credit_sender_create(tr_pid to, uint32_t window, uint32_t max_queued,
                            tr_credit_sender **out) {
    if (to <= 0 || window == 0 || !out)
        return TR_EINVAL;
    tr_credit_sender *cs = calloc(1, sizeof *cs);
    if (!cs)
        return TR_ENOMEM;
    cs->to = to;
    cs->max_queued = max_queued;
    cs->stats.credits = window;
    *out = cs;
    return 0;
}

void tr_credit_sender_destroy(tr_credit_sender *cs) {
    if (cs)
        flow_queue_clear(&cs->waiting);
    free(cs);
}

/* Sends a message, spending a credit if it went. */
static int send_one(tr_system *sys, tr_credit_sender *cs, uint32_t type, const void *data,
                    size_t size) {
    int rc = tr_send(sys, cs->to, type, data, size);
    if (rc == 0) {
        cs->stats.credits--;
        cs->stats.sent++;
    }
    return rc;
}

int tr_credit_send(tr_ctx *cx, tr_credit_sender *cs, uint32_t type, const void *data, size_t size) {
    tr_system *sys = tr_ctx_system(cx);
    if (!sys)
        return TR_ENOTACTOR;
    if (!cs || (size && !data) || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    if (!cs->waiting.head && cs->stats.credits > 0)
        return send_one(sys, cs, type, data, size);
    if (cs->max_queued && cs->stats.queued >= cs->max_queued)
        return TR_EFULL;
    if (flow_queue_push(&cs->waiting, type, data, size) != 0)
        return TR_ENOMEM;
    cs->stats.waited++;
    if (++cs->stats.queued > cs->stats.high_water)
        cs->stats.high_water = cs->stats.queued;
    return 0;
}

int tr_credit_sender_handle(tr_ctx *cx, tr_credit_sender *cs, const tr_msg *m) {
    tr_system *sys = tr_ctx_system(cx);
    if (!sys)
        return TR_ENOTACTOR;
    if (!cs || !m)
        return TR_EINVAL;
    if (tr_msg_type(m) != TR_CREDIT_MSG_GRANT || tr_msg_sender(m) != cs->to)
        return 0;
    int64_t n = tr_msg_i64(m);
    if (n <= 0)
        return TR_EBADMSG;
    cs->stats.credits += (uint64_t)n;
    while (cs->waiting.head && cs->stats.credits > 0) {
        flow_item *it = cs->waiting.head;
        int rc = send_one(sys, cs, it->type, it->data, it->size);
        if (rc == TR_ENOMEM)
            return rc; /* it keeps waiting, at the head */
        flow_queue_drop(&cs->waiting);
        cs->stats.queued--;
        if (rc)
            return rc;
    }
    return 1;
}

int tr_credit_sender_stats(const tr_credit_sender *cs, tr_credit_stats *out) {
    if (!cs || !out)
        return TR_EINVAL;
    *out = cs->stats;
    return 0;
}

/* ---- the consumer's side ---- */

typedef struct owed {
    tr_pid producer;
    uint32_t credits;
} owed;

struct tr_credit_receiver {
    uint32_t batch;
    owed *owed; /* producers with credits not granted yet */
    size_t n, cap;
};

int tr_credit_receiver_create(uint32_t batch, tr_credit_receiver **out) {
    if (batch == 0 || !out)
        return TR_EINVAL;
    tr_credit_receiver *cr = calloc(1, sizeof *cr);
    if (!cr)
        return TR_ENOMEM;
    cr->batch = batch;
    *out = cr;
    return 0;
}

void tr_credit_receiver_destroy(tr_credit_receiver *cr) {
    if (cr)
        free(cr->owed);
    free(cr);
}

/* The entry of producer, made if need be; NULL without memory. */
static owed *owed_get(tr_credit_receiver *cr, tr_pid producer) {
    for (size_t i = 0; i < cr->n; i++)
        if (cr->owed[i].producer == producer)
            return &cr->owed[i];
    if (cr->n == cr->cap) {
        size_t cap = cr->cap ? 2 * cr->cap : 4;
        owed *o = realloc(cr->owed, cap * sizeof *o);
        if (!o)
            return NULL;
        cr->owed = o;
        cr->cap = cap;
    }
    cr->owed[cr->n] = (owed){producer, 0};
    return &cr->owed[cr->n++];
}

int tr_credit_done(tr_ctx *cx, tr_credit_receiver *cr, const tr_msg *m) {
    if (!tr_ctx_system(cx))
        return TR_ENOTACTOR;
    tr_pid producer = tr_msg_sender(m);
    if (!cr || producer <= 0)
        return TR_EINVAL;
    owed *o = owed_get(cr, producer);
    if (!o)
        return TR_ENOMEM;
    if (++o->credits < cr->batch)
        return 0;
    int rc = tr_credit_grant(cx, producer, o->credits);
    if (rc != 0 && rc != TR_ENOACTOR)
        return rc; /* owed still: they go with the next grant */
    *o = cr->owed[--cr->n];
    return 0;
}

int tr_credit_grant(tr_ctx *cx, tr_pid producer, uint32_t n) {
    tr_system *sys = tr_ctx_system(cx);
    if (!sys)
        return TR_ENOTACTOR;
    if (producer <= 0 || n == 0)
        return TR_EINVAL;
    return tr_send_i64(sys, producer, TR_CREDIT_MSG_GRANT, n);
}
