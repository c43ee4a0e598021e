/* test_supervisor.c — supervisors (troupe/supervisor.h). Workers write a
 * shared log from init ("S" + tag) and terminate ("T" + tag, with the exit
 * reason), so each case checks exactly which children started and stopped,
 * in which order: one-for-one, one-for-all and rest-for-one restart exactly
 * their group, with the right restart counts; more than MaxR restarts within
 * MaxT escalate (TR_EINTENSITY, children stopped in reverse order) while the
 * same crashes spread past MaxT do not; permanent / transient / temporary on
 * normal and abnormal exits; a child that ignores shutdown is killed after
 * its timeout and counted; brutal kill; the dynamic pool from a plain thread
 * and from an actor; a registered name follows restarts; a nested supervisor
 * escalates and its parent restarts it; a child that fails to start fails
 * the supervisor's start, after the others are stopped in reverse order; a
 * failed restart is retried and counted; a parent's exit shuts the
 * supervisor down; static management calls and their errors; bad specs.
 *
 * Nothing waits for time to pass except where time is the point (the
 * intensity period): waits are for a condition, with a generous deadline
 * that only turns a hang into a failure. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <troupe/supervisor.h>
#include <uv.h>

enum {
    CMD_CRASH = 1, /* i64: the reason receive returns */
    CMD_EXIT,      /* i64: the reason of tr_exit */
    CMD_GO,        /* i64: a supervisor's pid (the pool client) */
    MSG_EVENT,
};

#define WAIT_MS 10000

#define WAIT_UNTIL(cond) CHECK_WAIT_UNTIL(cond, WAIT_MS)

/* ---- the log ---- */

typedef struct {
    char kind; /* 'S' started, 'T' terminated */
    char tag[8];
    int n;
    int reason;
    tr_pid pid;
} entry;

#define LOG_MAX 512
static uv_mutex_t g_lock;
static entry g_log[LOG_MAX];
static int g_nlog;

static void log_add(char kind, const char *tag, int n, int reason, tr_pid pid) {
    uv_mutex_lock(&g_lock);
    CHECK(g_nlog < LOG_MAX);
    entry *e = &g_log[g_nlog++];
    e->kind = kind;
    snprintf(e->tag, sizeof e->tag, "%s", tag);
    e->n = n;
    e->reason = reason;
    e->pid = pid;
    uv_mutex_unlock(&g_lock);
}

static int log_count(void) {
    uv_mutex_lock(&g_lock);
    int n = g_nlog;
    uv_mutex_unlock(&g_lock);
    return n;
}

static entry log_at(int i) {
    uv_mutex_lock(&g_lock);
    CHECK(i < g_nlog);
    entry e = g_log[i];
    uv_mutex_unlock(&g_lock);
    return e;
}

static void log_reset(void) {
    uv_mutex_lock(&g_lock);
    g_nlog = 0;
    uv_mutex_unlock(&g_lock);
}

/* Waits for the log to hold exactly the entries of want ("Sa Sb Tb": kind and
 * tag, space separated) and checks them in order. */
static void log_expect(const char *want) {
    int n = 0;
    for (const char *p = want; *p; p++)
        n += *p != ' ' && (p == want || p[-1] == ' ');
    WAIT_UNTIL(log_count() >= n);
    char got[LOG_MAX * 10] = "";
    for (int i = 0; i < log_count(); i++) {
        entry e = log_at(i);
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%c%s", i ? " " : "", e.kind, e.tag);
    }
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "log: got \"%s\", want \"%s\"\n", got, want);
        CHECK(0);
    }
}

/* ---- workers ---- */

typedef struct {
    char tag[8];
    int n;    /* a value the test checks arrives (pool arguments) */
    int trap; /* traps exits and ignores them: will not stop when asked */
    int fail; /* init fails while g_fail_starts > 0 (taking one) */
} warg;

static atomic_int g_fail_starts;

static int worker_init(tr_ctx *cx, void *state, const void *arg) {
    warg *w = state;
    *w = *(const warg *)arg;
    if (w->fail && atomic_load(&g_fail_starts) > 0) {
        atomic_fetch_sub(&g_fail_starts, 1);
        return TR_EXIT_USER(9);
    }
    if (w->trap)
        tr_trap_exits(cx, 1);
    log_add('S', w->tag, w->n, 0, tr_self(cx));
    return 0;
}

static int worker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    switch (tr_msg_type(m)) {
    case CMD_CRASH: return (int)tr_msg_i64(m);
    case CMD_EXIT: return tr_exit(cx, (int)tr_msg_i64(m));
    }
    return 0; /* a trapped exit signal: ignored */
}

static void worker_terminate(tr_ctx *cx, void *state, int reason) {
    warg *w = state;
    log_add('T', w->tag, w->n, reason, tr_self(cx));
}

static const tr_actor_spec worker_spec = {.name = "worker",
                                          .state_size = sizeof(warg),
                                          .init = worker_init,
                                          .receive = worker_receive,
                                          .terminate = worker_terminate};

/* A child spec for a worker; a is copied when the supervisor starts. */
static tr_sup_child_spec wchild(const char *id, const warg *a) {
    return (tr_sup_child_spec){.id = id, .actor = &worker_spec, .arg = a, .arg_size = sizeof *a};
}

/* ---- reporters: actors that tell the test's inbox what they see ---- */

