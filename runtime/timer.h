/* timer.h — timers on the workers' uv loops that deliver a message made in
 * advance: tr_send_after and tr_send_every, receive timeouts, ask timeouts.
 *
 * A timer lives on the loop that started it, whichever worker later runs
 * its actor. Another thread (an actor on another worker, a plain thread)
 * starts or cancels one by a command to that worker (command.h), so no uv
 * call ever crosses threads. A timer's id (tr_timer) names its worker
 * (worker.h). It is never early: libuv counts whole milliseconds from the
 * loop's clock, which lags (rounded down; on Linux it may be the coarse
 * clock, a tick behind), so the delay is lengthened by the lag measured
 * against the precise clock, rounded up.
 *
 * Receive timeouts, without a timer restart per message: the actor keeps the
 * time of its last turn (its record, links.h) and one timer is out at a
 * time, carrying the setting's generation. When its message comes up in the
 * mailbox it is dropped if the setting has changed, started again for the
 * rest of the time if the actor had mail since, and otherwise given to
 * receive as TR_MSG_TIMEOUT (and the next period begins). */
#ifndef TR_TIMER_H
#define TR_TIMER_H

#include "system.h"

/* Delivers m (header filled, sent from m->sender) to `to` after delay_ms,
 * from w's loop (w is the calling worker). Takes m whatever it returns: 0 or
 * TR_ENOMEM. */
int tr_timer_start(tr_worker *w, uint64_t delay_ms, tr_pid to, tr_msg *m);

/* A TR_KIND_RECV_TIMEOUT message came up in the running actor's turn
 * (after other mail of that turn if mail_first). Returns whether receive
 * gets it (as TR_MSG_TIMEOUT); otherwise it has been dealt with. */
int tr_recv_timeout_due(tr_callback *cb, tr_msg *m, int mail_first);

#endif
