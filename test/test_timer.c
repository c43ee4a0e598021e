/* test_timer.c — tr_send_after: timers set in one callback arrive in the
 * order of their delays, from the actor that set them; one to a dead pid is
 * a counted dead letter; timers still pending when the system stops are
 * dropped without a leak (ASan); misuse is refused. */
#include "check.h"

#include <stdatomic.h>

enum { MSG_START = 1, MSG_TICK, MSG_SET_FAR };

#define TICKS 5

static const uint32_t g_delays[TICKS] = {30, 10, 20, 1, 15}; /* tick i waits g_delays[i] */
static atomic_int g_order[TICKS], g_arrived, g_far_set;
static _Atomic tr_pid g_self;

static int ticker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_START:
        atomic_store(&g_self, tr_self(cx));
        for (int64_t i = 0; i < TICKS; i++)
            CHECK_EQ(tr_send_after(cx, g_delays[i], tr_self(cx), MSG_TICK, &i, sizeof i, NULL), 0);
        /* a dead pid: a dead letter when it fires, before the last tick */
        CHECK_EQ(tr_send_after(cx, 2, (tr_pid)tr_msg_i64(m), MSG_TICK, NULL, 0, NULL), 0);
        CHECK_EQ(tr_send_after(cx, 1, tr_self(cx), TR_MSG_RESERVED, NULL, 0, NULL), TR_EINVAL);
        CHECK_EQ(tr_send_after(cx, 1, tr_self(cx), MSG_TICK, NULL, 1, NULL), TR_EINVAL);
        return 0;
    case MSG_TICK:
        CHECK_EQ(tr_msg_sender(m), tr_self(cx));
        atomic_store(&g_order[atomic_fetch_add(&g_arrived, 1)], (int)tr_msg_i64(m));
        return atomic_load(&g_arrived) == TICKS ? tr_exit(cx, 0) : 0;
    case MSG_SET_FAR: /* an hour away: still pending at the stop */
        CHECK_EQ(tr_send_after(cx, 3600 * 1000, tr_self(cx), MSG_TICK, NULL, 0, NULL), 0);
        atomic_store(&g_far_set, 1);
        return 0;
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec ticker_spec = {.name = "ticker", .receive = ticker_receive};

static void timers_arrive_in_delay_order(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid keep = check_spawn_idle(sys);
    tr_pid dead = check_dead_pid(sys);
    tr_pid t = check_spawn(sys, &ticker_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, t, MSG_START, dead), 0);
    CHECK_EQ(tr_send_i64(sys, keep, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys); /* stops when the ticker has had every tick */
    const int expected[TICKS] = {3, 1, 4, 2, 0};
    for (int i = 0; i < TICKS; i++)
        CHECK_EQ(atomic_load(&g_order[i]), expected[i]);
    CHECK_EQ(st.dead_letters, 1);
    CHECK_EQ(tr_send_after(NULL, 1, t, MSG_TICK, NULL, 0, NULL), TR_ENOTACTOR);
}

static void pending_timers_are_dropped_at_stop(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid t = check_spawn(sys, &ticker_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, t, MSG_SET_FAR, 0), 0);
    while (!atomic_load(&g_far_set))
        ;
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

int main(void) {
    RUN(timers_arrive_in_delay_order);
    RUN(pending_timers_are_dropped_at_stop);
    return check_summary();
}
