/* cluster.c — actors spread over three processes, connected through a NATS
 * server (troupe/node.h). One program, two demos, a role per process:
 *
 *   cluster ring URL INDEX [LAPS]
 *       A ring of RING actors, RING / 3 in each of three processes (INDEX 0,
 *       1, 2): position p lives in process p % 3, so every hop crosses from
 *       one process to another. Each actor registers a global name
 *       ("ring.<p>") and finds its successor by name the first time the
 *       token reaches it. Process 0 waits until every name is there, sends
 *       the token round LAPS times (default 100), then a last "halt" lap on
 *       which each actor passes it on and exits; it prints the hops counted,
 *       and every process ends once its actors have.
 *
 *   cluster pool URL INDEX [JOBS] [--expect-down]
 *       A worker pool: WORKERS actors in each of the three processes,
 *       registered as "pool.<INDEX>.<j>". Process 0 also runs the
 *       coordinator: it looks the workers up by name, monitors each, and
 *       keeps DEPTH jobs outstanding at every worker (a job takes a worker
 *       JOB_MS, then it sends back the result). At a quarter of the jobs it
 *       prints "kill a node now". When a worker's node dies (kill -9), its
 *       monitors fire with TR_ENODEDOWN: the coordinator puts that worker's
 *       outstanding jobs back in the queue and the survivors finish them.
 *       Every result is checked; a late result of a job done twice counts
 *       once. At the end the coordinator stops the surviving workers, and
 *       every process ends. With --expect-down, process 0 fails unless a
 *       node went down and its jobs were reassigned.
 *
 * Exit status 0 only if everything completed and checked out. cluster.sh
 * runs both: it starts nats-server on a free port, the three processes of
 * each demo, and kills one process of the pool when the coordinator asks (a
 * quarter of the way in). */
#define _POSIX_C_SOURCE 200809L /* nanosleep, clock_gettime under -std=c11 */
#include <troupe.h>
#include <troupe/node.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NPROC = 3, RING = 12, WORKERS = 2, DEPTH = 2, JOB_MS = 50, MAX_JOBS = 4096 };
enum { T_START = 1, T_TOKEN, T_HALT, T_JOB, T_WORK, T_RESULT, T_QUIT };

static const char *url;
static unsigned proc; /* INDEX */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new system, made a node of `cluster` named "<cluster>-<INDEX>"; NULL on
 * failure (said on stderr). */
static tr_system *node_open(const char *cluster) {
    tr_system *sys = tr_system_new(NULL);
    if (!sys)
        return NULL;
    char name[32];
    snprintf(name, sizeof name, "%s-%u", cluster, proc);
    tr_node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.cluster = cluster;
    cfg.name = name;
    cfg.heartbeat_ms = 100; /* a node is seen down 400 ms after its last heartbeat */
    cfg.down_after_ms = 400;
    int id = tr_node_start(sys, &cfg);
    if (id < 0) {
        fprintf(stderr, "%s: tr_node_start(%s): %s\n", name, url, tr_strerror(id));
        tr_system_shutdown(sys);
        return NULL;
    }
    return sys;
}

/* Polls tr_whereis_global until the name is there (another process may
 * not have registered it yet): the pid, or a negative code after ms. */
