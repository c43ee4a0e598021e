/* globalq.c — see globalq.h. */
#include "globalq.h"

#include <stdlib.h>
#include <string.h>

int tr_globalq_init(tr_globalq *q) {
    q->ring = NULL;
    q->cap = q->head = 0;
    atomic_init(&q->len, 0);
    atomic_init(&q->capacity, 0);
    return uv_mutex_init(&q->lock);
}

void tr_globalq_destroy(tr_globalq *q) {
    free(q->ring);
    uv_mutex_destroy(&q->lock);
}

int tr_globalq_reserve(tr_globalq *q, uint32_t total) {
    uv_mutex_lock(&q->lock);
    if (total <= q->cap) {
        uv_mutex_unlock(&q->lock);
        return 0;
    }
    uint32_t cap = q->cap ? q->cap : 1024;
    while (cap < total)
        cap *= 2;
    struct tr_actor **ring = malloc(cap * sizeof *ring);
    if (!ring) {
        uv_mutex_unlock(&q->lock);
        return -1;
    }
    uint32_t len = atomic_load_explicit(&q->len, memory_order_relaxed);
    for (uint32_t i = 0; i < len; i++)
        ring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    atomic_store_explicit(&q->capacity, cap, memory_order_relaxed);
    uv_mutex_unlock(&q->lock);
    return 0;
}

void tr_globalq_push(tr_globalq *q, struct tr_actor *const *as, uint32_t n, struct tr_actor *last) {
    uv_mutex_lock(&q->lock);
    uint32_t len = atomic_load_explicit(&q->len, memory_order_relaxed);
    uint32_t add = n + (last != NULL);
    uint32_t mask = q->cap - 1;
    for (uint32_t i = 0; i < n; i++)
        q->ring[(q->head + len + i) & mask] = as[i];
    if (last)
        q->ring[(q->head + len + n) & mask] = last;
    atomic_store_explicit(&q->len, len + add, memory_order_seq_cst);
    uv_mutex_unlock(&q->lock);
}

uint32_t tr_globalq_take(tr_globalq *q, struct tr_actor **out, uint32_t max) {
    if (tr_globalq_len(q) == 0)
        return 0;
    uv_mutex_lock(&q->lock);
    uint32_t len = atomic_load_explicit(&q->len, memory_order_relaxed);
    uint32_t n = len < max ? len : max;
    for (uint32_t i = 0; i < n; i++)
        out[i] = q->ring[(q->head + i) & (q->cap - 1)];
    q->head = n ? (q->head + n) & (q->cap - 1) : q->head;
    atomic_store_explicit(&q->len, len - n, memory_order_relaxed);
    uv_mutex_unlock(&q->lock);
    return n;
}
