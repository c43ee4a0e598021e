/* waiter.h — mailboxes for plain threads: the reply address of a blocking
 * tr_ask, and the inbox a plain thread opens to receive messages.
 *
 * A waiter is a mailbox with a condition variable instead of a scheduler
 * entry. Waiters have their own table and their own pid space (node
 * TR_WAITER_NODE), so a waiter block is never an actor block: a stale send
 * can never make a worker run a waiter, nor a waiter swallow actor mail. */
#ifndef TR_WAITER_H
#define TR_WAITER_H

#include "mpsc.h"

#include <troupe.h>
#include <uv.h>

struct tr_system;
struct tr_worker;

#define TR_WAITER_CHUNK 64u
#define TR_WAITER_CHUNKS 1024u /* up to 65536 asks and inboxes at once */
/* A waiter's pid: node TR_WAITER_NODE, its generation, and in the slot bits
 * its index (16 bits) under the id of the node that made it (12 bits), so a
 * reply to a plain thread's ask finds its way back across nodes (node.h). */
#define TR_WAITER_INDEX_BITS 16

/* The node whose waiter pid names (0 before the system became a node). */
static inline unsigned tr_waiter_node(tr_pid pid) {
    return (unsigned)(((uint64_t)pid >> TR_WAITER_INDEX_BITS) & 0xFFFu);
}

typedef struct tr_waiter tr_waiter;

typedef struct tr_waiters {
    _Atomic(tr_waiter *) chunks[TR_WAITER_CHUNKS];
    uv_mutex_t lock; /* guards what follows */
    uint32_t nchunks;
    tr_waiter *free;
} tr_waiters;

int tr_waiters_init(tr_waiters *ws);
/* Frees every waiter, open inboxes included; mail still in them becomes dead
 * letters. No thread may be using one. */
void tr_waiters_destroy(struct tr_system *sys, tr_waiters *ws);

/* Wakes every waiting thread so that it sees the system stop. Any thread. */
void tr_waiters_wake_all(tr_waiters *ws);

/* A waiter with a fresh pid, or NULL when out of memory. The calling thread
 * is its only consumer until tr_waiter_put. */
tr_waiter *tr_waiter_get(struct tr_system *sys);
/* Kills the waiter's pid, drains its mail into dead letters and frees it. */
void tr_waiter_put(struct tr_system *sys, tr_waiter *wt);
tr_pid tr_waiter_pid(const tr_waiter *wt);
struct tr_system *tr_waiter_system(const tr_waiter *wt);

/* Takes the waiter's next wanted message into *out, waiting up to timeout_ms
 * (< 0: forever). Wanted: with ref 0 any ordinary message (an inbox); else
 * only the reply to ask ref or the notice that it failed (tr_ask). Anything
 * else is discarded as undeliverable. Returns 0, TR_ETIMEDOUT, or
 * TR_ESTOPPED once the system has stopped and nothing wanted is left.
 * Consumer only. */
int tr_waiter_next(struct tr_system *sys, tr_waiter *wt, int timeout_ms, uint32_t ref,
                   struct tr_msg **out);

/* Node `node` went down: plain threads waiting in tr_ask for an actor of
 * it get TR_ENODEDOWN (a reply that raced with it is then dropped as stale).
 * Any thread. */
void tr_waiters_node_down(struct tr_system *sys, unsigned node);

/* Delivers m to the waiter named by pid (node TR_WAITER_NODE); consumes m. */
int tr_waiter_deliver(struct tr_system *sys, struct tr_worker *w, tr_pid pid, struct tr_msg *m);

#endif
