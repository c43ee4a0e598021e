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
 * answered for an actor known to be gone. The refresh, too, is an update,
 * against the revision this node last wrote, and a key found changed is
 * written again only if it still names this node's holder: a node that others
 * took for dead (it stalled, or was cut off) and whose names were taken over
 * meanwhile finds another holder there when it comes back and drops the name,
 * where a plain put wrote its own pid back over the new holder's.
 *
 * r->names, this node's own names, is touched only under r->names_lock,
 * which is held across each name call's key-value round trips (register,
 * unregister, the heartbeat's refresh), so they do not undo each other. */
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

static void remember(tr_remote *r, const char *name, tr_pid pid, uint64_t rev) {
    tr_gname g = {.pid = pid, .rev = rev};
    snprintf(g.name, sizeof g.name, "%s", name);
    (void)tr_vec_push(&r->names, &g, sizeof g); /* out of memory: it is not refreshed */
}

/* Forgets this node's entry for name and returns the pid it held (0: none). */
static tr_pid forget(tr_remote *r, const char *name) {
    for (uint32_t i = 0; i < r->names.n; i++) {
        tr_gname *g = &TR_VEC_AT(&r->names, tr_gname, i);
        if (strcmp(g->name, name) == 0) {
            tr_pid held = g->pid;
            tr_vec_take(&r->names, i, sizeof(tr_gname));
            return held;
        }
    }
    return 0;
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
    forget(r, name);
    remember(r, name, pid, rev);
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
    tr_pid held = forget(r, name);
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

/* Keeps g's key naming g's pid: an update against the revision this node last
 * wrote, one round trip as a put was. When the revision has moved, the key
 * expired (it is made again) or another node wrote it (unless it still names
 * g's pid). Returns 0 only when the key is seen naming another holder (a
 * takeover); any other failure keeps the name and the next heartbeat tries
 * again (a create that lost to another node: its update fails on the
 * revision and its read then sees the holder). */
static int renew(tr_remote *r, tr_gname *g) {
    char key[TR_GNAME_MAX + 8], value[24];
    key_of(g->name, key, sizeof key);
    snprintf(value, sizeof value, "%lld", (long long)g->pid);
    uint64_t rev;
    natsStatus s = kvStore_UpdateString(&rev, r->kv, key, value, g->rev);
    if (s == NATS_ERR) { /* a wrong revision: see who holds the key */
        kvEntry *e = NULL;
        s = kvStore_Get(&e, r->kv, key);
        if (s == NATS_NOT_FOUND)
            s = kvStore_CreateString(&rev, r->kv, key, value);
        else if (s == NATS_OK && entry_pid(e) == g->pid) /* still ours */
            s = kvStore_UpdateString(&rev, r->kv, key, value, kvEntry_Revision(e));
        else if (s == NATS_OK)
            s = NATS_MISMATCH;
        if (e)
            kvEntry_Destroy(e);
    }
    if (s == NATS_OK)
        g->rev = rev;
    return s != NATS_MISMATCH;
}

void tr_gnames_refresh(tr_remote *r) {
    uv_mutex_lock(&r->names_lock);
    /* backwards: tr_vec_take moves the last entry into the hole */
    for (uint32_t i = r->names.n; i-- > 0;) {
        tr_gname *g = &TR_VEC_AT(&r->names, tr_gname, i);
        if (!tr_live_actor(r->sys, g->pid)) {
            tr_gname gone = *g;
            tr_vec_take(&r->names, i, sizeof gone);
            release(r, gone.name, gone.pid);
        } else if (!renew(r, g)) {
            tr_vec_take(&r->names, i, sizeof *g); /* taken over: the name is not ours */
        }
    }
    uv_mutex_unlock(&r->names_lock);
}

void tr_gnames_drop_all(tr_remote *r) {
    uv_mutex_lock(&r->names_lock);
    for (uint32_t i = 0; i < r->names.n; i++)
        release(r, TR_VEC_AT(&r->names, tr_gname, i).name, TR_VEC_AT(&r->names, tr_gname, i).pid);
    tr_vec_free(&r->names);
    uv_mutex_unlock(&r->names_lock);
}
