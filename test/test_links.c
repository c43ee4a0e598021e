/* test_links.c — links, monitors and exit signals, observed from a plain
 * thread's inbox. Probe actors obey commands (link, monitor, trap, crash, ...)
 * and report what they see (exit and down notices, their own terminate) to
 * the inbox, so each case checks exact reasons, pids and orders:
 * an abnormal exit takes a linked actor down, a normal one does not; trapping
 * turns signals into TR_MSG_EXIT; links and monitors to dead pids report
 * TR_ENOACTOR; unlink and demonitor void later signals; kill cannot be
 * trapped; spawn_link / spawn_monitor observe even a child that dies at once;
 * signals bypass a full bounded mailbox and go before queued mail. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <uv.h>

enum {
    CMD_LINK = 1,   /* i64: pid */
    CMD_UNLINK,     /* i64: pid */
    CMD_MONITOR,    /* i64: pid; reports EV_MONITORED with the ref */
    CMD_DEMONITOR,  /* i64: ref */
    CMD_TRAP,       /* i64: on */
    CMD_CRASH,      /* i64: the reason receive returns */
    CMD_STOP,       /* tr_exit(cx, 0) */
    CMD_PING,       /* reports EV_PONG */
    CMD_HOLD,       /* i64: i; spins until g_hold[i] is cleared */
    CMD_SPAWN_LINK, /* i64: reason the child crashes with in init's first message
                       (0: it stays); reports EV_CHILD */
    CMD_SPAWN_MONITOR,
    CMD_WORK, /* ordinary mail: counted */
    MSG_EVENT,
};

enum { EV_TERMINATE = 1, EV_EXIT, EV_DOWN, EV_PONG, EV_MONITORED, EV_CHILD, EV_LINKED };

typedef struct {
    int ev;
    tr_pid self, pid;
    int64_t reason, ref;
} event;

typedef struct {
    tr_pid report;
    int64_t work;
} probe_state;

typedef struct {
    tr_pid report;
    int64_t crash_with; /* a child: crash on its first message with this (0: no) */
} probe_arg;

static atomic_int g_hold[2], g_holding[2];
static const tr_actor_spec probe_spec;

static void report(tr_ctx *cx, probe_state *p, int ev, tr_pid pid, int64_t reason, int64_t ref) {
    event e = {ev, tr_self(cx), pid, reason, ref};
    int rc = tr_send(tr_ctx_system(cx), p->report, MSG_EVENT, &e, sizeof e);
    CHECK(rc == 0 || rc == TR_ESTOPPED || rc == TR_ENOACTOR); /* at the end: inbox gone */
}

static int probe_init(tr_ctx *cx, void *state, const void *arg) {
    const probe_arg *a = arg;
    ((probe_state *)state)->report = a->report;
    if (a->crash_with) /* crashes as soon as it runs */
        CHECK_EQ(tr_send_i64(tr_ctx_system(cx), tr_self(cx), CMD_CRASH, a->crash_with), 0);
    return 0;
}

static int probe_receive(tr_ctx *cx, void *state, tr_msg *m) {
    probe_state *p = state;
    int64_t x = tr_msg_i64(m);
    uint32_t ref = 0;
    probe_arg child = {p->report, x};
    tr_pid pid;
    switch (tr_msg_type(m)) {
    case CMD_LINK:
        CHECK_EQ(tr_link(cx, x), 0);
        report(cx, p, EV_LINKED, x, 0, 0);
        return 0;
    case CMD_UNLINK: return tr_unlink(cx, x);
    case CMD_MONITOR:
        CHECK_EQ(tr_monitor(cx, x, &ref), 0);
        report(cx, p, EV_MONITORED, x, 0, ref);
        return 0;
    case CMD_DEMONITOR: return tr_demonitor(cx, (uint32_t)x);
    case CMD_TRAP: tr_trap_exits(cx, (int)x); return 0;
    case CMD_CRASH: return (int)x;
    case CMD_STOP: return tr_exit(cx, 0);
    case CMD_PING: report(cx, p, EV_PONG, 0, p->work, 0); return 0;
    case CMD_HOLD:
        atomic_store(&g_holding[x], 1);
        while (atomic_load(&g_hold[x]))
            ;
        return 0;
    case CMD_SPAWN_LINK:
        pid = tr_spawn_link(cx, &probe_spec, &child);
        CHECK(pid > 0);
        report(cx, p, EV_CHILD, pid, 0, 0);
        return 0;
    case CMD_SPAWN_MONITOR:
        pid = tr_spawn_monitor(cx, &probe_spec, &child, &ref);
        CHECK(pid > 0);
        report(cx, p, EV_CHILD, pid, 0, ref);
        return 0;
    case CMD_WORK: p->work++; return 0;
    case TR_MSG_EXIT:
        report(cx, p, EV_EXIT, tr_msg_exit_pid(m), tr_msg_exit_reason(m), 0);
        return 0;
    case TR_MSG_DOWN:
        report(cx, p, EV_DOWN, tr_msg_exit_pid(m), tr_msg_exit_reason(m), tr_msg_ref(m));
        return 0;
    }
    return TR_EUNHANDLED;
}

