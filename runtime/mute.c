/* mute.c — see mute.h for the protocol. */
#include "mute.h"

#include "command.h"
#include "links.h"
#include "mailbox.h"
#include "scheduler.h"
#include "system.h"
#include "tcp.h"

/* w's bit in a receiver's has_muters: workers 0-7 have one each, and from
 * the ninth on they share them (index modulo 8), so an unmute reaches every
 * worker that may hold senders, and a few more with many workers. */
static uint8_t muter_bit(const tr_worker *w) {
    return (uint8_t)(1u << (w->index & 7));
}

/* Whether receiver r (pid rpid) no longer holds a sender back. */
static int lets_go(tr_actor *r, tr_pid rpid) {
    return atomic_load(&r->pid) != rpid || atomic_load(&r->depth) < tr_mailbox_low_watermark(r);
}

/* Step 2's first half, for the sender a (NULL: the socket io) of the
 * callback or read that found the receiver noted in w full: w keeps it in
 * its mutemap and sets its bit in the receiver's has_muters. Returns the
 * receiver, or NULL when out of memory (the sender just keeps running). */
static tr_actor *mute_begin(tr_worker *w, tr_actor *a, tr_pid io) {
    tr_actor *r = w->mute_to;
    w->mute_to = NULL;
    tr_mute_entry entry = {w->mute_pid, a, io};
    if (tr_vec_push(&w->mutes, &entry, sizeof entry) != 0)
        return NULL;
    atomic_fetch_or(&r->has_muters, muter_bit(w)); /* seq_cst, then look again */
    return r;
}

int tr_mute_io(tr_worker *w, tr_pid io) {
    tr_pid rpid = w->mute_pid;
    tr_actor *r = mute_begin(w, NULL, io);
    if (!r)
        return 0;
    if (lets_go(r, rpid)) {
        w->mutes.n--; /* the entry just pushed */
        return 0;
    }
    return 1;
}

int tr_mute(tr_worker *w, tr_actor *a) {
    tr_system *sys = w->sys;
    tr_pid rpid = w->mute_pid;
    tr_actor *r = mute_begin(w, a, TR_PID_NONE);
    if (!r)
        return 0;
    atomic_store(&a->muted, 1); /* step 5: seq_cst, then look at signals */
    /* signals sent since its turn began, or stashed and not yet handled */
    if (lets_go(r, rpid) || atomic_load(&a->has_muters) || atomic_load(&a->signaled) ||
        (a->ext && a->ext->sig_first)) {
        atomic_store_explicit(&a->muted, 0, memory_order_relaxed);
        w->mutes.n--; /* the entry just pushed */
        return 0;
    }
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 1);
    if (c)
        atomic_fetch_add_explicit(&c->muted, 1, memory_order_relaxed);
    TR_BUMP(sys, w, muted);
    atomic_fetch_add_explicit(&sys->muted_now, 1, memory_order_relaxed);
    return 1;
}

void tr_unmute_senders_of(tr_system *sys, tr_worker *w, tr_actor *r, tr_pid rpid) {
    uint8_t muters = atomic_exchange(&r->has_muters, 0);
    if (!muters || atomic_load(&sys->state) == TR_SYS_DONE)
        return; /* none, or the workers are gone (the final reap) */
    /* Placement: senders of a receiver that is cheap per message go to its
       worker, where the messages are hot; those of a costly one stay where
       they are, so the two sides run in parallel; and those of one that has
       exited, which they are no longer near, stay too. */
    int home =
        w && atomic_load(&r->pid) == rpid && tr_mailbox_ns_per_msg(sys, r) < TR_PIN_NS_PER_MSG
            ? (int)w->index
            : -1;
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        tr_worker *v = &sys->workers[i];
        if (!(muters & muter_bit(v))) /* holds none of r's senders */
            continue;
        if (v == w)
            tr_unmute_on(w, rpid, home);
        else
            tr_command_unmute(sys, v, rpid, home);
    }
}

/* Forgets entry i and returns its sender, no longer muted (NULL for a
 * socket, which reads again). */
static tr_actor *unmute_at(tr_worker *w, uint32_t i) {
    tr_mute_entry e = TR_VEC_AT(&w->mutes, tr_mute_entry, i);
    tr_actor *a = e.sender;
    tr_vec_take(&w->mutes, i, sizeof(tr_mute_entry));
    if (!a) {
        tr_tcp_resume(w, e.io);
        return NULL;
    }
    atomic_store_explicit(&a->muted, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->sys->muted_now, 1, memory_order_relaxed);
    return a;
}

static void run_pinned(tr_worker *w, void *data, size_t size) {
    tr_actor **actors = data;
    for (size_t i = 0; i < size / sizeof *actors; i++)
        tr_sched_pin(w, actors[i]);
}

#define TR_PIN_BATCH 64 /* senders moved to their receiver's worker per command */

/* Sends the n actors of batch (their consumer sides owned here) to home. */
static void send_home(tr_worker *w, tr_worker *home, tr_actor **batch, uint32_t n) {
    if (tr_command_send(w->sys, home, run_pinned, NULL, batch, n * sizeof *batch) == 0)
        return;
    for (uint32_t i = 0; i < n; i++) /* no memory for the command: they run here */
        tr_sched_ready(w->sys, w, batch[i], 0);
}

/* The receiver behind rpid, or NULL if it names no block of this node. */
static tr_actor *receiver(tr_worker *w, tr_pid rpid) {
    return tr_pid_node(rpid) == w->sys->node ? tr_table_lookup(&w->sys->table, rpid) : NULL;
}

void tr_unmute_on(tr_worker *w, tr_pid rpid, int home) {
    /* Step 4: the command may be stale. */
    tr_actor *r = receiver(w, rpid);
    if (r && !lets_go(r, rpid)) {
        atomic_fetch_or(&r->has_muters, muter_bit(w));
        if (!lets_go(r, rpid))
            return;
    }
    tr_worker *to = home >= 0 ? &w->sys->workers[home] : NULL;
    tr_actor *batch[TR_PIN_BATCH];
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->mutes.n;) {
        if (TR_VEC_AT(&w->mutes, tr_mute_entry, i).receiver != rpid) {
            i++;
            continue;
        }
        tr_actor *a = unmute_at(w, i);
        if (!a)
            continue;
        if (!to) {
            tr_sched_ready(w->sys, w, a, 0);
        } else if (to == w) {
            tr_sched_pin(w, a);
        } else {
            batch[n++] = a;
            if (n == TR_PIN_BATCH) {
                send_home(w, to, batch, n);
                n = 0;
            }
        }
    }
    if (n)
        send_home(w, to, batch, n);
}

void tr_unmute_ready(tr_worker *w) {
    for (uint32_t i = 0; i < w->mutes.n;) {
        tr_mute_entry *e = &TR_VEC_AT(&w->mutes, tr_mute_entry, i);
        tr_pid rpid = e->receiver;
        tr_actor *r = receiver(w, rpid);
        if (!r || lets_go(r, rpid) || (e->sender && atomic_load(&e->sender->signaled))) {
            tr_actor *a = unmute_at(w, i);
            if (a)
                tr_sched_ready(w->sys, w, a, 0);
        } else {
            i++;
        }
    }
}
