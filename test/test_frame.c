/* test_frame.c — runtime/frame.c: batches written and read back with every
 * field at its extremes, payloads from empty to exactly the limit (and one
 * byte over it), every truncation of a batch, hostile inputs crafted byte by
 * byte, and a deterministic fuzz of mutated and random batches. Every batch
 * is read from a heap copy of exactly its size, so that AddressSanitizer
 * sees any read past its end; a frame's payload must point into the batch. */
#include "check.h"

#include "frame.h"

#include <stdint.h>
#include <string.h>

#define MAX_PAYLOAD 70000u /* over 65535: bin32 is used */
#define MAX_FRAMES 64

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static char g_payload[MAX_PAYLOAD + MAX_FRAMES];

/* A written batch: its frames and where each ends in the buffer. */
typedef struct batch {
    tr_frame frames[MAX_FRAMES];
    size_t ends[MAX_FRAMES];
    unsigned count;
    size_t header_end;
} batch;

static void batch_write(tr_batch_writer *bw, batch *b, unsigned from_node) {
    tr_batch_reset(bw, from_node);
    b->header_end = bw->buf.size;
    for (unsigned i = 0; i < b->count; i++) {
        CHECK_EQ(tr_batch_add(bw, &b->frames[i]), 0);
        b->ends[i] = bw->buf.size;
    }
    CHECK_EQ(bw->frames, b->count);
}

/* A heap copy of exactly size bytes (at least one allocated byte, never
 * read past size). */
static char *copy_of(const char *data, size_t size) {
    char *c = malloc(size ? size : 1);
    CHECK(c != NULL);
    if (size)
        memcpy(c, data, size);
    return c;
}

static void check_inside(const tr_frame *f, const char *buf, size_t size) {
    CHECK(f->size <= size);
    CHECK(f->data >= buf && f->data - buf <= (ptrdiff_t)(size - f->size));
}

static void check_same(const tr_frame *got, const tr_frame *want) {
    CHECK_EQ(got->kind, want->kind);
    CHECK_EQ(got->flags, want->flags);
    CHECK_EQ(got->to, want->to);
    CHECK_EQ(got->from, want->from);
    CHECK_EQ(got->type, want->type);
    CHECK_EQ(got->ref, want->ref);
    CHECK_EQ(got->size, want->size);
    CHECK(got->size == 0 || memcmp(got->data, want->data, got->size) == 0);
}

/* Frames with each field at its extremes and payloads of every bin width. */
static void batch_extremes(batch *b) {
    static const uint32_t sizes[] = {0, 1, 255, 256, 65535, 65536, MAX_PAYLOAD};
    static const tr_pid pids[] = {1, 127, 128, INT32_MAX, (tr_pid)UINT32_MAX + 1, INT64_MAX};
    b->count = 24;
    for (unsigned i = 0; i < b->count; i++) {
        tr_frame *f = &b->frames[i];
        f->kind = i % 2 ? 255 : 0;
        f->flags = i % 3 ? 0 : 255;
        f->type = i % 4 < 2 ? 0 : UINT32_MAX;
        f->ref = i % 5 ? UINT32_MAX : 0;
        f->to = pids[i % 6];
        f->from = i % 7 ? pids[(i + 3) % 6] : 0;
        f->size = sizes[i % 7];
        f->data = g_payload + i;
    }
}

static void round_trip(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    batch b;
    batch_extremes(&b);
    static const unsigned nodes[] = {0, 1, 65536, UINT_MAX};
    for (unsigned k = 0; k < 4; k++) {
        batch_write(&bw, &b, nodes[k]);
        char *buf = copy_of(bw.buf.data, bw.buf.size);
        tr_batch_reader br;
        unsigned node = 12345;
        CHECK_EQ(tr_batch_open(&br, buf, bw.buf.size, MAX_PAYLOAD, &node), 0);
        CHECK_EQ(node, nodes[k]);
        for (unsigned i = 0; i < b.count; i++) {
            tr_frame f;
            CHECK_EQ(tr_batch_next(&br, &f), 1);
            check_same(&f, &b.frames[i]);
            /* Zero copy: the payload is the frame's last bytes in buf (an
             * empty one points at its bin's size byte). */
            CHECK(f.data == buf + b.ends[i] - (f.size ? f.size : 1));
        }
        tr_frame f;
        CHECK_EQ(tr_batch_next(&br, &f), 0);
        CHECK_EQ(tr_batch_next(&br, &f), 0);
        tr_batch_close(&br);
        tr_batch_close(&br);
        free(buf);
    }
    tr_batch_writer_free(&bw);
}

