/* msg.c — allocating, sending and freeing messages, and their accessors.
 * The send path is: one table lookup, one generation compare, one exchange on
 * the receiver's mailbox (plus one counter add for bounded mailboxes), and a
 * push onto the local run queue when the receiver was idle: no malloc, lock
 * or syscall when the sender is an actor. An actor's consecutive sends to one
 * unbounded receiver share the exchange: they wait in the worker's outbox
 * until the callback returns or the receiver changes. A receiver that dies
 * meanwhile gets them as dead letters, as if they had been pushed at once. */
#include "ask.h"
#include "node.h"
#include "scheduler.h"
#include "signals.h"
#include "tcp.h"
#include "system.h"

#include <string.h>

#define TR_MSG_HEADER offsetof(tr_msg, data)

static tr_pool_local *pool_of(tr_worker *w) {
    return w ? &w->pool : NULL;
}

/* The body of tr_msg_alloc and tr_msg_alloc_in, forced inline into the send
 * path. */
static inline __attribute__((always_inline)) tr_msg *
msg_alloc_in(tr_system *sys, tr_pool_local *local, uint32_t type, size_t size) {
    if (size > TR_MSG_MAX_PAYLOAD)
        return NULL;
    uint8_t cls = tr_pool_class(TR_MSG_HEADER + size);
    tr_msg *m = tr_pool_alloc(&sys->pool, local, cls, TR_MSG_HEADER + size);
    if (!m)
        return NULL;
    m->sender = TR_PID_NONE;
    m->sys = sys;
    m->type = type;
    m->size = (uint32_t)size;
    m->ref = 0;
    m->cls = cls;
    atomic_store_explicit(&m->state, TR_MSG_OWNED, memory_order_relaxed);
    m->kind = TR_KIND_USER;
    m->flags = 0;
    return m;
}

static inline __attribute__((always_inline)) tr_msg *msg_alloc(tr_system *sys, tr_worker *w,
                                                               uint32_t type, size_t size) {
    return msg_alloc_in(sys, pool_of(w), type, size);
}

tr_msg *tr_msg_alloc(tr_system *sys, tr_worker *w, uint32_t type, size_t size) {
    return msg_alloc(sys, w, type, size);
}

tr_msg *tr_msg_alloc_in(tr_system *sys, tr_pool_local *local, uint32_t type, size_t size) {
    return msg_alloc_in(sys, local, type, size);
}

void tr_msg_release(tr_system *sys, tr_worker *w, tr_msg *m) {
    atomic_store_explicit(&m->state, TR_MSG_FREE, memory_order_relaxed);
    tr_pool_free(&sys->pool, pool_of(w), m->cls, m);
}

size_t tr_msg_capacity(const tr_msg *m) {
    return m->cls == TR_POOL_HEAP ? m->size : tr_pool_class_size(m->cls) - TR_MSG_HEADER;
}

tr_msg *tr_msg_grow(tr_system *sys, tr_worker *w, tr_msg *m, size_t size) {
    if (size <= tr_msg_capacity(m))
        return m;
    size_t want = 2 * tr_msg_capacity(m) > size ? 2 * tr_msg_capacity(m) : size;
    tr_msg *bigger = tr_msg_alloc(sys, w, m->type, want);
    if (!bigger)
        return NULL;
    memcpy(bigger->data, m->data, m->size);
    bigger->size = m->size;
    tr_msg_release(sys, w, m);
    return bigger;
}

void tr_msg_dead_letter(tr_system *sys, tr_worker *w, tr_msg *m) {
    if (m->kind == TR_KIND_USER)
        TR_BUMP(sys, w, dead_letters);
    tr_msg_release(sys, w, m);
}

void tr_msg_shed(tr_system *sys, tr_worker *w, tr_msg *m) {
    if (tr_msg_is_request(m))
        tr_ask_fail(sys, w, m->sender, m->ref, m->to, TR_EFULL);
    tr_msg_release(sys, w, m);
}

void tr_msg_unreachable(tr_system *sys, tr_worker *w, tr_msg *m, int reason) {
    if (m->kind >=
        TR_KIND_FIRST_SIGNAL) { /* a LINK or MONITOR is answered, the rest need nothing */
        tr_signal_answer_dead(sys, w, m->sender, m->to, m->kind, m->ref, reason);
        tr_msg_release(sys, w, m);
        return;
    }
    if (tr_msg_is_request(m))
        tr_ask_fail(sys, w, m->sender, m->ref, m->to, reason);
    tr_msg_dead_letter(sys, w, m);
}