static void probe_terminate(tr_ctx *cx, void *state, int reason) {
    report(cx, state, EV_TERMINATE, 0, reason, ((probe_state *)state)->work);
}

static const tr_actor_spec probe_spec = {.name = "probe",
                                         .state_size = sizeof(probe_state),
                                         .init = probe_init,
                                         .receive = probe_receive,
                                         .terminate = probe_terminate};

/* ---- the test's side ---- */

typedef struct {
    tr_system *sys;
    tr_inbox *ib;
} rig;

static rig rig_open(unsigned workers, unsigned batch) {
    rig r = {check_system(workers, batch), NULL};
    CHECK_EQ(tr_inbox_open(r.sys, &r.ib), 0);
    return r;
}

static tr_pid probe(rig *r) {
    probe_arg a = {tr_inbox_pid(r->ib), 0};
    return check_spawn(r->sys, &probe_spec, &a);
}

static void cmd(rig *r, tr_pid to, uint32_t type, int64_t x) {
    CHECK_EQ(tr_send_i64(r->sys, to, type, x), 0);
}

/* The next event; it must be ev from `from`. */
static event next(rig *r, int ev, tr_pid from) {
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(r->ib, &m, 10000), 0);
    event e;
    CHECK_EQ(tr_msg_size(m), sizeof e);
    memcpy(&e, tr_msg_data(m), sizeof e);
    tr_msg_free(m);
    CHECK_EQ(e.ev, ev);
    CHECK_EQ(e.self, from);
    return e;
}

/* a answers a ping: every event it had to report before has been read. */
static void ping(rig *r, tr_pid a) {
    cmd(r, a, CMD_PING, 0);
    next(r, EV_PONG, a);
}

static void rig_close(rig *r) {
    CHECK_EQ(tr_inbox_close(r->ib), 0);
    CHECK_EQ(tr_system_stop(r->sys), 0);
    check_finish(r->sys);
}

static void link_both(rig *r, tr_pid a, tr_pid b) {
    cmd(r, a, CMD_LINK, b);
    next(r, EV_LINKED, a);
    ping(r, a); /* the LINK has left a's outbox, so it reaches b before... */
    ping(r, b); /* ...this ping: b has applied it */
}

/* ---- cases ---- */

static void abnormal_exit_takes_linked_actor_down(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), b = probe(&r);
    link_both(&r, a, b);
    cmd(&r, b, CMD_CRASH, TR_EXIT_USER(3));
    CHECK_EQ(next(&r, EV_TERMINATE, b).reason, TR_EXIT_USER(3));
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, TR_EXIT_USER(3));
    rig_close(&r);
}

static void normal_exit_does_not(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), b = probe(&r);
    link_both(&r, a, b);
    cmd(&r, b, CMD_STOP, 0);
    CHECK_EQ(next(&r, EV_TERMINATE, b).reason, 0);
    ping(&r, a); /* still alive */
    cmd(&r, a, CMD_STOP, 0);
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, 0);
    rig_close(&r);
}

static void trapping_turns_signals_into_messages(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), b = probe(&r), c = probe(&r);
    cmd(&r, a, CMD_TRAP, 1);
    link_both(&r, a, b);
    link_both(&r, a, c);
    cmd(&r, b, CMD_CRASH, TR_EXIT_USER(9));
    CHECK_EQ(next(&r, EV_TERMINATE, b).reason, TR_EXIT_USER(9));
    event e = next(&r, EV_EXIT, a);
    CHECK_EQ(e.pid, b);
    CHECK_EQ(e.reason, TR_EXIT_USER(9));
    cmd(&r, c, CMD_STOP, 0); /* a normal exit is reported too */
    CHECK_EQ(next(&r, EV_TERMINATE, c).reason, 0);
    e = next(&r, EV_EXIT, a);
    CHECK_EQ(e.pid, c);
    CHECK_EQ(e.reason, 0);
    /* tr_send_exit from a plain thread: trapped, from TR_PID_NONE */
    CHECK_EQ(tr_send_exit(r.sys, a, TR_ESTOPPED), 0);
    e = next(&r, EV_EXIT, a);
    CHECK_EQ(e.pid, TR_PID_NONE);
    CHECK_EQ(e.reason, TR_ESTOPPED);
    /* trapping off again: the next abnormal signal ends a */
    cmd(&r, a, CMD_TRAP, 0);
    ping(&r, a);                            /* signals overtake mail: let the command land first */
    CHECK_EQ(tr_send_exit(r.sys, a, 0), 0); /* normal: ignored */
    ping(&r, a);
    CHECK_EQ(tr_send_exit(r.sys, a, TR_EXIT_USER(1)), 0);
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, TR_EXIT_USER(1));
    rig_close(&r);
}

