/* signals.h — exit signals, down notices and the link / monitor requests
 * behind them: system messages that travel through mailboxes like any other
 * (so per-pair order holds and no lock is taken), bypass bounded mailboxes,
 * and are applied by the receiving actor's owner before its ordinary mail.
 *
 * The protocol, for actors A and B:
 *  1. tr_link(A, B): A records B, then sends B a LINK. B, when it applies
 *     LINK, records A. If B is dead when LINK is sent, or dies with LINK
 *     still queued, LINK is undeliverable and A gets EXIT(B, TR_ENOACTOR).
 *  2. When an actor exits with reason r, every actor it records gets EXIT(r),
 *     every watcher DOWN(ref, r), and every actor it monitors DEMONITOR(ref).
 *  3. A applies EXIT(B, r) only if it still records B (an unlink on A's side
 *     makes every later EXIT from that link void), and forgets B. Then: if A
 *     traps exits, receive gets TR_MSG_EXIT; else r == 0 is ignored and any
 *     other r ends A with r. EXIT_SENT (tr_send_exit) is applied the same
 *     way without the link check; KILL ends A with TR_EKILLED, trapping or not.
 *  4. tr_monitor(A, B): A records (ref, B) and sends MONITOR(ref); B records
 *     the watcher (A, ref). Undeliverable MONITOR: A gets DOWN(ref,
 *     TR_ENOACTOR). A applies DOWN only for a ref it still records, so
 *     tr_demonitor (which forgets the ref, then tells B) voids queued DOWNs.
 *
 * Ahead of ordinary mail: senders set the receiver's `signaled` byte before
 * they push. The owner looks at it when a turn starts (once per turn, not per
 * message: it costs the message path nothing); when set, it moves the whole
 * mailbox into the record's stash, signals after the signals already stashed
 * and before all stashed mail, and the turn reads the stash before the
 * mailbox. So a signal waits at most for the rest of the turn under way. One
 * whose push is still under way when the mailbox is moved may stay behind and
 * be reached in mailbox order: it is applied the same way, so priority never
 * changes what a signal does, only when. */
#ifndef TR_SIGNALS_H
#define TR_SIGNALS_H

#include "system.h"

/* Sends a signal of kind from `from` (TR_PID_NONE: a plain thread) to `to`,
 * with reason (payload) and ref. Returns 0, TR_ENOACTOR (to is dead: a LINK
 * or MONITOR is then answered at once, as when undeliverable) or TR_ENOMEM.
 * Any thread. */
int tr_signal_send(tr_system *sys, tr_worker *w, tr_pid from, tr_pid to, int kind, int reason,
                   uint32_t ref);

/* Delivers signal m (to m->to, a local actor) from another node, marking
 * its receiver first as tr_signal_send does. Consumes m. */
int tr_signal_deliver(tr_system *sys, tr_worker *w, tr_msg *m);

/* A LINK or MONITOR from `from` that cannot reach `to`: `from` learns as if
 * `to` had exited with reason. Other kinds need nothing. */
void tr_signal_answer_dead(tr_system *sys, tr_worker *w, tr_pid from, tr_pid to, int kind,
                           uint32_t ref, int reason);

enum tr_signal_result {
    TR_SIGNAL_DONE,   /* applied; m is freed */
    TR_SIGNAL_NOTICE, /* m is now a TR_MSG_EXIT or TR_MSG_DOWN for receive */
    TR_SIGNAL_EXIT,   /* applied; m is freed; the actor must exit with *reason */
};

/* Applies signal m to the actor cb runs. */
enum tr_signal_result tr_signal_apply(tr_callback *cb, tr_msg *m, int *reason);

/* At the start of a turn, when a->signaled is set: sorts the mailbox into
 * the stash (appending to what it holds). Returns whether the turn must read
 * the stash (tr_stash_pop) before the mailbox; while the stash holds mail,
 * `signaled` stays set so that the next turn reads it first too. Owner. */
int tr_stash_fill(tr_system *sys, tr_worker *w, tr_actor *a);

/* The next stashed message, or NULL when the stash is empty. Owner. */
tr_msg *tr_stash_pop(tr_actor *a);

#endif
