/* test_names.c — the name registry: register / whereis / unregister from
 * plain threads and from actors, TR_EEXIST for a taken name, TR_ENOTFOUND for
 * a missing one, TR_ENOACTOR for a dead pid, TR_EINVAL for names that are NULL,
 * empty or 64 bytes and longer, and names disappearing with their actors. */
#include "check.h"

#include <string.h>

enum { MSG_REGISTER = 1 };

#define MANY 200

static void register_whereis_unregister(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn_idle(sys), b = check_spawn_idle(sys), c = check_spawn_idle(sys);

    CHECK_EQ(tr_whereis(sys, "alpha"), TR_ENOTFOUND);
    CHECK_EQ(tr_register(sys, "alpha", a), 0);
    CHECK_EQ(tr_whereis(sys, "alpha"), a);
    CHECK_EQ(tr_register(sys, "alpha", b), TR_EEXIST);
    CHECK_EQ(tr_register(sys, "alpha", a), TR_EEXIST);
    CHECK_EQ(tr_whereis(sys, "alpha"), a);
    CHECK_EQ(tr_register(sys, "beta", b), 0);
    CHECK_EQ(tr_whereis(sys, "beta"), b);

    char buf[16] = "gamma"; /* the registry keeps its own copy */
    CHECK_EQ(tr_register(sys, buf, c), 0);
    strcpy(buf, "delta");
    CHECK_EQ(tr_whereis(sys, "gamma"), c);
    CHECK_EQ(tr_whereis(sys, "delta"), TR_ENOTFOUND);

    CHECK_EQ(tr_unregister(sys, "alpha"), 0);
    CHECK_EQ(tr_whereis(sys, "alpha"), TR_ENOTFOUND);
    CHECK_EQ(tr_unregister(sys, "alpha"), TR_ENOTFOUND);
    CHECK_EQ(tr_whereis(sys, "beta"), b);
    CHECK_EQ(tr_register(sys, "alpha", a), 0); /* free again */
    CHECK_EQ(tr_whereis(sys, "alpha"), a);

    CHECK_EQ(tr_register(sys, "ghost", check_dead_pid(sys)), TR_ENOACTOR);
    CHECK_EQ(tr_whereis(sys, "ghost"), TR_ENOTFOUND);

    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static void many_names(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid pids[MANY];
    char name[16];
    for (int i = 0; i < MANY; i++) {
        pids[i] = check_spawn_idle(sys);
        snprintf(name, sizeof name, "n%d", i);
        CHECK_EQ(tr_register(sys, name, pids[i]), 0);
    }
    for (int i = 0; i < MANY; i += 2) {
        snprintf(name, sizeof name, "n%d", i);
        CHECK_EQ(tr_unregister(sys, name), 0);
    }
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "n%d", i);
        CHECK_EQ(tr_whereis(sys, name), i % 2 ? pids[i] : TR_ENOTFOUND);
    }
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static void invalid_names(void) {
    tr_system *sys = check_system(1, 64);
    tr_pid a = check_spawn_idle(sys);
    char longest[64], too_long[65];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'y', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';

    const char *bad[] = {NULL, "", too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(tr_register(sys, bad[i], a), TR_EINVAL);
        CHECK_EQ(tr_whereis(sys, bad[i]), TR_EINVAL);
        CHECK_EQ(tr_unregister(sys, bad[i]), TR_EINVAL);
    }
    CHECK_EQ(tr_register(sys, longest, a), 0); /* 63 bytes is the limit */
    CHECK_EQ(tr_whereis(sys, longest), a);

    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static void names_go_with_their_actors(void) {
    /* An actor that exits by itself: the last one, so the system stops too. */
    tr_system *sys = check_system(2, 64);
    tr_pid a = check_spawn_idle(sys);
    CHECK_EQ(tr_register(sys, "solo", a), 0);
    CHECK_EQ(tr_send_i64(sys, a, CHECK_MSG_EXIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    CHECK_EQ(tr_whereis(sys, "solo"), TR_ENOTFOUND);
    check_finish(sys);

    /* Actors stopped with the system. */
    sys = check_system(2, 64);
    CHECK_EQ(tr_register(sys, "first", check_spawn_idle(sys)), 0);
    CHECK_EQ(tr_register(sys, "second", check_spawn_idle(sys)), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    CHECK_EQ(tr_whereis(sys, "first"), TR_ENOTFOUND);
    CHECK_EQ(tr_whereis(sys, "second"), TR_ENOTFOUND);
    check_finish(sys);
}

/* Registers itself under the name in the request and answers with whereis. */
static int registrar_receive(tr_ctx *cx, void *state, tr_msg *m) {
    if (tr_msg_type(m) != MSG_REGISTER)
        return check_idle_receive(cx, state, m);
    tr_system *sys = tr_ctx_system(cx);
    const char *name = tr_msg_data(m);
    CHECK_EQ(tr_register(sys, name, tr_self(cx)), 0);
    CHECK_EQ(tr_register(sys, name, tr_self(cx)), TR_EEXIST);
    return tr_reply_i64(cx, m, tr_whereis(sys, name));
}

static const tr_actor_spec registrar_spec = {.name = "registrar", .receive = registrar_receive};

static void names_from_actors(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid pid = check_spawn(sys, &registrar_spec, NULL);

    static const char name[] = "registrar-7";
    tr_msg *req = check_msg(sys, MSG_REGISTER, sizeof name);
    memcpy(tr_msg_data(req), name, sizeof name);
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, pid, req, &reply, -1), 0);
    CHECK_EQ(tr_msg_i64(reply), pid);
    CHECK_EQ(tr_msg_free(reply), 0);
    CHECK_EQ(tr_whereis(sys, name), pid);

    CHECK_EQ(tr_send_i64(sys, tr_whereis(sys, name), CHECK_MSG_EXIT, 0), 0);
    check_finish(sys);
}

int main(void) {
    RUN(register_whereis_unregister);
    RUN(many_names);
    RUN(invalid_names);
    RUN(names_go_with_their_actors);
    RUN(names_from_actors);
    return check_summary();
}
