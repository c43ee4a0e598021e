/* test_timers.c — the timers of troupe.h: tr_send_after, tr_send_every,
 * tr_system_send_after, tr_timer_cancel and tr_receive_timeout, and a libuv
 * handle of an actor's own on tr_ctx_loop.
 *
 * Every outcome is exact: counts, orders, dead letters. No case asserts how
 * soon anything happens: waits are watchdogs (CHECK_WAIT_UNTIL), "never
 * early" compares the arrival clock with the due time carried in the
 * payload, and "no more arrive" is shown with a fence, a later timer on the
 * same loop (one loop fires its timers in the order of their due times).
 * Where the case needs an actor to run on a given worker, "holders" keep the
 * other workers inside a callback: mail from a plain thread goes to the
 * global queue, so a free worker is the one to take it. */
#include "check.h"

#include "worker.h" /* TR_ID_WORKER_SHIFT: how a timer's id names its worker */

#include <stdatomic.h>
#include <string.h>

#define MS 1000000ull /* nanoseconds */

enum {
    MSG_START = 1,
    MSG_STAMP,
    MSG_X,
    MSG_Y,
    MSG_TICK,
    MSG_FENCE,
    MSG_PING,
    MSG_CANCEL,
    MSG_MOVE,
    MSG_RESET,
    MSG_BALL,
    MSG_HOLD,
    MSG_CLOSE,
};

/* A timer's payload: when it is due (uv_hrtime, CLOCK_MONOTONIC) and which. */
typedef struct stamp {
    uint64_t due_ns;
    int64_t index;
} stamp;

static stamp stamp_in(uint32_t delay_ms, int64_t index) {
    stamp s = {uv_hrtime() + delay_ms * MS, index};
    return s;
}

static stamp stamp_of(tr_msg *m) {
    stamp s;
    CHECK_EQ(tr_msg_size(m), sizeof s);
    memcpy(&s, tr_msg_data(m), sizeof s);
    return s;
}

/* Fails the test if a message due at due_ns has come before it. */
#define CHECK_NOT_EARLY(due_ns)                                                                    \
    do {                                                                                           \
        uint64_t due_ = (due_ns), now_ = uv_hrtime();                                              \
        if (now_ < due_) {                                                                         \
            fprintf(stderr, "%s:%d: a timer came %.3f ms early\n", __FILE__, __LINE__,             \
                    (double)(due_ - now_) / 1e6);                                                  \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* check_finish, with a watchdog on the wait: a system that does not stop by
 * itself within 30 s fails the test instead of hanging it. */
static tr_system_stats finish(tr_system *sys) {
    CHECK_EQ(tr_system_wait(sys, 30000), 0);
    return check_finish(sys);
}

static tr_system_stats stats_now(tr_system *sys) {
    tr_system_stats st;
    CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    return st;
}

/* ---- holders: keep a worker inside a callback until released ---- */

#define HOLDERS 2
static atomic_int g_hold_state[HOLDERS]; /* 0 not yet, 1 holding, 2 let go */
static atomic_int g_hold_release[HOLDERS];
static struct uv_loop_s *_Atomic g_hold_loop[HOLDERS];

static int holder_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_type(m), MSG_HOLD);
    int k = (int)tr_msg_i64(m);
    atomic_store(&g_hold_loop[k], tr_ctx_loop(cx));
    atomic_store(&g_hold_state[k], 1);
    while (!atomic_load(&g_hold_release[k]))
        uv_sleep(1);
    atomic_store(&g_hold_state[k], 2);
    return tr_exit(cx, 0);
}

static const tr_actor_spec holder_spec = {.name = "holder", .receive = holder_receive};

static void holders_reset(void) {
    for (int k = 0; k < HOLDERS; k++) {
        atomic_store(&g_hold_state[k], 0);
        atomic_store(&g_hold_release[k], 0);
        atomic_store(&g_hold_loop[k], NULL);
    }
}

/* Has holder k (a fresh actor) take a worker and keep it; returns its loop. */
static struct uv_loop_s *hold(tr_system *sys, int k) {
    tr_pid h = check_spawn(sys, &holder_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, h, MSG_HOLD, k), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_hold_state[k]) == 1, 10000);
    return atomic_load(&g_hold_loop[k]);
}

static void let_go(int k) {
    atomic_store(&g_hold_release[k], 1);
    CHECK_WAIT_UNTIL(atomic_load(&g_hold_state[k]) == 2, 10000);
}

/* ---- 10,000 timers from several actors on 2 workers ---- */

#define MANY 10000
#define MANY_ACTORS 8
#define MANY_EACH (MANY / MANY_ACTORS)

static tr_pid g_many[MANY_ACTORS];
static atomic_uchar g_many_seen[MANY];
static atomic_int g_many_arrived;

static int many_receive(tr_ctx *cx, void *state, tr_msg *m) {
    uint64_t *rng = state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        int64_t k = tr_msg_i64(m);
        *rng = 0x9E3779B97F4A7C15ull * (uint64_t)(k + 1);
        for (int64_t j = 0; j < MANY_EACH; j++) {
            uint32_t delay = 1 + (uint32_t)(check_rand(rng) % 200);
            tr_pid to = g_many[check_rand(rng) % MANY_ACTORS];
            stamp s = stamp_in(delay, k * MANY_EACH + j);
            CHECK_EQ(tr_send_after(cx, delay, to, MSG_STAMP, &s, sizeof s, NULL), 0);
        }
        return 0;
    }
    case MSG_STAMP: {
        stamp s = stamp_of(m);
        CHECK_NOT_EARLY(s.due_ns);
        CHECK(s.index >= 0 && s.index < MANY);
        CHECK_EQ(tr_msg_sender(m), g_many[s.index / MANY_EACH]);
        CHECK_EQ(atomic_fetch_add(&g_many_seen[s.index], 1), 0); /* exactly once */
        atomic_fetch_add(&g_many_arrived, 1);
        return 0;
    }
    case CHECK_MSG_EXIT: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec many_spec = {
    .name = "many", .state_size = sizeof(uint64_t), .receive = many_receive};

