/* lifecycle.h — an actor's life: spawn (with a synchronous init), turns of up
 * to `batch` messages, exit (terminate exactly once), and the draining and
 * reuse of its block. */
#ifndef TR_LIFECYCLE_H
#define TR_LIFECYCLE_H

#include "system.h"

enum tr_run_result {
    TR_RUN_IDLE,  /* the mailbox is empty and marked idle: the next push reschedules it */
    TR_RUN_AGAIN, /* more to do (batch used up, or a push is landing): queue it again */
    TR_RUN_MUTED  /* it sent to a full TR_OVERFLOW_BLOCK mailbox: mute it (mute.h) */
};

/* Runs one turn of a on worker w. */
enum tr_run_result tr_actor_run(tr_worker *w, tr_actor *a);

/* Sends a stop to every live actor (tr_system_stop). Any thread. */
void tr_actors_stop_all(tr_system *sys);

/* After the workers have exited: terminates any actor still live (spawned
 * while the system was finishing) and drains every mailbox into dead letters.
 * The shutting-down thread only. */
void tr_actors_reap_all(tr_system *sys);

#endif
