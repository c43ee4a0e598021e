/* system.c — creating, stopping, waiting for and destroying a system, and
 * its statistics.
 *
 * When is a system done? When no actor is live: every spawn was matched by an
 * exit. The counts are per worker (no shared counter on the spawn and exit
 * paths) and are summed when a worker runs out of work. The sum reads every
 * `exited` before any `spawned`: an actor's exit is counted after its spawn
 * (its spawn happened before it could run), so if the exits read equal the
 * spawns read, every actor spawned by then had exited when its exit was read —
 * the sum can be late to see zero, never early. */
#include "node.h"
#include "deadline.h"
#include "lifecycle.h"
#include "scheduler.h"
#include "system.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define TR_MAX_WORKERS 1024u
#define TR_DEFAULT_BATCH 64u

void tr_system_config_init(tr_system_config *cfg) {
    if (!cfg)
        return;
    unsigned cpus = 0;
    uv_cpu_info_t *info;
    int n;
    if (uv_cpu_info(&info, &n) == 0) {
        cpus = (unsigned)n;
        uv_free_cpu_info(info, n);
    }
    cfg->workers = cpus ? cpus : 1;
    cfg->batch = TR_DEFAULT_BATCH;
    cfg->keep_running = 0;
    cfg->sharing = TR_SHARING_AUTO;
}

static void system_free(tr_system *sys) {
    tr_node_free(sys);
    tr_waiters_destroy(sys, &sys->waiters);
    tr_names_destroy(&sys->names);
    tr_table_destroy(&sys->table);
    tr_mbox_table_destroy(&sys->mboxes);
    tr_pool_destroy(&sys->pool);
    tr_globalq_destroy(&sys->globalq);
    uv_cond_destroy(&sys->done_cond);
    uv_mutex_destroy(&sys->lock);
    free(sys->workers);
    free(sys);
}

int tr_system_create(const tr_system_config *cfg, tr_system **out) {
    tr_system_config defaults;
    if (!cfg) {
        tr_system_config_init(&defaults);
        cfg = &defaults;
    }
    if (!out || cfg->workers == 0 || cfg->workers > TR_MAX_WORKERS || cfg->batch == 0 ||
        (unsigned)cfg->sharing > TR_SHARING_NEVER)
        return TR_EINVAL;
    *out = NULL;
    tr_system *sys = calloc(1, sizeof *sys);
    if (!sys)
        return TR_ENOMEM;
    sys->cfg = *cfg;
    tr_sharing_init(&sys->sharing);
    atomic_init(&sys->keep, cfg->sharing != TR_SHARING_ALWAYS); /* AUTO starts keeping */
    sys->workers = aligned_alloc(64, sizeof(tr_worker) * cfg->workers);
    if (!sys->workers) {
        free(sys);
        return TR_ENOMEM;
    }
    memset(sys->workers, 0, sizeof(tr_worker) * cfg->workers);
    if (uv_mutex_init(&sys->lock) || uv_cond_init(&sys->done_cond) ||
        tr_globalq_init(&sys->globalq) || tr_pool_init(&sys->pool) || tr_table_init(&sys->table) ||
        tr_names_init(&sys->names) || tr_waiters_init(&sys->waiters)) {
        free(sys->workers);
        free(sys);
        return TR_ESYS; /* pthread init failures: nothing worth unwinding piecemeal */
    }
    int rc = tr_workers_start(sys); /* on failure it has closed what it opened */
    if (rc) {
        system_free(sys);
        return rc;
    }
    *out = sys;
    return 0;
}

tr_system *tr_system_new(const tr_system_config *cfg) {
    tr_system *sys;
    return tr_system_create(cfg, &sys) == 0 ? sys : NULL;
}

static uint64_t sum_counter(tr_system *sys, size_t offset) {
    uint64_t sum = atomic_load((_Atomic uint64_t *)((char *)&sys->plain + offset));
    for (unsigned i = 0; i < sys->cfg.workers; i++)
        sum += atomic_load((_Atomic uint64_t *)((char *)&sys->workers[i].counters + offset));
    return sum;
}

#define SUM(sys, field) sum_counter(sys, offsetof(tr_counters, field))

static int quiescent(tr_system *sys) {
    int state = atomic_load(&sys->state);
    uint64_t exited = SUM(sys, exited);
    uint64_t spawned = SUM(sys, spawned);
    if (state == TR_SYS_RUNNING &&
        (sys->cfg.keep_running || !atomic_load(&sys->any_lived) || atomic_load(&sys->open_inboxes)))
        return 0;
    return state != TR_SYS_DONE && exited == spawned;
}

/* The decision is re-checked under sys->lock, which plain-thread spawns take
 * to be admitted (tr_spawn_admit), and inboxes to be opened (tr_inbox_admit):
 * a spawn or an inbox either counts before the check or sees DONE and fails.
 * Spawns on workers come from a live actor, so they cannot race the last
 * exit. */
void tr_sched_check_done(tr_system *sys) {
    if (!quiescent(sys))
        return;
    uv_mutex_lock(&sys->lock);
    int done = quiescent(sys);
    if (done) {
        atomic_store(&sys->state, TR_SYS_DONE);
        uv_cond_broadcast(&sys->done_cond);
        tr_sched_wake_all_locked(sys);
    }
    uv_mutex_unlock(&sys->lock);
    if (done) { /* a system that stopped by itself: nothing will answer them now */
        tr_waiters_wake_all(&sys->waiters);
        tr_ticker_nudge(sys);
    }
}

/* Adds one to count, which keeps the system from being done, under the lock
 * the done check re-checks under; or TR_ESTOPPED once it has stopped. */