enum { EV_STARTED = 1, EV_EXIT, EV_DOWN, EV_DONE };

typedef struct {
    int ev;
    tr_pid pid;
    int64_t value;
} event;

static void report(tr_system *sys, tr_pid to, int ev, tr_pid pid, int64_t value) {
    event e = {ev, pid, value};
    CHECK_EQ(tr_send(sys, to, MSG_EVENT, &e, sizeof e), 0);
}

static event next_event(tr_inbox *ib) {
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(ib, &m, WAIT_MS), 0);
    CHECK_EQ(tr_msg_type(m), MSG_EVENT);
    CHECK_EQ(tr_msg_size(m), sizeof(event));
    event e;
    memcpy(&e, tr_msg_data(m), sizeof e);
    CHECK_EQ(tr_msg_free(m), 0);
    return e;
}

/* The boss: traps exits, starts a supervisor linked to itself (its parent),
 * reports its pid (EV_STARTED) and every exit signal (EV_EXIT); exits on
 * CMD_EXIT with the reason given. */
typedef struct {
    tr_pid inbox;
    const tr_sup_spec *spec;
} boss_arg;

static int boss_init(tr_ctx *cx, void *state, const void *arg) {
    const boss_arg *a = arg;
    *(tr_pid *)state = a->inbox;
    tr_trap_exits(cx, 1);
    tr_pid sup = tr_sup_start_link(cx, a->spec);
    report(tr_ctx_system(cx), a->inbox, EV_STARTED, sup, 0);
    return 0;
}

static int boss_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_pid inbox = *(tr_pid *)state;
    if (tr_msg_type(m) == TR_MSG_EXIT)
        report(tr_ctx_system(cx), inbox, EV_EXIT, tr_msg_exit_pid(m), tr_msg_exit_reason(m));
    else if (tr_msg_type(m) == CMD_EXIT)
        return tr_exit(cx, (int)tr_msg_i64(m));
    return 0;
}

static const tr_actor_spec boss_spec = {
    .name = "boss", .state_size = sizeof(tr_pid), .init = boss_init, .receive = boss_receive};

/* Starts a boss with spec; returns the boss, and its supervisor in *sup. */
static tr_pid boss_start(tr_system *sys, tr_inbox *ib, const tr_sup_spec *spec, tr_pid *sup) {
    boss_arg a = {tr_inbox_pid(ib), spec};
    tr_pid boss = check_spawn(sys, &boss_spec, &a);
    event e = next_event(ib);
    CHECK_EQ(e.ev, EV_STARTED);
    *sup = e.pid;
    return boss;
}

/* The watcher: monitors a pid and reports its TR_MSG_DOWN (EV_DOWN, reason). */
typedef struct {
    tr_pid inbox, pid;
} watch_arg;

static int watcher_init(tr_ctx *cx, void *state, const void *arg) {
    *(tr_pid *)state = ((const watch_arg *)arg)->inbox;
    uint32_t ref;
    return tr_monitor(cx, ((const watch_arg *)arg)->pid, &ref);
}

static int watcher_receive(tr_ctx *cx, void *state, tr_msg *m) {
    if (tr_msg_type(m) == TR_MSG_DOWN)
        report(tr_ctx_system(cx), *(tr_pid *)state, EV_DOWN, tr_msg_exit_pid(m),
               tr_msg_exit_reason(m));
    return 0;
}

static const tr_actor_spec watcher_spec = {.name = "watcher",
                                           .state_size = sizeof(tr_pid),
                                           .init = watcher_init,
                                           .receive = watcher_receive};

static void watch(tr_system *sys, tr_inbox *ib, tr_pid pid) {
    watch_arg a = {tr_inbox_pid(ib), pid};
    check_spawn(sys, &watcher_spec, &a);
}

/* Waits for the watcher's report that pid exited with reason. */
static void expect_down(tr_inbox *ib, tr_pid pid, int reason) {
    event e = next_event(ib);
    CHECK_EQ(e.ev, EV_DOWN);
    CHECK_EQ(e.pid, pid);
    CHECK_EQ(e.value, reason);
}

/* ---- helpers ---- */

static tr_system *new_system(void) {
    tr_system *sys = check_system_kept(2);
    log_reset();
    return sys;
}

