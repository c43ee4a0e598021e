/* pingpong.c — two actors and a system that stops by itself.
 *
 * main spawns pong, then ping (told pong's pid through init's argument), and
 * asks ping to serve BALLS balls. ping sends them all to pong, which returns
 * each to its sender. When the last ball is back, ping tells pong to stop and
 * exits; pong exits on that message (per-pair ordering puts it after every
 * ball), and the system stops because its last actor exited. Each actor's
 * terminate leaves its count in a tally that main reads after tr_system_wait.
 * Exit status 0 only if every ball came back and nothing was lost. */
#include <troupe.h>

#include <stdio.h>

enum { BALLS = 100000 };
enum { MSG_SERVE = 1, MSG_BALL, MSG_STOP };

typedef struct tally {
    int64_t returned; /* balls pong sent back */
    int64_t caught;   /* balls ping received back */
} tally;

typedef struct ping_arg {
    tr_pid pong;
    tally *tally;
} ping_arg;

typedef struct ping_state {
    tr_pid pong;
    tally *tally;
    int64_t served;
    int64_t caught;
} ping_state;

typedef struct pong_state {
    tally *tally;
    int64_t returned;
} pong_state;

static int ping_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ping_state *s = state;
    const ping_arg *a = arg;
    s->pong = a->pong;
    s->tally = a->tally;
    return 0;
}

static int ping_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ping_state *s = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_SERVE:
        for (int64_t n = tr_msg_i64(m); s->served < n; s->served++) {
            int rc = tr_send_i64(sys, s->pong, MSG_BALL, s->served);
            if (rc < 0)
                return rc;
        }
        return tr_reply_i64(cx, m, s->served);
    case MSG_BALL:
        if (++s->caught == s->served) {
            int rc = tr_send_i64(sys, s->pong, MSG_STOP, 0);
            if (rc < 0)
                return rc;
            return tr_exit(cx, 0);
        }
        return 0;
    }
    return TR_EUNHANDLED;
}

static void ping_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    ping_state *s = state;
    s->tally->caught = reason == 0 ? s->caught : -1;
}

static int pong_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    pong_state *s = state;
    s->tally = (tally *)arg;
    return 0;
}

static int pong_receive(tr_ctx *cx, void *state, tr_msg *m) {
    pong_state *s = state;
    switch (tr_msg_type(m)) {
    case MSG_BALL:
        s->returned++;
        return tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_BALL, tr_msg_i64(m));
    case MSG_STOP: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static void pong_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    pong_state *s = state;
    s->tally->returned = reason == 0 ? s->returned : -1;
}

static const tr_actor_spec ping_spec = {
    .name = "ping",
    .state_size = sizeof(ping_state),
    .init = ping_init,
    .receive = ping_receive,
    .terminate = ping_terminate,
};

static const tr_actor_spec pong_spec = {
    .name = "pong",
    .state_size = sizeof(pong_state),
    .init = pong_init,
    .receive = pong_receive,
    .terminate = pong_terminate,
};

static int fail(const char *what, int code) {
    fprintf(stderr, "pingpong: %s: %s\n", what, tr_strerror(code));
    return 1;
}

int main(void) {
    tally t = {0, 0};
    tr_system *sys;
    int rc = tr_system_create(NULL, &sys);
    if (rc < 0)
        return fail("tr_system_create", rc);

    tr_pid pong = tr_spawn(sys, &pong_spec, &t);
    if (pong < 0)
        return fail("spawn pong", (int)pong);
    tr_pid ping = tr_spawn(sys, &ping_spec, &(ping_arg){.pong = pong, .tally = &t});
    if (ping < 0)
        return fail("spawn ping", (int)ping);
    printf("spawned ping and pong\n");

    int64_t served = 0;
    rc = tr_ask_i64(sys, ping, MSG_SERVE, BALLS, &served, 5000);
    if (rc < 0)
        return fail("ask ping to serve", rc);
    printf("ping sent %lld balls\n", (long long)served);

    rc = tr_system_wait(sys, 10000);
    if (rc < 0)
        return fail("tr_system_wait", rc);
    printf("pong returned %lld, ping caught %lld\n", (long long)t.returned, (long long)t.caught);

    tr_system_stats st;
    rc = tr_system_stats_get(sys, &st);
    if (rc < 0)
        return fail("tr_system_stats_get", rc);
    rc = tr_system_shutdown(sys);
    if (rc < 0)
        return fail("tr_system_shutdown", rc);
    printf("stopped cleanly: %llu actors exited, %llu dead letters, %llu unhandled\n",
           (unsigned long long)st.exited, (unsigned long long)st.dead_letters,
           (unsigned long long)st.unhandled);

    int ok = served == BALLS && t.returned == BALLS && t.caught == BALLS && st.exited == 2 &&
             st.dead_letters == 0 && st.unhandled == 0;
    return ok ? 0 : 1;
}
