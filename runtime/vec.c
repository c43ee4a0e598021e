/* vec.c — see vec.h. */
#include "vec.h"

#include <stdlib.h>
#include <string.h>
#include <troupe.h>

int tr_vec_reserve(tr_vec *v, uint32_t n, size_t elem) {
    if (v->cap - v->n >= n)
        return 0;
    uint32_t cap = v->cap ? v->cap : 4;
    while (cap - v->n < n)
        cap *= 2;
    void *items = realloc(v->items, cap * elem);
    if (!items)
        return TR_ENOMEM;
    v->items = items;
    v->cap = cap;
    return 0;
}

int tr_vec_push(tr_vec *v, const void *item, size_t elem) {
    if (tr_vec_reserve(v, 1, elem) != 0)
        return TR_ENOMEM;
    memcpy((char *)v->items + (size_t)v->n++ * elem, item, elem);
    return 0;
}

void tr_vec_take(tr_vec *v, uint32_t i, size_t elem) {
    char *items = v->items;
    if (i != --v->n)
        memcpy(items + (size_t)i * elem, items + (size_t)v->n * elem, elem);
}

void tr_vec_free(tr_vec *v) {
    free(v->items);
    *v = (tr_vec){0};
}