static int admit_locked(tr_system *sys, _Atomic uint64_t *count) {
    uv_mutex_lock(&sys->lock);
    int rc = atomic_load(&sys->state) == TR_SYS_RUNNING ? 0 : TR_ESTOPPED;
    if (rc == 0)
        atomic_fetch_add(count, 1);
    uv_mutex_unlock(&sys->lock);
    return rc;
}

int tr_inbox_admit(tr_system *sys) {
    return admit_locked(sys, &sys->open_inboxes);
}

void tr_inbox_retire(tr_system *sys) {
    atomic_fetch_sub(&sys->open_inboxes, 1);
    tr_sched_check_done(sys); /* it may have been all that kept the system running */
}

int tr_spawn_admit(tr_system *sys, tr_worker *w) {
    if (w) {
        if (atomic_load(&sys->state) != TR_SYS_RUNNING)
            return TR_ESTOPPED;
        TR_BUMP(sys, w, spawned);
        return 0;
    }
    return admit_locked(sys, &sys->plain.spawned);
}

static int system_stop(tr_system *sys) {
    int running = TR_SYS_RUNNING;
    if (atomic_compare_exchange_strong(&sys->state, &running, TR_SYS_STOPPING)) {
        tr_waiters_wake_all(&sys->waiters); /* blocked asks and inboxes: TR_ESTOPPED */
        tr_actors_stop_all(sys);
        tr_sched_wake_all(sys); /* so that parked workers see whether anything is left */
    }
    return 0;
}

int tr_system_stop(tr_system *sys) {
    if (!sys)
        return TR_EINVAL;
    TR_API_CALL(sys, int, system_stop(sys));
}

/* Waits until no plain thread is inside the API, apart from those in
 * tr_system_wait if allowed_waits. Once the system is done every such call
 * returns promptly: sends and spawns see the state, blocked asks and inbox
 * receives were woken by the stop or by DONE (and check the state before they
 * sleep), and no init is running (a spawn is counted before its init, and the
 * system is not done while it counts). */
static void wait_for_callers(tr_system *sys, int allowed_waits) {
    while (atomic_load(&sys->callers) > (allowed_waits ? atomic_load(&sys->wait_callers) : 0) ||
           tr_callers_inside(sys, allowed_waits))
        uv_sleep(1);
}

/* Once DONE: the first waiter joins the workers, lets plain-thread sends that
 * were under way land (a push caught between its exchange and its link would
 * hide everything queued behind it from the drain), and drains every mailbox,
 * so that when any wait returns no thread of the system runs and every
 * message is accounted for. Locked on entry and exit. */
static void system_finish(tr_system *sys) {
    if (sys->finish == TR_FINISH_NONE) {
        sys->finish = TR_FINISH_RUNNING;
        uv_mutex_unlock(&sys->lock);
        tr_workers_join(sys);
        tr_node_stop(sys); /* after the workers' last frames, before the drain */
        wait_for_callers(sys, 1);
        tr_actors_reap_all(sys);
        uv_mutex_lock(&sys->lock);
        sys->finish = TR_FINISH_DONE;
        uv_cond_broadcast(&sys->done_cond);
    }
    while (sys->finish != TR_FINISH_DONE)
        uv_cond_wait(&sys->done_cond, &sys->lock);
}

static int system_wait(tr_system *sys, int timeout_ms) {
    uint64_t deadline = tr_deadline(timeout_ms);
    int rc = 0;
    uv_mutex_lock(&sys->lock);
    while (atomic_load(&sys->state) != TR_SYS_DONE && rc == 0)
        rc = tr_cond_wait_until(&sys->done_cond, &sys->lock, deadline);
    if (rc == 0)
        system_finish(sys);
    uv_mutex_unlock(&sys->lock);
    return rc;
}

int tr_system_wait(tr_system *sys, int timeout_ms) {
    if (!sys)
        return TR_EINVAL;
    if (tr_in_callback())
        return TR_EINACTOR;
    int slot = tr_api_enter(sys);
    _Atomic int *waiting = slot ? &tr_tls_caller->waiting : NULL;
    if (waiting)
        atomic_store(waiting, 1);
    else
        atomic_fetch_add(&sys->wait_callers, 1);
    int rc = system_wait(sys, timeout_ms);
    if (waiting)
        atomic_store(waiting, 0);
    else
        atomic_fetch_sub(&sys->wait_callers, 1);
    tr_api_leave(sys, slot);
    return rc;
}

int tr_system_shutdown(tr_system *sys) {
    if (!sys)
        return TR_EINVAL;
    if (tr_in_callback())
        return TR_EINACTOR;
    system_stop(sys);
    system_wait(sys, -1);
    wait_for_callers(sys, 0);
    system_free(sys);
    return 0;
}

static int stats_get(tr_system *sys, tr_system_stats *out) {
    out->exited = SUM(sys, exited);
    out->spawned = SUM(sys, spawned);
    out->dead_letters = SUM(sys, dead_letters);
    out->unhandled = SUM(sys, unhandled);
    out->rejected = SUM(sys, rejected);
    out->dropped = SUM(sys, dropped);
    out->muted = SUM(sys, muted);
    out->overruns = SUM(sys, overruns);
    out->muted_now = atomic_load(&sys->muted_now);
    out->workers = sys->cfg.workers;
    out->received = SUM(sys, received);
    out->sharing = !atomic_load_explicit(&sys->keep, memory_order_relaxed);
    out->sharing_changes = atomic_load_explicit(&sys->sharing_changes, memory_order_relaxed);
    return 0;
}

int tr_system_stats_get(tr_system *sys, tr_system_stats *out) {
    if (!sys || !out)
        return TR_EINVAL;
    TR_API_CALL(sys, int, stats_get(sys, out));
}
