/* test_hardening.c — what a new user hit, each case failing on the runtime
 * before the hardening: asks that hung (released by a stop or a shutdown,
 * failed at once when the target exits or does not reply), blocking calls
 * inside a plain thread's init, calls after a stop, sends and calls racing a
 * stop or a shutdown, a reply to an asker that gave up, a kept tr_ctx used in
 * another actor's callback, a stale tr_msg_free, and the smaller API items
 * (tr_msg_create, exit reasons and names, keep_running, msgpack nesting). */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <troupe/msgpack.h>
#include <uv.h>

enum {
    MSG_HOLD = 1,  /* receive spins until g_release, then returns without replying */
    MSG_KEEP,      /* kept pending: forwarded back to itself (1 ms apart) until the stop */
    MSG_CRASH,     /* receive crashes with TR_EXIT_USER(7) */
    MSG_EXIT,      /* receive calls tr_exit(cx, 0) */
    MSG_UNHANDLED, /* receive returns TR_EUNHANDLED */
    MSG_SLOW_ECHO, /* sleeps 100 ms, then replies with the README idiom */
    MSG_ECHO,
    MSG_COUNT,       /* counted, not replied to */
    MSG_ASK_INSIDE,  /* replies with what a tr_ask inside receive returned */
    MSG_BAD_EXIT,    /* replies with what tr_exit(cx, 5) returned */
    MSG_USER_EXIT,   /* tr_exit(cx, payload) */
    MSG_CHECK_BYTES, /* replies 1 if the payload is the pattern of seed 77 */
    MSG_SAVE_CTX,
    MSG_USE_SAVED_CTX,
    MSG_START, /* the async asker: starts its asks */
};

static atomic_int g_holding, g_release, g_keeping;
static tr_ctx *g_saved_ctx;
static atomic_int g_saved_ctx_results; /* how many misuses of the kept ctx were refused */
static atomic_llong g_counted;
static atomic_int g_terminate_reason;

static int server_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_HOLD:
        atomic_store(&g_holding, 1);
        while (!atomic_load(&g_release))
            uv_sleep(1);
        return 0;
    case MSG_KEEP:
        atomic_store(&g_keeping, 1);
        uv_sleep(1);
        return tr_msg_forward(cx, tr_self(cx), m);
    case MSG_CRASH: return TR_EXIT_USER(7);
    case MSG_EXIT: return tr_exit(cx, 0);
    case MSG_UNHANDLED: return TR_EUNHANDLED;
    case MSG_SLOW_ECHO: uv_sleep(100); return tr_reply_i64(cx, m, 42);
    case MSG_ECHO: return tr_reply_i64(cx, m, tr_msg_i64(m));
    case MSG_COUNT: atomic_fetch_add(&g_counted, 1); return 0;
    case MSG_ASK_INSIDE: {
        int64_t out;
        return tr_reply_i64(cx, m, tr_ask_i64(sys, tr_self(cx), MSG_ECHO, 1, &out, 1000));
    }
    case MSG_BAD_EXIT: return tr_reply_i64(cx, m, tr_exit(cx, 5));
    case MSG_USER_EXIT: return tr_exit(cx, (int)tr_msg_i64(m));
    case MSG_CHECK_BYTES:
        return tr_reply_i64(cx, m,
                            tr_msg_size(m) == 64 && check_pattern_ok(tr_msg_data(m), 64, 77));
    case MSG_SAVE_CTX: g_saved_ctx = cx; return 0;
    case MSG_USE_SAVED_CTX:
        /* Another actor's context, kept from an earlier callback: refused. */
        atomic_fetch_add(&g_saved_ctx_results,
                         tr_exit(g_saved_ctx, TR_EXIT_USER(1)) == TR_ENOTACTOR);
        atomic_fetch_add(&g_saved_ctx_results, tr_self(g_saved_ctx) == TR_ENOTACTOR);
        atomic_fetch_add(&g_saved_ctx_results, tr_reply_i64(g_saved_ctx, m, 1) == TR_ENOTACTOR);
        atomic_fetch_add(&g_saved_ctx_results, tr_ctx_system(g_saved_ctx) == NULL);
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

