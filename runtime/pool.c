/* pool.c — see pool.h: the slow paths. A batch is a chain of TR_POOL_BATCH blocks linked
 * through `next`; batches are chained to each other through the first block's
 * `next_batch`. Only the owning worker touches a tr_pool_local; everything in
 * tr_pool itself is under its lock. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

#define TR_POOL_SLAB ((size_t)64 << 10)

int tr_pool_init(tr_pool *p) {
    memset(p, 0, sizeof *p);
    return uv_mutex_init(&p->lock) == 0 ? 0 : -1;
}

void tr_pool_destroy(tr_pool *p) {
    for (size_t i = 0; i < p->nslabs; i++)
        free(p->slabs[i]);
    free(p->slabs);
    uv_mutex_destroy(&p->lock);
}

static void local_push(tr_pool_local *local, uint8_t cls, void *block) {
    tr_pool_block *b = block;
    b->next = local->free[cls];
    local->free[cls] = b;
    local->count[cls]++;
    TR_POOL_POISON(b, cls);
}

/* Carves a new slab into blocks of class cls and puts them on local. Locked. */
static int pool_grow(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    size_t bsize = tr_pool_class_size(cls);
    size_t slab = bsize * TR_POOL_BATCH > TR_POOL_SLAB ? bsize * TR_POOL_BATCH : TR_POOL_SLAB;
    if (p->nslabs == p->cap_slabs) {
        size_t cap = p->cap_slabs ? 2 * p->cap_slabs : 64;
        void **s = realloc(p->slabs, cap * sizeof *s);
        if (!s)
            return -1;
        p->slabs = s;
        p->cap_slabs = cap;
    }
    char *mem = aligned_alloc(64, slab);
    if (!mem)
        return -1;
    p->slabs[p->nslabs++] = mem;
    for (size_t off = 0; off + bsize <= slab; off += bsize) {
        local_push(local, cls, mem + off);
    }
    return 0;
}

/* Refills an empty local list with one batch from the global pool, or a new
 * slab. Locked. */
static int pool_refill(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    tr_pool_block *batch = p->batches[cls];
    if (!batch)
        return pool_grow(p, local, cls);
    p->batches[cls] = batch->next_batch;
    local->free[cls] = batch;
    local->count[cls] = TR_POOL_BATCH;
    return 0;
}

static void *local_pop(tr_pool_local *local, uint8_t cls) {
    tr_pool_block *b = local->free[cls];
    local->free[cls] = b->next;
    local->count[cls]--;
    return b;
}

void *tr_pool_alloc_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, size_t size) {
    if (cls == TR_POOL_HEAP)
        return malloc(size);
    void *b = NULL;
    uv_mutex_lock(&p->lock);
    tr_pool_local *from = local ? local : &p->shared;
    if (from->free[cls] || pool_refill(p, from, cls) == 0)
        b = local_pop(from, cls);
    uv_mutex_unlock(&p->lock);
    if (b)
        TR_POOL_UNPOISON(b, cls);
    return b;
}

/* Detaches one batch of blocks from local onto the global pool. Locked. */
static void pool_spill(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    tr_pool_block *first = local->free[cls], *last = first;
    for (uint32_t i = 1; i < TR_POOL_BATCH; i++)
        last = last->next;
    local->free[cls] = last->next;
    local->count[cls] -= TR_POOL_BATCH;
    last->next = NULL;
    first->next_batch = p->batches[cls];
    p->batches[cls] = first;
}

void tr_pool_free_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if (cls == TR_POOL_HEAP) {
        free(block);
        return;
    }
    if (local) {
        local_push(local, cls, block);
        if (local->count[cls] >= 2 * TR_POOL_BATCH) {
            uv_mutex_lock(&p->lock);
            pool_spill(p, local, cls);
            uv_mutex_unlock(&p->lock);
        }
        return;
    }
    uv_mutex_lock(&p->lock);
    local_push(&p->shared, cls, block);
    if (p->shared.count[cls] >= 2 * TR_POOL_BATCH)
        pool_spill(p, &p->shared, cls);
    uv_mutex_unlock(&p->lock);
}

void tr_pool_local_flush(tr_pool *p, tr_pool_local *local) {
    uv_mutex_lock(&p->lock);
    for (uint8_t c = 0; c < TR_POOL_CLASSES; c++) {
        while (local->count[c] >= TR_POOL_BATCH)
            pool_spill(p, local, c);
        while (local->free[c])
            local_push(&p->shared, c, local_pop(local, c));
    }
    uv_mutex_unlock(&p->lock);
}
