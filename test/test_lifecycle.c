/* test_lifecycle.c — an actor's life from init to terminate: init runs at
 * once in the spawner's thread and can refuse the spawn; terminate runs once
 * with the exit reason (normal, crash, stopped); become switches behaviour; a
 * system stops by itself after its last actor, or when asked; actors spawn
 * actors; the spawned and exited counters are exact after the stop. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

enum { MSG_GET = 1, MSG_EXIT, MSG_CRASH, MSG_UNKNOWN, MSG_GO, MSG_BLOCK };

/* ---- init ------------------------------------------------------------------ */

typedef struct {
    int64_t value;
    unsigned char rest[4096];
} keeper_state;

/* Written by init in the spawner's thread, read there after tr_spawn. */
static struct {
    int runs;
    int zeroed;
    uv_thread_t thread;
    tr_pid self;
    tr_system *sys;
} g_init;

static int keeper_init(tr_ctx *cx, void *state, const void *arg) {
    static const keeper_state zero;
    keeper_state *k = state;
    g_init.runs++;
    g_init.zeroed = memcmp(k, &zero, sizeof zero) == 0;
    g_init.thread = uv_thread_self();
    g_init.self = tr_self(cx);
    g_init.sys = tr_ctx_system(cx);
    k->value = *(const int64_t *)arg;
    memset(k->rest, 0xAB, sizeof k->rest); /* a later actor reusing this memory must see zeros */
    return 0;
}

static int keeper_receive(tr_ctx *cx, void *state, tr_msg *m) {
    const keeper_state *k = state;
    return tr_msg_type(m) == MSG_GET ? tr_reply_i64(cx, m, k->value)
                                     : check_idle_receive(cx, state, m);
}

static const tr_actor_spec keeper_spec = {
    .name = "keeper",
    .state_size = sizeof(keeper_state),
    .init = keeper_init,
    .receive = keeper_receive,
};

static void init_runs_synchronously(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys); /* the keepers come and go: this one keeps the system up */
    uv_thread_t main_thread = uv_thread_self();

    for (int64_t round = 1; round <= 3; round++) {
        int64_t arg = round * 1000 + 234;
        memset(&g_init, 0, sizeof g_init);
        tr_pid pid = check_spawn(sys, &keeper_spec, &arg);
        CHECK_EQ(tr_pid_node(pid), 0);
        CHECK_EQ(g_init.runs, 1);
        CHECK(g_init.zeroed);
        CHECK(uv_thread_equal(&g_init.thread, &main_thread));
        CHECK_EQ(g_init.self, pid);
        CHECK(g_init.sys == sys);

        arg = -1; /* borrowed only for init */
        int64_t out = 0;
        CHECK_EQ(tr_ask_i64(sys, pid, MSG_GET, 0, &out, -1), 0);
        CHECK_EQ(out, round * 1000 + 234);
        if (round < 3)
            CHECK_EQ(tr_send_i64(sys, pid, CHECK_MSG_EXIT, 0), 0);
    }
    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, 4);
}

/* A spawn racing with the exit of the system's last actor either loses
 * (TR_ESTOPPED: the system stopped first) or wins, and then its actor is live
 * and served like any other. */
static void spawn_races_last_exit(void) {
    for (int64_t round = 0; round < 100; round++) {
        tr_system *sys = check_system(2, 64);
        CHECK_EQ(tr_send_i64(sys, check_spawn_idle(sys), CHECK_MSG_EXIT, 0), 0);
        tr_pid pid = tr_spawn(sys, &keeper_spec, &round);
        if (pid != TR_ESTOPPED) {
            CHECK(pid > 0);
            int64_t out = -1;
            CHECK_EQ(tr_ask_i64(sys, pid, MSG_GET, 0, &out, 10000), 0);
            CHECK_EQ(out, round);
            CHECK_EQ(tr_system_stop(sys), 0);
        }
        check_finish(sys);
    }
}