static void end_system(tr_system *sys) {
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static tr_sup_spec sup_spec(tr_sup_strategy strategy, uint32_t intensity, uint32_t period_ms,
                            const tr_sup_child_spec *children, size_t n) {
    return (tr_sup_spec){.strategy = strategy,
                         .intensity = intensity,
                         .period_ms = period_ms,
                         .children = children,
                         .nchildren = n};
}

#define KIDS_MAX 16

/* The child with this id, from which_children. */
static tr_sup_child_info child_of(tr_system *sys, tr_pid sup, const char *id) {
    tr_sup_child_info kids[KIDS_MAX];
    int n = tr_sup_which_children(sys, sup, kids, KIDS_MAX, WAIT_MS);
    CHECK(n >= 0 && n <= KIDS_MAX);
    for (int i = 0; i < n; i++)
        if (strcmp(kids[i].id, id) == 0)
            return kids[i];
    fprintf(stderr, "no child %s\n", id);
    CHECK(0);
    return kids[0];
}

static tr_pid pid_of(tr_system *sys, tr_pid sup, const char *id) {
    return child_of(sys, sup, id).pid;
}

static int nchildren(tr_system *sys, tr_pid sup) {
    return tr_sup_which_children(sys, sup, NULL, 0, WAIT_MS);
}

static uint64_t restarts_of(tr_system *sys, tr_pid sup) {
    tr_sup_stats st;
    CHECK_EQ(tr_sup_stats_get(sys, sup, &st, WAIT_MS), 0);
    return st.restarts;
}

static void crash(tr_system *sys, tr_pid sup, const char *id, int reason) {
    CHECK_EQ(tr_send_i64(sys, pid_of(sys, sup, id), CMD_CRASH, reason), 0);
}

#define CRASH TR_EXIT_USER(1)

/* ---- strategies ---- */

static void one_for_one_restarts_only_the_child(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("c", &c)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 3);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    log_expect("Sa Sb Sc"); /* started in order before tr_sup_start returned */
    tr_pid pa = pid_of(sys, sup, "a"), pb = pid_of(sys, sup, "b"), pc = pid_of(sys, sup, "c");
    crash(sys, sup, "b", CRASH);
    log_expect("Sa Sb Sc Tb Sb");
    CHECK_EQ(log_at(3).reason, CRASH);
    CHECK_EQ(log_at(3).pid, pb);
    CHECK_EQ(pid_of(sys, sup, "a"), pa);
    CHECK_EQ(pid_of(sys, sup, "c"), pc);
    CHECK_EQ(pid_of(sys, sup, "b"), log_at(4).pid);
    CHECK(log_at(4).pid != pb);
    CHECK_EQ(child_of(sys, sup, "a").restarts, 0);
    CHECK_EQ(child_of(sys, sup, "b").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "c").restarts, 0);
    CHECK_EQ(restarts_of(sys, sup), 1);
    end_system(sys);
}

static void one_for_all_restarts_every_child(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"}, t = {.tag = "t"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("t", &t), wchild("c", &c)};
    kids[2].restart = TR_SUP_TEMPORARY;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ALL, 3, 5000, kids, 4);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    crash(sys, sup, "b", CRASH);
    /* The others stop from the last, the temporary one is not started again. */
    log_expect("Sa Sb St Sc Tb Tc Tt Ta Sa Sb Sc");
    for (int i = 5; i <= 7; i++)
        CHECK_EQ(log_at(i).reason, TR_ESTOPPED);
    CHECK_EQ(nchildren(sys, sup), 3);
    CHECK_EQ(child_of(sys, sup, "a").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "b").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "c").restarts, 1);
    CHECK_EQ(pid_of(sys, sup, "c"), log_at(10).pid);
    CHECK_EQ(restarts_of(sys, sup), 1);
    end_system(sys);
}

static void rest_for_one_restarts_the_rest(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"}, d = {.tag = "d"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("c", &c), wchild("d", &d)};
    tr_sup_spec spec = sup_spec(TR_SUP_REST_FOR_ONE, 3, 5000, kids, 4);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    tr_pid pa = pid_of(sys, sup, "a");
    crash(sys, sup, "b", CRASH);
    log_expect("Sa Sb Sc Sd Tb Td Tc Sb Sc Sd");
    CHECK_EQ(pid_of(sys, sup, "a"), pa);
    CHECK_EQ(child_of(sys, sup, "a").restarts, 0);
    CHECK_EQ(child_of(sys, sup, "b").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "c").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "d").restarts, 1);
    /* The last child takes only itself along. */
    crash(sys, sup, "d", CRASH);
    log_expect("Sa Sb Sc Sd Tb Td Tc Sb Sc Sd Td Sd");
    CHECK_EQ(child_of(sys, sup, "d").restarts, 2);
    CHECK_EQ(child_of(sys, sup, "c").restarts, 1);
    CHECK_EQ(restarts_of(sys, sup), 2);
    end_system(sys);
}

/* ---- intensity ---- */

static void intensity_escalates(void) {
    tr_system *sys = new_system();
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    warg a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("c", &c)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 2, 60000, kids, 3);
    tr_pid sup;
    boss_start(sys, ib, &spec, &sup);
    CHECK(sup > 0);
    crash(sys, sup, "a", CRASH);
    log_expect("Sa Sb Sc Ta Sa");
    crash(sys, sup, "a", CRASH);
    log_expect("Sa Sb Sc Ta Sa Ta Sa");
    CHECK_EQ(restarts_of(sys, sup), 2);
    crash(sys, sup, "a", CRASH); /* the third within the period: one too many */
    event e = next_event(ib);
    CHECK_EQ(e.ev, EV_EXIT);
    CHECK_EQ(e.pid, sup);
    CHECK_EQ(e.value, TR_EINTENSITY);
    log_expect("Sa Sb Sc Ta Sa Ta Sa Ta Tc Tb"); /* the rest stopped from the last */
    CHECK_EQ(log_at(8).reason, TR_ESTOPPED);
    CHECK_EQ(log_at(9).reason, TR_ESTOPPED);
    CHECK_EQ(nchildren(sys, sup), TR_ENOACTOR);
    CHECK_EQ(tr_inbox_close(ib), 0);
    end_system(sys);
}

