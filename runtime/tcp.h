/* tcp.h — the runtime side of troupe/tcp.h: sockets on the workers' loops,
 * addressed by pids of node TR_IO_NODE.
 *
 * The protocol, connection C on worker w, owner O:
 *  1. Mail to C's pid (writes, and the signals C gets as O's watcher) is
 *     pushed onto w's command inbox whoever sends it, even from w itself, so
 *     that it is handled in the order each sender sent it (an actor that
 *     wrote from another worker and now runs on w must not overtake its
 *     earlier writes). w handles it before its next turn.
 *  2. C monitors O (a MONITOR signal from C's pid, under a reference that
 *     changes with each owner): when O exits, its DOWN reaches C by step 1
 *     and closes C; a DOWN for an earlier owner's reference is ignored.
 *  3. A read delivers TR_MSG_TCP_DATA to O from w's loop with io_sending
 *     set: a full BLOCK mailbox then notes O in w instead of counting an
 *     overrun, and C stops reading and waits in w's mutemap (mute.h, step 6)
 *     until O drains.
 *  4. C ends once: it leaves w's id map (later mail to it is a dead
 *     letter), O gets TR_MSG_TCP_CLOSED (after TR_MSG_TCP_ERROR if it
 *     failed), O is told to forget the monitor
 *     (DEMONITOR), and the handle closes (pending writes are cancelled and
 *     freed first). */
#ifndef TR_TCP_H
#define TR_TCP_H

#include "system.h"

/* Delivers m (to: a socket's pid) by step 1. Takes m. Any thread. Returns 0
 * or TR_ENOACTOR (the pid names no worker: a dead letter). */
int tr_io_deliver(tr_system *sys, tr_worker *w, tr_pid to, tr_msg *m);

/* Handles mail to a socket of w's (from w's command inbox). w's thread. */
void tr_io_mail(tr_worker *w, tr_msg *m);

/* Step 3's end: the owner that muted socket io has drained. w's thread. */
void tr_tcp_resume(tr_worker *w, tr_pid io);

#endif
