/* supervision.c — a small service that keeps answering while its workers
 * crash.
 *
 * The tree:
 *
 *   app (one-for-one)
 *   ├── cache    a permanent actor, registered as "cache": squares computed so far
 *   └── workers  a pool (simple-one-for-one), registered as "workers":
 *                POOL workers, each computing squares and crashing at random
 *
 * A client thread asks the cache for the square of a random key and, on a
 * miss, asks a worker, which computes it, gives it to the cache and answers.
 * About one request in CRASH_ONE_IN makes the worker crash instead: the
 * client's tr_ask fails at once with TR_ENOACTOR, the client looks the pool's
 * children up again and retries, and meanwhile the pool has restarted the
 * worker. Every second main prints the live tree with its restart counts and
 * how many requests were answered; after SECONDS seconds it stops the client
 * and shuts the tree down from the top (tr_send_exit), and the system stops
 * by itself. Exit status 0 only if every request was answered with the right
 * square, every crash was restarted, and nothing above the pool restarted. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime under -std=c11 */
#include <troupe.h>
#include <troupe/supervisor.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { POOL = 4, SECONDS = 3, CRASH_ONE_IN = 1000, KEYS = 2048, CACHE_SLOTS = 1024 };
enum { MSG_GET = 1, MSG_PUT, MSG_COMPUTE };

static atomic_long g_crashes; /* crashes the workers chose, counted as they crash */

static int64_t square(int64_t key) {
    return key * key;
}

/* xorshift64: a small random generator per actor or thread. */
static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- cache: a direct-mapped table of key -> square ------------------------ */

typedef struct cache {
    int64_t key[CACHE_SLOTS]; /* key + 1: 0 marks an empty slot */
    int64_t value[CACHE_SLOTS];
} cache;

static int cache_receive(tr_ctx *cx, void *state, tr_msg *m) {
    cache *c = state;
    switch (tr_msg_type(m)) {
    case MSG_GET: { /* answers the square, or -1 on a miss */
        int64_t key = tr_msg_i64(m), slot = key % CACHE_SLOTS;
        return tr_reply_i64(cx, m, c->key[slot] == key + 1 ? c->value[slot] : -1);
    }
    case MSG_PUT: {
        const int64_t *kv = tr_msg_data(m);
        c->key[kv[0] % CACHE_SLOTS] = kv[0] + 1;
        c->value[kv[0] % CACHE_SLOTS] = kv[1];
        return 0;
    }
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec cache_spec = {
    .name = "cache", .state_size = sizeof(cache), .receive = cache_receive};

/* ---- workers ---------------------------------------------------------------- */

typedef struct worker {
    uint64_t rng;
} worker;

static int worker_init(tr_ctx *cx, void *state, const void *arg) {
    (void)arg;
    worker *w = state;
    w->rng = (uint64_t)tr_self(cx) * 0x9E3779B97F4A7C15u | 1; /* a new sequence each start */
    return 0;
}

static int worker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    worker *w = state;
    if (tr_msg_type(m) != MSG_COMPUTE)
        return TR_EUNHANDLED;
    if (next_random(&w->rng) % CRASH_ONE_IN == 0) {
        atomic_fetch_add(&g_crashes, 1);
        return TR_EXIT_USER(1); /* a crash: the pool restarts this worker */
    }
    int64_t key = tr_msg_i64(m), kv[2] = {key, square(key)};
    tr_pid c = tr_whereis(tr_ctx_system(cx), "cache");
    if (c > 0)
        tr_send(tr_ctx_system(cx), c, MSG_PUT, kv, sizeof kv);
    return tr_reply_i64(cx, m, kv[1]);
}

static const tr_actor_spec worker_spec = {
    .name = "worker", .state_size = sizeof(worker), .init = worker_init, .receive = worker_receive};

/* ---- the tree --------------------------------------------------------------- */

static const tr_sup_child_spec worker_template = {
    .id = "worker", .actor = &worker_spec, .restart = TR_SUP_PERMANENT};
static const tr_sup_spec pool_spec = {.strategy = TR_SUP_SIMPLE_ONE_FOR_ONE,
                                      .intensity = 1000, /* a crash is routine here */
                                      .period_ms = 1000,
                                      .children = &worker_template,
                                      .nchildren = 1};
static const tr_sup_child_spec app_children[] = {
    {.id = "cache", .actor = &cache_spec, .restart = TR_SUP_PERMANENT, .name = "cache"},
    {.id = "workers", .sup = &pool_spec, .restart = TR_SUP_PERMANENT, .name = "workers"},
};
static const tr_sup_spec app_spec = {.strategy = TR_SUP_ONE_FOR_ONE,
                                     .intensity = 3,
                                     .period_ms = 5000,
                                     .children = app_children,
                                     .nchildren = 2};

/* ---- the client: a plain thread --------------------------------------------- */

typedef struct client {
    tr_system *sys;
    atomic_int stop;
    atomic_long answered, hits, retries, wrong;
    long failed; /* requests given up on: an error other than a crashed worker */
} client;

/* The pool's running workers, looked up again after a crash. */
static int find_workers(tr_system *sys, tr_pid *out) {
    tr_sup_child_info kids[POOL];
    int n = tr_sup_which_children(sys, tr_whereis(sys, "workers"), kids, POOL, 1000);
    int live = 0;
    for (int i = 0; i < n && i < POOL; i++)
        if (kids[i].pid > 0)
            out[live++] = kids[i].pid;
    return live;
}

/* One request: the cache first, a worker on a miss, another one after a crash. */
static int request(client *cl, tr_pid *workers, int *nworkers, unsigned *turn, int64_t key) {
    int64_t v = -1;
    int rc = tr_ask_i64(cl->sys, tr_whereis(cl->sys, "cache"), MSG_GET, key, &v, 1000);
    if (rc != 0)
        return rc;
    if (v >= 0)
        atomic_fetch_add(&cl->hits, 1);
    while (v < 0) {
        rc = *nworkers ? tr_ask_i64(cl->sys, workers[(*turn)++ % (unsigned)*nworkers], MSG_COMPUTE,
                                    key, &v, 1000)
                       : TR_ENOACTOR; /* every worker was restarting */
        if (rc != TR_ENOACTOR && rc != 0)
            return rc;
        if (rc == TR_ENOACTOR) {
            atomic_fetch_add(&cl->retries, 1);
            *nworkers = find_workers(cl->sys, workers);
        }
    }
    if (v != square(key))
        atomic_fetch_add(&cl->wrong, 1);
    return rc;
}

static void *client_main(void *arg) {
    client *cl = arg;
    tr_pid workers[POOL];
    int nworkers = find_workers(cl->sys, workers);
    unsigned turn = 0;
    uint64_t rng = 0x2545F4914F6CDD1Du;
    while (!atomic_load(&cl->stop)) {
        int rc = request(cl, workers, &nworkers, &turn, (int64_t)(next_random(&rng) % KEYS));
        if (rc != 0) {
            fprintf(stderr, "supervision: request failed: %s\n", tr_strerror(rc));
            cl->failed++;
            break;
        }
        atomic_fetch_add(&cl->answered, 1);
    }
    return NULL;
}

/* ---- main ------------------------------------------------------------------- */

static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
    nanosleep(&ts, NULL);
}