static tr_pid whereis_wait(tr_system *sys, const char *name, int ms) {
    for (int waited = 0;; waited += 20) {
        tr_pid pid = tr_whereis_global(sys, name);
        if (pid > 0 || pid != TR_ENOTFOUND || waited >= ms)
            return pid;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- the ring ---- */

typedef struct {
    unsigned pos, laps;
    tr_pid next;
    unsigned lap; /* the origin's count */
} ring_state;

typedef struct {
    uint64_t hops;
} token;

static atomic_ullong g_hops;   /* what the origin counted (process 0) */
static atomic_int g_ring_done; /* 1 once the token went round LAPS times */

static int ring_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(ring_state *)state = *(const ring_state *)arg;
    return 0;
}

/* The successor, looked up by its global name on first use (a blocking
 * call from an actor: its worker waits for the round trip). */
static tr_pid ring_next(tr_ctx *cx, ring_state *s) {
    if (s->next <= 0) {
        char name[32];
        snprintf(name, sizeof name, "ring.%u", (s->pos + 1) % RING);
        s->next = tr_whereis_global(tr_ctx_system(cx), name);
        if (s->next < 0)
            fprintf(stderr, "ring.%u: no %s: %s\n", s->pos, name, tr_strerror((int)s->next));
    }
    return s->next;
}

static int ring_pass(tr_ctx *cx, ring_state *s, uint32_t type, uint64_t hops) {
    tr_pid next = ring_next(cx, s);
    if (next < 0)
        return (int)next; /* crash: the ring is broken */
    token t = {hops};
    return tr_send(tr_ctx_system(cx), next, type, &t, sizeof t);
}

static int ring_receive(tr_ctx *cx, void *state, tr_msg *m) {
    ring_state *s = state;
    token t = {0};
    if (tr_msg_size(m) == sizeof t)
        memcpy(&t, tr_msg_data(m), sizeof t);
    switch (tr_msg_type(m)) {
    case T_START: return ring_pass(cx, s, T_TOKEN, 0);
    case T_TOKEN:
        t.hops++;
        if (s->pos == 0 && ++s->lap == s->laps) { /* back at the origin for the last time */
            atomic_store(&g_hops, t.hops);
            atomic_store(&g_ring_done, 1);
            return ring_pass(cx, s, T_HALT, 0);
        }
        return ring_pass(cx, s, T_TOKEN, t.hops);
    case T_HALT:
        if (s->pos != 0) {
            int rc = ring_pass(cx, s, T_HALT, 0);
            if (rc)
                return rc;
        }
        return tr_exit(cx, 0);
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec ring_spec = {
    .name = "ring", .state_size = sizeof(ring_state), .init = ring_init, .receive = ring_receive};

static int ring_main(unsigned laps) {
    tr_system *sys = node_open("ring");
    if (!sys)
        return 1;
    unsigned id = tr_node_self(sys);
    char name[32];
    tr_pid origin = 0;
    for (unsigned pos = proc; pos < RING; pos += NPROC) {
        ring_state arg = {pos, laps, 0, 0};
        tr_pid pid = tr_spawn(sys, &ring_spec, &arg);
        snprintf(name, sizeof name, "ring.%u", pos);
        int rc = pid > 0 ? tr_register_global(sys, name, pid) : (int)pid;
        if (rc) {
            fprintf(stderr, "ring %u: %s: %s\n", proc, name, tr_strerror(rc));
            tr_system_shutdown(sys);
            return 1;
        }
        if (pos == 0)
            origin = pid;
    }
    printf("ring %u: node %u holds positions %u, %u, %u, ... of %d\n", proc, id, proc, proc + NPROC,
           proc + 2 * NPROC, RING);
    fflush(stdout);
    int ok = 1;
    if (proc == 0) { /* every name there: the ring is complete */
        for (unsigned pos = 0; pos < RING && ok; pos++) {
            snprintf(name, sizeof name, "ring.%u", pos);
            tr_pid pid = whereis_wait(sys, name, 20000);
            if (pid < 0) {
                fprintf(stderr, "ring: %s never registered: %s\n", name, tr_strerror((int)pid));
                ok = 0;
            }
        }
        if (ok)
            ok = tr_send(sys, origin, T_START, NULL, 0) == 0;
    }
    double t0 = now_s();
    /* Each process ends when its actors have (after the halt lap). */
    int rc = ok ? tr_system_wait(sys, 60000) : TR_EINVAL;
    if (rc == TR_ETIMEDOUT)
        fprintf(stderr, "ring %u: not done after 60 s\n", proc);
    if (rc == 0 && proc == 0) {
        unsigned long long hops = atomic_load(&g_hops);
        int done = atomic_load(&g_ring_done);
        printf("ring: the token went round %u times over %d actors in 3 processes: %llu hops "
               "(expected %llu) in %.2f s\n",
               laps, RING, hops, (unsigned long long)laps * RING, now_s() - t0);
        rc = done && hops == (unsigned long long)laps * RING ? 0 : TR_EINVAL;
    }
    tr_system_shutdown(sys);
    return rc == 0 ? 0 : 1;
}

/* ---- the pool ---- */

typedef struct {
    uint32_t job, pad;
    tr_pid reply_to;
    int64_t result;
    tr_pid worker;
} job_msg;

static int64_t job_result(uint32_t job) {
    return (int64_t)job * job + 1;
}

static atomic_int g_jobs_here; /* jobs this process's workers finished */

static int worker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    job_msg j;
    switch (tr_msg_type(m)) {
    case T_JOB: /* the work takes a while: the result goes out JOB_MS later */
        if (tr_msg_size(m) != sizeof j)
            return TR_EUNHANDLED;
        return tr_send_after(cx, JOB_MS, tr_self(cx), T_WORK, tr_msg_data(m), sizeof j, NULL);
    case T_WORK:
        memcpy(&j, tr_msg_data(m), sizeof j);
        j.result = job_result(j.job);
        j.worker = tr_self(cx);
        atomic_fetch_add(&g_jobs_here, 1);
        return tr_send(tr_ctx_system(cx), j.reply_to, T_RESULT, &j, sizeof j);
    case T_QUIT: return tr_exit(cx, 0);
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec worker_spec = {.name = "worker", .receive = worker_receive};

enum { JOB_PENDING = 0, JOB_OUT, JOB_DONE };

typedef struct {
    tr_pid pid;
    uint32_t ref;
    int alive;
    unsigned outstanding, done;
} worker_info;

typedef struct {
    unsigned njobs, done, reassigned, wrong;
    unsigned ndown, down[NPROC]; /* the nodes seen go down */
    int expect_down, announced;
    unsigned nworkers;
    worker_info w[NPROC * WORKERS];
    uint8_t state[MAX_JOBS];
    uint8_t by[MAX_JOBS]; /* the worker a job is out at */
} coord_state;

typedef struct {
    unsigned njobs, nworkers;
    int expect_down;
    tr_pid workers[NPROC * WORKERS];
} coord_arg;

static atomic_int g_pool_ok;

static int coord_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    coord_state *s = state;
    const coord_arg *a = arg;
    s->njobs = a->njobs;
    s->expect_down = a->expect_down;
    s->nworkers = a->nworkers;
    for (unsigned i = 0; i < a->nworkers; i++)
        s->w[i] = (worker_info){.pid = a->workers[i], .alive = 1};
    return 0;
}

/* Keeps DEPTH jobs out at every live worker while jobs are waiting. */
static int dispatch(tr_ctx *cx, coord_state *s) {
    unsigned next = 0;
    for (unsigned i = 0; i < s->nworkers; i++) {
        worker_info *w = &s->w[i];
        while (w->alive && w->outstanding < DEPTH) {
            while (next < s->njobs && s->state[next] != JOB_PENDING)
                next++;
            if (next == s->njobs)
                return 0;
            job_msg j = {next, 0, tr_self(cx), 0, 0};
            int rc = tr_send(tr_ctx_system(cx), w->pid, T_JOB, &j, sizeof j);
            if (rc == TR_ENOACTOR)
                break; /* its node is down already: its DOWN is on the way */
            if (rc)
                return rc;
            s->state[next] = JOB_OUT;
            s->by[next] = (uint8_t)i;
            w->outstanding++;
        }
    }
    return 0;
}

static int finish(tr_ctx *cx, coord_state *s) {
    tr_system *sys = tr_ctx_system(cx);
    if (s->wrong == 0)
        printf("pool: all %u jobs done, every result right", s->njobs);
    else
        printf("pool: all %u jobs done, %u results WRONG", s->njobs, s->wrong);
    printf("; %u node(s) went down, %u jobs reassigned\n", s->ndown, s->reassigned);
    for (unsigned i = 0; i < s->nworkers; i++)
        printf("pool:   worker %u (node %u)%s: %u jobs\n", i, tr_pid_node(s->w[i].pid),
               s->w[i].alive ? "" : " [its node died]", s->w[i].done);
    int ok = s->wrong == 0 && (!s->expect_down || (s->ndown > 0 && s->reassigned > 0));
    if (s->expect_down && !ok)
        printf("pool: expected a node to go down with jobs outstanding, and none did\n");
    atomic_store(&g_pool_ok, ok);
    for (unsigned i = 0; i < s->nworkers; i++)
        if (s->w[i].alive)
            tr_send(sys, s->w[i].pid, T_QUIT, NULL, 0);
    fflush(stdout);
    return tr_exit(cx, 0);
}

static int coord_receive(tr_ctx *cx, void *state, tr_msg *m) {
    coord_state *s = state;
    job_msg j;
    switch (tr_msg_type(m)) {
    case T_START:
        for (unsigned i = 0; i < s->nworkers; i++) {
            int rc = tr_monitor(cx, s->w[i].pid, &s->w[i].ref);
            if (rc)
                return rc;
        }
        tr_receive_timeout(cx, 20000); /* a watchdog: no news for 20 s is a failure */
        return dispatch(cx, s);
    case T_RESULT:
        memcpy(&j, tr_msg_data(m), sizeof j);
        if (j.job >= s->njobs)
            return TR_EUNHANDLED;
        for (unsigned i = 0; i < s->nworkers; i++)
            if (s->w[i].pid == j.worker && s->w[i].alive) {
                s->w[i].outstanding--;
                s->w[i].done++;
            }
        if (s->state[j.job] == JOB_DONE)
            return 0; /* done twice (reassigned, and the first result came late) */
        s->wrong += j.result != job_result(j.job);
        s->state[j.job] = JOB_DONE;
        s->done++;
        if (!s->announced && s->done * 4 >= s->njobs) {
            s->announced = 1;
            printf("pool: %u of %u jobs done: kill a node now\n", s->done, s->njobs);
            fflush(stdout);
        }
        return s->done == s->njobs ? finish(cx, s) : dispatch(cx, s);
    case TR_MSG_DOWN:
        for (unsigned i = 0; i < s->nworkers; i++) {
            worker_info *w = &s->w[i];
            if (w->ref != tr_msg_ref(m) || !w->alive)
                continue;
            int reason = tr_msg_exit_reason(m);
            unsigned back = 0;
            w->alive = 0;
            for (unsigned k = 0; k < s->njobs; k++)
                if (s->state[k] == JOB_OUT && s->by[k] == i) {
                    s->state[k] = JOB_PENDING;
                    back++;
                }
            s->reassigned += back;
            unsigned node = tr_pid_node(w->pid), seen = 0;
            for (unsigned k = 0; k < s->ndown; k++)
                seen |= s->down[k] == node;
            if (reason == TR_ENODEDOWN && !seen)
                s->down[s->ndown++] = node;
            printf("pool: worker %u on node %u is down (%s): %u outstanding jobs back in the "
                   "queue\n",
                   i, tr_pid_node(w->pid), tr_strerror(reason), back);
            fflush(stdout);
        }
        for (unsigned i = 0; i < s->nworkers; i++)
            if (s->w[i].alive)
                return dispatch(cx, s);
        printf("pool: no worker left\n");
        return TR_EXIT_USER(1);
    case TR_MSG_TIMEOUT:
        printf("pool: no progress for 20 s (%u of %u jobs done)\n", s->done, s->njobs);
        return TR_EXIT_USER(2);
    default: return TR_EUNHANDLED;
    }
}

static const tr_actor_spec coord_spec = {.name = "coordinator",
                                         .state_size = sizeof(coord_state),
                                         .init = coord_init,
                                         .receive = coord_receive};

static int pool_main(unsigned njobs, int expect_down) {
    tr_system *sys = node_open("pool");
    if (!sys)
        return 1;
    unsigned id = tr_node_self(sys);
    char name[32];
    for (unsigned j = 0; j < WORKERS; j++) {
        tr_pid pid = tr_spawn(sys, &worker_spec, NULL);
        snprintf(name, sizeof name, "pool.%u.%u", proc, j);
        int rc = pid > 0 ? tr_register_global(sys, name, pid) : (int)pid;
        if (rc) {
            fprintf(stderr, "pool %u: %s: %s\n", proc, name, tr_strerror(rc));
            tr_system_shutdown(sys);
            return 1;
        }
    }
    printf("pool %u: node %u, %d workers\n", proc, id, WORKERS);
    fflush(stdout);
    int ok = 1;
    if (proc == 0) {
        coord_arg a = {njobs, NPROC * WORKERS, expect_down, {0}};
        for (unsigned i = 0; i < NPROC * WORKERS && ok; i++) {
            snprintf(name, sizeof name, "pool.%u.%u", i / WORKERS, i % WORKERS);
            a.workers[i] = whereis_wait(sys, name, 20000);
            if (a.workers[i] < 0) {
                fprintf(stderr, "pool: %s never registered: %s\n", name,
                        tr_strerror((int)a.workers[i]));
                ok = 0;
            }
        }
        tr_pid coord = ok ? tr_spawn(sys, &coord_spec, &a) : TR_EINVAL;
        ok = coord > 0 && tr_send(sys, coord, T_START, NULL, 0) == 0;
    }
    double t0 = now_s();
    int rc = ok ? tr_system_wait(sys, 120000) : TR_EINVAL;
    if (rc == TR_ETIMEDOUT)
        fprintf(stderr, "pool %u: not done after 120 s\n", proc);
    printf("pool %u: its workers did %d jobs\n", proc, atomic_load(&g_jobs_here));
    if (rc == 0 && proc == 0) {
        printf("pool: %.2f s\n", now_s() - t0);
        rc = atomic_load(&g_pool_ok) ? 0 : TR_EINVAL;
    }
    tr_system_shutdown(sys);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "ring") != 0 && strcmp(argv[1], "pool") != 0) ||
        atoi(argv[3]) < 0 || atoi(argv[3]) >= NPROC) {
        fprintf(stderr,
                "usage: %s ring URL INDEX [LAPS]\n"
                "       %s pool URL INDEX [JOBS] [--expect-down]\n"
                "INDEX is 0, 1 or 2: three processes, 0 leads\n",
                argv[0], argv[0]);
        return 2;
    }
    url = argv[2];
    proc = (unsigned)atoi(argv[3]);
    if (strcmp(argv[1], "ring") == 0) {
        int laps = argc > 4 ? atoi(argv[4]) : 100;
        return ring_main(laps > 0 ? (unsigned)laps : 100);
    }
    int njobs = argc > 4 && argv[4][0] != '-' ? atoi(argv[4]) : 240;
    if (njobs <= 0 || njobs > MAX_JOBS)
        njobs = 240;
    int expect_down = strcmp(argv[argc - 1], "--expect-down") == 0;
    return pool_main((unsigned)njobs, expect_down);
}
