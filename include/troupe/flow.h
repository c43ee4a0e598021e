/* troupe/flow.h — flow control: a rate limiter, credit-based sending and a
 * load shedder, built on the public API only (<troupe.h>).
 *
 *   rate limiter   an actor in front of a target that passes messages on at
 *                  most at a configured rate (a token bucket), making the
 *                  excess wait or refusing it;
 *   credit flow    a producer sends a consumer only as many messages as the
 *                  consumer has granted it credits for, and keeps the rest
 *                  in order until more credits come;
 *   load shedder   an actor in front of a pool of workers that it starts: it
 *                  hands each request to an idle worker, lets a bounded
 *                  number wait when all are busy, and answers the rest
 *                  "overloaded" at once.
 *
 * None of them needs a bounded mailbox or an overflow policy (TR_OVERFLOW_*),
 * and they work with any: a forwarded request that a full bounded mailbox
 * refuses or drops fails its ask at once with TR_EFULL.
 *
 * Holding requests. troupe lets an actor keep a message only for the receive
 * that got it (forwarding it is the one way to pass it on whole), and only
 * that receive can reply to it. So a request (an ask) can never wait inside
 * one of these actors: the rate limiter refuses a request it cannot pass on
 * at once, and the load shedder makes a request wait in the mailbox of the
 * worker it picks, not in a line of its own. Plain messages can wait as
 * copies: the rate limiter and a credit sender keep those.
 *
 * Refusals. A request that is refused (no token, an overloaded shedder) is
 * answered with a TR_FLOW_MSG_REFUSED reply, which tr_flow_refused
 * recognises, so that its asker never waits for it: tr_ask returns 0 with
 * that reply, and tr_ask_async delivers it as the ask's reply. tr_ask_i64
 * cannot tell it from an answer of TR_EFULL: use tr_ask for requests that may
 * be refused.
 *
 * Message types from 0xFFFD0000 to 0xFFFD00FF are these actors': an actor
 * that sends to or through them must not use that range for its own
 * messages. */
#ifndef TROUPE_FLOW_H
#define TROUPE_FLOW_H

#include <troupe.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_FLOW_MSG_BASE 0xFFFD0000u

/* A refusal: the reply a rate limiter or load shedder gives a request it
 * turns away, with an int64 payload (tr_msg_i64) saying why: TR_EFULL. */
#define TR_FLOW_MSG_REFUSED (TR_FLOW_MSG_BASE + 1)

/* The reason carried by refusal m (TR_EFULL), or 0 if m is not a refusal (m
 * may be NULL). Any thread holding m. */
static inline int tr_flow_refused(const tr_msg *m) {
    return tr_msg_type(m) == TR_FLOW_MSG_REFUSED ? (int)tr_msg_i64(m) : 0;
}

/* ---- Rate limiter ------------------------------------------------------- *
 *
 * A token bucket in front of a target actor. The bucket holds at most
 * `burst` tokens and starts full; `rate` tokens are added every `period_ms`,
 * continuously (one every period_ms / rate). Each message sent to the
 * limiter takes one token and is forwarded to the target (tr_msg_forward:
 * the same message, its original sender, and for a request its asker, whom
 * the target's tr_reply reaches). So from its start at time 0, no more than
 * burst + rate * t / period_ms messages have been passed on by time t.
 *
 * A message that finds no token is, by the configuration:
 *   refused (queue_limit 0): not passed on. A request gets a refusal
 *       (TR_FLOW_MSG_REFUSED, TR_EFULL); a plain send is only counted.
 *   delayed (queue_limit > 0): a plain message is copied into the limiter's
 *       queue, and sent on as tokens come (a timer made with tr_send_after
 *       wakes the limiter when the next token is due). Up to queue_limit
 *       messages wait; one that finds the queue full is refused as above. A
 *       request is never delayed (see "Holding requests"): it is refused.
 * Messages reach the target in the order they reached the limiter: while any
 * wait, every new message waits behind them (or is refused), even if a token
 * has come meanwhile. A delayed message is a copy sent by the limiter: the
 * target sees the same type and payload, but tr_msg_sender is the limiter
 * (a tr_reply to it reaches the limiter, which drops it). Messages still
 * queued when the limiter exits are dropped.
 *
 * The limiter does not watch its target: once the target has exited, what
 * the limiter passes on are dead letters (a forwarded request fails at once
 * with TR_ENOACTOR, as tr_msg_forward says). Stop it like any actor
 * (tr_send_exit, tr_kill, a system stop, or through a link: see
 * tr_rl_start_link). A target with a TR_OVERFLOW_BLOCK mailbox mutes the
 * limiter while it is full. */

#define TR_RL_BURST_MAX (1u << 20)
#define TR_RL_PERIOD_MAX_MS 3600000u /* an hour */