/* Prints the live tree; returns the pool's restarts (or -1), and the app's
 * own restarts of its children in *app_restarts. */
static long print_tree(tr_system *sys, tr_pid app, long *app_restarts) {
    tr_sup_child_info top[2], kids[POOL];
    if (tr_sup_which_children(sys, app, top, 2, 1000) != 2)
        return -1;
    tr_pid pool = top[1].pid;
    int n = tr_sup_which_children(sys, pool, kids, POOL, 1000);
    if (n < 0)
        return -1;
    long restarts = 0;
    for (int i = 0; i < n && i < POOL; i++)
        restarts += kids[i].restarts;
    *app_restarts = (long)top[0].restarts + (long)top[1].restarts;
    printf("  app (one-for-one)\n");
    printf("  ├── cache    pid %-12lld restarts %u\n", (long long)top[0].pid, top[0].restarts);
    printf("  └── workers  pid %-12lld restarts %u, pool of %d:", (long long)pool, top[1].restarts,
           n);
    for (int i = 0; i < n && i < POOL; i++)
        printf(" %u", kids[i].restarts);
    printf(" restarts\n");
    return restarts;
}

int main(void) {
    tr_system *sys = tr_system_new(NULL);
    if (!sys)
        return 1;
    tr_pid app = tr_sup_start(sys, &app_spec);
    if (app < 0) {
        fprintf(stderr, "tr_sup_start: %s\n", tr_strerror((int)app));
        return 1;
    }
    for (int i = 0; i < POOL; i++) {
        tr_pid w = tr_sup_start_child(sys, tr_whereis(sys, "workers"), NULL, 0, 1000);
        if (w < 0) {
            fprintf(stderr, "tr_sup_start_child: %s\n", tr_strerror((int)w));
            return 1;
        }
    }
    printf("app started: a cache and a pool of %d workers; one request in %d crashes its "
           "worker\n",
           POOL, CRASH_ONE_IN);

    client cl = {.sys = sys};
    pthread_t t;
    if (pthread_create(&t, NULL, client_main, &cl) != 0)
        return 1;
    long before = 0, app_restarts = 0, pool_restarts = 0;
    int quiet_second = 0;
    for (int s = 1; s <= SECONDS; s++) {
        sleep_ms(1000);
        long now = atomic_load(&cl.answered);
        printf("t=%ds: %ld requests answered in the last second (%ld crashes so far, "
               "retried elsewhere)\n",
               s, now - before, atomic_load(&g_crashes));
        quiet_second |= now == before;
        before = now;
        pool_restarts = print_tree(sys, app, &app_restarts);
    }
    atomic_store(&cl.stop, 1);
    pthread_join(t, NULL);

    /* The last crashes may still be restarting: wait until the pool has
       restarted every one (or a second has passed). */
    long crashes = atomic_load(&g_crashes);
    for (int i = 0; i < 100 && pool_restarts != crashes; i++) {
        sleep_ms(10);
        tr_sup_child_info kids[POOL];
        int n = tr_sup_which_children(sys, tr_whereis(sys, "workers"), kids, POOL, 1000);
        pool_restarts = 0;
        for (int k = 0; k < n && k < POOL; k++)
            pool_restarts += kids[k].restarts;
    }

    /* Shut the tree down from the top: the app stops the pool (which stops its
       workers) and the cache, in reverse start order, then exits. */
    tr_send_exit(sys, app, TR_ESTOPPED);
    int stopped = tr_system_wait(sys, 10 * 1000) == 0;
    tr_system_shutdown(sys);

    long answered = atomic_load(&cl.answered);
    int ok = stopped && !quiet_second && cl.failed == 0 && atomic_load(&cl.wrong) == 0 &&
             crashes > 0 && pool_restarts == crashes && app_restarts == 0;
    printf("check: %ld requests answered (%ld cache hits, %ld retried after a crash), %ld "
           "wrong; %ld worker crashes, %ld restarts by the pool, %ld above it; clean stop: %s "
           "-> %s\n",
           answered, atomic_load(&cl.hits), atomic_load(&cl.retries), atomic_load(&cl.wrong),
           crashes, pool_restarts, app_restarts, stopped ? "yes" : "no", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
