/* test_msgpack.c — msgpack payloads. A document packed with tr_packer (on a
 * plain thread, and inside an actor) crosses as a message and unpacks on the
 * other side field for field; payloads that are empty, truncated, garbage or
 * followed by trailing bytes are refused with TR_EBADMSG, in an actor and on a
 * plain thread alike; large payloads (100 KiB string, 1 MiB bin) arrive whole;
 * the packer and unpacker refuse NULL and reserved types. */
#include "check.h"

#include <string.h>
#include <troupe/msgpack.h>

enum { MSG_DOC = 1, MSG_RAW, MSG_BIG };

#define BIG_STR (100 * 1024)
#define BIG_BIN (1024 * 1024)

/* ---- the document: {"name": "troupe", "list": [1, -2, 3000000000, nil, true,
 * 2.5], "n": 42, "blob": bin(0, 1, 2)} ------------------------------------- */

static tr_msg *pack_doc(tr_system *sys) {
    static const char blob[] = {0, 1, 2};
    tr_packer p;
    CHECK_EQ(tr_packer_init(&p, sys, MSG_DOC), 0);
    msgpack_packer *pk = &p.pk;
    CHECK_EQ(msgpack_pack_map(pk, 4), 0);
    CHECK_EQ(msgpack_pack_str_with_body(pk, "name", 4), 0);
    CHECK_EQ(msgpack_pack_str_with_body(pk, "troupe", 6), 0);
    CHECK_EQ(msgpack_pack_str_with_body(pk, "list", 4), 0);
    CHECK_EQ(msgpack_pack_array(pk, 6), 0);
    CHECK_EQ(msgpack_pack_int64(pk, 1), 0);
    CHECK_EQ(msgpack_pack_int64(pk, -2), 0);
    CHECK_EQ(msgpack_pack_uint64(pk, 3000000000u), 0);
    CHECK_EQ(msgpack_pack_nil(pk), 0);
    CHECK_EQ(msgpack_pack_true(pk), 0);
    CHECK_EQ(msgpack_pack_double(pk, 2.5), 0);
    CHECK_EQ(msgpack_pack_str_with_body(pk, "n", 1), 0);
    CHECK_EQ(msgpack_pack_int64(pk, 42), 0);
    CHECK_EQ(msgpack_pack_str_with_body(pk, "blob", 4), 0);
    CHECK_EQ(msgpack_pack_bin_with_body(pk, blob, sizeof blob), 0);
    tr_msg *m = tr_packer_finish(&p);
    CHECK(m != NULL);
    CHECK_EQ(tr_msg_type(m), MSG_DOC);
    return m;
}

