/* command.c — see command.h. */
#include "command.h"

#include "mute.h"
#include "scheduler.h"

#include <string.h>

void tr_command_unmute(tr_system *sys, tr_worker *from, tr_worker *v, tr_pid rpid) {
    tr_msg *m = tr_msg_alloc(sys, from, 0, sizeof rpid);
    if (m) {
        memcpy(m->data, &rpid, sizeof rpid);
        m->kind = TR_KIND_COMMAND;
        tr_mpsc_push(&v->commands, &m->node);
    } else {
        atomic_store(&v->rescan_mutes, 1);
    }
    atomic_store(&v->commands_pending, 1); /* seq_cst: see park() in scheduler.c */
    tr_sched_wake(sys, v);
}

void tr_command_rescan(tr_system *sys) {
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        tr_worker *v = &sys->workers[i];
        atomic_store(&v->rescan_mutes, 1);
        atomic_store(&v->commands_pending, 1);
        tr_sched_wake(sys, v);
    }
}

void tr_commands_run(tr_worker *w) {
    atomic_store(&w->commands_pending, 0);
    if (atomic_exchange(&w->rescan_mutes, 0))
        tr_unmute_ready(w);
    tr_node *n;
    while ((n = tr_mpsc_pop(&w->commands))) {
        tr_msg *m = (tr_msg *)n;
        tr_pid rpid;
        memcpy(&rpid, m->data, sizeof rpid);
        tr_msg_release(w->sys, w, m);
        tr_unmute_on(w, rpid);
    }
}

void tr_commands_drop(tr_worker *w) {
    tr_node *n;
    while ((n = tr_mpsc_pop(&w->commands)))
        tr_msg_release(w->sys, w, (tr_msg *)n);
}