/* Waits for flag to be set; a runtime that never sets it fails the test
 * here after 30 s instead of hanging. */
static void wait_flag(atomic_int *flag) {
    uint64_t give_up = uv_hrtime() + 30000000000ull;
    while (!atomic_load(flag)) {
        CHECK(uv_hrtime() < give_up);
        uv_sleep(1);
    }
}

/* ---- asks that cannot be answered ---------------------------------------- */

typedef struct {
    tr_system *sys;
    tr_pid to;
    uint32_t type;
    int rc;
    atomic_int returned; /* set right after tr_ask returned */
} asker;

static void ask_thread(void *arg) {
    asker *a = arg;
    int64_t out;
    a->rc = tr_ask_i64(a->sys, a->to, a->type, 0, &out, -1);
    atomic_store(&a->returned, 1);
}

/* A thread blocked in tr_ask(-1) on a server that holds (MSG_HOLD) or keeps
 * (MSG_KEEP) the request. */
static void start_blocked_ask(tr_system *sys, asker *a, uv_thread_t *t, uint32_t type) {
    atomic_store(&g_holding, 0);
    atomic_store(&g_release, 0);
    atomic_store(&g_keeping, 0);
    *a = (asker){.sys = sys, .to = check_spawn(sys, &server_spec, NULL), .type = type};
    CHECK_EQ(uv_thread_create(t, ask_thread, a), 0);
    wait_flag(type == MSG_HOLD ? &g_holding : &g_keeping);
}

static void stop_releases_blocked_ask(void) {
    asker a;
    uv_thread_t t;
    tr_system *sys = check_system(2, 64);
    start_blocked_ask(sys, &a, &t, MSG_HOLD);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(uv_thread_join(&t), 0); /* returns although the actor is still busy */
    CHECK_EQ(a.rc, TR_ESTOPPED);
    atomic_store(&g_release, 1);
    check_finish(sys);

    /* The actor ends its receive (without a reply) just after the stop: the
       stop came first, so still TR_ESTOPPED. A few rounds, as the notice of
       the missing reply races the stop's wake-up. */
    for (int round = 0; round < 10; round++) {
        sys = check_system(2, 64);
        start_blocked_ask(sys, &a, &t, MSG_HOLD);
        CHECK_EQ(tr_system_stop(sys), 0);
        atomic_store(&g_release, 1);
        CHECK_EQ(uv_thread_join(&t), 0);
        CHECK_EQ(a.rc, TR_ESTOPPED);
        check_finish(sys);
    }
}

/* The request is kept (MSG_KEEP: no worker blocked) when shutdown starts. */
static void shutdown_releases_blocked_ask(void) {
    for (int round = 0; round < 5; round++) {
        asker a;
        uv_thread_t t;
        tr_system *sys = check_system(2, 64);
        start_blocked_ask(sys, &a, &t, MSG_KEEP);
        CHECK_EQ(tr_system_shutdown(sys), 0);
        CHECK(atomic_load(&a.returned)); /* shutdown waited until it had left tr_ask */
        CHECK_EQ(a.rc, TR_ESTOPPED);
        CHECK_EQ(uv_thread_join(&t), 0);
    }
}

static void ask_fails_when_no_reply_can_come(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys); /* keeps the system up while servers die */
    int64_t out;
    const int timeouts[] = {-1, 10000};
    for (int i = 0; i < 2; i++) {
        tr_pid s = check_spawn(sys, &server_spec, NULL);
        /* At once: not TR_ETIMEDOUT after 10 s, nor a wait forever. */
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
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.unhandled, 1);
}

/* An actor's ask to a crashing actor gets one TR_MSG_ASK_FAILED and no
 * timeout: a second ask (to a server that keeps its request, never replying)
 * times out after 200 ms, long past the first ask's 50 ms, and is the only
 * timeout. */
