/* test_sharing.c — whether workers steal from each other (runtime/sharing.h).
 *
 * The controller is driven directly with made-up rates: it must start
 * keeping, share while the system is quiet, probe the other mode every
 * `interval` busy epochs, change mode only after probes that win by the
 * margin, double the interval (to its cap) after probes that lose, start
 * over, sharing, when the system is busy again after being quiet, and not
 * flip modes when only keeping is under the mark. Then whole
 * systems: with TR_SHARING_NEVER every message still arrives, a turn that
 * runs long still lets the other worker take what is queued behind it
 * (without that rule this test spins until its watchdog fails it), and
 * flipping the mode under a running fork-join workload loses nothing (under
 * ThreadSanitizer too). */
#include "check.h"

#include "system.h"

#include <stdatomic.h>
#include <unistd.h>

/* ---- the controller ---- */

/* Runs `epochs` epochs of a system whose rate is share_rate while sharing
 * and keep_rate while keeping; stores at probes[i] the epoch in which the
 * i-th probe ran (at most max_probes) and returns the probes run. */
static int drive(tr_sharing_ctl *c, int epochs, double share_rate, double keep_rate, int *probes,
                 int max_probes) {
    int keep = c->keep, n = 0;
    for (int e = 0; e < epochs; e++) {
        if (c->phase == TR_SHARING_PROBE && n < max_probes)
            probes[n++] = e;
        keep = tr_sharing_epoch(c, keep ? keep_rate : share_rate);
    }
    return n;
}

static void controller_shares_while_quiet(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    CHECK_EQ(c.keep, 1); /* a busy system starts keeping */
    int probes[4];
    CHECK_EQ(drive(&c, 1000, TR_SHARING_BUSY / 2, TR_SHARING_BUSY / 2, probes, 4), 0);
    CHECK_EQ(c.keep, 0);
    CHECK_EQ(c.changes, 0);
}

static void controller_shares_when_sharing_wins(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    int probes[8];
    /* Sharing is twice as fast. The first probe (epoch F, checked in F + 1)
       wins, so does the second, at once (F + 2, checked in F + 3), and the
       mode changes; the probes of keeping after it lose, so they come 8, 16
       and 32 epochs after each check. */
    enum { F = TR_SHARING_FIRST };
    CHECK_EQ(TR_SHARING_WINS, 2);
    int n = drive(&c, F + 67, 20e6, 10e6, probes, 8);
    CHECK_EQ(n, 5);
    CHECK_EQ(probes[0], F);
    CHECK_EQ(probes[1], F + 2);
    CHECK_EQ(probes[2], F + 4 + 8);
    CHECK_EQ(probes[3], F + 4 + 8 + 2 + 16);
    CHECK_EQ(probes[4], F + 4 + 8 + 2 + 16 + 2 + 32);
    CHECK_EQ(c.keep, 0);
    CHECK_EQ(c.changes, 1);
    /* and back to keeping when keeping comes to win */
    drive(&c, 200, 10e6, 20e6, probes, 8);
    CHECK_EQ(c.keep, 1);
    CHECK_EQ(c.changes, 2);
    /* one win alone changes nothing: sharing wins its first probe only */
    tr_sharing_init(&c);
    int keep = 1, share_probes = 0;
    for (int e = 0; e < 100; e++) {
        double rate = 10e6;
        if (!keep && c.phase == TR_SHARING_PROBE && share_probes++ == 0)
            rate = 20e6;
        keep = tr_sharing_epoch(&c, rate);
    }
    CHECK(share_probes > 2);
    CHECK_EQ(c.keep, 1);
    CHECK_EQ(c.changes, 0);
    /* a win by less than the margin is no win */
    tr_sharing_init(&c);
    CHECK(drive(&c, 100, 10e6 * (TR_SHARING_MARGIN - 0.01), 10e6, probes, 8) > 2);
    CHECK_EQ(c.keep, 1);
    CHECK_EQ(c.changes, 0);
}

/* The probe is judged against both epochs around it: a rate that climbs by
 * 6 % an epoch anyway (more than the margin) does not make a probe of an
 * equal mode win, as it would against the epoch before alone, and neither
 * does a check epoch slowed by the change back, as it would against the
 * mean of the two. */
