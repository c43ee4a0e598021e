/* ticker.c — see ticker.h.
 *
 * Why the ticker never sleeps through a busy worker: before it sleeps it sets
 * `idle` and then reads nparked (both seq_cst); a worker that stops being
 * parked decrements nparked and then reads `idle` (tr_ticker_nudge, seq_cst).
 * Either the ticker's read sees the decrement (and it does not sleep), or the
 * worker's read sees `idle` set and signals the condition; the signal is sent
 * under the ticker's lock, which the ticker holds from its check until it is
 * inside uv_cond_wait, so it cannot fall between the two.
 *
 * It goes to sleep only after TR_TICKER_GRACE ticks with every worker
 * parked: workers that park and wake in quick succession (a plain thread
 * feeding them) would otherwise wake the ticker each time, one more context
 * switch per wake-up (spawn_mem: 21,000 switches instead of 12,000). */
#include "scheduler.h"
#include "system.h"

#define TR_TICKER_GRACE 50 /* ms of an all-parked system before the ticker sleeps */
#define TR_TICKER_MAX_MS 8 /* the longest nap while every worker's turns are short */

static int everyone_parked(tr_system *sys) {
    return atomic_load(&sys->nparked) == sys->cfg.workers;
}

static int done(tr_system *sys) {
    return atomic_load(&sys->state) == TR_SYS_DONE;
}

/* Whether a worker has been in one turn since the last look: its turn count
 * has not moved and it is in a callback. Such a turn is told to end (Go's
 * sysmon preempts a goroutine that runs too long the same way), and only
 * then do time budgets need a fine clock. */
static int long_turn_seen(tr_system *sys) {
    int seen = 0;
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        tr_worker *w = &sys->workers[i];
        unsigned turns = atomic_load_explicit(&w->tick, memory_order_relaxed);
        if (turns == w->ticker_seen &&
            atomic_load_explicit(&w->in_callback, memory_order_relaxed)) {
            atomic_store(&w->preempt, 1); /* seq_cst: read by parkers (scheduler.c) */
            tr_sched_long_turn(sys, w);
            seen = 1;
        }
        w->ticker_seen = turns;
    }
    return seen;
}

static void ticker_main(void *arg) {
    tr_system *sys = arg;
    tr_ticker *t = &sys->ticker;
    uint64_t origin = uv_hrtime();
    sys->sharing.epoch_ns = origin;
    unsigned nap = TR_TICK_MS, parked_ms = 0;
    uv_mutex_lock(&t->lock);
    while (!done(sys)) {
        parked_ms = everyone_parked(sys) ? parked_ms + nap : 0;
        if (parked_ms > TR_TICKER_GRACE) {
            atomic_store(&t->idle, 1);
            if (everyone_parked(sys) && !done(sys))
                uv_cond_wait(&t->cond, &t->lock);
            atomic_store(&t->idle, 0);
            parked_ms = 0;
            nap = TR_TICK_MS;
            continue;
        }
        uv_mutex_unlock(&t->lock);
        uv_sleep(nap);
        uint64_t now = uv_hrtime();
        atomic_store_explicit(&sys->ticks, (uint32_t)((now - origin) / 1000000),
                              memory_order_relaxed);
        tr_sharing_tick(sys, now);
        nap = long_turn_seen(sys) ? TR_TICK_MS
                                  : (nap * 2 < TR_TICKER_MAX_MS ? nap * 2 : TR_TICKER_MAX_MS);
        uv_mutex_lock(&t->lock);
    }
    uv_mutex_unlock(&t->lock);
}

int tr_ticker_start(tr_system *sys) {
    tr_ticker *t = &sys->ticker;
    if (uv_mutex_init(&t->lock) != 0)
        return TR_ESYS;
    if (uv_cond_init(&t->cond) != 0) {
        uv_mutex_destroy(&t->lock);
        return TR_ESYS;
    }
    if (uv_thread_create(&t->thread, ticker_main, sys) != 0) {
        uv_cond_destroy(&t->cond);
        uv_mutex_destroy(&t->lock);
        return TR_ESYS;
    }
    t->started = 1;
    return 0;
}

void tr_ticker_nudge(tr_system *sys) {
    tr_ticker *t = &sys->ticker;
    if (!atomic_load(&t->idle) && !done(sys))
        return;
    uv_mutex_lock(&t->lock);
    uv_cond_signal(&t->cond);
    uv_mutex_unlock(&t->lock);
}

void tr_ticker_join(tr_system *sys) {
    tr_ticker *t = &sys->ticker;
    if (!t->started)
        return;
    tr_ticker_nudge(sys);
    uv_thread_join(&t->thread);
    uv_cond_destroy(&t->cond);
    uv_mutex_destroy(&t->lock);
    t->started = 0;
}