static void many_timers_fire_once_never_early(void) {
    memset(g_many_seen, 0, sizeof g_many_seen);
    atomic_store(&g_many_arrived, 0);
    tr_system *sys = check_system(2, 64);
    for (int k = 0; k < MANY_ACTORS; k++)
        g_many[k] = check_spawn(sys, &many_spec, NULL);
    for (int k = 0; k < MANY_ACTORS; k++)
        CHECK_EQ(tr_send_i64(sys, g_many[k], MSG_START, k), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_many_arrived) == MANY, 60000);
    for (int k = 0; k < MANY_ACTORS; k++)
        CHECK_EQ(tr_send_i64(sys, g_many[k], CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(atomic_load(&g_many_arrived), MANY);
    for (int i = 0; i < MANY; i++)
        CHECK_EQ(atomic_load(&g_many_seen[i]), 1);
}

/* ---- cancel ---- */

#define CANCEL_N 100

typedef struct canceller {
    tr_timer ids[CANCEL_N];
    unsigned char arrived[CANCEL_N];
    int count;
} canceller;

/* 100 timers of 0..49 ms on the actor's own worker; the odd ones cancelled at
 * once (twice: the second is harmless); a fence at 100 ms, after them all. */
static int canceller_receive(tr_ctx *cx, void *state, tr_msg *m) {
    canceller *c = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_START:
        for (int64_t i = 0; i < CANCEL_N; i++) {
            CHECK_EQ(
                tr_send_after(cx, (uint32_t)(i % 50), tr_self(cx), MSG_X, &i, sizeof i, &c->ids[i]),
                0);
            CHECK(c->ids[i] != 0);
            for (int64_t j = 0; j < i; j++)
                CHECK(c->ids[j] != c->ids[i]);
        }
        for (int i = 1; i < CANCEL_N; i += 2) {
            CHECK_EQ(tr_timer_cancel(sys, c->ids[i]), 0);
            CHECK_EQ(tr_timer_cancel(sys, c->ids[i]), 0);
        }
        return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_X: {
        int64_t i = tr_msg_i64(m);
        CHECK(i >= 0 && i < CANCEL_N);
        CHECK_EQ(i % 2, 0);
        CHECK(!c->arrived[i]);
        c->arrived[i] = 1;
        c->count++;
        return 0;
    }
    case MSG_FENCE:
        CHECK_EQ(c->count, CANCEL_N / 2);
        for (int i = 0; i < CANCEL_N; i++) /* fired or cancelled: harmless */
            CHECK_EQ(tr_timer_cancel(sys, c->ids[i]), 0);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec canceller_spec = {
    .name = "canceller", .state_size = sizeof(canceller), .receive = canceller_receive};

static void cancel_before_firing(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid c = check_spawn(sys, &canceller_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, c, MSG_START, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

/* A timer that has fired, cancelled by its actor, by a plain thread, again. */
static _Atomic tr_timer g_fired_id;
static atomic_int g_fired_count;

static int fired_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_timer *id = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_START: return tr_send_after(cx, 1, tr_self(cx), MSG_X, NULL, 0, id);
    case MSG_X:
        atomic_fetch_add(&g_fired_count, 1);
        CHECK_EQ(tr_timer_cancel(sys, *id), 0);
        CHECK_EQ(tr_timer_cancel(sys, *id), 0);
        atomic_store(&g_fired_id, *id);
        return 0;
    case CHECK_MSG_EXIT: CHECK_EQ(tr_timer_cancel(sys, *id), 0); return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec fired_spec = {
    .name = "fired", .state_size = sizeof(tr_timer), .receive = fired_receive};

static void cancel_after_firing_is_harmless(void) {
    atomic_store(&g_fired_id, 0);
    atomic_store(&g_fired_count, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn(sys, &fired_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, a, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_fired_id) != 0, 10000);
    CHECK_EQ(tr_timer_cancel(sys, atomic_load(&g_fired_id)), 0); /* a plain thread's */
    CHECK_EQ(tr_timer_cancel(sys, atomic_load(&g_fired_id)), 0);
    CHECK_EQ(tr_send_i64(sys, a, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(atomic_load(&g_fired_count), 1);
}

/* Cancelled from elsewhere: the owner sets X at 200 ms and a fence at 400 ms
 * on its loop, publishes X's id and keeps its worker (it waits inside the
 * callback) until the cancel has been made — by an actor, which must then run
 * on the other worker, or by a plain thread. X must never arrive. */
static _Atomic tr_timer g_other_id;
static atomic_int g_other_cancelled, g_other_x, g_other_done;
static struct uv_loop_s *_Atomic g_other_loop;

static int owner_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        tr_timer id = 0;
        CHECK_EQ(tr_send_after(cx, 200, tr_self(cx), MSG_X, NULL, 0, &id), 0);
        CHECK_EQ(tr_send_after(cx, 400, tr_self(cx), MSG_FENCE, NULL, 0, NULL), 0);
        atomic_store(&g_other_loop, tr_ctx_loop(cx));
        atomic_store(&g_other_id, id);
        while (!atomic_load(&g_other_cancelled))
            uv_sleep(1);
        return 0;
    }
    case MSG_X: atomic_fetch_add(&g_other_x, 1); return 0;
    case MSG_FENCE:
        CHECK_EQ(atomic_load(&g_other_x), 0);
        atomic_store(&g_other_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static int remote_canceller_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_type(m), MSG_CANCEL);
    CHECK(tr_ctx_loop(cx) != atomic_load(&g_other_loop)); /* the owner keeps its worker */
    tr_timer id = (tr_timer)tr_msg_i64(m);
    CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), id), 0);
    CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), id), 0);
    atomic_store(&g_other_cancelled, 1);
    return tr_exit(cx, 0);
}

static const tr_actor_spec owner_spec = {.name = "owner", .receive = owner_receive};
static const tr_actor_spec remote_canceller_spec = {.name = "remote canceller",
                                                    .receive = remote_canceller_receive};

static void cancel_from_elsewhere(int by_actor) {
    atomic_store(&g_other_id, 0);
    atomic_store(&g_other_cancelled, 0);
    atomic_store(&g_other_x, 0);
    atomic_store(&g_other_done, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid owner = check_spawn(sys, &owner_spec, NULL);
    tr_pid rc = by_actor ? check_spawn(sys, &remote_canceller_spec, NULL) : 0;
    CHECK_EQ(tr_send_i64(sys, owner, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_other_id) != 0, 10000);
    tr_timer id = atomic_load(&g_other_id);
    if (by_actor) {
        CHECK_EQ(tr_send_i64(sys, rc, MSG_CANCEL, (int64_t)id), 0);
    } else {
        CHECK_EQ(tr_timer_cancel(sys, id), 0);
        CHECK_EQ(tr_timer_cancel(sys, id), 0);
        atomic_store(&g_other_cancelled, 1);
    }
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_other_done), 1);
    CHECK_EQ(atomic_load(&g_other_x), 0);
    CHECK_EQ(st.dead_letters, 0);
}

static void cancel_from_another_worker(void) {
    cancel_from_elsewhere(1);
}

static void cancel_from_a_plain_thread(void) {
    cancel_from_elsewhere(0);
}

/* A plain thread starts a timer (by a command to the worker) and an actor on
 * that worker cancels it before the worker has run the command: the cancel
 * must still win. One worker; the actor waits inside its callback for the
 * timer's id, so the worker cannot run its commands in between. */
static _Atomic tr_timer g_race_id;
static atomic_int g_race_waiting, g_race_x, g_race_done;