static void controller_ignores_a_trend(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    double rate = 10e6;
    for (int e = 0; e < 200; e++, rate *= 1.06)
        tr_sharing_epoch(&c, rate);
    CHECK_EQ(c.changes, 0);
    tr_sharing_init(&c);
    for (int e = 0; e < 200; e++)
        tr_sharing_epoch(&c, c.phase == TR_SHARING_CHECK ? 5e6 : 10e6);
    CHECK_EQ(c.changes, 0);
}

static void controller_backs_off_to_its_cap(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    int probes[16];
    int n = drive(&c, 3000, 10e6, 20e6, probes, 16);
    int gap = TR_SHARING_INTERVAL / 2, at = TR_SHARING_FIRST;
    for (int i = 0; i < n; i++) {
        CHECK_EQ(probes[i], at);
        gap = gap * 2 > TR_SHARING_INTERVAL_MAX ? TR_SHARING_INTERVAL_MAX : gap * 2;
        at += 2 + gap; /* the probe, its check, then gap standing epochs */
    }
    CHECK(n >= 8); /* F, F + 10, F + 28, F + 62, ... F + 774: the cap is reached */
    CHECK_EQ(c.interval, TR_SHARING_INTERVAL_MAX);
    CHECK_EQ(c.keep, 1);
    CHECK_EQ(c.changes, 0);
}

static void controller_starts_over_when_busy_again(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    int probes[4];
    drive(&c, TR_SHARING_FIRST + 2 * TR_SHARING_WINS, 10e6, 20e6, probes, 4); /* keeping stays */
    CHECK_EQ(c.keep, 1);
    CHECK_EQ(tr_sharing_epoch(&c, TR_SHARING_BUSY / 10), 0); /* quiet: sharing */
    CHECK_EQ(tr_sharing_epoch(&c, TR_SHARING_BUSY / 10), 0);
    /* Busy: the epoch ran sharing, which stands, and counts as the first busy
       one; the interval starts over. */
    CHECK_EQ(TR_SHARING_FIRST, 1);
    CHECK_EQ(tr_sharing_epoch(&c, 20e6), 1); /* the probe of keeping comes next */
    CHECK_EQ(c.phase, TR_SHARING_PROBE);
    CHECK_EQ(c.interval, TR_SHARING_INTERVAL / 2);
    CHECK_EQ(c.changes, 0);
    /* a quiet probe is a probe that lost, judged in its check */
    CHECK_EQ(tr_sharing_epoch(&c, TR_SHARING_BUSY / 10), 0);
    CHECK_EQ(c.phase, TR_SHARING_CHECK);
    CHECK_EQ(tr_sharing_epoch(&c, 20e6), 0);
    CHECK_EQ(c.phase, TR_SHARING_STANDING);
    CHECK_EQ(c.interval, TR_SHARING_INTERVAL);
    /* and a quiet check epoch is quiet: sharing, until a busy one starts over */
    for (int e = 0; c.phase != TR_SHARING_CHECK; e++) {
        CHECK(e < 100);
        tr_sharing_epoch(&c, 20e6);
    }
    CHECK_EQ(tr_sharing_epoch(&c, TR_SHARING_BUSY / 10), 0);
    CHECK_EQ(c.phase, TR_SHARING_QUIET);
    CHECK_EQ(c.changes, 0);
}

/* A system under the mark while keeping and over it while sharing (its work
 * fits on fewer workers when kept): it settles on sharing, and tries
 * keeping only in probes, ever more rarely. It flipped every epoch when a
 * busy epoch after a quiet one started over keeping. */
static void controller_settles_across_the_mark(void) {
    tr_sharing_ctl c;
    tr_sharing_init(&c);
    int keep = c.keep, kept = 0;
    for (int e = 0; e < 400; e++) {
        kept += keep;
        keep = tr_sharing_epoch(&c, keep ? TR_SHARING_BUSY / 2 : TR_SHARING_BUSY * 2);
    }
    CHECK(kept <= 10);
    CHECK_EQ(c.keep, 0);
}

/* ---- systems ---- */

/* A fork-join round: the producer sends PER values to each of RECEIVERS
 * receivers, round-robin in one callback; each sends back its sum after PER;
 * after ROUNDS rounds it stops them and exits. */
enum { MSG_GO = 1, MSG_VALUE, MSG_SUM, MSG_STOP };
enum { RECEIVERS = 16, PER = 50 };