static void links_and_monitors_to_dead_pids(void) {
    rig r = rig_open(2, 64);
    tr_pid keep = probe(&r), dead = check_dead_pid(r.sys);
    tr_pid a = probe(&r), t = probe(&r);
    cmd(&r, t, CMD_TRAP, 1);
    cmd(&r, t, CMD_LINK, dead);
    next(&r, EV_LINKED, t);
    event e = next(&r, EV_EXIT, t);
    CHECK_EQ(e.pid, dead);
    CHECK_EQ(e.reason, TR_ENOACTOR);
    cmd(&r, t, CMD_MONITOR, dead);
    uint32_t ref = (uint32_t)next(&r, EV_MONITORED, t).ref;
    e = next(&r, EV_DOWN, t);
    CHECK_EQ(e.pid, dead);
    CHECK_EQ(e.reason, TR_ENOACTOR);
    CHECK_EQ(e.ref, ref);
    /* not trapping: a link to a dead pid is an exit with noproc */
    cmd(&r, a, CMD_LINK, dead);
    next(&r, EV_LINKED, a);
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, TR_ENOACTOR);
    /* an inbox is no actor: the same */
    cmd(&r, t, CMD_MONITOR, tr_inbox_pid(r.ib));
    ref = (uint32_t)next(&r, EV_MONITORED, t).ref;
    e = next(&r, EV_DOWN, t);
    CHECK_EQ(e.reason, TR_ENOACTOR);
    CHECK_EQ(e.ref, ref);
    cmd(&r, keep, CMD_STOP, 0);
    next(&r, EV_TERMINATE, keep);
    rig_close(&r);
}

static void monitors_report_once_and_demonitor_voids(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), p = probe(&r), b = probe(&r);
    cmd(&r, a, CMD_MONITOR, b);
    uint32_t ra = (uint32_t)next(&r, EV_MONITORED, a).ref;
    ping(&r, a); /* a's MONITOR has left its outbox before p's is made */
    cmd(&r, p, CMD_MONITOR, b);
    uint32_t rp = (uint32_t)next(&r, EV_MONITORED, p).ref;
    ping(&r, p);
    ping(&r, b);                   /* both MONITORs applied, a's first */
    cmd(&r, a, CMD_DEMONITOR, ra); /* a forgets its monitor */
    ping(&r, a);                   /* applied before the DOWN can come (signals overtake mail) */
    cmd(&r, b, CMD_CRASH, TR_EKILLED); /* any abnormal reason */
    CHECK_EQ(next(&r, EV_TERMINATE, b).reason, TR_EKILLED);
    event e = next(&r, EV_DOWN, p); /* p's DOWN follows a's (watcher order) */
    CHECK_EQ(e.pid, b);
    CHECK_EQ(e.ref, rp);
    CHECK_EQ(e.reason, TR_EKILLED);
    ping(&r, a); /* a reported no DOWN before this */
    ping(&r, p); /* only one DOWN per monitor */
    cmd(&r, a, CMD_STOP, 0);
    next(&r, EV_TERMINATE, a);
    cmd(&r, p, CMD_STOP, 0);
    next(&r, EV_TERMINATE, p);
    rig_close(&r);
}

static void unlink_voids_the_link(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), b = probe(&r);
    link_both(&r, a, b);
    cmd(&r, a, CMD_UNLINK, b);
    ping(&r, a);
    ping(&r, b); /* the UNLINK came before the ping */
    cmd(&r, b, CMD_CRASH, TR_EXIT_USER(5));
    CHECK_EQ(next(&r, EV_TERMINATE, b).reason, TR_EXIT_USER(5));
    ping(&r, a);
    cmd(&r, a, CMD_STOP, 0);
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, 0);
    rig_close(&r);
}

