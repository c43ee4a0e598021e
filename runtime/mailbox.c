/* mailbox.c — see mailbox.h. */
#include "mailbox.h"

#include "mute.h"
#include "system.h"

#include <stdlib.h>
#include <string.h>

_Thread_local int tr_tls_send_timeout = -1;

/* ---- counters ---- */

void tr_mbox_table_destroy(tr_mbox_table *t) {
    for (uint32_t i = 0; i < TR_MAX_CHUNKS; i++)
        free(atomic_load_explicit(&t->chunks[i], memory_order_relaxed));
}

tr_mbox_counters *tr_mbox_counters_of(tr_mbox_table *t, uint32_t slot, int make) {
    _Atomic(tr_mbox_counters *) *chunk = &t->chunks[slot >> TR_CHUNK_BITS];
    tr_mbox_counters *c = atomic_load_explicit(chunk, memory_order_acquire);
    if (!c && make) {
        tr_mbox_counters *fresh = calloc(TR_CHUNK_SIZE, sizeof *fresh);
        if (!fresh)
            return NULL;
        if (atomic_compare_exchange_strong(chunk, &c, fresh))
            c = fresh;
        else
            free(fresh); /* another thread made it first: c holds its chunk */
    }
    return c ? &c[slot & (TR_CHUNK_SIZE - 1)] : NULL;
}

static void counter_add(_Atomic uint64_t *c, uint64_t n) {
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

int tr_mailbox_reset(tr_system *sys, tr_actor *a) {
    tr_mbox_counters *c =
        tr_mbox_counters_of(&sys->mboxes, a->slot, a->spec->mailbox_capacity != 0);
    if (!c)
        return a->spec->mailbox_capacity ? TR_ENOMEM : 0;
    atomic_store_explicit(&c->taken, 0, memory_order_relaxed);
    atomic_store_explicit(&c->refused, 0, memory_order_relaxed);
    atomic_store_explicit(&c->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&c->overruns, 0, memory_order_relaxed);
    atomic_store_explicit(&c->muted, 0, memory_order_relaxed);
    atomic_store_explicit(&c->high_water, 0, memory_order_relaxed);
    atomic_store_explicit(&c->ns_per_msg, 0, memory_order_relaxed); /* not measured yet */
    return 0;
}

/* Raises the high-water mark to depth if it is higher (senders and owner). */
static void note_high_water(tr_mbox_counters *c, uint32_t depth) {
    uint32_t hw = atomic_load_explicit(&c->high_water, memory_order_relaxed);
    while (depth > hw && !atomic_compare_exchange_weak(&c->high_water, &hw, depth))
        ;
}

/* ---- the sender's side ---- */

/* A plain thread waits for room in a BLOCK mailbox: admitted only below
 * capacity, so plain threads alone never go past the bound. */
static enum tr_admit wait_for_room(tr_system *sys, tr_actor *a, uint32_t cap) {
    uint64_t deadline = tr_tls_send_timeout < 0
                            ? UINT64_MAX
                            : uv_hrtime() + (uint64_t)tr_tls_send_timeout * 1000000u;
    for (unsigned tries = 0;; tries++) {
        uint32_t d = atomic_load_explicit(&a->depth, memory_order_relaxed);
        if (d < cap) {
            if (atomic_compare_exchange_weak(&a->depth, &d, d + 1))
                return TR_ADMIT_OK;
            continue;
        }
        if (!tr_sys_running(sys))
            return TR_ADMIT_STOPPED;
        if (uv_hrtime() >= deadline)
            return TR_ADMIT_TIMEDOUT;
        if (tries < 64)
            sched_yield();
        else
            uv_sleep(1);
    }
}

/* A BLOCK send from w found a's mailbox full: mute the running actor if it may be
 * muted (mute.h, step 1), else count an overrun. */
static void block_sender(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid to) {
    if (w && w->io_sending) { /* a socket's read: it stops reading (mute.h, step 6) */
        w->mute_to = a;
        w->mute_pid = to;
        return;
    }
    tr_callback *cb = tr_tls_cb;
    if (w && cb && cb->worker == w && atomic_load_explicit(&w->in_callback, memory_order_relaxed) &&
        !atomic_load_explicit(&cb->actor->has_muters, memory_order_relaxed)) {
        if (!w->mute_to) {
            w->mute_to = a;
            w->mute_pid = to;
            atomic_store_explicit(&w->preempt, 1, memory_order_relaxed); /* end the turn */
        }
        return;
    }
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 1);
    if (c)
        counter_add(&c->overruns, 1);
    TR_BUMP(sys, w, overruns);
}

void tr_mailbox_admit_chain(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid to, uint32_t n) {
    uint32_t old = atomic_fetch_add_explicit(&a->depth, n, memory_order_seq_cst);
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 0);
    if (c)
        note_high_water(c, old + n);
    if (old + n > atomic_load_explicit(&a->capacity, memory_order_relaxed))
        block_sender(sys, w, a, to); /* its last message found the mailbox full */
}

