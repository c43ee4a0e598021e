/* ticker.h — the coarse clock and the watch behind the scheduler's time
 * budgets.
 *
 * A turn must end, and a busy worker must look at the global queue, after a
 * millisecond or two however long each callback takes. Reading the clock per
 * message would cost 18 ns on a 28 ns message (measured: uv_hrtime); instead
 * one thread watches the workers, as Go's sysmon does:
 *  - it keeps sys->ticks (milliseconds since start), which a worker compares
 *    with a relaxed load to decide when to look at the global queue;
 *  - when it finds a worker in the same turn as at its previous look (turn
 *    count unchanged, in a callback), it sets that worker's `preempt`, and the
 *    turn ends after the message under way. A turn is never cut short unless
 *    it has really run long: ending turns by a clock reading instead (a turn
 *    that saw the clock move by 2) cut ordinary short turns whenever the clock
 *    moved, and that alone cost counting a fifth of its rate on 2 workers.
 * The ticker naps 1 ms while it finds long turns; while every turn is short it
 * doubles its nap up to 8 ms, because waking a thread 1,000 times a second
 * cost 4-6% of a busy worker's CPU here. So a long turn is stopped within
 * 2-16 ms, then within 1-2 ms. The ticker sleeps while every worker is parked,
 * so an idle system uses no CPU. */
#ifndef TR_TICKER_H
#define TR_TICKER_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

struct tr_system;

#define TR_TICK_MS 1

typedef struct tr_ticker {
    uv_thread_t thread;
    uv_mutex_t lock;
    uv_cond_t cond;
    _Atomic int idle; /* asleep until a worker wakes: see tr_ticker_nudge */
    int started;
} tr_ticker;

/* Starts the ticker thread. Returns 0 or TR_ESYS. */
int tr_ticker_start(struct tr_system *sys);
/* Wakes the ticker if it sleeps: called after a worker stops being parked
 * (nparked was decremented) and when the system is done. Any thread. */
void tr_ticker_nudge(struct tr_system *sys);
/* Joins the ticker once the system is DONE and frees what start made. */
void tr_ticker_join(struct tr_system *sys);

#endif