static int racer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        atomic_store(&g_race_waiting, 1);
        tr_timer id;
        while (!(id = atomic_load(&g_race_id)))
            uv_sleep(1);
        CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), id), 0);
        return tr_send_after(cx, 200, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    }
    case MSG_X: atomic_fetch_add(&g_race_x, 1); return 0;
    case MSG_FENCE:
        CHECK_EQ(atomic_load(&g_race_x), 0);
        atomic_store(&g_race_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec racer_spec = {.name = "racer", .receive = racer_receive};

static void cancel_on_the_worker_before_its_start(void) {
    atomic_store(&g_race_id, 0);
    atomic_store(&g_race_waiting, 0);
    atomic_store(&g_race_x, 0);
    atomic_store(&g_race_done, 0);
    tr_system *sys = check_system(1, 64);
    tr_pid r = check_spawn(sys, &racer_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, r, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_race_waiting), 10000);
    tr_timer id = 0;
    CHECK_EQ(tr_system_send_after(sys, 30, 0, r, MSG_X, NULL, 0, &id), 0);
    CHECK(id != 0);
    atomic_store(&g_race_id, id);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_race_done), 1);
    CHECK_EQ(atomic_load(&g_race_x), 0);
    CHECK_EQ(st.dead_letters, 0);
}

static void cancel_refuses_what_names_no_timer(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid keep = check_spawn_idle(sys);
    tr_timer id = 0;
    CHECK_EQ(tr_system_send_after(sys, 3600 * 1000, 0, keep, MSG_X, NULL, 0, &id), 0);
    CHECK(id != 0);
    const uint64_t seq = (1ull << TR_ID_WORKER_SHIFT) - 1; /* the bits below the worker's */
    CHECK_EQ(tr_timer_cancel(NULL, id), TR_EINVAL);
    CHECK_EQ(tr_timer_cancel(sys, 0), TR_EINVAL);
    CHECK_EQ(tr_timer_cancel(sys, 12345), TR_EINVAL); /* no worker */
    CHECK_EQ(tr_timer_cancel(sys, ~0ull), TR_EINVAL);
    CHECK_EQ(tr_timer_cancel(sys, (3ull << TR_ID_WORKER_SHIFT) | 1), TR_EINVAL); /* of 2 */
    CHECK_EQ(tr_timer_cancel(sys, id & ~seq), TR_EINVAL); /* its worker, no sequence */
    CHECK_EQ(tr_timer_cancel(sys, id | seq), TR_EINVAL);  /* sequence numbers not issued yet */
    CHECK_EQ(tr_timer_cancel(sys, id + 1000), TR_EINVAL);
    CHECK_EQ(tr_timer_cancel(sys, id), 0);
    CHECK_EQ(tr_timer_cancel(sys, id), 0);
    CHECK_EQ(tr_send_i64(sys, keep, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- periodic timers ---- */

#define PERIOD 10
#define TICKS 5
#define PAYLOAD 100

typedef struct ticker {
    uint64_t t0;
    tr_timer id;
    int ticks;
    int cancelled;
} ticker;

static atomic_int g_ticks_done;

/* Counts TICKS firings of a periodic timer (payload intact, from itself,
 * tick k no earlier than t0 + k periods), cancels it in the last one's
 * receive and fences: one worker, so no firing can wait in the mailbox. */
static int ticker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ticker *t = state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        unsigned char data[PAYLOAD];
        check_pattern_fill(data, sizeof data, 7);
        t->t0 = uv_hrtime();
        CHECK_EQ(tr_send_every(cx, 0, tr_self(cx), MSG_TICK, data, sizeof data, &t->id), TR_EINVAL);
        CHECK_EQ(tr_send_every(cx, PERIOD, tr_self(cx), MSG_TICK, data, sizeof data, &t->id), 0);
        return 0;
    }
    case MSG_TICK:
        CHECK(!t->cancelled);
        t->ticks++;
        CHECK_EQ(tr_msg_sender(m), tr_self(cx));
        CHECK_EQ(tr_msg_size(m), PAYLOAD);
        CHECK(check_pattern_ok(tr_msg_data(m), PAYLOAD, 7));
        CHECK_NOT_EARLY(t->t0 + (uint64_t)t->ticks * PERIOD * MS);
        if (t->ticks < TICKS)
            return 0;
        CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), t->id), 0);
        t->cancelled = 1;
        return tr_send_after(cx, 5 * PERIOD, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE:
        CHECK_EQ(t->ticks, TICKS);
        CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), t->id), 0);
        atomic_store(&g_ticks_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec ticker_spec = {
    .name = "ticker", .state_size = sizeof(ticker), .receive = ticker_receive};

static void periodic_counts_then_cancels(void) {
    atomic_store(&g_ticks_done, 0);
    tr_system *sys = check_system(1, 64);
    tr_pid t = check_spawn(sys, &ticker_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, t, MSG_START, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_ticks_done), 1);
    CHECK_EQ(st.dead_letters, 0);
}

/* The same on 2 workers, where the actor may run on another worker than its
 * timer's and a firing sent before the cancel took effect may still come:
 * after a first fence well past the cancel, a second one sees no more. */
typedef struct ticker2 {
    tr_timer id;
    int ticks, at_fence;
} ticker2;

static atomic_int g_ticks2_done;

static int ticker2_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ticker2 *t = state;
    switch (tr_msg_type(m)) {
    case MSG_START: return tr_send_every(cx, 2, tr_self(cx), MSG_TICK, NULL, 0, &t->id);
    case MSG_TICK:
        if (++t->ticks == 20) {
            CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), t->id), 0);
            return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
        }
        CHECK_EQ(t->at_fence, 0); /* none after the first fence */
        return 0;
    case MSG_FENCE:
        if (t->at_fence == 0) {
            CHECK(t->ticks >= 20);
            t->at_fence = t->ticks;
            return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
        }
        CHECK_EQ(t->ticks, t->at_fence);
        atomic_fetch_add(&g_ticks2_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec ticker2_spec = {
    .name = "ticker2", .state_size = sizeof(ticker2), .receive = ticker2_receive};

static void periodic_cancel_on_two_workers(void) {
    atomic_store(&g_ticks2_done, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid t[8];
    for (int i = 0; i < 8; i++)
        t[i] = check_spawn(sys, &ticker2_spec, NULL);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(tr_send_i64(sys, t[i], MSG_START, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_ticks2_done), 8);
    CHECK_EQ(st.dead_letters, 0);
}

/* A periodic timer to an actor that exits on its first tick: the next firing
 * finds it gone, is one dead letter, and ends the timer (a fence of 5
 * periods, set when the DOWN came, would otherwise see 4 more). One worker:
 * the firing cannot queue behind the first tick. */
typedef struct sender {
    tr_pid target;
    tr_timer id;
    uint32_t ref;
} sender;

static atomic_int g_target_ticks, g_sender_done;

static int target_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_type(m), MSG_TICK);
    atomic_fetch_add(&g_target_ticks, 1);
    return tr_exit(cx, 0);
}

static const tr_actor_spec target_spec = {.name = "target", .receive = target_receive};

