/* idmap.c — see idmap.h. */
#include "idmap.h"

#include <troupe.h>

#include <stdlib.h>

struct tr_idmap_slot {
    uint64_t id; /* 0: empty */
    void *p;
};

static uint32_t home(const tr_idmap *m, uint64_t id) {
    id *= 0x9E3779B97F4A7C15ull; /* ids are sequential: spread them */
    return (uint32_t)(id >> 32) & m->mask;
}

static void insert(tr_idmap *m, uint64_t id, void *p) {
    uint32_t i = home(m, id);
    while (m->slots[i].id)
        i = (i + 1) & m->mask;
    m->slots[i].id = id;
    m->slots[i].p = p;
    m->n++;
}

/* Keeps the map at most half full. */
static int grow(tr_idmap *m) {
    uint32_t cap = m->slots ? (m->mask + 1) * 2 : 16;
    struct tr_idmap_slot *old = m->slots, *fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return TR_ENOMEM;
    uint32_t old_cap = old ? m->mask + 1 : 0;
    m->slots = fresh;
    m->mask = cap - 1;
    m->n = 0;
    for (uint32_t i = 0; i < old_cap; i++)
        if (old[i].id)
            insert(m, old[i].id, old[i].p);
    free(old);
    return 0;
}

int tr_idmap_put(tr_idmap *m, uint64_t id, void *p) {
    if ((!m->slots || (m->n + 1) * 2 > m->mask + 1) && grow(m) != 0)
        return TR_ENOMEM;
    insert(m, id, p);
    return 0;
}

/* The slot holding id, or -1. */
static int64_t find(const tr_idmap *m, uint64_t id) {
    if (!m->slots || !id)
        return -1;
    for (uint32_t i = home(m, id);; i = (i + 1) & m->mask) {
        if (m->slots[i].id == id)
            return i;
        if (!m->slots[i].id)
            return -1;
    }
}

void *tr_idmap_get(const tr_idmap *m, uint64_t id) {
    int64_t i = find(m, id);
    return i < 0 ? NULL : m->slots[i].p;
}

void *tr_idmap_remove(tr_idmap *m, uint64_t id) {
    int64_t found = find(m, id);
    if (found < 0)
        return NULL;
    uint32_t hole = (uint32_t)found;
    void *p = m->slots[hole].p;
    /* Shift back every following entry of the cluster that may move into
       the hole without passing its home slot. */
    for (uint32_t i = (hole + 1) & m->mask; m->slots[i].id; i = (i + 1) & m->mask) {
        uint32_t h = home(m, m->slots[i].id);
        if (((i - h) & m->mask) >= ((i - hole) & m->mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].id = 0;
    m->slots[hole].p = NULL;
    m->n--;
    return p;
}

void tr_idmap_drain(tr_idmap *m, void (*fn)(void *p, void *arg), void *arg) {
    for (uint32_t i = 0; m->slots && i <= m->mask; i++)
        if (m->slots[i].id)
            fn(m->slots[i].p, arg);
    tr_idmap_free(m);
}

void tr_idmap_free(tr_idmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->n = m->mask = 0;
}