static struct {
    tr_pid crasher, keeper;
    uint32_t ref1, ref2;
    atomic_int failed, failed_reason, failed_other, timeouts1, timeouts2, replies, done;
} g_async;

static int async_asker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_START:
        CHECK_EQ(tr_ask_async(cx, g_async.crasher, check_msg(sys, MSG_CRASH, 0), 50, &g_async.ref1),
                 0);
        return 0;
    case TR_MSG_ASK_FAILED:
        CHECK(tr_msg_is_reply(m));
        if (tr_msg_ref(m) != g_async.ref1) {
            atomic_fetch_add(&g_async.failed_other, 1);
            return 0;
        }
        atomic_store(&g_async.failed_reason, (int)tr_msg_i64(m));
        if (atomic_fetch_add(&g_async.failed, 1) == 0)
            CHECK_EQ(
                tr_ask_async(cx, g_async.keeper, check_msg(sys, MSG_KEEP, 0), 200, &g_async.ref2),
                0);
        return 0;
    case TR_MSG_ASK_TIMEOUT:
        if (tr_msg_ref(m) == g_async.ref1)
            atomic_fetch_add(&g_async.timeouts1, 1);
        else if (tr_msg_ref(m) == g_async.ref2) {
            atomic_fetch_add(&g_async.timeouts2, 1);
            atomic_store(&g_async.done, 1);
        }
        return 0;
    }
    if (tr_msg_is_reply(m)) {
        atomic_fetch_add(&g_async.replies, 1);
        return 0;
    }
    return check_idle_receive(cx, state, m);
}

static void async_ask_fails_at_once(void) {
    static const tr_actor_spec spec = {.name = "async asker", .receive = async_asker_receive};
    tr_system *sys = check_system(2, 64);
    g_async.crasher = check_spawn(sys, &server_spec, NULL);
    g_async.keeper = check_spawn(sys, &server_spec, NULL);
    tr_pid a = check_spawn(sys, &spec, NULL);
    CHECK_EQ(tr_send_i64(sys, a, MSG_START, 0), 0);
    wait_flag(&g_async.done);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
    CHECK(g_async.ref1 != g_async.ref2);
    CHECK_EQ(atomic_load(&g_async.failed), 1);
    CHECK_EQ(atomic_load(&g_async.failed_reason), TR_ENOACTOR);
    CHECK_EQ(atomic_load(&g_async.failed_other), 0);
    CHECK_EQ(atomic_load(&g_async.timeouts1), 0);
    CHECK_EQ(atomic_load(&g_async.timeouts2), 1);
    CHECK_EQ(atomic_load(&g_async.replies), 0);
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
    check_spawn(sys, &spec, NULL); /* refused, not waited out: else TR_ETIMEDOUT or a hang */
    CHECK_EQ(g_init.ask, TR_EINACTOR);
    CHECK_EQ(g_init.wait, TR_EINACTOR);
    CHECK_EQ(g_init.shutdown, TR_EINACTOR);
    CHECK_EQ(g_init.receive, TR_EINACTOR);
    CHECK(g_init.loop_null);
    /* On a worker too. */
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, g_init.live, MSG_ASK_INSIDE, 0, &out, -1), 0);
    CHECK_EQ(out, TR_EINACTOR);
    CHECK_EQ(tr_inbox_close(g_init.inbox), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

/* ---- calls racing a stop or a shutdown ------------------------------------ */

static void calls_after_stop_are_refused(void) {
    atomic_store(&g_counted, 0);
    tr_system *sys = check_system(2, 64);
    tr_pid s = check_spawn(sys, &server_spec, NULL);
    tr_pid dead = check_dead_pid(sys);
    tr_msg *early = check_msg(sys, MSG_COUNT, 8); /* made before the stop, sent after */
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_msg *m = NULL;
    int64_t out;
    CHECK_EQ(tr_send_i64(sys, s, MSG_COUNT, 0), TR_ESTOPPED);
    CHECK_EQ(tr_send_i64(sys, dead, MSG_COUNT, 0), TR_ESTOPPED);
    CHECK_EQ(tr_msg_send(sys, s, early), TR_ESTOPPED);
    CHECK_EQ(tr_spawn(sys, &server_spec, NULL), TR_ESTOPPED);
    CHECK_EQ(tr_msg_create(sys, MSG_COUNT, 8, &m), TR_ESTOPPED);
    CHECK(m == NULL);
    CHECK_EQ(tr_ask_i64(sys, s, MSG_ECHO, 1, &out, -1), TR_ESTOPPED);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0); /* refused with a code, so not dead letters */
    CHECK_EQ(atomic_load(&g_counted), 0);
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

/* A plain thread's spawn whose init is still running when shutdown starts. */
static atomic_int g_in_init;

static int slow_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    (void)state;
    (void)arg;
    atomic_store(&g_in_init, 1);
    uv_sleep(50);
    return 0;
}

