/* vec.h — a growable array of fixed-size items, owned by one thread: the
 * small sets the runtime keeps per actor (links, monitors, pending asks) and
 * per worker (muted actors). Lookups are linear scans: these sets are small.
 * Order is not kept: removing an item moves the last one into its place. */
#ifndef TR_VEC_H
#define TR_VEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct tr_vec {
    void *items;
    uint32_t n, cap;
} tr_vec;

/* Makes room for n more items, so that as many pushes cannot fail. Returns 0
 * or TR_ENOMEM. */
int tr_vec_reserve(tr_vec *v, uint32_t n, size_t elem);
/* Appends a copy of item (elem bytes). Returns 0 or TR_ENOMEM. */
int tr_vec_push(tr_vec *v, const void *item, size_t elem);
/* Removes item i. */
void tr_vec_take(tr_vec *v, uint32_t i, size_t elem);
/* Frees the items; v is empty again. */
void tr_vec_free(tr_vec *v);

/* Item i of a vec of T. */
#define TR_VEC_AT(v, T, i) (((T *)(v)->items)[i])

#endif
