/* scheduler.h — which actor each worker runs: a local run queue and a "run
 * next" slot per worker, a global queue for plain threads; idle workers
 * steal, then park (worker.c blocks in uv_run) and are woken with
 * uv_async_send only when work exists that they could take. */
#ifndef TR_SCHEDULER_H
#define TR_SCHEDULER_H

#include "system.h"

/* Makes actor a runnable (its mailbox just went from idle to non-empty, or it
 * was just spawned). On a worker of sys it goes to that worker: into the run
 * next slot when `next` (a conversation partner of the running actor) or the
 * local queue; from a plain thread it goes to the global queue and a parked
 * worker is woken. Waiter blocks (plain-thread asks) are signalled instead. */
void tr_sched_ready(tr_system *sys, tr_worker *w, tr_actor *a, int next);

/* Makes a (its consumer side owned by the caller) runnable on w, w's thread,
 * in w's pinned queue, which thieves do not take from: a stays on w while it
 * has work (mute.h, placement). */
void tr_sched_pin(tr_worker *w, tr_actor *a);

/* Wakes worker v if it is parked (it has a command, say). Returns whether it
 * did. Any thread. */
int tr_sched_wake(tr_system *sys, tr_worker *v);

/* The next actor for w to run (its own work, the global queue, stealing,
 * then a short search), or NULL: park. w's thread. */
tr_actor *tr_sched_next(tr_worker *w);
/* Runs a turn of a on w and puts a back in line if it has more to do (or
 * keeps it muted). */
void tr_sched_run(tr_worker *w, tr_actor *a);
/* Parking: begin marks w parked and returns whether it may block now (no
 * work or command visible, the system not done); end unmarks it unless a
 * waker did. Between them the caller blocks in its loop. */
int tr_sched_park_begin(tr_worker *w);
void tr_sched_park_end(tr_worker *w);
/* The ticker found w in a turn that has run long: wakes a parked worker to
 * take the actors queued behind it (local_push wakes one only for a second
 * queued actor, and never while workers keep their own: sharing.h). Ticker
 * thread. */
void tr_sched_long_turn(tr_system *sys, tr_worker *w);
/* Wakes every worker (stop, done); the second form with sys->lock held. */
void tr_sched_wake_all(tr_system *sys);
void tr_sched_wake_all_locked(tr_system *sys);
/* Marks the system DONE if no actor is live (stopping, or all exited). */
void tr_sched_check_done(tr_system *sys);
/* Counts a spawn that is about to happen, or returns TR_ESTOPPED if the
 * system no longer takes new actors. */
int tr_spawn_admit(tr_system *sys, tr_worker *w);
/* An inbox being opened: counted as keeping the system running (it does not
 * stop by itself while one is open), unless the system has stopped
 * (TR_ESTOPPED); tr_inbox_retire undoes it when the inbox closes. */
int tr_inbox_admit(tr_system *sys);
void tr_inbox_retire(tr_system *sys);

#endif
