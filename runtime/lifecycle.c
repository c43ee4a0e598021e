/* lifecycle.c — see lifecycle.h.
 *
 * Who may touch a block: whoever holds its mailbox's consumer side (the
 * worker running it, or the spawner that claimed it) owns every non-atomic
 * field. Senders only read `pid` and `capacity` and push. A message is
 * delivered only if its `to` equals the block's current pid, so mail sent to
 * an earlier actor in the same block, or to one that has exited, is a dead
 * letter however late it lands. An exited actor's block stays a zombie until a
 * turn finds its mailbox empty and marks it idle; only then is it reused. */
#include "node.h"
#include "lifecycle.h"

#include "ask.h"
#include "links.h"
#include "scheduler.h"
#include "signals.h"
#include "timer.h"

#include <string.h>

_Thread_local tr_callback *tr_tls_cb __attribute__((tls_model("initial-exec")));

#define TR_STATE_MAX ((size_t)1 << 20)

/* ---- state memory ---- */

static void *state_alloc(tr_system *sys, tr_worker *w, tr_actor *a, size_t size) {
    if (size <= TR_INLINE_STATE) {
        memset(a->inline_state, 0, sizeof a->inline_state);
        return a->inline_state;
    }
    void *s = tr_pool_alloc(&sys->pool, w ? &w->pool : NULL, tr_pool_class(size), size);
    if (s)
        memset(s, 0, size);
    return s;
}

static void state_free(tr_system *sys, tr_worker *w, tr_actor *a) {
    size_t size = a->spec->state_size;
    if (size > TR_INLINE_STATE)
        tr_pool_free(&sys->pool, w ? &w->pool : NULL, tr_pool_class(size), a->state);
    a->state = NULL;
}

/* ---- ending a life ---- */

/* Everything after terminate: links and monitors are told, the block stops
 * being addressable by pid. */
static void actor_retire(tr_system *sys, tr_worker *w, tr_actor *a, int reason) {
    tr_pid pid = atomic_load_explicit(&a->pid, memory_order_relaxed);
    state_free(sys, w, a);
    atomic_store(&a->pid, TR_PID_NONE);
    a->flags = TR_ACTORF_ZOMBIE;
    /* Names go before the signals: a supervisor that restarts the actor on
       its exit signal may register the same name for the new one. */
    if (atomic_load(&a->named))
        tr_names_drop_pid(&sys->names, pid);
    if (a->ext)
        tr_ext_release(sys, w, a, pid, reason);
    if (atomic_load(&a->has_muters)) /* its muted senders must not wait for it */
        tr_unmute_senders_of(sys, w, a, pid);
    TR_BUMP(sys, w, exited);
}

static void actor_exit(tr_callback *cb, int reason) {
    tr_actor *a = cb->actor;
    cb->current = NULL;
    if (a->spec->terminate)
        a->spec->terminate(cb->token, a->state, reason);
    actor_retire(cb->sys, cb->worker, a, reason);
}

/* Gives up the consumer side after a turn or an init. Returns whether the
 * mailbox is idle; a zombie's block is then free for reuse. */
static int finish_turn(tr_system *sys, tr_worker *w, tr_actor *a) {
    int zombie = a->flags & TR_ACTORF_ZOMBIE;
    a->flags &= (uint8_t)~TR_ACTORF_ZOMBIE; /* before the block can be seen idle */
    if (tr_mpsc_mark_idle(&a->mailbox)) {
        if (zombie)
            tr_table_give(&sys->table, w ? &w->blocks : NULL, a);
        return 1;
    }
    a->flags |= (uint8_t)zombie;
    return 0;
}

/* ---- a turn ---- */

static void clear_zone(tr_worker *w) {
    if (w->zone_used) {
        msgpack_zone_clear(w->zone);
        w->zone_used = 0;
    }
}

/* What the asker of a request that receive neither replied to nor forwarded
 * is told: no reply can come any more. */
