/* inbox.c — inboxes: a waiter (waiter.h) that a plain thread keeps open to
 * receive ordinary messages, as CAF's scoped_actor or Akka's Inbox do. The
 * inbox handle is the waiter itself; tr_system_shutdown frees those still
 * open with the rest of the waiter table. */
#include "scheduler.h"
#include "system.h"

static tr_waiter *waiter_of(const tr_inbox *ib) {
    return (tr_waiter *)ib;
}

static int inbox_open(tr_system *sys, tr_inbox **out) {
    int rc = tr_inbox_admit(sys);
    if (rc)
        return rc;
    tr_waiter *wt = tr_waiter_get(sys);
    if (!wt) {
        tr_inbox_retire(sys);
        return TR_ENOMEM;
    }
    *out = (tr_inbox *)wt;
    return 0;
}

int tr_inbox_open(tr_system *sys, tr_inbox **out) {
    if (out)
        *out = NULL;
    if (!sys || !out)
        return TR_EINVAL;
    TR_API_CALL(sys, int, inbox_open(sys, out));
}

tr_pid tr_inbox_pid(const tr_inbox *ib) {
    return ib ? tr_waiter_pid(waiter_of(ib)) : TR_EINVAL;
}

static int inbox_receive(tr_system *sys, tr_waiter *wt, tr_msg **out, int timeout_ms) {
    int rc = tr_waiter_next(sys, wt, timeout_ms, 0, out);
    if (rc == 0)
        tr_msg_give(*out);
    return rc;
}

int tr_inbox_receive(tr_inbox *ib, tr_msg **out, int timeout_ms) {
    if (out)
        *out = NULL;
    if (!ib || !out)
        return TR_EINVAL;
    if (tr_in_callback())
        return TR_EINACTOR;
    tr_system *sys = tr_waiter_system(waiter_of(ib));
    TR_API_CALL(sys, int, inbox_receive(sys, waiter_of(ib), out, timeout_ms));
}

int tr_inbox_send(tr_inbox *ib, tr_pid to, uint32_t type, const void *data, size_t size) {
    if (!ib || (size && !data) || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    tr_system *sys = tr_waiter_system(waiter_of(ib));
    TR_API_CALL(sys, int, tr_send_from(sys, tr_inbox_pid(ib), to, type, data, size));
}

static int inbox_close(tr_system *sys, tr_waiter *wt) {
    tr_waiter_put(sys, wt);
    tr_inbox_retire(sys);
    return 0;
}

int tr_inbox_close(tr_inbox *ib) {
    if (!ib)
        return TR_EINVAL;
    tr_system *sys = tr_waiter_system(waiter_of(ib));
    TR_API_CALL(sys, int, inbox_close(sys, waiter_of(ib)));
}
