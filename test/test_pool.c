/* test_pool.c — the size-class pool (runtime/pool.c): magazines, the depot,
 * the loose list, and blocks freed on another thread than the one that
 * allocated them. Run under ThreadSanitizer and AddressSanitizer in CI.
 *
 * The interleavings that matter: each thread's magazines are its own, and
 * everything shared (the depot's full and empty lists, the loose list, the
 * slab being cut) is under the pool's lock; the stress case below has every
 * block cross threads between its allocation and its free, so a block handed
 * out twice, or a magazine in two places, shows as a bad count or a
 * clobbered stamp. */
#include "check.h"
#include "pool.h"

#include <stdatomic.h>
#include <string.h>

enum { CLS = 2, MANY = 1000 };
#define BLOCK_SIZE tr_pool_class_size(CLS) /* 64 bytes */
/* CLS's blocks are cut from slabs of TR_POOL_SLAB bytes, more than a
 * magazine's worth of them. */

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

/* Every block distinct, aligned to its class, and usable. */
static void check_distinct(void **blocks, int n) {
    void *sorted[MANY];
    memcpy(sorted, blocks, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_ptr);
    for (int i = 0; i < n; i++) {
        CHECK(sorted[i] != NULL);
        CHECK_EQ((uintptr_t)sorted[i] % BLOCK_SIZE, 0);
        if (i)
            CHECK((char *)sorted[i] >= (char *)sorted[i - 1] + BLOCK_SIZE);
    }
}

/* MANY blocks into blocks[] and back: the odd ones through `odd` (NULL: a
 * plain thread's), the others through `even`. */
static void alloc_all(tr_pool *p, tr_pool_local *even, tr_pool_local *odd, void **blocks) {
    for (int i = 0; i < MANY; i++)
        CHECK((blocks[i] = tr_pool_alloc(p, i % 2 ? odd : even, CLS, BLOCK_SIZE)) != NULL);
}
static void free_all(tr_pool *p, tr_pool_local *even, tr_pool_local *odd, void **blocks) {
    for (int i = 0; i < MANY; i++)
        tr_pool_free(p, i % 2 ? odd : even, CLS, blocks[i]);
}

/* Allocates MANY blocks again: all distinct, and none cut anew. */
static void alloc_again(tr_pool *p, tr_pool_local *even, tr_pool_local *odd, void **blocks) {
    size_t slabs = p->nslabs;
    alloc_all(p, even, odd, blocks);
    check_distinct(blocks, MANY);
    CHECK_EQ(p->nslabs, slabs);
}

/* Allocating across many magazines and freeing it all gives the same blocks
 * back without cutting a new slab, whatever the order. */
static void test_reuse(void) {
    tr_pool p;
    CHECK_EQ(tr_pool_init(&p), 0);
    tr_pool_local local = {0};
    void *blocks[MANY];
    alloc_all(&p, &local, &local, blocks);
    for (int i = 0; i < MANY; i++)
        memset(blocks[i], i & 0xFF, BLOCK_SIZE);
    check_distinct(blocks, MANY);
    for (int i = 0; i < MANY; i += 2) /* half in one order, half in the other */
        tr_pool_free(&p, &local, CLS, blocks[i]);
    for (int i = MANY - 1; i > 0; i -= 2)
        tr_pool_free(&p, &local, CLS, blocks[i]);
    alloc_again(&p, &local, &local, blocks);
    free_all(&p, &local, &local, blocks);
    tr_pool_local_flush(&p, &local);
    tr_pool_destroy(&p);
}

/* Runs of allocations and frees of random length, with and without a plain
 * thread's frees between, cross every edge of the loaded and previous
 * magazines; a block handed out while already out would still carry the
 * mark (past the first 8 bytes, which the pool may use while it is free).
 * Once warm, freeing and allocating in turn makes no new magazine. */
static void test_random_walk(void) {
    enum { MARK = 0x5eed };
    tr_pool p;
    CHECK_EQ(tr_pool_init(&p), 0);
    tr_pool_local local = {0};
    static void *out[MANY];
    int n = 0;
    uint64_t rng = 88172645463325252u;
    size_t mags = 0;
    for (int run = 0; run < 4000; run++) {
        check_rand(&rng);
        int len = (int)(rng % 300), alloc = (rng >> 32) % 2;
        for (int i = 0; i < len; i++) {
            if (alloc && n < MANY) {
                uint32_t *b = tr_pool_alloc(&p, &local, CLS, BLOCK_SIZE);
                CHECK(b != NULL);
                CHECK(b[4] != MARK);
                b[4] = MARK;
                out[n++] = b;
            } else if (!alloc && n > 0) {
                uint32_t *b = out[--n];
                b[4] = 0;
                tr_pool_free(&p, run % 7 ? &local : NULL, CLS, b);
            }
        }
        if (run == 3000)
            mags = p.nmags;
    }
    CHECK(p.nmags < 2 * MANY / TR_POOL_MAG + 8);
    for (int i = 0; i < 10 * (int)TR_POOL_MAG; i++) { /* at whatever edge it stands */
        uint32_t *b = tr_pool_alloc(&p, &local, CLS, BLOCK_SIZE);
        tr_pool_free(&p, &local, CLS, b);
    }
    CHECK(p.nmags <= mags + 1);
    while (n > 0)
        tr_pool_free(&p, &local, CLS, out[--n]);
    tr_pool_local_flush(&p, &local);
    tr_pool_destroy(&p);
}

/* A thread's magazines handed back (worker exit) serve another thread, and
 * plain threads' shared set (local NULL) works alongside. */
