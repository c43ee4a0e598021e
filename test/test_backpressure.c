/* test_backpressure.c — bounded mailboxes under each overflow policy.
 * block: producers flooding one consumer lose nothing, keep their order, are
 * muted, and the depth stays within capacity plus one callback's sends per
 * producer; fail / drop_newest / drop_oldest: accepted + refused (dropped) =
 * sent exactly, and what arrives is the right subset in order; a plain
 * thread's send waits for room, up to its timeout; chains and cycles of full
 * mailboxes finish; a stop and an exit signal get through full mailboxes with
 * muted senders; an ask dropped or refused by a full mailbox fails at once;
 * mailbox statistics are exact; a reply does not open the way past its
 * asker's bound for the mail sent after it. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

#if SANITIZED
#define PER_PRODUCER 100000 /* sanitizers run an order of magnitude slower */
#else
#define PER_PRODUCER 1000000
#endif
enum { PRODUCERS = 8, CAPACITY = 1000, CHUNK = 100 };
enum { MSG_GO = 1, MSG_VALUE, MSG_HOLD, MSG_NEXT, MSG_DONE };

/* ---- block: 8 producers, one consumer ---- */

typedef struct {
    tr_pid consumer;
    int64_t id, next;
} producer_state;

typedef struct {
    int64_t expect[PRODUCERS]; /* next value expected from each producer */
    int64_t received;
    uint32_t max_depth;
} consumer_state;

static atomic_int g_order_errors;
static atomic_llong g_received;
static _Atomic uint32_t g_max_depth;

/* Sends the next CHUNK values (id << 32 | sequence), then asks itself to go
 * on: a muted producer is not run again until the consumer has room. */
static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer_state *p = state;
    tr_system *sys = tr_ctx_system(cx);
    if (tr_msg_type(m) == MSG_GO)
        p->consumer = tr_msg_i64(m);
    for (int i = 0; i < CHUNK && p->next < PER_PRODUCER; i++, p->next++)
        CHECK_EQ(tr_send_i64(sys, p->consumer, MSG_VALUE, p->id << 32 | p->next), 0);
    if (p->next == PER_PRODUCER)
        return tr_exit(cx, 0);
    return tr_send_i64(sys, tr_self(cx), MSG_NEXT, 0);
}

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((producer_state *)state)->id = *(const int64_t *)arg;
    return 0;
}

static int consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    consumer_state *c = state;
    int64_t v = tr_msg_i64(m);
    int64_t id = v >> 32, seq = v & 0xFFFFFFFF;
    if (id < 0 || id >= PRODUCERS || seq != c->expect[id]++)
        atomic_fetch_add(&g_order_errors, 1);
    if (++c->received == (int64_t)PRODUCERS * PER_PRODUCER) {
        tr_mailbox_stats st;
        CHECK_EQ(tr_actor_stats(tr_ctx_system(cx), tr_self(cx), &st), 0);
        atomic_store(&g_max_depth, st.high_water);
        atomic_store(&g_received, c->received);
        return tr_exit(cx, 0);
    }
    return 0;
}

static const tr_actor_spec producer_spec = {.name = "producer",
                                            .state_size = sizeof(producer_state),
                                            .init = producer_init,
                                            .receive = producer_receive};
static const tr_actor_spec block_consumer_spec = {.name = "consumer",
                                                  .state_size = sizeof(consumer_state),
                                                  .receive = consumer_receive,
                                                  .mailbox_capacity = CAPACITY,
                                                  .overflow = TR_OVERFLOW_BLOCK};

static void block_loses_nothing_and_keeps_the_bound(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid consumer = check_spawn(sys, &block_consumer_spec, NULL);
    for (int64_t i = 0; i < PRODUCERS; i++)
        CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &producer_spec, &i), MSG_GO, consumer), 0);
    CHECK_EQ(tr_system_wait(sys, 120000), 0);
    tr_system_stats st;
    CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK_EQ(atomic_load(&g_received), (int64_t)PRODUCERS * PER_PRODUCER);
    CHECK_EQ(atomic_load(&g_order_errors), 0);
    /* the bound: capacity plus one callback's sends per muted producer */
    CHECK(atomic_load(&g_max_depth) <= CAPACITY + PRODUCERS * (CHUNK + 1));
    CHECK(st.muted > 0);
    CHECK_EQ(st.muted_now, 0);
    CHECK_EQ(st.overruns, 0);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- fail, drop_newest, drop_oldest: a held consumer, a plain sender ---- */

