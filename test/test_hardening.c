/* test_hardening.c — what a new user hit, each case failing on the runtime
 * before the hardening: asks that hung (released by a stop, failed at once
 * when the target exits), blocking calls inside a plain thread's init, calls
 * racing a stop or a shutdown, a reply to an asker that gave up, a kept
 * tr_ctx used in another actor's callback, a stale tr_msg_free, and the
 * smaller API items (tr_msg_create, exit reasons, keep_running). */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

enum {
    MSG_HOLD = 1, /* receive spins until g_release, then returns without replying */
    MSG_CRASH,    /* receive crashes with TR_EXIT_USER(7) */
    MSG_EXIT,     /* receive calls tr_exit(cx, 0) */
    MSG_UNHANDLED,
    MSG_SLOW_ECHO, /* sleeps 100 ms, then replies with the README idiom */
    MSG_ECHO,
    MSG_COUNT,
    MSG_ASK_CRASHER, /* the asker: tr_ask_async to the pid in the payload */
    MSG_SAVE_CTX,
    MSG_USE_SAVED_CTX,
};

static atomic_int g_holding, g_release;
static tr_ctx *g_saved_ctx;
static atomic_int g_saved_ctx_results; /* how many misuses of the kept ctx were refused */
static atomic_llong g_counted;
static atomic_int g_terminate_reason;

static int server_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case MSG_HOLD:
        atomic_store(&g_holding, 1);
        while (!atomic_load(&g_release))
            uv_sleep(1);
        return 0;
    case MSG_CRASH: return TR_EXIT_USER(7);
    case MSG_EXIT: return tr_exit(cx, 0);
    case MSG_UNHANDLED: return TR_EUNHANDLED;
    case MSG_SLOW_ECHO: uv_sleep(100); return tr_reply_i64(cx, m, 42);
    case MSG_ECHO: return tr_reply_i64(cx, m, tr_msg_i64(m));
    case MSG_COUNT: atomic_fetch_add(&g_counted, 1); return 0;
    case MSG_SAVE_CTX: g_saved_ctx = cx; return 0;
    case MSG_USE_SAVED_CTX:
        /* Another actor's context, kept from an earlier callback: refused. */
        atomic_fetch_add(&g_saved_ctx_results,
                         tr_exit(g_saved_ctx, TR_EXIT_USER(1)) == TR_ENOTACTOR);
        atomic_fetch_add(&g_saved_ctx_results, tr_self(g_saved_ctx) == TR_ENOTACTOR);
        atomic_fetch_add(&g_saved_ctx_results, tr_reply_i64(g_saved_ctx, m, 1) == TR_ENOTACTOR);
        return tr_reply_i64(cx, m, 2);
    }
    return check_idle_receive(cx, state, m);
}

static void server_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)state;
    atomic_store(&g_terminate_reason, reason);
}

static const tr_actor_spec server_spec = {
    .name = "server", .receive = server_receive, .terminate = server_terminate};

/* ---- asks that cannot be answered ---------------------------------------- */

typedef struct {
    tr_system *sys;
    tr_pid to;
    uint32_t type;
    int timeout;
    int rc;
    atomic_int returned;
} asker;

static void ask_thread(void *arg) {
    asker *a = arg;
    int64_t out;
    a->rc = tr_ask_i64(a->sys, a->to, a->type, 0, &out, a->timeout);
    atomic_store(&a->returned, 1);
}

static void hold_reset(void) {
    atomic_store(&g_holding, 0);
    atomic_store(&g_release, 0);
}

static void wait_holding(void) {
    while (!atomic_load(&g_holding))
        uv_sleep(1);
}

/* A thread blocked in tr_ask(-1) on a server that holds the request. */
static tr_system *start_held_ask(asker *a, uv_thread_t *t) {
    hold_reset();
    tr_system *sys = check_system(2, 64);
    *a = (asker){
        .sys = sys, .to = check_spawn(sys, &server_spec, NULL), .type = MSG_HOLD, .timeout = -1};
    CHECK_EQ(uv_thread_create(t, ask_thread, a), 0);
    wait_holding();
    return sys;
}

static void stop_releases_blocked_ask(void) {
    asker a;
    uv_thread_t t;
    tr_system *sys = start_held_ask(&a, &t);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(uv_thread_join(&t), 0); /* returns although the actor is still busy */
    CHECK_EQ(a.rc, TR_ESTOPPED);
    atomic_store(&g_release, 1);
    check_finish(sys);
}

static void shutdown_waits_for_blocked_ask(void) {
    asker a;
    uv_thread_t t;
    tr_system *sys = start_held_ask(&a, &t);
    atomic_store(&g_release, 1);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK(atomic_load(&a.returned)); /* shutdown freed nothing under it */
    CHECK(a.rc == TR_ESTOPPED || a.rc == TR_ENOREPLY);
    CHECK_EQ(uv_thread_join(&t), 0);
}