void tr_msg_undeliverable(tr_system *sys, tr_worker *w, tr_msg *m) {
    int stopped = m->kind < TR_KIND_FIRST_SIGNAL && !tr_sys_running(sys);
    tr_msg_unreachable(sys, w, m, stopped ? TR_ESTOPPED : TR_ENOACTOR);
}

__attribute__((always_inline)) inline void tr_outbox_flush(tr_worker *w) {
    tr_msg *first = w->out_first;
    if (!first)
        return;
    w->out_first = NULL;
    if (w->out_counted) { /* a BLOCK receiver: one add for the chain */
        tr_mailbox_admit_chain(w->sys, w, w->out_to, w->out_pid, w->out_counted);
        w->out_counted = 0;
    }
    if (tr_mpsc_push_chain(&w->out_to->mailbox, &first->node, &w->out_last->node))
        tr_sched_ready(w->sys, w, w->out_to, 1);
}

/* Appends m to the chain in w's outbox; counted: it is counted in a BLOCK
 * mailbox's depth when the chain leaves. */
static inline __attribute__((always_inline)) void outbox_append(tr_worker *w, tr_msg *m,
                                                                uint32_t counted) {
    m->flags |= counted ? TR_MSGF_COUNTED : 0;
    atomic_store_explicit(&w->out_last->node.next, &m->node, memory_order_relaxed);
    w->out_last = m;
    w->out_counted += counted;
}

/* tr_msg_deliver past the outbox's fast path: looks the receiver up. */
static __attribute__((noinline)) int deliver_lookup(tr_system *sys, tr_worker *w, tr_pid to,
                                                    tr_msg *m) {
    unsigned node = tr_pid_node(to);
    if (__builtin_expect(node >= TR_IO_NODE, 0) && to > 0) { /* not an actor's pid */
        if (node == TR_IO_NODE)
            return tr_io_deliver(sys, w, to, m);
        unsigned origin = tr_waiter_node(to); /* a plain thread's, maybe on another node */
        return tr_node_is_remote(sys, origin) ? tr_node_route(sys, w, origin, m)
                                              : tr_waiter_deliver(sys, w, to, m);
    }
    if (__builtin_expect(tr_node_is_remote(sys, node), 0) && to > 0)
        return tr_node_route(sys, w, node, m);
    tr_actor *a = node == sys->node && to > 0 ? tr_table_lookup(&sys->table, to) : NULL;
    if (!a || atomic_load_explicit(&a->pid, memory_order_acquire) != to) {
        tr_msg_dead_letter(sys, w, m);
        return TR_ENOACTOR;
    }
    /* Replies are not held to the asker's bound: it asked for them. */
    uint32_t cap =
        m->flags & TR_MSGF_REPLY ? 0 : atomic_load_explicit(&a->capacity, memory_order_relaxed);
    /* During a callback, sends to an unbounded receiver, or to a BLOCK one
       (which takes every actor's send), go out as one chain. */
    if (w && atomic_load_explicit(&w->in_callback, memory_order_relaxed) &&
        (!cap || (m->kind == TR_KIND_USER && a->spec->overflow == TR_OVERFLOW_BLOCK))) {
        if (w->out_first && w->out_pid == to) { /* a reply or signal to the same receiver */
            outbox_append(w, m, cap != 0);
            return 0;
        }
        if (cap)
            m->flags |= TR_MSGF_COUNTED;
        tr_outbox_flush(w);
        w->out_to = a;
        w->out_pid = to;
        w->out_first = w->out_last = m;
        w->out_counted = cap != 0;
        /* (a reply says nothing of the receiver's bound: later mail looks) */
        w->out_join = cap                        ? TR_OUT_JOIN_COUNTED
                      : m->flags & TR_MSGF_REPLY ? TR_OUT_JOIN_NO
                                                 : TR_OUT_JOIN_FREE;
        return 0;
    }
    if (w)
        tr_outbox_flush(w);               /* keep the order of this callback's sends */
    if (cap && m->kind == TR_KIND_USER) { /* system messages bypass the bound */
        enum tr_admit admit = tr_mailbox_admit(sys, w, a, to, cap, m);
        if (admit != TR_ADMIT_OK) {
            if (admit == TR_ADMIT_DROPPED) { /* the send itself succeeded */
                tr_msg_shed(sys, w, m);
                return 0;
            }
            tr_msg_release(sys, w, m);
            return admit == TR_ADMIT_REFUSED   ? TR_EFULL
                   : admit == TR_ADMIT_STOPPED ? TR_ESTOPPED
                                               : TR_ETIMEDOUT;
        }
    }
    if (tr_mpsc_push(&a->mailbox, &m->node))
        tr_sched_ready(sys, w, a, 1);
    return 0;
}

