/* names.c — see names.h. */
#include "names.h"

#include "system.h"

#include <stdlib.h>
#include <string.h>

struct tr_name_entry {
    tr_name_entry *next;
    tr_pid pid;
    char name[TR_NAME_MAX + 1];
};

int tr_names_init(tr_names *n) {
    memset(n->buckets, 0, sizeof n->buckets);
    return uv_mutex_init(&n->lock);
}

void tr_names_destroy(tr_names *n) {
    for (unsigned b = 0; b < TR_NAME_BUCKETS; b++)
        while (n->buckets[b]) {
            tr_name_entry *e = n->buckets[b];
            n->buckets[b] = e->next;
            free(e);
        }
    uv_mutex_destroy(&n->lock);
}

static int name_ok(const char *name) {
    if (!name)
        return 0;
    size_t len = strnlen(name, TR_NAME_MAX + 1);
    return len > 0 && len <= TR_NAME_MAX;
}

/* The link that points at name's entry (or at the bucket's end). Locked. */
static tr_name_entry **name_find(tr_names *n, const char *name) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    tr_name_entry **link = &n->buckets[h % TR_NAME_BUCKETS];
    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

/* Removes name if it is registered (to pid, unless pid is TR_PID_NONE). */
static int names_remove(tr_names *n, const char *name, tr_pid pid) {
    uv_mutex_lock(&n->lock);
    tr_name_entry **link = name_find(n, name);
    tr_name_entry *e = *link;
    if (e && (pid == TR_PID_NONE || e->pid == pid))
        *link = e->next;
    else
        e = NULL;
    uv_mutex_unlock(&n->lock);
    free(e);
    return e ? 0 : TR_ENOTFOUND;
}

void tr_names_drop_pid(tr_names *n, tr_pid pid) {
    uv_mutex_lock(&n->lock);
    for (unsigned b = 0; b < TR_NAME_BUCKETS; b++)
        for (tr_name_entry **link = &n->buckets[b]; *link;) {
            tr_name_entry *e = *link;
            if (e->pid == pid) {
                *link = e->next;
                free(e);
            } else {
                link = &e->next;
            }
        }
    uv_mutex_unlock(&n->lock);
}

static int name_register(tr_system *sys, const char *name, tr_pid pid) {
    if (!tr_live_actor(sys, pid))
        return TR_ENOACTOR;
    tr_name_entry *e = malloc(sizeof *e);
    if (!e)
        return TR_ENOMEM;
    strcpy(e->name, name);
    e->pid = pid;
    tr_actor *a = tr_table_lookup(&sys->table, pid);
    atomic_store(&a->named, 1);
    uv_mutex_lock(&sys->names.lock);
    tr_name_entry **link = name_find(&sys->names, name);
    int rc = *link ? TR_EEXIST : 0;
    if (rc == 0) {
        e->next = NULL;
        *link = e;
    }
    uv_mutex_unlock(&sys->names.lock);
    if (rc) {
        free(e);
        return rc;
    }
    /* The actor may have exited after the check and missed the new name:
       then it is ours to remove (see actor_retire's order: pid, then named). */
    if (!tr_live_actor(sys, pid)) {
        names_remove(&sys->names, name, pid);
        return TR_ENOACTOR;
    }
    return 0;
}

int tr_register(tr_system *sys, const char *name, tr_pid pid) {
    if (!sys || !name_ok(name))
        return TR_EINVAL;
    TR_API_CALL(sys, int, name_register(sys, name, pid));
}

static tr_pid name_lookup(tr_system *sys, const char *name) {
    uv_mutex_lock(&sys->names.lock);
    tr_name_entry *e = *name_find(&sys->names, name);
    tr_pid pid = e ? e->pid : TR_ENOTFOUND;
    uv_mutex_unlock(&sys->names.lock);
    return pid;
}

tr_pid tr_whereis(tr_system *sys, const char *name) {
    if (!sys || !name_ok(name))
        return TR_EINVAL;
    TR_API_CALL(sys, tr_pid, name_lookup(sys, name));
}

int tr_unregister(tr_system *sys, const char *name) {
    if (!sys || !name_ok(name))
        return TR_EINVAL;
    TR_API_CALL(sys, int, names_remove(&sys->names, name, TR_PID_NONE));
}
