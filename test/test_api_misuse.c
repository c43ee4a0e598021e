/* test_api_misuse.c — every public entry point answers bad input with its
 * documented TR_E* code instead of crashing: bad configs and specs, NULL
 * systems, messages used after they were consumed, actor-only calls from plain
 * threads (and with a stale context), blocking calls from inside an actor,
 * reserved message types, and tr_strerror's names. */
#include "actor.h"
#include "check.h"

#include <limits.h>
#include <string.h>

enum { MSG_PING = 1, MSG_PROBE, MSG_NO_SENDER };

static void bad_configs(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    CHECK(cfg.workers >= 1);
    CHECK_EQ(cfg.batch, 64);

    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, NULL), TR_EINVAL);
    cfg.workers = 0;
    CHECK_EQ(tr_system_create(&cfg, &sys), TR_EINVAL);
    CHECK(tr_system_new(&cfg) == NULL);
    cfg.workers = 1025;
    CHECK_EQ(tr_system_create(&cfg, &sys), TR_EINVAL);
    cfg.workers = 1;
    cfg.batch = 0;
    CHECK_EQ(tr_system_create(&cfg, &sys), TR_EINVAL);
    CHECK(tr_system_new(&cfg) == NULL);

    /* NULL config means the defaults. */
    CHECK_EQ(tr_system_create(NULL, &sys), 0);
    tr_system_stats st;
    CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    tr_system_config_init(&cfg);
    CHECK_EQ(st.workers, cfg.workers);
    CHECK_EQ(tr_system_shutdown(sys), 0);
}

static void bad_specs(void) {
    tr_system *sys = check_system(2, 64);
    tr_actor_spec spec = {.name = "bad", .receive = check_idle_receive};

    CHECK_EQ(tr_spawn(NULL, &spec, NULL), TR_EINVAL);
    CHECK_EQ(tr_spawn(sys, NULL, NULL), TR_EINVAL);
    spec.receive = NULL;
    CHECK_EQ(tr_spawn(sys, &spec, NULL), TR_EINVAL);
    spec.receive = check_idle_receive;
    spec.state_size = ((size_t)1 << 20) + 1;
    CHECK_EQ(tr_spawn(sys, &spec, NULL), TR_EINVAL);
    spec.state_size = 0;
    spec.overflow = (tr_overflow)7;
    CHECK_EQ(tr_spawn(sys, &spec, NULL), TR_EINVAL);

    /* The largest state is accepted. */
    static const tr_actor_spec big = {
        .name = "big", .state_size = (size_t)1 << 20, .receive = check_idle_receive};
    tr_pid pid = check_spawn(sys, &big, NULL);
    CHECK_EQ(tr_send_i64(sys, pid, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, 1);
}

/* A pid of another node, on a system that is not a node (no tr_node_start):
 * a dead letter like any dead pid, for every kind of mail. */
static void other_node_pid(void) {
    tr_system *sys = check_system(1, 64);
    check_spawn_idle(sys);
    tr_pid far = (tr_pid)((uint64_t)5 << TR_NODE_SHIFT | 1);
    int64_t out = 0;
    CHECK_EQ(tr_send_i64(sys, far, MSG_PING, 1), TR_ENOACTOR);
    CHECK_EQ(tr_ask_i64(sys, far, MSG_PING, 1, &out, 1000), TR_ENOACTOR);
    CHECK_EQ(tr_send_exit(sys, far, -100), TR_ENOACTOR);
    CHECK_EQ(tr_kill(sys, far), TR_ENOACTOR);
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 2); /* the send and the ask */
}