typedef struct tr_rl_config {
    tr_pid target;        /* where messages go, > 0 */
    uint32_t rate;        /* tokens added per period, >= 1 */
    uint32_t period_ms;   /* 0: 1000 (rate is per second); at most TR_RL_PERIOD_MAX_MS */
    uint32_t burst;       /* the bucket's size, 1 .. TR_RL_BURST_MAX */
    uint32_t queue_limit; /* plain messages that may wait for a token; 0: refuse at once */
} tr_rl_config;

/* Starts a rate limiter with a copy of cfg and returns its pid, or TR_EINVAL
 * (sys, cfg or cx NULL, a field out of range), TR_ENOMEM or TR_ESTOPPED.
 * tr_rl_start: not linked to anyone. Any thread.
 * tr_rl_start_link: linked to the running actor (so a supervisor can start
 * it from a tr_sup_start_fn), and TR_ENOTACTOR. Actor only. */
TR_API tr_pid tr_rl_start(tr_system *sys, const tr_rl_config *cfg);
TR_API tr_pid tr_rl_start_link(tr_ctx *cx, const tr_rl_config *cfg);

/* What a limiter has done so far. Every message it was sent (but stats
 * requests) is counted once: forwarded + delayed + refused. */
typedef struct tr_rl_stats {
    uint64_t forwarded; /* passed on at once, with a token */
    uint64_t delayed;   /* queued for a token: sent since, or waiting (queued) */
    uint64_t refused;   /* neither: no token, no room (or no memory) to wait; requests
                           among them were answered with a refusal */
    uint32_t queued;    /* waiting now */
} tr_rl_stats;

/* Stats are a request: a message of type TR_RL_MSG_STATS (any payload) asked
 * of the limiter, answered with a reply of that type whose payload is a
 * tr_rl_stats. It takes no token and is never refused. */
#define TR_RL_MSG_STATS (TR_FLOW_MSG_BASE + 0x10)

/* Asks limiter rl for its stats and waits up to timeout_ms (< 0: forever).
 * Fills *out and returns 0, or TR_EINVAL (sys or out NULL, rl <= 0),
 * TR_EBADMSG (the answer is not a limiter's: rl is another kind of actor),
 * or an error of tr_ask (TR_ENOACTOR, TR_ETIMEDOUT, TR_EINACTOR inside an
 * actor callback: ask with tr_ask_async and read the reply with
 * tr_rl_stats_read, TR_ESTOPPED, TR_ENOMEM). Any plain thread. */
TR_API int tr_rl_stats_get(tr_system *sys, tr_pid rl, tr_rl_stats *out, int timeout_ms);

/* Decodes a limiter's reply to a TR_RL_MSG_STATS request into *out. Returns
 * 0, TR_EINVAL (m or out NULL) or TR_EBADMSG (m is not such a reply). m stays
 * the caller's. Any thread holding m. */
TR_API int tr_rl_stats_read(tr_msg *m, tr_rl_stats *out);

/* ---- Credit flow ---------------------------------------------------------- *
 *
 * A producer actor sends a consumer actor through a credit sender, which it
 * owns: each message sent takes one credit, and a message that finds none
 * is copied into the sender's queue instead. The sender starts with `window`
 * credits; the consumer gives credits back as it finishes messages, with
 * grant messages (TR_CREDIT_MSG_GRANT) to the producer, whose receive hands
 * them to the sender (tr_credit_sender_handle), which then sends what waits.
 * So at most `window` messages of the producer are ever queued at the
 * consumer or in flight to it, nothing is dropped, and the consumer gets
 * them in the order tr_credit_send was called.
 *
 * The producer:
 *     rc = tr_credit_sender_handle(cx, p->out, m);  // first, in receive
 *     if (rc != 0)
 *         return rc < 0 ? rc : 0;                     // it was a grant
 *     ...
 *     tr_credit_send(cx, p->out, MSG_ITEM, &item, sizeof item);
 * The consumer, once it has finished with a message from a producer:
 *     return tr_credit_done(cx, c->credits, m);
 * tr_credit_done gives credits back in batches (one grant per `batch`
 * messages of a producer); a batch must not exceed any of its producers'
 * windows, or a producer could wait for credits that never come. A consumer
 * may also grant by hand (tr_credit_grant).
 *
 * A consumer whose mailbox is bounded by the sum of its producers' windows
 * (or more) never finds it full of their messages. Grants are ordinary
 * messages: a producer's bounded mailbox that refuses one (TR_EFULL) only
 * delays it (tr_credit_done grants it again with the next batch), but one
 * that drops it (TR_OVERFLOW_DROP_*) loses those credits for good: give a
 * producer an unbounded mailbox, or TR_OVERFLOW_FAIL or _BLOCK.
 *
 * Thread safety: a sender or receiver belongs to the actor that created it
 * and is used only inside that actor's callbacks (no locking); create and
 * destroy may be called anywhere. */