static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender *s = state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        s->target = tr_spawn_monitor(cx, &target_spec, NULL, &s->ref);
        CHECK(s->target > 0);
        return tr_send_every(cx, PERIOD, s->target, MSG_TICK, NULL, 0, &s->id);
    case TR_MSG_DOWN:
        CHECK_EQ(tr_msg_ref(m), s->ref);
        CHECK_EQ(tr_msg_exit_reason(m), 0);
        return tr_send_after(cx, 5 * PERIOD, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE:
        CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), s->id), 0); /* ended: harmless */
        atomic_store(&g_sender_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec sender_spec = {
    .name = "sender", .state_size = sizeof(sender), .receive = sender_receive};

static void periodic_to_an_actor_that_exits(void) {
    atomic_store(&g_target_ticks, 0);
    atomic_store(&g_sender_done, 0);
    tr_system *sys = check_system(1, 64);
    tr_pid s = check_spawn(sys, &sender_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, s, MSG_START, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_sender_done), 1);
    CHECK_EQ(atomic_load(&g_target_ticks), 1);
    CHECK_EQ(st.dead_letters, 1);
}

/* ---- a timer to an actor that has exited ---- */

static int mourner_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender *s = state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        s->target = tr_spawn_monitor(cx, check_idle_spec(), NULL, &s->ref);
        CHECK(s->target > 0);
        return tr_send_i64(tr_ctx_system(cx), s->target, CHECK_MSG_EXIT, 0);
    case TR_MSG_DOWN: /* it has exited: the timer is accepted, and fires into nothing */
        CHECK_EQ(tr_send_after(cx, 5, s->target, MSG_X, NULL, 0, &s->id), 0);
        return tr_send_after(cx, 50, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec mourner_spec = {
    .name = "mourner", .state_size = sizeof(sender), .receive = mourner_receive};

static void timer_to_an_exited_actor_is_a_dead_letter(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid keep = check_spawn_idle(sys);
    tr_pid mourner = check_spawn(sys, &mourner_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, mourner, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(stats_now(sys).dead_letters == 1, 10000);
    /* from a plain thread too */
    tr_pid gone = check_spawn_idle(sys);
    CHECK_EQ(tr_send_i64(sys, gone, CHECK_MSG_EXIT, 0), 0);
    tr_mailbox_stats ms;
    CHECK_WAIT_UNTIL(tr_actor_stats(sys, gone, &ms) == TR_ENOACTOR, 10000);
    CHECK_EQ(tr_system_send_after(sys, 5, 0, gone, MSG_X, NULL, 0, NULL), 0);
    CHECK_WAIT_UNTIL(stats_now(sys).dead_letters == 2, 10000);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 2);
    (void)keep;
}

/* ---- tr_system_send_after ---- */

#define PLAIN_N 200

static atomic_uchar g_plain_seen[PLAIN_N];
static atomic_int g_plain_arrived, g_plain_ticks, g_plain_fenced, g_plain_late;
static _Atomic uint64_t g_plain_t0;

static int plain_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_sender(m), TR_PID_NONE);
    switch (tr_msg_type(m)) {
    case MSG_STAMP: {
        stamp s = stamp_of(m);
        CHECK_NOT_EARLY(s.due_ns);
        CHECK(s.index >= 0 && s.index < PLAIN_N);
        CHECK_EQ(atomic_fetch_add(&g_plain_seen[s.index], 1), 0);
        atomic_fetch_add(&g_plain_arrived, 1);
        return 0;
    }
    case MSG_TICK: {
        int k = atomic_fetch_add(&g_plain_ticks, 1) + 1;
        /* the first at once, then one a period: tick k after (k - 1) periods */
        CHECK_NOT_EARLY(atomic_load(&g_plain_t0) + (uint64_t)(k - 1) * PERIOD * MS);
        if (atomic_load(&g_plain_fenced))
            atomic_fetch_add(&g_plain_late, 1);
        return 0;
    }
    case MSG_FENCE: atomic_store(&g_plain_fenced, 1); return 0;
    case MSG_START: { /* called by an actor, the message still comes from no actor */
        stamp s = stamp_in(3, 0);
        return tr_system_send_after(tr_ctx_system(cx), 3, 0, tr_self(cx), MSG_STAMP, &s, sizeof s,
                                    NULL);
    }
    case CHECK_MSG_EXIT: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec plain_spec = {.name = "plain", .receive = plain_receive};

static void plain_reset(void) {
    memset(g_plain_seen, 0, sizeof g_plain_seen);
    atomic_store(&g_plain_arrived, 0);
    atomic_store(&g_plain_ticks, 0);
    atomic_store(&g_plain_fenced, 0);
    atomic_store(&g_plain_late, 0);
}

static void system_send_after_one_shot(void) {
    plain_reset();
    tr_system *sys = check_system(2, 64);
    tr_pid p = check_spawn(sys, &plain_spec, NULL);
    uint64_t rng = 12345;
    for (int64_t i = 1; i < PLAIN_N; i++) {
        uint32_t delay = (uint32_t)(check_rand(&rng) % 60);
        stamp s = stamp_in(delay, i);
        CHECK_EQ(tr_system_send_after(sys, delay, 0, p, MSG_STAMP, &s, sizeof s, NULL), 0);
    }
    CHECK_EQ(tr_send_i64(sys, p, MSG_START, 0), 0); /* index 0, from the actor */
    CHECK_WAIT_UNTIL(atomic_load(&g_plain_arrived) == PLAIN_N, 10000);
    /* misuse */
    char byte = 0;
    CHECK_EQ(tr_system_send_after(NULL, 1, 0, p, MSG_X, NULL, 0, NULL), TR_EINVAL);
    CHECK_EQ(tr_system_send_after(sys, 1, 0, p, TR_MSG_TIMEOUT, NULL, 0, NULL), TR_EINVAL);
    CHECK_EQ(tr_system_send_after(sys, 1, 0, p, MSG_X, NULL, 1, NULL), TR_EINVAL);
    CHECK_EQ(tr_system_send_after(sys, 1, 0, p, MSG_X, &byte, (size_t)64 * 1024 * 1024 + 1, NULL),
             TR_ETOOBIG);
    CHECK_EQ(tr_send_i64(sys, p, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(atomic_load(&g_plain_arrived), PLAIN_N);
}

/* A periodic timer from a plain thread (first at once, then every period),
 * cancelled by that thread, then a fence from it: one worker, so the cancel
 * and the fence's start reach it in that order, and every firing sent before
 * the cancel is in the mailbox before the fence is even started. */
static void system_send_after_periodic_and_cancel(void) {
    plain_reset();
    tr_system *sys = check_system(1, 64);
    tr_pid p = check_spawn(sys, &plain_spec, NULL);
    tr_timer id = 0;
    atomic_store(&g_plain_t0, uv_hrtime());
    CHECK_EQ(tr_system_send_after(sys, 0, PERIOD, p, MSG_TICK, NULL, 0, &id), 0);
    CHECK(id != 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_plain_ticks) >= 3, 10000);
    CHECK_EQ(tr_timer_cancel(sys, id), 0);
    CHECK_EQ(tr_system_send_after(sys, 5 * PERIOD, 0, p, MSG_FENCE, NULL, 0, NULL), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_plain_fenced), 10000);
    int ticks = atomic_load(&g_plain_ticks);
    CHECK_EQ(tr_timer_cancel(sys, id), 0);
    /* one more fence: still nothing */
    atomic_store(&g_plain_fenced, 0);
    CHECK_EQ(tr_system_send_after(sys, 5 * PERIOD, 0, p, MSG_FENCE, NULL, 0, NULL), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_plain_fenced), 10000);
    CHECK_EQ(tr_send_i64(sys, p, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(atomic_load(&g_plain_ticks), ticks);
    CHECK_EQ(atomic_load(&g_plain_late), 0);
}

/* ---- receive timeouts ---- */

typedef struct waiter {
    uint64_t last_ns; /* when the last message was received */
    uint64_t max_gap; /* the longest silence between two messages of the stream */
    uint32_t ms;      /* the timeout set */
    int timeouts, pings, streaming, timeouts_in_stream, driven;
    uint64_t reset_ns; /* when the setting was last changed */
} waiter;

/* What every waiter checks of a TR_MSG_TIMEOUT: its form, and that ms have
 * passed without a message (since the last message, or the setting). */
static void check_timeout(tr_ctx *cx, waiter *w, tr_msg *m) {
    CHECK_EQ(tr_msg_type(m), TR_MSG_TIMEOUT);
    CHECK_EQ(tr_msg_sender(m), tr_self(cx));
    CHECK_EQ(tr_msg_size(m), 0);
    CHECK(!tr_msg_is_reply(m));
    uint64_t since = w->last_ns > w->reset_ns ? w->last_ns : w->reset_ns;
    CHECK_NOT_EARLY(since + w->ms * MS);
    w->timeouts++;
}

static void note_message(waiter *w) {
    uint64_t now = uv_hrtime();
    if (w->streaming && w->last_ns && now - w->last_ns > w->max_gap)
        w->max_gap = now - w->last_ns;
    w->last_ns = now;
}

static void set_timeout(tr_ctx *cx, waiter *w, uint32_t ms) {
    w->ms = ms;
    w->reset_ns = uv_hrtime();
    CHECK_EQ(tr_receive_timeout(cx, ms), 0);
}

enum { W_SILENT, W_OFF, W_RESET, W_STREAM, W_STREAM_PINGER, W_INIT, W_QUIT, WAITERS };
static const char *const g_waiter_names[WAITERS] = {"silent",          "off",  "reset", "stream",
                                                    "stream (pinger)", "init", "quit"};
static atomic_int g_waiter_done[WAITERS];

static int waiter_done(tr_ctx *cx, int which) {
    CHECK_EQ(atomic_fetch_add(&g_waiter_done[which], 1), 0);
    return tr_exit(cx, 0);
}

/* Silence: three timeouts, each after ms of silence; then 0 turns it off and
 * a fence sees no more. */
static int silent_receive(tr_ctx *cx, void *state, tr_msg *m) {
    waiter *w = state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        note_message(w);
        set_timeout(cx, w, 20);
        return 0;
    case TR_MSG_TIMEOUT:
        check_timeout(cx, w, m);
        note_message(w);
        if (w->timeouts < 3)
            return 0;
        set_timeout(cx, w, 0);
        return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE: CHECK_EQ(w->timeouts, 3); return waiter_done(cx, W_SILENT);
    }
    return TR_EUNHANDLED;
}

/* Off at once: set and cleared in one callback, then a fence past it. */
static int off_receive(tr_ctx *cx, void *state, tr_msg *m) {
    waiter *w = state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        set_timeout(cx, w, 10);
        set_timeout(cx, w, 0);
        return tr_send_after(cx, 60, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case TR_MSG_TIMEOUT: check_timeout(cx, w, m); return 0;
    case MSG_FENCE: CHECK_EQ(w->timeouts, 0); return waiter_done(cx, W_OFF);
    }
    return TR_EUNHANDLED;
}

/* Set again: 300 ms at the start, 20 ms at 30 ms. The one timeout comes 20
 * ms after the change, not 300 ms after the start; the first setting's timer,
 * stale, is dropped unseen (the fence comes after it would have fired). */
static int reset_receive(tr_ctx *cx, void *state, tr_msg *m) {
    waiter *w = state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        note_message(w);
        set_timeout(cx, w, 300);
        return tr_send_after(cx, 30, tr_self(cx), MSG_RESET, NULL, 0, NULL);
    case MSG_RESET:
        CHECK_EQ(w->timeouts, 0);
        note_message(w);
        set_timeout(cx, w, 20);
        return tr_send_after(cx, 400, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case TR_MSG_TIMEOUT:
        check_timeout(cx, w, m);
        note_message(w);
        CHECK_EQ(w->ms, 20);
        CHECK_EQ(w->timeouts, 1);
        set_timeout(cx, w, 3600 * 1000); /* a new setting: no more within the test */
        return 0;
    case MSG_FENCE: CHECK_EQ(w->timeouts, 1); return waiter_done(cx, W_RESET);
    }
    return TR_EUNHANDLED;
}

/* A stream more frequent than the timeout: 60 pings 2 ms apart against 100
 * ms. No timeout while it flows (unless the stream itself stalled for 100 ms:
 * then one is due, and allowed), then one after it stops. Pings come from
 * the actor's own timers (arg 0) or from a pinger actor (arg: its pid). */
#define STREAM 60

static int stream_receive(tr_ctx *cx, void *state, tr_msg *m) {
    waiter *w = state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        note_message(w);
        w->streaming = 1;
        set_timeout(cx, w, 100);
        tr_pid pinger = (tr_pid)tr_msg_i64(m);
        w->driven = pinger != 0;
        if (pinger)
            return tr_send_i64(tr_ctx_system(cx), pinger, MSG_START, tr_self(cx));
        return tr_send_after(cx, 2, tr_self(cx), MSG_PING, NULL, 0, NULL);
    }
    case MSG_PING:
        note_message(w);
        if (++w->pings == STREAM) {
            w->streaming = 0;
            CHECK(w->timeouts_in_stream == 0 || w->max_gap >= w->ms * MS);
            return 0;
        }
        if (tr_msg_sender(m) == tr_self(cx))
            return tr_send_after(cx, 2, tr_self(cx), MSG_PING, NULL, 0, NULL);
        return 0;
    case TR_MSG_TIMEOUT:
        check_timeout(cx, w, m);
        note_message(w);
        if (w->streaming) {
            w->timeouts_in_stream++;
            return 0;
        }
        CHECK_EQ(w->pings, STREAM);
        return waiter_done(cx, w->driven ? W_STREAM_PINGER : W_STREAM);
    }
    return TR_EUNHANDLED;
}

