/* test_idmap.c — runtime/idmap.c against a plain reference array: put, get,
 * remove and drain over sequential ids (as workers issue them), random 64-bit
 * ids, and ids made to collide; after every removal each id still present is
 * found and each id removed is not (the backward shift must never lose an
 * entry, across the end of the table included); the map stays at most half
 * full; drain visits every entry once and empties it. */
#include "check.h"

#include "idmap.h"

#include <stdint.h>
#include <string.h>

#define MAX_IDS 20000

/* The reference: ids[i] is in the map (with value &ids[i]) iff present[i]. */
static uint64_t g_ids[MAX_IDS];
static unsigned char g_present[MAX_IDS];
static unsigned g_count, g_live;

static uint64_t g_rng = 0x243F6A8885A308D3ull;

static void ref_reset(void) {
    memset(g_present, 0, sizeof g_present);
    g_count = g_live = 0;
}

/* Adds id to the reference list (not yet in the map); returns its index. */
static unsigned ref_add(uint64_t id) {
    CHECK(g_count < MAX_IDS);
    g_ids[g_count] = id;
    g_present[g_count] = 0;
    return g_count++;
}

static void put(tr_idmap *m, unsigned i) {
    CHECK(!g_present[i]);
    CHECK_EQ(tr_idmap_put(m, g_ids[i], &g_ids[i]), 0);
    g_present[i] = 1;
    g_live++;
}

static void removal(tr_idmap *m, unsigned i) {
    void *p = tr_idmap_remove(m, g_ids[i]);
    if (g_present[i]) {
        CHECK(p == &g_ids[i]);
        g_present[i] = 0;
        g_live--;
    } else {
        CHECK(p == NULL);
    }
}

/* The first `upto` ids of the reference are found iff present, under their
 * own values; the map's count matches and it is at most half full. */
static void check_some(const tr_idmap *m, unsigned upto) {
    for (unsigned i = 0; i < upto && i < g_count; i++) {
        void *p = tr_idmap_get(m, g_ids[i]);
        if (g_present[i])
            CHECK(p == &g_ids[i]);
        else
            CHECK(p == NULL);
    }
    CHECK_EQ(m->n, g_live);
    if (m->slots)
        CHECK(2ull * m->n <= (uint64_t)m->mask + 1);
    CHECK(tr_idmap_get(m, 0) == NULL);
    CHECK(tr_idmap_remove((tr_idmap *)m, 0) == NULL);
}

static void check_all(const tr_idmap *m) {
    check_some(m, g_count);
}

/* Each drained pointer is a present entry, given once. */
static void drained(void *p, void *arg) {
    (void)arg;
    uint64_t *slot = p;
    CHECK(slot >= g_ids && slot < g_ids + g_count);
    unsigned i = (unsigned)(slot - g_ids);
    CHECK(g_present[i]);
    g_present[i] = 0;
    g_live--;
}

/* Drains the map: every entry once, then it is empty. */
static void drain_all(tr_idmap *m) {
    tr_idmap_drain(m, drained, NULL);
    CHECK_EQ(g_live, 0);
    CHECK_EQ(m->n, 0);
    CHECK(m->slots == NULL);
    check_all(m);
}

static void count_one(void *p, void *arg) {
    (void)p;
    ++*(int *)arg;
}

static void empty_map(void) {
    tr_idmap m = {0};
    CHECK(tr_idmap_get(&m, 1) == NULL);
    CHECK(tr_idmap_get(&m, 0) == NULL);
    CHECK(tr_idmap_remove(&m, 1) == NULL);
    int drains = 0;
    tr_idmap_drain(&m, count_one, &drains);
    CHECK_EQ(drains, 0);
    int x;
    CHECK_EQ(tr_idmap_put(&m, 7, &x), 0);
    CHECK(tr_idmap_get(&m, 7) == &x);
    CHECK(tr_idmap_get(&m, 8) == NULL);
    tr_idmap_drain(&m, count_one, &drains);
    CHECK_EQ(drains, 1);
    CHECK(tr_idmap_get(&m, 7) == NULL);
    CHECK_EQ(m.n, 0);
    CHECK_EQ(tr_idmap_put(&m, 7, &x), 0);
    tr_idmap_free(&m);
    CHECK(m.slots == NULL);
    CHECK_EQ(m.n, 0);
}

