/* mute.h — muting: an actor that sends to a full TR_OVERFLOW_BLOCK mailbox
 * is not run again until that mailbox drains below its low watermark.
 *
 * The protocol, sender S on worker w, receiver R (pid r):
 *  1. S's send finds R full: the message is accepted, and w notes "mute S on
 *     R" unless S has muted senders of its own (then the send is an overrun:
 *     an actor others wait on must keep running, which is what keeps a cycle
 *     of full mailboxes, or a chain through a muted actor, from deadlock).
 *  2. When S's callback returns, the turn ends and w keeps S in its mutemap
 *     (S's mailbox stays claimed, so no send schedules it), sets its bit in R's
 *     has_muters, and then looks again (seq_cst): if R has since drained
 *     below its low watermark or exited, or S itself now has muters, S is
 *     unmuted at once.
 *  3. R's owner, taking a message out so that R's depth is below the low
 *     watermark (seq_cst subtract, then a look at has_muters), or R exiting,
 *     clears has_muters and sends an UNMUTE(r) command to each worker whose
 *     bit it held (step 2 sets the muting worker's bit: a command to a
 *     worker that holds none would only wake it); each makes runnable the
 *     actors its mutemap holds for r.
 *  4. A worker acting on UNMUTE(r) looks at R first: the command may be
 *     stale (R filled up again and the senders it meant have been muted
 *     anew). If R still holds them back, it sets has_muters again and looks
 *     once more (step 2's pair), and leaves them muted for the next drain.
 *  5. A muted actor that is sent a signal (a kill, an exit) must not wait for
 *     its receiver: step 2 ends by setting its `muted` byte and looking at
 *     its `signaled` byte (seq_cst), tr_signal_send sets `signaled` and then
 *     looks at `muted`; if set, every worker rescans its mutemap and lets go
 *     the actors that have signals waiting. One of the two sees the other.
 *  6. A socket is muted the same way (tcp.c): a read whose data finds its
 *     owner's BLOCK mailbox full stops reading, and the entry (sender NULL,
 *     the socket's pid) resumes it when the owner drains.
 * Placement: a muted sender is faster than its receiver, so it runs best
 * where the receiver's mail is hot. When the receiver R (on worker x) is
 * cheap per message (its owner times its BLOCK turns: under
 * TR_PIN_NS_PER_MSG), step 3's unmutes carry x, and each worker sends the
 * senders it held to x (a command with the actors; their consumer sides go
 * with it), where they run from x's pinned queue, which thieves do not take
 * from; R itself, while it has muters, goes back to that queue after each
 * turn. So N senders feeding one cheap receiver end up on its worker instead
 * of sending every message across cores. A costly receiver's senders stay
 * where they are, so the two sides run in parallel.
 * Steps 2 and 3 are the two halves of a Dekker pair: either R's owner sees
 * has_muters, or w sees R's lower depth, so no mute outlives the reason for
 * it. Two actors muted on each other would need each to have muted without
 * muters of its own, but the one whose mute is registered second sees the
 * first (step 2's last look), so muted actors never form a cycle. */
#ifndef TR_MUTE_H
#define TR_MUTE_H

#include "actor.h"
#include "vec.h"

struct tr_system;
struct tr_worker;

/* What a worker's mutemap (a tr_vec of these) holds for each muted actor. */
typedef struct tr_mute_entry {
    tr_pid receiver;
    tr_actor *sender; /* NULL: a socket, */
    tr_pid io;        /* this one (step 6) */
} tr_mute_entry;

/* Step 2 for sender a, which ran on w and found the receiver noted in w
 * full. Returns whether a stays muted (else the caller requeues it). */
int tr_mute(struct tr_worker *w, tr_actor *a);

/* Step 6: the socket io on w (its loop's thread) delivered to the receiver
 * noted in w, which was full. Returns whether the socket stays muted (the
 * caller stops reading; tr_tcp_resume starts it again). */
int tr_mute_io(struct tr_worker *w, tr_pid io);

/* Step 3, on the receiver's side: r (pid rpid) may have muted senders. */
void tr_unmute_senders_of(struct tr_system *sys, struct tr_worker *w, tr_actor *r, tr_pid rpid);

/* On w: makes runnable the actors muted on rpid (an UNMUTE command): on
 * worker home's pinned queue if home >= 0 (placement), else here. */
void tr_unmute_on(struct tr_worker *w, tr_pid rpid, int home);

/* A receiver that takes less than this per message is cheap enough that its
 * senders run best on its worker: a message that crosses cores costs a
 * cache-line transfer or two (10-30 ns), a large share of such a turn. */
#define TR_PIN_NS_PER_MSG 200
/* On w: unmutes every muted actor whose receiver no longer holds it back. */
void tr_unmute_ready(struct tr_worker *w);

#endif