enum tr_admit tr_mailbox_admit(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid to, uint32_t cap,
                               tr_msg *m) {
    tr_overflow policy = a->spec->overflow;
    if (policy == TR_OVERFLOW_BLOCK && !w &&
        atomic_load_explicit(&a->depth, memory_order_relaxed) >= cap) {
        enum tr_admit r = wait_for_room(sys, a, cap);
        if (r == TR_ADMIT_OK)
            m->flags |= TR_MSGF_COUNTED;
        return r;
    }
    uint32_t old = atomic_fetch_add_explicit(&a->depth, 1, memory_order_seq_cst);
    /* DROP_OLDEST: the owner drops the excess as it takes messages out, but
       a producer faster than those takes would grow the queue without end:
       past twice the capacity the new message goes instead. */
    if (old < cap || (policy == TR_OVERFLOW_DROP_OLDEST && old < 2 * cap)) {
        m->flags |= TR_MSGF_COUNTED;
        return TR_ADMIT_OK;
    }
    if (policy == TR_OVERFLOW_BLOCK) {
        m->flags |= TR_MSGF_COUNTED;
        block_sender(sys, w, a, to);
        return TR_ADMIT_OK;
    }
    atomic_fetch_sub_explicit(&a->depth, 1, memory_order_relaxed);
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 1);
    if (policy != TR_OVERFLOW_FAIL) {
        if (c)
            counter_add(&c->dropped, 1);
        TR_BUMP(sys, w, dropped);
        return TR_ADMIT_DROPPED;
    }
    if (c)
        counter_add(&c->refused, 1);
    TR_BUMP(sys, w, rejected);
    return TR_ADMIT_REFUSED;
}

/* ---- the owner's side ---- */

uint32_t tr_mailbox_low_watermark(const tr_actor *a) {
    uint32_t cap = atomic_load_explicit(&a->capacity, memory_order_relaxed);
    uint32_t lw = a->spec->low_watermark ? a->spec->low_watermark : cap / 2;
    if (lw > cap)
        lw = cap;
    return lw ? lw : 1;
}

/* The owner took n counted messages out; old is the depth before, c the
 * counters (or NULL). */
static void took(tr_system *sys, tr_worker *w, tr_actor *a, tr_mbox_counters *c, uint32_t n,
                 uint32_t old) {
    if (c) { /* taken: only the owner writes it */
        atomic_store_explicit(&c->taken, atomic_load_explicit(&c->taken, memory_order_relaxed) + n,
                              memory_order_relaxed);
        note_high_water(c, old);
    }
    if (a->spec->overflow == TR_OVERFLOW_BLOCK && old - n < tr_mailbox_low_watermark(a) &&
        atomic_load(&a->has_muters)) /* step 3 of mute.h: seq_cst subtract, then this look */
        tr_unmute_senders_of(sys, w, a, atomic_load_explicit(&a->pid, memory_order_relaxed));
}

void tr_mailbox_took_n(tr_system *sys, tr_worker *w, tr_actor *a, uint32_t n, uint64_t turn_ns) {
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 0);
    if (c && turn_ns) { /* only the owner writes it; 0: the turn was not timed */
        uint64_t per = turn_ns / n,
                 avg = atomic_load_explicit(&c->ns_per_msg, memory_order_relaxed);
        avg = avg ? (3 * avg + per) / 4 : per;
        atomic_store_explicit(&c->ns_per_msg, (uint32_t)(avg > UINT32_MAX ? UINT32_MAX : avg),
                              memory_order_relaxed);
    }
    took(sys, w, a, c, n, atomic_fetch_sub_explicit(&a->depth, n, memory_order_seq_cst));
}

uint32_t tr_mailbox_ns_per_msg(tr_system *sys, const tr_actor *a) {
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 0);
    uint32_t ns = c ? atomic_load_explicit(&c->ns_per_msg, memory_order_relaxed) : 0;
    return ns ? ns : UINT32_MAX; /* 0: not measured */
}

int tr_mailbox_took(tr_system *sys, tr_worker *w, tr_actor *a) {
    uint32_t old = atomic_fetch_sub_explicit(&a->depth, 1, memory_order_seq_cst);
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 0);
    took(sys, w, a, c, 1, old);
    if (a->spec->overflow != TR_OVERFLOW_DROP_OLDEST ||
        old <= atomic_load_explicit(&a->capacity, memory_order_relaxed))
        return 0;
    if (c)
        counter_add(&c->dropped, 1);
    TR_BUMP(sys, w, dropped);
    return 1;
}

/* ---- the API ---- */

static int actor_stats(tr_system *sys, tr_pid pid, tr_mailbox_stats *out) {
    tr_actor *a = tr_live_actor(sys, pid);
    if (!a)
        return TR_ENOACTOR;
    memset(out, 0, sizeof *out);
    out->capacity = atomic_load_explicit(&a->capacity, memory_order_relaxed);
    out->depth = atomic_load_explicit(&a->depth, memory_order_relaxed);
    tr_mbox_counters *c = tr_mbox_counters_of(&sys->mboxes, a->slot, 0);
    if (c) {
        uint64_t taken = atomic_load_explicit(&c->taken, memory_order_relaxed);
        out->high_water = atomic_load_explicit(&c->high_water, memory_order_relaxed);
        out->accepted = out->capacity ? taken + out->depth : 0;
        out->refused = atomic_load_explicit(&c->refused, memory_order_relaxed);
        out->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
        out->overruns = atomic_load_explicit(&c->overruns, memory_order_relaxed);
        out->muted = atomic_load_explicit(&c->muted, memory_order_relaxed);
    }
    if (out->depth > out->high_water)
        out->high_water = out->depth;
    /* The block may have been reused while we read: then the pid is gone. */
    return atomic_load(&a->pid) == pid ? 0 : TR_ENOACTOR;
}

int tr_actor_stats(tr_system *sys, tr_pid pid, tr_mailbox_stats *out) {
    if (!sys || !out || pid <= 0)
        return TR_EINVAL;
    TR_API_CALL(sys, int, actor_stats(sys, pid, out));
}

int tr_send_timed(tr_system *sys, tr_pid to, uint32_t type, const void *data, size_t size,
                  int timeout_ms) {
    int outer = tr_tls_send_timeout;
    tr_tls_send_timeout = timeout_ms;
    int rc = tr_send(sys, to, type, data, size);
    tr_tls_send_timeout = outer;
    return rc;
}
