/* idmap.h — a map from 64-bit ids to pointers, owned by one thread: a
 * worker's timers and connections by the ids that name them to other
 * threads (timer.h, tcp.h). Open addressing with linear probing; removal
 * shifts the following entries back, so there are no tombstones and a
 * lookup never scans more than the cluster it hashes into. */
#ifndef TR_IDMAP_H
#define TR_IDMAP_H

#include <stdint.h>

typedef struct tr_idmap {
    struct tr_idmap_slot *slots;
    uint32_t n, mask; /* entries; capacity - 1 (capacity a power of two, or 0) */
} tr_idmap;

/* Adds id (never 0, not yet present) -> p. Returns 0 or TR_ENOMEM. */
int tr_idmap_put(tr_idmap *m, uint64_t id, void *p);
/* The pointer under id, or NULL. */
void *tr_idmap_get(const tr_idmap *m, uint64_t id);
/* Removes id and returns its pointer (NULL if absent). */
void *tr_idmap_remove(tr_idmap *m, uint64_t id);
/* Calls fn(p, arg) on every entry's pointer, in one pass, and empties m
 * (its slots are freed). fn must not use m. */
void tr_idmap_drain(tr_idmap *m, void (*fn)(void *p, void *arg), void *arg);
/* Frees the slots; m is empty again. */
void tr_idmap_free(tr_idmap *m);

#endif
