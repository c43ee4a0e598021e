/* flow_common.c — see flow_common.h. */
#include "flow_common.h"

#include <stdlib.h>
#include <string.h>

int flow_queue_push(flow_queue *q, uint32_t type, const void *data, size_t size) {
    flow_item *it = malloc(sizeof *it + size);
    if (!it)
        return TR_ENOMEM;
    it->next = NULL;
    it->type = type;
    it->size = size;
    if (size)
        memcpy(it->data, data, size);
    *(q->tail ? &q->tail->next : &q->head) = it;
    q->tail = it;
    return 0;
}

void flow_queue_drop(flow_queue *q) {
    flow_item *it = q->head;
    if (!(q->head = it->next))
        q->tail = NULL;
    free(it);
}

void flow_queue_clear(flow_queue *q) {
    while (q->head)
        flow_queue_drop(q);
}

int flow_stats_read(tr_msg *m, uint32_t type, void *out, size_t size) {
    if (!m || !out)
        return TR_EINVAL;
    if (tr_msg_type(m) != type || !tr_msg_is_reply(m) || tr_msg_size(m) != size)
        return TR_EBADMSG;
    memcpy(out, tr_msg_data(m), size);
    return 0;
}

int flow_stats_get(tr_system *sys, tr_pid pid, uint32_t type, void *out, size_t size,
                   int timeout_ms) {
    if (!sys || pid <= 0 || !out)
        return TR_EINVAL;
    tr_msg *req, *reply;
    int rc = tr_msg_create(sys, type, 0, &req);
    if (rc == 0 && (rc = tr_ask(sys, pid, req, &reply, timeout_ms)) == 0) {
        rc = flow_stats_read(reply, type, out, size);
        tr_msg_free(reply);
    }
    return rc;
}

tr_pid flow_start(tr_system *sys, const tr_actor_spec *spec, const void *cfg, int valid) {
    if (!sys || !valid)
        return TR_EINVAL;
    return tr_spawn(sys, spec, cfg);
}

tr_pid flow_start_link(tr_ctx *cx, const tr_actor_spec *spec, const void *cfg, int valid) {
    if (!tr_ctx_system(cx))
        return TR_ENOTACTOR;
    if (!valid)
        return TR_EINVAL;
    return tr_spawn_link(cx, spec, cfg);
}