static int is_str(const msgpack_object *o, const char *s) {
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

static void check_doc(const msgpack_object *o) {
    CHECK_EQ(o->type, MSGPACK_OBJECT_MAP);
    CHECK_EQ(o->via.map.size, 4);
    const msgpack_object_kv *kv = o->via.map.ptr;

    CHECK(is_str(&kv[0].key, "name"));
    CHECK(is_str(&kv[0].val, "troupe"));

    CHECK(is_str(&kv[1].key, "list"));
    CHECK_EQ(kv[1].val.type, MSGPACK_OBJECT_ARRAY);
    CHECK_EQ(kv[1].val.via.array.size, 6);
    const msgpack_object *list = kv[1].val.via.array.ptr;
    CHECK_EQ(list[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CHECK_EQ(list[0].via.u64, 1);
    CHECK_EQ(list[1].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    CHECK_EQ(list[1].via.i64, -2);
    CHECK_EQ(list[2].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CHECK_EQ(list[2].via.u64, 3000000000u);
    CHECK_EQ(list[3].type, MSGPACK_OBJECT_NIL);
    CHECK_EQ(list[4].type, MSGPACK_OBJECT_BOOLEAN);
    CHECK(list[4].via.boolean);
    CHECK_EQ(list[5].type, MSGPACK_OBJECT_FLOAT64);
    CHECK(list[5].via.f64 == 2.5);

    CHECK(is_str(&kv[2].key, "n"));
    CHECK_EQ(kv[2].val.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CHECK_EQ(kv[2].val.via.u64, 42);

    CHECK(is_str(&kv[3].key, "blob"));
    CHECK_EQ(kv[3].val.type, MSGPACK_OBJECT_BIN);
    CHECK_EQ(kv[3].val.via.bin.size, 3);
    CHECK(memcmp(kv[3].val.via.bin.ptr, "\0\1\2", 3) == 0);
}

/* The reader unpacks in the actor, into tr_ctx_zone:
 *   MSG_DOC  checks the document and answers with one it packs itself;
 *   MSG_RAW  answers with tr_msg_unpack's return code;
 *   MSG_BIG  checks a [100 KiB str, 1 MiB bin] pair and answers 1. */
static int reader_receive(tr_ctx *cx, void *state, tr_msg *m) {
    msgpack_zone *zone = tr_ctx_zone(cx);
    CHECK(zone != NULL);
    msgpack_object o;
    switch (tr_msg_type(m)) {
    case MSG_DOC:
        CHECK_EQ(tr_msg_unpack(m, zone, &o), 0);
        check_doc(&o);
        return tr_reply_msg(cx, m, pack_doc(tr_ctx_system(cx)));
    case MSG_RAW: return tr_reply_i64(cx, m, tr_msg_unpack(m, zone, &o));
    case MSG_BIG:
        CHECK_EQ(tr_msg_unpack(m, zone, &o), 0);
        CHECK_EQ(o.type, MSGPACK_OBJECT_ARRAY);
        CHECK_EQ(o.via.array.size, 2);
        CHECK_EQ(o.via.array.ptr[0].type, MSGPACK_OBJECT_STR);
        CHECK_EQ(o.via.array.ptr[0].via.str.size, BIG_STR);
        CHECK(check_pattern_ok(o.via.array.ptr[0].via.str.ptr, BIG_STR, 1));
        CHECK_EQ(o.via.array.ptr[1].type, MSGPACK_OBJECT_BIN);
        CHECK_EQ(o.via.array.ptr[1].via.bin.size, BIG_BIN);
        CHECK(check_pattern_ok(o.via.array.ptr[1].via.bin.ptr, BIG_BIN, 2));
        return tr_reply_i64(cx, m, 1);
    }
    return check_idle_receive(cx, state, m);
}

static const tr_actor_spec reader_spec = {.name = "reader", .receive = reader_receive};

static void end_reader(tr_system *sys, tr_pid reader) {
    CHECK_EQ(tr_send_i64(sys, reader, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 0);
}

static void document_round_trip(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid reader = check_spawn(sys, &reader_spec, NULL);

    for (int i = 0; i < 10; i++) {
        tr_msg *reply = NULL;
        CHECK_EQ(tr_ask(sys, reader, pack_doc(sys), &reply, -1), 0);
        CHECK_EQ(tr_msg_type(reply), MSG_DOC);
        msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
        CHECK(zone != NULL);
        msgpack_object o;
        CHECK_EQ(tr_msg_unpack(reply, zone, &o), 0); /* packed inside the actor */
        check_doc(&o);
        msgpack_zone_free(zone);
        CHECK_EQ(tr_msg_free(reply), 0);
    }
    end_reader(sys, reader);
}

/* ---- malformed payloads ---------------------------------------------------- */

static tr_msg *raw_msg(tr_system *sys, const void *bytes, size_t size) {
    tr_msg *m = check_msg(sys, MSG_RAW, size);
    if (size > 0)
        memcpy(tr_msg_data(m), bytes, size);
    return m;
}

/* Unpacks bytes on this thread and in the reader; both must return expected. */
static void check_unpack(tr_system *sys, tr_pid reader, const void *bytes, size_t size,
                         int expected) {
    msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    CHECK(zone != NULL);
    tr_msg *m = raw_msg(sys, bytes, size);
    msgpack_object o;
    CHECK_EQ(tr_msg_unpack(m, zone, &o), expected);
    CHECK_EQ(tr_msg_free(m), 0);
    msgpack_zone_free(zone);

    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, reader, raw_msg(sys, bytes, size), &reply, -1), 0);
    CHECK_EQ(tr_msg_i64(reply), expected);
    CHECK_EQ(tr_msg_free(reply), 0);
}

static void malformed_payloads(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid reader = check_spawn(sys, &reader_spec, NULL);

    unsigned char doc[256];
    tr_msg *m = pack_doc(sys);
    size_t n = tr_msg_size(m);
    CHECK(n > 8 && n < sizeof doc - 1);
    memcpy(doc, tr_msg_data(m), n);
    CHECK_EQ(tr_msg_free(m), 0);
    check_unpack(sys, reader, doc, n, 0);

    check_unpack(sys, reader, NULL, 0, TR_EBADMSG);    /* empty */
    check_unpack(sys, reader, doc, n - 1, TR_EBADMSG); /* truncated */
    check_unpack(sys, reader, doc, n / 2, TR_EBADMSG);
    check_unpack(sys, reader, doc, 1, TR_EBADMSG);
    doc[n] = 0x01;
    check_unpack(sys, reader, doc, n + 1, TR_EBADMSG); /* trailing byte */

    static const unsigned char never_used[] = {0xc1};
    static const unsigned char short_str[] = {0xd9, 0xff, 'a'};
    static const unsigned char huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const unsigned char two_ints[] = {0x05, 0x06};
    static const unsigned char one_int[] = {0x05};
    check_unpack(sys, reader, never_used, sizeof never_used, TR_EBADMSG);
    check_unpack(sys, reader, short_str, sizeof short_str, TR_EBADMSG);
    check_unpack(sys, reader, huge_array, sizeof huge_array, TR_EBADMSG);
    check_unpack(sys, reader, two_ints, sizeof two_ints, TR_EBADMSG);
    check_unpack(sys, reader, one_int, sizeof one_int, 0);

    /* A packer that packed nothing makes an empty payload. */
    tr_packer p;
    CHECK_EQ(tr_packer_init(&p, sys, MSG_RAW), 0);
    m = tr_packer_finish(&p);
    CHECK(m != NULL);
    CHECK_EQ(tr_msg_size(m), 0);
    tr_msg *reply = NULL;
    CHECK_EQ(tr_ask(sys, reader, m, &reply, -1), 0);
    CHECK_EQ(tr_msg_i64(reply), TR_EBADMSG);
    CHECK_EQ(tr_msg_free(reply), 0);

    end_reader(sys, reader);
}

/* ---- large payloads -------------------------------------------------------- */

static void large_payloads(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid reader = check_spawn(sys, &reader_spec, NULL);
    unsigned char *str = malloc(BIG_STR), *bin = malloc(BIG_BIN);
    CHECK(str != NULL && bin != NULL);
    check_pattern_fill(str, BIG_STR, 1);
    check_pattern_fill(bin, BIG_BIN, 2);

    for (int i = 0; i < 3; i++) {
        tr_packer p;
        CHECK_EQ(tr_packer_init(&p, sys, MSG_BIG), 0);
        CHECK_EQ(msgpack_pack_array(&p.pk, 2), 0);
        CHECK_EQ(msgpack_pack_str_with_body(&p.pk, str, BIG_STR), 0);
        CHECK_EQ(msgpack_pack_bin_with_body(&p.pk, bin, BIG_BIN), 0);
        tr_msg *m = tr_packer_finish(&p);
        CHECK(m != NULL);
        CHECK(tr_msg_size(m) > BIG_STR + BIG_BIN);
        tr_msg *reply = NULL;
        CHECK_EQ(tr_ask(sys, reader, m, &reply, -1), 0);
        CHECK_EQ(tr_msg_i64(reply), 1);
        CHECK_EQ(tr_msg_free(reply), 0);
    }
    free(str);
    free(bin);
    end_reader(sys, reader);
}

/* ---- misuse ---------------------------------------------------------------- */

static void packer_misuse(void) {
    tr_system *sys = check_system(1, 64);
    tr_packer p;
    CHECK_EQ(tr_packer_init(NULL, sys, MSG_DOC), TR_EINVAL);
    CHECK_EQ(tr_packer_init(&p, NULL, MSG_DOC), TR_EINVAL);
    CHECK_EQ(tr_packer_init(&p, sys, TR_MSG_RESERVED), TR_EINVAL);
    CHECK_EQ(tr_packer_init(&p, sys, TR_MSG_ASK_TIMEOUT), TR_EINVAL);

    /* A discarded packer leaves nothing behind (ASan would see a leak). */
    CHECK_EQ(tr_packer_init(&p, sys, MSG_DOC), 0);
    CHECK_EQ(msgpack_pack_array(&p.pk, 1000), 0);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(msgpack_pack_int64(&p.pk, i), 0);
    tr_packer_discard(&p);

    msgpack_zone *zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    CHECK(zone != NULL);
    msgpack_object o;
    tr_msg *m = pack_doc(sys);
    CHECK_EQ(tr_msg_unpack(NULL, zone, &o), TR_EINVAL);
    CHECK_EQ(tr_msg_unpack(m, NULL, &o), TR_EINVAL);
    CHECK_EQ(tr_msg_unpack(m, zone, NULL), TR_EINVAL);
    CHECK_EQ(tr_msg_unpack(m, zone, &o), 0);
    check_doc(&o);
    CHECK_EQ(tr_msg_free(m), 0);
    msgpack_zone_free(zone);
    CHECK(tr_ctx_zone(NULL) == NULL);

    CHECK_EQ(tr_system_shutdown(sys), 0);
}

int main(void) {
    RUN(document_round_trip);
    RUN(malformed_payloads);
    RUN(large_payloads);
    RUN(packer_misuse);
    return check_summary();
}
