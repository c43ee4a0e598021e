/* pool.c — see pool.h: the slow paths. Only the owning worker touches a
 * tr_pool_local; everything in tr_pool itself (and its shared set) is under
 * its lock. */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

int tr_pool_init(tr_pool *p) {
    memset(p, 0, sizeof *p);
    p->max_mags = SIZE_MAX;
    return uv_mutex_init(&p->lock) == 0 ? 0 : -1;
}

static void free_mags(tr_pool_mag *m) {
    while (m) {
        tr_pool_mag *next = m->next;
        free(m);
        m = next;
    }
}

void tr_pool_destroy(tr_pool *p) {
    tr_pool_local_flush(p, &p->shared);
    for (uint8_t c = 0; c < TR_POOL_CLASSES; c++)
        free_mags(p->full[c]);
    free_mags(p->empty);
    for (size_t i = 0; i < p->nslabs; i++)
        free(p->slabs[i]);
    free(p->slabs);
    uv_mutex_destroy(&p->lock);
}

/* ---- the depot (locked) ---- */

static void put_mag(tr_pool *p, uint8_t cls, tr_pool_mag *m, uint32_t n) {
    tr_pool_mag **list = n ? &p->full[cls] : &p->empty;
    m->n = n;
    m->next = *list;
    *list = m;
}

static tr_pool_mag *take_mag(tr_pool_mag **list) {
    tr_pool_mag *m = *list;
    if (m)
        *list = m->next;
    return m;
}

/* An empty magazine from the depot, or a new one (NULL when out of memory). */
static tr_pool_mag *empty_mag(tr_pool *p) {
    tr_pool_mag *m = take_mag(&p->empty);
    if (!m && p->nmags < p->max_mags && (m = malloc(sizeof *m)))
        p->nmags++;
    return m;
}

/* Cuts up to TR_POOL_MAG new blocks of class cls into blocks[], from the
 * slab being cut or a new one. Returns how many (0: out of memory). */
static uint32_t carve(tr_pool *p, uint8_t cls, void **blocks) {
    size_t bsize = tr_pool_class_size(cls);
    if (p->carve[cls] == p->carve_end[cls]) {
        size_t slab = bsize * TR_POOL_MAG > TR_POOL_SLAB ? bsize * TR_POOL_MAG : TR_POOL_SLAB;
        if (p->nslabs == p->cap_slabs) {
            size_t cap = p->cap_slabs ? 2 * p->cap_slabs : 64;
            void **s = realloc(p->slabs, cap * sizeof *s);
            if (!s)
                return 0;
            p->slabs = s;
            p->cap_slabs = cap;
        }
        char *mem = aligned_alloc(64, slab);
        if (!mem)
            return 0;
        p->slabs[p->nslabs++] = mem;
        p->carve[cls] = mem;
        p->carve_end[cls] = mem + slab / bsize * bsize;
    }
    uint32_t n = 0;
    for (; n < TR_POOL_MAG && p->carve[cls] < p->carve_end[cls]; n++, p->carve[cls] += bsize) {
        blocks[n] = p->carve[cls];
        TR_POOL_POISON(blocks[n], cls);
    }
    return n;
}

/* ---- a thread's magazines ---- */

static void swap_mags(tr_pool_local *local, uint8_t cls) {
    tr_pool_mag *m = local->previous[cls];
    local->previous[cls] = local->loaded[cls];
    local->previous[cls]->n = local->count[cls];
    local->loaded[cls] = m;
    local->count[cls] = m->n;
}

/* Loads m, holding n blocks, into local: the loaded magazine becomes the
 * previous one, whose place it was, and the previous one goes to the depot.
 * Locked. */
static void load_mag(tr_pool *p, tr_pool_local *local, uint8_t cls, tr_pool_mag *m, uint32_t n) {
    if (local->loaded[cls]) {
        if (local->previous[cls])
            put_mag(p, cls, local->previous[cls], local->previous[cls]->n);
        local->previous[cls] = local->loaded[cls];
        local->previous[cls]->n = local->count[cls];
    }
    local->loaded[cls] = m;
    local->count[cls] = n;
}

