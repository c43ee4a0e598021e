/* remote.h — the transport's state (node_nats.c) and the global names kept
 * on it (node_names.c). See troupe/node.h for what it does and node.h for
 * where the core calls it. */
#ifndef TR_REMOTE_H
#define TR_REMOTE_H

#include "frame.h"
#include "system.h"
#include "vec.h"

#include <nats/nats.h>
#include <troupe/node.h>

#define TR_NODE_IDS 4096u /* the 12 node bits */
#define TR_GNAME_MAX 64   /* the longest global name */
/* What a frame adds to its payload, with a batch's header, at most. */
#define TR_FRAME_OVERHEAD 64

enum tr_node_state { TR_NODE_UNKNOWN = 0, TR_NODE_UP, TR_NODE_DOWN };

/* A global name this node registered, refreshed with each heartbeat. */
typedef struct tr_gname {
    char name[TR_GNAME_MAX + 1];
    tr_pid pid;
    uint64_t rev; /* the key's revision this node last wrote */
} tr_gname;

typedef struct tr_remote {
    tr_system *sys;
    natsConnection *nc;
    natsSubscription *frames, *beats;
    jsCtx *js;
    kvStore *kv;  /* "<cluster>": node.<id>, name.<name>; keys not refreshed expire */
    kvStore *ids; /* "<cluster>_ids": the id counter, which never expires */
    char cluster[64], name[64];
    unsigned id, heartbeat_ms, down_after_ms;
    uint32_t max_frame;
    tr_pool_local pool; /* the frames' delivery thread's blocks (tr_msg_alloc_in) */
    size_t max_batch;   /* the server's max_payload */
    /* What this node knows of each node: read on every remote send. A node
       once down stays down (its id names a dead incarnation). */
    _Atomic uint8_t state[TR_NODE_IDS];
    _Atomic uint64_t last_seen[TR_NODE_IDS]; /* ms, uv_hrtime's clock */
    /* Held across a name's key-value calls (register, unregister, the
       heartbeat's refresh), so they do not undo each other on this node;
       guards `names`. */
    uv_mutex_t names_lock;
    tr_vec names; /* tr_gname: this node's own names */
    /* Frames sent outside a turn (plain threads), one at a time: a publish
       may wait on the socket, so not under `lock`, which workers take. */
    uv_mutex_t plain_lock;
    tr_batch_writer plain;
    uv_mutex_t lock;             /* guards what follows */
    tr_vec related[TR_NODE_IDS]; /* local pids linked to or monitoring that node's actors */
    int stopping;
    uv_cond_t cond; /* wakes the heartbeat thread to stop */
    uv_thread_t beat_thread;
    int beat_started;
    uv_sem_t subs_done;   /* one post per subscription whose callbacks are over */
    uv_sem_t conn_closed; /* posted by the connection's last callback */
    _Atomic int closing;
    int nsubs;
    _Atomic uint64_t frames_out, frames_in, batches_out, batches_in, bad_frames, dead_letters;
    _Atomic uint32_t nodes_down;
} tr_remote;

/* Whether s is 1 to max letters, digits, '-', '_' (and '.' if dots): a
 * name that is safe in a NATS subject or key. */
int tr_remote_name_ok(const char *s, size_t max, int dots);

/* Whether node is up (none is once this node is closing); an id never seen
 * is looked up in the bucket first (a round trip, once per id). Any
 * thread. */
int tr_remote_node_up(tr_remote *r, unsigned node);

/* A libnats status as a TR_E* code. */
int tr_remote_error(natsStatus s);

/* Heartbeat work of the names (node_names.c): names whose actor has exited
 * are dropped, the others refreshed. Drops them all when leaving. */
void tr_gnames_refresh(tr_remote *r);
void tr_gnames_drop_all(tr_remote *r);

#endif