typedef struct pinger_state {
    tr_pid to;
    int sent;
} pinger_state;

static int pinger_receive(tr_ctx *cx, void *state, tr_msg *m) {
    pinger_state *p = state;
    switch (tr_msg_type(m)) {
    case MSG_START: p->to = (tr_pid)tr_msg_i64(m); break;
    case MSG_TICK: break;
    default: return TR_EUNHANDLED;
    }
    CHECK_EQ(tr_send_i64(tr_ctx_system(cx), p->to, MSG_PING, 0), 0);
    if (++p->sent == STREAM)
        return tr_exit(cx, 0);
    return tr_send_after(cx, 2, tr_self(cx), MSG_TICK, NULL, 0, NULL);
}

/* Set in an init that a plain thread runs (the timer is started by a
 * command): one timeout, then off. */
static int init_waiter_init(tr_ctx *cx, void *state, const void *arg) {
    (void)arg;
    waiter *w = state;
    note_message(w);
    w->ms = 15;
    w->reset_ns = uv_hrtime();
    CHECK(tr_ctx_loop(cx) == NULL);
    return tr_receive_timeout(cx, 15);
}

static int init_waiter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    waiter *w = state;
    switch (tr_msg_type(m)) {
    case TR_MSG_TIMEOUT:
        check_timeout(cx, w, m);
        CHECK_EQ(w->timeouts, 1);
        set_timeout(cx, w, 0);
        return tr_send_after(cx, 50, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE: CHECK_EQ(w->timeouts, 1); return waiter_done(cx, W_INIT);
    }
    return TR_EUNHANDLED;
}

