/* globalq.h — the system's global run queue: where plain threads put the
 * actors they make runnable and where full local rings spill half their work.
 * A growable ring of actor pointers under a mutex: spilling and taking move
 * runs of pointers (no walk through the actors' own memory), and the lock is
 * taken once per batch, never per message. */
#ifndef TR_GLOBALQ_H
#define TR_GLOBALQ_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

struct tr_actor;

typedef struct tr_globalq {
    uv_mutex_t lock;
    struct tr_actor **ring;    /* capacity a power of two */
    uint32_t cap, head;        /* under lock */
    _Atomic uint32_t len;      /* read without the lock to skip an empty queue */
    _Atomic uint32_t capacity; /* cap, readable without the lock */
} tr_globalq;

int tr_globalq_init(tr_globalq *q);
void tr_globalq_destroy(tr_globalq *q);

/* Grows the ring to hold at least `total` actors. The spawn path keeps it as
 * large as the actor table, so that pushes never allocate and never fail: an
 * actor is in at most one queue at a time. Returns 0 or -1 (out of memory).
 * Any thread. */
int tr_globalq_reserve(tr_globalq *q, uint32_t total);
static inline uint32_t tr_globalq_capacity(tr_globalq *q) {
    return atomic_load_explicit(&q->capacity, memory_order_relaxed);
}

/* Appends as[0..n) then, if not NULL, last. Any thread. */
void tr_globalq_push(tr_globalq *q, struct tr_actor *const *as, uint32_t n, struct tr_actor *last);

/* Removes up to max actors into out[], oldest first; returns how many. */
uint32_t tr_globalq_take(tr_globalq *q, struct tr_actor **out, uint32_t max);

static inline uint32_t tr_globalq_len(tr_globalq *q) {
    return atomic_load_explicit(&q->len, memory_order_seq_cst);
}

#endif
