/* mpsc.h — the mailbox queue: intrusive, lock-free, many producers and one
 * consumer (Vyukov's algorithm with a stub node). One atomic exchange per push.
 *
 * The low bit of `head` is the IDLE mark: set by the consumer when it finds the
 * queue empty and stops, cleared by the next push, whose return value tells the
 * pusher that the queue went from idle to non-empty and so the owner must be
 * scheduled. That one bit is what makes "push into an empty mailbox schedules
 * the actor" race-free, without a second atomic per send. */
#ifndef TR_MPSC_H
#define TR_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tr_node {
    _Atomic(struct tr_node *) next;
} tr_node;

typedef struct tr_mpsc {
    _Atomic(uintptr_t) head; /* last pushed node | IDLE; written by producers */
    tr_node *tail;           /* next node to pop; consumer only */
    tr_node stub;
} tr_mpsc;

/* An empty queue, marked idle. Not thread-safe: before the queue is shared. */
void tr_mpsc_init(tr_mpsc *q);

/* Appends n. Returns true when the queue was idle: the caller now owns the
 * consumer side and must schedule it. Any thread. */
bool tr_mpsc_push(tr_mpsc *q, tr_node *n);

/* Appends the chain first..last (linked through next, in order) with one
 * exchange. Returns as tr_mpsc_push. Any thread. */
bool tr_mpsc_push_chain(tr_mpsc *q, tr_node *first, tr_node *last);

/* Removes the oldest node, or returns NULL when the queue is empty or a push
 * is half done (its node will be there on a later pop). Consumer only. */
tr_node *tr_mpsc_pop(tr_mpsc *q);

/* After a pop returned NULL: marks the queue idle if it is really empty and
 * returns true (the consumer must stop touching it); returns false if a push
 * has arrived or is in progress (the consumer must come back to it). Marking
 * an already idle queue returns true. Consumer only. */
bool tr_mpsc_mark_idle(tr_mpsc *q);

/* Takes the consumer side of an idle, empty queue without pushing anything.
 * Returns false if the queue is not idle and empty. Any thread. */
bool tr_mpsc_claim(tr_mpsc *q);

#endif
