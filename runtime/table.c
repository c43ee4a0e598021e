/* table.c — the actor table: chunks of 4096 blocks, added under a lock when
 * the free blocks run out and never freed before the system is. Chunk
 * pointers are published with release stores so a lock-free lookup that sees
 * a chunk sees its initialised blocks. Free blocks go to the calling worker's
 * own list first and overflow to the table's list in batches, so spawning and
 * exiting take the lock once per batch. */
#include "actor.h"

#include <stdlib.h>
#include <string.h>

#define TR_FREE_BATCH 64u

int tr_table_init(tr_table *t) {
    atomic_init(&t->nchunks, 0);
    t->free = NULL;
    t->nfree = 0;
    return uv_mutex_init(&t->lock);
}

void tr_table_destroy(tr_table *t) {
    uint32_t n = atomic_load(&t->nchunks);
    for (uint32_t c = 0; c < n; c++)
        free(atomic_load(&t->chunks[c]));
    uv_mutex_destroy(&t->lock);
}

tr_pid tr_pid_make(unsigned node, uint32_t gen, uint32_t slot) {
    return (tr_pid)(((uint64_t)node << TR_NODE_SHIFT) | ((uint64_t)gen << TR_SLOT_BITS) | slot);
}

tr_actor *tr_table_lookup(tr_table *t, tr_pid pid) {
    uint32_t slot = (uint32_t)((uint64_t)pid & ((1u << TR_SLOT_BITS) - 1));
    tr_actor *chunk = atomic_load_explicit(&t->chunks[slot >> TR_CHUNK_BITS], memory_order_acquire);
    return chunk ? &chunk[slot & (TR_CHUNK_SIZE - 1)] : NULL;
}

/* Adds a chunk of fresh blocks to the table's free list. Locked. */
static int table_grow(tr_table *t) {
    uint32_t c = atomic_load_explicit(&t->nchunks, memory_order_relaxed);
    if (c == TR_MAX_CHUNKS)
        return -1;
    tr_actor *chunk = aligned_alloc(64, sizeof(tr_actor) * TR_CHUNK_SIZE);
    if (!chunk)
        return -1;
    memset(chunk, 0, sizeof(tr_actor) * TR_CHUNK_SIZE);
    for (uint32_t i = TR_CHUNK_SIZE; i-- > 0;) {
        tr_actor *a = &chunk[i];
        tr_mpsc_init(&a->mailbox);
        a->slot = (c << TR_CHUNK_BITS) | i;
        a->free_next = t->free;
        t->free = a;
    }
    t->nfree += TR_CHUNK_SIZE;
    atomic_store_explicit(&t->chunks[c], chunk, memory_order_release);
    atomic_store_explicit(&t->nchunks, c + 1, memory_order_release);
    return 0;
}

/* Moves up to TR_FREE_BATCH blocks from the table's list to local. Locked. */
static void table_refill(tr_table *t, tr_free_blocks *local) {
    if (!t->free && table_grow(t) != 0)
        return;
    for (uint32_t i = 0; i < TR_FREE_BATCH && t->free; i++) {
        tr_actor *a = t->free;
        t->free = a->free_next;
        t->nfree--;
        a->free_next = local->head;
        local->head = a;
        local->count++;
    }
}

/* One block straight from the table's list, for a plain thread. */
static tr_actor *table_take_one(tr_table *t) {
    uv_mutex_lock(&t->lock);
    tr_actor *a = t->free || table_grow(t) == 0 ? t->free : NULL;
    if (a) {
        t->free = a->free_next;
        t->nfree--;
    }
    uv_mutex_unlock(&t->lock);
    return a;
}

tr_actor *tr_table_take(tr_table *t, tr_free_blocks *local) {
    for (;;) {
        tr_actor *a;
        if (!local) {
            a = table_take_one(t);
        } else {
            if (!local->head) {
                uv_mutex_lock(&t->lock);
                table_refill(t, local);
                uv_mutex_unlock(&t->lock);
            }
            a = local->head;
            if (a) {
                local->head = a->free_next;
                local->count--;
            }
        }
        if (!a || tr_mpsc_claim(&a->mailbox))
            return a;
        /* Stale mail is being drained from this block: reuse it later. */
        tr_table_give(t, NULL, a);
    }
}

void tr_table_give(tr_table *t, tr_free_blocks *local, tr_actor *a) {
    if (local) {
        a->free_next = local->head;
        local->head = a;
        if (++local->count < 2 * TR_FREE_BATCH)
            return;
        /* Keep one batch, hand the rest back. */
        tr_free_blocks keep = {0};
        for (uint32_t i = 0; i < TR_FREE_BATCH; i++) {
            tr_actor *b = local->head;
            local->head = b->free_next;
            local->count--;
            b->free_next = keep.head;
            keep.head = b;
            keep.count++;
        }
        tr_table_flush(t, local);
        *local = keep;
        return;
    }
    uv_mutex_lock(&t->lock);
    a->free_next = t->free;
    t->free = a;
    t->nfree++;
    uv_mutex_unlock(&t->lock);
}

void tr_table_flush(tr_table *t, tr_free_blocks *local) {
    uv_mutex_lock(&t->lock);
    while (local->head) {
        tr_actor *a = local->head;
        local->head = a->free_next;
        a->free_next = t->free;
        t->free = a;
        t->nfree++;
    }
    local->count = 0;
    uv_mutex_unlock(&t->lock);
}

void tr_table_each(tr_table *t, void (*fn)(tr_actor *a, void *arg), void *arg) {
    uint32_t n = atomic_load_explicit(&t->nchunks, memory_order_acquire);
    for (uint32_t c = 0; c < n; c++) {
        tr_actor *chunk = atomic_load_explicit(&t->chunks[c], memory_order_acquire);
        for (uint32_t i = 0; i < TR_CHUNK_SIZE; i++)
            fn(&chunk[i], arg);
    }
}
