/* test_supervision_chaos.c — a supervision tree under load while workers
 * crash at random. The tree has three levels of supervisors: a root
 * (one-for-one) over four mid supervisors (one-for-all, rest-for-one,
 * one-for-one, one-for-one), each over five leaves (one-for-one, started by
 * spec or by start function), each over 50 named workers: 1,000 workers,
 * permanent, transient and temporary, some with bounded mailboxes.
 *
 * For about two seconds a load thread sends work to workers found by name,
 * with bursts that overflow the bounded mailboxes, while the main thread
 * sends crash orders to random workers (a fixed seed for each). Afterwards:
 * every permanent and transient worker is alive and registered under its
 * name, each with exactly as many restarts as crashes it received, each
 * temporary one that crashed is gone; no supervisor above the workers
 * restarted or changed pid; and, once the system has stopped, every message
 * sent is accounted for exactly: sent == received + dead letters + rejected,
 * and the rejected ones are the sends that returned TR_EFULL. */
#include "check.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <troupe/supervisor.h>
#include <uv.h>

enum { MIDS = 4, LEAVES = 5, WORKERS = 50, TOTAL = MIDS * LEAVES * WORKERS };
enum { MSG_LOAD = 1, MSG_CRASH };
enum { CHAOS_MS = 2000, WAIT_MS = 30000, BOUNDED_CAPACITY = 4 };

static atomic_ullong g_sent, g_full, g_received;
static atomic_int g_crashes[TOTAL];
static atomic_int g_stop_load;

/* What kind of worker index i is. */
static tr_sup_restart restart_of(int i) {
    return i % 10 == 9 ? TR_SUP_TEMPORARY : i % 10 == 7 ? TR_SUP_TRANSIENT : TR_SUP_PERMANENT;
}

#define WAIT_UNTIL(cond) CHECK_WAIT_UNTIL(cond, WAIT_MS)

/* xorshift32: the same sequence on every run. */
static uint32_t next_rand(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* ---- workers ---- */

static int worker_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(int *)state = *(const int *)arg;
    return 0;
}

static int worker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)cx;
    atomic_fetch_add(&g_received, 1);
    if (tr_msg_type(m) != MSG_CRASH)
        return 0;
    atomic_fetch_add(&g_crashes[*(int *)state], 1);
    return TR_EXIT_USER(5);
}

static const tr_actor_spec worker_spec = {.name = "chaos worker",
                                          .state_size = sizeof(int),
                                          .init = worker_init,
                                          .receive = worker_receive};
static const tr_actor_spec bounded_spec = {.name = "chaos bounded worker",
                                           .state_size = sizeof(int),
                                           .init = worker_init,
                                           .receive = worker_receive,
                                           .mailbox_capacity = BOUNDED_CAPACITY};

/* ---- the tree's specs (static: nested specs must outlive their parents) ---- */

static char g_ids[TOTAL][8], g_names[TOTAL][8];
static int g_args[TOTAL];
static tr_sup_child_spec g_workers[MIDS * LEAVES][WORKERS];
static tr_sup_spec g_leaf[MIDS * LEAVES];
static tr_sup_child_spec g_leaf_kids[MIDS][LEAVES];
static tr_sup_spec g_mid[MIDS];
static tr_sup_child_spec g_mid_kids[MIDS];
static tr_sup_spec g_root;

static tr_pid start_leaf(tr_ctx *cx, const void *arg) {
    return tr_sup_start_link(cx, *(const tr_sup_spec *const *)arg);
}

static const tr_sup_spec *g_leaf_ptr[MIDS * LEAVES];