static void ask_fails_when_no_reply_can_come(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys); /* keeps the system up while servers die */
    int64_t out;
    const int timeouts[] = {-1, 10000};
    for (int i = 0; i < 2; i++) {
        tr_pid s = check_spawn(sys, &server_spec, NULL);
        CHECK_EQ(tr_ask_i64(sys, s, MSG_CRASH, 0, &out, timeouts[i]), TR_ENOACTOR);
        CHECK_EQ(atomic_load(&g_terminate_reason), TR_EXIT_USER(7));
    }
    /* Queued behind the message that ends the actor: failed, not left waiting. */
    tr_pid s = check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, s, MSG_EXIT, 0), 0);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_ECHO, 1, &out, -1), TR_ENOACTOR);
    s = check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_UNHANDLED, 0, &out, -1), TR_EUNHANDLED);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_COUNT, 0, &out, -1), TR_ENOREPLY);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_ECHO, 5, &out, -1), 0); /* and it still serves */
    CHECK_EQ(out, 5);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

/* An actor's ask to a crashing actor gets TR_MSG_ASK_FAILED, and only that. */
static atomic_int g_failed, g_timeouts, g_failed_reason;
static uint32_t g_async_ref;

static int async_asker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_ASK_CRASHER: {
        tr_msg *req = check_msg(sys, MSG_CRASH, 0);
        CHECK_EQ(tr_ask_async(cx, (tr_pid)tr_msg_i64(m), req, 50, &g_async_ref), 0);
        return 0;
    }
    case TR_MSG_ASK_FAILED:
        CHECK(tr_msg_is_reply(m));
        CHECK_EQ(tr_msg_ref(m), g_async_ref);
        atomic_store(&g_failed_reason, (int)tr_msg_i64(m));
        atomic_fetch_add(&g_failed, 1);
        return 0;
    case TR_MSG_ASK_TIMEOUT: atomic_fetch_add(&g_timeouts, 1); return 0;
    }
    return check_idle_receive(cx, state, m);
}

static void async_ask_fails_at_once(void) {
    static const tr_actor_spec spec = {.name = "async asker", .receive = async_asker_receive};
    tr_system *sys = check_system(2, 64);
    tr_pid crasher = check_spawn(sys, &server_spec, NULL);
    tr_pid a = check_spawn(sys, &spec, NULL);
    CHECK_EQ(tr_send_i64(sys, a, MSG_ASK_CRASHER, crasher), 0);
    while (!atomic_load(&g_failed))
        uv_sleep(1);
    uv_sleep(100); /* past the ask's 50 ms timeout: it must not fire as well */
    CHECK_EQ(tr_send_i64(sys, a, CHECK_MSG_EXIT, 0), 0);
    check_finish(sys);
    CHECK_EQ(atomic_load(&g_failed), 1);
    CHECK_EQ(atomic_load(&g_timeouts), 0);
    CHECK_EQ(atomic_load(&g_failed_reason), TR_ENOACTOR);
}

/* ---- blocking calls inside a plain thread's init ------------------------- */

static struct {
    tr_system *sys;
    tr_pid live;
    tr_inbox *inbox;
    int ask, wait, shutdown, receive, loop_null;
} g_init;

static int blocking_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    (void)arg;
    int64_t out;
    tr_msg *m;
    g_init.ask = tr_ask_i64(g_init.sys, g_init.live, MSG_ECHO, 1, &out, 1000);
    g_init.wait = tr_system_wait(g_init.sys, 1000);
    g_init.shutdown = tr_system_shutdown(g_init.sys);
    g_init.receive = tr_inbox_receive(g_init.inbox, &m, 1000);
    g_init.loop_null = tr_ctx_loop(cx) == NULL;
    return 0;
}

static void init_refuses_blocking_calls(void) {
    static const tr_actor_spec spec = {
        .name = "blocking init", .init = blocking_init, .receive = check_idle_receive};
    tr_system *sys = check_system(2, 64);
    g_init.sys = sys;
    g_init.live = check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(tr_inbox_open(sys, &g_init.inbox), 0);
    uint64_t t0 = uv_hrtime();
    check_spawn(sys, &spec, NULL);
    CHECK(uv_hrtime() - t0 < 500000000ull); /* refused, not waited out (1 s each) */
    CHECK_EQ(g_init.ask, TR_EINACTOR);
    CHECK_EQ(g_init.wait, TR_EINACTOR);
    CHECK_EQ(g_init.shutdown, TR_EINACTOR);
    CHECK_EQ(g_init.receive, TR_EINACTOR);
    CHECK(g_init.loop_null);
    CHECK_EQ(tr_inbox_close(g_init.inbox), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

/* ---- calls racing a stop or a shutdown ------------------------------------ */

static void calls_after_stop_are_refused(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid s = check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_msg *m = NULL;
    int64_t out;
    CHECK_EQ(tr_send_i64(sys, s, MSG_COUNT, 0), TR_ESTOPPED);
    CHECK_EQ(tr_spawn(sys, &server_spec, NULL), TR_ESTOPPED);
    CHECK_EQ(tr_msg_create(sys, MSG_COUNT, 8, &m), TR_ESTOPPED);
    CHECK(m == NULL);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_ECHO, 1, &out, -1), TR_ESTOPPED);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0); /* refused with a code, so not dead letters */
}