static int no_reply_reason(int rc, const tr_actor *a) {
    if (rc == TR_EUNHANDLED)
        return TR_EUNHANDLED;
    return rc < 0 || (a->flags & TR_ACTORF_EXITING) ? TR_ENOACTOR : TR_ENOREPLY;
}

/* What receive may not see as it arrived: a stop, a signal, an ask notice, a
 * reply.
 * Returns whether receive gets m (possibly turned into a notice); otherwise
 * m has been dealt with. Off the path of ordinary mail. */
static TR_COLD int deliver_special(tr_callback *cb, tr_msg *m, unsigned received) {
    tr_system *sys = cb->sys;
    tr_worker *w = cb->worker;
    tr_actor *a = cb->actor;
    /* A stop ends the actor at its next message, whatever is queued before the
       stop message itself: pending mail becomes dead letters. */
    if (m->kind == TR_KIND_STOP || !tr_sys_running(sys)) {
        actor_exit(cb, TR_ESTOPPED);
        tr_msg_undeliverable(sys, w, m);
        return 0;
    }
    if (m->kind >= TR_KIND_FIRST_SIGNAL) {
        int reason = 0;
        switch (tr_signal_apply(cb, m, &reason)) {
        case TR_SIGNAL_NOTICE: return 1;
        case TR_SIGNAL_EXIT: actor_exit(cb, reason); return 0;
        case TR_SIGNAL_DONE: return 0;
        }
    }
    switch (m->kind) {
    case TR_KIND_ASK_TIMEOUT:
    case TR_KIND_ASK_FAILED:
        if (!tr_asks_settle(a, m->ref)) { /* already settled: nothing to say */
            tr_msg_release(sys, w, m);
            return 0;
        }
        m->type = m->kind == TR_KIND_ASK_TIMEOUT ? TR_MSG_ASK_TIMEOUT : TR_MSG_ASK_FAILED;
        m->flags |= TR_MSGF_REPLY;
        return 1;
    case TR_KIND_RECV_TIMEOUT: return tr_recv_timeout_due(cb, m, received > 0);
    default:
        if ((m->flags & TR_MSGF_REPLY) && m->ref && !tr_asks_settle(a, m->ref)) {
            tr_msg_dead_letter(sys, w, m); /* a reply after its ask timed out */
            return 0;
        }
        return 1;
    }
}

/* After receive, when it failed or left a request unanswered: frees m (NULL if receive forwarded
 * it), ends the actor if it must, and tells the asker of an unanswered request that no reply will
 * come, once the actor has ended if it is ending (so terminate has run when
 * the ask returns). */
static TR_COLD void after_receive(tr_callback *cb, int rc, tr_msg *m, int unanswered) {
    tr_actor *a = cb->actor;
    tr_pid asker = TR_PID_NONE, self = TR_PID_NONE;
    uint32_t ref = 0;
    if (m) {
        if (unanswered) {
            asker = m->sender;
            self = m->to;
            ref = m->ref;
        }
        tr_msg_release(cb->sys, cb->worker, m);
    }
    int failed = ref ? no_reply_reason(rc, a) : 0;
    if (rc == TR_EUNHANDLED)
        TR_BUMP(cb->sys, cb->worker, unhandled);
    else if (rc < 0)
        actor_exit(cb, rc);
    if (a->flags & TR_ACTORF_EXITING)
        actor_exit(cb, a->exit_reason);
    if (ref)
        tr_ask_fail(cb->sys, cb->worker, asker, ref, self, failed);
}

/* Hands m to receive, unless the runtime deals with it; returns whether
 * receive ran. received: how many messages receive had earlier in the turn. */