typedef struct {
    tr_pid receivers[RECEIVERS];
    int rounds, round, missing;
    int64_t next, total;
} producer_state;

static _Atomic int64_t g_total;

static int fork_round(tr_ctx *cx, producer_state *p) {
    p->round++;
    p->missing = RECEIVERS;
    for (int i = 0; i < RECEIVERS * PER; i++)
        CHECK_EQ(tr_send_i64(tr_ctx_system(cx), p->receivers[i % RECEIVERS], MSG_VALUE, p->next++),
                 0);
    return 0;
}

static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer_state *p = state;
    if (tr_msg_type(m) == MSG_GO)
        return fork_round(cx, p);
    p->total += tr_msg_i64(m);
    if (--p->missing > 0)
        return 0;
    if (p->round < p->rounds)
        return fork_round(cx, p);
    atomic_store(&g_total, p->total);
    for (int i = 0; i < RECEIVERS; i++)
        CHECK_EQ(tr_send_i64(tr_ctx_system(cx), p->receivers[i], MSG_STOP, 0), 0);
    return tr_exit(cx, 0);
}

typedef struct {
    int count;
    int64_t sum;
} receiver_state;

static int receiver_receive(tr_ctx *cx, void *state, tr_msg *m) {
    receiver_state *r = state;
    if (tr_msg_type(m) == MSG_STOP)
        return tr_exit(cx, 0);
    r->sum += tr_msg_i64(m);
    if (++r->count < PER)
        return 0;
    int rc = tr_send_i64(tr_ctx_system(cx), tr_msg_sender(m), MSG_SUM, r->sum);
    r->count = 0;
    r->sum = 0;
    return rc;
}

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(producer_state *)state = *(const producer_state *)arg;
    return 0;
}

static const tr_actor_spec receiver_spec = {
    .name = "receiver", .state_size = sizeof(receiver_state), .receive = receiver_receive};
static const tr_actor_spec producer_spec = {.name = "producer",
                                            .state_size = sizeof(producer_state),
                                            .init = producer_init,
                                            .receive = producer_receive};

static tr_system *system_sharing(tr_sharing sharing) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    cfg.workers = 2;
    cfg.sharing = sharing;
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    return sys;
}

/* Starts the fork-join workload of `rounds` rounds on sys and returns the sum
 * the producer must report: the values 0 .. rounds x RECEIVERS x PER - 1. */
static int64_t start_fork_join(tr_system *sys, int rounds) {
    atomic_store(&g_total, -1);
    producer_state setup = {.rounds = rounds};
    for (int i = 0; i < RECEIVERS; i++)
        setup.receivers[i] = check_spawn(sys, &receiver_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &producer_spec, &setup), MSG_GO, 0), 0);
    int64_t n = (int64_t)rounds * RECEIVERS * PER;
    return n * (n - 1) / 2;
}

static void never_sharing_delivers_everything(void) {
    tr_system *sys = system_sharing(TR_SHARING_NEVER);
    int rounds = SANITIZED ? 50 : 400;
    int64_t want = start_fork_join(sys, rounds);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(atomic_load(&g_total), want);
    CHECK_EQ(st.sharing, 0);
    CHECK_EQ(st.sharing_changes, 0);
    CHECK_EQ(st.dead_letters, 0);
    /* every value, every sum, the start and the stops */
    CHECK_EQ(st.received, (uint64_t)rounds * RECEIVERS * (PER + 1) + 1 + RECEIVERS);
}

/* A callback that runs until another actor, queued behind it on its own
 * worker, has run: only the long-turn rule can get that one to the other
 * worker while workers keep their own actors. */
enum { MSG_WAIT = 1, MSG_SET };
static atomic_int g_flag;

static int flag_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)cx;
    (void)state;
    if (tr_msg_type(m) == MSG_SET)
        atomic_store(&g_flag, 1);
    return tr_exit(cx, 0);
}

static const tr_actor_spec flag_spec = {.name = "flag", .receive = flag_receive};

typedef struct {
    tr_pid setter, others[2];
} waiter_arg;

static int waiter_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(waiter_arg *)state = *(const waiter_arg *)arg;
    return 0;
}