/* Once grown, the writer's buffer is reused: a reset allocates nothing and
 * leaves no frame of the batch before. */
static void writer_reuse(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    tr_frame f = {.kind = 1, .to = 5, .from = 6, .data = g_payload, .size = 100};
    tr_batch_reset(&bw, 3);
    for (int i = 0; i < 50; i++)
        CHECK_EQ(tr_batch_add(&bw, &f), 0);
    const char *data = bw.buf.data;
    size_t alloc = bw.buf.alloc;
    tr_batch_reset(&bw, 4);
    CHECK_EQ(bw.frames, 0);
    CHECK_EQ(tr_batch_add(&bw, &f), 0);
    CHECK(bw.buf.data == data && bw.buf.alloc == alloc);
    char *buf = copy_of(bw.buf.data, bw.buf.size);
    tr_batch_reader br;
    unsigned node;
    tr_frame g;
    CHECK_EQ(tr_batch_open(&br, buf, bw.buf.size, 100, &node), 0);
    CHECK_EQ(node, 4);
    CHECK_EQ(tr_batch_next(&br, &g), 1);
    check_same(&g, &f);
    CHECK_EQ(tr_batch_next(&br, &g), 0);
    tr_batch_close(&br);
    free(buf);
    tr_batch_writer_free(&bw);
}

/* A frame that would poison the rest of the batch is refused and leaves
 * the batch as it was. */
static void writer_refuses_bad_pids(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    tr_batch_reset(&bw, 1);
    size_t size = bw.buf.size;
    tr_frame f = {.to = 0, .from = 1};
    CHECK_EQ(tr_batch_add(&bw, &f), TR_EINVAL);
    f.to = -1;
    CHECK_EQ(tr_batch_add(&bw, &f), TR_EINVAL);
    f.to = 1;
    f.from = -1;
    CHECK_EQ(tr_batch_add(&bw, &f), TR_EINVAL);
    CHECK_EQ(bw.buf.size, size);
    CHECK_EQ(bw.frames, 0);
    tr_batch_writer_free(&bw);
}

static void header_only(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    tr_batch_reset(&bw, 7);
    char *buf = copy_of(bw.buf.data, bw.buf.size);
    tr_batch_reader br;
    unsigned node;
    tr_frame f;
    CHECK_EQ(tr_batch_open(&br, buf, bw.buf.size, 0, &node), 0);
    CHECK_EQ(node, 7);
    CHECK_EQ(tr_batch_next(&br, &f), 0);
    tr_batch_close(&br);
    free(buf);
    tr_batch_writer_free(&bw);
}

/* A payload one byte over the limit ends the batch; the frames before it
 * are read, the ones after it are not. */
static void payload_over_max(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    batch b = {.count = 3};
    for (unsigned i = 0; i < 3; i++)
        b.frames[i] = (tr_frame){.to = 1, .data = g_payload, .size = i == 1 ? 1001 : 1000};
    batch_write(&bw, &b, 0);
    char *buf = copy_of(bw.buf.data, bw.buf.size);
    tr_batch_reader br;
    unsigned node;
    tr_frame f;
    CHECK_EQ(tr_batch_open(&br, buf, bw.buf.size, 1000, &node), 0);
    CHECK_EQ(tr_batch_next(&br, &f), 1);
    CHECK_EQ(tr_batch_next(&br, &f), TR_EBADMSG);
    CHECK_EQ(tr_batch_next(&br, &f), 0);
    tr_batch_close(&br);
    free(buf);
    tr_batch_writer_free(&bw);
}

/* Every prefix of a batch: the frames wholly inside it, then the end (cut
 * between frames) or TR_EBADMSG (cut inside one); the header cut: no batch. */