static inline int deliver(tr_callback *cb, tr_msg *m, unsigned received) {
    tr_system *sys = cb->sys;
    tr_worker *w = cb->worker;
    tr_actor *a = cb->actor;
    if (m->to != atomic_load_explicit(&a->pid, memory_order_acquire)) {
        tr_msg_undeliverable(sys, w, m);
        return 0;
    }
    if ((m->kind != TR_KIND_USER || (m->flags & TR_MSGF_REPLY) || !tr_sys_running(sys)) &&
        !deliver_special(cb, m, received))
        return 0;
    cb->current = m;
    cb->consumed = 0;
    cb->replied = 0;
    int request = tr_msg_is_request(m);
    int rc = a->receive(cb->token, a->state, m);
    cb->current = NULL;
    clear_zone(w);
    if (cb->consumed) /* forwarded: the new receiver answers it */
        m = NULL;
    int unanswered = request && !cb->replied;
    if (rc < 0 || (m && unanswered)) {
        after_receive(cb, rc, m, unanswered);
        return 1;
    }
    if (m)
        tr_msg_release(sys, w, m);
    if (a->flags & TR_ACTORF_EXITING)
        actor_exit(cb, a->exit_reason);
    return 1;
}

/* The next message of a turn that reads the stash first (signals.h). */
static TR_COLD tr_node *next_stashed(tr_actor *a, int *stashed) {
    tr_msg *m = tr_stash_pop(a);
    if (m)
        return &m->node;
    *stashed = 0;
    a->flags &= (uint8_t)~TR_ACTORF_STASHED;
    return tr_mpsc_pop(&a->mailbox);
}

/* An actor with a receive timeout notes when it last had mail (timer.h);
 * before the turn gives the actor up. */
static inline void note_turn_end(tr_actor *a, unsigned received) {
    if (received && (a->flags & TR_ACTORF_RECV_TIMEOUT))
        a->ext->recv_last_ns = uv_hrtime();
}

enum tr_run_result tr_actor_run(tr_worker *w, tr_actor *a) {
    tr_system *sys = w->sys;
    tr_callback cb; /* deliver sets the rest */
    cb.token = tr_ctx_token(atomic_load_explicit(&a->pid, memory_order_relaxed));
    cb.sys = sys;
    cb.worker = w;
    cb.actor = a;
    cb.current = NULL;
    cb.yielding = 0;
    tr_tls_cb = &cb;
    atomic_store_explicit(&w->in_callback, 1, memory_order_relaxed);
    unsigned batch = sys->cfg.batch;
    atomic_store_explicit(&w->preempt, 0, memory_order_relaxed);
    enum tr_run_result result = TR_RUN_AGAIN;
    /* Signals go before ordinary mail: a turn that finds some were sent sorts
       the mailbox first (signals.h). */
    int stashed = atomic_load_explicit(&a->signaled, memory_order_relaxed)
                      ? tr_stash_fill(sys, w, a)
                      : (a->flags & TR_ACTORF_STASHED) != 0;
    int block = atomic_load_explicit(&a->capacity, memory_order_relaxed) &&
                a->spec->overflow == TR_OVERFLOW_BLOCK;
    /* A receiver others are muted on is what everyone waits for: let it take
       longer turns (the time budget still ends them). */
    int awaited = block && atomic_load_explicit(&a->has_muters, memory_order_relaxed);
    if (awaited)
        batch *= 16;
    uint32_t taken = 0;
    /* Its cost per message, which places its senders when they are unmuted
       (mute.h): measured only while there are some. */
    uint64_t began = awaited ? uv_hrtime() : 0;
    unsigned received = 0; /* messages receive had this turn (a receive timeout's mail) */
    unsigned took = 0;     /* messages out of the mailbox (stats, sharing.h) */
    for (;;) {
        tr_node *node = stashed ? next_stashed(a, &stashed) : tr_mpsc_pop(&a->mailbox);
        if (!node) {
            note_turn_end(a, received);
            result = finish_turn(w->sys, w, a) ? TR_RUN_IDLE : TR_RUN_AGAIN;
            break;
        }
        tr_msg *m = (tr_msg *)node;
        took++;
        /* The next message was most likely written on another core: start
           fetching it while this one is handled. */
        __builtin_prefetch(a->mailbox.tail);
        /* A bounded mailbox: the message is out of it now (and dropped if it
           is the oldest of an overfull DROP_OLDEST mailbox). */
        if (m->flags & TR_MSGF_COUNTED) {
            if (block) /* a BLOCK mailbox: accounted once, at the end of the turn */
                taken++;
            else if (tr_mailbox_took(sys, w, a)) {
                tr_msg_shed(sys, w, m);
                continue;
            }
        }
        received += (unsigned)deliver(&cb, m, received);
        if (w->out_first) /* what the callback sent leaves when it returns */
            tr_outbox_flush(w);
        /* The turn ends after its batch; after a callback that yielded; or
           when it must: the ticker has seen it run too long (ticker.h), or
           it is to be muted (mute.h). */
        if (took >= batch || cb.yielding ||
            atomic_load_explicit(&w->preempt, memory_order_relaxed)) {
            note_turn_end(a, received);
            break;
        }
    }
    atomic_store_explicit(&w->counters.received,
                          atomic_load_explicit(&w->counters.received, memory_order_relaxed) + took,
                          memory_order_relaxed);
    if (taken)
        tr_mailbox_took_n(sys, w, a, taken, began ? uv_hrtime() - began : 0);
    if (w->mute_to) { /* the callback found a full BLOCK mailbox */
        if (a->flags & TR_ACTORF_ZOMBIE)
            w->mute_to = NULL; /* it has exited: nothing to hold back */
        else
            result = TR_RUN_MUTED;
    }
    if (w->node_pending) /* before the actor can run elsewhere (node.h: order per pair) */
        tr_node_flush(w);
    atomic_store_explicit(&w->in_callback, 0, memory_order_relaxed);
    tr_tls_cb = NULL;
    return result;
}

