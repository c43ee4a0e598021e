/* node_names.c — cluster-wide names (troupe/node.h) in the cluster's
 * key-value bucket: key "name.<name>", value the pid in decimal.
 *
 * A name is made with a create (which fails if the key lives), so of two
 * nodes registering one name at once exactly one wins. A name whose holder
 * is dead (its actor exited, or its node is down) is taken over with an
 * update against the revision read, so again one wins. The registering node
 * refreshes its names with each heartbeat (keys expire like node keys when
 * not refreshed, so a dead node's names go with it) and drops those whose
 * actor has exited; whereis also checks the holder, so a name is never
 * answered for an actor known to be gone. */
#include "remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gname_ok(const char *s) {
    return tr_remote_name_ok(s, TR_GNAME_MAX, 1);
}

static void key_of(const char *name, char *key, size_t size) {
    snprintf(key, size, "name.%s", name);
}

/* Whether the holder of a name is alive as far as this node can tell. */
static int holder_alive(tr_remote *r, tr_pid pid) {
    unsigned node = tr_pid_node(pid);
    if (node == r->id)
        return tr_live_actor(r->sys, pid) != NULL;
    return pid > 0 && tr_remote_node_up(r, node);
}

/* The pid a name's entry holds (0 if it does not parse). */
static tr_pid entry_pid(kvEntry *e) {
    const char *v = kvEntry_ValueString(e);
    return v ? (tr_pid)strtoll(v, NULL, 10) : 0;
}

static void remember(tr_remote *r, const char *name, tr_pid pid) {
    tr_gname g = {.pid = pid};
    snprintf(g.name, sizeof g.name, "%s", name);
    uv_mutex_lock(&r->lock);
    (void)tr_vec_push(&r->names, &g, sizeof g); /* out of memory: it is not refreshed */
    uv_mutex_unlock(&r->lock);
}

/* Forgets this node's entry for name if it holds pid (0: whatever it holds),
 * and returns the pid it held (0: none). A refresh working on a copy so does
 * not forget a name registered again meanwhile. */
static tr_pid forget(tr_remote *r, const char *name, tr_pid pid) {
    tr_pid held = 0;
    uv_mutex_lock(&r->lock);
    for (uint32_t i = 0; i < r->names.n && !held; i++) {
        tr_gname *g = &TR_VEC_AT(&r->names, tr_gname, i);
        if (strcmp(g->name, name) == 0 && (!pid || g->pid == pid)) {
            held = g->pid;
            tr_vec_take(&r->names, i, sizeof(tr_gname));
        }
    }
    uv_mutex_unlock(&r->lock);
    return held;
}

/* Gives up name's key if it still names pid: an update against the revision
 * read, so a holder that took it over meanwhile (here or on another node)
 * keeps it. The value "0" names nobody; the key expires unless taken. */
static void release(tr_remote *r, const char *name, tr_pid pid) {
    char key[TR_GNAME_MAX + 8];
    key_of(name, key, sizeof key);
    kvEntry *e = NULL;
    if (kvStore_Get(&e, r->kv, key) == NATS_OK && entry_pid(e) == pid) {
        uint64_t rev;
        kvStore_UpdateString(&rev, r->kv, key, "0", kvEntry_Revision(e));
    }
    if (e)
        kvEntry_Destroy(e);
}

static int register_global(tr_remote *r, const char *name, tr_pid pid) {
    if (!tr_live_actor(r->sys, pid))
        return tr_pid_node(pid) == r->id ? TR_ENOACTOR : TR_EINVAL;
    char key[TR_GNAME_MAX + 8], value[24];
    key_of(name, key, sizeof key);
    snprintf(value, sizeof value, "%lld", (long long)pid);
    uint64_t rev;
    natsStatus s = kvStore_CreateString(&rev, r->kv, key, value);
    if (s == NATS_ERR) { /* the key lives: is its holder alive? */
        kvEntry *e = NULL;
        s = kvStore_Get(&e, r->kv, key);
        if (s == NATS_OK && holder_alive(r, entry_pid(e)))
            s = NATS_MISMATCH;
        else if (s == NATS_OK)
            s = kvStore_UpdateString(&rev, r->kv, key, value, kvEntry_Revision(e));
        else if (s == NATS_NOT_FOUND) /* deleted meanwhile */
            s = kvStore_CreateString(&rev, r->kv, key, value);
        if (e)
            kvEntry_Destroy(e);
        if (s == NATS_MISMATCH || s == NATS_ERR)
            return TR_EEXIST; /* alive, or another node took it first */
    }
    if (s != NATS_OK)
        return tr_remote_error(s);
    forget(r, name, 0);
    remember(r, name, pid);
    return 0;
}