enum { SMALL_CAP = 50, SENT = 170 };

static atomic_int g_holding, g_hold;
static int64_t g_arrived[SENT];
static atomic_int g_narrived;

static int held_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)cx;
    (void)state;
    if (tr_msg_type(m) == MSG_HOLD) {
        atomic_store(&g_holding, 1);
        while (atomic_load(&g_hold))
            ;
        return 0;
    }
    if (tr_msg_type(m) == MSG_VALUE)
        g_arrived[atomic_fetch_add(&g_narrived, 1)] = tr_msg_i64(m);
    return check_idle_receive(cx, state, m);
}

/* Makes held spin in a callback (until g_hold is cleared) with nothing
 * queued behind, and clears the arrivals. */
static void hold(tr_system *sys, tr_pid held) {
    atomic_store(&g_hold, 1);
    atomic_store(&g_holding, 0);
    atomic_store(&g_narrived, 0);
    CHECK_EQ(tr_send_i64(sys, held, MSG_HOLD, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_holding), 10000);
}

static void sends_to_a_held_mailbox(tr_overflow policy, int expect_rc, int64_t first_arrival,
                                    int narrivals, uint64_t refused, uint64_t dropped) {
    const tr_actor_spec spec = {
        .name = "held", .receive = held_receive, .mailbox_capacity = SMALL_CAP, .overflow = policy};
    tr_system *sys = check_system(2, 64);
    tr_pid held = check_spawn(sys, &spec, NULL);
    hold(sys, held);
    int ok = 0;
    for (int64_t i = 0; i < SENT; i++) {
        int rc = tr_send_i64(sys, held, MSG_VALUE, i);
        CHECK(rc == 0 || rc == expect_rc);
        ok += rc == 0;
    }
    tr_mailbox_stats st;
    CHECK_EQ(tr_actor_stats(sys, held, &st), 0);
    CHECK_EQ(st.capacity, SMALL_CAP);
    /* the hold message was accepted too */
    /* (nothing taken yet: every drop so far was a new message's) */
    CHECK_EQ(st.accepted + st.refused + st.dropped, SENT + 1);
    CHECK_EQ(st.refused, refused);
    atomic_store(&g_hold, 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_narrived) >= narrivals, 10000);
    CHECK_EQ(tr_send_i64(sys, held, CHECK_MSG_EXIT, 0), 0); /* once there is room */
    CHECK_EQ(tr_system_wait(sys, 10000), 0);
    tr_system_stats ss;
    CHECK_EQ(tr_system_stats_get(sys, &ss), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK_EQ(atomic_load(&g_narrived), narrivals);
    for (int i = 0; i < narrivals; i++)
        CHECK_EQ(g_arrived[i], first_arrival + i);
    CHECK_EQ(ss.rejected, refused);
    CHECK_EQ(ss.dropped, dropped);
    CHECK_EQ(ok, SENT - (int)refused); /* a dropped message is not an error */
}

static void fail_refuses_past_the_bound(void) {
    sends_to_a_held_mailbox(TR_OVERFLOW_FAIL, TR_EFULL, 0, SMALL_CAP, SENT - SMALL_CAP, 0);
}

static void drop_newest_keeps_the_first(void) {
    sends_to_a_held_mailbox(TR_OVERFLOW_DROP_NEWEST, 0, 0, SMALL_CAP, 0, SENT - SMALL_CAP);
}

/* 2 x SMALL_CAP get in (past that the new ones are dropped: the queue never
 * holds more), and of those the oldest SMALL_CAP are dropped as they are
 * taken out: the consumer sees SMALL_CAP .. 2 x SMALL_CAP - 1. */