/* Exits with a receive timeout set: the timeout's message, when it fires into
 * nothing, is no dead letter (the test's count is 0). */
static int quitter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_type(m), MSG_START);
    CHECK_EQ(tr_receive_timeout(cx, 5), 0);
    return waiter_done(cx, W_QUIT);
}

static const tr_actor_spec quitter_spec = {.name = "quitter", .receive = quitter_receive};

static const tr_actor_spec silent_spec = {
    .name = "silent", .state_size = sizeof(waiter), .receive = silent_receive};
static const tr_actor_spec off_spec = {
    .name = "off", .state_size = sizeof(waiter), .receive = off_receive};
static const tr_actor_spec reset_spec = {
    .name = "reset", .state_size = sizeof(waiter), .receive = reset_receive};
static const tr_actor_spec stream_spec = {
    .name = "stream", .state_size = sizeof(waiter), .receive = stream_receive};
static const tr_actor_spec pinger_spec = {
    .name = "pinger", .state_size = sizeof(pinger_state), .receive = pinger_receive};
static const tr_actor_spec init_waiter_spec = {.name = "init waiter",
                                               .state_size = sizeof(waiter),
                                               .init = init_waiter_init,
                                               .receive = init_waiter_receive};

static void receive_timeout_cases(void) {
    for (int i = 0; i < WAITERS; i++)
        atomic_store(&g_waiter_done[i], 0);
    tr_system *sys = check_system(2, 64);
    CHECK_EQ(tr_receive_timeout(NULL, 10), TR_ENOTACTOR);
    tr_pid w[5];
    w[0] = check_spawn(sys, &silent_spec, NULL);
    w[1] = check_spawn(sys, &off_spec, NULL);
    w[2] = check_spawn(sys, &reset_spec, NULL);
    w[3] = check_spawn(sys, &stream_spec, NULL);
    w[4] = check_spawn(sys, &stream_spec, NULL);
    tr_pid pinger = check_spawn(sys, &pinger_spec, NULL);
    check_spawn(sys, &init_waiter_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &quitter_spec, NULL), MSG_START, 0), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(tr_send_i64(sys, w[i], MSG_START, 0), 0);
    CHECK_EQ(tr_send_i64(sys, w[4], MSG_START, pinger), 0);
    if (tr_system_wait(sys, 20000) != 0) {
        for (int i = 0; i < WAITERS; i++)
            if (!atomic_load(&g_waiter_done[i]))
                fprintf(stderr, "receive timeout case \"%s\" has not ended in 20 s\n",
                        g_waiter_names[i]);
        exit(1);
    }
    tr_system_stats st = finish(sys);
    for (int i = 0; i < WAITERS; i++)
        CHECK_EQ(atomic_load(&g_waiter_done[i]), 1);
    CHECK_EQ(st.dead_letters, 0);
}

/* The receive timeout of an actor that moves: set on one worker (whose loop
 * holds the timer), mail on the other, the timeout after it. */
typedef struct traveller {
    waiter w;
    struct uv_loop_s *first, *second;
    tr_timer tick;
    int ticks, late_ticks, cancelled, got_x, got_y;
} traveller;

static atomic_int g_travel_step, g_hold_sent, g_travel_done;