static void test_flush_and_shared(void) {
    tr_pool p;
    CHECK_EQ(tr_pool_init(&p), 0);
    tr_pool_local a = {0}, b = {0};
    void *blocks[MANY];
    alloc_all(&p, &a, &a, blocks);
    free_all(&p, &a, NULL, blocks);
    tr_pool_local_flush(&p, &a);
    alloc_again(&p, &b, NULL, blocks);
    free_all(&p, &b, &b, blocks);
    tr_pool_local_flush(&p, &b);
    tr_pool_destroy(&p);
}

/* Plain threads alone (their shared set, local NULL): two magazines' worth
 * freed leaves the loaded and the previous magazine full and the depot
 * empty; allocating them again swaps in the previous one instead of cutting
 * new blocks. */
static void test_plain_threads(void) {
    enum { BIG = 5 }; /* 512-byte blocks: a slab holds one magazine's worth, so a cut shows */
    tr_pool p;
    CHECK_EQ(tr_pool_init(&p), 0);
    void *blocks[2 * TR_POOL_MAG];
    size_t slabs = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2 * (int)TR_POOL_MAG; i++)
            CHECK((blocks[i] = tr_pool_alloc(&p, NULL, BIG, tr_pool_class_size(BIG))) != NULL);
        if (round == 0)
            slabs = p.nslabs;
        CHECK_EQ(p.nslabs, slabs);
        for (int i = 0; i < 2 * (int)TR_POOL_MAG; i++)
            tr_pool_free(&p, NULL, BIG, blocks[i]);
    }
    tr_pool_destroy(&p);
}

/* With no magazine to be had, freed blocks wait on the loose list and are
 * allocated again from there: nothing is lost, no new slab is cut. */
static void test_loose(void) {
    tr_pool p;
    CHECK_EQ(tr_pool_init(&p), 0);
    tr_pool_local local = {0}, other = {0};
    void *blocks[MANY];
    alloc_all(&p, &local, &local, blocks);
    tr_pool_local_flush(&p, &local);
    p.max_mags = p.nmags; /* no more magazines than the one holding the rest */
    free_all(&p, &other, &other, blocks);
    CHECK(p.loose[CLS] != NULL);
    alloc_again(&p, &other, &other, blocks);
    free_all(&p, &other, &other, blocks);
    tr_pool_local_flush(&p, &other);
    tr_pool_destroy(&p);
}

/* ---- the stress case: producers allocate and stamp blocks, a consumer
 * checks and frees them on its own magazines ---- */

enum { PRODUCERS = 2, PER_PRODUCER = 200000, RING = 1024 };

typedef struct {
    uint64_t stamp; /* producer << 32 | sequence */
    uint64_t check; /* ~stamp */
} block_body;

static tr_pool g_pool;
static void *_Atomic g_ring[PRODUCERS][RING]; /* one single-producer ring per producer */

static void producer(void *arg) {
    int id = (int)(intptr_t)arg;
    tr_pool_local local = {0};
    for (uint64_t i = 0; i < PER_PRODUCER; i++) {
        block_body *b = tr_pool_alloc(&g_pool, &local, CLS, BLOCK_SIZE);
        CHECK(b != NULL);
        b->stamp = (uint64_t)id << 32 | i;
        b->check = ~b->stamp;
        while (atomic_load_explicit(&g_ring[id][i % RING], memory_order_acquire))
            uv_sleep(0); /* the consumer is behind */
        atomic_store_explicit(&g_ring[id][i % RING], b, memory_order_release);
    }
    tr_pool_local_flush(&g_pool, &local);
}

static void test_cross_thread_stress(void) {
    CHECK_EQ(tr_pool_init(&g_pool), 0);
    uv_thread_t threads[PRODUCERS];
    for (int t = 0; t < PRODUCERS; t++)
        CHECK_EQ(uv_thread_create(&threads[t], producer, (void *)(intptr_t)t), 0);
    tr_pool_local local = {0};
    uint64_t next[PRODUCERS] = {0}, taken = 0;
    while (taken < (uint64_t)PRODUCERS * PER_PRODUCER) {
        for (int t = 0; t < PRODUCERS; t++) {
            if (next[t] == PER_PRODUCER)
                continue;
            block_body *b =
                atomic_exchange_explicit(&g_ring[t][next[t] % RING], NULL, memory_order_acquire);
            if (!b)
                continue;
            CHECK_EQ(b->stamp, (uint64_t)t << 32 | next[t]); /* in order, not clobbered */
            CHECK_EQ(b->check, ~b->stamp);
            b->stamp = b->check = 0;
            if (taken % 3) /* plain-thread frees too, under the lock */
                tr_pool_free(&g_pool, &local, CLS, b);
            else
                tr_pool_free(&g_pool, NULL, CLS, b);
            next[t]++;
            taken++;
        }
    }
    for (int t = 0; t < PRODUCERS; t++)
        uv_thread_join(&threads[t]);
    tr_pool_local_flush(&g_pool, &local);
    /* Blocks were reused, not cut anew: at most a few magazines' worth per
       thread and ring are ever out at once. */
    size_t most = (PRODUCERS * (RING + 3 * TR_POOL_MAG) + 6 * TR_POOL_MAG) * BLOCK_SIZE;
    CHECK(g_pool.nslabs * TR_POOL_SLAB <= most + TR_POOL_SLAB);
    tr_pool_destroy(&g_pool);
}

int main(void) {
    RUN(test_reuse);
    RUN(test_random_walk);
    RUN(test_flush_and_shared);
    RUN(test_plain_threads);
    RUN(test_loose);
    RUN(test_cross_thread_stress);
    return check_summary();
}