static void drop_oldest_keeps_the_last(void) {
    sends_to_a_held_mailbox(TR_OVERFLOW_DROP_OLDEST, 0, SMALL_CAP, SMALL_CAP, 0, SENT - SMALL_CAP);
}

/* ---- a plain thread's send waits for room ---- */

static const tr_actor_spec held_block_spec = {.name = "held block",
                                              .receive = held_receive,
                                              .mailbox_capacity = SMALL_CAP,
                                              .overflow = TR_OVERFLOW_BLOCK};

typedef struct {
    tr_system *sys;
    tr_pid to;
    atomic_int rc, done;
} late_send;

static void late_sender(void *arg) {
    late_send *s = arg;
    atomic_store(&s->rc, tr_send_i64(s->sys, s->to, MSG_VALUE, SMALL_CAP - 1));
    atomic_store(&s->done, 1);
}

static void plain_send_waits_for_room(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid held = check_spawn(sys, &held_block_spec, NULL);
    hold(sys, held);
    /* The hold counts until its turn ends (a BLOCK mailbox is accounted per
       turn): SMALL_CAP - 1 more fill it. */
    for (int64_t i = 0; i < SMALL_CAP - 1; i++)
        CHECK_EQ(tr_send_i64(sys, held, MSG_VALUE, i), 0);
    CHECK_EQ(tr_send_timed(sys, held, MSG_VALUE, NULL, 0, 20), TR_ETIMEDOUT);
    late_send s = {.sys = sys, .to = held};
    uv_thread_t t;
    CHECK_EQ(uv_thread_create(&t, late_sender, &s), 0);
    tr_mailbox_stats st;
    CHECK_EQ(tr_actor_stats(sys, held, &st), 0);
    CHECK_EQ(st.depth, SMALL_CAP); /* the timed-out send took no room */
    atomic_store(&g_hold, 0);      /* room: the waiting send goes in */
    uv_thread_join(&t);
    CHECK_EQ(atomic_load(&s.rc), 0);
    CHECK_EQ(tr_send_i64(sys, held, CHECK_MSG_EXIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, 10000), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK_EQ(atomic_load(&g_narrived), SMALL_CAP);
    for (int i = 0; i < SMALL_CAP; i++)
        CHECK_EQ(g_arrived[i], i);
}

/* ---- chains and cycles ---- */

enum { RELAY_CAP = 8, FLOOD = 20000 };

typedef struct {
    tr_pid next; /* where to pass values on (TR_PID_NONE: the end) */
    int64_t seen, fanout;
} relay_state;

static atomic_llong g_relay_seen;

/* Passes each value on `fanout` times (while the value is positive, one
 * less each time), so a cycle of two relays floods itself. */
static int relay_receive(tr_ctx *cx, void *state, tr_msg *m) {
    relay_state *r = state;
    if (tr_msg_type(m) == MSG_GO) {
        r->next = tr_msg_i64(m);
        return 0;
    }
    r->seen++;
    atomic_fetch_add(&g_relay_seen, 1);
    int64_t v = tr_msg_i64(m);
    for (int64_t i = 0; r->next && v > 0 && i < r->fanout; i++)
        tr_send_i64(tr_ctx_system(cx), r->next, MSG_VALUE, v - 1);
    return 0;
}

static int relay_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((relay_state *)state)->fanout = *(const int64_t *)arg;
    return 0;
}

static const tr_actor_spec relay_spec = {.name = "relay",
                                         .state_size = sizeof(relay_state),
                                         .init = relay_init,
                                         .receive = relay_receive,
                                         .mailbox_capacity = RELAY_CAP,
                                         .overflow = TR_OVERFLOW_BLOCK};

/* A source floods a chain of three full relays: everything gets through. */
static int source_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    for (int i = 0; i < FLOOD; i++)
        tr_send_i64(tr_ctx_system(cx), tr_msg_i64(m), MSG_VALUE, 2);
    return tr_exit(cx, 0);
}

