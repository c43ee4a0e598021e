/* signals.c — see signals.h for the protocol. */
#include "signals.h"

#include "command.h"
#include "links.h"
#include "node.h"

#include <string.h>

static int64_t signal_reason(const tr_msg *m) {
    int64_t r = 0;
    memcpy(&r, m->data, sizeof r);
    return r;
}

void tr_signal_answer_dead(tr_system *sys, tr_worker *w, tr_pid from, tr_pid to, int kind,
                           uint32_t ref, int reason) {
    if (from <= 0)
        return;
    if (kind == TR_KIND_LINK)
        tr_signal_send(sys, w, to, from, TR_KIND_EXIT, reason, 0);
    else if (kind == TR_KIND_MONITOR)
        tr_signal_send(sys, w, to, from, TR_KIND_DOWN, reason, ref);
}

/* Marks a (if live), which a signal is for, before the push, so the turn
 * that pops the signal may sort it first. */
static void mark_signaled(tr_system *sys, tr_actor *a) {
    if (a) {
        atomic_store(&a->signaled, 1);
        if (atomic_load(&a->muted)) /* it must not wait for its receiver (mute.h, 5) */
            tr_command_rescan(sys);
    }
}

int tr_signal_deliver(tr_system *sys, tr_worker *w, tr_msg *m) {
    tr_pid to = m->to, from = m->sender;
    int kind = m->kind;
    uint32_t ref = m->ref;
    mark_signaled(sys, tr_live_actor(sys, to));
    int rc = tr_msg_deliver(sys, w, to, m);
    if (rc == TR_ENOACTOR)
        tr_signal_answer_dead(sys, w, from, to, kind, ref, TR_ENOACTOR);
    return rc;
}

int tr_signal_send(tr_system *sys, tr_worker *w, tr_pid from, tr_pid to, int kind, int reason,
                   uint32_t ref) {
    int remote = to > 0 && tr_node_is_remote(sys, tr_pid_node(to));
    int to_socket = tr_pid_node(to) == TR_IO_NODE; /* a socket watching its owner (tcp.h) */
    if (!remote && !to_socket && !tr_live_actor(sys, to)) { /* dead, or a plain thread's */
        tr_signal_answer_dead(sys, w, from, to, kind, ref, TR_ENOACTOR);
        return TR_ENOACTOR;
    }
    tr_msg *m = tr_msg_alloc(sys, w, 0, sizeof(int64_t));
    if (!m)
        return TR_ENOMEM;
    int64_t why = reason;
    memcpy(m->data, &why, sizeof why);
    m->kind = (uint8_t)kind;
    m->sender = from;
    m->ref = ref;
    m->to = to;
    if (remote) { /* a dead or unknown node answers a LINK or MONITOR itself */
        atomic_store_explicit(&m->state, TR_MSG_SENT, memory_order_relaxed);
        return tr_node_route(sys, w, tr_pid_node(to), m);
    }
    return tr_signal_deliver(sys, w, m);
}

/* m becomes an ordinary message of type for receive. */
static enum tr_signal_result notice(tr_msg *m, uint32_t type) {
    m->type = type;
    m->kind = TR_KIND_USER;
    m->flags |= TR_MSGF_NOTICE;
    return TR_SIGNAL_NOTICE;
}

enum tr_signal_result tr_signal_apply(tr_callback *cb, tr_msg *m, int *reason) {
    tr_actor *a = cb->actor;
    tr_pid from = m->sender, self = m->to;
    int why = (int)signal_reason(m);
    enum tr_signal_result result = TR_SIGNAL_DONE;
    switch (m->kind) {
    case TR_KIND_LINK:
        /* A link that cannot be recorded is refused as a dead actor would be. */
        if (tr_links_add(a, from) != 0)
            tr_signal_answer_dead(cb->sys, cb->worker, from, self, TR_KIND_LINK, 0, TR_ENOMEM);
        break;
    case TR_KIND_UNLINK: tr_links_remove(a, from); break;
    case TR_KIND_MONITOR:
        if (tr_watchers_add(a, from, m->ref) != 0)
            tr_signal_answer_dead(cb->sys, cb->worker, from, self, TR_KIND_MONITOR, m->ref,
                                  TR_ENOMEM);
        break;
    case TR_KIND_DEMONITOR: tr_watchers_remove(a, from, m->ref); break;
    case TR_KIND_EXIT:
        if (!tr_links_remove(a, from))
            break; /* unlinked since: void */
        /* fall through */
    case TR_KIND_EXIT_SENT:
        if (a->flags & TR_ACTORF_TRAP)
            return notice(m, TR_MSG_EXIT);
        if (why != 0) {
            *reason = why;
            result = TR_SIGNAL_EXIT;
        }
        break;
    case TR_KIND_KILL:
        *reason = TR_EKILLED;
        result = TR_SIGNAL_EXIT;
        break;
    case TR_KIND_DOWN:
        if (tr_monitors_remove(a, m->ref, NULL))
            return notice(m, TR_MSG_DOWN);
        break;
    case TR_KIND_NODE_DOWN: tr_links_node_down(cb->sys, cb->worker, a, self, (unsigned)why); break;
    }
    tr_msg_release(cb->sys, cb->worker, m);
    return result;
}

