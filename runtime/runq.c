/* runq.c — see runq.h. Interleavings this code is built to survive:
 *
 * 1. Owner get vs thief grab: both advance head by CAS from the value they
 *    read, so each actor is taken by exactly one of them; the loser re-reads.
 * 2. Thief copies slots [h, h+n) while the owner appends: the owner writes only
 *    slot t % SIZE with t - head < SIZE for the head it read. If the owner has
 *    meanwhile taken actors (head > h), its new slot may overwrite one the thief
 *    copied — but then head != h and the thief's CAS fails, so the stale copy is
 *    thrown away. Slots are atomics so the overlap is not a data race.
 * 3. A thief reads head and tail at different moments and sees a length above
 *    half the ring (head moved between the loads): it re-reads rather than trust
 *    an inconsistent pair.
 * Memory order: the owner stores a slot, then tail with release; readers load
 *    tail with acquire before reading slots, so they see the actor pointer and
 *    the scheduling that preceded it. */
#include "runq.h"

#include <stddef.h>

bool tr_runq_put(tr_runq *q, struct tr_actor *a) {
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (t - h >= TR_RUNQ_SIZE)
        return false;
    atomic_store_explicit(&q->ring[t % TR_RUNQ_SIZE], a, memory_order_relaxed);
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return true;
}

struct tr_actor *tr_runq_get(tr_runq *q) {
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
        if (t == h)
            return NULL;
        struct tr_actor *a = atomic_load_explicit(&q->ring[h % TR_RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return a;
    }
}

uint32_t tr_runq_grab(tr_runq *q, struct tr_actor **out, uint32_t max) {
    for (;;) {
        uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
        uint32_t n = t - h;
        n -= n / 2;
        if (n == 0)
            return 0;
        if (n > TR_RUNQ_SIZE / 2)
            continue; /* inconsistent pair of loads */
        if (n > max)
            n = max;
        for (uint32_t i = 0; i < n; i++)
            out[i] = atomic_load_explicit(&q->ring[(h + i) % TR_RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(&q->head, &h, h + n, memory_order_acq_rel,
                                                    memory_order_relaxed))
            return n;
    }
}

uint32_t tr_runq_len(tr_runq *q) {
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    return t - h;
}
