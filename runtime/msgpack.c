/* msgpack.c — msgpack payloads: a msgpack_packer whose writes land directly in
 * a pool message (grown by doubling into a larger pool class), and unpacking
 * into a caller's zone. */
#include <troupe/msgpack.h>

#include "system.h"

#include <string.h>

static int packer_write(void *data, const char *buf, size_t len) {
    tr_packer *p = data;
    if (p->err)
        return -1;
    if (p->used + len > TR_MSG_MAX_PAYLOAD) {
        p->err = TR_ETOOBIG;
        return -1;
    }
    tr_worker *w = tr_worker_of(p->sys);
    tr_msg *m = p->msg;
    m->size = (uint32_t)p->used;
    m = tr_msg_grow(p->sys, w, m, p->used + len);
    if (!m) {
        p->err = TR_ENOMEM;
        return -1;
    }
    memcpy(m->data + p->used, buf, len);
    p->used += len;
    p->msg = m;
    return 0;
}

int tr_packer_init(tr_packer *p, tr_system *sys, uint32_t type) {
    if (!p || !sys || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    p->sys = sys;
    p->used = 0;
    p->err = 0;
    p->msg = tr_msg_alloc(sys, tr_worker_of(sys), type, 0);
    if (!p->msg)
        return TR_ENOMEM;
    msgpack_packer_init(&p->pk, p, packer_write);
    return 0;
}

tr_msg *tr_packer_finish(tr_packer *p) {
    if (!p || !p->msg)
        return NULL;
    tr_msg *m = p->msg;
    p->msg = NULL;
    if (p->err) {
        tr_msg_release(p->sys, tr_worker_of(p->sys), m);
        return NULL;
    }
    m->size = (uint32_t)p->used;
    return m;
}

void tr_packer_discard(tr_packer *p) {
    if (p && p->msg) {
        tr_msg_release(p->sys, tr_worker_of(p->sys), p->msg);
        p->msg = NULL;
    }
}

int tr_msg_unpack(const tr_msg *m, msgpack_zone *zone, msgpack_object *out) {
    if (!m || !zone || !out)
        return TR_EINVAL;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack((const char *)m->data, m->size, &off, zone, out);
    if (r == MSGPACK_UNPACK_SUCCESS)
        return 0;
    return TR_EBADMSG; /* empty, malformed, truncated, or with trailing bytes (EXTRA_BYTES) */
}

msgpack_zone *tr_ctx_zone(tr_ctx *cx) {
    cx = tr_ctx_check(cx);
    if (!cx || !cx->worker)
        return NULL;
    tr_worker *w = cx->worker;
    if (!w->zone && !(w->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        return NULL;
    w->zone_used = 1;
    return w->zone;
}
