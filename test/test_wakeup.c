/* test_wakeup.c — parked workers are woken whenever work arrives for them.
 * Requests are paced (a pause longer than an idle worker's search before it
 * parks), so every request finds the workers asleep: from a plain thread (the
 * global queue and uv_async_send) and from an actor to a freshly spawned one
 * (a worker's own queue). A lost wake-up would leave an ask unanswered; the
 * asks' timeouts are far beyond any scheduling delay, so a timeout here is a
 * lost wake-up, not slowness. A third case spreads its pauses over 0-120 µs,
 * so that requests also land while a worker is still searching (50 µs before
 * it parks: the plain thread then wakes nobody and the searcher must find the
 * request) and while it is on its way to parking. The pauses only pace the
 * test; nothing asserts on time. */
#include "check.h"

#include <uv.h>

enum { MSG_ECHO = 1, MSG_RELAY };
enum { ROUNDS = 200, PAUSE_US = 1000, ASK_TIMEOUT_MS = 10000 };
enum { SHORT_ROUNDS = 3000, SHORT_PAUSE_MAX_US = 120 };

static int echo_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) == CHECK_MSG_EXIT)
        return tr_exit(cx, 0);
    int rc = tr_reply_i64(cx, m, tr_msg_i64(m) + 1);
    return tr_msg_type(m) == MSG_RELAY ? (rc ? rc : tr_exit(cx, 0)) : rc;
}

static const tr_actor_spec echo_spec = {.name = "echo", .receive = echo_receive};

/* Spawns a fresh echo for each request and forwards the request to it: the
 * echo becomes runnable on this worker, which then goes back to sleep. */
static int relay_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) == CHECK_MSG_EXIT)
        return tr_exit(cx, 0);
    tr_pid echo = tr_spawn(tr_ctx_system(cx), &echo_spec, NULL);
    if (echo < 0)
        return (int)echo;
    return tr_msg_forward(cx, echo, m);
}

static const tr_actor_spec relay_spec = {.name = "relay", .receive = relay_receive};

/* Waits us microseconds: uv_sleep's milliseconds are too coarse here. */
static void pause_us(uint64_t us) {
    if (us >= 1000) {
        uv_sleep((unsigned)(us / 1000));
        return;
    }
    uint64_t until = uv_hrtime() + us * 1000;
    while (uv_hrtime() < until) {
    }
}

/* rounds asks from main, each after a pause of pause(i) µs. */
static void paced_asks(const tr_actor_spec *spec, uint32_t type, int64_t rounds,
                       uint64_t (*pause)(int64_t i)) {
    tr_system *sys = check_system(2, 64);
    tr_pid to = check_spawn(sys, spec, NULL);
    for (int64_t i = 0; i < rounds; i++) {
        pause_us(pause(i));
        int64_t out = -1;
        CHECK_EQ(tr_ask_i64(sys, to, type, i, &out, ASK_TIMEOUT_MS), 0);
        CHECK_EQ(out, i + 1);
    }
    CHECK_EQ(tr_send_i64(sys, to, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(st.spawned, type == MSG_RELAY ? 1 + rounds : 1);
}

static uint64_t long_pause(int64_t i) { /* both workers park */
    (void)i;
    return PAUSE_US;
}

static uint64_t short_pause(int64_t i) { /* 0, 7, 14, ... 119 µs, then again */
    return (uint64_t)(i * 7) % SHORT_PAUSE_MAX_US;
}

static void plain_thread_wakes_parked_worker(void) {
    paced_asks(&echo_spec, MSG_ECHO, ROUNDS, long_pause);
}

static void actor_wakes_parked_worker(void) {
    paced_asks(&relay_spec, MSG_RELAY, ROUNDS, long_pause);
}

static void plain_thread_mail_reaches_searching_worker(void) {
    paced_asks(&echo_spec, MSG_ECHO, SHORT_ROUNDS, short_pause);
}

int main(void) {
    RUN(plain_thread_wakes_parked_worker);
    RUN(actor_wakes_parked_worker);
    RUN(plain_thread_mail_reaches_searching_worker);
    return check_summary();
}