static int rt_traveller_receive(tr_ctx *cx, void *state, tr_msg *m) {
    traveller *t = state;
    switch (tr_msg_type(m)) {
    case MSG_START: /* on the worker that holder 0 leaves free */
        t->first = tr_ctx_loop(cx);
        CHECK(t->first != atomic_load(&g_hold_loop[0]));
        note_message(&t->w);
        set_timeout(cx, &t->w, 200);
        atomic_store(&g_travel_step, 1);
        while (!atomic_load(&g_hold_sent)) /* so that holder 1 takes this worker next */
            uv_sleep(1);
        return 0;
    case MSG_MOVE: /* on the other worker: this one is held */
        t->second = tr_ctx_loop(cx);
        CHECK(t->second == atomic_load(&g_hold_loop[0]));
        CHECK(t->second != t->first);
        note_message(&t->w);
        atomic_store(&g_travel_step, 2);
        return 0;
    case TR_MSG_TIMEOUT:
        CHECK(t->second != NULL);
        check_timeout(cx, &t->w, m);
        set_timeout(cx, &t->w, 0);
        return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
    case MSG_FENCE:
        CHECK_EQ(t->w.timeouts, 1);
        atomic_store(&g_travel_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec rt_traveller_spec = {
    .name = "traveller", .state_size = sizeof(traveller), .receive = rt_traveller_receive};

/* Runs a traveller through the two workers: MSG_START on worker B while
 * holder 0 keeps A; holder 1 then keeps B; holder 0 lets A go and MSG_MOVE
 * runs on A; then holder 1 lets B go. */
static void travel(const tr_actor_spec *spec) {
    holders_reset();
    atomic_store(&g_travel_step, 0);
    atomic_store(&g_hold_sent, 0);
    atomic_store(&g_travel_done, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid t = check_spawn(sys, spec, NULL);
    struct uv_loop_s *a = hold(sys, 0);
    CHECK_EQ(tr_send_i64(sys, t, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_travel_step) == 1, 10000);
    tr_pid h1 = check_spawn(sys, &holder_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, h1, MSG_HOLD, 1), 0);
    atomic_store(&g_hold_sent, 1);
    CHECK_WAIT_UNTIL(atomic_load(&g_hold_state[1]) == 1, 10000);
    CHECK(atomic_load(&g_hold_loop[1]) != a);
    let_go(0);
    CHECK_EQ(tr_send_i64(sys, t, MSG_MOVE, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_travel_step) == 2, 10000);
    let_go(1);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_travel_done), 1);
    CHECK_EQ(st.dead_letters, 0);
}

static void receive_timeout_follows_a_moved_actor(void) {
    travel(&rt_traveller_spec);
}

/* Timers set on one worker reach their actor on the other; a periodic one
 * set there is cancelled from the other (at most one firing, already due
 * when its worker is let go, comes after the cancel); a timer set on the
 * second worker arrives too. */
static int timer_traveller_receive(tr_ctx *cx, void *state, tr_msg *m) {
    traveller *t = state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        t->first = tr_ctx_loop(cx);
        CHECK(t->first != atomic_load(&g_hold_loop[0]));
        stamp x = stamp_in(250, 0);
        CHECK_EQ(tr_send_after(cx, 250, tr_self(cx), MSG_X, &x, sizeof x, NULL), 0);
        CHECK_EQ(tr_send_every(cx, 200, tr_self(cx), MSG_TICK, NULL, 0, &t->tick), 0);
        atomic_store(&g_travel_step, 1);
        while (!atomic_load(&g_hold_sent))
            uv_sleep(1);
        return 0;
    }
    case MSG_MOVE: {
        t->second = tr_ctx_loop(cx);
        CHECK(t->second == atomic_load(&g_hold_loop[0]));
        CHECK(t->second != t->first);
        CHECK_EQ(tr_timer_cancel(tr_ctx_system(cx), t->tick), 0); /* a command to the first */
        t->cancelled = 1;
        stamp y = stamp_in(20, 1);
        CHECK_EQ(tr_send_after(cx, 20, tr_self(cx), MSG_Y, &y, sizeof y, NULL), 0);
        atomic_store(&g_travel_step, 2);
        return 0;
    }
    case MSG_TICK:
        t->ticks++;
        if (t->cancelled)
            CHECK(++t->late_ticks <= 1);
        return 0;
    case MSG_X:
    case MSG_Y: {
        stamp s = stamp_of(m);
        CHECK_NOT_EARLY(s.due_ns);
        CHECK_EQ(s.index, tr_msg_type(m) == MSG_X ? 0 : 1);
        int *got = tr_msg_type(m) == MSG_X ? &t->got_x : &t->got_y;
        CHECK_EQ(*got, 0);
        *got = 1;
        if (t->got_x && t->got_y)
            return tr_send_after(cx, 100, tr_self(cx), MSG_FENCE, NULL, 0, NULL);
        return 0;
    }
    case MSG_FENCE:
        CHECK(t->late_ticks <= 1);
        atomic_store(&g_travel_done, 1);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec timer_traveller_spec = {
    .name = "timer traveller", .state_size = sizeof(traveller), .receive = timer_traveller_receive};

static void timers_follow_a_moved_actor(void) {
    travel(&timer_traveller_spec);
}

/* Many actors in pairs volleying on 2 workers (so that actors are stolen
 * from one worker to the other), each with one-shot timers to itself and its
 * partner: every timer arrives once, never early, from its setter. */
#define PAIRS 16
#define VOLLEYS 2000
#define PAIR_TIMERS 30

typedef struct player {
    tr_pid partner;
    int balls, balls_due, timers;
    uint64_t rng;
    struct uv_loop_s *loop;
    int moved;
} player;

static tr_pid g_players[2 * PAIRS];
static atomic_int g_players_moved, g_players_done;

static int player_maybe_done(tr_ctx *cx, player *p) {
    if (!p->partner || p->balls < p->balls_due || p->timers < PAIR_TIMERS)
        return 0;
    if (p->moved)
        atomic_fetch_add(&g_players_moved, 1);
    atomic_fetch_add(&g_players_done, 1);
    return tr_exit(cx, 0);
}

/* Its number k as arg: a ball may come before its own MSG_START. */
static int player_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    player *p = state;
    int k = *(const int *)arg;
    p->balls_due = k % 2 ? VOLLEYS + 1 : VOLLEYS; /* the odd one gets 2V, 2V - 2, ..., 0 */
    p->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(k + 1);
    return 0;
}

static int player_receive(tr_ctx *cx, void *state, tr_msg *m) {
    player *p = state;
    tr_system *sys = tr_ctx_system(cx);
    struct uv_loop_s *loop = tr_ctx_loop(cx);
    if (p->loop && loop != p->loop)
        p->moved = 1;
    p->loop = loop;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        int k = (int)tr_msg_i64(m);
        p->partner = g_players[k ^ 1];
        for (int i = 0; i < PAIR_TIMERS; i++) {
            uint32_t delay = 1 + (uint32_t)(check_rand(&p->rng) % 50);
            tr_pid to = i % 2 ? p->partner : tr_self(cx);
            stamp s = stamp_in(delay, k);
            CHECK_EQ(tr_send_after(cx, delay, to, MSG_STAMP, &s, sizeof s, NULL), 0);
        }
        if (k % 2 == 0)
            CHECK_EQ(tr_send_i64(sys, p->partner, MSG_BALL, 2 * VOLLEYS), 0);
        return player_maybe_done(cx, p);
    }
    case MSG_BALL: {
        int64_t left = tr_msg_i64(m);
        p->balls++;
        if (left > 0)
            CHECK_EQ(tr_send_i64(sys, tr_msg_sender(m), MSG_BALL, left - 1), 0);
        return player_maybe_done(cx, p);
    }
    case MSG_STAMP: {
        stamp s = stamp_of(m);
        CHECK_NOT_EARLY(s.due_ns);
        CHECK(s.index >= 0 && s.index < 2 * PAIRS);
        CHECK(tr_msg_sender(m) == g_players[s.index]);
        p->timers++;
        CHECK(p->timers <= PAIR_TIMERS);
        return player_maybe_done(cx, p);
    }
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec player_spec = {
    .name = "player", .state_size = sizeof(player), .init = player_init, .receive = player_receive};

static void timers_of_stolen_actors(void) {
    atomic_store(&g_players_moved, 0);
    atomic_store(&g_players_done, 0);
    tr_system *sys = check_system(2, 64);
    for (int k = 0; k < 2 * PAIRS; k++)
        g_players[k] = check_spawn(sys, &player_spec, &k);
    for (int k = 0; k < 2 * PAIRS; k++)
        CHECK_EQ(tr_send_i64(sys, g_players[k], MSG_START, k), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_players_done), 2 * PAIRS);
    CHECK_EQ(st.dead_letters, 0);
    printf("  %d of %d actors ran on both workers\n", atomic_load(&g_players_moved), 2 * PAIRS);
}

/* ---- a libuv timer of the actor's own, on tr_ctx_loop, while the worker is busy ---- */

static uv_timer_t g_uv_timer;
static struct uv_loop_s *_Atomic g_uv_loop;
static atomic_int g_uv_started, g_uv_fired, g_uv_closed;
static _Atomic int64_t g_busy_count, g_busy_at_start, g_busy_at_fire;

static void on_uv_timer(uv_timer_t *t) {
    (void)t;
    atomic_store(&g_busy_at_fire, atomic_load(&g_busy_count));
    atomic_store(&g_uv_fired, 1);
}