int tr_msg_deliver(tr_system *sys, tr_worker *w, tr_pid to, tr_msg *m) {
    m->to = to;
    atomic_store_explicit(&m->state, TR_MSG_SENT, memory_order_relaxed);
    /* The next ordinary message of a callback to the receiver its outbox holds
       joins the chain without looking the receiver up again: the chain was
       admitted on its first message, and one whose receiver has exited since
       is a dead letter when popped (m->to no longer names it). */
    if (w && w->out_first && to == w->out_pid && w->out_join && m->kind == TR_KIND_USER &&
        !(m->flags & TR_MSGF_REPLY)) {
        outbox_append(w, m, w->out_join == TR_OUT_JOIN_COUNTED);
        return 0;
    }
    return deliver_lookup(sys, w, to, m);
}

/* ---- ownership ---- */

static _Atomic int64_t thread_ids;
static _Thread_local int64_t tls_thread_id;

int64_t tr_thread_id(void) {
    if (!tls_thread_id)
        tls_thread_id = -1 - atomic_fetch_add_explicit(&thread_ids, 1, memory_order_relaxed);
    return tls_thread_id;
}

void tr_msg_give(tr_msg *m) {
    m->to = tr_caller_id();
    atomic_store_explicit(&m->state, TR_MSG_OWNED, memory_order_relaxed);
}

int tr_msg_check_owner(const tr_msg *m) {
    if (!m)
        return TR_EINVAL;
    if (tr_pool_is_poisoned(&m->state)) /* freed, under AddressSanitizer */
        return TR_EALREADY;
    return atomic_load_explicit(&m->state, memory_order_relaxed) == TR_MSG_OWNED &&
                   m->to == tr_caller_id()
               ? 0
               : TR_EALREADY;
}

int tr_msg_consume(tr_msg *m, int code) {
    if (tr_msg_check_owner(m) == 0)
        tr_msg_release(m->sys, tr_worker_of(m->sys), m);
    return code;
}

/* ---- public API ---- */

unsigned tr_pid_node(tr_pid pid) {
    return (unsigned)(((uint64_t)pid >> TR_NODE_SHIFT) & 0xFFF);
}

static int msg_create(tr_system *sys, uint32_t type, size_t size, tr_msg **out) {
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    if (size > TR_MSG_MAX_PAYLOAD)
        return TR_ETOOBIG;
    tr_msg *m = tr_msg_alloc(sys, tr_worker_of(sys), type, size);
    if (!m)
        return TR_ENOMEM;
    tr_msg_give(m);
    *out = m;
    return 0;
}

int tr_msg_create(tr_system *sys, uint32_t type, size_t size, tr_msg **out) {
    if (out)
        *out = NULL;
    if (!sys || !out || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    TR_API_CALL(sys, int, msg_create(sys, type, size, out));
}

tr_msg *tr_msg_new(tr_system *sys, uint32_t type, size_t size) {
    tr_msg *m;
    return tr_msg_create(sys, type, size, &m) == 0 ? m : NULL;
}

static int msg_free(tr_msg *m) {
    int rc = tr_msg_check_owner(m);
    if (rc == 0)
        tr_msg_release(m->sys, tr_worker_of(m->sys), m);
    return rc;
}

int tr_msg_free(tr_msg *m) {
    if (!m)
        return TR_EINVAL;
    if (tr_pool_is_poisoned(&m->state))
        return TR_EALREADY; /* do not read m->sys of a freed block */
    TR_API_CALL(m->sys, int, msg_free(m));
}

/* The pid a send from this thread carries: the running actor's, if it
 * belongs to sys. */
static tr_pid sender_of(tr_system *sys) {
    tr_callback *cb = tr_tls_cb;
    return cb && cb->sys == sys ? atomic_load_explicit(&cb->actor->pid, memory_order_relaxed)
                                : TR_PID_NONE;
}

/* Sends m, which the caller owns, with the given sender. */
static int send_owned(tr_system *sys, tr_pid to, tr_msg *m, tr_pid sender) {
    tr_worker *w = tr_worker_of(sys);
    if (!tr_sys_running(sys)) {
        tr_msg_release(sys, w, m);
        return TR_ESTOPPED;
    }
    m->sender = sender;
    return tr_msg_deliver(sys, w, to, m);
}

static int msg_send(tr_system *sys, tr_pid to, tr_msg *m) {
    int rc = tr_msg_check_owner(m);
    return rc ? rc : send_owned(sys, to, m, sender_of(sys));
}

int tr_msg_send(tr_system *sys, tr_pid to, tr_msg *m) {
    if (!sys || !m)
        return TR_EINVAL;
    TR_API_CALL(sys, int, msg_send(sys, to, m));
}

int tr_msg_forward(tr_ctx *cx, tr_pid to, tr_msg *m) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return tr_msg_consume(m, TR_ENOTACTOR);
    if (!m || m != cb->current || cb->consumed)
        return TR_EINVAL;
    if (!tr_sys_running(cb->sys))
        return TR_ESTOPPED; /* not consumed: freed when receive returns */
    cb->consumed = 1;
    return tr_msg_pass_on(cb->sys, cb->worker, to, m);
}