/* ---- spawning ---- */

static void send_stop(tr_system *sys, tr_worker *w, tr_pid pid) {
    tr_msg *m = tr_msg_alloc(sys, w, 0, 0);
    if (!m)
        return; /* out of memory: the reaper at shutdown still terminates it */
    m->kind = TR_KIND_STOP;
    tr_msg_deliver(sys, w, pid, m);
}

/* Gives up a claimed block that will not hold a live actor: it drains
 * whatever was sent to it and is then reused. */
static void block_abandon(tr_system *sys, tr_worker *w, tr_actor *a) {
    a->flags = TR_ACTORF_ZOMBIE;
    if (!finish_turn(sys, w, a))
        tr_sched_ready(sys, w, a, 0);
}

/* A spawn that was admitted (counted) but could not complete. */
static tr_pid spawn_fail(tr_system *sys, tr_worker *w, int rc) {
    TR_BUMP(sys, w, exited);
    if (!w)
        tr_sched_check_done(sys);
    return rc;
}

/* How a spawn from an actor observes its child (tr_spawn_link /
 * tr_spawn_monitor): set up before the child can run, so no exit of it goes
 * unseen. */
typedef struct spawn_watch {
    tr_callback *parent;
    int kind;     /* TR_KIND_LINK or TR_KIND_MONITOR */
    uint32_t ref; /* the monitor's reference, once made */
} spawn_watch;

/* Makes room in the parent's and the child's records, so that installing the
 * watch after init cannot fail. Returns 0 or TR_ENOMEM. */
static int watch_reserve(const spawn_watch *watch, tr_actor *child) {
    tr_actor_ext *px = tr_ext_get(watch->parent->actor), *cx = tr_ext_get(child);
    if (!px || !cx)
        return TR_ENOMEM;
    int link = watch->kind == TR_KIND_LINK;
    if (tr_vec_reserve(link ? &px->links : &px->monitors, 1,
                       link ? sizeof(tr_pid) : sizeof(tr_watch)) != 0 ||
        tr_vec_reserve(link ? &cx->links : &cx->watchers, 1,
                       link ? sizeof(tr_pid) : sizeof(tr_watch)) != 0)
        return TR_ENOMEM;
    return 0;
}