static void intensity_counts_only_the_period(void) {
    enum { PERIOD_MS = 100 };
    tr_system *sys = new_system();
    warg a = {.tag = "a"};
    tr_sup_child_spec kids[] = {wchild("a", &a)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 2, PERIOD_MS, kids, 1);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    crash(sys, sup, "a", CRASH);
    log_expect("Sa Ta Sa");
    uint64_t first = check_now_ms(); /* the first restart happened before this */
    crash(sys, sup, "a", CRASH);
    log_expect("Sa Ta Sa Ta Sa");
    while (check_now_ms() <= first + PERIOD_MS + 1) /* time itself is what this case is about */
        uv_sleep(PERIOD_MS / 10);
    crash(sys, sup, "a", CRASH); /* the third, but the first is out of the period */
    log_expect("Sa Ta Sa Ta Sa Ta Sa");
    CHECK_EQ(restarts_of(sys, sup), 3);
    CHECK_EQ(child_of(sys, sup, "a").restarts, 3);
    CHECK(child_of(sys, sup, "a").pid > 0);
    end_system(sys);
}

/* ---- restart types ---- */

static void restart_types(void) {
    tr_system *sys = new_system();
    warg p = {.tag = "p"}, tn = {.tag = "tn"}, ts = {.tag = "ts"}, ta = {.tag = "ta"},
         mn = {.tag = "mn"}, ma = {.tag = "ma"};
    tr_sup_child_spec kids[] = {wchild("p", &p),   wchild("tn", &tn), wchild("ts", &ts),
                                wchild("ta", &ta), wchild("mn", &mn), wchild("ma", &ma)};
    kids[1].restart = kids[2].restart = kids[3].restart = TR_SUP_TRANSIENT;
    kids[4].restart = kids[5].restart = TR_SUP_TEMPORARY;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 10, 5000, kids, 6);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    const char *start = "Sp Stn Sts Sta Smn Sma";
    log_expect(start);

    /* Permanent: restarted even after a normal exit. */
    CHECK_EQ(tr_send_i64(sys, pid_of(sys, sup, "p"), CMD_EXIT, 0), 0);
    log_expect("Sp Stn Sts Sta Smn Sma Tp Sp");
    CHECK_EQ(child_of(sys, sup, "p").restarts, 1);

    /* Transient: kept but not restarted after a normal exit or a shutdown;
       restarted after an abnormal one. */
    CHECK_EQ(tr_send_i64(sys, pid_of(sys, sup, "tn"), CMD_EXIT, 0), 0);
    WAIT_UNTIL(child_of(sys, sup, "tn").pid == 0);
    CHECK_EQ(tr_send_i64(sys, pid_of(sys, sup, "ts"), CMD_EXIT, TR_ESTOPPED), 0);
    WAIT_UNTIL(child_of(sys, sup, "ts").pid == 0);
    crash(sys, sup, "ta", CRASH);
    log_expect("Sp Stn Sts Sta Smn Sma Tp Sp Ttn Tts Tta Sta");
    CHECK_EQ(child_of(sys, sup, "tn").restarts, 0);
    CHECK_EQ(child_of(sys, sup, "ta").restarts, 1);

    /* Temporary: never restarted, forgotten. */
    CHECK_EQ(tr_send_i64(sys, pid_of(sys, sup, "mn"), CMD_EXIT, 0), 0);
    WAIT_UNTIL(nchildren(sys, sup) == 5);
    crash(sys, sup, "ma", CRASH);
    WAIT_UNTIL(nchildren(sys, sup) == 4);
    log_expect("Sp Stn Sts Sta Smn Sma Tp Sp Ttn Tts Tta Sta Tmn Tma");
    tr_sup_counts k;
    CHECK_EQ(tr_sup_count_children(sys, sup, &k, WAIT_MS), 0);
    CHECK_EQ(k.specs, 4);
    CHECK_EQ(k.active, 2);
    CHECK_EQ(k.workers, 4);
    CHECK_EQ(k.supervisors, 0);
    CHECK_EQ(restarts_of(sys, sup), 2);
    end_system(sys);
}

/* ---- shutdown ---- */

static void shutdown_timeout_kills(void) {
    tr_system *sys = new_system();
    warg s = {.tag = "s", .trap = 1}, p = {.tag = "p"};
    tr_sup_child_spec kids[] = {wchild("p", &p), wchild("s", &s)};
    kids[1].shutdown_ms = 50;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 2);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    /* Ignores the exit signal: killed once 50 ms have passed, and counted. */
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "s", WAIT_MS), 0);
    log_expect("Sp Ss Ts");
    CHECK_EQ(log_at(2).reason, TR_EKILLED);
    tr_sup_stats st;
    CHECK_EQ(tr_sup_stats_get(sys, sup, &st, WAIT_MS), 0);
    CHECK_EQ(st.shutdown_kills, 1);
    CHECK_EQ(st.restarts, 0);
    CHECK_EQ(st.children, 2);
    CHECK_EQ(st.active, 1);
    /* A child that stops when asked is not killed. */
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "p", WAIT_MS), 0);
    log_expect("Sp Ss Ts Tp");
    CHECK_EQ(log_at(3).reason, TR_ESTOPPED);
    CHECK_EQ(tr_sup_stats_get(sys, sup, &st, WAIT_MS), 0);
    CHECK_EQ(st.shutdown_kills, 1);
    CHECK_EQ(st.active, 0);
    end_system(sys);
}

