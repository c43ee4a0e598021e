/* mailbox.h — the bounded mailbox: capacity, overflow policy, depth and
 * counters, on top of the lock-free queue of mpsc.h.
 *
 * depth counts the ordinary messages a sender has been let in with and the
 * owner has not taken out yet (so it includes pushes still under way).
 * Senders add to it (one atomic add), the owner subtracts when it takes a
 * counted message out; system messages and replies are never counted.
 *
 * How each policy admits a message, the sender's side (tr_mailbox_admit):
 *   FAIL         add; if the mailbox was full, subtract again and refuse.
 *   DROP_NEWEST  the same, but the message is dropped and the send succeeds.
 *   DROP_OLDEST  add and accept; the owner, taking a message out of a mailbox
 *                that holds more than capacity, drops it instead of
 *                delivering it: it is the oldest, so exactly the oldest
 *                excess goes, with no lock and no second consumer. Past
 *                twice the capacity the new message is dropped instead, so a
 *                producer outrunning the drops cannot grow the queue.
 *   BLOCK        add and accept; an actor sender is then muted (mute.h), a
 *                plain thread first waits for room (compare-and-swap admits
 *                it only below capacity), a sender that cannot be muted
 *                counts an overrun.
 * The owner's side (tr_mailbox_took) subtracts, keeps the high-water mark,
 * and when a BLOCK mailbox with muted senders falls below its low watermark
 * tells their workers to unmute them.
 *
 * BLOCK is accounted in chains, since it accepts every actor's send: an
 * actor's sends in one callback to a BLOCK receiver join the outbox (msg.c)
 * and are admitted with one add when the chain leaves (the mute, if the
 * chain's last message found the mailbox full, applies as for one send); the
 * owner subtracts once at the end of each turn for what the turn took. Per
 * message, the add and the subtract on the receiver's contended line cost
 * more than the message itself (the natural counting benchmark ran at 18 M
 * messages/s with them, 33 M without, on 2 workers). The price: a message
 * counts until the turn that took it ends. FAIL and the drop policies answer
 * per message and stay exact.
 *
 * Counters per actor live in a side table parallel to the actor table
 * (chunks made on first use, never freed while the system runs), so any
 * thread may read them, and an actor that is never bounded or muted has none:
 * idle actors stay at 128 bytes. */
#ifndef TR_MAILBOX_H
#define TR_MAILBOX_H

#include "actor.h"
#include "msg.h"

struct tr_system;
struct tr_worker;

typedef struct tr_mbox_counters {
    _Atomic uint64_t taken;    /* counted messages the owner took out (delivered or dropped) */
    _Atomic uint64_t refused;  /* TR_EFULL answers */
    _Atomic uint64_t dropped;  /* by DROP_NEWEST (sender) or DROP_OLDEST (owner) */
    _Atomic uint64_t overruns; /* BLOCK sends past the bound that could not mute their sender */
    _Atomic uint64_t muted;    /* times this actor was muted */
    _Atomic uint32_t high_water;
    _Atomic uint32_t
        ns_per_msg; /* BLOCK mailboxes: the owner's cost per message (moving average) */
} tr_mbox_counters;

typedef struct tr_mbox_table {
    _Atomic(tr_mbox_counters *) chunks[TR_MAX_CHUNKS];
} tr_mbox_table;

/* Frees the counters' chunks (system teardown). */
void tr_mbox_table_destroy(tr_mbox_table *t);

/* The counters of the block in slot, made if `make` (NULL when out of memory
 * or not made yet). Any thread. */
tr_mbox_counters *tr_mbox_counters_of(tr_mbox_table *t, uint32_t slot, int make);

/* At spawn, before the pid is published: a new actor's counters start at 0
 * (made now if its mailbox is bounded). Returns 0 or TR_ENOMEM. Owner. */
int tr_mailbox_reset(struct tr_system *sys, tr_actor *a);

/* What tr_mailbox_admit decided. */
enum tr_admit {
    TR_ADMIT_OK,      /* counted in; deliver it */
    TR_ADMIT_REFUSED, /* TR_EFULL */
    TR_ADMIT_DROPPED, /* dropped: free it, the send succeeds */
    TR_ADMIT_STOPPED, /* a plain thread waited and the system stopped */
    TR_ADMIT_TIMEDOUT,
};

/* Admits ordinary message m (not yet pushed) to a's bounded mailbox (cap > 0)
 * for a sender on worker w (NULL: a plain thread). Any thread. */
enum tr_admit tr_mailbox_admit(struct tr_system *sys, struct tr_worker *w, tr_actor *a, tr_pid to,
                               uint32_t cap, tr_msg *m);

/* Admits, for the actor running on w, a chain of n messages to a's BLOCK
 * mailbox (the outbox, msg.c): one add for the chain, and a mute if its last
 * message found the mailbox full. */
void tr_mailbox_admit_chain(struct tr_system *sys, struct tr_worker *w, tr_actor *a, tr_pid to,
                            uint32_t n);

/* The owner took a counted message out of a's mailbox. Returns whether it
 * must be dropped (DROP_OLDEST; counted here) instead of delivered. */
int tr_mailbox_took(struct tr_system *sys, struct tr_worker *w, tr_actor *a);
/* The same for n messages of a BLOCK mailbox at once (the end of a turn
 * that took turn_ns, or 0 when it was not timed: it then leaves the cost per
 * message as it was). */
void tr_mailbox_took_n(struct tr_system *sys, struct tr_worker *w, tr_actor *a, uint32_t n,
                       uint64_t turn_ns);
/* The owner's cost per message of a BLOCK mailbox (UINT32_MAX: unknown). */
uint32_t tr_mailbox_ns_per_msg(struct tr_system *sys, const tr_actor *a);

/* A's low watermark: muted senders go again once its depth is below it. */
uint32_t tr_mailbox_low_watermark(const tr_actor *a);

/* How long a plain thread's send to a full BLOCK mailbox waits (ms, < 0:
 * without limit): tr_send_timed sets it around its send. */
extern _Thread_local int tr_tls_send_timeout;

#endif
