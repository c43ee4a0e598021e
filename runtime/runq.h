/* runq.h — a worker's local run queue: a fixed ring of runnable actors that its
 * owner fills and empties in FIFO order and that idle workers steal half of.
 * (The same shape as Go's and Tokio's local run queues; a bounded FIFO gives
 * fairness between actors on one worker that a LIFO deque would not.) When the
 * ring is full, the owner moves half of it to the system's global queue. */
#ifndef TR_RUNQ_H
#define TR_RUNQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TR_RUNQ_SIZE 256u

struct tr_actor;

typedef struct tr_runq {
    _Atomic uint32_t head; /* next to take; advanced by CAS (owner and thieves) */
    _Atomic uint32_t tail; /* next free slot; written by the owner only */
    _Atomic(struct tr_actor *) ring[TR_RUNQ_SIZE];
} tr_runq;

/* Appends a; false when the ring is full. Owner only. */
bool tr_runq_put(tr_runq *q, struct tr_actor *a);

/* Takes the oldest actor, or NULL. Owner only. */
struct tr_actor *tr_runq_get(tr_runq *q);

/* Takes up to max actors (half of what q holds, rounded up) into out[], oldest
 * first; returns how many. Any thread: thieves steal with it, and the owner
 * uses it to spill half a full ring. */
uint32_t tr_runq_grab(tr_runq *q, struct tr_actor **out, uint32_t max);

/* Number of actors in q; approximate when read by another thread. */
uint32_t tr_runq_len(tr_runq *q);

#endif
