/* command.h — a worker's command inbox: how one worker (or a plain thread)
 * asks another to do something only the owner of its state may do, as
 * Pony's schedulers message each other. Today: unmute the actors muted on a
 * receiver (mute.h); timers and I/O handles will use it too.
 *
 * A command is a pool message (kind TR_KIND_COMMAND) pushed onto the
 * worker's MPSC queue, then `pending` is raised and the worker woken if it is
 * parked. The worker looks at `pending` before each turn and when its loop
 * wakes. If no message can be allocated, the sender raises `rescan` instead,
 * and the worker re-examines every muted actor: nothing is ever lost. */
#ifndef TR_COMMAND_H
#define TR_COMMAND_H

#include "system.h"

/* Tells worker v to unmute the actors muted on rpid. Any thread. */
void tr_command_unmute(tr_system *sys, tr_worker *from, tr_worker *v, tr_pid rpid);

/* Tells every worker to look again at all the actors it keeps muted (one was
 * sent a signal: mute.h, step 5). Any thread. */
void tr_command_rescan(tr_system *sys);

/* Whether w has commands waiting. Any thread (a hint: w's own check). */
static inline int tr_commands_pending(tr_worker *w) {
    return atomic_load_explicit(&w->commands_pending, memory_order_relaxed) != 0;
}

/* Runs w's waiting commands. w's thread only. */
void tr_commands_run(tr_worker *w);

/* Frees what is left in w's inbox (worker exit). */
void tr_commands_drop(tr_worker *w);

#endif
