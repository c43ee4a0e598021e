/* timer.h — one-shot timers on a worker's uv loop that deliver a message
 * made in advance: ask timeouts and tr_send_after.
 *
 * A timer is never cancelled from another thread: it always fires (or is
 * closed at worker exit, freeing its message) on the loop that started it,
 * so no uv call ever crosses threads. */
#ifndef TR_TIMER_H
#define TR_TIMER_H

#include "system.h"

/* Delivers m (header filled, to be sent from m->sender) to `to` after
 * delay_ms, from w's loop. Takes m whatever it returns: 0 or TR_ENOMEM. */
int tr_timer_start(tr_worker *w, uint64_t delay_ms, tr_pid to, tr_msg *m);

/* Closes a runtime timer at worker exit, dropping its message; returns 0 if
 * h is not one. */
int tr_timer_close(uv_handle_t *h);

#endif