static void watch_install(spawn_watch *watch, tr_actor *child, tr_pid pid) {
    tr_actor *parent = watch->parent->actor;
    tr_pid ppid = atomic_load_explicit(&parent->pid, memory_order_relaxed);
    if (watch->kind == TR_KIND_LINK) {
        tr_links_add(child, ppid);
        tr_links_add(parent, pid);
    } else {
        watch->ref = tr_next_ref(parent);
        tr_watchers_add(child, ppid, watch->ref);
        tr_monitors_add(parent, pid, watch->ref);
    }
}

/* A claimed block whose actor will not live (init failed, or no memory for
 * its watch): reason goes to whatever it linked to in init. */
static tr_pid never_lived(tr_system *sys, tr_worker *w, tr_actor *a, int reason) {
    actor_retire(sys, w, a, reason);
    block_abandon(sys, w, a);
    if (!w)
        tr_sched_check_done(sys);
    return reason;
}

static tr_pid spawn(tr_system *sys, const tr_actor_spec *spec, const void *arg,
                    spawn_watch *watch) {
    tr_worker *w = tr_worker_of(sys);
    int rc = tr_spawn_admit(sys, w);
    if (rc)
        return rc;
    tr_actor *a = tr_table_take(&sys->table, w ? &w->blocks : NULL);
    if (!a)
        return spawn_fail(sys, w, TR_ENOMEM);
    uint32_t blocks =
        atomic_load_explicit(&sys->table.nchunks, memory_order_relaxed) * TR_CHUNK_SIZE;
    if (tr_globalq_capacity(&sys->globalq) < blocks &&
        tr_globalq_reserve(&sys->globalq, blocks) != 0) {
        block_abandon(sys, w, a);
        return spawn_fail(sys, w, TR_ENOMEM);
    }
    a->spec = spec;
    a->receive = spec->receive;
    a->ext = NULL;
    a->flags = 0;
    a->exit_reason = 0;
    a->state = state_alloc(sys, w, a, spec->state_size);
    if (!a->state) {
        block_abandon(sys, w, a);
        return spawn_fail(sys, w, TR_ENOMEM);
    }
    a->gen = (a->gen + 1) & TR_GEN_MASK;
    if (a->gen == 0)
        a->gen = 1;
    tr_pid pid = tr_pid_make(sys->node, a->gen, a->slot);
    atomic_store_explicit(&a->capacity, spec->mailbox_capacity, memory_order_relaxed);
    atomic_store_explicit(&a->named, 0, memory_order_relaxed);
    atomic_store_explicit(&a->signaled, 0, memory_order_relaxed);
    atomic_store_explicit(&a->has_muters, 0, memory_order_relaxed);
    atomic_store_explicit(&a->muted, 0, memory_order_relaxed);
    if (tr_mailbox_reset(sys, a) != 0) { /* no memory for its counters */
        state_free(sys, w, a);
        block_abandon(sys, w, a);
        return spawn_fail(sys, w, TR_ENOMEM);
    }
    atomic_store(&a->pid, pid);
    if (watch && watch_reserve(watch, a) != 0)
        return never_lived(sys, w, a, TR_ENOMEM);
    if (spec->init) {
        tr_callback cb = {.token = tr_ctx_token(pid), .sys = sys, .worker = w, .actor = a};
        tr_callback *outer = tr_tls_cb;
        tr_tls_cb = &cb;
        rc = spec->init(cb.token, a->state, arg);
        tr_tls_cb = outer;
        if (rc >= 0 && (a->flags & TR_ACTORF_EXITING))
            rc = a->exit_reason < 0 ? a->exit_reason : TR_ESTOPPED;
        if (rc < 0)
            return never_lived(sys, w, a, rc);
    }
    if (watch)
        watch_install(watch, a, pid);
    if (!atomic_load_explicit(&sys->any_lived, memory_order_relaxed))
        atomic_store(&sys->any_lived, 1);
    /* A stop that began while we spawned may have missed this actor. */
    if (atomic_load(&sys->state) != TR_SYS_RUNNING)
        send_stop(sys, w, pid);
    if (!finish_turn(sys, w, a))
        tr_sched_ready(sys, w, a, 0);
    return pid;
}