#define SENDERS 3

typedef struct {
    tr_system *sys;
    tr_pid to;
    int64_t sent, dead; /* returned 0; returned TR_ENOACTOR (the counter had stopped) */
    int other_rc;
} sender;

/* Sends until TR_ESTOPPED. A send that passed the stop check just before the
 * stop may find the counter already ended: TR_ENOACTOR, a counted dead letter. */
static void send_until_stopped(void *arg) {
    sender *s = arg;
    int rc;
    while ((rc = tr_send_i64(s->sys, s->to, MSG_COUNT, 0)) != TR_ESTOPPED) {
        if (rc == 0)
            s->sent++;
        else if (rc == TR_ENOACTOR)
            s->dead++;
        else
            s->other_rc = rc;
    }
}

static void stop_races_sending_threads(void) {
    for (int round = 0; round < 5; round++) {
        atomic_store(&g_counted, 0);
        tr_system *sys = check_system(2, 64);
        sender s[SENDERS];
        uv_thread_t t[SENDERS];
        tr_pid counter = check_spawn(sys, &server_spec, NULL);
        for (int i = 0; i < SENDERS; i++) {
            s[i] = (sender){.sys = sys, .to = counter};
            CHECK_EQ(uv_thread_create(&t[i], send_until_stopped, &s[i]), 0);
        }
        while (atomic_load(&g_counted) < 1000)
            uv_sleep(1);
        CHECK_EQ(tr_system_stop(sys), 0);
        CHECK_EQ(tr_system_wait(sys, -1), 0);
        int64_t sent = 0, dead = 0;
        for (int i = 0; i < SENDERS; i++) {
            CHECK_EQ(uv_thread_join(&t[i]), 0);
            CHECK_EQ(s[i].other_rc, 0);
            sent += s[i].sent;
            dead += s[i].dead;
        }
        tr_system_stats st = check_finish(sys);
        /* Nothing lost: every accepted message was counted or is a dead letter. */
        CHECK_EQ(atomic_load(&g_counted) + (int64_t)st.dead_letters, sent + dead);
    }
}

/* ---- replies, contexts, messages ------------------------------------------ */

static void reply_to_gone_asker_is_a_dead_letter(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid s = check_spawn(sys, &server_spec, NULL);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, s, MSG_SLOW_ECHO, 0, &out, 10), TR_ETIMEDOUT);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_ECHO, 9, &out, -1), 0); /* the server lived on */
    CHECK_EQ(out, 9);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 1); /* the late reply */
    CHECK_EQ(atomic_load(&g_terminate_reason), TR_ESTOPPED);
}