static void build_tree(void) {
    static const tr_sup_strategy mid_strategy[MIDS] = {TR_SUP_ONE_FOR_ALL, TR_SUP_REST_FOR_ONE,
                                                       TR_SUP_ONE_FOR_ONE, TR_SUP_ONE_FOR_ONE};
    for (int l = 0; l < MIDS * LEAVES; l++) {
        for (int w = 0; w < WORKERS; w++) {
            int i = l * WORKERS + w;
            g_args[i] = i;
            snprintf(g_ids[i], sizeof g_ids[i], "w%d", w);
            snprintf(g_names[i], sizeof g_names[i], "c%04d", i);
            g_workers[l][w] = (tr_sup_child_spec){
                .id = g_ids[i],
                .actor = i % 5 == 0 ? &bounded_spec : &worker_spec,
                .arg = &g_args[i],
                .arg_size = sizeof g_args[i],
                .restart = restart_of(i),
                .shutdown_ms = TR_SUP_INFINITY, /* no timers: every message is counted */
                .name = g_names[i]};
        }
        g_leaf[l] = (tr_sup_spec){.strategy = TR_SUP_ONE_FOR_ONE,
                                  .intensity = 1000000,
                                  .period_ms = 1000,
                                  .children = g_workers[l],
                                  .nchildren = WORKERS};
        g_leaf_ptr[l] = &g_leaf[l];
    }
    for (int m = 0; m < MIDS; m++) {
        for (int l = 0; l < LEAVES; l++) {
            tr_sup_child_spec *c = &g_leaf_kids[m][l];
            *c = (tr_sup_child_spec){.id = g_ids[l], .type = TR_SUP_SUPERVISOR};
            if (m % 2) { /* by start function: the argument is copied */
                c->start = start_leaf;
                c->arg = &g_leaf_ptr[m * LEAVES + l];
                c->arg_size = sizeof g_leaf_ptr[0];
            } else {
                c->sup = &g_leaf[m * LEAVES + l];
            }
        }
        g_mid[m] = (tr_sup_spec){.strategy = mid_strategy[m],
                                 .intensity = 1,
                                 .period_ms = 1000,
                                 .children = g_leaf_kids[m],
                                 .nchildren = LEAVES};
        g_mid_kids[m] = (tr_sup_child_spec){.id = g_ids[m], .sup = &g_mid[m]};
    }
    g_root = (tr_sup_spec){.strategy = TR_SUP_ONE_FOR_ONE,
                           .intensity = 1,
                           .period_ms = 1000,
                           .children = g_mid_kids,
                           .nchildren = MIDS};
}

/* ---- load ---- */

/* Counts a send by its result: delivered, a dead letter or rejected. */
static void count_send(int rc) {
    CHECK(rc == 0 || rc == TR_ENOACTOR || rc == TR_EFULL);
    atomic_fetch_add(&g_sent, 1);
    if (rc == TR_EFULL)
        atomic_fetch_add(&g_full, 1);
}

/* Sends type to worker i, if its name is registered just now. */
static void send_to(tr_system *sys, int i, uint32_t type) {
    tr_pid pid = tr_whereis(sys, g_names[i]);
    if (pid > 0)
        count_send(tr_send_i64(sys, pid, type, i));
}

/* Random work, and every round a burst at one bounded worker. */
static void load_thread(void *arg) {
    tr_system *sys = arg;
    uint32_t seed = 12345;
    while (!atomic_load(&g_stop_load)) {
        for (int k = 0; k < 100; k++)
            send_to(sys, (int)(next_rand(&seed) % TOTAL), MSG_LOAD);
        int bounded = (int)(next_rand(&seed) % (TOTAL / 5)) * 5;
        for (int k = 0; k < 4 * BOUNDED_CAPACITY; k++)
            send_to(sys, bounded, MSG_LOAD);
        uv_sleep(1);
    }
}

/* ---- checks ---- */

typedef struct {
    tr_pid root, mids[MIDS], leaves[MIDS][LEAVES];
} tree;

static int which(tr_system *sys, tr_pid sup, tr_sup_child_info *out, size_t cap) {
    int n = tr_sup_which_children(sys, sup, out, cap, WAIT_MS);
    CHECK(n >= 0 && (size_t)n <= cap);
    return n;
}

static tree tree_of(tr_system *sys, tr_pid root) {
    tree t = {.root = root};
    tr_sup_child_info kids[LEAVES];
    CHECK_EQ(which(sys, root, kids, MIDS), MIDS);
    for (int m = 0; m < MIDS; m++) {
        t.mids[m] = kids[m].pid;
        CHECK(t.mids[m] > 0);
    }
    for (int m = 0; m < MIDS; m++) {
        CHECK_EQ(which(sys, t.mids[m], kids, LEAVES), LEAVES);
        for (int l = 0; l < LEAVES; l++) {
            CHECK_EQ(kids[l].type, TR_SUP_SUPERVISOR);
            t.leaves[m][l] = kids[l].pid;
            CHECK(t.leaves[m][l] > 0);
        }
    }
    return t;
}