typedef struct {
    tr_system *sys;
    tr_pid rc;
    atomic_int returned;
} spawner;

static void spawn_thread(void *arg) {
    static const tr_actor_spec spec = {
        .name = "slow init", .init = slow_init, .receive = check_idle_receive};
    spawner *s = arg;
    s->rc = tr_spawn(s->sys, &spec, NULL);
    atomic_store(&s->returned, 1);
}

static void shutdown_waits_for_calls_in_flight(void) {
    for (int round = 0; round < 3; round++) {
        tr_system *sys = check_system(2, 64);
        asker a;
        uv_thread_t ta, ts;
        start_blocked_ask(sys, &a, &ta, MSG_KEEP);
        spawner s = {.sys = sys};
        atomic_store(&g_in_init, 0);
        CHECK_EQ(uv_thread_create(&ts, spawn_thread, &s), 0);
        wait_flag(&g_in_init);
        CHECK_EQ(tr_system_shutdown(sys), 0);
        /* Both calls had left the library before shutdown freed anything. */
        CHECK(atomic_load(&a.returned));
        CHECK(atomic_load(&s.returned));
        CHECK_EQ(a.rc, TR_ESTOPPED);
        CHECK(s.rc > 0 || s.rc == TR_ESTOPPED);
        CHECK_EQ(uv_thread_join(&ta), 0);
        CHECK_EQ(uv_thread_join(&ts), 0);
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
    tr_system *sys = check_system(1, 64); /* one worker: both callbacks run on its thread */
    tr_pid a = check_spawn(sys, &server_spec, NULL);
    tr_pid b = check_spawn(sys, &server_spec, NULL);
    atomic_store(&g_saved_ctx_results, 0);
    CHECK_EQ(tr_send_i64(sys, a, MSG_SAVE_CTX, 0), 0);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, b, MSG_USE_SAVED_CTX, 0, &out, -1), 0);
    CHECK_EQ(out, 2);
    CHECK_EQ(atomic_load(&g_saved_ctx_results), 4);
    /* And from a plain thread. */
    CHECK_EQ(tr_exit(g_saved_ctx, 0), TR_ENOTACTOR);
    CHECK_EQ(tr_self(g_saved_ctx), TR_ENOTACTOR);
    CHECK(tr_ctx_loop(g_saved_ctx) == NULL);
    CHECK_EQ(tr_ask_i64(sys, a, MSG_ECHO, 3, &out, -1), 0); /* neither actor exited */
    CHECK_EQ(out, 3);
    CHECK_EQ(tr_ask_i64(sys, b, MSG_ECHO, 4, &out, -1), 0);
    CHECK_EQ(out, 4);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, 2);
    CHECK_EQ(atomic_load(&g_terminate_reason), TR_ESTOPPED);
}

/* A freed message's pointer, reused by another thread's allocation. */
static struct {
    tr_system *sys;
    tr_pid checker;
    tr_msg *stale, *m2, *target;
    atomic_int m2_ready, go;
    int rc, ask_rc;
    int64_t pattern_ok;
} g_msgs;

static void alloc_and_free(void *arg) {
    (void)arg;
    g_msgs.stale = check_msg(g_msgs.sys, MSG_CHECK_BYTES, 64);
    CHECK_EQ(tr_msg_free(g_msgs.stale), 0);
}

