/* system.h — the system, its workers and the callback context: the structures
 * every part of the runtime shares. */
#ifndef TR_SYSTEM_H
#define TR_SYSTEM_H

#include "actor.h"
#include "callers.h"
#include "globalq.h"
#include "idmap.h"
#include "mailbox.h"
#include "mute.h"
#include "msg.h"
#include "names.h"
#include "pool.h"
#include "sharing.h"
#include "runq.h"
#include "ticker.h"
#include "waiter.h"

#include <msgpack.h>
#include <troupe.h>
#include <uv.h>

/* Counters a worker increments without atomic read-modify-writes: only the
 * owner writes them (load + store), anyone may read them for stats. */
typedef struct tr_counters {
    _Atomic uint64_t spawned, exited, dead_letters, unhandled, rejected, dropped, muted, overruns;
    _Atomic uint64_t received; /* messages turns took (sharing.h measures with it) */
} tr_counters;

#define TR_COUNT(c, field)                                                                         \
    atomic_store_explicit(&(c)->field,                                                             \
                          atomic_load_explicit(&(c)->field, memory_order_relaxed) + 1,             \
                          memory_order_release)

enum { TR_OUT_JOIN_NO, TR_OUT_JOIN_FREE, TR_OUT_JOIN_COUNTED };

typedef struct tr_worker {
    /* What only the worker's own thread touches, on every turn. */
    struct tr_system *sys;
    unsigned index;
    tr_actor *runnext; /* made runnable by the running actor: runs next */
    unsigned runnext_streak;
    unsigned global_turn; /* tick, and */
    uint32_t global_tick; /* sys->ticks, when the global queue was last looked at */
    uint64_t rng;
    struct tr_node_out *node_out; /* batches for other nodes (node.h), made on first use */
    int node_pending;             /* node_out holds frames to publish */
    tr_pool_local pool;
    tr_free_blocks blocks;
    msgpack_zone *zone; /* for tr_ctx_zone, cleared after each callback that used it */
    int zone_used;
    /* The outbox: during an actor callback, consecutive sends to one receiver
       are chained here and pushed with one exchange when the callback returns
       or the receiver changes (tr_outbox_flush). */
    tr_actor *out_to;
    tr_pid out_pid;
    tr_msg *out_first, *out_last;
    uint32_t out_counted; /* how many of them count against a BLOCK bound */
    /* How a later ordinary message to out_to joins the chain without a lookup
       (tr_msg_deliver): TR_OUT_JOIN_NO (out_to refuses or drops when full:
       each send is admitted on its own), TR_OUT_JOIN_FREE (unbounded),
       TR_OUT_JOIN_COUNTED (BLOCK). */
    uint32_t out_join;
    /* Muting (mute.h): the receiver the current callback found full, and the
       actors this worker keeps muted. */
    tr_actor *mute_to;
    tr_pid mute_pid;
    tr_vec mutes;     /* tr_mute_entry */
    int io_sending;   /* a socket's read is delivering (mute.h, step 6) */
    char *io_buf;     /* what sockets on this loop read into (tcp.c) */
    tr_idmap handles; /* runtime handles on the loop, by id (worker.h) */
    /* Written by the worker, read by others (the ticker, stats, the done
       check): lines of their own, so those reads do not slow the above. */
    _Alignas(64) _Atomic unsigned tick; /* looks for work (find_work): each turn, and each look that
                                           found none */
    _Atomic int in_callback;            /* in a turn */
    tr_counters counters;
    /* Written by other threads. */
    _Alignas(64) _Atomic int parked; /* 1 while parked and not yet woken */
    _Atomic int preempt;             /* set by the ticker: the turn under way has run too long */
    unsigned ticker_seen;            /* tick at the ticker's last look (ticker only) */
    _Atomic int commands_pending;    /* the command inbox (command.h) */
    _Atomic int rescan_mutes;
    _Atomic uint64_t next_id; /* ids of handles on this loop (worker.h) */
    _Alignas(64) tr_mpsc commands;
    /* Cold. */
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    _Alignas(64) tr_runq runq;
    /* Owner only: actors made runnable while the ring was full (scheduler.c). */
    int overflowing;
    int in_loop; /* running the loop's callbacks (worker.c): I/O makes these actors runnable */
    uint32_t noverflow;
    tr_actor *overflow[TR_RUNQ_SIZE / 2];
    /* Owner only: actors kept here, out of thieves' reach (mute.h, placement). */
    _Alignas(64) tr_runq pinned;
} tr_worker;

