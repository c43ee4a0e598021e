/* test_ask.c — request/response. A plain thread's tr_ask gets the right reply
 * (i64, copied bytes, a built message), times out on a silent actor, and a
 * reply that comes after its timeout is counted as a dead letter. An actor's
 * tr_ask_async gets each reply as a message with the ask's ref, or a
 * TR_MSG_ASK_TIMEOUT with that ref, after which the late reply is a dead
 * letter too. Many plain threads ask at once. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

enum {
    MSG_DOUBLE = 1, /* i64 -> twice it */
    MSG_ECHO,       /* bytes -> the same bytes, by tr_reply */
    MSG_ECHO_MSG,   /* bytes -> a MSG_ECHOED message with the same bytes, by tr_reply_msg */
    MSG_ECHOED,
    MSG_IGNORE, /* never answered */
    MSG_HOLD,   /* answered once the test posts g_release */
    MSG_STALL,  /* answered once g_asker_gave_up is set */
    MSG_GO,
    MSG_GO_STALL,
};

static tr_system *g_sys;
static uv_sem_t g_release;
static atomic_int g_asker_gave_up;

/* A reply that may come too late: the asker may be gone (TR_ENOACTOR) or the
 * runtime may drop it later; either way it is a dead letter. */
static void reply_late(tr_ctx *cx, const tr_msg *m) {
    int rc = tr_reply_i64(cx, m, 1);
    CHECK(rc == 0 || rc == TR_ENOACTOR);
}

static int server_receive(tr_ctx *cx, void *state, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case MSG_DOUBLE: return tr_reply_i64(cx, m, 2 * tr_msg_i64(m));
    case MSG_ECHO: return tr_reply(cx, m, tr_msg_data(m), tr_msg_size(m));
    case MSG_ECHO_MSG: {
        tr_msg *r = check_msg(tr_ctx_system(cx), MSG_ECHOED, tr_msg_size(m));
        memcpy(tr_msg_data(r), tr_msg_data(m), tr_msg_size(m));
        return tr_reply_msg(cx, m, r);
    }
    case MSG_IGNORE: return 0;
    case MSG_HOLD:
        uv_sem_wait(&g_release);
        reply_late(cx, m);
        return 0;
    case MSG_STALL:
        if (!atomic_load(&g_asker_gave_up)) /* back in line until the asker has timed out */
            return tr_msg_forward(cx, tr_self(cx), m);
        reply_late(cx, m);
        /* Same sender-receiver pair: a wrongly delivered late reply would come first. */
        CHECK_EQ(tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), CHECK_MSG_EXIT, 0), 0);
        return tr_exit(cx, 0);
    }
    return check_idle_receive(cx, state, m);
}

static const tr_actor_spec server_spec = {.name = "server", .receive = server_receive};

static tr_msg *i64_msg(tr_system *sys, uint32_t type, int64_t value) {
    tr_msg *m = check_msg(sys, type, sizeof value);
    memcpy(tr_msg_data(m), &value, sizeof value);
    return m;
}

/* ---- from plain threads ---------------------------------------------------- */

static void ask_bytes(tr_system *sys, tr_pid server, uint32_t type, uint32_t reply_type,
                      size_t size) {
    tr_msg *req = check_msg(sys, type, size);
    CHECK(!tr_msg_is_reply(req));
    CHECK_EQ(tr_msg_ref(req), 0);
    check_pattern_fill(tr_msg_data(req), size, (unsigned)size);
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, server, req, &reply, -1), 0);
    CHECK(reply != NULL);
    CHECK(tr_msg_is_reply(reply));
    CHECK_EQ(tr_msg_type(reply), reply_type);
    CHECK_EQ(tr_msg_sender(reply), server);
    CHECK_EQ(tr_msg_size(reply), size);
    CHECK(check_pattern_ok(tr_msg_data(reply), size, (unsigned)size));
    CHECK_EQ(tr_msg_free(reply), 0);
    CHECK_EQ(tr_msg_free(reply), TR_EALREADY);
}

static void plain_thread_asks(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid server = check_spawn(sys, &server_spec, NULL);

    for (int64_t i = -500; i <= 500; i++) {
        int64_t out = 0;
        CHECK_EQ(tr_ask_i64(sys, server, MSG_DOUBLE, i * 1000003, &out, -1), 0);
        CHECK_EQ(out, 2 * i * 1000003);
    }
    static const size_t sizes[] = {1, 8, 100, 5000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ask_bytes(sys, server, MSG_ECHO, MSG_ECHO, sizes[i]);
        ask_bytes(sys, server, MSG_ECHO_MSG, MSG_ECHOED, sizes[i]);
    }

    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, check_dead_pid(sys), MSG_DOUBLE, 1, &out, -1), TR_ENOACTOR);
    /* Handled without a reply: the asker is told at once, not after its timeout. */
    CHECK_EQ(tr_ask_i64(sys, server, MSG_IGNORE, 0, &out, -1), TR_ENOREPLY);
    CHECK_EQ(tr_ask_i64(sys, server, MSG_DOUBLE, 21, &out, -1), 0); /* still serving */
    CHECK_EQ(out, 42);

    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 1); /* the ask to the dead pid */
}

static void late_reply_is_dead_letter(void) {
    CHECK_EQ(uv_sem_init(&g_release, 0), 0);
    tr_system *sys = check_system(2, 64);
    tr_pid server = check_spawn(sys, &server_spec, NULL);

    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, server, MSG_HOLD, 0, &out, 20), TR_ETIMEDOUT);
    uv_sem_post(&g_release);
    CHECK_EQ(tr_send_i64(sys, server, CHECK_MSG_EXIT, 0), 0);

    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 1);
    uv_sem_destroy(&g_release);
}

