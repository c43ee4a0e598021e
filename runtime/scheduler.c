/* scheduler.c — workers, run queues, stealing and parking.
 *
 * Where a runnable actor goes: the run-next slot when the running actor just
 * sent to it (the pair stays hot in one core's cache, as Go's runnext and
 * Tokio's LIFO slot do; the slot may win at most TR_RUNNEXT_MAX times in a row
 * so it cannot starve the queue), else the worker's local ring, which spills
 * half to the global queue when full. Plain threads use the global queue.
 *
 * Parking, and why no wake-up is lost: a worker with nothing to run sets its
 * `parked` flag and bumps nparked (seq_cst), then looks once more at the
 * global queue and every ring before blocking in uv_run(UV_RUN_ONCE). A plain
 * thread adds to the global queue (seq_cst) and then reads nparked: either it
 * sees the parked worker and wakes it, or the worker's second look sees the
 * work. A worker that fills its own ring needs no such guarantee, because a
 * worker never parks while its own ring or slot holds work; it wakes a parked
 * worker only to share the load, and only when nobody is parked-and-woken
 * already (the waker clears `parked` by CAS, so each wake-up is one syscall
 * for one sleeper).
 *
 * The system is done when no actor is live; workers check that when they run
 * out of work, from per-worker counters read exited-first (see system.c).
 * Wake-ups of every worker (stop, done) are sent under the system lock, and a
 * worker marks the loops as closing under the same lock before it closes its
 * handles, so no uv_async_send can reach a closed handle; single wake-ups
 * take the lock too (they cost a syscall anyway). */
#include "scheduler.h"

#include "command.h"
#include "timer.h"

#include "ask.h"
#include "lifecycle.h"

#include <stdlib.h>

#define TR_RUNNEXT_MAX 32
#define TR_GLOBAL_EVERY 61 /* look at the global queue first after this many turns, */
#define TR_GLOBAL_TICKS 2  /* and whenever this many ticks (ms) have passed since the last look */
#define TR_POLL_EVERY 64   /* poll the uv loop this often while busy, if it has handles */
#define TR_SEARCH_NS 50000 /* how long an idle worker looks for work before parking */

_Thread_local tr_worker *tr_tls_worker __attribute__((tls_model("initial-exec")));

/* ---- the global queue ---- */

/* Takes one actor for w from the global queue and moves a fair share of the
 * rest into w's ring. */
static tr_actor *global_take(tr_system *sys, tr_worker *w) {
    w->global_tick = atomic_load_explicit(&sys->ticks, memory_order_relaxed);
    w->global_turn = atomic_load_explicit(&w->tick, memory_order_relaxed);
    uint32_t len = tr_globalq_len(&sys->globalq);
    if (len == 0)
        return NULL;
    uint32_t n = len / sys->cfg.workers + 1;
    uint32_t room = TR_RUNQ_SIZE - tr_runq_len(&w->runq) + 1; /* +1: the one returned */
    if (n > TR_RUNQ_SIZE / 2)
        n = TR_RUNQ_SIZE / 2;
    if (n > room)
        n = room;
    tr_actor *got[TR_RUNQ_SIZE / 2];
    n = tr_globalq_take(&sys->globalq, got, n);
    for (uint32_t i = 1; i < n; i++)
        tr_runq_put(&w->runq, got[i]); /* cannot fail: n fits the room; only the owner adds */
    return n ? got[0] : NULL;
}

/* ---- waking ---- */

