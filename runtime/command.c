/* command.c — see command.h. */
#include "command.h"

#include "mute.h"
#include "scheduler.h"
#include "tcp.h"

#include <stddef.h>
#include <string.h>

/* A command's payload: what runs it, what drops it, then its arguments. */
typedef struct command_head {
    tr_command_fn fn, drop;
} command_head;
#define TR_COMMAND_ARGS                                                                            \
    offsetof(                                                                                      \
        struct {                                                                                   \
            command_head head;                                                                     \
            max_align_t args;                                                                      \
        },                                                                                         \
        args)

static void raise_pending(tr_system *sys, tr_worker *v) {
    atomic_store(&v->commands_pending, 1); /* seq_cst: see park() in worker.c */
    tr_sched_wake(sys, v);
}

tr_msg *tr_command_new(tr_system *sys, tr_command_fn fn, tr_command_fn drop, size_t size) {
    tr_msg *m = tr_msg_alloc(sys, tr_worker_of(sys), 0, TR_COMMAND_ARGS + size);
    if (!m)
        return NULL;
    command_head head = {fn, drop};
    memcpy(m->data, &head, sizeof head);
    m->kind = TR_KIND_COMMAND;
    return m;
}

void *tr_command_args(tr_msg *m) {
    return m->data + TR_COMMAND_ARGS;
}

void tr_command_post(tr_system *sys, tr_worker *v, tr_msg *m) {
    tr_mpsc_push(&v->commands, &m->node);
    raise_pending(sys, v);
}

int tr_command_send(tr_system *sys, tr_worker *v, tr_command_fn fn, tr_command_fn drop,
                    const void *data, size_t size) {
    tr_msg *m = tr_command_new(sys, fn, drop, size);
    if (!m)
        return TR_ENOMEM;
    if (size)
        memcpy(tr_command_args(m), data, size);
    tr_command_post(sys, v, m);
    return 0;
}

typedef struct unmute_args {
    tr_pid rpid;
    int home;
} unmute_args;

static void run_unmute(tr_worker *w, void *data, size_t size) {
    unmute_args a;
    memcpy(&a, data, size);
    tr_unmute_on(w, a.rpid, a.home);
}

void tr_command_unmute(tr_system *sys, tr_worker *v, tr_pid rpid, int home) {
    unmute_args a = {rpid, home};
    if (tr_command_send(sys, v, run_unmute, NULL, &a, sizeof a) != 0) {
        atomic_store(&v->rescan_mutes, 1);
        raise_pending(sys, v);
    }
}

void tr_command_rescan(tr_system *sys) {
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        tr_worker *v = &sys->workers[i];
        atomic_store(&v->rescan_mutes, 1);
        raise_pending(sys, v);
    }
}

void tr_commands_run(tr_worker *w) {
    atomic_store(&w->commands_pending, 0);
    if (atomic_exchange(&w->rescan_mutes, 0))
        tr_unmute_ready(w);
    tr_node *n;
    while ((n = tr_mpsc_pop(&w->commands))) {
        tr_msg *m = (tr_msg *)n;
        if (m->kind != TR_KIND_COMMAND) { /* mail to a socket of w's (tcp.h) */
            tr_io_mail(w, m);
            continue;
        }
        command_head head;
        memcpy(&head, m->data, sizeof head);
        head.fn(w, m->data + TR_COMMAND_ARGS, m->size - TR_COMMAND_ARGS);
        tr_msg_release(w->sys, w, m);
    }
}

void tr_commands_drop(tr_worker *w) {
    tr_node *n;
    while ((n = tr_mpsc_pop(&w->commands))) {
        tr_msg *m = (tr_msg *)n;
        command_head head;
        if (m->kind == TR_KIND_COMMAND) { /* not mail to a socket */
            memcpy(&head, m->data, sizeof head);
            if (head.drop)
                head.drop(w, m->data + TR_COMMAND_ARGS, m->size - TR_COMMAND_ARGS);
        }
        tr_msg_release(w->sys, w, m);
    }
}