static atomic_int g_refused_terminates;

static int refusing_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    (void)state;
    return *(const int *)arg;
}

static int exiting_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    (void)arg;
    CHECK_EQ(tr_exit(cx, -100), 0);
    return 0;
}

static void count_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)state;
    (void)reason;
    g_refused_terminates++;
}

static const tr_actor_spec refusing_spec = {
    .name = "refusing",
    .init = refusing_init,
    .receive = check_idle_receive,
    .terminate = count_terminate,
};

static const tr_actor_spec exiting_spec = {
    .name = "exiting",
    .init = exiting_init,
    .receive = check_idle_receive,
    .terminate = count_terminate,
};

static void init_failure_fails_spawn(void) {
    tr_system *sys = check_system(2, 64);
    check_spawn_idle(sys);

    static const int codes[] = {-100, TR_ENOMEM, TR_EBADMSG};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK_EQ(tr_spawn(sys, &refusing_spec, &codes[i]), codes[i]);
    CHECK(tr_spawn(sys, &exiting_spec, NULL) < 0);

    CHECK_EQ(tr_system_stop(sys), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(g_refused_terminates, 0);
    CHECK_EQ(st.spawned, 5); /* exited counts the four refused too */
}

/* ---- exit reasons ---------------------------------------------------------- */

#define REASONED 8

typedef struct {
    int id;
    int received;
} reasoned_state;

/* One record per actor id, written by its terminate only. */
static struct {
    int calls;
    int reason;
    int received;
    tr_pid self;
} g_end[REASONED];

static tr_pid g_reasoned[REASONED];
static uv_sem_t g_entered, g_release; /* MSG_BLOCK holds an actor until the test lets go */

static int reasoned_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    reasoned_state *s = state;
    s->id = *(const int *)arg;
    return 0;
}

static int reasoned_receive(tr_ctx *cx, void *state, tr_msg *m) {
    reasoned_state *s = state;
    s->received++;
    switch (tr_msg_type(m)) {
    case MSG_UNKNOWN: return TR_EUNHANDLED;
    case MSG_EXIT: return tr_exit(cx, (int)tr_msg_i64(m));
    case MSG_CRASH: return -100;
    case MSG_BLOCK:
        uv_sem_post(&g_entered);
        uv_sem_wait(&g_release);
        return 0;
    }
    return 0;
}

static void reasoned_terminate(tr_ctx *cx, void *state, int reason) {
    const reasoned_state *s = state;
    g_end[s->id].calls++;
    g_end[s->id].reason = reason;
    g_end[s->id].received = s->received;
    g_end[s->id].self = tr_self(cx);
}

static const tr_actor_spec reasoned_spec = {
    .name = "reasoned",
    .state_size = sizeof(reasoned_state),
    .init = reasoned_init,
    .receive = reasoned_receive,
    .terminate = reasoned_terminate,
};

static void spawn_reasoned(tr_system *sys, int n) {
    static const int ids[REASONED] = {0, 1, 2, 3, 4, 5, 6, 7};
    memset(g_end, 0, sizeof g_end);
    for (int i = 0; i < n; i++) {
        g_reasoned[i] = check_spawn(sys, &reasoned_spec, &ids[i]);
    }
}

static void check_end(int id, int reason, int received) {
    CHECK_EQ(g_end[id].calls, 1);
    CHECK_EQ(g_end[id].reason, reason);
    CHECK_EQ(g_end[id].received, received);
    CHECK_EQ(g_end[id].self, g_reasoned[id]);
}

/* A send racing with its receiver's exit: delivered never, a dead letter always. */
static void send_after_exit(tr_system *sys, tr_pid to) {
    int rc = tr_send_i64(sys, to, MSG_GO, 0);
    CHECK(rc == 0 || rc == TR_ENOACTOR);
}