static uint64_t next_random(tr_worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

int tr_sched_wake(tr_system *sys, tr_worker *v) {
    int one = 1;
    if (!atomic_load_explicit(&v->parked, memory_order_relaxed) ||
        !atomic_compare_exchange_strong(&v->parked, &one, 0))
        return 0;
    atomic_fetch_sub(&sys->nparked, 1);
    tr_ticker_nudge(sys);
    uv_mutex_lock(&sys->lock); /* a wake-up costs a syscall anyway */
    if (!sys->loops_closing)
        uv_async_send(&v->wake);
    uv_mutex_unlock(&sys->lock);
    return 1;
}

/* Wakes one parked worker, if any. Returns whether it woke one. */
static int wake_one(tr_system *sys, unsigned start) {
    unsigned n = sys->cfg.workers;
    for (unsigned i = 0; i < n; i++)
        if (tr_sched_wake(sys, &sys->workers[(start + i) % n]))
            return 1;
    return 0;
}

void tr_sched_wake_all_locked(tr_system *sys) {
    if (sys->loops_closing)
        return;
    for (unsigned i = 0; i < sys->cfg.workers; i++)
        uv_async_send(&sys->workers[i].wake);
}

void tr_sched_wake_all(tr_system *sys) {
    uv_mutex_lock(&sys->lock);
    tr_sched_wake_all_locked(sys);
    uv_mutex_unlock(&sys->lock);
}

/* ---- making actors runnable ---- */

static void local_push(tr_worker *w, tr_actor *a) {
    tr_system *sys = w->sys;
    if (!tr_runq_put(&w->runq, a)) {
        tr_actor *half[TR_RUNQ_SIZE / 2];
        uint32_t n = tr_runq_grab(&w->runq, half, TR_RUNQ_SIZE / 2);
        tr_globalq_push(&sys->globalq, half, n, a);
    }
    /* Share only work the owner will not get to next, and only with a worker
       that is asleep while none is already searching. */
    if (atomic_load_explicit(&sys->nparked, memory_order_relaxed) > 0 &&
        atomic_load_explicit(&sys->nsearching, memory_order_relaxed) == 0 &&
        tr_runq_len(&w->runq) > 1)
        wake_one(sys, w->index + 1);
}

void tr_sched_ready(tr_system *sys, tr_worker *w, tr_actor *a, int next) {
    if (!w) {
        tr_globalq_push(&sys->globalq, NULL, 0, a);
        if (atomic_load_explicit(&sys->nparked, memory_order_seq_cst) > 0)
            wake_one(sys, 0);
        return;
    }
    if (next) {
        tr_actor *old = w->runnext;
        w->runnext = a;
        if (!old)
            return;
        a = old;
    }
    local_push(w, a);
}

/* ---- finding work ---- */

static tr_actor *steal(tr_worker *w) {
    tr_system *sys = w->sys;
    unsigned n = sys->cfg.workers;
    unsigned start = (unsigned)(next_random(w) % n);
    for (unsigned i = 0; i < n; i++) {
        tr_worker *v = &sys->workers[(start + i) % n];
        if (v == w)
            continue;
        tr_actor *got[TR_RUNQ_SIZE / 2];
        uint32_t k = tr_runq_grab(&v->runq, got, TR_RUNQ_SIZE / 2);
        if (k == 0)
            continue;
        for (uint32_t j = 1; j < k; j++)
            tr_runq_put(&w->runq, got[j]);
        return got[0];
    }
    return NULL;
}

static tr_actor *find_work(tr_worker *w) {
    tr_system *sys = w->sys;
    tr_actor *a;
    if (tr_commands_pending(w))
        tr_commands_run(w);
    /* Mail from plain threads and timers waits in the global queue: look at it
       every so many turns, and every couple of milliseconds however long the
       turns take. */
    uint32_t now = atomic_load_explicit(&sys->ticks, memory_order_relaxed);
    unsigned turn = atomic_load_explicit(&w->tick, memory_order_relaxed) + 1;
    atomic_store_explicit(&w->tick, turn, memory_order_relaxed);
    if ((turn - w->global_turn >= TR_GLOBAL_EVERY || now - w->global_tick >= TR_GLOBAL_TICKS) &&
        (a = global_take(sys, w)))
        return a;
    if (w->runnext && w->runnext_streak < TR_RUNNEXT_MAX) {
        a = w->runnext;
        w->runnext = NULL;
        w->runnext_streak++;
        return a;
    }
    w->runnext_streak = 0;
    if (w->runnext) { /* it has had its streak: let the queue go first */
        local_push(w, w->runnext);
        w->runnext = NULL;
    }
    if ((a = tr_runq_get(&w->runq)))
        return a;
    if ((a = global_take(sys, w)))
        return a;
    return steal(w);
}

static int work_visible(tr_system *sys) {
    if (tr_globalq_len(&sys->globalq) > 0)
        return 1;
    for (unsigned i = 0; i < sys->cfg.workers; i++)
        if (tr_runq_len(&sys->workers[i].runq) > 0)
            return 1;
    return 0;
}

static void unpark(tr_worker *w) {
    int one = 1;
    if (atomic_compare_exchange_strong(&w->parked, &one, 0)) {
        atomic_fetch_sub(&w->sys->nparked, 1);
        tr_ticker_nudge(w->sys);
    }
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Before sleeping, look for work to steal for a short while: a syscall to
 * park and another to be woken cost more than TR_SEARCH_NS of spinning when
 * work is about to appear, as it usually is in a busy system. */
static tr_actor *search(tr_worker *w) {
    tr_system *sys = w->sys;
    atomic_fetch_add_explicit(&sys->nsearching, 1, memory_order_relaxed);
    uint64_t until = uv_hrtime() + TR_SEARCH_NS;
    tr_actor *a = NULL;
    do {
        for (int i = 0; i < 64; i++)
            cpu_relax();
        if ((a = global_take(sys, w)) || (a = steal(w)))
            break;
        if (tr_commands_pending(w)) { /* an unmute, say: it makes work here */
            tr_commands_run(w);
            if ((a = tr_runq_get(&w->runq)))
                break;
        }
    } while (uv_hrtime() < until &&
             atomic_load_explicit(&sys->state, memory_order_relaxed) != TR_SYS_DONE);
    atomic_fetch_sub_explicit(&sys->nsearching, 1, memory_order_relaxed);
    return a;
}

static void park(tr_worker *w) {
    tr_system *sys = w->sys;
    atomic_store(&w->parked, 1);
    atomic_fetch_add(&sys->nparked, 1);
    if (work_visible(sys) || tr_commands_pending(w)) {
        unpark(w);
        return;
    }
    tr_sched_check_done(sys);
    if (atomic_load(&sys->state) != TR_SYS_DONE)
        uv_run(&w->loop, UV_RUN_ONCE);
    unpark(w); /* woken by a timer or I/O rather than by a waker */
}

static void on_wake(uv_async_t *h) {
    (void)h;
}

/* At worker exit: closes the wake handle and runtime-owned timers; handles
 * that actors created on the loop should have been closed by their owners. */
static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h) && !tr_timer_close(h))
        uv_close(h, NULL);
}