static int waiter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)m;
    waiter_arg *a = state;
    tr_system *sys = tr_ctx_system(cx);
    /* A send waits in the outbox until the callback sends to someone else;
       then its receiver becomes runnable in the run-next slot, which only
       this worker takes from, until the next one pushes it into the ring,
       where another worker can take it. */
    CHECK_EQ(tr_send_i64(sys, a->setter, MSG_SET, 0), 0);
    CHECK_EQ(tr_send_i64(sys, a->others[0], MSG_SET, 0), 0);
    CHECK_EQ(tr_send_i64(sys, a->others[1], MSG_SET, 0), 0);
    uint64_t until = check_now_ms() + 10000; /* the watchdog */
    while (!atomic_load(&g_flag))
        CHECK(check_now_ms() < until);
    return tr_exit(cx, 0);
}

static const tr_actor_spec waiter_spec = {.name = "waiter",
                                          .state_size = sizeof(waiter_arg),
                                          .init = waiter_init,
                                          .receive = waiter_receive};

static void long_turn_is_taken_from(void) {
    for (int sharing = TR_SHARING_AUTO; sharing <= TR_SHARING_NEVER; sharing++) {
        atomic_store(&g_flag, 0);
        tr_system *sys = system_sharing((tr_sharing)sharing);
        waiter_arg arg = {check_spawn(sys, &flag_spec, NULL),
                          {check_spawn(sys, &flag_spec, NULL), check_spawn(sys, &flag_spec, NULL)}};
        CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &waiter_spec, &arg), MSG_WAIT, 0), 0);
        tr_system_stats st = check_finish(sys);
        CHECK_EQ(atomic_load(&g_flag), 1);
        CHECK_EQ(st.exited, 4);
    }
}

/* How often each of sys's two workers has looked for work (turns and
 * fruitless looks alike), and how many messages its turns took. */
static void worker_counts(tr_system *sys, uint64_t looks[2], uint64_t taken[2]) {
    for (int i = 0; i < 2; i++) {
        looks[i] = atomic_load(&sys->workers[i].tick);
        taken[i] = atomic_load(&sys->workers[i].counters.received);
    }
}

/* While workers keep their own actors, a worker with nothing to run parks,
 * though the busy worker's ring holds actors it may not take. Its look before
 * parking used to count every ring, so it searched again, every 50 us or so,
 * for as long as that ring held actors. Here LOOPERS actors, started by one
 * actor and so all on its worker, send themselves messages; once they run, a
 * message from this thread wakes the other worker, which then has nothing
 * to do and must park after a few looks for work (400-470 before). */
enum { LOOPERS = 32 };
static atomic_long g_loops;

static int looper_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(int *)state = *(const int *)arg;
    return 0;
}

static int looper_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)m;
    atomic_fetch_add(&g_loops, 1);
    if (--*(int *)state == 0)
        return tr_exit(cx, 0);
    return tr_send_i64(tr_ctx_system(cx), tr_self(cx), MSG_VALUE, 0);
}

static const tr_actor_spec looper_spec = {
    .name = "looper", .state_size = sizeof(int), .init = looper_init, .receive = looper_receive};

static int starter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    tr_system *sys = tr_ctx_system(cx);
    int loops = (int)tr_msg_i64(m);
    for (int i = 0; i < LOOPERS; i++)
        CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &looper_spec, &loops), MSG_VALUE, 0), 0);
    return tr_exit(cx, 0);
}

static const tr_actor_spec starter_spec = {.name = "starter", .receive = starter_receive};

static void keeping_idle_worker_parks(void) {
    tr_system *sys = system_sharing(TR_SHARING_NEVER);
    int loops = SANITIZED ? 2000 : 20000;
    atomic_store(&g_loops, 0);
    tr_pid waker = check_spawn(sys, &flag_spec, NULL);
    CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &starter_spec, NULL), MSG_VALUE, loops), 0);
    for (int i = 0; atomic_load(&g_loops) < LOOPERS * 10; i++) {
        CHECK(i < 100000); /* the watchdog: 10 s */
        usleep(100);
    }
    /* The worker that takes fewer messages from here on is the idle one: its
       looks less its messages must stay small. (A look that finds work takes
       at least a message. A worker that the ticker wakes because the other's
       turn seemed long, its thread descheduled say, may take loopers and
       keep them; then it finds work at its looks too.) */
    uint64_t looks0[2], taken0[2], looks[2], taken[2];
    worker_counts(sys, looks0, taken0);
    CHECK_EQ(tr_send_i64(sys, waker, MSG_WAIT, 0), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    worker_counts(sys, looks, taken);
    tr_system_stats st = check_finish(sys);
    for (int i = 0; i < 2; i++) {
        looks[i] -= looks0[i];
        taken[i] -= taken0[i];
    }
    int idle = taken[0] < taken[1] ? 0 : 1;
    printf("    after the wake-up, the idle worker looked for work %llu times and took %llu "
           "messages\n",
           (unsigned long long)looks[idle], (unsigned long long)taken[idle]);
    CHECK(looks[idle] < taken[idle] + 20);
    CHECK_EQ(atomic_load(&g_loops), (long)LOOPERS * loops);
    CHECK_EQ(st.exited, LOOPERS + 2);
}

