/* mpsc.c — see mpsc.h. Interleavings this code is built to survive:
 *
 * 1. Two producers push at once. Each exchange is atomic, so each gets a
 *    distinct predecessor and the list stays a single chain; a producer that
 *    has exchanged but not yet linked (prev->next = n) leaves a gap the
 *    consumer sees as "head != tail but tail->next == NULL": pop returns NULL
 *    and mark_idle refuses (head is not the stub), so the consumer comes back
 *    later instead of losing the node.
 * 2. The consumer marks idle while a producer pushes. mark_idle is a CAS from
 *    exactly "stub" to "stub|IDLE". If a producer's exchange came first the
 *    CAS fails and the consumer keeps the queue; if the CAS came first the
 *    producer's exchange returns the IDLE bit and the producer schedules the
 *    owner. Exactly one of them owns the consumer side afterwards.
 * 3. The consumer re-pushes the stub (to detach the last real node) while a
 *    producer pushes: both are ordinary pushes, so case 1 applies; the
 *    consumer's push never sees IDLE because the bit is only set by the
 *    consumer itself, which is not idle while it pops.
 * 4. claim (spawn reusing a block) races a stale producer: claim is a CAS from
 *    "stub|IDLE"; whichever of claim and the producer's exchange comes first
 *    wins the consumer side, the other sees it taken (claim fails / the
 *    producer sees no IDLE bit).
 * 5. A chain is linked by its producer alone before the exchange publishes it,
 *    so to everyone else it is one push of its last node.
 * Memory order: the link store is release and every load of next is acquire,
 * so a popped node's contents are visible to the consumer; exchanges are
 * acq_rel so the IDLE hand-over carries the previous consumer's writes. */
#include "mpsc.h"

#include <stddef.h>

#define IDLE ((uintptr_t)1)

void tr_mpsc_init(tr_mpsc *q) {
    atomic_init(&q->stub.next, NULL);
    q->tail = &q->stub;
    atomic_init(&q->head, (uintptr_t)&q->stub | IDLE);
}

bool tr_mpsc_push_chain(tr_mpsc *q, tr_node *first, tr_node *last) {
    atomic_store_explicit(&last->next, NULL, memory_order_relaxed);
    uintptr_t prev = atomic_exchange_explicit(&q->head, (uintptr_t)last, memory_order_acq_rel);
    tr_node *p = (tr_node *)(prev & ~IDLE);
    atomic_store_explicit(&p->next, first, memory_order_release);
    return (prev & IDLE) != 0;
}

bool tr_mpsc_push(tr_mpsc *q, tr_node *n) {
    return tr_mpsc_push_chain(q, n, n);
}

__attribute__((always_inline)) inline tr_node *tr_mpsc_pop(tr_mpsc *q) {
    tr_node *tail = q->tail;
    tr_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &q->stub) {
        if (next == NULL)
            return NULL;
        q->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    uintptr_t head = atomic_load_explicit(&q->head, memory_order_acquire) & ~IDLE;
    if ((tr_node *)head != tail)
        return NULL; /* a push is between its exchange and its link */
    tr_mpsc_push(q, &q->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next != NULL) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

bool tr_mpsc_mark_idle(tr_mpsc *q) {
    if (q->tail != &q->stub)
        return false;
    uintptr_t expect = (uintptr_t)&q->stub;
    return atomic_compare_exchange_strong_explicit(&q->head, &expect, expect | IDLE,
                                                   memory_order_acq_rel, memory_order_relaxed) ||
           expect == ((uintptr_t)&q->stub | IDLE); /* already idle */
}

bool tr_mpsc_claim(tr_mpsc *q) {
    uintptr_t expect = (uintptr_t)&q->stub | IDLE;
    return atomic_compare_exchange_strong_explicit(&q->head, &expect, (uintptr_t)&q->stub,
                                                   memory_order_acq_rel, memory_order_relaxed);
}