static void truncations(void) {
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    batch b = {.count = 12};
    for (unsigned i = 0; i < b.count; i++)
        b.frames[i] = (tr_frame){.kind = (uint8_t)(i * 40),
                                 .flags = (uint8_t)i,
                                 .to = (tr_pid)1 << (i * 5),
                                 .from = (tr_pid)i * 1000003,
                                 .type = i * 400000000u,
                                 .ref = UINT32_MAX - i,
                                 .data = g_payload + i,
                                 .size = i * 31};
    b.frames[5].size = 300; /* bin16 */
    batch_write(&bw, &b, 99);
    for (size_t len = 0; len <= bw.buf.size; len++) {
        char *buf = copy_of(bw.buf.data, len);
        tr_batch_reader br;
        unsigned node;
        int rc = tr_batch_open(&br, buf, len, MAX_PAYLOAD, &node);
        if (len < b.header_end) {
            CHECK_EQ(rc, TR_EBADMSG);
            free(buf);
            continue;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(node, 99);
        unsigned i = 0;
        tr_frame f;
        while (i < b.count && b.ends[i] <= len) {
            CHECK_EQ(tr_batch_next(&br, &f), 1);
            check_same(&f, &b.frames[i]);
            check_inside(&f, buf, len);
            i++;
        }
        size_t at = i ? b.ends[i - 1] : b.header_end;
        CHECK_EQ(tr_batch_next(&br, &f), at == len ? 0 : TR_EBADMSG);
        CHECK_EQ(tr_batch_next(&br, &f), 0);
        tr_batch_close(&br);
        free(buf);
    }
    tr_batch_writer_free(&bw);
}

/* Hostile input, written out byte by byte. */
typedef struct hostile {
    const char *name;
    size_t size;
    unsigned char bytes[48];
} hostile;

#define H(name, ...)                                                                               \
    {                                                                                              \
        name, sizeof((unsigned char[]){__VA_ARGS__}), {                                            \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* Batches whose header is bad: tr_batch_open refuses them. */
static const hostile bad_headers[] = {
    {"empty", 0, {0}},
    H("lone fixarray", 0x92),
    H("version only", 0x92, 0x01),
    H("version 2", 0x92, 0x02, 0x00),
    H("version 0", 0x92, 0x00, 0x00),
    H("version -1", 0x92, 0xff, 0x00),
    H("node -1", 0x92, 0x01, 0xff),
    H("node over UINT_MAX", 0x92, 0x01, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0),
    H("node as str", 0x92, 0x01, 0xa1, 'x'),
    H("node as nil", 0x92, 0x01, 0xc0),
    H("node as float", 0x92, 0x01, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
    H("node truncated", 0x92, 0x01, 0xcd, 0x01),
    H("header of 3", 0x93, 0x01, 0x00, 0x00),
    H("header of 1", 0x91, 0x01),
    H("header array16", 0xdc, 0x00, 0x02, 0x01, 0x00),
    H("header as map", 0x81, 0x01, 0x00),
    H("header as int", 0x01),
    H("header as str", 0xa2, 0x01, 0x00),
    H("header as bin", 0xc4, 0x02, 0x92, 0x01),
    H("never-used byte", 0xc1),
    H("array32 of 2^31", 0xdd, 0x7f, 0xff, 0xff, 0xff),
    H("map32 of 2^31", 0xdf, 0x7f, 0xff, 0xff, 0xff),
    H("nested array32", 0x92, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff),
    H("nested arrays", 0x92, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91),
    H("bin32 of 4 GB", 0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00),
};

/* After a good header: one good frame, then a bad one. */
static const unsigned char good_frame[] = {0x97, 0x01, 0x02, 0x00, 0x03,
                                           0x04, 0x00, 0xc4, 0x01, 0xaa};

static const hostile bad_frames[] = {
    H("lone fixarray", 0x97),
    H("fixarray of 6", 0x96, 0, 1, 0, 0, 0, 0),
    H("fixarray of 8", 0x98, 0, 1, 0, 0, 0, 0, 0xc4, 0x00, 0x00),
    H("array16 of 7", 0xdc, 0x00, 0x07, 0, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("array32 of 2^31", 0xdd, 0x7f, 0xff, 0xff, 0xff),
    H("map32 of 2^31", 0xdf, 0x7f, 0xff, 0xff, 0xff),
    H("map", 0x87, 0, 1, 0, 0, 0, 0, 0xc4),
    H("payload array32 of 2^31", 0x97, 0, 1, 0, 0, 0, 0, 0xdd, 0x7f, 0xff, 0xff, 0xff),
    H("payload map16", 0x97, 0, 1, 0, 0, 0, 0, 0xde, 0xff, 0xff),
    H("kind array16", 0x97, 0xdc, 0xff, 0xff, 0xdc, 0xff, 0xff),
    H("nested fixarrays", 0x97, 0x97, 0x97, 0x97, 0x97, 0x97, 0x97, 0x97, 0x97, 0x97),
    H("kind 256", 0x97, 0xcd, 0x01, 0x00, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("kind -1", 0x97, 0xff, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("kind nil", 0x97, 0xc0, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("kind true", 0x97, 0xc3, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("kind bin", 0x97, 0xc4, 0x00, 1, 0, 0, 0, 0, 0xc4, 0x00),
    H("to 0", 0x97, 0, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("to -1", 0x97, 0, 0xff, 0, 0, 0, 0, 0xc4, 0x00),
    H("to INT64_MIN", 0x97, 0, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("to 2^63", 0x97, 0, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("to UINT64_MAX", 0x97, 0, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
      0xc4, 0x00),
    H("from -1", 0x97, 0, 1, 0xff, 0, 0, 0, 0xc4, 0x00),
    H("from 2^63", 0x97, 0, 1, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("type 2^32", 0x97, 0, 1, 0, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("type -1", 0x97, 0, 1, 0, 0xd2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xc4, 0x00),
    H("type float", 0x97, 0, 1, 0, 0xca, 0x3f, 0x80, 0, 0, 0, 0, 0xc4, 0x00),
    H("ref 2^32", 0x97, 0, 1, 0, 0, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0xc4, 0x00),
    H("ref -32", 0x97, 0, 1, 0, 0, 0xe0, 0, 0xc4, 0x00),
    H("flags 256", 0x97, 0, 1, 0, 0, 0, 0xcd, 0x01, 0x00, 0xc4, 0x00),
    H("flags -128", 0x97, 0, 1, 0, 0, 0, 0xd0, 0x80, 0xc4, 0x00),
    H("payload str", 0x97, 0, 1, 0, 0, 0, 0, 0xa3, 'a', 'b', 'c'),
    H("payload str8", 0x97, 0, 1, 0, 0, 0, 0, 0xd9, 0x01, 'a'),
    H("payload map", 0x97, 0, 1, 0, 0, 0, 0, 0x80),
    H("payload array", 0x97, 0, 1, 0, 0, 0, 0, 0x90),
    H("payload nil", 0x97, 0, 1, 0, 0, 0, 0, 0xc0),
    H("payload int", 0x97, 0, 1, 0, 0, 0, 0, 0x05),
    H("payload ext", 0x97, 0, 1, 0, 0, 0, 0, 0xd4, 0x01, 0x00),
    H("payload missing", 0x97, 0, 1, 0, 0, 0, 0),
    H("bin8 past the end", 0x97, 0, 1, 0, 0, 0, 0, 0xc4, 0x05, 1, 2),
    H("bin16 past the end", 0x97, 0, 1, 0, 0, 0, 0, 0xc5, 0x03, 0xe8, 1, 2, 3),
    H("bin32 of 4 GB", 0x97, 0, 1, 0, 0, 0, 0, 0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2, 3),
    H("bin32 of 2 GB", 0x97, 0, 1, 0, 0, 0, 0, 0xc6, 0x80, 0, 0, 0, 1),
    H("bin32 header cut", 0x97, 0, 1, 0, 0, 0, 0, 0xc6, 0xff, 0xff),
    H("bin over the limit", 0x97, 0, 1, 0, 0, 0, 0, 0xc4, 0x05, 1, 2, 3, 4, 5),
    H("uint64 cut", 0x97, 0, 0xcf, 0x00, 0x00),
    H("trailing never-used byte", 0xc1),
    H("trailing zero", 0x00),
    H("trailing nil", 0xc0),
    H("trailing str", 0xa1, 'x'),
    H("header again", 0x92, 0x01, 0x00),
};

static const unsigned char good_header[] = {0x92, 0x01, 0x05};

static void hostile_headers(void) {
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        const hostile *h = &bad_headers[i];
        char *buf = copy_of((const char *)h->bytes, h->size);
        tr_batch_reader br;
        unsigned node = 77;
        if (tr_batch_open(&br, buf, h->size, MAX_PAYLOAD, &node) != TR_EBADMSG) {
            fprintf(stderr, "bad header accepted: %s\n", h->name);
            exit(1);
        }
        CHECK_EQ(node, 77);
        free(buf);
    }
}

static void hostile_frames(void) {
    for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
        const hostile *h = &bad_frames[i];
        size_t size = sizeof good_header + sizeof good_frame + h->size;
        char *buf = malloc(size);
        CHECK(buf != NULL);
        memcpy(buf, good_header, sizeof good_header);
        memcpy(buf + sizeof good_header, good_frame, sizeof good_frame);
        memcpy(buf + sizeof good_header + sizeof good_frame, h->bytes, h->size);
        tr_batch_reader br;
        unsigned node;
        tr_frame f;
        CHECK_EQ(tr_batch_open(&br, buf, size, 4, &node), 0);
        CHECK_EQ(node, 5);
        CHECK_EQ(tr_batch_next(&br, &f), 1);
        CHECK(f.kind == 1 && f.to == 2 && f.from == 0 && f.type == 3 && f.ref == 4);
        CHECK(f.size == 1 && (unsigned char)f.data[0] == 0xaa);
        if (tr_batch_next(&br, &f) != TR_EBADMSG) {
            fprintf(stderr, "bad frame accepted: %s\n", h->name);
            exit(1);
        }
        CHECK_EQ(tr_batch_next(&br, &f), 0);
        tr_batch_close(&br);
        free(buf);
    }
}

/* Reads a batch to its end, checking only that the reader keeps to the
 * contract: it stops, says 1, 0 or TR_EBADMSG, and its frames lie inside
 * the buffer and within their ranges. Returns the frames read. */
static unsigned read_all(const char *data, size_t size, uint32_t max_payload, int *bad) {
    char *buf = copy_of(data, size);
    tr_batch_reader br;
    unsigned node, frames = 0;
    int rc = tr_batch_open(&br, buf, size, max_payload, &node);
    CHECK(rc == 0 || rc == TR_EBADMSG);
    *bad = rc != 0;
    if (rc == 0) {
        tr_frame f;
        while ((rc = tr_batch_next(&br, &f)) == 1) {
            check_inside(&f, buf, size);
            CHECK(f.to > 0 && f.from >= 0 && f.size <= max_payload);
            CHECK(++frames <= size / 8); /* a frame takes 8 bytes at least */
        }
        CHECK(rc == 0 || rc == TR_EBADMSG);
        *bad = rc != 0;
        tr_batch_close(&br);
    }
    free(buf);
    return frames;
}

static void fuzz(void) {
    static const unsigned char interesting[] = {0x00, 0x7f, 0x80, 0x90, 0x97, 0xc0,
                                                0xc1, 0xc4, 0xc5, 0xc6, 0xcf, 0xd3,
                                                0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    tr_batch_writer bw;
    tr_batch_writer_init(&bw);
    char buf[1024];
    unsigned frames = 0, bad = 0, good = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t size;
        if (iter % 4 == 3) {
            /* Random bytes, half of them behind a good header. */
            size = check_rand(&g_rng) % 64;
            size_t start = 0;
            if (iter % 8 == 3 && size >= sizeof good_header) {
                memcpy(buf, good_header, sizeof good_header);
                start = sizeof good_header;
            }
            for (size_t i = start; i < size; i++)
                buf[i] = (char)check_rand(&g_rng);
        } else {
            /* A valid batch of a few frames, then some of its bytes changed. */
            tr_batch_reset(&bw, (unsigned)check_rand(&g_rng));
            unsigned n = 1 + check_rand(&g_rng) % 5;
            for (unsigned i = 0; i < n; i++) {
                uint64_t r = check_rand(&g_rng);
                tr_frame f = {.kind = (uint8_t)r,
                              .flags = (uint8_t)(r >> 8),
                              .to = (tr_pid)((r >> (r % 63 + 1)) | 1),
                              .from = (tr_pid)(r >> 33),
                              .type = (uint32_t)(r >> 5),
                              .ref = (uint32_t)(r >> 20),
                              .data = g_payload,
                              .size = (uint32_t)(check_rand(&g_rng) % 80)};
                CHECK_EQ(tr_batch_add(&bw, &f), 0);
            }
            size = bw.buf.size;
            CHECK(size <= sizeof buf);
            memcpy(buf, bw.buf.data, size);
            unsigned changes = 1 + check_rand(&g_rng) % 4;
            for (unsigned c = 0; c < changes; c++) {
                uint64_t r = check_rand(&g_rng);
                size_t at = (size_t)(r >> 16) % size;
                switch (r % 4) {
                case 0: buf[at] = (char)(r >> 8); break;
                case 1: buf[at] ^= (char)(1u << (r >> 8) % 8); break;
                case 2: buf[at] = (char)interesting[(r >> 8) % sizeof interesting]; break;
                case 3: size = at + 1; break; /* cut */
                }
            }
        }
        int was_bad;
        unsigned got = read_all(buf, size, 64, &was_bad);
        frames += got;
        bad += (unsigned)was_bad;
        good += (unsigned)(!was_bad && got > 0);
    }
    /* The fuzz reached past the header, and both outcomes happened. */
    CHECK(frames > 10000 && bad > 1000 && good > 100);
    tr_batch_writer_free(&bw);
}

int main(void) {
    check_pattern_fill(g_payload, sizeof g_payload, 17);
    RUN(round_trip);
    RUN(writer_reuse);
    RUN(writer_refuses_bad_pids);
    RUN(header_only);
    RUN(payload_over_max);
    RUN(truncations);
    RUN(hostile_headers);
    RUN(hostile_frames);
    RUN(fuzz);
    return check_summary();
}