/* Allocates m2 (same size), waits while others try the stale pointer, then
 * sends m2 to the checker. */
static void alloc_then_send(void *arg) {
    (void)arg;
    tr_msg *m2 = check_msg(g_msgs.sys, MSG_CHECK_BYTES, 64);
    check_pattern_fill(tr_msg_data(m2), 64, 77);
    g_msgs.m2 = m2;
    atomic_store(&g_msgs.m2_ready, 1);
    wait_flag(&g_msgs.go);
    tr_msg *reply = NULL;
    g_msgs.ask_rc = tr_ask(g_msgs.sys, g_msgs.checker, m2, &reply, -1);
    if (g_msgs.ask_rc == 0) {
        g_msgs.pattern_ok = tr_msg_i64(reply);
        CHECK_EQ(tr_msg_free(reply), 0);
    }
}

static void free_target(void *arg) {
    (void)arg;
    g_msgs.rc = tr_msg_free(g_msgs.target);
}

static void run_thread(void (*fn)(void *), void *arg) {
    uv_thread_t t;
    CHECK_EQ(uv_thread_create(&t, fn, arg), 0);
    CHECK_EQ(uv_thread_join(&t), 0);
}

static void stale_free_is_refused(void) {
    atomic_store(&g_counted, 0);
    tr_system *sys = check_system(2, 64);
    g_msgs.sys = sys;
    g_msgs.checker = check_spawn(sys, &server_spec, NULL);
    /* Plain threads share one LIFO free list; with a few hundred blocks held
       it keeps a freed block on top, so the next allocation most likely
       reuses it. */
    enum { BALLAST = 300 };
    static tr_msg *ballast[BALLAST];
    for (int i = 0; i < BALLAST; i++)
        ballast[i] = check_msg(sys, MSG_COUNT, 64);
    run_thread(alloc_and_free, NULL); /* freed: the pointer is stale from now on */
    uv_thread_t t2;
    CHECK_EQ(uv_thread_create(&t2, alloc_then_send, NULL), 0);
    wait_flag(&g_msgs.m2_ready);
    printf("stale block reused by the next thread: %s\n", g_msgs.m2 == g_msgs.stale ? "yes" : "no");
    CHECK_EQ(tr_msg_free(g_msgs.stale), TR_EALREADY); /* main */
    g_msgs.target = g_msgs.stale;
    run_thread(free_target, NULL); /* a third thread */
    CHECK_EQ(g_msgs.rc, TR_EALREADY);
    atomic_store(&g_msgs.go, 1);
    CHECK_EQ(uv_thread_join(&t2), 0);
    CHECK_EQ(g_msgs.ask_rc, 0);
    CHECK_EQ(g_msgs.pattern_ok, 1); /* m2 arrived intact */

    /* Another thread's message is not ours to free; our own frees once. */
    tr_msg *mine = check_msg(sys, MSG_COUNT, 8);
    g_msgs.target = mine;
    run_thread(free_target, NULL);
    CHECK_EQ(g_msgs.rc, TR_EALREADY);
    CHECK_EQ(tr_msg_free(mine), 0);
    CHECK_EQ(tr_msg_free(mine), TR_EALREADY);
    CHECK_EQ(tr_msg_send(sys, g_msgs.checker, mine), TR_EALREADY);
    for (int i = 0; i < BALLAST; i++)
        CHECK_EQ(tr_msg_free(ballast[i]), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(atomic_load(&g_counted), 0); /* the refused send delivered nothing */
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
    CHECK(m != NULL);
    CHECK_EQ(tr_msg_size(m), 8);
    CHECK_EQ(tr_msg_type(m), MSG_COUNT);
    CHECK_EQ(tr_msg_free(m), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

/* ---- exit reasons, keep_running, msgpack ---------------------------------- */

static void exit_reasons_and_error_names(void) {
    CHECK_EQ(TR_EXIT_USER_CODE(TR_EXIT_USER(5)), 5);
    CHECK_EQ(TR_EXIT_USER_CODE(TR_EXIT_USER(0)), 0);
    CHECK_EQ(TR_EXIT_USER_CODE(TR_ESTOPPED), -1);
    CHECK_EQ(TR_EXIT_USER_CODE(0), -1);
    CHECK(strcmp(tr_strerror(TR_EXIT_USER(5)), "user exit reason") == 0);
    for (int code = -1; code >= -16; code--)
        CHECK(strcmp(tr_strerror(code), "unknown error") != 0);
    CHECK(strcmp(tr_strerror(-100), "unknown error") == 0);
    CHECK(strcmp(tr_strerror(TR_ENOREPLY), "request handled without a reply") == 0);

    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn(sys, &server_spec, NULL);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, a, MSG_BAD_EXIT, 0, &out, -1), 0);
    CHECK_EQ(out, TR_EINVAL);                               /* positive: not a reason */
    CHECK_EQ(tr_ask_i64(sys, a, MSG_ECHO, 6, &out, -1), 0); /* and it did not exit */
    CHECK_EQ(out, 6);
    CHECK_EQ(tr_send_i64(sys, a, MSG_USER_EXIT, TR_EXIT_USER(3)), 0);
    tr_system_stats st = check_finish(sys); /* its exit, the last, stops the system */
    CHECK_EQ(st.exited, 1);
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
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    check_finish(sys);

    /* The default still stops by itself when the last actor exits. */
    cfg.keep_running = 0;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &server_spec, NULL), MSG_EXIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
}