static int locked_register(tr_remote *r, const char *name, tr_pid pid) {
    uv_mutex_lock(&r->names_lock);
    int rc = register_global(r, name, pid);
    uv_mutex_unlock(&r->names_lock);
    return rc;
}

static int unregister_global(tr_remote *r, const char *name) {
    uv_mutex_lock(&r->names_lock);
    tr_pid held = forget(r, name, 0);
    if (held)
        release(r, name, held);
    uv_mutex_unlock(&r->names_lock);
    return held ? 0 : TR_ENOTFOUND;
}

static tr_pid whereis_global(tr_remote *r, const char *name) {
    char key[TR_GNAME_MAX + 8];
    key_of(name, key, sizeof key);
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, r->kv, key);
    tr_pid pid = s == NATS_OK ? entry_pid(e) : tr_remote_error(s);
    if (e)
        kvEntry_Destroy(e);
    if (pid > 0 && !holder_alive(r, pid))
        return TR_ENOTFOUND;
    return pid == 0 ? TR_ENOTFOUND : pid;
}

/* The public calls are counted as callers (TR_API_CALL), so that shutdown
 * frees the connection only after they have left. */
int tr_register_global(tr_system *sys, const char *name, tr_pid pid) {
    if (!sys || !name)
        return TR_EINVAL;
    if (!sys->remote)
        return TR_ENOTSUP;
    if (!gname_ok(name))
        return TR_EINVAL;
    TR_API_CALL(sys, int, locked_register(sys->remote, name, pid));
}

int tr_unregister_global(tr_system *sys, const char *name) {
    if (!sys || !name)
        return TR_EINVAL;
    if (!sys->remote)
        return TR_ENOTSUP;
    if (!gname_ok(name))
        return TR_ENOTFOUND;
    TR_API_CALL(sys, int, unregister_global(sys->remote, name));
}

tr_pid tr_whereis_global(tr_system *sys, const char *name) {
    if (!sys || !name)
        return TR_EINVAL;
    if (!sys->remote)
        return TR_ENOTSUP;
    if (!gname_ok(name))
        return TR_EINVAL;
    TR_API_CALL(sys, tr_pid, whereis_global(sys->remote, name));
}

void tr_gnames_refresh(tr_remote *r) {
    uv_mutex_lock(&r->names_lock);
    uv_mutex_lock(&r->lock);
    tr_vec names = {0};
    if (r->names.n && tr_vec_reserve(&names, r->names.n, sizeof(tr_gname)) == 0) {
        memcpy(names.items, r->names.items, r->names.n * sizeof(tr_gname));
        names.n = r->names.n;
    }
    uv_mutex_unlock(&r->lock);
    for (uint32_t i = 0; i < names.n; i++) {
        tr_gname *g = &TR_VEC_AT(&names, tr_gname, i);
        char key[TR_GNAME_MAX + 8], value[24];
        key_of(g->name, key, sizeof key);
        if (!tr_live_actor(r->sys, g->pid)) {
            if (forget(r, g->name, g->pid))
                release(r, g->name, g->pid);
            continue;
        }
        snprintf(value, sizeof value, "%lld", (long long)g->pid);
        uint64_t rev;
        kvStore_PutString(&rev, r->kv, key, value);
    }
    uv_mutex_unlock(&r->names_lock);
    tr_vec_free(&names);
}

void tr_gnames_drop_all(tr_remote *r) {
    uv_mutex_lock(&r->names_lock);
    uv_mutex_lock(&r->lock);
    tr_vec names = r->names;
    memset(&r->names, 0, sizeof names);
    uv_mutex_unlock(&r->lock);
    for (uint32_t i = 0; i < names.n; i++)
        release(r, TR_VEC_AT(&names, tr_gname, i).name, TR_VEC_AT(&names, tr_gname, i).pid);
    uv_mutex_unlock(&r->names_lock);
    tr_vec_free(&names);
}