static void kill_cannot_be_trapped(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r), t = probe(&r);
    cmd(&r, a, CMD_TRAP, 1);
    cmd(&r, t, CMD_TRAP, 1);
    link_both(&r, t, a);
    ping(&r, a);
    CHECK_EQ(tr_kill(r.sys, a), 0);
    CHECK_EQ(next(&r, EV_TERMINATE, a).reason, TR_EKILLED);
    event e = next(&r, EV_EXIT, t); /* killed, as a trappable reason */
    CHECK_EQ(e.pid, a);
    CHECK_EQ(e.reason, TR_EKILLED);
    CHECK_EQ(tr_kill(r.sys, check_dead_pid(r.sys)), TR_ENOACTOR);
    CHECK_EQ(tr_send_exit(r.sys, check_dead_pid(r.sys), TR_EXIT_USER(1)), TR_ENOACTOR);
    CHECK_EQ(tr_kill(r.sys, 0), TR_EINVAL);
    CHECK_EQ(tr_send_exit(r.sys, t, 1), TR_EINVAL);
    cmd(&r, t, CMD_STOP, 0);
    next(&r, EV_TERMINATE, t);
    rig_close(&r);
}

static void spawn_link_and_monitor_see_an_instant_crash(void) {
    rig r = rig_open(2, 64);
    tr_pid a = probe(&r);
    cmd(&r, a, CMD_TRAP, 1);
    cmd(&r, a, CMD_SPAWN_LINK, TR_EXIT_USER(11)); /* the child crashes at once */
    tr_pid child = next(&r, EV_CHILD, a).pid;
    CHECK_EQ(next(&r, EV_TERMINATE, child).reason, TR_EXIT_USER(11));
    event e = next(&r, EV_EXIT, a);
    CHECK_EQ(e.pid, child);
    CHECK_EQ(e.reason, TR_EXIT_USER(11));
    cmd(&r, a, CMD_SPAWN_MONITOR, TR_EXIT_USER(12));
    e = next(&r, EV_CHILD, a);
    child = e.pid;
    uint32_t ref = (uint32_t)e.ref;
    CHECK(ref != 0);
    CHECK_EQ(next(&r, EV_TERMINATE, child).reason, TR_EXIT_USER(12));
    e = next(&r, EV_DOWN, a);
    CHECK_EQ(e.pid, child);
    CHECK_EQ(e.ref, ref);
    CHECK_EQ(e.reason, TR_EXIT_USER(12));
    /* misuse */
    CHECK_EQ(tr_spawn_link(NULL, &probe_spec, NULL), TR_ENOTACTOR);
    CHECK_EQ(tr_link(NULL, a), TR_ENOTACTOR);
    CHECK_EQ(tr_trap_exits(NULL, 1), TR_ENOTACTOR);
    cmd(&r, a, CMD_STOP, 0);
    next(&r, EV_TERMINATE, a);
    rig_close(&r);
}

/* a and b, linked, hold both workers while the test fills their bounded
 * mailboxes; an exit signal still gets into a, ends it before any of its
 * queued mail, and a's exit signal gets into b just the same. */
static const tr_actor_spec bounded_probe_spec = {.name = "bounded probe",
                                                 .state_size = sizeof(probe_state),
                                                 .init = probe_init,
                                                 .receive = probe_receive,
                                                 .terminate = probe_terminate,
                                                 .mailbox_capacity = 4};

static void fill(rig *r, tr_pid to) {
    int queued = 0, rc;
    while ((rc = tr_send_i64(r->sys, to, CMD_WORK, 0)) == 0)
        queued++;
    CHECK_EQ(rc, TR_EFULL);
    CHECK(queued >= 3 && queued <= 4); /* the hold may or may not have left */
}