/* A grant, from a consumer to a producer: an int64 payload, the credits. */
#define TR_CREDIT_MSG_GRANT (TR_FLOW_MSG_BASE + 0x20)

typedef struct tr_credit_sender tr_credit_sender;

/* Makes a credit sender to consumer `to` (> 0) with `window` (>= 1) credits
 * and room for max_queued waiting messages (0: no limit), and stores it in
 * *out. Returns 0, TR_EINVAL (to <= 0, window 0, out NULL) or TR_ENOMEM. The
 * caller owns it: tr_credit_sender_destroy it, e.g. in terminate. Any
 * thread. */
TR_API int tr_credit_sender_create(tr_pid to, uint32_t window, uint32_t max_queued,
                                   tr_credit_sender **out);

/* Frees cs and the messages still waiting in it (they are never sent). NULL
 * is ignored. No errors. Its owner's thread (or callback) only. */
TR_API void tr_credit_sender_destroy(tr_credit_sender *cs);

/* Sends a copy of size bytes of data as a message of type to the consumer,
 * from the running actor, if cs holds a credit and nothing waits; otherwise
 * queues the copy, to be sent when credits come. Returns 0 (sent or queued),
 * TR_EFULL (max_queued messages wait already: nothing was queued),
 * TR_ENOMEM, TR_ENOTACTOR, TR_EINVAL (cs NULL, data NULL with size > 0, a
 * reserved type), or an error of tr_send for a message sent at once (its
 * credit is kept). Actor only. */
TR_API int tr_credit_send(tr_ctx *cx, tr_credit_sender *cs, uint32_t type, const void *data,
                          size_t size);

/* Gives cs the grant m, if m is one from its consumer: adds its credits and
 * sends the waiting messages they cover, in order. Returns 1 if m was such a
 * grant, 0 if not (m is for the caller to handle), or an error: TR_EBADMSG (a
 * grant from the consumer without a positive count), TR_ENOTACTOR, TR_EINVAL
 * (cs or m NULL), or the error of the first waiting message whose send
 * failed: that message is dropped as tr_send drops it (and counted by the
 * runtime) and the rest keep waiting, but on TR_ENOMEM it keeps waiting
 * too. Actor only. */
TR_API int tr_credit_sender_handle(tr_ctx *cx, tr_credit_sender *cs, const tr_msg *m);

typedef struct tr_credit_stats {
    uint64_t sent;       /* messages sent to the consumer */
    uint64_t waited;     /* messages that were queued for a credit (sent since, or queued) */
    uint64_t credits;    /* held now */
    uint32_t queued;     /* waiting now */
    uint32_t high_water; /* the most that waited at once */
} tr_credit_stats;

/* Fills *out. Returns 0 or TR_EINVAL (cs or out NULL). The owner's
 * callbacks. */
TR_API int tr_credit_sender_stats(const tr_credit_sender *cs, tr_credit_stats *out);

typedef struct tr_credit_receiver tr_credit_receiver;

/* Makes a consumer's credit receiver that grants credits back in batches of
 * `batch` (>= 1) messages per producer, and stores it in *out. Returns 0,
 * TR_EINVAL or TR_ENOMEM. The caller owns it: tr_credit_receiver_destroy it.
 * Any thread. */
TR_API int tr_credit_receiver_create(uint32_t batch, tr_credit_receiver **out);

/* Frees cr; credits it had not granted yet are never granted. NULL is
 * ignored. No errors. Its owner's thread (or callback) only. */
TR_API void tr_credit_receiver_destroy(tr_credit_receiver *cr);

/* Records that the running actor has finished m, a message a producer sent
 * it with tr_credit_send, and once `batch` of that producer's messages are
 * finished grants it their credits. Returns 0, TR_EINVAL (cr or m NULL, m
 * not from an actor), TR_ENOTACTOR, TR_ENOMEM, or an error of the grant's
 * tr_send (the credits stay owed and go with the next grant); a producer
 * that has exited is no error (it needs no credits). Call it only for
 * messages sent through a credit sender, once each. Actor only. */
TR_API int tr_credit_done(tr_ctx *cx, tr_credit_receiver *cr, const tr_msg *m);

/* Grants producer n (>= 1) credits, from the running actor. Returns 0,
 * TR_EINVAL (producer <= 0, n 0), TR_ENOTACTOR, or an error of tr_send.
 * Actor only. */
TR_API int tr_credit_grant(tr_ctx *cx, tr_pid producer, uint32_t n);