enum tr_system_state { TR_SYS_RUNNING = 0, TR_SYS_STOPPING, TR_SYS_DONE };

struct tr_system {
    tr_system_config cfg;
    _Atomic unsigned node;    /* this node's id, 0 until tr_node_start */
    struct tr_remote *remote; /* the transport (node.h), NULL until tr_node_start */
    tr_worker *workers;
    _Atomic int state;     /* read on every message: keep it apart from... */
    _Atomic int any_lived; /* an actor's init has succeeded: the system may stop by itself */
    _Atomic uint64_t open_inboxes;         /* ...but not while a plain thread keeps an inbox open */
    _Atomic uint32_t ticks;                /* the coarse clock (ticker.c), read on every message */
    _Alignas(64) _Atomic uint32_t nparked; /* ...what parking workers write */
    _Atomic uint32_t nsearching;           /* idle workers looking for work before parking */
    _Atomic int
        keep; /* 1: workers do not steal from each other (sharing.h); read with the two above */
    _Atomic uint32_t ref_seq;              /* references of plain-thread asks */
    _Atomic unsigned next_pick;            /* tr_worker_pick's turn */
    _Alignas(64) _Atomic uint32_t callers; /* calls nested in another system's (callers.h) */
    _Atomic uint32_t wait_callers;         /* ...of which inside tr_system_wait */
    _Atomic uint32_t muted_now;            /* actors muted at the moment */

    _Alignas(64) tr_ticker ticker; /* a line of its own above: callers is written per call */
    tr_sharing_ctl sharing;        /* the ticker's */
    _Atomic uint64_t sharing_changes;

    uv_mutex_t lock; /* guards the DONE transition and `finish`; done_cond signals both */
    uv_cond_t done_cond;
    enum { TR_FINISH_NONE, TR_FINISH_RUNNING, TR_FINISH_DONE } finish; /* joining the workers */
    int loops_closing; /* a worker is closing its uv handles: wake nobody any more */

    tr_globalq globalq;

    tr_counters plain; /* what plain threads did (written with fetch_add) */
    tr_pool pool;
    tr_names names;

    tr_waiters waiters; /* reply addresses of plain-thread asks */

    tr_mbox_table mboxes; /* mailbox counters, by slot (large) */
    tr_table table;       /* large: last */
};

/* An actor callback in progress. The tr_ctx a callback is given is not this
 * structure's address (the stack slot is the same for every actor a worker
 * runs, so a kept pointer would act for whichever actor runs next) but the
 * actor's pid used as a handle: tr_ctx_check accepts it only while that
 * actor's own callback runs on this thread. */
typedef struct tr_callback {
    tr_ctx *token; /* tr_ctx_token(pid) */
    tr_system *sys;
    tr_worker *worker; /* NULL when a plain thread runs an actor's init */
    tr_actor *actor;
    tr_msg *current; /* the message receive was given */
    int consumed;    /* the current message was forwarded: do not free it */
    int replied;     /* the current message was replied to */
    int yielding;    /* tr_yield: the turn ends after this callback (not read in init) */
} tr_callback;

_Static_assert(sizeof(uintptr_t) >= sizeof(tr_pid), "a tr_ctx handle holds a pid");

static inline tr_ctx *tr_ctx_token(tr_pid pid) {
    return (tr_ctx *)(uintptr_t)pid;
}

