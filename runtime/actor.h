/* actor.h — the actor block and the table that maps pids to blocks.
 *
 * An actor lives in a fixed 128-byte block in a chunked table; its pid is its
 * block's index plus the block's generation, so looking a pid up is two loads
 * and a compare, and a pid stays safe to use forever: blocks are never freed
 * while the system runs, only reused under a new generation. The first cache
 * line holds what senders touch, the second what the running worker touches.
 * Small state (<= 32 bytes) lives inline in the block. */
#ifndef TR_ACTOR_H
#define TR_ACTOR_H

#include "mpsc.h"

#include <troupe.h>
#include <uv.h>

struct tr_worker;
struct tr_system;
struct tr_actor_ext;

enum tr_actor_flags {
    TR_ACTORF_ZOMBIE = 1,       /* exited: release the block once its mailbox is drained */
    TR_ACTORF_EXITING = 2,      /* tr_exit was called */
    TR_ACTORF_TRAP = 4,         /* traps exits: exit signals arrive as TR_MSG_EXIT */
    TR_ACTORF_RECV_TIMEOUT = 8, /* has a receive timeout: note when each turn ends (timer.h) */
    TR_ACTORF_STASHED = 16,     /* the stash holds messages: the next turn reads it first */
};

#define TR_INLINE_STATE 32

typedef struct tr_actor {
    /* line 0: what senders touch (and rarely written owner fields) */
    tr_mpsc mailbox;
    _Atomic tr_pid pid;        /* 0 while the block holds no live actor */
    _Atomic uint32_t depth;    /* counted messages in the mailbox (bounded only) */
    _Atomic uint32_t capacity; /* 0 = unbounded */
    uint32_t gen;              /* generation of the current or last pid */
    uint32_t slot;             /* index in the table */
    uint32_t next_ref;         /* last tr_ask_async reference */
    int exit_reason;
    _Atomic uint8_t named;      /* has registered names */
    _Atomic uint8_t signaled;   /* a signal was sent: sort the mailbox at the next turn */
    _Atomic uint8_t has_muters; /* workers that may hold senders muted on it: a bit each (mute.h) */
    _Atomic uint8_t muted;      /* held in a worker's mutemap (mute.h) */
    uint8_t flags;              /* owner of the consumer side only */
    /* line 1: what the worker running it touches */
    _Alignas(64) const tr_actor_spec *spec;
    tr_receive_fn receive;
    void *state;
    union {
        struct tr_actor_ext *ext;   /* asks, links, monitors: made on first use (links.h) */
        struct tr_actor *free_next; /* free-block list link, while free */
    };
    _Alignas(8) unsigned char inline_state[TR_INLINE_STATE];
} tr_actor;

_Static_assert(sizeof(tr_actor) == 128, "an actor block is two cache lines");

/* Pid layout: bit 63 is 0 (pids are positive); 12 bits node, 23 generation, 28 slot.
 * Node TR_WAITER_NODE names the reply addresses of plain-thread asks (waiter.h). */
#define TR_SLOT_BITS 28
#define TR_GEN_BITS 23
#define TR_NODE_SHIFT (TR_SLOT_BITS + TR_GEN_BITS)
#define TR_GEN_MASK ((1u << TR_GEN_BITS) - 1)
#define TR_WAITER_NODE 0xFFFu
/* Node TR_IO_NODE names sockets (tcp.c): the rest of the pid is the id of
 * the handle on its worker's loop (worker.h). */
#define TR_IO_NODE 0xFFEu
#define TR_CHUNK_BITS 12
#define TR_CHUNK_SIZE (1u << TR_CHUNK_BITS)
#define TR_MAX_CHUNKS (1u << (TR_SLOT_BITS - TR_CHUNK_BITS))

typedef struct tr_table {
    _Atomic(tr_actor *) chunks[TR_MAX_CHUNKS];
    _Atomic uint32_t nchunks;
    uv_mutex_t lock; /* guards what follows */
    tr_actor *free;  /* free blocks beyond the workers' own lists */
    uint32_t nfree;
} tr_table;

/* The block list a worker keeps for itself. */
typedef struct tr_free_blocks {
    tr_actor *head;
    uint32_t count;
} tr_free_blocks;

int tr_table_init(tr_table *t);
void tr_table_destroy(tr_table *t);

/* The block a local pid points to (live or not), or NULL if it names no block. */
tr_actor *tr_table_lookup(tr_table *t, tr_pid pid);

/* Takes a free block with its mailbox claimed (the caller owns the consumer
 * side). local is the calling worker's list or NULL. NULL when out of memory. */
tr_actor *tr_table_take(tr_table *t, tr_free_blocks *local);
/* Returns a drained, idle block for reuse. */
void tr_table_give(tr_table *t, tr_free_blocks *local, tr_actor *a);
/* Hands a worker's list back to the table (worker exit). */
void tr_table_flush(tr_table *t, tr_free_blocks *local);

/* Calls fn on every block made so far. May run while other threads spawn
 * (tr_system_stop does): blocks are published initialised, so fn may read a
 * block's atomic fields; anything else only once no other thread runs. */
void tr_table_each(tr_table *t, void (*fn)(tr_actor *a, void *arg), void *arg);

tr_pid tr_pid_make(unsigned node, uint32_t gen, uint32_t slot);

#endif
