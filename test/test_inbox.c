/* test_inbox.c — inboxes: a plain thread's own mailbox. Messages from an
 * actor arrive in order; tr_inbox_send makes the inbox the sender, so
 * replies come back to it; several threads each with an inbox; a stop wakes
 * a blocked receive after what had arrived; a closed inbox's pid is dead and
 * what was left in it is counted; misuse is refused; shutdown frees an inbox
 * left open; an open inbox keeps a system that would stop by itself running. */
#include "check.h"

#include <string.h>
#include <uv.h>

enum { MSG_STREAM = 1, MSG_DOUBLE, MSG_VALUE };

#define STREAM 1000

/* The payload of MSG_DOUBLE: the value, and the sender the request must show. */
typedef struct {
    int64_t x;
    tr_pid from;
} double_req;

/* MSG_STREAM (payload: an inbox pid): sends it 0..STREAM-1. MSG_DOUBLE:
 * checks the sender, replies with twice the value. */
static int streamer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_STREAM:
        for (int64_t i = 0; i < STREAM; i++)
            CHECK_EQ(tr_send_i64(sys, (tr_pid)tr_msg_i64(m), MSG_VALUE, i), 0);
        return 0;
    case MSG_DOUBLE: {
        double_req r;
        CHECK_EQ(tr_msg_size(m), sizeof r);
        memcpy(&r, tr_msg_data(m), sizeof r);
        CHECK_EQ(tr_msg_sender(m), r.from);
        return tr_reply_i64(cx, m, 2 * r.x);
    }
    }
    return check_idle_receive(cx, state, m);
}

static const tr_actor_spec streamer_spec = {.name = "streamer", .receive = streamer_receive};

/* Stops sys and checks that nothing became a dead letter. */
static void finish_clean(tr_system *sys) {
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

/* Asks from the inbox with tr_inbox_send: n requests, then n replies in order. */
static void double_through_inbox(tr_inbox *ib, tr_pid to, int n) {
    for (int64_t i = 0; i < n; i++) {
        double_req r = {i, tr_inbox_pid(ib)};
        CHECK_EQ(tr_inbox_send(ib, to, MSG_DOUBLE, &r, sizeof r), 0);
    }
    for (int64_t i = 0; i < n; i++) {
        tr_msg *m = NULL;
        CHECK_EQ(tr_inbox_receive(ib, &m, 5000), 0);
        CHECK(tr_msg_is_reply(m));
        CHECK_EQ(tr_msg_type(m), MSG_DOUBLE);
        CHECK_EQ(tr_msg_sender(m), to);
        CHECK_EQ(tr_msg_i64(m), 2 * i);
        CHECK_EQ(tr_msg_free(m), 0);
    }
}

static void receive_stream(tr_inbox *ib) {
    for (int64_t i = 0; i < STREAM; i++) {
        tr_msg *m = NULL;
        CHECK_EQ(tr_inbox_receive(ib, &m, 5000), 0);
        CHECK_EQ(tr_msg_type(m), MSG_VALUE);
        CHECK_EQ(tr_msg_i64(m), i);
        CHECK_EQ(tr_msg_free(m), 0);
    }
}

static void messages_arrive_in_order(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid s = check_spawn(sys, &streamer_spec, NULL);
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    CHECK(tr_inbox_pid(ib) > 0);
    CHECK_EQ(tr_send_i64(sys, s, MSG_STREAM, tr_inbox_pid(ib)), 0);
    receive_stream(ib);
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(ib, &m, 0), TR_ETIMEDOUT);
    CHECK_EQ(tr_inbox_receive(ib, &m, 20), TR_ETIMEDOUT);
    CHECK(m == NULL);
    CHECK_EQ(tr_inbox_close(ib), 0);
    finish_clean(sys);
}

/* A request sent from the inbox: the actor sees the inbox as its sender and
 * the reply comes back to the inbox. */
static void inbox_send_gets_the_reply(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid s = check_spawn(sys, &streamer_spec, NULL);
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    double_through_inbox(ib, s, 1);
    double_through_inbox(ib, s, 100);
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(ib, &m, 0), TR_ETIMEDOUT); /* nothing more came */
    CHECK_EQ(tr_inbox_close(ib), 0);
    finish_clean(sys);
}

typedef struct {
    tr_system *sys;
    tr_pid streamer;
} stream_job;

static void stream_thread(void *arg) {
    stream_job *job = arg;
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(job->sys, &ib), 0);
    CHECK_EQ(tr_send_i64(job->sys, job->streamer, MSG_STREAM, tr_inbox_pid(ib)), 0);
    receive_stream(ib);
    double_through_inbox(ib, job->streamer, 50);
    CHECK_EQ(tr_inbox_close(ib), 0);
}