/* The calling thread's worker (NULL on plain threads) and current callback. */
extern _Thread_local tr_worker *tr_tls_worker __attribute__((tls_model("initial-exec")));
extern _Thread_local tr_callback *tr_tls_cb __attribute__((tls_model("initial-exec")));

/* The calling thread's worker if it belongs to sys, else NULL. */
static inline tr_worker *tr_worker_of(tr_system *sys) {
    tr_worker *w = tr_tls_worker;
    return w && w->sys == sys ? w : NULL;
}

/* The callback cx names if it is the one running on this thread, else NULL. */
static inline tr_callback *tr_ctx_check(tr_ctx *cx) {
    tr_callback *cb = tr_tls_cb;
    return cb && cx == cb->token ? cb : NULL; /* a token is never NULL */
}

/* Whether the calling thread is inside an actor callback (of any system):
 * blocking calls are refused there. */
static inline int tr_in_callback(void) {
    return tr_tls_worker != NULL || tr_tls_cb != NULL;
}

/* Who the caller is, for message ownership: the running actor's pid inside a
 * callback, else a negative number that names the plain thread. */
int64_t tr_thread_id(void);
static inline int64_t tr_caller_id(void) {
    tr_callback *cb = tr_tls_cb;
    return cb ? atomic_load_explicit(&cb->actor->pid, memory_order_relaxed) : tr_thread_id();
}

/* Plain threads inside the API are tracked (callers.h) so that
 * tr_system_shutdown frees nothing under them. Workers are not: shutdown
 * joins them. Every public entry point that plain threads may call runs its
 * body through TR_API_CALL. tr_api_enter returns how it counted the call,
 * for tr_api_leave. */
static inline int tr_api_enter(tr_system *sys) {
    tr_caller_slot *s = tr_tls_caller;
    if (!s)
        s = tr_caller_slot_make();
    if (s && s->depth == 0) {
        atomic_store(&s->sys, sys); /* seq_cst: before any read of sys (callers.h) */
        s->depth = 1;
        return 1;
    }
    if (s && atomic_load_explicit(&s->sys, memory_order_relaxed) == sys) {
        s->depth++;
        return 1;
    }
    atomic_fetch_add_explicit(&sys->callers, 1, memory_order_seq_cst); /* nested elsewhere */
    return 0;
}
static inline void tr_api_leave(tr_system *sys, int slot) {
    if (!slot) {
        atomic_fetch_sub_explicit(&sys->callers, 1, memory_order_release);
        return;
    }
    tr_caller_slot *s = tr_tls_caller;
    if (--s->depth == 0)
        atomic_store_explicit(&s->sys, NULL, memory_order_release);
}
#define TR_API_CALL(sys, type, call)                                                               \
    do {                                                                                           \
        tr_system *api_sys_ = (sys); /* once: call may free what sys was read from */              \
        if (tr_worker_of(api_sys_))                                                                \
            return call;                                                                           \
        int api_slot_ = tr_api_enter(api_sys_);                                                    \
        type api_result_ = call;                                                                   \
        tr_api_leave(api_sys_, api_slot_);                                                         \
        return api_result_;                                                                        \
    } while (0)

/* The block of the live actor pid names on this node, or NULL. The block may
 * be reused as soon as the actor exits: whoever reads more of it checks
 * a->pid again. Any thread. */
static inline tr_actor *tr_live_actor(tr_system *sys, tr_pid pid) {
    tr_actor *a = pid > 0 && tr_pid_node(pid) == atomic_load(&sys->node)
                      ? tr_table_lookup(&sys->table, pid)
                      : NULL;
    return a && atomic_load_explicit(&a->pid, memory_order_acquire) == pid ? a : NULL;
}

/* Whether the system still takes sends, spawns and asks. */
static inline int tr_sys_running(tr_system *sys) {
    return atomic_load_explicit(&sys->state, memory_order_relaxed) == TR_SYS_RUNNING;
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