int tr_msg_pass_on(tr_system *sys, tr_worker *w, tr_pid to, tr_msg *m) {
    tr_pid asker = m->sender;
    uint32_t ref = tr_msg_is_request(m) ? m->ref : 0;
    int rc = tr_msg_deliver(sys, w, to, m);
    if (rc && ref) /* the request is lost (dead or full receiver): its asker need not wait */
        tr_ask_fail(sys, w, asker, ref, to, rc);
    return rc;
}

/* A copy of data sent as a new message from `from`, by w (NULL: a plain
 * thread). The message never belongs to the caller, so it needs no owner tag. */
static inline __attribute__((always_inline)) int send_fresh(tr_system *sys, tr_worker *w,
                                                            tr_pid from, tr_pid to, uint32_t type,
                                                            const void *data, size_t size) {
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    if (size > TR_MSG_MAX_PAYLOAD)
        return TR_ETOOBIG;
    tr_msg *m = msg_alloc(sys, w, type, size);
    if (!m)
        return TR_ENOMEM;
    if (size)
        memcpy(m->data, data, size);
    m->sender = from;
    return tr_msg_deliver(sys, w, to, m);
}

int tr_send_from(tr_system *sys, tr_pid from, tr_pid to, uint32_t type, const void *data,
                 size_t size) {
    return send_fresh(sys, tr_worker_of(sys), from, to, type, data, size);
}

/* tr_send from a thread that is not one of sys's workers: counted as a
 * caller inside the API. Kept apart so that an actor's send stays small. */
static __attribute__((noinline)) int send_plain(tr_system *sys, tr_pid to, uint32_t type,
                                                const void *data, size_t size) {
    TR_API_CALL(sys, int, send_fresh(sys, NULL, sender_of(sys), to, type, data, size));
}

int tr_send(tr_system *sys, tr_pid to, uint32_t type, const void *data, size_t size) {
    if (!sys || (size && !data) || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    tr_worker *w = tr_worker_of(sys);
    if (!w)
        return send_plain(sys, to, type, data, size);
    return send_fresh(sys, w, sender_of(sys), to, type, data, size);
}

int tr_send_i64(tr_system *sys, tr_pid to, uint32_t type, int64_t value) {
    return tr_send(sys, to, type, &value, sizeof value);
}

uint32_t tr_msg_type(const tr_msg *m) {
    return m ? m->type : 0;
}
tr_pid tr_msg_sender(const tr_msg *m) {
    return m ? m->sender : TR_PID_NONE;
}
void *tr_msg_data(tr_msg *m) {
    return m ? m->data : NULL;
}
size_t tr_msg_size(const tr_msg *m) {
    return m ? m->size : 0;
}
int tr_msg_is_reply(const tr_msg *m) {
    return m && (m->flags & TR_MSGF_REPLY) != 0;
}
uint32_t tr_msg_ref(const tr_msg *m) {
    return m ? m->ref : 0;
}

/* Whether m is a TR_MSG_EXIT or TR_MSG_DOWN made by the runtime. */
static int is_exit_notice(const tr_msg *m) {
    return m && (m->flags & TR_MSGF_NOTICE);
}
tr_pid tr_msg_exit_pid(const tr_msg *m) {
    return is_exit_notice(m) ? m->sender : TR_PID_NONE;
}
int tr_msg_exit_reason(const tr_msg *m) {
    return is_exit_notice(m) ? (int)tr_msg_i64(m) : 0;
}

int64_t tr_msg_i64(const tr_msg *m) {
    int64_t v = 0;
    if (m && m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    return v;
}