static void brutal_kill(void) {
    tr_system *sys = new_system();
    warg s = {.tag = "s", .trap = 1};
    tr_sup_child_spec kids[] = {wchild("s", &s)};
    kids[0].shutdown_ms = TR_SUP_BRUTAL_KILL;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 1);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "s", WAIT_MS), 0);
    log_expect("Ss Ts");
    CHECK_EQ(log_at(1).reason, TR_EKILLED);
    tr_sup_stats st;
    CHECK_EQ(tr_sup_stats_get(sys, sup, &st, WAIT_MS), 0);
    CHECK_EQ(st.shutdown_kills, 0); /* killed at once by design, not for a timeout */
    end_system(sys);
}

/* ---- the dynamic pool ---- */

static void pool_from_plain_thread(void) {
    tr_system *sys = new_system();
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    warg tmpl = {.tag = "x", .n = 100};
    tr_sup_child_spec kids[] = {wchild("pool", &tmpl)};
    tr_sup_spec spec = sup_spec(TR_SUP_SIMPLE_ONE_FOR_ONE, 3, 5000, kids, 1);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    CHECK_EQ(nchildren(sys, sup), 0);

    tr_pid pids[3];
    for (int i = 0; i < 3; i++) {
        warg w = {.tag = "p", .n = i + 1};
        pids[i] = tr_sup_start_child(sys, sup, &w, sizeof w, WAIT_MS);
        CHECK(pids[i] > 0);
        CHECK_EQ(log_at(i).n, i + 1); /* each init got its own argument */
        CHECK_EQ(log_at(i).pid, pids[i]);
    }
    tr_pid dflt = tr_sup_start_child(sys, sup, NULL, 0, WAIT_MS); /* the template's argument */
    CHECK(dflt > 0);
    log_expect("Sp Sp Sp Sx");

    tr_sup_counts k;
    CHECK_EQ(tr_sup_count_children(sys, sup, &k, WAIT_MS), 0);
    CHECK_EQ(k.specs, 1);
    CHECK_EQ(k.active, 4);
    CHECK_EQ(k.workers, 4);
    tr_sup_child_info info[4];
    CHECK_EQ(tr_sup_which_children(sys, sup, info, 4, WAIT_MS), 4);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(info[i].pid, pids[i]);
        CHECK(strcmp(info[i].id, "pool") == 0);
    }
    CHECK_EQ(tr_sup_which_children(sys, sup, info, 2, WAIT_MS), 4); /* only 2 copied */

    watch(sys, ib, dflt);
    CHECK_EQ(tr_sup_terminate_pid(sys, sup, dflt, WAIT_MS), 0);
    expect_down(ib, dflt, TR_ESTOPPED); /* it had exited when the call returned */
    CHECK_EQ(tr_sup_terminate_pid(sys, sup, dflt, WAIT_MS), TR_ENOTFOUND);

    crash(sys, sup, "pool", CRASH); /* the first child: restarted with its own argument */
    log_expect("Sp Sp Sp Sx Tx Tp Sp");
    CHECK_EQ(log_at(6).n, 1);
    CHECK_EQ(tr_sup_which_children(sys, sup, info, 4, WAIT_MS), 3);
    CHECK_EQ(info[0].restarts, 1);
    CHECK_EQ(info[0].pid, log_at(6).pid);

    /* Calls the pool does not offer. */
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "pool", WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_restart_child(sys, sup, "pool", WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_delete_child(sys, sup, "pool", WAIT_MS), TR_EINVAL);

    /* Its shutdown stops every child (all at once) before it exits. */
    watch(sys, ib, sup);
    CHECK_EQ(tr_send_exit(sys, sup, TR_ESTOPPED), 0); /* from a plain thread: its parent */
    expect_down(ib, sup, TR_ESTOPPED);
    CHECK_EQ(log_count(), 10);
    for (int i = 7; i < 10; i++)
        CHECK_EQ(log_at(i).reason, TR_ESTOPPED);
    CHECK_EQ(tr_inbox_close(ib), 0);
    end_system(sys);
}

/* The pool client: drives a pool with asynchronous calls only, checking each
 * answer, and reports EV_DONE with the pool's shutdown kills. */
typedef struct {
    tr_pid inbox, sup, child;
} client_state;

static void client_call(tr_ctx *cx, client_state *c, tr_sup_op op, uint32_t tag) {
    warg w = {.tag = "c", .n = 7, .trap = 1};
    tr_sup_call call = {.op = op, .pid = c->child};
    if (op == TR_SUP_START_CHILD) {
        call.arg = &w;
        call.arg_size = sizeof w;
    }
    CHECK_EQ(tr_sup_call_async(cx, c->sup, &call, tag), 0);
}

