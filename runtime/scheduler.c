/* scheduler.c — run queues, stealing and parking (the thread around them,
 * its loop and its handles are worker.c's).
 *
 * Where a runnable actor goes: the run-next slot when the running actor just
 * sent to it (the pair stays hot in one core's cache, as Go's runnext and
 * Tokio's LIFO slot do; the slot may win at most TR_RUNNEXT_MAX times in a row
 * so it cannot starve the queue), else the worker's local ring; when the ring
 * is full, see local_push. Plain threads use the global queue. Actors
 * unmuted onto their receiver's worker wait in its pinned queue (mute.h).
 *
 * Parking, and why no wake-up is lost: a worker with nothing to run sets its
 * `parked` flag and bumps nparked (seq_cst), then looks once more at the
 * global queue and at every ring it may take from (may_take_from) before
 * blocking in uv_run(UV_RUN_ONCE). A plain thread adds to the global queue
 * (seq_cst) and then reads nparked: either it sees the parked worker and
 * wakes it, or the worker's second look sees the work. It wakes nobody while
 * a worker is searching (it reads nsearching, seq_cst, after its push): a
 * worker per mail woke the second of two workers to take one actor and spin,
 * on a machine where the plain thread itself needed the core (spawn_mem).
 * The searcher leaves the count (seq_cst) before its look before parking, so
 * if it parks it finds the work; if it found other work instead, and was the
 * last searcher, it wakes a parked worker when the global queue still holds
 * actors after leaving the count, so that mail which came while it searched
 * does not wait behind the turn it is about to run (Go's and Tokio's rule,
 * both halves: either the sender saw no searcher, or the last searcher sees
 * the mail). A worker that fills its own ring needs no such guarantee,
 * because a worker never parks while its own ring or slot holds work; it
 * wakes a parked worker only to share the load, only while sharing pays
 * (sharing.h: in KEEP nobody steals, so nobody is woken to) or when its full
 * ring spilled into the global queue, and only when nobody is
 * parked-and-woken already (the waker clears `parked` by CAS, so each
 * wake-up is one syscall for one sleeper).
 * What a long turn holds up is the ticker's to share: it sets the worker's
 * `preempt` (seq_cst) and then wakes a parked worker (tr_sched_long_turn),
 * and the parker's look reads `preempt` after setting `parked`, so either
 * the ticker sees it parked or it sees the ring it may now take from; the
 * ticker repeats this at every tick while the turn lasts. Commands
 * (command.h) are the same pair: the sender raises the target's
 * commands_pending (seq_cst) and then reads its `parked`; the worker sets
 * `parked` and then reads commands_pending.
 *
 * The system is done when no actor is live; workers check that when they run
 * out of work, from per-worker counters read exited-first (see system.c).
 * Wake-ups of every worker (stop, done) are sent under the system lock, and a
 * worker marks the loops as closing under the same lock before it closes its
 * handles, so no uv_async_send can reach a closed handle; single wake-ups
 * take the lock too (they cost a syscall anyway). */
#include "scheduler.h"

#include "command.h"

#include "ask.h"
#include "lifecycle.h"

#include <stdlib.h>