static void exit_reasons(void) {
    tr_system *sys = check_system(2, 64);
    spawn_reasoned(sys, 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tr_send_i64(sys, g_reasoned[0], MSG_UNKNOWN, 0), 0);
    CHECK_EQ(tr_send_i64(sys, g_reasoned[0], MSG_EXIT, 0), 0);
    send_after_exit(sys, g_reasoned[0]);
    send_after_exit(sys, g_reasoned[0]);
    CHECK_EQ(tr_send_i64(sys, g_reasoned[1], MSG_CRASH, 0), 0);
    send_after_exit(sys, g_reasoned[1]);
    CHECK_EQ(tr_send_i64(sys, g_reasoned[2], MSG_EXIT, TR_ETIMEDOUT), 0);

    tr_system_stats st = check_finish(sys); /* stops by itself after the last exit */
    check_end(0, 0, 4);
    check_end(1, -100, 1);
    check_end(2, TR_ETIMEDOUT, 1);
    CHECK_EQ(st.spawned, 3);
    CHECK_EQ(st.unhandled, 3);
    CHECK_EQ(st.dead_letters, 3);
}

static void shutdown_stops_actors(void) {
    tr_system *sys = check_system(2, 64);
    spawn_reasoned(sys, REASONED);
    for (int i = 0; i < REASONED; i++)
        CHECK_EQ(tr_send_i64(sys, g_reasoned[i], MSG_GO, 0), 0);
    CHECK_EQ(tr_system_wait(sys, 10), TR_ETIMEDOUT);
    CHECK_EQ(tr_system_wait(sys, 0), TR_ETIMEDOUT);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    for (int i = 0; i < REASONED; i++) {
        CHECK_EQ(g_end[i].calls, 1);
        CHECK_EQ(g_end[i].reason, TR_ESTOPPED);
    }
}

static void stop_then_wait(void) {
    tr_system *sys = check_system(3, 64);
    spawn_reasoned(sys, REASONED);
    CHECK_EQ(tr_system_wait(sys, 1), TR_ETIMEDOUT);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    CHECK_EQ(tr_system_wait(sys, 0), 0);
    for (int i = 0; i < REASONED; i++)
        check_end(i, TR_ESTOPPED, 0);

    CHECK_EQ(tr_spawn(sys, &reasoned_spec, &(int){0}), TR_ESTOPPED);
    CHECK_EQ(tr_send_i64(sys, g_reasoned[0], MSG_GO, 0), TR_ESTOPPED); /* refused, not lost */
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, REASONED);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(st.workers, 3);
    for (int i = 0; i < REASONED; i++)
        CHECK_EQ(g_end[i].calls, 1); /* shutdown did not run terminate again */
}

/* A stop takes effect at once: mail queued behind the running message is not
 * received but counted as dead letters, exactly, by the time the wait returns. */
static void stop_drops_pending_mail(void) {
    CHECK_EQ(uv_sem_init(&g_entered, 0), 0);
    CHECK_EQ(uv_sem_init(&g_release, 0), 0);
    tr_system *sys = check_system(2, 64);
    spawn_reasoned(sys, 1);
    CHECK_EQ(tr_send_i64(sys, g_reasoned[0], MSG_BLOCK, 0), 0);
    uv_sem_wait(&g_entered);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(tr_send_i64(sys, g_reasoned[0], MSG_GO, 0), 0);
    CHECK_EQ(tr_system_stop(sys), 0);
    uv_sem_post(&g_release);

    tr_system_stats st = check_finish(sys);
    check_end(0, TR_ESTOPPED, 1);
    CHECK_EQ(st.dead_letters, 10);
    uv_sem_destroy(&g_entered);
    uv_sem_destroy(&g_release);
}

/* ---- become ---------------------------------------------------------------- */

static int second_receive(tr_ctx *cx, void *state, tr_msg *m);