/* ---- Load shedder ------------------------------------------------------- *
 *
 * A router in front of a pool of workers that it starts, linked to it, from
 * one actor spec. Each message sent to the shedder is a request: it is
 * forwarded (tr_msg_forward) to a worker, whose tr_reply reaches the original
 * asker directly. A worker is busy from the moment it is handed a request
 * until it says it has finished it, with tr_shed_done (one call per request,
 * typically right after replying). For each request the shedder:
 *   hands it to an idle worker, if one is (the next idle one after the
 *       worker last picked, round robin);
 *   else, while fewer than queue_limit requests wait, makes it wait: it is
 *       forwarded to the busy worker with the fewest requests (the next
 *       after the worker last picked, among those), in whose mailbox it waits
 *       behind that worker's earlier ones (see "Holding requests": there is
 *       no shared line, so a worker that finishes first does not take over
 *       another's waiting requests);
 *   else answers it with a refusal (TR_FLOW_MSG_REFUSED, TR_EFULL: the
 *       "overloaded" answer) through tr_reply_msg, at once: an ask gets it as
 *       its reply, a plain send's sender (an actor, an inbox) as an ordinary
 *       message.
 * Requests waiting are those handed to workers beyond one per busy worker.
 *
 * The pool. The shedder traps exits. A worker that exits normally (reason 0
 * or TR_ESTOPPED) leaves the pool (requests waiting in its mailbox fail with
 * TR_ENOACTOR), and the shedder exits normally with the last one. A worker's
 * abnormal exit makes the shedder exit with the same reason, which takes the
 * other workers down through their links (a supervisor then restarts the
 * whole). An exit signal from anyone else acts as on an actor that does not
 * trap exits: any reason but 0 ends the shedder, and its workers with it;
 * tr_send_exit(sys, shedder, TR_ESTOPPED) shuts it down. Give workers
 * unbounded mailboxes: the queue limit is the bound (a request a full worker
 * mailbox refuses fails its ask with TR_EFULL). A worker that forgets
 * tr_shed_done stays busy for good. */

#define TR_SHED_WORKERS_MAX 1024u

typedef struct tr_shed_config {
    const tr_actor_spec *worker; /* every worker's spec (static, as for tr_spawn) */
    const void *worker_arg;      /* given to each worker's init (see tr_shed_worker_arg) */
    uint32_t workers;            /* 1 .. TR_SHED_WORKERS_MAX */
    uint32_t queue_limit;        /* requests that may wait (0: none) */
} tr_shed_config;

/* What each worker's init gets as its arg: where to report to, which worker
 * it is, and the config's worker_arg. Borrowed for the duration of init, as
 * tr_spawn's arg: copy what is needed. */
typedef struct tr_shed_worker_arg {
    tr_pid shedder;  /* for tr_shed_done */
    uint32_t index;  /* 0 .. workers - 1, in start order */
    const void *arg; /* tr_shed_config.worker_arg */
} tr_shed_worker_arg;

/* Starts a load shedder and its workers (each spawned linked to it, in order,
 * before this returns) and returns the shedder's pid, or TR_EINVAL (sys, cfg
 * or cx NULL, no worker spec, workers out of range), TR_ENOMEM, TR_ESTOPPED,
 * or the error of the worker that failed to start (the workers started
 * before it get an exit signal with that error).
 * tr_shed_start: not linked to anyone. Any thread.
 * tr_shed_start_link: linked to the running actor, and TR_ENOTACTOR. Actor
 * only. */
TR_API tr_pid tr_shed_start(tr_system *sys, const tr_shed_config *cfg);
TR_API tr_pid tr_shed_start_link(tr_ctx *cx, const tr_shed_config *cfg);

/* Tells shedder that the running worker has finished one request. Returns 0,
 * TR_EINVAL (shedder <= 0), TR_ENOTACTOR, or an error of tr_send. Actor only:
 * a worker of that shedder (from anyone else it is ignored). */
TR_API int tr_shed_done(tr_ctx *cx, tr_pid shedder);

typedef struct tr_shed_stats {
    uint64_t handed;     /* requests handed to an idle worker */
    uint64_t waited;     /* requests made to wait in a busy worker's mailbox */
    uint64_t overloaded; /* requests answered with a refusal */
    uint32_t workers;    /* in the pool now */
    uint32_t busy;       /* of which busy */
    uint32_t waiting;    /* requests waiting now */
} tr_shed_stats;

/* Stats are a request, as the rate limiter's: TR_SHED_MSG_STATS, answered
 * with a reply of that type whose payload is a tr_shed_stats. */
#define TR_SHED_MSG_STATS (TR_FLOW_MSG_BASE + 0x30)

/* As tr_rl_stats_get and tr_rl_stats_read, for load shedders. */
TR_API int tr_shed_stats_get(tr_system *sys, tr_pid shedder, tr_shed_stats *out, int timeout_ms);
TR_API int tr_shed_stats_read(tr_msg *m, tr_shed_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_FLOW_H */