/* Gives local's empty (or missing) loaded magazine blocks: a full one from
 * the depot, blocks from the loose list, or new blocks. Returns 0, or -1 when
 * out of memory. Locked. */
static int refill(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    tr_pool_mag *full = take_mag(&p->full[cls]);
    if (full) {
        load_mag(p, local, cls, full, full->n);
        return 0;
    }
    if (!local->loaded[cls] && !(local->loaded[cls] = empty_mag(p)))
        return -1;
    uint32_t n = 0;
    for (; n < TR_POOL_MAG && p->loose[cls]; n++) {
        tr_pool_block *b = p->loose[cls];
        p->loose[cls] = b->next;
        local->loaded[cls]->blocks[n] = b;
    }
    local->count[cls] = n ? n : carve(p, cls, local->loaded[cls]->blocks);
    return local->count[cls] ? 0 : -1;
}

/* Whether local's previous magazine is full (1) or empty (0); -1 when it
 * has none. Only the owner reads it, so no lock. */
static int previous_full(const tr_pool_local *local, uint8_t cls) {
    return local && local->previous[cls] ? local->previous[cls]->n != 0 : -1;
}

void *tr_pool_alloc_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, size_t size) {
    if (cls == TR_POOL_HEAP)
        return malloc(size);
    int locked = !local || previous_full(local, cls) != 1; /* a worker's full one: no lock */
    if (locked) {
        uv_mutex_lock(&p->lock);
        if (!local)
            local = &p->shared;
    }
    if (!local->count[cls] && previous_full(local, cls) == 1)
        swap_mags(local, cls);
    void *b = NULL;
    if (local->count[cls] || refill(p, local, cls) == 0) {
        b = local->loaded[cls]->blocks[--local->count[cls]];
        TR_POOL_UNPOISON(b, cls);
    }
    if (locked)
        uv_mutex_unlock(&p->lock);
    return b;
}

/* Makes room in local's loaded magazine: swaps in an empty previous one, or
 * sends the full previous one to the depot and loads an empty one. Returns
 * 0, or -1 when no magazine could be had. Locked unless the previous one is
 * empty. */
static int make_room(tr_pool *p, tr_pool_local *local, uint8_t cls) {
    if (previous_full(local, cls) == 0) {
        swap_mags(local, cls);
        return 0;
    }
    tr_pool_mag *m = empty_mag(p);
    if (!m)
        return -1;
    load_mag(p, local, cls, m, 0);
    return 0;
}

/* Frees block into local (locked unless the previous magazine is empty, as
 * make_room). Out of memory for a magazine, the block waits on the loose
 * list, where the next refill finds it. */
static void give(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if ((local->loaded[cls] && local->count[cls] < TR_POOL_MAG) || make_room(p, local, cls) == 0) {
        local->loaded[cls]->blocks[local->count[cls]++] = block;
        return;
    }
    tr_pool_block *b = block;
    b->next = p->loose[cls];
    p->loose[cls] = b;
}

void tr_pool_free_slow(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if (cls == TR_POOL_HEAP) {
        free(block);
        return;
    }
    TR_POOL_POISON(block, cls);
    if (previous_full(local, cls) == 0) { /* make_room swaps it in: no lock needed */
        give(p, local, cls, block);
        return;
    }
    uv_mutex_lock(&p->lock);
    give(p, local ? local : &p->shared, cls, block);
    uv_mutex_unlock(&p->lock);
}

void tr_pool_local_flush(tr_pool *p, tr_pool_local *local) {
    uv_mutex_lock(&p->lock);
    for (uint8_t c = 0; c < TR_POOL_CLASSES; c++) {
        if (local->loaded[c])
            put_mag(p, c, local->loaded[c], local->count[c]);
        if (local->previous[c])
            put_mag(p, c, local->previous[c], local->previous[c]->n);
        local->loaded[c] = local->previous[c] = NULL;
        local->count[c] = 0;
    }
    uv_mutex_unlock(&p->lock);
}
