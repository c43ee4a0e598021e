/* worker.h — a worker: its thread, its libuv loop, its command inbox
 * (command.h), and the handles the runtime keeps on that loop for actors
 * (timers, sockets). Which actor a worker runs next is the scheduler's
 * business (scheduler.h); this file is the thread around it.
 *
 * The loop: while the worker is busy it is polled (without blocking) every
 * TR_POLL_EVERY turns, but only if it holds live handles or requests, so
 * timers fire and sockets are read however busy the worker is, and a worker
 * without any pays nothing. The wake-up handle does not count (it is
 * unreferenced), so an idle worker blocks in uv_run only while parked.
 *
 * Runtime handles: a timer or a socket lives on the loop that made it for
 * its whole life, whichever worker runs its actor. Other threads name it by
 * a 64-bit id (worker index in the top bits, never 0) and reach it with
 * commands; the worker finds it in its id map. At worker exit every handle
 * still registered is closed by its own close function. */
#ifndef TR_WORKER_H
#define TR_WORKER_H

#include "system.h"

/* The head of every runtime-owned handle (timer.c, tcp.c). */
typedef struct tr_handle {
    uint64_t id;
    void (*close)(struct tr_handle *h); /* starts closing it; frees it once closed */
} tr_handle;

#define TR_ID_WORKER_SHIFT 40 /* ids fit in a pid below its node bits (actor.h) */

/* A new id on worker w (any thread: plain threads pick the id of a handle
 * that a command will make). */
uint64_t tr_worker_new_id(tr_worker *w);

/* The worker id names, or NULL if it names none of sys. */
tr_worker *tr_worker_of_id(tr_system *sys, uint64_t id);

/* Registers h (its id already set) on w, or forgets it, or finds the handle
 * under id. w's thread. add returns 0 or TR_ENOMEM. */
int tr_worker_handle_add(tr_worker *w, tr_handle *h);
void tr_worker_handle_remove(tr_worker *w, tr_handle *h);
tr_handle *tr_worker_handle_get(tr_worker *w, uint64_t id);

/* The worker to put new work on when the caller is not a worker: the next
 * in turn. */
tr_worker *tr_worker_pick(tr_system *sys);

/* Starts the workers: their loops, the ticker, then their threads. Returns
 * 0, or TR_ESYS when a loop or thread cannot be made (all undone). */
int tr_workers_start(tr_system *sys);

/* Joins the worker threads and closes their loops once the system is DONE. */
void tr_workers_join(tr_system *sys);

#endif