static void null_system(void) {
    tr_system *sys = check_system(1, 64);
    tr_pid pid = check_spawn_idle(sys);
    tr_system_stats st;
    int64_t out = 0;

    CHECK_EQ(tr_system_stop(NULL), TR_EINVAL);
    CHECK_EQ(tr_system_wait(NULL, 0), TR_EINVAL);
    CHECK_EQ(tr_system_wait(NULL, -1), TR_EINVAL);
    CHECK_EQ(tr_system_shutdown(NULL), TR_EINVAL);
    CHECK_EQ(tr_system_stats_get(NULL, &st), TR_EINVAL);
    CHECK_EQ(tr_system_stats_get(sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_register(NULL, "name", pid), TR_EINVAL);
    CHECK_EQ(tr_whereis(NULL, "name"), TR_EINVAL);
    CHECK_EQ(tr_unregister(NULL, "name"), TR_EINVAL);
    CHECK(tr_msg_new(NULL, MSG_PING, 8) == NULL);
    CHECK_EQ(tr_send(NULL, pid, MSG_PING, "abc", 3), TR_EINVAL);
    CHECK_EQ(tr_send_i64(NULL, pid, MSG_PING, 1), TR_EINVAL);
    CHECK_EQ(tr_ask_i64(NULL, pid, MSG_PING, 1, &out, 10), TR_EINVAL);
    CHECK_EQ(tr_msg_send(sys, pid, NULL), TR_EINVAL);
    CHECK_EQ(tr_msg_free(NULL), TR_EINVAL);

    /* TR_EINVAL means the message was not consumed: the caller still owns it. */
    tr_msg *m = check_msg(sys, MSG_PING, 8);
    CHECK_EQ(tr_msg_send(NULL, pid, m), TR_EINVAL);
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(NULL, pid, m, &reply, 10), TR_EINVAL);
    CHECK_EQ(tr_msg_free(m), 0);

    CHECK_EQ(tr_system_stop(sys), 0);
    st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

static void message_used_twice(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys);
    tr_pid dead = check_dead_pid(sys);

    tr_msg *m = check_msg(sys, MSG_PING, 16);
    CHECK_EQ(tr_msg_send(sys, dead, m), TR_ENOACTOR);
    CHECK_EQ(tr_msg_send(sys, dead, m), TR_EALREADY);
    CHECK_EQ(tr_msg_free(m), TR_EALREADY);

    m = check_msg(sys, MSG_PING, 0);
    CHECK_EQ(tr_msg_free(m), 0);
    CHECK_EQ(tr_msg_free(m), TR_EALREADY);
    CHECK_EQ(tr_msg_send(sys, dead, m), TR_EALREADY);

    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 1); /* the one real send; the refused ones are not letters */
}

/* What the probe actor saw, read by the main thread after the probe's reply. */
static struct {
    tr_ctx *stale_cx;
    int no_sender_rc;
} g_probe;

/* Every blocking call is refused inside an actor; it answers the probe with 1. */
static int probe_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) == MSG_NO_SENDER) {
        g_probe.no_sender_rc = tr_reply_i64(cx, m, 1); /* sent from a plain thread */
        return 0;
    }
    if (tr_msg_type(m) != MSG_PROBE)
        return check_idle_receive(cx, state, m);

    tr_system *sys = tr_ctx_system(cx);
    CHECK(sys != NULL);
    CHECK(tr_ctx_loop(cx) != NULL);
    tr_pid self = tr_self(cx);
    CHECK(self > 0);

    tr_msg *req = check_msg(sys, MSG_PING, 8);
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, self, req, &reply, 10), TR_EINACTOR);
    CHECK_EQ(tr_msg_free(req), TR_EALREADY); /* consumed all the same */
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, self, MSG_PING, 1, &out, 10), TR_EINACTOR);
    CHECK_EQ(tr_system_wait(sys, 0), TR_EINACTOR);
    CHECK_EQ(tr_system_wait(sys, -1), TR_EINACTOR);
    CHECK_EQ(tr_system_shutdown(sys), TR_EINACTOR);
    CHECK_EQ(tr_become(cx, NULL), TR_EINVAL);

    g_probe.stale_cx = cx;
    return tr_reply_i64(cx, m, 1);
}

static const tr_actor_spec probe_spec = {.name = "probe", .receive = probe_receive};

static void blocking_calls_in_actor(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid probe = check_spawn(sys, &probe_spec, NULL);

    CHECK_EQ(tr_send_i64(sys, probe, MSG_NO_SENDER, 0), 0);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, probe, MSG_PROBE, 0, &out, -1), 0);
    CHECK_EQ(out, 1);
    /* A reply to a message without a sender is a counted dead letter, not an
       error that would crash the replier. Handled first: same sender, FIFO. */
    CHECK_EQ(g_probe.no_sender_rc, 0);

    /* The system survived the refused tr_system_shutdown: it still answers. */
    out = 0;
    CHECK_EQ(tr_ask_i64(sys, probe, MSG_PROBE, 0, &out, -1), 0);
    CHECK_EQ(out, 1);

    CHECK_EQ(tr_send_i64(sys, probe, CHECK_MSG_EXIT, 0), 0);
    check_finish(sys);
}

/* Actor-only calls from a plain thread, with a NULL context and with a context
 * kept past its callback. A refused send still consumes its message. */