static void signals_bypass_a_full_mailbox_and_go_first(void) {
    rig r = rig_open(2, 1); /* batch 1: the turn after the hold starts sorted */
    probe_arg arg = {tr_inbox_pid(r.ib), 0};
    tr_pid a = check_spawn(r.sys, &bounded_probe_spec, &arg);
    tr_pid b = check_spawn(r.sys, &bounded_probe_spec, &arg);
    tr_pid t = probe(&r);
    link_both(&r, a, b);
    cmd(&r, t, CMD_TRAP, 1);
    link_both(&r, t, a); /* a signals b, then t */
    atomic_store(&g_hold[0], 1);
    atomic_store(&g_hold[1], 1);
    cmd(&r, a, CMD_HOLD, 0);
    cmd(&r, b, CMD_HOLD, 1);
    while (!atomic_load(&g_holding[0]) || !atomic_load(&g_holding[1]))
        ; /* both inside their hold: a signal can only be sorted at the next turn */
    fill(&r, a);
    fill(&r, b);
    CHECK_EQ(tr_send_exit(r.sys, a, TR_EXIT_USER(2)), 0);
    atomic_store(&g_hold[0], 0);
    event e = next(&r, EV_TERMINATE, a);
    CHECK_EQ(e.reason, TR_EXIT_USER(2));
    CHECK_EQ(e.ref, 0);                    /* no queued work was handled before the signal */
    CHECK_EQ(next(&r, EV_EXIT, t).pid, a); /* so a's signal to b is in b's mailbox */
    atomic_store(&g_hold[1], 0);
    e = next(&r, EV_TERMINATE, b);
    CHECK_EQ(e.reason, TR_EXIT_USER(2));
    CHECK_EQ(e.ref, 0);
    cmd(&r, t, CMD_STOP, 0);
    next(&r, EV_TERMINATE, t);
    rig_close(&r);
}

/* Chains of linked actors under load: killing one end takes every actor of
 * its chain down with TR_EKILLED, while the chains' members keep messaging
 * each other; concurrently with links being made (each link is made by the
 * newer actor in its init, racing the kills of earlier chains). */
enum { CHAINS = 8, CHAIN_LEN = 64, MSG_CHAIN_WORK = 77 };

static atomic_int g_chain_exits[CHAINS], g_chain_bad;

typedef struct {
    tr_pid prev;
    int chain;
} chain_state;

static int chain_init(tr_ctx *cx, void *state, const void *arg) {
    chain_state *c = state;
    *c = *(const chain_state *)arg;
    return c->prev ? tr_link(cx, c->prev) : 0;
}

static int chain_receive(tr_ctx *cx, void *state, tr_msg *m) {
    chain_state *c = state;
    int64_t hops = tr_msg_i64(m);
    if (tr_msg_type(m) == MSG_CHAIN_WORK && hops > 0 && c->prev)
        tr_send_i64(tr_ctx_system(cx), c->prev, MSG_CHAIN_WORK, hops - 1);
    return 0;
}

static void chain_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    chain_state *c = state;
    atomic_fetch_add(&g_chain_exits[c->chain], 1);
    if (reason != TR_EKILLED)
        atomic_fetch_add(&g_chain_bad, 1);
}

static const tr_actor_spec chain_spec = {.name = "chain link",
                                         .state_size = sizeof(chain_state),
                                         .init = chain_init,
                                         .receive = chain_receive,
                                         .terminate = chain_terminate};

static void killing_a_chain_end_takes_the_chain_down(void) {
    tr_system *sys = check_system(2, 16);
    tr_pid keep = check_spawn_idle(sys);
    tr_pid first[CHAINS], last[CHAINS];
    for (int k = 0; k < CHAINS; k++) {
        chain_state c = {TR_PID_NONE, k};
        for (int i = 0; i < CHAIN_LEN; i++) {
            tr_pid pid = check_spawn(sys, &chain_spec, &c);
            if (i == 0)
                first[k] = pid;
            c.prev = last[k] = pid;
            CHECK_EQ(tr_send_i64(sys, pid, MSG_CHAIN_WORK, i), 0);
        }
        if (k > 0) /* the previous chain dies while this one was being built */
            CHECK_EQ(tr_kill(sys, k % 2 ? first[k - 1] : last[k - 1]), 0);
    }
    CHECK_EQ(tr_kill(sys, last[CHAINS - 1]), 0);
    for (int k = 0; k < CHAINS; k++)
        while (atomic_load(&g_chain_exits[k]) < CHAIN_LEN)
            uv_sleep(1);
    for (int k = 0; k < CHAINS; k++)
        CHECK_EQ(atomic_load(&g_chain_exits[k]), CHAIN_LEN);
    CHECK_EQ(atomic_load(&g_chain_bad), 0);
    CHECK_EQ(tr_send_i64(sys, keep, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.exited, CHAINS * CHAIN_LEN + 1);
}

int main(void) {
    RUN(abnormal_exit_takes_linked_actor_down);
    RUN(normal_exit_does_not);
    RUN(trapping_turns_signals_into_messages);
    RUN(links_and_monitors_to_dead_pids);
    RUN(monitors_report_once_and_demonitor_voids);
    RUN(unlink_voids_the_link);
    RUN(kill_cannot_be_trapped);
    RUN(spawn_link_and_monitor_see_an_instant_crash);
    RUN(signals_bypass_a_full_mailbox_and_go_first);
    RUN(killing_a_chain_end_takes_the_chain_down);
    return check_summary();
}