static int spec_valid(const tr_actor_spec *spec) {
    return spec && spec->receive && spec->state_size <= TR_STATE_MAX &&
           (unsigned)spec->overflow <= TR_OVERFLOW_DROP_OLDEST;
}

tr_pid tr_spawn(tr_system *sys, const tr_actor_spec *spec, const void *arg) {
    if (!sys || !spec_valid(spec))
        return TR_EINVAL;
    TR_API_CALL(sys, tr_pid, spawn(sys, spec, arg, NULL));
}

tr_pid tr_spawn_link(tr_ctx *cx, const tr_actor_spec *spec, const void *arg) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (!spec_valid(spec))
        return TR_EINVAL;
    spawn_watch watch = {.parent = cb, .kind = TR_KIND_LINK};
    return spawn(cb->sys, spec, arg, &watch);
}

tr_pid tr_spawn_monitor(tr_ctx *cx, const tr_actor_spec *spec, const void *arg, uint32_t *ref) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (!spec_valid(spec) || !ref)
        return TR_EINVAL;
    spawn_watch watch = {.parent = cb, .kind = TR_KIND_MONITOR};
    tr_pid pid = spawn(cb->sys, spec, arg, &watch);
    if (pid > 0)
        *ref = watch.ref;
    return pid;
}

/* ---- stopping everything ---- */

static void stop_one(tr_actor *a, void *arg) {
    tr_system *sys = arg;
    tr_pid pid = atomic_load(&a->pid);
    if (pid != TR_PID_NONE)
        send_stop(sys, tr_worker_of(sys), pid);
}

void tr_actors_stop_all(tr_system *sys) {
    tr_table_each(&sys->table, stop_one, sys);
}

static void reap_one(tr_actor *a, void *arg) {
    tr_system *sys = arg;
    tr_pid pid = atomic_load(&a->pid);
    if (pid != TR_PID_NONE) {
        tr_callback cb = {.token = tr_ctx_token(pid), .sys = sys, .actor = a};
        tr_tls_cb = &cb;
        actor_exit(&cb, TR_ESTOPPED);
        tr_tls_cb = NULL;
    }
    tr_node *n;
    while ((n = tr_mpsc_pop(&a->mailbox)))
        tr_msg_undeliverable(sys, NULL, (tr_msg *)n);
}

void tr_actors_reap_all(tr_system *sys) {
    tr_table_each(&sys->table, reap_one, sys);
}

/* ---- the actor-only API ---- */

tr_pid tr_self(tr_ctx *cx) {
    tr_callback *cb = tr_ctx_check(cx);
    return cb ? atomic_load_explicit(&cb->actor->pid, memory_order_relaxed) : TR_ENOTACTOR;
}

tr_system *tr_ctx_system(tr_ctx *cx) {
    tr_callback *cb = tr_ctx_check(cx);
    return cb ? cb->sys : NULL;
}

int tr_become(tr_ctx *cx, tr_receive_fn receive) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (!receive)
        return TR_EINVAL;
    cb->actor->receive = receive;
    return 0;
}

int tr_yield(tr_ctx *cx) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    cb->yielding = 1;
    return 0;
}

int tr_exit(tr_ctx *cx, int reason) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (reason > 0)
        return TR_EINVAL;
    if (!(cb->actor->flags & TR_ACTORF_EXITING)) {
        cb->actor->flags |= TR_ACTORF_EXITING;
        cb->actor->exit_reason = reason;
    }
    return 0;
}

struct uv_loop_s *tr_ctx_loop(tr_ctx *cx) {
    tr_callback *cb = tr_ctx_check(cx);
    return cb && cb->worker ? &cb->worker->loop : NULL;
}
