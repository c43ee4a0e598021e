/* frame.c — see frame.h.
 *
 * Reading trusts nothing in the batch. msgpack-c allocates an array's or a
 * map's elements when it reads the header, before they arrive: five bytes
 * declaring 2^31 elements ask malloc for 48 GB (AddressSanitizer aborts the
 * process on that), and nested headers multiply it. So every array is first
 * walked here (array_span): a fixarray of the expected length whose elements
 * are integers and bins lying wholly inside the buffer. Only such a span
 * reaches msgpack_unpack, which then puts the 7 elements in the reader's zone
 * and nothing else, and leaves a bin pointing into the buffer (msgpack-c
 * never copies str or bin bodies): payloads are not copied. The zone's one
 * chunk is made when the batch is opened and cleared for each frame, so a
 * batch costs one allocation, not two per frame as msgpack_unpack_next's
 * fresh zone for every call would (msgpack_unpack, which takes the zone, is
 * the older of msgpack-c's two entry points; it is kept for this). */
#include "frame.h"

#include <limits.h>

void tr_batch_writer_init(tr_batch_writer *bw) {
    msgpack_sbuffer_init(&bw->buf);
    msgpack_packer_init(&bw->pk, &bw->buf, msgpack_sbuffer_write);
    bw->frames = 0;
}

void tr_batch_writer_free(tr_batch_writer *bw) {
    msgpack_sbuffer_destroy(&bw->buf);
}

void tr_batch_reset(tr_batch_writer *bw, unsigned from_node) {
    bw->buf.size = 0;
    bw->frames = 0;
    /* Only a buffer never grown can fail here; it stays empty, which
     * tr_batch_add takes as "no header" and answers TR_ENOMEM. */
    if (msgpack_pack_array(&bw->pk, 2) || msgpack_pack_uint8(&bw->pk, TR_FRAME_VERSION) ||
        msgpack_pack_unsigned_int(&bw->pk, from_node))
        bw->buf.size = 0;
}

int tr_batch_add(tr_batch_writer *bw, const tr_frame *f) {
    /* A bad pid would make the reader drop this frame and all after it. */
    if (f->to <= 0 || f->from < 0)
        return TR_EINVAL;
    size_t mark = bw->buf.size;
    if (mark == 0)
        return TR_ENOMEM;
    msgpack_packer *pk = &bw->pk;
    if (msgpack_pack_array(pk, 7) || msgpack_pack_uint8(pk, f->kind) ||
        msgpack_pack_int64(pk, f->to) || msgpack_pack_int64(pk, f->from) ||
        msgpack_pack_uint32(pk, f->type) || msgpack_pack_uint32(pk, f->ref) ||
        msgpack_pack_uint8(pk, f->flags) || msgpack_pack_bin(pk, f->size) ||
        msgpack_pack_bin_body(pk, f->data, f->size)) {
        bw->buf.size = mark;
        return TR_ENOMEM;
    }
    bw->frames++;
    return 0;
}

static size_t big_endian(const unsigned char *p, size_t bytes) {
    size_t v = 0;
    while (bytes--)
        v = v << 8 | *p++;
    return v;
}

/* The length of the integer or bin at p, n > 0 bytes left, or 0 if it is
 * anything else or does not end by p + n. */
static size_t scalar_len(const unsigned char *p, size_t n) {
    size_t head, body = 0;
    if (p[0] <= 0x7f || p[0] >= 0xe0) /* positive and negative fixint */
        return 1;
    switch (p[0]) { /* uint8..64 and int8..64, then bin8..32 */
    case 0xcc:
    case 0xd0: head = 2; break;
    case 0xcd:
    case 0xd1: head = 3; break;
    case 0xce:
    case 0xd2: head = 5; break;
    case 0xcf:
    case 0xd3: head = 9; break;
    case 0xc4:
    case 0xc5:
    case 0xc6: /* the body's size follows */
        head = 1 + ((size_t)1 << (p[0] - 0xc4));
        if (n < head)
            return 0;
        body = big_endian(p + 1, head - 1);
        break;
    default: return 0;
    }
    return n >= head && body <= n - head ? head + body : 0;
}