static void chains_and_cycles_finish(void) {
    tr_system *sys = check_system(2, 16);
    int64_t one = 1, two = 2;
    tr_pid a = check_spawn(sys, &relay_spec, &one), b = check_spawn(sys, &relay_spec, &one),
           c = check_spawn(sys, &relay_spec, &one);
    CHECK_EQ(tr_send_i64(sys, a, MSG_GO, b), 0);
    CHECK_EQ(tr_send_i64(sys, b, MSG_GO, c), 0);
    static const tr_actor_spec source_spec = {.name = "source", .receive = source_receive};
    CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &source_spec, NULL), MSG_GO, a), 0);
    /* a cycle: x and y send each value back twice, so both fill up */
    tr_pid x = check_spawn(sys, &relay_spec, &two), y = check_spawn(sys, &relay_spec, &two);
    CHECK_EQ(tr_send_i64(sys, x, MSG_GO, y), 0);
    CHECK_EQ(tr_send_i64(sys, y, MSG_GO, x), 0);
    CHECK_EQ(tr_send_i64(sys, x, MSG_VALUE, 12), 0); /* 2^13 - 1 deliveries in all */
    int64_t expect = 3 * FLOOD + (1 << 13) - 1;
    for (int waited = 0; atomic_load(&g_relay_seen) < expect; waited++) {
        CHECK(waited < 60000); /* the watchdog: a minute */
        uv_sleep(1);
    }
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(atomic_load(&g_relay_seen), expect);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- stop and exit signals through full mailboxes ---- */

static void stop_and_kill_get_through(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid held = check_spawn(sys, &held_block_spec, NULL);
    hold(sys, held);
    /* three producers flood it and get muted on it */
    tr_pid producers[3];
    for (int64_t i = 0; i < 3; i++) {
        producers[i] = check_spawn(sys, &producer_spec, &i);
        CHECK_EQ(tr_send_i64(sys, producers[i], MSG_GO, held), 0);
    }
    tr_system_stats st;
    do
        CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    while (st.muted_now < 3);
    /* a muted producer that is killed dies now, not when its receiver drains */
    uint64_t exited = st.exited;
    CHECK_EQ(tr_kill(sys, producers[0]), 0);
    CHECK_WAIT_UNTIL(tr_system_stats_get(sys, &st) == 0 && st.exited == exited + 1, 10000);
    CHECK_EQ(st.muted_now, 2);
    CHECK_EQ(tr_kill(sys, held), 0); /* through the full mailbox */
    atomic_store(&g_hold, 0);
    /* its muted producers run again (their sends are dead letters now) and
       finish; the stop gets through everything else */
    CHECK_EQ(tr_system_stop(sys), 0);
    st = check_finish(sys);
    CHECK_EQ(st.muted_now, 0);
}

/* ---- asks are not lost to full mailboxes ---- */

static tr_pid g_forward_to;

static int forwarder_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_forward(cx, g_forward_to, m), TR_EFULL);
    return 0;
}

static void fill_held(tr_system *sys, tr_pid held) {
    hold(sys, held);
    for (int64_t i = 0; i < SMALL_CAP; i++)
        CHECK_EQ(tr_send_i64(sys, held, MSG_VALUE, i), 0);
}

static void asks_are_not_lost_to_full_mailboxes(void) {
    const tr_actor_spec drop_spec = {.name = "held drop",
                                     .receive = held_receive,
                                     .mailbox_capacity = SMALL_CAP,
                                     .overflow = TR_OVERFLOW_DROP_NEWEST};
    const tr_actor_spec fail_spec = {.name = "held fail",
                                     .receive = held_receive,
                                     .mailbox_capacity = SMALL_CAP,
                                     .overflow = TR_OVERFLOW_FAIL};
    static const tr_actor_spec forwarder_spec = {.name = "forwarder", .receive = forwarder_receive};
    atomic_store(&g_narrived, 0);
    for (int round = 0; round < 2; round++) {
        tr_system *sys = check_system(2, 64);
        tr_pid held = check_spawn(sys, round ? &fail_spec : &drop_spec, NULL);
        fill_held(sys, held);
        int64_t out = 0;
        if (round == 0) { /* dropped: the asker is told at once */
            CHECK_EQ(tr_ask_i64(sys, held, MSG_VALUE, 99, &out, -1), TR_EFULL);
        } else { /* a forward refused: the original asker is told */
            g_forward_to = held;
            tr_pid fwd = check_spawn(sys, &forwarder_spec, NULL);
            CHECK_EQ(tr_ask_i64(sys, fwd, MSG_VALUE, 99, &out, -1), TR_EFULL);
            CHECK_EQ(tr_send_i64(sys, fwd, CHECK_MSG_EXIT, 0), 0);
        }
        atomic_store(&g_hold, 0);
        CHECK_EQ(tr_system_stop(sys), 0);
        check_finish(sys);
    }
}