static void actor_only_from_plain_thread(tr_system *sys, tr_pid to, tr_ctx *cx) {
    CHECK_EQ(tr_self(cx), TR_ENOTACTOR);
    CHECK_EQ(tr_become(cx, check_idle_receive), TR_ENOTACTOR);
    CHECK_EQ(tr_exit(cx, 0), TR_ENOTACTOR);
    CHECK(tr_ctx_system(cx) == NULL);
    CHECK(tr_ctx_loop(cx) == NULL);

    tr_msg *req = check_msg(sys, MSG_PING, 8);
    CHECK_EQ(tr_reply_i64(cx, req, 1), TR_ENOTACTOR);
    CHECK_EQ(tr_reply(cx, req, "abc", 3), TR_ENOTACTOR);

    tr_msg *reply = check_msg(sys, MSG_PING, 8);
    CHECK_EQ(tr_reply_msg(cx, req, reply), TR_ENOTACTOR);
    CHECK_EQ(tr_msg_free(reply), TR_EALREADY);
    CHECK_EQ(tr_msg_free(req), 0);

    uint32_t ref = 0;
    req = check_msg(sys, MSG_PING, 8);
    CHECK_EQ(tr_ask_async(cx, to, req, 100, &ref), TR_ENOTACTOR);
    CHECK_EQ(tr_msg_free(req), TR_EALREADY);

    tr_msg *m = check_msg(sys, MSG_PING, 8);
    CHECK_EQ(tr_msg_forward(cx, to, m), TR_ENOTACTOR);
    CHECK_EQ(tr_msg_free(m), TR_EALREADY);
}

static void actor_only_calls(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid probe = check_spawn(sys, &probe_spec, NULL);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, probe, MSG_PROBE, 0, &out, -1), 0);
    CHECK(g_probe.stale_cx != NULL);

    actor_only_from_plain_thread(sys, probe, NULL);
    actor_only_from_plain_thread(sys, probe, g_probe.stale_cx);

    /* Nothing reached the probe: it still answers, and no letter went astray. */
    CHECK_EQ(tr_ask_i64(sys, probe, MSG_PROBE, 0, &out, -1), 0);
    CHECK_EQ(tr_send_i64(sys, probe, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

static void reserved_types(void) {
    tr_system *sys = check_system(1, 64);
    tr_pid pid = check_spawn_idle(sys);
    int64_t out = 0;

    CHECK(tr_msg_new(sys, TR_MSG_RESERVED, 0) == NULL);
    CHECK(tr_msg_new(sys, TR_MSG_ASK_TIMEOUT, 8) == NULL);
    CHECK(tr_msg_new(sys, UINT32_MAX, 8) == NULL);
    CHECK_EQ(tr_send(sys, pid, TR_MSG_ASK_TIMEOUT, "abc", 3), TR_EINVAL);
    CHECK_EQ(tr_send_i64(sys, pid, TR_MSG_RESERVED, 1), TR_EINVAL);
    CHECK_EQ(tr_ask_i64(sys, pid, TR_MSG_RESERVED + 5, 1, &out, 10), TR_EINVAL);

    /* The type just below the range and the largest payload are allowed. */
    tr_msg *m = check_msg(sys, TR_MSG_RESERVED - 1, 8);
    CHECK_EQ(tr_msg_type(m), TR_MSG_RESERVED - 1);
    CHECK_EQ(tr_msg_free(m), 0);
    CHECK(tr_msg_new(sys, MSG_PING, ((size_t)64 << 20) + 1) == NULL);
    m = check_msg(sys, MSG_PING, (size_t)64 << 20);
    CHECK_EQ(tr_msg_size(m), (size_t)64 << 20);
    CHECK_EQ(tr_msg_free(m), 0);

    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

static void error_names(void) {
    for (int code = TR_ENOJETSTREAM; code <= TR_OK; code++) {
        const char *name = tr_strerror(code);
        CHECK(name != NULL && name[0] != '\0');
        CHECK(strcmp(name, "unknown error") != 0);
        for (int other = TR_ENOJETSTREAM; other < code; other++)
            CHECK(strcmp(name, tr_strerror(other)) != 0);
    }
    CHECK(strcmp(tr_strerror(TR_EXIT_USER(0)), "user exit reason") == 0);
    CHECK(strcmp(tr_strerror(INT_MIN), "user exit reason") == 0);
    const int unknown[] = {1, TR_ENOJETSTREAM - 1, -100, TR_EXIT_USER_BASE + 1, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(strcmp(tr_strerror(unknown[i]), "unknown error") == 0);
}

int main(void) {
    RUN(bad_configs);
    RUN(bad_specs);
    RUN(null_system);
    RUN(other_node_pid);
    RUN(message_used_twice);
    RUN(blocking_calls_in_actor);
    RUN(actor_only_calls);
    RUN(reserved_types);
    RUN(error_names);
    return check_summary();
}