/* Ids as workers issue them: worker index in the top 16 bits, a sequence
 * below. Add many, remove every other one, check, remove the rest in a
 * shuffled order checking as it goes, add again (the freed slots reused). */
static void sequential_ids(void) {
    for (uint64_t worker = 1; worker <= 3; worker++) {
        tr_idmap m = {0};
        ref_reset();
        const unsigned n = 10000;
        for (unsigned i = 0; i < n; i++)
            put(&m, ref_add((worker << 48) | (i + 1)));
        check_all(&m);
        for (unsigned i = 0; i < n; i += 2)
            removal(&m, i);
        check_all(&m);
        /* the odd ones, in a shuffled order; a full check now and then */
        unsigned order[5000];
        for (unsigned k = 0; k < n / 2; k++)
            order[k] = 2 * k + 1;
        for (unsigned k = n / 2 - 1; k > 0; k--) {
            unsigned j = (unsigned)(check_rand(&g_rng) % (k + 1)), t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (unsigned k = 0; k < n / 2; k++) {
            removal(&m, order[k]);
            removal(&m, order[k]); /* twice: absent now */
            if (k % 250 == 0)
                check_all(&m);
        }
        check_all(&m);
        CHECK_EQ(m.n, 0);
        for (unsigned i = 0; i < n; i += 3)
            put(&m, i);
        check_all(&m);
        drain_all(&m);
        tr_idmap_free(&m);
    }
}

/* Random nonzero 64-bit ids, random operations, a full check after each one
 * while the map is small (clusters that wrap past the end of the table come
 * up often in a table of 16 or 32 slots), then in bulk. */
static void random_operations(void) {
    tr_idmap m = {0};
    ref_reset();
    for (unsigned i = 0; i < 4000; i++) {
        uint64_t id;
        do
            id = check_rand(&g_rng);
        while (id == 0);
        ref_add(id);
    }
    for (unsigned step = 0; step < 200000; step++) {
        /* a universe that grows: small maps first, then larger ones */
        unsigned universe = step < 20000 ? 40 : step < 60000 ? 400 : 4000;
        unsigned i = (unsigned)(check_rand(&g_rng) % universe);
        unsigned op = (unsigned)(check_rand(&g_rng) % 8);
        if (op < 4) {
            if (!g_present[i])
                put(&m, i);
        } else if (op < 7) {
            removal(&m, i);
        } else {
            void *p = tr_idmap_get(&m, g_ids[i]);
            CHECK(p == (g_present[i] ? &g_ids[i] : NULL));
        }
        if (step < 20000)
            check_some(&m, universe); /* the others are absent: checked below */
        else if (step % 5000 == 0)
            check_all(&m);
    }
    check_all(&m);
    drain_all(&m);
    tr_idmap_free(&m);
}

/* The worst case for a backward shift: ids that all hash to a few home slots
 * of a small table, so that clusters overlap and wrap around. Ids are found
 * by trying random values against the map's own hash (idmap.c: the top bits
 * of id * 0x9E3779B97F4A7C15, masked). */
static uint32_t home_of(uint64_t id, uint32_t mask) {
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void colliding_ids(void) {
    const uint32_t mask = 31; /* up to 16 entries stay in a table of 32 */
    const uint32_t homes[3] = {30, 31, 0};
    for (int round = 0; round < 200; round++) {
        tr_idmap m = {0};
        ref_reset();
        /* 15 ids whose homes are 30, 31 and 0: one cluster across the end */
        while (g_count < 15) {
            uint64_t id = check_rand(&g_rng) | 1;
            if (home_of(id, mask) == homes[g_count % 3])
                ref_add(id);
        }
        for (unsigned i = 0; i < g_count; i++)
            put(&m, i);
        CHECK_EQ(m.mask, mask);
        check_all(&m);
        /* remove in a random order, checking everything after each one */
        for (unsigned left = g_count; left > 0; left--) {
            unsigned i;
            do
                i = (unsigned)(check_rand(&g_rng) % g_count);
            while (!g_present[i]);
            removal(&m, i);
            check_all(&m);
            if (left % 4 == 0) { /* put one back now and then */
                put(&m, i);
                check_all(&m);
                removal(&m, i);
                check_all(&m);
            }
        }
        tr_idmap_free(&m);
    }
}

int main(void) {
    RUN(empty_map);
    RUN(sequential_ids);
    RUN(random_operations);
    RUN(colliding_ids);
    return check_summary();
}
