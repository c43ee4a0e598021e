/* waiter.h — reply addresses for plain threads blocked in tr_ask.
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
#define TR_WAITER_CHUNKS 1024u /* up to 65536 plain threads asking at once */

typedef struct tr_waiter tr_waiter;

typedef struct tr_waiters {
    _Atomic(tr_waiter *) chunks[TR_WAITER_CHUNKS];
    uv_mutex_t lock; /* guards what follows */
    uint32_t nchunks;
    tr_waiter *free;
} tr_waiters;

int tr_waiters_init(tr_waiters *ws);
/* Frees every waiter; mail still in them becomes dead letters. */
void tr_waiters_destroy(struct tr_system *sys, tr_waiters *ws);

/* Delivers m to the waiter named by pid (node TR_WAITER_NODE); consumes m. */
int tr_waiter_deliver(struct tr_system *sys, struct tr_worker *w, tr_pid pid, struct tr_msg *m);

#endif
