/* links.c — see links.h. The arrays are small (an actor rarely has more than
 * a handful of links or monitors; a supervisor has one link per child), so
 * lookups are linear scans and removal swaps in the last item. */
#include "links.h"

#include "ask.h"

#include "signals.h"

#include <stdlib.h>

tr_actor_ext *tr_ext_get(tr_actor *a) {
    if (!a->ext)
        a->ext = calloc(1, sizeof *a->ext);
    return a->ext;
}

/* ---- links ---- */

static int links_find(const tr_actor *a, tr_pid pid) {
    const tr_pid *links = a->ext ? a->ext->links.items : NULL;
    for (uint32_t i = 0; links && i < a->ext->links.n; i++)
        if (links[i] == pid)
            return (int)i;
    return -1;
}

int tr_links_add(tr_actor *a, tr_pid pid) {
    if (links_find(a, pid) >= 0)
        return 0;
    tr_actor_ext *x = tr_ext_get(a);
    return x ? tr_vec_push(&x->links, &pid, sizeof pid) : TR_ENOMEM;
}

int tr_links_remove(tr_actor *a, tr_pid pid) {
    int i = links_find(a, pid);
    if (i < 0)
        return 0;
    tr_vec_take(&a->ext->links, (uint32_t)i, sizeof(tr_pid));
    return 1;
}

/* ---- monitors ---- */

/* The index of the watch matching ref (and pid, unless pid is TR_PID_NONE). */
static int watch_find(const tr_vec *v, tr_pid pid, uint32_t ref) {
    const tr_watch *ws = v->items;
    for (uint32_t i = 0; i < v->n; i++)
        if (ws[i].ref == ref && (pid == TR_PID_NONE || ws[i].pid == pid))
            return (int)i;
    return -1;
}

static int watch_add(tr_vec *v, tr_pid pid, uint32_t ref) {
    tr_watch w = {pid, ref};
    return tr_vec_push(v, &w, sizeof w);
}

int tr_watchers_add(tr_actor *a, tr_pid pid, uint32_t ref) {
    tr_actor_ext *x = tr_ext_get(a);
    return x ? watch_add(&x->watchers, pid, ref) : TR_ENOMEM;
}

int tr_watchers_remove(tr_actor *a, tr_pid pid, uint32_t ref) {
    int i = a->ext ? watch_find(&a->ext->watchers, pid, ref) : -1;
    if (i < 0)
        return 0;
    tr_vec_take(&a->ext->watchers, (uint32_t)i, sizeof(tr_watch));
    return 1;
}

int tr_monitors_add(tr_actor *a, tr_pid target, uint32_t ref) {
    tr_actor_ext *x = tr_ext_get(a);
    return x ? watch_add(&x->monitors, target, ref) : TR_ENOMEM;
}

int tr_monitors_remove(tr_actor *a, uint32_t ref, tr_pid *target) {
    int i = a->ext ? watch_find(&a->ext->monitors, TR_PID_NONE, ref) : -1;
    if (i < 0)
        return 0;
    if (target)
        *target = ((tr_watch *)a->ext->monitors.items)[i].pid;
    tr_vec_take(&a->ext->monitors, (uint32_t)i, sizeof(tr_watch));
    return 1;
}

uint32_t tr_next_ref(tr_actor *a) {
    if (++a->next_ref == 0)
        ++a->next_ref;
    return a->next_ref;
}

/* ---- the end of a life ---- */

static void undeliverable_chain(tr_system *sys, tr_worker *w, tr_msg *m) {
    while (m) {
        tr_msg *next = (tr_msg *)atomic_load_explicit(&m->node.next, memory_order_relaxed);
        tr_msg_undeliverable(sys, w, m);
        m = next;
    }
}

void tr_ext_release(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid pid, int reason) {
    tr_actor_ext *x = a->ext;
    a->ext = NULL;
    const tr_pid *links = x->links.items;
    for (uint32_t i = 0; i < x->links.n; i++)
        tr_signal_send(sys, w, pid, links[i], TR_KIND_EXIT, reason, 0);
    const tr_watch *watchers = x->watchers.items;
    for (uint32_t i = 0; i < x->watchers.n; i++)
        tr_signal_send(sys, w, pid, watchers[i].pid, TR_KIND_DOWN, reason, watchers[i].ref);
    /* Monitors this actor holds end too, so their targets forget them. */
    const tr_watch *monitors = x->monitors.items;
    for (uint32_t i = 0; i < x->monitors.n; i++)
        tr_signal_send(sys, w, pid, monitors[i].pid, TR_KIND_DEMONITOR, 0, monitors[i].ref);
    undeliverable_chain(sys, w, x->sig_first);
    undeliverable_chain(sys, w, x->mail_first);
    tr_vec_free(&x->links);
    tr_vec_free(&x->watchers);
    tr_vec_free(&x->monitors);
    tr_vec_free(&x->asks);
    free(x);
}

