/* pool.h — size-class memory pools for messages and actor state.
 *
 * Each worker keeps free lists per size class and allocates and frees without
 * locks; a block may be freed on another worker than the one that allocated it
 * (messages travel). A worker's list per class holds at most one batch; when
 * it fills, it becomes the worker's spare batch, and a spare already there
 * goes to the global pool; an empty list takes the spare, or else a batch
 * from the global pool. Every move is of a whole batch, in constant time, and
 * the global lock is taken at most once per batch, not per block. Plain
 * threads (no worker) allocate from a shared list under the same lock. Slabs
 * are returned to the system only when the pool is destroyed. */
#ifndef TR_POOL_H
#define TR_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define TR_POOL_CLASSES 11 /* 16 B .. 16 KiB, powers of two */
#define TR_POOL_HEAP 0xFF  /* the class of a block too big for the pool: plain malloc */
#define TR_POOL_MAX_BLOCK ((size_t)16 << 10)

typedef struct tr_pool_block {
    struct tr_pool_block *next;
    struct tr_pool_block *next_batch; /* in the first block of a batch on the global list */
} tr_pool_block;

#define TR_POOL_BATCH 128u

/* Under AddressSanitizer a free block is poisoned past its first
 * TR_POOL_READABLE bytes (the free-list links), so a use after free of a
 * pooled message or state is reported like one of malloc'd memory; the
 * runtime asks tr_pool_is_poisoned before it reads the header of a message
 * that may have been freed (tr_msg_free twice is TR_EALREADY, not a report). */
#define TR_POOL_READABLE sizeof(tr_pool_block)
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TR_POOL_POISON(block, cls)                                                                 \
    ASAN_POISON_MEMORY_REGION((char *)(block) + TR_POOL_READABLE,                                  \
                              tr_pool_class_size(cls) - TR_POOL_READABLE)
#define TR_POOL_UNPOISON(block, cls) ASAN_UNPOISON_MEMORY_REGION(block, tr_pool_class_size(cls))
static inline int tr_pool_is_poisoned(const volatile void *p) {
    return __asan_address_is_poisoned(p);
}
#else
#define TR_POOL_POISON(block, cls) ((void)0)
#define TR_POOL_UNPOISON(block, cls) ((void)0)
static inline int tr_pool_is_poisoned(const volatile void *p) {
    (void)p;
    return 0;
}
#endif

typedef struct tr_pool_local {
    tr_pool_block *free[TR_POOL_CLASSES]; /* at most TR_POOL_BATCH blocks */
    uint32_t count[TR_POOL_CLASSES];
    tr_pool_block *spare[TR_POOL_CLASSES]; /* a full batch kept back, or NULL */
} tr_pool_local;

typedef struct tr_pool {
    uv_mutex_t lock;
    tr_pool_block *batches[TR_POOL_CLASSES]; /* full batches, chained through their first block */
    tr_pool_local shared;                    /* plain threads' list, under lock */
    void **slabs;
    size_t nslabs, cap_slabs;
} tr_pool;

int tr_pool_init(tr_pool *p);
/* Frees every slab. No block may be in use. */
void tr_pool_destroy(tr_pool *p);

/* The class that fits size bytes, or TR_POOL_HEAP. */
static inline uint8_t tr_pool_class(size_t size) {
    if (size <= 16)
        return 0;
    if (size > TR_POOL_MAX_BLOCK)
        return TR_POOL_HEAP;
    return (uint8_t)(64 - __builtin_clzll((unsigned long long)size - 1) -
                     4); /* log2 up, - log2(16) */
}

static inline size_t tr_pool_class_size(uint8_t cls) {
    return (size_t)16 << cls;
}

/* The slow paths of the two below: the global pool, plain threads, malloc.
 * Never inlined: they would make the fast paths' callers too big to inline. */
__attribute__((noinline)) void *tr_pool_alloc_slow(tr_pool *p, tr_pool_local *local, uint8_t cls,
                                                   size_t size);
__attribute__((noinline)) void tr_pool_free_slow(tr_pool *p, tr_pool_local *local, uint8_t cls,
                                                 void *block);

/* Allocates a block of class cls (or malloc for TR_POOL_HEAP with size).
 * local is the calling worker's list, or NULL from a plain thread.
 * Returns NULL when out of memory. */
static inline void *tr_pool_alloc(tr_pool *p, tr_pool_local *local, uint8_t cls, size_t size) {
    if (local && cls != TR_POOL_HEAP && local->free[cls]) {
        tr_pool_block *b = local->free[cls];
        local->free[cls] = b->next;
        /* Blocks come back from the workers that freed them, cold here: start
           fetching the next one now, for the next alloc (and its write). */
        __builtin_prefetch(b->next, 1);
        local->count[cls]--;
        TR_POOL_UNPOISON(b, cls);
        return b;
    }
    return tr_pool_alloc_slow(p, local, cls, size);
}

static inline void tr_pool_free(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if (local && cls != TR_POOL_HEAP && local->count[cls] < TR_POOL_BATCH) {
        tr_pool_block *b = block;
        b->next = local->free[cls];
        local->free[cls] = b;
        local->count[cls]++;
        TR_POOL_POISON(b, cls);
        return;
    }
    tr_pool_free_slow(p, local, cls, block);
}

/* Hands every block of a worker's lists back to the global pool (worker exit). */
void tr_pool_local_flush(tr_pool *p, tr_pool_local *local);

#endif