static uint64_t stats_restarts(tr_system *sys, tr_pid sup) {
    tr_sup_stats st;
    CHECK_EQ(tr_sup_stats_get(sys, sup, &st, WAIT_MS), 0);
    return st.restarts;
}

static uint64_t leaf_restarts(tr_system *sys, const tree *t) {
    uint64_t n = 0;
    for (int m = 0; m < MIDS; m++)
        for (int l = 0; l < LEAVES; l++)
            n += stats_restarts(sys, t->leaves[m][l]);
    return n;
}

/* Every worker of leaf number l (0 .. MIDS * LEAVES - 1) is as its crashes say. */
static void check_leaf(tr_system *sys, tr_pid leaf, int l) {
    tr_sup_child_info kids[WORKERS];
    int n = which(sys, leaf, kids, WORKERS), k = 0;
    for (int w = 0; w < WORKERS; w++) {
        int i = l * WORKERS + w, crashes = atomic_load(&g_crashes[i]);
        if (restart_of(i) == TR_SUP_TEMPORARY && crashes > 0)
            continue; /* gone for good */
        CHECK(k < n);
        CHECK(strcmp(kids[k].id, g_ids[i]) == 0);
        CHECK(kids[k].pid > 0);
        CHECK_EQ(tr_whereis(sys, g_names[i]), kids[k].pid);
        CHECK_EQ(kids[k].restarts, crashes);
        k++;
    }
    CHECK_EQ(k, n);
}

static void chaos(void) {
    build_tree();
    tr_system *sys = check_system_kept(2);
    tr_pid root = tr_sup_start(sys, &g_root);
    CHECK(root > 0);
    tree before = tree_of(sys, root);

    uv_thread_t load;
    CHECK_EQ(uv_thread_create(&load, load_thread, sys), 0);
    uint32_t seed = 777;
    uint64_t end = check_now_ms() + CHAOS_MS;
    int orders = 0;
    while (check_now_ms() < end) {
        send_to(sys, (int)(next_rand(&seed) % TOTAL), MSG_CRASH);
        orders++;
        uv_sleep(1);
    }
    atomic_store(&g_stop_load, 1);
    CHECK_EQ(uv_thread_join(&load), 0);

    /* Everything sent has been received or counted, and every crash seen by
       its supervisor. */
    tr_system_stats st;
    WAIT_UNTIL(tr_system_stats_get(sys, &st) == 0 &&
               atomic_load(&g_received) + st.dead_letters + st.rejected == atomic_load(&g_sent));
    uint64_t crashes = 0, restartable = 0;
    for (int i = 0; i < TOTAL; i++) {
        crashes += (uint64_t)atomic_load(&g_crashes[i]);
        if (restart_of(i) != TR_SUP_TEMPORARY)
            restartable += (uint64_t)atomic_load(&g_crashes[i]);
    }
    CHECK(crashes > 0);
    WAIT_UNTIL(leaf_restarts(sys, &before) == restartable);

    /* The tree: the same supervisors, none restarted; the workers as crashed. */
    tree after = tree_of(sys, root);
    CHECK(memcmp(&before, &after, sizeof before) == 0);
    CHECK_EQ(stats_restarts(sys, root), 0);
    for (int m = 0; m < MIDS; m++) {
        CHECK_EQ(stats_restarts(sys, after.mids[m]), 0);
        for (int l = 0; l < LEAVES; l++)
            check_leaf(sys, after.leaves[m][l], m * LEAVES + l);
    }

    CHECK_EQ(tr_system_stop(sys), 0);
    st = check_finish(sys);
    CHECK_EQ(atomic_load(&g_sent), atomic_load(&g_received) + st.dead_letters + st.rejected);
    CHECK_EQ(st.rejected, atomic_load(&g_full));
    printf("%d crash orders, %llu crashes (%llu restarts), %llu sent, %llu received, "
           "%llu dead letters, %llu rejected\n",
           orders, (unsigned long long)crashes, (unsigned long long)restartable,
           (unsigned long long)atomic_load(&g_sent), (unsigned long long)atomic_load(&g_received),
           (unsigned long long)st.dead_letters, (unsigned long long)st.rejected);
}

int main(void) {
    RUN(chaos);
    return check_summary();
}