/* While keeping, what a full ring spills into the global queue wakes a
 * parked worker: one actor makes SPILLED actors runnable in one callback,
 * more than a ring holds, and each works for some microseconds; the other
 * worker, parked when it began, must run some of them (it ran none before a
 * spill woke anyone in KEEP). */
enum { SPILLED = 1000 };

static int busy_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    (void)m;
    volatile unsigned x = 0;
    for (int i = 0; i < 50000; i++)
        x += (unsigned)i;
    return tr_exit(cx, 0);
}

static const tr_actor_spec busy_spec = {.name = "busy", .receive = busy_receive};

static int spiller_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    (void)m;
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < SPILLED; i++)
        CHECK_EQ(tr_send_i64(sys, check_spawn(sys, &busy_spec, NULL), MSG_VALUE, 0), 0);
    return tr_exit(cx, 0);
}

static const tr_actor_spec spiller_spec = {.name = "spiller", .receive = spiller_receive};

static void keeping_spill_wakes_a_worker(void) {
    tr_system *sys = system_sharing(TR_SHARING_NEVER);
    tr_pid spiller = check_spawn(sys, &spiller_spec, NULL);
    for (int i = 0; atomic_load(&sys->nparked) < 2; i++) { /* both asleep first */
        CHECK(i < 100000);
        usleep(100);
    }
    CHECK_EQ(tr_send_i64(sys, spiller, MSG_VALUE, 0), 0);
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    uint64_t looks[2], took[2];
    worker_counts(sys, looks, took);
    printf("    messages taken: %llu and %llu\n", (unsigned long long)took[0],
           (unsigned long long)took[1]);
    CHECK(took[0] > 0 && took[1] > 0);
    CHECK_EQ(took[0] + took[1], SPILLED + 1);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.exited, SPILLED + 1);
}

/* The mode flipped by hand every 100 us (the AUTO controller is kept out:
 * ALWAYS) while fork-join rounds run: every value still arrives once. */
static void flipping_modes_loses_nothing(void) {
    tr_system *sys = system_sharing(TR_SHARING_ALWAYS);
    int64_t want = start_fork_join(sys, SANITIZED ? 100 : 1000);
    int keep = 0;
    while (atomic_load(&g_total) < 0) {
        keep = !keep;
        atomic_store(&sys->keep, keep);
        usleep(100);
    }
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(atomic_load(&g_total), want);
    CHECK_EQ(st.dead_letters, 0);
}

static void config_is_checked(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    CHECK_EQ(cfg.sharing, TR_SHARING_AUTO);
    cfg.sharing = (tr_sharing)(TR_SHARING_NEVER + 1);
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), TR_EINVAL);
    CHECK(sys == NULL);
}

int main(int argc, char **argv) {
    check_only = argc > 1 ? argv[1] : NULL;
    RUN_CASE(controller_shares_while_quiet);
    RUN_CASE(controller_shares_when_sharing_wins);
    RUN_CASE(controller_ignores_a_trend);
    RUN_CASE(controller_backs_off_to_its_cap);
    RUN_CASE(controller_starts_over_when_busy_again);
    RUN_CASE(controller_settles_across_the_mark);
    RUN_CASE(never_sharing_delivers_everything);
    RUN_CASE(keeping_idle_worker_parks);
    RUN_CASE(keeping_spill_wakes_a_worker);
    RUN_CASE(long_turn_is_taken_from);
    RUN_CASE(flipping_modes_loses_nothing);
    RUN_CASE(config_is_checked);
    return check_summary();
}
