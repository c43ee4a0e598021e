/* scheduler.h — the scheduler: W workers, each a thread running its own libuv
 * loop, a local run queue and a "run next" slot; idle workers steal, then
 * park in uv_run and are woken with uv_async_send only when work exists that
 * they could take. */
#ifndef TR_SCHEDULER_H
#define TR_SCHEDULER_H

#include "system.h"

/* Makes actor a runnable (its mailbox just went from idle to non-empty, or it
 * was just spawned). On a worker of sys it goes to that worker: into the run
 * next slot when `next` (a conversation partner of the running actor) or the
 * local queue; from a plain thread it goes to the global queue and a parked
 * worker is woken. Waiter blocks (plain-thread asks) are signalled instead. */
void tr_sched_ready(tr_system *sys, tr_worker *w, tr_actor *a, int next);

/* Wakes worker v if it is parked (it has a command, say). Returns whether it
 * did. Any thread. */
int tr_sched_wake(tr_system *sys, tr_worker *v);

/* Starts the worker threads. Returns 0 or TR_ESYS. */
int tr_sched_start(tr_system *sys);
/* Joins the worker threads once the system is DONE. */
void tr_sched_join(tr_system *sys);
/* Wakes every worker (stop, done); the second form with sys->lock held. */
void tr_sched_wake_all(tr_system *sys);
void tr_sched_wake_all_locked(tr_system *sys);
/* Marks the system DONE if no actor is live (stopping, or all exited). */
void tr_sched_check_done(tr_system *sys);
/* Counts a spawn that is about to happen, or returns TR_ESTOPPED if the
 * system no longer takes new actors. */
int tr_spawn_admit(tr_system *sys, tr_worker *w);

#endif
