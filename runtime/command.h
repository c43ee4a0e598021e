/* command.h — a worker's command inbox: how one worker (or a plain thread)
 * asks another to do something only the owner of its state may do, as
 * Pony's schedulers message each other: unmute the actors muted on a
 * receiver (mute.h), start or cancel a timer on its loop (timer.h), accept,
 * start or close a socket its loop owns (tcp.h); mail to those sockets comes
 * through the same inbox. No uv call ever crosses threads.
 *
 * A command is a pool message (kind TR_KIND_COMMAND) holding a function and
 * its arguments, pushed onto the worker's MPSC queue; then `pending` is
 * raised and the worker woken if it is parked. The worker looks at `pending`
 * before each turn, while it searches for work, and when its loop wakes. If
 * an unmute cannot be allocated, the sender raises `rescan` instead, and the
 * worker re-examines every muted actor: nothing is ever lost. */
#ifndef TR_COMMAND_H
#define TR_COMMAND_H

#include "system.h"

/* What a command runs on its worker: data is a copy of what was sent. */
typedef void (*tr_command_fn)(tr_worker *w, void *data, size_t size);

/* Has worker v run fn(v, copy of data), or, if v exits first, drop(v, copy
 * of data) when drop is not NULL (a command that carries a resource, a file
 * descriptor say, frees it there). Any thread. Returns 0 or TR_ENOMEM
 * (nothing sent). */
int tr_command_send(tr_system *sys, tr_worker *v, tr_command_fn fn, tr_command_fn drop,
                    const void *data, size_t size);

/* The same in two steps, for arguments built in place: a command with room
 * for size bytes of arguments (NULL when out of memory), where they go, and
 * posting it to v (which takes it). */
tr_msg *tr_command_new(tr_system *sys, tr_command_fn fn, tr_command_fn drop, size_t size);
void *tr_command_args(tr_msg *m);
void tr_command_post(tr_system *sys, tr_worker *v, tr_msg *m);

/* Tells worker v to unmute the actors muted on rpid, and to send them to
 * worker home (if >= 0) to run. Any thread. */
void tr_command_unmute(tr_system *sys, tr_worker *v, tr_pid rpid, int home);

/* Tells every worker to look again at all the actors it keeps muted (one was
 * sent a signal: mute.h, step 5). Any thread. */
void tr_command_rescan(tr_system *sys);

/* Whether w has commands waiting. Any thread (a hint: w's own check). */
static inline int tr_commands_pending(tr_worker *w) {
    return atomic_load_explicit(&w->commands_pending, memory_order_relaxed) != 0;
}

/* Runs w's waiting commands. w's thread only. */
void tr_commands_run(tr_worker *w);

/* Frees what is left in w's inbox (worker exit): commands not run. */
void tr_commands_drop(tr_worker *w);

#endif