static void client_answer(tr_ctx *cx, client_state *c, tr_msg *m) {
    tr_sup_answer a;
    tr_sup_child_info info[2];
    CHECK_EQ(tr_sup_answer_read(m, &a, info, 2), 0);
    CHECK_EQ(a.rc, 0);
    switch (a.tag) {
    case 1:
        CHECK_EQ(a.op, TR_SUP_START_CHILD);
        CHECK(a.pid > 0);
        c->child = a.pid;
        client_call(cx, c, TR_SUP_WHICH_CHILDREN, 2);
        break;
    case 2:
        CHECK_EQ(a.nchildren, 1);
        CHECK_EQ(info[0].pid, c->child);
        /* The count waits for the terminate (which waits for a kill): it
           must see the child gone. */
        client_call(cx, c, TR_SUP_TERMINATE_CHILD, 3);
        client_call(cx, c, TR_SUP_COUNT_CHILDREN, 4);
        break;
    case 3: CHECK_EQ(a.op, TR_SUP_TERMINATE_CHILD); break;
    case 4:
        CHECK_EQ(a.counts.specs, 1);
        CHECK_EQ(a.counts.active, 0);
        client_call(cx, c, TR_SUP_GET_STATS, 5);
        break;
    case 5:
        report(tr_ctx_system(cx), c->inbox, EV_DONE, c->child, (int64_t)a.stats.shutdown_kills);
        break;
    default: CHECK(0);
    }
}

static int client_receive(tr_ctx *cx, void *state, tr_msg *m) {
    client_state *c = state;
    if (tr_msg_type(m) == TR_SUP_MSG_ANSWER) {
        client_answer(cx, c, m);
    } else if (tr_msg_type(m) == CMD_GO) {
        c->sup = tr_msg_i64(m);
        tr_sup_counts k;
        CHECK_EQ(tr_sup_count_children(tr_ctx_system(cx), c->sup, &k, 100), TR_EINACTOR);
        CHECK_EQ(tr_sup_call_async(cx, c->sup, NULL, 9), TR_EINVAL);
        client_call(cx, c, TR_SUP_START_CHILD, 1);
    }
    return 0;
}

static int client_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((client_state *)state)->inbox = *(const tr_pid *)arg;
    return 0;
}

static const tr_actor_spec client_spec = {.name = "client",
                                          .state_size = sizeof(client_state),
                                          .init = client_init,
                                          .receive = client_receive};

static void pool_from_actor(void) {
    tr_system *sys = new_system();
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    warg tmpl = {.tag = "x"};
    tr_sup_child_spec kids[] = {wchild("pool", &tmpl)};
    kids[0].shutdown_ms = 30; /* its children ignore the shutdown signal: killed */
    tr_sup_spec spec = sup_spec(TR_SUP_SIMPLE_ONE_FOR_ONE, 3, 5000, kids, 1);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    tr_pid inbox = tr_inbox_pid(ib);
    tr_pid client = check_spawn(sys, &client_spec, &inbox);
    CHECK_EQ(tr_send_i64(sys, client, CMD_GO, sup), 0);
    event e = next_event(ib);
    CHECK_EQ(e.ev, EV_DONE);
    CHECK_EQ(e.value, 1);
    log_expect("Sc Tc");
    CHECK_EQ(log_at(0).n, 7);
    CHECK_EQ(log_at(1).reason, TR_EKILLED);
    CHECK_EQ(log_at(1).pid, e.pid);
    CHECK_EQ(tr_inbox_close(ib), 0);
    end_system(sys);
}

/* ---- names ---- */

static void name_follows_restarts(void) {
    enum { ROUNDS = 20 };
    tr_system *sys = new_system();
    warg a = {.tag = "a"};
    tr_sup_child_spec kids[] = {wchild("a", &a)};
    kids[0].name = "sup_test_named";
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, ROUNDS, 60000, kids, 1);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    for (int i = 0; i < ROUNDS; i++) {
        tr_pid old = tr_whereis(sys, "sup_test_named");
        CHECK_EQ(old, pid_of(sys, sup, "a"));
        CHECK_EQ(tr_send_i64(sys, old, CMD_CRASH, CRASH), 0);
        /* Registered by the supervisor after the child's init: wait for it. */
        WAIT_UNTIL(child_of(sys, sup, "a").restarts == (uint32_t)i + 1);
        tr_pid now = tr_whereis(sys, "sup_test_named");
        CHECK(now > 0 && now != old);
        CHECK_EQ(now, pid_of(sys, sup, "a"));
    }
    CHECK_EQ(child_of(sys, sup, "a").restarts, ROUNDS);
    end_system(sys);
}

/* ---- nesting ---- */

static warg g_inner_w = {.tag = "w"};
static const tr_sup_child_spec g_inner_kids[] = {
    {.id = "w", .actor = &worker_spec, .arg = &g_inner_w, .arg_size = sizeof g_inner_w}};
static const tr_sup_spec g_inner = {.strategy = TR_SUP_ONE_FOR_ONE,
                                    .intensity = 0, /* the first restart escalates */
                                    .period_ms = 5000,
                                    .children = g_inner_kids,
                                    .nchildren = 1};