#define ASK_THREADS 4
#define ASKS_PER_THREAD 1000

static tr_pid g_servers[2];

static void asking_thread(void *arg) {
    int id = *(const int *)arg;
    for (int64_t i = 0; i < ASKS_PER_THREAD; i++) {
        int64_t v = id * 1000000 + i, out = 0;
        CHECK_EQ(tr_ask_i64(g_sys, g_servers[id % 2], MSG_DOUBLE, v, &out, -1), 0);
        CHECK_EQ(out, 2 * v);
    }
}

static void concurrent_plain_asks(void) {
    static int ids[ASK_THREADS];
    g_sys = check_system(2, 64);
    g_servers[0] = check_spawn(g_sys, &server_spec, NULL);
    g_servers[1] = check_spawn(g_sys, &server_spec, NULL);

    uv_thread_t threads[ASK_THREADS];
    for (int t = 0; t < ASK_THREADS; t++) {
        ids[t] = t;
        CHECK_EQ(uv_thread_create(&threads[t], asking_thread, &ids[t]), 0);
    }
    for (int t = 0; t < ASK_THREADS; t++)
        CHECK_EQ(uv_thread_join(&threads[t]), 0);

    CHECK_EQ(tr_system_stop(g_sys), 0);
    tr_system_stats st = check_finish(g_sys);
    CHECK_EQ(st.dead_letters, 0);
}

/* ---- from actors ----------------------------------------------------------- */

#define ASYNC_ASKS 100

/* The asker's books: only it writes them; main reads them after the stop. */
static struct {
    uint32_t ref[ASYNC_ASKS];
    int answered[ASYNC_ASKS];
    int replies;
    uint32_t stall_ref;
    int timeouts;
} g_asker;

static tr_pid g_server;

static int ask_many(tr_ctx *cx) {
    tr_system *sys = tr_ctx_system(cx);
    uint32_t ref = 0;
    tr_msg *req = i64_msg(sys, MSG_DOUBLE, 1);
    CHECK_EQ(tr_ask_async(cx, g_server, req, 0, &ref), TR_EINVAL);
    CHECK_EQ(tr_ask_async(cx, g_server, req, 100, NULL), TR_EINVAL);
    CHECK_EQ(tr_msg_free(req), 0); /* refused with TR_EINVAL: still ours */

    for (int i = 0; i < ASYNC_ASKS; i++) {
        req = i64_msg(sys, MSG_DOUBLE, i);
        CHECK_EQ(tr_ask_async(cx, g_server, req, 10000, &g_asker.ref[i]), 0);
    }
    return 0;
}

static int take_reply(tr_ctx *cx, tr_msg *m) {
    CHECK(tr_msg_is_reply(m));
    CHECK_EQ(tr_msg_sender(m), g_server);
    int64_t i = tr_msg_i64(m) / 2;
    CHECK(i >= 0 && i < ASYNC_ASKS);
    CHECK_EQ(tr_msg_ref(m), g_asker.ref[i]);
    CHECK(!g_asker.answered[i]);
    g_asker.answered[i] = 1;
    if (++g_asker.replies < ASYNC_ASKS)
        return 0;
    CHECK_EQ(tr_send_i64(tr_ctx_system(cx), g_server, CHECK_MSG_EXIT, 0), 0);
    return tr_exit(cx, 0);
}

static int asker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_GO: return ask_many(cx);
    case MSG_DOUBLE: return take_reply(cx, m);
    case MSG_GO_STALL:
        return tr_ask_async(cx, g_server, i64_msg(tr_ctx_system(cx), MSG_STALL, 0), 20,
                            &g_asker.stall_ref);
    case TR_MSG_ASK_TIMEOUT:
        CHECK(tr_msg_is_reply(m));
        CHECK_EQ(tr_msg_ref(m), g_asker.stall_ref);
        g_asker.timeouts++;
        atomic_store(&g_asker_gave_up, 1);
        return 0;
    }
    CHECK_EQ(tr_msg_type(m), CHECK_MSG_EXIT); /* and never the late reply */
    return tr_exit(cx, 0);
}

static const tr_actor_spec asker_spec = {.name = "asker", .receive = asker_receive};

/* Runs an asker started by go against a fresh server until both exit. */
static tr_system_stats run_asker(uint32_t go) {
    memset(&g_asker, 0, sizeof g_asker);
    atomic_store(&g_asker_gave_up, 0);
    tr_system *sys = check_system(2, 64);
    g_server = check_spawn(sys, &server_spec, NULL);
    tr_pid asker = check_spawn(sys, &asker_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, asker, go, 0), 0);
    return check_finish(sys);
}

static void actor_asks_async(void) {
    tr_system_stats st = run_asker(MSG_GO);
    CHECK_EQ(g_asker.replies, ASYNC_ASKS);
    for (int i = 0; i < ASYNC_ASKS; i++)
        for (int j = 0; j < i; j++)
            CHECK(g_asker.ref[i] != g_asker.ref[j]);
    CHECK_EQ(g_asker.timeouts, 0);
    CHECK_EQ(st.dead_letters, 0);
}

static void actor_ask_times_out(void) {
    tr_system_stats st = run_asker(MSG_GO_STALL);
    CHECK_EQ(g_asker.timeouts, 1);
    CHECK_EQ(g_asker.replies, 0);
    CHECK_EQ(st.dead_letters, 1); /* the reply after the timeout */
}

int main(void) {
    RUN(plain_thread_asks);
    RUN(late_reply_is_dead_letter);
    RUN(concurrent_plain_asks);
    RUN(actor_asks_async);
    RUN(actor_ask_times_out);
    return check_summary();
}