/* Answers 1 and becomes second_receive, from the next message on. */
static int first_receive(tr_ctx *cx, void *state, tr_msg *m) {
    if (tr_msg_type(m) != MSG_GET)
        return check_idle_receive(cx, state, m);
    CHECK_EQ(tr_become(cx, second_receive), 0);
    return tr_reply_i64(cx, m, 1);
}

/* Answers 2; MSG_GO switches back to first_receive. */
static int second_receive(tr_ctx *cx, void *state, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case MSG_GET: return tr_reply_i64(cx, m, 2);
    case MSG_GO: return tr_become(cx, first_receive);
    }
    return check_idle_receive(cx, state, m);
}

static const tr_actor_spec shifter_spec = {.name = "shifter", .receive = first_receive};

static void become_switches_behaviour(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid pid = check_spawn(sys, &shifter_spec, NULL);

    static const int64_t expected[] = {1, 2, 2, 0, 1, 2};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        if (expected[i] == 0) {
            CHECK_EQ(tr_send_i64(sys, pid, MSG_GO, 0), 0);
            continue;
        }
        int64_t out = 0;
        CHECK_EQ(tr_ask_i64(sys, pid, MSG_GET, 0, &out, -1), 0);
        CHECK_EQ(out, expected[i]);
    }
    CHECK_EQ(tr_send_i64(sys, pid, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.unhandled, 0);
}

/* ---- actors spawning actors ------------------------------------------------ */

#define TREE_DEPTH 7
#define TREE_SIZE ((1 << (TREE_DEPTH + 1)) - 1)

static atomic_int g_tree_ended, g_tree_bad_reasons;
static atomic_llong g_tree_depth_sum;

static int tree_receive(tr_ctx *cx, void *state, tr_msg *m);

static int tree_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(int *)state = *(const int *)arg;
    return 0;
}

static void tree_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    g_tree_ended++;
    g_tree_depth_sum += *(const int *)state;
    if (reason != 0)
        g_tree_bad_reasons++;
}

static const tr_actor_spec tree_spec = {
    .name = "tree",
    .state_size = sizeof(int),
    .init = tree_init,
    .receive = tree_receive,
    .terminate = tree_terminate,
};

/* On MSG_GO, spawns two children one level down, starts them, and exits. */
static int tree_receive(tr_ctx *cx, void *state, tr_msg *m) {
    CHECK_EQ(tr_msg_type(m), MSG_GO);
    int child_depth = *(const int *)state - 1;
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; child_depth >= 0 && i < 2; i++) {
        tr_pid child = check_spawn(sys, &tree_spec, &child_depth);
        CHECK_EQ(tr_send_i64(sys, child, MSG_GO, 0), 0);
    }
    return tr_exit(cx, 0);
}

static void actors_spawn_actors(void) {
    tr_system *sys = check_system(2, 64);
    int depth = TREE_DEPTH;
    tr_pid root = check_spawn(sys, &tree_spec, &depth);
    CHECK_EQ(tr_send_i64(sys, root, MSG_GO, 0), 0);

    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.spawned, TREE_SIZE);
    CHECK_EQ(st.exited, TREE_SIZE);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(g_tree_ended, TREE_SIZE);
    CHECK_EQ(g_tree_bad_reasons, 0);
    /* Level d (0 = root) holds 2^d actors of depth TREE_DEPTH - d. */
    long long depth_sum = 0;
    for (int d = 0; d <= TREE_DEPTH; d++)
        depth_sum += (1LL << d) * (TREE_DEPTH - d);
    CHECK_EQ(g_tree_depth_sum, depth_sum);
}

int main(void) {
    RUN(init_runs_synchronously);
    RUN(spawn_races_last_exit);
    RUN(init_failure_fails_spawn);
    RUN(exit_reasons);
    RUN(shutdown_stops_actors);
    RUN(stop_then_wait);
    RUN(stop_drops_pending_mail);
    RUN(become_switches_behaviour);
    RUN(actors_spawn_actors);
    return check_summary();
}