#define TR_RUNNEXT_MAX 32
#define TR_GLOBAL_EVERY 61 /* look at the global queue first after this many turns, */
#define TR_GLOBAL_TICKS 2  /* and whenever this many ticks (ms) have passed since the last look */
#define TR_SEARCH_NS 50000 /* how long an idle worker looks for work before parking */

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
    if (!atomic_load(&v->parked) || /* seq_cst: the second half of the pairs above */
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

void tr_sched_long_turn(tr_system *sys, tr_worker *w) {
    if (tr_runq_len(&w->runq) > 0 &&
        atomic_load_explicit(&sys->nsearching, memory_order_relaxed) == 0)
        wake_one(sys, w->index + 1);
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

#define TR_OVERFLOW_SHARE 16 /* overflow handed on at once when a worker is idle */

/* Moves w's overflow to the global queue. */
static void overflow_flush(tr_worker *w) {
    tr_globalq_push(&w->sys->globalq, w->overflow, w->noverflow, NULL);
    w->noverflow = 0;
}

/* Where a runnable actor waits when w's ring is full. Actors that actors
 * make runnable: the ring's older half goes to the global queue, with it
 * (Go's and Tokio's spill: a fork-join tree runs depth first and stays small
 * in memory). Actors that I/O makes runnable, in bursts of thousands when a
 * loop returns many sockets at once: the ring keeps its turn, and they and
 * everything after them queue in w's overflow, handed to the global queue a
 * half ring at a time (sooner when a worker is idle), until the ring has
 * drained. Spilling the older half there made it wait behind everything
 * made runnable after it: with 10,000 connections, a p99 twice the p50's
 * share. */
static void local_push(tr_worker *w, tr_actor *a) {
    tr_system *sys = w->sys;
    int queued = !w->overflowing && tr_runq_put(&w->runq, a), spilled = 0;
    if (!queued && !w->overflowing && !w->in_loop) { /* spill the older half */
        tr_actor *half[TR_RUNQ_SIZE / 2];
        uint32_t n = tr_runq_grab(&w->runq, half, TR_RUNQ_SIZE / 2);
        tr_globalq_push(&sys->globalq, half, n, a);
        spilled = 1;
    } else if (!queued) {
        w->overflowing = 1;
        w->overflow[w->noverflow++] = a;
        if (w->noverflow == TR_RUNQ_SIZE / 2 ||
            (w->noverflow >= TR_OVERFLOW_SHARE &&
             (atomic_load_explicit(&sys->nparked, memory_order_relaxed) > 0 ||
              atomic_load_explicit(&sys->nsearching, memory_order_relaxed) > 0))) {
            overflow_flush(w);
            spilled = 1;
        }
    }
    /* Share only work the owner will not get to next, only with a worker
       that is asleep while none is already searching, and only while sharing
       pays (sharing.h), except what did not fit the ring: in KEEP too, or a
       tree of spawns (skynet) would reach only the workers that happened to
       be searching when the rings spilled. */
    if (atomic_load_explicit(&sys->nparked, memory_order_relaxed) > 0 &&
        atomic_load_explicit(&sys->nsearching, memory_order_relaxed) == 0 &&
        (spilled ||
         (tr_runq_len(&w->runq) > 1 && !atomic_load_explicit(&sys->keep, memory_order_relaxed))))
        wake_one(sys, w->index + 1);
}

void tr_sched_pin(tr_worker *w, tr_actor *a) {
    if (!tr_runq_put(&w->pinned, a))
        local_push(w, a); /* full: it goes where thieves may take it */
}

void tr_sched_ready(tr_system *sys, tr_worker *w, tr_actor *a, int next) {
    if (!w) {
        tr_globalq_push(&sys->globalq, NULL, 0, a);
        /* A worker still searching will find it (seq_cst: see the top). */
        if (atomic_load(&sys->nparked) > 0 && atomic_load(&sys->nsearching) == 0)
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

/* Whether another worker may take actors from v's ring: any worker's while
 * sharing pays (sharing.h), else only one whose turn under way has run long.
 * Stealing and the look before parking ask the same: when the look counted
 * every ring, a worker in KEEP with nothing to do found the busy worker's
 * ring not empty, did not park, searched again, and so spun for as long as
 * that ring held actors, reading its lines (broker: the one busy worker ran
 * 18-22 M messages/s instead of one worker's 30 M). */
static int may_take_from(tr_worker *v, int keep) {
    return !keep || atomic_load(&v->preempt); /* seq_cst: see the top */
}

/* Takes half of another worker's ring, of one it may take from. */
static tr_actor *steal(tr_worker *w) {
    tr_system *sys = w->sys;
    unsigned n = sys->cfg.workers;
    unsigned start = (unsigned)(next_random(w) % n);
    int keep = atomic_load_explicit(&sys->keep, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        tr_worker *v = &sys->workers[(start + i) % n];
        if (v == w || !may_take_from(v, keep))
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

/* The next of w's own actors: the run-next slot (at most TR_RUNNEXT_MAX
 * times in a row), then the ring and the pinned queue, the pinned one first
 * every other turn so that neither starves the other. */
static tr_actor *local_take(tr_worker *w, unsigned turn) {
    tr_actor *a;
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
    tr_runq *first = turn & 1 ? &w->pinned : &w->runq;
    if ((a = tr_runq_get(first)))
        return a;
    return tr_runq_get(first == &w->runq ? &w->pinned : &w->runq);
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
    if ((a = local_take(w, turn)))
        return a;
    if (w->overflowing) { /* the ring has drained: what came after it is next */
        overflow_flush(w);
        w->overflowing = 0;
    }
    if ((a = global_take(sys, w)))
        return a;
    return steal(w);
}

/* Whether w has work to run: in the global queue, its own ring, or a ring it
 * may take from. */
static int work_visible(tr_worker *w) {
    tr_system *sys = w->sys;
    if (tr_globalq_len(&sys->globalq) > 0)
        return 1;
    int keep = atomic_load_explicit(&sys->keep, memory_order_relaxed);
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        tr_worker *v = &sys->workers[i];
        if ((v == w || may_take_from(v, keep)) && tr_runq_len(&v->runq) > 0)
            return 1;
    }
    return 0;
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
            /* a socket's command may have delivered mail (its receiver is in
               the run-next slot: tcp.c): take it before parking */
            if ((a = local_take(w, 0)))
                break;
        }
    } while (uv_hrtime() < until &&
             atomic_load_explicit(&sys->state, memory_order_relaxed) != TR_SYS_DONE);
    unsigned left = atomic_fetch_sub(&sys->nsearching, 1) - 1; /* seq_cst: see the top */
    if (a && left == 0 && atomic_load(&sys->nparked) > 0 && tr_globalq_len(&sys->globalq) > 0)
        wake_one(sys, w->index + 1); /* mail that came while it searched: see the top */
    return a;
}

int tr_sched_park_begin(tr_worker *w) {
    tr_system *sys = w->sys;
    atomic_store(&w->parked, 1);
    atomic_fetch_add(&sys->nparked, 1);
    if (work_visible(w) || atomic_load(&w->commands_pending))
        return 0;
    tr_sched_check_done(sys);
    return atomic_load(&sys->state) != TR_SYS_DONE;
}

void tr_sched_park_end(tr_worker *w) {
    int one = 1;
    if (atomic_compare_exchange_strong(&w->parked, &one, 0)) {
        atomic_fetch_sub(&w->sys->nparked, 1);
        tr_ticker_nudge(w->sys);
    }
}

tr_actor *tr_sched_next(tr_worker *w) {
    tr_actor *a = find_work(w);
    return a ? a : search(w);
}

void tr_sched_run(tr_worker *w, tr_actor *a) {
    enum tr_run_result r = tr_actor_run(w, a);
    if (r == TR_RUN_AGAIN || (r == TR_RUN_MUTED && !tr_mute(w, a))) {
        /* A receiver others are muted on stays here (mute.h, placement). */
        if (atomic_load_explicit(&a->has_muters, memory_order_relaxed))
            tr_sched_pin(w, a);
        else
            local_push(w, a);
    }
}
