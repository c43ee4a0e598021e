/* names.h — the registry: names for pids (tr_register / tr_whereis). A small
 * hash table under a lock; it is not on the message path. */
#ifndef TR_NAMES_H
#define TR_NAMES_H

#include <troupe.h>
#include <uv.h>

#define TR_NAME_MAX 63
#define TR_NAME_BUCKETS 256

typedef struct tr_name_entry tr_name_entry;

typedef struct tr_names {
    uv_mutex_t lock;
    tr_name_entry *buckets[TR_NAME_BUCKETS];
} tr_names;

int tr_names_init(tr_names *n);
void tr_names_destroy(tr_names *n);
/* Removes every name of pid (its actor exited). */
void tr_names_drop_pid(tr_names *n, tr_pid pid);

#endif
