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

static void *local_pop(tr_pool_local *local, uint8_t cls) {
    tr_pool_block *b = local->free[cls];
    local->free[cls] = b->next;
    local->count[cls]--;
    return b;
}

/* Puts a full batch (first block first) on the global pool. Locked. */
static void global_push(tr_pool *p, uint8_t cls, tr_pool_block *first) {
    first->next_batch = p->batches[cls];
    p->batches[cls] = first;
}

/* Carves a new slab into batches of class cls on the global pool (a slab
 * holds a whole number of batches). Locked. */
static int pool_grow(tr_pool *p, uint8_t cls) {
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
    for (size_t off = 0; off + bsize * TR_POOL_BATCH <= slab; off += bsize * TR_POOL_BATCH) {
        tr_pool_local batch = {0};
        for (size_t i = TR_POOL_BATCH; i-- > 0;)
            local_push(&batch, cls, mem + off + i * bsize);
        global_push(p, cls, batch.free[cls]);
    }
    return 0;
}

/* Fills the empty list of local with its spare or a global batch. Returns 0,
 * or -1 when out of memory. Locked unless local has a spare. */
static int take_batch(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    tr_pool_block *batch = local->spare[cls];
    if (batch) {
        local->spare[cls] = NULL;
    } else {
        if (!p->batches[cls] && pool_grow(p, cls) != 0)
            return -1;
        batch = p->batches[cls];
        p->batches[cls] = batch->next_batch;
    }
    local->free[cls] = batch;
    local->count[cls] = TR_POOL_BATCH;
    return 0;
}

void *tr_pool_alloc_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, size_t size) {
    if (cls == TR_POOL_HEAP)
        return malloc(size);
    void *b = NULL;
    if (local && local->spare[cls]) { /* no lock needed */
        take_batch(p, local, cls);
        b = local_pop(local, cls);
    } else {
        uv_mutex_lock(&p->lock);
        tr_pool_local *from = local ? local : &p->shared;
        if (from->free[cls] || take_batch(p, from, cls) == 0)
            b = local_pop(from, cls);
        uv_mutex_unlock(&p->lock);
    }
    if (b)
        TR_POOL_UNPOISON(b, cls);
    return b;
}

/* local's list is a full batch: it becomes the spare, and a spare already
 * there goes to the global pool (under the lock unless locked). */
static void retire_batch(tr_pool *p, tr_pool_local *local, uint8_t cls, int locked) {
    if (local->spare[cls]) {
        if (!locked)
            uv_mutex_lock(&p->lock);
        global_push(p, cls, local->spare[cls]);
        if (!locked)
            uv_mutex_unlock(&p->lock);
    }
    local->spare[cls] = local->free[cls];
    local->free[cls] = NULL;
    local->count[cls] = 0;
}

/* Frees block onto local, keeping its list at most one batch: a full list
 * is retired only when one more block comes, so a worker that frees and
 * allocates in turn at the boundary stays on the fast paths. */
static void give(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block, int locked) {
    if (local->count[cls] == TR_POOL_BATCH)
        retire_batch(p, local, cls, locked);
    local_push(local, cls, block);
}

void tr_pool_free_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if (cls == TR_POOL_HEAP) {
        free(block);
        return;
    }
    if (local) {
        give(p, local, cls, block, 0);
        return;
    }
    uv_mutex_lock(&p->lock);
    give(p, &p->shared, cls, block, 1);
    uv_mutex_unlock(&p->lock);
}

void tr_pool_local_flush(tr_pool *p, tr_pool_local *local) {
    uv_mutex_lock(&p->lock);
    for (uint8_t c = 0; c < TR_POOL_CLASSES; c++) {
        if (local->spare[c])
            global_push(p, c, local->spare[c]);
        local->spare[c] = NULL;
        while (local->free[c])
            give(p, &p->shared, c, local_pop(local, c), 1);
    }
    uv_mutex_unlock(&p->lock);
}