static void worker_main(void *arg) {
    tr_worker *w = arg;
    tr_system *sys = w->sys;
    tr_tls_worker = w;
    while (atomic_load_explicit(&sys->state, memory_order_acquire) != TR_SYS_DONE) {
        tr_actor *a = find_work(w);
        if (!a && !(a = search(w))) {
            park(w);
            continue;
        }
        enum tr_run_result r = tr_actor_run(w, a);
        if (r == TR_RUN_AGAIN || (r == TR_RUN_MUTED && !tr_mute(w, a)))
            local_push(w, a);
        if (w->active_handles &&
            atomic_load_explicit(&w->tick, memory_order_relaxed) % TR_POLL_EVERY == 0)
            uv_run(&w->loop, UV_RUN_NOWAIT);
    }
    uv_mutex_lock(&sys->lock); /* no wake-up may reach a handle from here on */
    sys->loops_closing = 1;
    uv_mutex_unlock(&sys->lock);
    uv_walk(&w->loop, close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->zone)
        msgpack_zone_free(w->zone);
    tr_commands_drop(w);
    tr_vec_free(&w->mutes);
    tr_pool_local_flush(&sys->pool, &w->pool);
    tr_table_flush(&sys->table, &w->blocks);
    tr_tls_worker = NULL;
}

/* Makes worker i's loop and wake-up handle. Returns 0 or TR_ESYS (nothing left open). */
static int worker_loop_init(tr_system *sys, unsigned i) {
    tr_worker *w = &sys->workers[i];
    w->sys = sys;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    tr_mpsc_init(&w->commands);
    if (uv_loop_init(&w->loop) != 0)
        return TR_ESYS;
    if (uv_async_init(&w->loop, &w->wake, on_wake) != 0) {
        uv_loop_close(&w->loop);
        return TR_ESYS;
    }
    return 0;
}

/* Closes a loop whose thread never ran (or has exited without closing it). */
static void worker_loop_close(tr_worker *w) {
    uv_walk(&w->loop, close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

/* The start ladder: loops, the ticker, then the threads; on failure each step
 * undoes exactly what the ones before it made. */
int tr_sched_start(tr_system *sys) {
    unsigned n = sys->cfg.workers, loops = 0, started = 0;
    while (loops < n && worker_loop_init(sys, loops) == 0)
        loops++;
    if (loops < n)
        goto close_loops;
    if (tr_ticker_start(sys) != 0)
        goto close_loops;
    for (; started < n; started++)
        if (uv_thread_create(&sys->workers[started].thread, worker_main, &sys->workers[started]) !=
            0)
            break;
    if (started == n)
        return 0;
    atomic_store(&sys->state, TR_SYS_DONE);
    tr_sched_wake_all(sys);
    for (unsigned i = 0; i < started; i++)
        uv_thread_join(&sys->workers[i].thread);
    tr_ticker_join(sys);
    for (unsigned i = 0; i < started; i++)
        uv_loop_close(&sys->workers[i].loop);
    for (unsigned i = started; i < n; i++)
        worker_loop_close(&sys->workers[i]);
    return TR_ESYS;
close_loops:
    for (unsigned i = 0; i < loops; i++)
        worker_loop_close(&sys->workers[i]);
    return TR_ESYS;
}

void tr_sched_join(tr_system *sys) {
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        uv_thread_join(&sys->workers[i].thread);
        uv_loop_close(&sys->workers[i].loop);
    }
    tr_ticker_join(sys);
}