static void kept_ctx_acts_for_nobody_else(void) {
    tr_system *sys = check_system(1, 64); /* one worker: both callbacks share its stack */
    tr_pid a = check_spawn(sys, &server_spec, NULL);
    tr_pid b = check_spawn(sys, &server_spec, NULL);
    atomic_store(&g_saved_ctx_results, 0);
    CHECK_EQ(tr_send_i64(sys, a, MSG_SAVE_CTX, 0), 0);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, b, MSG_USE_SAVED_CTX, 0, &out, -1), 0);
    CHECK_EQ(out, 2);
    CHECK_EQ(atomic_load(&g_saved_ctx_results), 3);
    CHECK_EQ(tr_exit(g_saved_ctx, 0), TR_ENOTACTOR);        /* and from a plain thread */
    CHECK_EQ(tr_ask_i64(sys, a, MSG_ECHO, 3, &out, -1), 0); /* neither actor exited */
    CHECK_EQ(tr_ask_i64(sys, b, MSG_ECHO, 4, &out, -1), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static struct {
    tr_system *sys;
    tr_msg *m;
    int rc;
} g_msgs;

static void alloc_and_free(void *arg) {
    (void)arg;
    g_msgs.m = check_msg(g_msgs.sys, MSG_COUNT, 8);
    CHECK_EQ(tr_msg_free(g_msgs.m), 0);
}

static void alloc_one(void *arg) {
    *(tr_msg **)arg = check_msg(g_msgs.sys, MSG_COUNT, 8);
}

static void free_stale(void *arg) {
    (void)arg;
    g_msgs.rc = tr_msg_free(g_msgs.m);
}

static void run_thread(void (*fn)(void *), void *arg) {
    uv_thread_t t;
    CHECK_EQ(uv_thread_create(&t, fn, arg), 0);
    CHECK_EQ(uv_thread_join(&t), 0);
}

static void stale_free_is_refused(void) {
    tr_system *sys = check_system(2, 64);
    g_msgs.sys = sys;
    run_thread(alloc_and_free, NULL); /* freed: the pointer is stale from now on */
    tr_msg *reused = NULL;
    run_thread(alloc_one, &reused); /* very likely the same block, now another thread's */
    CHECK_EQ(tr_msg_free(g_msgs.m), TR_EALREADY);
    run_thread(free_stale, NULL);
    CHECK_EQ(g_msgs.rc, TR_EALREADY);
    CHECK_EQ(tr_msg_type(reused), MSG_COUNT); /* still intact */
    /* Another thread's message is not ours to free; our own frees once. */
    tr_msg *mine = check_msg(sys, MSG_COUNT, 8);
    g_msgs.m = mine;
    run_thread(free_stale, NULL);
    CHECK_EQ(g_msgs.rc, TR_EALREADY);
    CHECK_EQ(tr_msg_free(mine), 0);
    CHECK_EQ(tr_msg_free(mine), TR_EALREADY);
    CHECK_EQ(tr_msg_send(sys, check_spawn(sys, &server_spec, NULL), mine), TR_EALREADY);
    g_msgs.m = reused;
    run_thread(free_stale, NULL); /* reused belongs to the finished thread: refused */
    CHECK_EQ(g_msgs.rc, TR_EALREADY);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys); /* the shutdown frees the pools, reused with them */
}

static void msg_create_says_why(void) {
    tr_system *sys = check_system(1, 64);
    check_spawn(sys, &server_spec, NULL);
    tr_msg *m = (tr_msg *)&m;
    CHECK_EQ(tr_msg_create(sys, MSG_COUNT, 8, NULL), TR_EINVAL);
    CHECK_EQ(tr_msg_create(NULL, MSG_COUNT, 8, &m), TR_EINVAL);
    CHECK(m == NULL);
    CHECK_EQ(tr_msg_create(sys, TR_MSG_RESERVED, 8, &m), TR_EINVAL);
    CHECK_EQ(tr_msg_create(sys, MSG_COUNT, ((size_t)64 << 20) + 1, &m), TR_ETOOBIG);
    CHECK_EQ(tr_msg_create(sys, MSG_COUNT, 8, &m), 0);
    CHECK(m != NULL && tr_msg_size(m) == 8);
    CHECK_EQ(tr_msg_free(m), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

/* ---- exit reasons, keep_running ------------------------------------------- */

static int user_exit_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_exit(cx, 5), TR_EINVAL); /* positive: not a reason */
    return tr_exit(cx, (int)tr_msg_i64(m));
}

static void user_exit_reasons(void) {
    static const tr_actor_spec spec = {
        .name = "user exit", .receive = user_exit_receive, .terminate = server_terminate};
    CHECK_EQ(TR_EXIT_USER_CODE(TR_EXIT_USER(5)), 5);
    CHECK_EQ(TR_EXIT_USER_CODE(TR_ESTOPPED), -1);
    CHECK(strcmp(tr_strerror(TR_EXIT_USER(3)), "user exit reason") == 0);
    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn(sys, &spec, NULL);
    CHECK_EQ(tr_send_i64(sys, a, 1, TR_EXIT_USER(3)), 0);
    check_finish(sys); /* its exit, the last, stops the system */
    CHECK_EQ(atomic_load(&g_terminate_reason), TR_EXIT_USER(3));
}

static void keep_running_outlives_its_actors(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    CHECK_EQ(cfg.keep_running, 0);
    cfg.workers = 2;
    cfg.keep_running = 1;
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    tr_pid a = check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, a, MSG_EXIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, 50), TR_ETIMEDOUT); /* no actor, still up */
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, check_spawn(sys, &server_spec, NULL), MSG_ECHO, 8, &out, -1), 0);
    CHECK_EQ(out, 8);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

int main(void) {
    RUN(stop_releases_blocked_ask);
    RUN(shutdown_waits_for_blocked_ask);
    RUN(ask_fails_when_no_reply_can_come);
    RUN(async_ask_fails_at_once);
    RUN(init_refuses_blocking_calls);
    RUN(calls_after_stop_are_refused);
    RUN(stop_races_sending_threads);
    RUN(reply_to_gone_asker_is_a_dead_letter);
    RUN(kept_ctx_acts_for_nobody_else);
    RUN(stale_free_is_refused);
    RUN(msg_create_says_why);
    RUN(user_exit_reasons);
    RUN(keep_running_outlives_its_actors);
    return check_summary();
}