/* ---- a reply opens a callback's outbox without lifting the bound ---- */

/* A reply is never held to its asker's bound; the ordinary mail the same
 * callback sends after it to that asker still is, message by message. The
 * actor asks itself, so nothing drains its mailbox while it answers. */
enum { MSG_ASK_SELF = MSG_DONE + 1, MSG_REQUEST };
static atomic_int g_reply_sends_ok, g_reply_sends_full, g_replies;

static int self_asker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_system *sys = tr_ctx_system(cx);
    if (tr_msg_is_reply(m)) {
        CHECK_EQ(tr_msg_i64(m), 1);
        atomic_fetch_add(&g_replies, 1);
        return 0;
    }
    if (tr_msg_type(m) == MSG_ASK_SELF) {
        uint32_t ref;
        CHECK_EQ(tr_ask_async(cx, tr_self(cx), tr_msg_new(sys, MSG_REQUEST, 0), 60000, &ref), 0);
        return 0;
    }
    if (tr_msg_type(m) == MSG_REQUEST) {
        CHECK_EQ(tr_reply_i64(cx, m, 1), 0);
        for (int64_t i = 0; i < SENT; i++) {
            int rc = tr_send_i64(sys, tr_self(cx), MSG_VALUE, i);
            CHECK(rc == 0 || rc == TR_EFULL);
            atomic_fetch_add(rc == 0 ? &g_reply_sends_ok : &g_reply_sends_full, 1);
        }
        return 0;
    }
    return held_receive(cx, state, m);
}

static void a_reply_does_not_lift_the_bound(void) {
    const tr_actor_spec spec = {.name = "self asker",
                                .receive = self_asker_receive,
                                .mailbox_capacity = SMALL_CAP,
                                .overflow = TR_OVERFLOW_FAIL};
    tr_system *sys = check_system(2, 64);
    tr_pid asker = check_spawn(sys, &spec, NULL);
    atomic_store(&g_narrived, 0);
    CHECK_EQ(tr_send_i64(sys, asker, MSG_ASK_SELF, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_narrived) >= SMALL_CAP && atomic_load(&g_replies), 10000);
    CHECK_EQ(tr_send_i64(sys, asker, CHECK_MSG_EXIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, 10000), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK_EQ(atomic_load(&g_reply_sends_ok), SMALL_CAP);
    CHECK_EQ(atomic_load(&g_reply_sends_full), SENT - SMALL_CAP);
    CHECK_EQ(atomic_load(&g_narrived), SMALL_CAP);
    CHECK_EQ(atomic_load(&g_replies), 1);
    for (int i = 0; i < SMALL_CAP; i++)
        CHECK_EQ(g_arrived[i], i);
}

int main(void) {
    RUN(block_loses_nothing_and_keeps_the_bound);
    RUN(fail_refuses_past_the_bound);
    RUN(drop_newest_keeps_the_first);
    RUN(drop_oldest_keeps_the_last);
    RUN(plain_send_waits_for_room);
    RUN(chains_and_cycles_finish);
    RUN(stop_and_kill_get_through);
    RUN(asks_are_not_lost_to_full_mailboxes);
    RUN(a_reply_does_not_lift_the_bound);
    return check_summary();
}