/* ---- the stash ---- */

static void chain_append(tr_msg **first, tr_msg **last, tr_msg *m) {
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    if (*last)
        atomic_store_explicit(&(*last)->node.next, &m->node, memory_order_relaxed);
    else
        *first = m;
    *last = m;
}

int tr_stash_fill(tr_system *sys, tr_worker *w, tr_actor *a) {
    /* An exited actor's block, or a free one that a late push scheduled (a
       mark can outlive its actor), only drains: its record pointer is gone
       or is a free-list link. */
    if ((a->flags & TR_ACTORF_ZOMBIE) ||
        atomic_load_explicit(&a->pid, memory_order_relaxed) == TR_PID_NONE) {
        atomic_store_explicit(&a->signaled, 0, memory_order_relaxed);
        return 0;
    }
    tr_actor_ext *x = tr_ext_get(a);
    if (!x) /* out of memory: signals are applied in mailbox order meanwhile */
        return 0;
    atomic_exchange_explicit(&a->signaled, 0, memory_order_acquire);
    tr_node *node;
    while ((node = tr_mpsc_pop(&a->mailbox))) {
        tr_msg *m = (tr_msg *)node;
        if (m->flags & TR_MSGF_COUNTED) { /* out of the bounded mailbox now */
            m->flags &= (uint8_t)~TR_MSGF_COUNTED;
            if (tr_mailbox_took(sys, w, a)) { /* the oldest of an overfull one */
                tr_msg_shed(sys, w, m);
                continue;
            }
        }
        if (m->kind >= TR_KIND_FIRST_SIGNAL)
            chain_append(&x->sig_first, &x->sig_last, m);
        else
            chain_append(&x->mail_first, &x->mail_last, m);
    }
    int stashed = x->sig_first || x->mail_first;
    if (stashed) /* the next turn reads the stash first too (not `signaled`:
                    that would keep the actor from ever being muted) */
        a->flags |= TR_ACTORF_STASHED;
    return stashed;
}

tr_msg *tr_stash_pop(tr_actor *a) {
    tr_actor_ext *x = a->ext; /* NULL once the actor has exited */
    if (!x)
        return NULL;
    int sig = x->sig_first != NULL;
    tr_msg **first = sig ? &x->sig_first : &x->mail_first;
    tr_msg **last = sig ? &x->sig_last : &x->mail_last;
    tr_msg *m = *first;
    if (m) {
        *first = (tr_msg *)atomic_load_explicit(&m->node.next, memory_order_relaxed);
        if (!*first)
            *last = NULL;
    }
    return m;
}

/* ---- the API ---- */

/* The pid a signal from the calling thread comes from. */
static tr_pid signal_sender(tr_system *sys) {
    tr_callback *cb = tr_tls_cb;
    return cb && cb->sys == sys ? atomic_load_explicit(&cb->actor->pid, memory_order_relaxed)
                                : TR_PID_NONE;
}

static int exit_signal(tr_system *sys, tr_pid pid, int kind, int reason) {
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    return tr_signal_send(sys, tr_worker_of(sys), signal_sender(sys), pid, kind, reason, 0);
}

int tr_send_exit(tr_system *sys, tr_pid pid, int reason) {
    if (!sys || pid <= 0 || reason > 0)
        return TR_EINVAL;
    TR_API_CALL(sys, int, exit_signal(sys, pid, TR_KIND_EXIT_SENT, reason));
}

int tr_kill(tr_system *sys, tr_pid pid) {
    if (!sys || pid <= 0)
        return TR_EINVAL;
    TR_API_CALL(sys, int, exit_signal(sys, pid, TR_KIND_KILL, TR_EKILLED));
}
