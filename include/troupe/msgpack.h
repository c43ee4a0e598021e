/* troupe/msgpack.h — msgpack payloads for troupe messages (msgpack-c).
 *
 * Build a message by packing into it with the ordinary msgpack_pack_* calls
 * (the packer writes straight into a message from the worker's pool, so the
 * payload is never copied), send it with tr_msg_send, and read it on the
 * receiving side as a msgpack_object tree. Because a msgpack payload is self
 * describing, the same bytes can cross to another node unchanged. */
#ifndef TROUPE_MSGPACK_H
#define TROUPE_MSGPACK_H

#include <msgpack.h>
#include <troupe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Packs one message. Fill it between tr_packer_init and tr_packer_finish with
 * msgpack_pack_*(&pk->pk, ...). Owned by the caller (usually on the stack);
 * used by one thread. Fields other than pk are private. */
typedef struct tr_packer {
    msgpack_packer pk;
    tr_system *sys;
    tr_msg *msg;
    size_t used;
    int err;
} tr_packer;

/* Starts a message of the given type. Returns 0, TR_EINVAL (NULL argument or a
 * reserved type), TR_ESTOPPED or TR_ENOMEM. Any thread; the msgpack_pack_*
 * calls in between touch the system's pools, so finish or discard a packer
 * before tr_system_shutdown. */
TR_API int tr_packer_init(tr_packer *p, tr_system *sys, uint32_t type);

/* Ends packing and hands the message to the calling actor or thread (to
 * send, or to free with tr_msg_free). Returns NULL if packing ran out of memory or went past 64
 * MiB; the packer's memory is released either way. */
TR_API tr_msg *tr_packer_finish(tr_packer *p);

/* Releases an unfinished packer without producing a message. */
TR_API void tr_packer_discard(tr_packer *p);

/* Parses m's payload as exactly one msgpack object into *out, allocating from
 * zone (which the caller owns; the object lives as long as the zone and m).
 * Inside an actor, tr_ctx_zone gives a zone that is cleared after each
 * callback. Returns 0, TR_EINVAL (NULL argument) or TR_EBADMSG (empty,
 * malformed, truncated, trailing bytes, or containers nested more than 32
 * deep: msgpack-c's parser stack, MSGPACK_EMBED_STACK_SIZE). Any thread. */
TR_API int tr_msg_unpack(const tr_msg *m, msgpack_zone *zone, msgpack_object *out);

/* A zone owned by the worker running the actor, cleared once the current
 * callback returns: objects unpacked into it must not be kept past that. NULL
 * outside an actor or on TR_ENOMEM. Actor only. */
TR_API msgpack_zone *tr_ctx_zone(tr_ctx *cx);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_MSGPACK_H */