/* A message holding `depth` arrays, each inside the one before. */
static tr_msg *nested_arrays(tr_system *sys, int depth) {
    tr_packer p;
    CHECK_EQ(tr_packer_init(&p, sys, 1), 0);
    for (int i = 0; i < depth; i++)
        CHECK_EQ(msgpack_pack_array(&p.pk, i + 1 < depth ? 1 : 0), 0);
    tr_msg *m = tr_packer_finish(&p);
    CHECK(m != NULL);
    return m;
}

static int unpack_nested(tr_system *sys, int depth) {
    tr_msg *m = nested_arrays(sys, depth);
    msgpack_zone zone;
    CHECK(msgpack_zone_init(&zone, 1024));
    msgpack_object obj;
    int rc = tr_msg_unpack(m, &zone, &obj);
    if (rc == 0) { /* the whole depth is there */
        int seen = 1;
        for (msgpack_object *o = &obj; o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size;
             o = o->via.array.ptr)
            seen++;
        CHECK_EQ(seen, depth);
    }
    msgpack_zone_destroy(&zone);
    CHECK_EQ(tr_msg_free(m), 0);
    return rc;
}

static void msgpack_nesting_limit(void) {
    tr_system *sys = check_system(1, 64);
    check_spawn(sys, &server_spec, NULL);
    CHECK_EQ(unpack_nested(sys, 1), 0);
    CHECK_EQ(unpack_nested(sys, 32), 0);
    CHECK_EQ(unpack_nested(sys, 33), TR_EBADMSG); /* deeper than 32 levels: refused */
    CHECK_EQ(unpack_nested(sys, 40), TR_EBADMSG);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

int main(void) {
    RUN(stop_releases_blocked_ask);
    RUN(shutdown_releases_blocked_ask);
    RUN(ask_fails_when_no_reply_can_come);
    RUN(async_ask_fails_at_once);
    RUN(init_refuses_blocking_calls);
    RUN(calls_after_stop_are_refused);
    RUN(stop_races_sending_threads);
    RUN(shutdown_waits_for_calls_in_flight);
    RUN(reply_to_gone_asker_is_a_dead_letter);
    RUN(kept_ctx_acts_for_nobody_else);
    RUN(stale_free_is_refused);
    RUN(msg_create_says_why);
    RUN(exit_reasons_and_error_names);
    RUN(keep_running_outlives_its_actors);
    RUN(msgpack_nesting_limit);
    return check_summary();
}