static void on_uv_closed(uv_handle_t *h) {
    (void)h;
    atomic_store(&g_uv_closed, 1);
}

static int uv_owner_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_START: {
        struct uv_loop_s *loop = tr_ctx_loop(cx);
        CHECK(loop != NULL);
        atomic_store(&g_uv_loop, loop);
        CHECK_EQ(uv_timer_init(loop, &g_uv_timer), 0);
        atomic_store(&g_busy_at_start, atomic_load(&g_busy_count));
        CHECK_EQ(uv_timer_start(&g_uv_timer, on_uv_timer, 5, 0), 0);
        atomic_store(&g_uv_started, 1);
        return 0;
    }
    case MSG_CLOSE:
        CHECK(tr_ctx_loop(cx) == atomic_load(&g_uv_loop)); /* one worker */
        uv_close((uv_handle_t *)&g_uv_timer, on_uv_closed);
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

/* Keeps its worker busy: a message to itself from every receive until the
 * uv timer has fired (or a watchdog gives up on it). */
static atomic_int g_busy_give_up;

static int busy_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    (void)m;
    atomic_fetch_add(&g_busy_count, 1);
    if (atomic_load(&g_uv_fired) || atomic_load(&g_busy_give_up))
        return tr_exit(cx, 0);
    return tr_send_i64(tr_ctx_system(cx), tr_self(cx), MSG_PING, 0);
}

static const tr_actor_spec uv_owner_spec = {.name = "uv owner", .receive = uv_owner_receive};
static const tr_actor_spec busy_spec = {.name = "busy", .receive = busy_receive};

static void own_uv_timer_fires_while_the_worker_is_busy(void) {
    atomic_store(&g_uv_started, 0);
    atomic_store(&g_uv_fired, 0);
    atomic_store(&g_uv_closed, 0);
    atomic_store(&g_busy_count, 0);
    atomic_store(&g_busy_at_start, 0);
    atomic_store(&g_busy_at_fire, 0);
    atomic_store(&g_busy_give_up, 0);
    tr_system *sys = check_system(1, 64);
    tr_pid owner = check_spawn(sys, &uv_owner_spec, NULL);
    tr_pid busy = check_spawn(sys, &busy_spec, NULL);
    /* the busy actor first: from then on the one worker never parks */
    CHECK_EQ(tr_send_i64(sys, busy, MSG_PING, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_busy_count) > 0, 10000);
    CHECK_EQ(tr_send_i64(sys, owner, MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_uv_started), 10000);
    uint64_t end = check_now_ms() + 20000;
    while (!atomic_load(&g_uv_fired) && check_now_ms() < end)
        uv_sleep(1);
    if (!atomic_load(&g_uv_fired))
        atomic_store(&g_busy_give_up, 1); /* let it stop, to fail cleanly */
    CHECK(atomic_load(&g_uv_fired));
    /* busy ran between the start and the firing: the worker never parked */
    CHECK(atomic_load(&g_busy_at_start) > 0);
    CHECK(atomic_load(&g_busy_at_fire) > atomic_load(&g_busy_at_start));
    CHECK_EQ(tr_send_i64(sys, owner, MSG_CLOSE, 0), 0);
    tr_system_stats st = finish(sys);
    CHECK_EQ(atomic_load(&g_uv_closed), 1);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- at stop ---- */

static atomic_int g_far_set;

static int far_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) != MSG_START)
        return 0;
    unsigned char data[64] = {0};
    for (uint32_t i = 0; i < 500; i++)
        CHECK_EQ(tr_send_after(cx, 10000 + i, tr_self(cx), MSG_X, data, sizeof data, NULL), 0);
    for (uint32_t i = 0; i < 20; i++)
        CHECK_EQ(tr_send_every(cx, 10000 + i, tr_self(cx), MSG_TICK, data, sizeof data, NULL), 0);
    CHECK_EQ(tr_receive_timeout(cx, 10000), 0);
    atomic_fetch_add(&g_far_set, 1);
    return 0;
}

static int far_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    (void)arg; /* run by the plain thread: these are commands to a worker */
    CHECK_EQ(tr_send_after(cx, 10000, tr_self(cx), MSG_X, NULL, 0, NULL), 0);
    return tr_receive_timeout(cx, 10000);
}

static const tr_actor_spec far_spec = {.name = "far", .init = far_init, .receive = far_receive};

static void pending_timers_dropped_at_stop(void) {
    atomic_store(&g_far_set, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid f[4];
    for (int i = 0; i < 4; i++)
        f[i] = check_spawn(sys, &far_spec, NULL);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(tr_send_i64(sys, f[i], MSG_START, 0), 0);
    CHECK_WAIT_UNTIL(atomic_load(&g_far_set) == 4, 10000);
    tr_timer id = 0;
    for (int i = 0; i < 200; i++) /* the last ones still commands when the stop comes */
        CHECK_EQ(tr_system_send_after(sys, 10000, (uint32_t)(i % 2) * 5000, f[i % 4], MSG_X, &i,
                                      sizeof i, &id),
                 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    /* stopped, not yet shut down */
    CHECK_EQ(tr_system_send_after(sys, 1, 0, f[0], MSG_X, NULL, 0, NULL), TR_ESTOPPED);
    CHECK_EQ(tr_timer_cancel(sys, id), 0);
    CHECK_EQ(tr_timer_cancel(sys, 0), TR_EINVAL);
    tr_system_stats st = finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

/* An argument runs only the cases whose names contain it; "-name" all but those. */
static int g_argc;
static char **g_argv;

static int wanted(const char *name) {
    if (g_argc < 2)
        return 1;
    const char *a = g_argv[1];
    return a[0] == '-' ? !strstr(name, a + 1) : strstr(name, a) != NULL;
}

#define RUN_IF(test_case)                                                                          \
    do {                                                                                           \
        if (wanted(#test_case))                                                                    \
            RUN(test_case);                                                                        \
    } while (0)

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    RUN_IF(many_timers_fire_once_never_early);
    RUN_IF(cancel_before_firing);
    RUN_IF(cancel_after_firing_is_harmless);
    RUN_IF(cancel_from_another_worker);
    RUN_IF(cancel_from_a_plain_thread);
    RUN_IF(cancel_on_the_worker_before_its_start);
    RUN_IF(cancel_refuses_what_names_no_timer);
    RUN_IF(periodic_counts_then_cancels);
    RUN_IF(periodic_cancel_on_two_workers);
    RUN_IF(periodic_to_an_actor_that_exits);
    RUN_IF(timer_to_an_exited_actor_is_a_dead_letter);
    RUN_IF(system_send_after_one_shot);
    RUN_IF(system_send_after_periodic_and_cancel);
    RUN_IF(receive_timeout_cases);
    RUN_IF(receive_timeout_follows_a_moved_actor);
    RUN_IF(timers_follow_a_moved_actor);
    RUN_IF(timers_of_stolen_actors);
    RUN_IF(own_uv_timer_fires_while_the_worker_is_busy);
    RUN_IF(pending_timers_dropped_at_stop);
    return check_summary();
}
