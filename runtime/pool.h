/* pool.h — size-class memory pools for messages and actor state.
 *
 * Free blocks are kept in magazines (Bonwick's: an array of block pointers),
 * not in lists linked through the blocks. A block is usually freed on another
 * worker than the one that allocated it (messages travel), so it comes back
 * cold: a list linked through the blocks makes each allocation wait for the
 * previous block's line to cross the cores before it knows the next, one miss
 * after another (~170 ns each when the cores are far apart).
 * A magazine names its blocks in lines the allocating worker reads in order,
 * so the allocation never reads the block it hands out and can start fetching
 * blocks several allocations ahead.
 *
 * Each worker holds, per class, a loaded magazine it allocates from and frees
 * into, and a previous one that is either full or empty, so a worker that
 * allocates and frees in turn at a magazine's edge swaps the two instead of
 * going to the depot. The depot (under the pool's lock) keeps full magazines
 * per class and empty ones of any class; the lock is taken once per magazine
 * of blocks, not per block. A class with no blocks left carves new ones from
 * its slab straight into the loaded magazine. Plain threads (no worker) share
 * one set under the same lock. Slabs and magazines are returned to the system
 * only when the pool is destroyed. */
#ifndef TR_POOL_H
#define TR_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define TR_POOL_CLASSES 11 /* 16 B .. 16 KiB, powers of two */
#define TR_POOL_HEAP 0xFF  /* the class of a block too big for the pool: plain malloc */
#define TR_POOL_MAX_BLOCK ((size_t)16 << 10)
#define TR_POOL_SLAB ((size_t)64 << 10) /* what a class carves new blocks from, at least */

/* A free block's first word, while it waits on the loose list (pool.c). */
typedef struct tr_pool_block {
    struct tr_pool_block *next;
} tr_pool_block;

#define TR_POOL_MAG 128u /* blocks a magazine holds */

typedef struct tr_pool_mag {
    struct tr_pool_mag *next; /* on the depot's lists */
    uint32_t n;               /* blocks held while not loaded (loaded: the holder's count) */
    void *blocks[TR_POOL_MAG];
} tr_pool_mag;

/* Under AddressSanitizer a free block is poisoned past its first
 * TR_POOL_READABLE bytes (the loose list's link), so a use after free of a
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
    tr_pool_mag *loaded[TR_POOL_CLASSES];   /* NULL before first use */
    uint32_t count[TR_POOL_CLASSES];        /* blocks in loaded */
    tr_pool_mag *previous[TR_POOL_CLASSES]; /* full, empty or NULL */
    void *fetched[TR_POOL_CLASSES];         /* the block tr_pool_alloc fetched last */
} tr_pool_local;

typedef struct tr_pool {
    uv_mutex_t lock;
    /* the depot: magazines with blocks (full but for a worker's flush), and
       empty magazines of any class */
    tr_pool_mag *full[TR_POOL_CLASSES];
    tr_pool_mag *empty;
    tr_pool_block *loose[TR_POOL_CLASSES]; /* blocks freed when no magazine could be made */
    size_t nmags, max_mags;                /* magazines made, and allowed (tests lower it) */
    char *carve[TR_POOL_CLASSES], *carve_end[TR_POOL_CLASSES]; /* the slab being cut */
    tr_pool_local shared; /* plain threads' magazines, under lock */
    void **slabs;
    size_t nslabs, cap_slabs;
} tr_pool;

int tr_pool_init(tr_pool *p);
/* Frees every slab and magazine. No block may be in use, and every
 * tr_pool_local must have been flushed (tr_pool_local_flush) first. */
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

/* The slow paths of the two below: the depot, plain threads, malloc.
 * Never inlined: they would make the fast paths' callers too big to inline. */
__attribute__((noinline)) void *tr_pool_alloc_slow(tr_pool *p, tr_pool_local *local, uint8_t cls,
                                                   size_t size);
__attribute__((noinline)) void tr_pool_free_slow(tr_pool *p, tr_pool_local *local, uint8_t cls,
                                                 void *block);

/* Starts fetching p's line for writing (x86's prefetchw, a no-op on CPUs
 * without it; a read prefetch elsewhere). Like any prefetch it never faults. */
static inline void tr_prefetch_for_write(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw (%0)" ::"r"(p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* How many allocations ahead tr_pool_alloc starts fetching a block. */
#define TR_POOL_AHEAD 8u

/* Allocates a block of class cls (or malloc for TR_POOL_HEAP with size).
 * local is the calling worker's magazines, or NULL from a plain thread.
 * Returns NULL when out of memory. */
static inline void *tr_pool_alloc(tr_pool *p, tr_pool_local *local, uint8_t cls, size_t size) {
    if (__builtin_expect(local && cls != TR_POOL_HEAP && local->count[cls], 1)) {
        uint32_t n = --local->count[cls];
        void **blocks = local->loaded[cls]->blocks;
        /* Blocks come back from the workers that freed them, cold here:
           start fetching (for the header's writes) the one this worker will
           hand out TR_POOL_AHEAD allocations from now (near the bottom, the
           last one: never a slot past the count, whose old pointer may name
           a block in use on another core). Not the same block again: where
           allocations and frees alternate (a conversation) the block below
           stays the same, and fetching it for writing on every allocation
           cost pingpong on 2 workers 40 % of its rate (16.6 M messages/s
           against 28.7 M; 3 % on 1 worker). */
        void *ahead = blocks[n >= TR_POOL_AHEAD ? n - TR_POOL_AHEAD : 0];
        if (ahead != local->fetched[cls]) {
            local->fetched[cls] = ahead;
            tr_prefetch_for_write(ahead);
        }
        void *b = blocks[n];
        TR_POOL_UNPOISON(b, cls);
        return b;
    }
    return tr_pool_alloc_slow(p, local, cls, size);
}

static inline void tr_pool_free(tr_pool *p, tr_pool_local *local, uint8_t cls, void *block) {
    if (__builtin_expect(local && cls != TR_POOL_HEAP && local->loaded[cls] &&
                             local->count[cls] < TR_POOL_MAG,
                         1)) {
        TR_POOL_POISON(block, cls);
        local->loaded[cls]->blocks[local->count[cls]++] = block;
        return;
    }
    tr_pool_free_slow(p, local, cls, block);
}

/* Hands a worker's magazines back to the depot (worker exit). */
void tr_pool_local_flush(tr_pool *p, tr_pool_local *local);

#endif