/* The length of the fixarray of count integers and bins at br->off, or 0 if
 * the bytes there are anything else. */
static size_t array_span(const tr_batch_reader *br, unsigned count) {
    if (br->off >= br->size)
        return 0;
    const unsigned char *p = (const unsigned char *)br->data + br->off;
    size_t n = br->size - br->off, len = 1;
    if (p[0] != 0x90 + count)
        return 0;
    for (unsigned i = 0; i < count; i++) {
        size_t e = len < n ? scalar_len(p + len, n - len) : 0;
        if (e == 0)
            return 0;
        len += e;
    }
    return len;
}

/* Decodes the array of count elements at br->off into br->obj and steps
 * over it: 0, TR_EBADMSG or TR_ENOMEM. */
static int unpack(tr_batch_reader *br, unsigned count) {
    size_t span = array_span(br, count), off = br->off;
    if (span == 0)
        return TR_EBADMSG;
    /* The walk leaves SUCCESS or NOMEM_ERROR; the rest are answered too,
     * in case a msgpack-c version reads differently. */
    msgpack_zone_clear(&br->zone);
    msgpack_unpack_return rc = msgpack_unpack(br->data, br->off + span, &off, &br->zone, &br->obj);
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return TR_ENOMEM;
    if (rc != MSGPACK_UNPACK_SUCCESS || off != br->off + span)
        return TR_EBADMSG;
    br->off = off;
    return 0;
}

static int uint_in(const msgpack_object *o, uint64_t min, uint64_t max) {
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 >= min && o->via.u64 <= max;
}

int tr_batch_open(tr_batch_reader *br, const char *data, size_t size, uint32_t max_payload,
                  unsigned *from_node) {
    br->data = data;
    br->size = size;
    br->off = 0;
    br->max_payload = max_payload;
    br->zone_made = msgpack_zone_init(&br->zone, 512);
    if (!br->zone_made)
        return TR_ENOMEM;
    int rc = unpack(br, 2);
    if (rc == 0) {
        const msgpack_object *e = br->obj.via.array.ptr;
        if (uint_in(&e[0], TR_FRAME_VERSION, TR_FRAME_VERSION) && uint_in(&e[1], 0, UINT_MAX)) {
            *from_node = (unsigned)e[1].via.u64;
            return 0;
        }
        rc = TR_EBADMSG;
    }
    tr_batch_close(br);
    return rc;
}

/* Fills f from the array just decoded; 0 if a field is out of its range. */
static int frame_get(const tr_batch_reader *br, tr_frame *f) {
    const msgpack_object *e = br->obj.via.array.ptr;
    if (!uint_in(&e[0], 0, UINT8_MAX) || !uint_in(&e[1], 1, INT64_MAX) ||
        !uint_in(&e[2], 0, INT64_MAX) || !uint_in(&e[3], 0, UINT32_MAX) ||
        !uint_in(&e[4], 0, UINT32_MAX) || !uint_in(&e[5], 0, UINT8_MAX) ||
        e[6].type != MSGPACK_OBJECT_BIN || e[6].via.bin.size > br->max_payload)
        return 0;
    f->kind = (uint8_t)e[0].via.u64;
    f->to = (tr_pid)e[1].via.u64;
    f->from = (tr_pid)e[2].via.u64;
    f->type = (uint32_t)e[3].via.u64;
    f->ref = (uint32_t)e[4].via.u64;
    f->flags = (uint8_t)e[5].via.u64;
    f->data = e[6].via.bin.ptr;
    f->size = e[6].via.bin.size;
    return 1;
}

int tr_batch_next(tr_batch_reader *br, tr_frame *f) {
    if (br->off == br->size)
        return 0;
    int rc = unpack(br, 7);
    if (rc == 0 && !frame_get(br, f))
        rc = TR_EBADMSG;
    if (rc < 0) {
        br->off = br->size; /* what follows cannot be trusted to be aligned */
        return rc;
    }
    return 1;
}

void tr_batch_close(tr_batch_reader *br) {
    if (br->zone_made)
        msgpack_zone_destroy(&br->zone);
    br->zone_made = 0;
}