static void inboxes_on_several_threads(void) {
    tr_system *sys = check_system(2, 64);
    stream_job job = {sys, check_spawn(sys, &streamer_spec, NULL)};
    uv_thread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(uv_thread_create(&t[i], stream_thread, &job), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(uv_thread_join(&t[i]), 0);
    finish_clean(sys);
}

typedef struct {
    tr_inbox *ib;
    int rc;
} blocked_receive;

static void receive_forever(void *arg) {
    blocked_receive *b = arg;
    tr_msg *m = NULL;
    b->rc = tr_inbox_receive(b->ib, &m, -1);
}

static void stop_wakes_a_blocked_receive(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys);
    blocked_receive b = {0};
    CHECK_EQ(tr_inbox_open(sys, &b.ib), 0);
    uv_thread_t t;
    CHECK_EQ(uv_thread_create(&t, receive_forever, &b), 0);
    uv_sleep(20); /* most likely asleep in the receive by now; either way it must end */
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(uv_thread_join(&t), 0);
    CHECK_EQ(b.rc, TR_ESTOPPED);
    CHECK_EQ(tr_inbox_close(b.ib), 0);
    check_finish(sys);

    /* What arrived before the stop is still handed out, then TR_ESTOPPED. */
    sys = check_system(2, 64);
    check_spawn_idle(sys);
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tr_send_i64(sys, tr_inbox_pid(ib), MSG_VALUE, i), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    for (int i = 0; i < 3; i++) {
        tr_msg *m = NULL;
        CHECK_EQ(tr_inbox_receive(ib, &m, -1), 0);
        CHECK_EQ(tr_msg_i64(m), i);
        CHECK_EQ(tr_msg_free(m), 0);
    }
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(ib, &m, -1), TR_ESTOPPED);
    check_finish(sys); /* the inbox is still open: shutdown frees it */
}

static int inbox_in_actor_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    tr_msg *got = NULL;
    tr_inbox *ib = *(tr_inbox **)tr_msg_data(m);
    return tr_reply_i64(cx, m, tr_inbox_receive(ib, &got, 0));
}

static void close_and_misuse(void) {
    static const tr_actor_spec spec = {.name = "in actor", .receive = inbox_in_actor_receive};
    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn(sys, &spec, NULL);
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    tr_pid pid = tr_inbox_pid(ib);
    CHECK_EQ(tr_send_i64(sys, pid, MSG_VALUE, 1), 0);
    CHECK_EQ(tr_send_i64(sys, pid, MSG_VALUE, 2), 0);
    CHECK_EQ(tr_inbox_close(ib), 0); /* two left in it: dead letters */
    CHECK_EQ(tr_send_i64(sys, pid, MSG_VALUE, 3), TR_ENOACTOR);

    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_open(NULL, &ib), TR_EINVAL);
    CHECK_EQ(tr_inbox_open(sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_inbox_receive(NULL, &m, 0), TR_EINVAL);
    CHECK_EQ(tr_inbox_pid(NULL), TR_EINVAL);
    CHECK_EQ(tr_inbox_close(NULL), TR_EINVAL);
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    CHECK_EQ(tr_inbox_receive(ib, NULL, 0), TR_EINVAL);
    CHECK_EQ(tr_inbox_send(ib, a, TR_MSG_RESERVED, NULL, 0), TR_EINVAL);
    CHECK_EQ(tr_inbox_send(ib, a, 1, NULL, 8), TR_EINVAL);
    CHECK_EQ(tr_inbox_send(NULL, a, 1, NULL, 0), TR_EINVAL);
    tr_msg *req = check_msg(sys, 1, sizeof ib);
    *(tr_inbox **)tr_msg_data(req) = ib;
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, a, req, &reply, -1), 0);
    CHECK_EQ(tr_msg_i64(reply), TR_EINACTOR);
    CHECK_EQ(tr_msg_free(reply), 0);
    CHECK_EQ(tr_inbox_close(ib), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 3);
}

/* MSG_VALUE (payload: an inbox pid): sends it the actor's own pid, exits. */
static int one_shot_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_send_i64(tr_ctx_system(cx), (tr_pid)tr_msg_i64(m), MSG_VALUE, tr_self(cx)), 0);
    return tr_exit(cx, 0);
}

/* main spawns short-lived actors one at a time, each after the last has
 * exited: with an inbox open, the system (not keep_running) must not stop in
 * between, so every spawn succeeds; once the inbox is closed it stops by
 * itself. Before the rule the second spawn found the system stopped. */
static void open_inbox_keeps_the_system_running(void) {
    static const tr_actor_spec spec = {.name = "one_shot", .receive = one_shot_receive};
    enum { ROUNDS = 20 };
    tr_system *sys = check_system(2, 64);
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    for (uint64_t i = 1; i <= ROUNDS; i++) {
        tr_pid pid = tr_spawn(sys, &spec, NULL);
        CHECK(pid > 0);
        CHECK_EQ(tr_send_i64(sys, pid, MSG_VALUE, tr_inbox_pid(ib)), 0);
        tr_msg *m = NULL;
        CHECK_EQ(tr_inbox_receive(ib, &m, 5000), 0);
        CHECK_EQ(tr_msg_i64(m), pid);
        CHECK_EQ(tr_msg_free(m), 0);
        tr_system_stats st;
        CHECK_WAIT_UNTIL(tr_system_stats_get(sys, &st) == 0 && st.exited == i, 5000);
    }
    CHECK_EQ(tr_system_wait(sys, 50), TR_ETIMEDOUT); /* no actor, but the inbox is open */
    CHECK_EQ(tr_inbox_close(ib), 0);
    CHECK_EQ(tr_system_wait(sys, 5000), 0); /* stopped by itself */
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, ROUNDS);
    CHECK_EQ(st.dead_letters, 0);
}

int main(void) {
    RUN(messages_arrive_in_order);
    RUN(inbox_send_gets_the_reply);
    RUN(inboxes_on_several_threads);
    RUN(stop_wakes_a_blocked_receive);
    RUN(close_and_misuse);
    RUN(open_inbox_keeps_the_system_running);
    return check_summary();
}