static void nested_supervisor_escalates(void) {
    tr_system *sys = new_system();
    warg o = {.tag = "o"};
    tr_sup_child_spec kids[] = {{.id = "inner", .sup = &g_inner}, wchild("o", &o)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 2);
    tr_pid outer = tr_sup_start(sys, &spec);
    CHECK(outer > 0);
    log_expect("Sw So");
    tr_pid inner = pid_of(sys, outer, "inner"), po = pid_of(sys, outer, "o");
    tr_sup_child_info ii = child_of(sys, outer, "inner");
    CHECK_EQ(ii.type, TR_SUP_SUPERVISOR);
    tr_sup_counts k;
    CHECK_EQ(tr_sup_count_children(sys, outer, &k, WAIT_MS), 0);
    CHECK_EQ(k.supervisors, 1);
    CHECK_EQ(k.workers, 1);

    crash(sys, inner, "w", CRASH); /* inner: one restart is one too many */
    log_expect("Sw So Tw Sw");     /* the outer restarted the inner, which started w */
    tr_pid inner2 = pid_of(sys, outer, "inner");
    CHECK(inner2 > 0 && inner2 != inner);
    CHECK_EQ(nchildren(sys, inner), TR_ENOACTOR);
    CHECK_EQ(child_of(sys, outer, "inner").restarts, 1);
    CHECK_EQ(pid_of(sys, outer, "o"), po);
    CHECK_EQ(restarts_of(sys, outer), 1);
    CHECK_EQ(pid_of(sys, inner2, "w"), log_at(3).pid);
    CHECK_EQ(restarts_of(sys, inner2), 0);
    end_system(sys);
}

/* ---- failing starts ---- */

static void failed_init_stops_the_started(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"}, s = {.tag = "s", .trap = 1}, f = {.tag = "f", .fail = 1};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("s", &s), wchild("f", &f)};
    kids[1].shutdown_ms = 30;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 3);
    atomic_store(&g_fail_starts, 1);
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EXIT_USER(9));
    /* Stopped in reverse order, s killed once its shutdown time ran out. */
    log_expect("Sa Ss Ts Ta");
    CHECK_EQ(log_at(2).reason, TR_EKILLED);
    CHECK_EQ(log_at(3).reason, TR_ESTOPPED);
    end_system(sys);
}

static void failed_restart_is_retried(void) {
    tr_system *sys = new_system();
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    warg f = {.tag = "f", .fail = 1}, b = {.tag = "b"};
    tr_sup_child_spec kids[] = {wchild("f", &f), wchild("b", &b)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 5, 60000, kids, 2);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);
    atomic_store(&g_fail_starts, 2);
    crash(sys, sup, "f", CRASH); /* two failed starts, then one that works */
    log_expect("Sf Sb Tf Sf");
    CHECK_EQ(atomic_load(&g_fail_starts), 0);
    CHECK_EQ(restarts_of(sys, sup), 3);
    CHECK_EQ(child_of(sys, sup, "f").restarts, 1);
    CHECK_EQ(child_of(sys, sup, "f").restarting, 0);

    /* Failing past the intensity escalates. */
    tr_sup_spec strict = sup_spec(TR_SUP_ONE_FOR_ONE, 1, 60000, kids, 2);
    tr_pid sup2;
    boss_start(sys, ib, &strict, &sup2);
    log_expect("Sf Sb Tf Sf Sf Sb");
    atomic_store(&g_fail_starts, 100);
    crash(sys, sup2, "f", CRASH);
    event e = next_event(ib);
    CHECK_EQ(e.ev, EV_EXIT);
    CHECK_EQ(e.pid, sup2);
    CHECK_EQ(e.value, TR_EINTENSITY);
    CHECK_EQ(atomic_load(&g_fail_starts), 99); /* one failed restart, then the limit */
    log_expect("Sf Sb Tf Sf Sf Sb Tf Tb");
    CHECK_EQ(tr_inbox_close(ib), 0);
    end_system(sys);
}

/* ---- parents ---- */

/* Sends an exit signal to the pid it is asked about: from an actor that is
 * not the supervisor's parent. */
static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_send_exit(tr_ctx_system(cx), tr_msg_i64(m), CRASH), 0);
    return tr_reply_i64(cx, m, 0);
}

static void parent_exit_shuts_down(void) {
    static const tr_actor_spec sender_spec = {.name = "sender", .receive = sender_receive};
    tr_system *sys = new_system();
    tr_inbox *ib = NULL;
    CHECK_EQ(tr_inbox_open(sys, &ib), 0);
    warg a = {.tag = "a"}, b = {.tag = "b"}, c = {.tag = "c"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("c", &c)};
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 3);
    tr_pid sup;
    tr_pid boss = boss_start(sys, ib, &spec, &sup);

    /* An exit signal from another actor is ignored (signals go before the
       call sent after it). */
    tr_pid sender = check_spawn(sys, &sender_spec, NULL);
    int64_t done;
    CHECK_EQ(tr_ask_i64(sys, sender, 1, sup, &done, WAIT_MS), 0);
    CHECK_EQ(nchildren(sys, sup), 3);

    watch(sys, ib, sup);
    CHECK_EQ(tr_send_i64(sys, boss, CMD_EXIT, TR_EXIT_USER(3)), 0);
    expect_down(ib, sup, TR_EXIT_USER(3)); /* the parent's reason */
    log_expect("Sa Sb Sc Tc Tb Ta");
    for (int i = 3; i < 6; i++)
        CHECK_EQ(log_at(i).reason, TR_ESTOPPED);
    CHECK_EQ(tr_inbox_close(ib), 0);
    end_system(sys);
}

/* ---- static management ---- */

