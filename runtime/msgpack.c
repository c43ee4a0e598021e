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

static int packer_init(tr_packer *p, tr_system *sys, uint32_t type) {
    if (!tr_sys_running(sys))
        return TR_ESTOPPED;
    p->msg = tr_msg_alloc(sys, tr_worker_of(sys), type, 0);
    if (!p->msg)
        return TR_ENOMEM;
    msgpack_packer_init(&p->pk, p, packer_write);
    return 0;
}

int tr_packer_init(tr_packer *p, tr_system *sys, uint32_t type) {
    if (!p || !sys || type >= TR_MSG_RESERVED)
        return TR_EINVAL;
    p->sys = sys;
    p->msg = NULL;
    p->used = 0;
    p->err = 0;
    TR_API_CALL(sys, int, packer_init(p, sys, type));
}

static tr_msg *packer_finish(tr_packer *p) {
    tr_msg *m = p->msg;
    p->msg = NULL;
    if (p->err) {
        tr_msg_release(p->sys, tr_worker_of(p->sys), m);
        return NULL;
    }
    m->size = (uint32_t)p->used;
    tr_msg_give(m);
    return m;
}

tr_msg *tr_packer_finish(tr_packer *p) {
    if (!p || !p->msg)
        return NULL;
    TR_API_CALL(p->sys, tr_msg *, packer_finish(p));
}

static int packer_discard(tr_packer *p) {
    tr_msg_release(p->sys, tr_worker_of(p->sys), p->msg);
    p->msg = NULL;
    return 0;
}

static int packer_discard_guarded(tr_packer *p) {
    TR_API_CALL(p->sys, int, packer_discard(p));
}

void tr_packer_discard(tr_packer *p) {
    if (p && p->msg)
        packer_discard_guarded(p);
}

/* Reads a big-endian length of n bytes at p. */
static uint64_t be_read(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Checks that buf holds exactly one msgpack object whose declared lengths all
 * fit in it, before msgpack-c allocates for it: a frame claiming a billion
 * array entries must be refused, not answered with a billion-entry
 * allocation. Every object takes at least one byte, so a container may not
 * declare more entries than there are bytes left. */
static int frame_ok(const unsigned char *buf, size_t len) {
    size_t pos = 0;
    uint64_t pending = 1; /* objects still to read */
    while (pending > 0) {
        if (pos >= len)
            return 0;
        unsigned char b = buf[pos++];
        uint64_t items = 0, skip = 0;
        int hdr = 0; /* bytes of length that follow the type byte */
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        } else if (b >= 0x80 && b <= 0x8f) {
            items = 2u * (b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            items = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xcc:
            case 0xd0: skip = 1; break;
            case 0xcd:
            case 0xd1: skip = 2; break;
            case 0xca:
            case 0xce:
            case 0xd2: skip = 4; break;
            case 0xcb:
            case 0xcf:
            case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4:
            case 0xd9: hdr = 1; break;
            case 0xc5:
            case 0xda: hdr = 2; break;
            case 0xc6:
            case 0xdb: hdr = 4; break;
            case 0xc7:
                hdr = 1;
                skip = 1;
                break; /* ext 8: length, then type */
            case 0xc8:
                hdr = 2;
                skip = 1;
                break;
            case 0xc9:
                hdr = 4;
                skip = 1;
                break;
            case 0xdc:
            case 0xde: hdr = 2; break;
            case 0xdd:
            case 0xdf: hdr = 4; break;
            default: return 0; /* 0xc1: never used */
            }
        }
        if (hdr) {
            if (len - pos < (size_t)hdr)
                return 0;
            uint64_t n = be_read(buf + pos, hdr);
            pos += (size_t)hdr;
            if (b == 0xdc || b == 0xdd)
                items = n;
            else if (b == 0xde || b == 0xdf)
                items = 2 * n;
            else
                skip += n;
        }
        if (skip > len - pos || items > len - pos)
            return 0;
        pos += (size_t)skip;
        pending += items - 1;
    }
    return pos == len;
}

int tr_msg_unpack(const tr_msg *m, msgpack_zone *zone, msgpack_object *out) {
    if (!m || !zone || !out)
        return TR_EINVAL;
    if (!frame_ok(m->data, m->size))
        return TR_EBADMSG;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack((const char *)m->data, m->size, &off, zone, out);
    if (r == MSGPACK_UNPACK_SUCCESS)
        return 0;
    return TR_EBADMSG; /* empty, malformed, truncated, or with trailing bytes (EXTRA_BYTES) */
}

msgpack_zone *tr_ctx_zone(tr_ctx *cx) {
    tr_callback *cb = tr_ctx_check(cx);
    if (!cb || !cb->worker)
        return NULL;
    tr_worker *w = cb->worker;
    if (!w->zone && !(w->zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)))
        return NULL;
    w->zone_used = 1;
    return w->zone;
}