/* ---- the API ---- */

/* The running actor's callback for a link or monitor call on pid. */
static tr_callback *link_caller(tr_ctx *cx, tr_pid pid, int *rc) {
    tr_callback *cb = tr_ctx_check(cx);
    *rc = !cb ? TR_ENOTACTOR : pid <= 0 ? TR_EINVAL : !tr_sys_running(cb->sys) ? TR_ESTOPPED : 0;
    return *rc ? NULL : cb;
}

static tr_pid self_of(const tr_callback *cb) {
    return atomic_load_explicit(&cb->actor->pid, memory_order_relaxed);
}

int tr_link(tr_ctx *cx, tr_pid pid) {
    int rc;
    tr_callback *cb = link_caller(cx, pid, &rc);
    if (!cb)
        return rc;
    tr_pid self = self_of(cb);
    if (pid == self)
        return 0;
    if ((rc = tr_links_add(cb->actor, pid)) != 0)
        return rc;
    /* A dead pid answers with EXIT(TR_ENOACTOR): not an error here. */
    rc = tr_signal_send(cb->sys, cb->worker, self, pid, TR_KIND_LINK, 0, 0);
    return rc == TR_ENOACTOR ? 0 : rc;
}

int tr_unlink(tr_ctx *cx, tr_pid pid) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    if (pid <= 0)
        return TR_EINVAL;
    if (tr_links_remove(cb->actor, pid) && tr_sys_running(cb->sys))
        tr_signal_send(cb->sys, cb->worker, self_of(cb), pid, TR_KIND_UNLINK, 0, 0);
    return 0;
}

int tr_monitor(tr_ctx *cx, tr_pid pid, uint32_t *ref) {
    int rc;
    tr_callback *cb = link_caller(cx, pid, &rc);
    if (!cb)
        return rc;
    if (!ref)
        return TR_EINVAL;
    uint32_t r = tr_next_ref(cb->actor);
    if ((rc = tr_monitors_add(cb->actor, pid, r)) != 0)
        return rc;
    rc = tr_signal_send(cb->sys, cb->worker, self_of(cb), pid, TR_KIND_MONITOR, 0, r);
    if (rc == TR_ENOMEM) {
        tr_monitors_remove(cb->actor, r, NULL);
        return rc;
    }
    *ref = r; /* a dead pid answers with DOWN(TR_ENOACTOR) */
    return 0;
}

int tr_demonitor(tr_ctx *cx, uint32_t ref) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    tr_pid target;
    if (!tr_monitors_remove(cb->actor, ref, &target))
        return TR_ENOTFOUND;
    if (tr_sys_running(cb->sys))
        tr_signal_send(cb->sys, cb->worker, self_of(cb), target, TR_KIND_DEMONITOR, 0, ref);
    return 0;
}

int tr_trap_exits(tr_ctx *cx, int on) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb)
        return TR_ENOTACTOR;
    int was = (cb->actor->flags & TR_ACTORF_TRAP) != 0;
    if (on)
        cb->actor->flags |= TR_ACTORF_TRAP;
    else
        cb->actor->flags &= (uint8_t)~TR_ACTORF_TRAP;
    return was;
}

void tr_links_node_down(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid self, unsigned node) {
    tr_actor_ext *x = a->ext;
    if (!x)
        return;
    /* As if each had exited: the signals are applied like those that come
       from the actors themselves (a link or monitor dropped since is void). */
    for (uint32_t i = 0; i < x->links.n; i++) {
        tr_pid pid = TR_VEC_AT(&x->links, tr_pid, i);
        if (tr_pid_node(pid) == node)
            tr_signal_send(sys, w, pid, self, TR_KIND_EXIT, TR_ENODEDOWN, 0);
    }
    for (uint32_t i = 0; i < x->monitors.n; i++) {
        tr_watch m = TR_VEC_AT(&x->monitors, tr_watch, i);
        if (tr_pid_node(m.pid) == node)
            tr_signal_send(sys, w, m.pid, self, TR_KIND_DOWN, TR_ENODEDOWN, m.ref);
    }
    for (uint32_t i = 0; i < x->asks.n; i++) {
        tr_watch ask = TR_VEC_AT(&x->asks, tr_watch, i);
        if (tr_pid_node(ask.pid) == node)
            tr_ask_fail(sys, w, self, ask.ref, ask.pid, TR_ENODEDOWN);
    }
    for (uint32_t i = x->watchers.n; i-- > 0;)
        if (tr_pid_node(TR_VEC_AT(&x->watchers, tr_watch, i).pid) == node)
            tr_vec_take(&x->watchers, i, sizeof(tr_watch));
}