static void static_management(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"}, b = {.tag = "b"}, t = {.tag = "t"};
    tr_sup_child_spec kids[] = {wchild("a", &a), wchild("b", &b), wchild("t", &t)};
    kids[2].restart = TR_SUP_TEMPORARY;
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 3, 5000, kids, 3);
    tr_pid sup = tr_sup_start(sys, &spec);
    CHECK(sup > 0);

    CHECK_EQ(tr_sup_terminate_child(sys, sup, "a", WAIT_MS), 0);
    log_expect("Sa Sb St Ta");
    CHECK_EQ(child_of(sys, sup, "a").pid, 0);
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "a", WAIT_MS), 0); /* not running: fine */
    tr_pid pa = tr_sup_restart_child(sys, sup, "a", WAIT_MS);
    CHECK(pa > 0);
    log_expect("Sa Sb St Ta Sa");
    CHECK_EQ(pid_of(sys, sup, "a"), pa);
    CHECK_EQ(child_of(sys, sup, "a").restarts, 0); /* not a restart */
    CHECK_EQ(restarts_of(sys, sup), 0);
    CHECK_EQ(tr_sup_restart_child(sys, sup, "a", WAIT_MS), TR_EEXIST);
    CHECK_EQ(tr_sup_delete_child(sys, sup, "a", WAIT_MS), TR_EEXIST);

    CHECK_EQ(tr_sup_terminate_child(sys, sup, "b", WAIT_MS), 0);
    CHECK_EQ(tr_sup_delete_child(sys, sup, "b", WAIT_MS), 0);
    CHECK_EQ(tr_sup_terminate_child(sys, sup, "t", WAIT_MS), 0); /* temporary: forgotten */
    log_expect("Sa Sb St Ta Sa Tb Tt");
    tr_sup_child_info info[4];
    CHECK_EQ(tr_sup_which_children(sys, sup, info, 4, WAIT_MS), 1);
    CHECK(strcmp(info[0].id, "a") == 0);

    CHECK_EQ(tr_sup_terminate_child(sys, sup, "nope", WAIT_MS), TR_ENOTFOUND);
    CHECK_EQ(tr_sup_restart_child(sys, sup, "b", WAIT_MS), TR_ENOTFOUND);
    CHECK_EQ(tr_sup_delete_child(sys, sup, "t", WAIT_MS), TR_ENOTFOUND);
    CHECK_EQ(tr_sup_terminate_pid(sys, sup, pa, WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_start_child(sys, sup, NULL, 0, WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_terminate_child(sys, sup, NULL, WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_count_children(sys, sup, NULL, WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_which_children(sys, sup, NULL, 1, WAIT_MS), TR_EINVAL);
    CHECK_EQ(tr_sup_stats_get(NULL, sup, &(tr_sup_stats){0}, WAIT_MS), TR_EINVAL);
    tr_pid dead = check_dead_pid(sys);
    CHECK_EQ(nchildren(sys, dead), TR_ENOACTOR);
    /* An actor that is no supervisor never answers. */
    CHECK_EQ(tr_sup_which_children(sys, pa, NULL, 0, 50), TR_ETIMEDOUT);
    end_system(sys);
}

/* ---- bad specs ---- */

static void bad_specs(void) {
    tr_system *sys = new_system();
    warg a = {.tag = "a"};
    tr_sup_child_spec ok = wchild("a", &a);
    tr_sup_child_spec two[] = {ok, ok}; /* duplicate id */
    tr_sup_spec spec = sup_spec(TR_SUP_ONE_FOR_ONE, 1, 5000, two, 2);
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    two[1].id = "b";
    spec.period_ms = 0;
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);

    tr_sup_child_spec bad = ok;
    spec = sup_spec(TR_SUP_ONE_FOR_ONE, 1, 5000, &bad, 1);
    bad.id = NULL;
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.id = "0123456789012345678901234567890123456789012345678901234567890123"; /* 64 */
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.sup = &g_inner; /* two ways to start */
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.actor = NULL; /* none */
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.restart = (tr_sup_restart)7;
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.shutdown_ms = -3;
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);

    spec = sup_spec(TR_SUP_SIMPLE_ONE_FOR_ONE, 1, 5000, two, 2); /* a pool: one template */
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    bad = ok;
    bad.name = "pool_named";
    spec = sup_spec(TR_SUP_SIMPLE_ONE_FOR_ONE, 1, 5000, &bad, 1);
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    spec.strategy = (tr_sup_strategy)9;
    CHECK_EQ(tr_sup_start(sys, &spec), TR_EINVAL);
    CHECK_EQ(tr_sup_start(sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_sup_start(NULL, &spec), TR_EINVAL);
    CHECK_EQ(log_count(), 0); /* nothing was started */
    end_system(sys);
}

int main(void) {
    CHECK_EQ(uv_mutex_init(&g_lock), 0);
    RUN(one_for_one_restarts_only_the_child);
    RUN(one_for_all_restarts_every_child);
    RUN(rest_for_one_restarts_the_rest);
    RUN(intensity_escalates);
    RUN(intensity_counts_only_the_period);
    RUN(restart_types);
    RUN(shutdown_timeout_kills);
    RUN(brutal_kill);
    RUN(pool_from_plain_thread);
    RUN(pool_from_actor);
    RUN(name_follows_restarts);
    RUN(nested_supervisor_escalates);
    RUN(failed_init_stops_the_started);
    RUN(failed_restart_is_retried);
    RUN(parent_exit_shuts_down);
    RUN(static_management);
    RUN(bad_specs);
    uv_mutex_destroy(&g_lock);
    return check_summary();
}
