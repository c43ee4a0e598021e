/* main.c — the smallest program against an installed troupe: spawns an actor,
 * asks it for the square of 12 with tr_ask_i64, and round-trips a msgpack
 * payload (so troupe's msgpack dependency must reach the consumer too).
 * Exits 0 only if both answers are right. */
#include <troupe.h>
#include <troupe/msgpack.h>

#include <stdio.h>
#include <string.h>

enum { MSG_SQUARE = 1, MSG_PACKED };

static int square_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) != MSG_SQUARE)
        return TR_EUNHANDLED;
    int64_t x = tr_msg_i64(m);
    return tr_reply_i64(cx, m, x * x);
}

static const tr_actor_spec square_spec = {.name = "square", .receive = square_receive};

/* Packs [12, "troupe"] into a message and unpacks it again. */
static int msgpack_round_trip(tr_system *sys) {
    tr_packer p;
    if (tr_packer_init(&p, sys, MSG_PACKED) < 0)
        return 0;
    msgpack_pack_array(&p.pk, 2);
    msgpack_pack_int64(&p.pk, 12);
    msgpack_pack_str_with_body(&p.pk, "troupe", 6);
    tr_msg *m = tr_packer_finish(&p);
    if (!m)
        return 0;

    msgpack_zone zone;
    msgpack_zone_init(&zone, 256);
    msgpack_object o;
    int ok = tr_msg_unpack(m, &zone, &o) == 0 && o.type == MSGPACK_OBJECT_ARRAY &&
             o.via.array.size == 2 && o.via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             o.via.array.ptr[0].via.u64 == 12 && o.via.array.ptr[1].type == MSGPACK_OBJECT_STR &&
             o.via.array.ptr[1].via.str.size == 6 &&
             memcmp(o.via.array.ptr[1].via.str.ptr, "troupe", 6) == 0;
    msgpack_zone_destroy(&zone);
    tr_msg_free(m);
    return ok;
}

int main(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    cfg.workers = 2;
    tr_system *sys = tr_system_new(&cfg);
    if (!sys) {
        fprintf(stderr, "consumer: tr_system_new failed\n");
        return 1;
    }
    int64_t answer = 0;
    tr_pid pid = tr_spawn(sys, &square_spec, NULL);
    int rc = pid < 0 ? (int)pid : tr_ask_i64(sys, pid, MSG_SQUARE, 12, &answer, 5000);
    int packed = msgpack_round_trip(sys);
    int down = tr_system_shutdown(sys);
    printf("consumer: ask -> %s, 12*12 = %lld, msgpack round trip %s, shutdown -> %s\n",
           tr_strerror(rc), (long long)answer, packed ? "ok" : "FAILED", tr_strerror(down));
    return rc == 0 && answer == 144 && packed && down == 0 ? 0 : 1;
}
