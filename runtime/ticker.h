/* ticker.h — the coarse clock behind the scheduler's time budgets.
 *
 * A turn must end, and a busy worker must look at the global queue, after
 * about a millisecond however long each callback takes. Reading the clock per
 * message would cost 18 ns on a 28 ns message (measured: uv_hrtime); instead
 * one thread keeps sys->ticks (milliseconds since start), and workers compare
 * a relaxed load of it (a cache hit between updates), as Go's sysmon watches
 * for goroutines that run too long.
 *
 * The ticker updates it every millisecond only while it has seen a worker in
 * one turn across a whole nap (its turn count did not move). While every
 * worker's turns are short, the turn-count budgets suffice and the ticker's
 * nap doubles up to 8 ms: waking a thread 1,000 times a second cost 4-6% of a
 * busy worker's CPU here. So a long turn is noticed within a nap (at most
 * 8 ms), and budgeted by the millisecond from then on. The ticker sleeps while
 * every worker is parked, so an idle system still uses no CPU. */
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
