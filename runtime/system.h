/* system.h — the system, its workers and the callback context: the structures
 * every part of the runtime shares. */
#ifndef TR_SYSTEM_H
#define TR_SYSTEM_H

#include "actor.h"
#include "globalq.h"
#include "msg.h"
#include "names.h"
#include "pool.h"
#include "runq.h"
#include "waiter.h"

#include <msgpack.h>
#include <troupe.h>
#include <uv.h>

/* Counters a worker increments without atomic read-modify-writes: only the
 * owner writes them (load + store), anyone may read them for stats. */
typedef struct tr_counters {
    _Atomic uint64_t spawned, exited, dead_letters, unhandled, rejected;
} tr_counters;

#define TR_COUNT(c, field)                                                                         \
    atomic_store_explicit(&(c)->field,                                                             \
                          atomic_load_explicit(&(c)->field, memory_order_relaxed) + 1,             \
                          memory_order_release)

typedef struct tr_worker {
    struct tr_system *sys;
    unsigned index;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    _Atomic int parked; /* 1 while parked and not yet woken */
    tr_actor *runnext;  /* made runnable by the running actor: runs next */
    unsigned runnext_streak;
    unsigned tick;
    unsigned active_handles; /* uv handles of actors (timers): poll the loop while busy */
    uint64_t rng;
    tr_pool_local pool;
    tr_free_blocks blocks;
    msgpack_zone *zone; /* for tr_ctx_zone, cleared after each callback that used it */
    int zone_used;
    tr_counters counters;
    /* The outbox: during an actor callback, consecutive sends to one receiver
       are chained here and pushed with one exchange when the callback returns
       or the receiver changes (tr_outbox_flush). */
    int in_callback;
    tr_actor *out_to;
    tr_pid out_pid;
    tr_msg *out_first, *out_last;
    _Alignas(64) tr_runq runq;
} tr_worker;

enum tr_system_state { TR_SYS_RUNNING = 0, TR_SYS_STOPPING, TR_SYS_DONE };

struct tr_system {
    tr_system_config cfg;
    unsigned node;
    tr_worker *workers;
    _Atomic int state;     /* read on every message: keep it apart from... */
    _Atomic int any_lived; /* an actor's init has succeeded: the system may stop by itself */
    _Alignas(64) _Atomic uint32_t nparked; /* ...what parking workers write */
    _Atomic uint32_t nsearching;           /* idle workers looking for work before parking */
    _Atomic uint32_t ref_seq;              /* references of plain-thread asks */

    uv_mutex_t lock; /* guards the DONE transition and `finish`; done_cond signals both */
    uv_cond_t done_cond;
    enum { TR_FINISH_NONE, TR_FINISH_RUNNING, TR_FINISH_DONE } finish; /* joining the workers */
    int loops_closing; /* a worker is closing its uv handles: wake nobody any more */

    tr_globalq globalq;

    tr_counters plain; /* what plain threads did (written with fetch_add) */
    tr_pool pool;
    tr_names names;

    tr_waiters waiters; /* reply addresses of plain-thread asks */

    tr_table table; /* large: last */
};

/* The context a callback runs in. `actor` is NULL on a worker's own thread
 * outside any actor (timer callbacks). */
struct tr_ctx {
    tr_system *sys;
    tr_worker *worker; /* NULL when a plain thread runs an actor's init */
    tr_actor *actor;
    tr_msg *current; /* the message receive was given */
    int consumed;    /* the current message was forwarded: do not free it */
};

/* The calling thread's worker (NULL on plain threads) and current context. */
extern _Thread_local tr_worker *tr_tls_worker __attribute__((tls_model("initial-exec")));
extern _Thread_local tr_ctx *tr_tls_ctx __attribute__((tls_model("initial-exec")));

/* The calling thread's worker if it belongs to sys, else NULL. */
static inline tr_worker *tr_worker_of(tr_system *sys) {
    tr_worker *w = tr_tls_worker;
    return w && w->sys == sys ? w : NULL;
}

/* cx if it is the context of the callback running on this thread, else NULL. */
static inline tr_ctx *tr_ctx_check(tr_ctx *cx) {
    return cx && cx == tr_tls_ctx && cx->actor ? cx : NULL;
}

/* Counts one event: cheap on a worker, atomic on a plain thread. */
#define TR_BUMP(sys, w, field)                                                                     \
    do {                                                                                           \
        if (w)                                                                                     \
            TR_COUNT(&(w)->counters, field);                                                       \
        else                                                                                       \
            atomic_fetch_add_explicit(&(sys)->plain.field, 1, memory_order_acq_rel);               \
    } while (0)

#endif
