/* msg.h — the message: a header, then the payload inline in the same pool
 * block. Sending hands the block itself to the receiver (zero copy). */
#ifndef TR_MSG_H
#define TR_MSG_H

#include "mpsc.h"

#include <troupe.h>

struct tr_worker;
struct tr_system;
struct tr_pool_local;

/* Off the message path: kept out of line so the hot loops stay small. */
#define TR_COLD __attribute__((cold, noinline))

enum tr_msg_kind {
    TR_KIND_USER = 0,     /* goes to receive */
    TR_KIND_STOP,         /* the system is stopping: exit with TR_ESTOPPED */
    TR_KIND_ASK_TIMEOUT,  /* an ask_async timer fired; delivered only if still pending */
    TR_KIND_ASK_FAILED,   /* no reply will come to this ask (payload: the reason, i64) */
    TR_KIND_RECV_TIMEOUT, /* a receive-timeout timer fired (ref: the setting's generation) */
    /* Signals (signals.c): sender = the actor they come from, payload = a
       reason (i64) where there is one, ref = a monitor's reference. */
    TR_KIND_LINK,      /* the sender linked to the receiver */
    TR_KIND_UNLINK,    /* ...and removed that link */
    TR_KIND_MONITOR,   /* the sender monitors the receiver under ref */
    TR_KIND_DEMONITOR, /* ...and removed monitor ref */
    TR_KIND_EXIT,      /* a linked actor exited with reason */
    TR_KIND_EXIT_SENT, /* tr_send_exit: an exit signal without a link */
    TR_KIND_KILL,      /* tr_kill: exit with TR_EKILLED, untrappable */
    TR_KIND_DOWN,      /* a monitored actor exited with reason */
    TR_KIND_NODE_DOWN, /* node (payload) went down: links and monitors to it fire (node.h) */
    TR_KIND_COMMAND,   /* not mail: a worker's command (command.h) */
};
#define TR_KIND_FIRST_SIGNAL TR_KIND_LINK

enum tr_msg_state { TR_MSG_OWNED = 1, TR_MSG_SENT, TR_MSG_FREE };

enum tr_msg_flags {
    TR_MSGF_REPLY = 1,   /* made by tr_reply* (or an ask timeout) */
    TR_MSGF_COUNTED = 2, /* counted in the receiver's bounded-mailbox depth */
    TR_MSGF_NOTICE = 4,  /* a signal turned into TR_MSG_EXIT / TR_MSG_DOWN for receive */
};

struct tr_msg {
    tr_node node; /* mailbox link; first, so a tr_node* is a tr_msg* */
    tr_pid to;    /* once sent: the pid it was sent to (a reused actor block rejects
                     stale mail); while owned: the owner's tr_caller_id */
    tr_pid sender;
    struct tr_system *sys; /* whose pool the block returns to */
    uint32_t type;
    uint32_t size;
    uint32_t ref; /* ask reference, 0 if none */
    uint8_t cls;  /* pool class */
    _Atomic uint8_t state;
    uint8_t kind;
    uint8_t flags;
    _Alignas(8) unsigned char data[];
};

#define TR_MSG_MAX_PAYLOAD ((size_t)64 << 20)

/* Allocates a message of kind/type with room for size payload bytes from w's
 * pool (w NULL: a plain thread). */
tr_msg *tr_msg_alloc(struct tr_system *sys, struct tr_worker *w, uint32_t type, size_t size);
/* The same from the block list of a thread that keeps one of its own
 * (node_nats.c's delivery thread), so that it takes the pool's lock once a
 * batch of blocks, not once a message. That thread only. */
tr_msg *tr_msg_alloc_in(struct tr_system *sys, struct tr_pool_local *local, uint32_t type,
                        size_t size);
/* Returns a message to the pool of w (NULL: plain thread). */
void tr_msg_release(struct tr_system *sys, struct tr_worker *w, tr_msg *m);
/* Bytes of payload the message's block can hold. */
size_t tr_msg_capacity(const tr_msg *m);
/* Grows m to hold at least size bytes, keeping its payload; returns the
 * (possibly moved) message or NULL (m untouched) when out of memory. */
tr_msg *tr_msg_grow(struct tr_system *sys, struct tr_worker *w, tr_msg *m, size_t size);

/* Delivers m (header filled but for `to`) to pid's mailbox; consumes m. */
int tr_msg_deliver(struct tr_system *sys, struct tr_worker *w, tr_pid to, tr_msg *m);

/* Copies size bytes into a new message from `from` and sends it (tr_send,
 * tr_inbox_send). */
int tr_send_from(struct tr_system *sys, tr_pid from, tr_pid to, uint32_t type, const void *data,
                 size_t size);

/* Hands m to the caller of the API: it becomes theirs to send or free. */
void tr_msg_give(tr_msg *m);

/* 0 if the caller owns m (may send or free it), else TR_EINVAL (NULL) or
 * TR_EALREADY (sent, freed, or someone else's). */
int tr_msg_check_owner(const tr_msg *m);

/* Frees m if the caller owns it; returns code. For the error paths of
 * functions that consume their message whatever they return. */
int tr_msg_consume(tr_msg *m, int code);

/* A request: a message made by tr_ask / tr_ask_async, whose asker waits. */
static inline int tr_msg_is_request(const tr_msg *m) {
    return m->ref != 0 && !(m->flags & (TR_MSGF_REPLY | TR_MSGF_NOTICE)) && m->kind == TR_KIND_USER;
}

/* Pushes the worker's outbox, if any, to its receiver. */
void tr_outbox_flush(struct tr_worker *w);

/* Counts m as a dead letter (unless it is a runtime-internal message) and
 * frees it. */
TR_COLD void tr_msg_dead_letter(struct tr_system *sys, struct tr_worker *w, tr_msg *m);

/* A message a drop policy sheds (already counted): if it was a request, its
 * asker learns at once (TR_EFULL) that no reply will come. Frees m. */
TR_COLD void tr_msg_shed(struct tr_system *sys, struct tr_worker *w, tr_msg *m);

/* A message that was in a mailbox when its actor exited (or the system
 * stopped): a dead letter, and if it was a request its asker learns at once
 * that no reply will come. */
TR_COLD void tr_msg_undeliverable(struct tr_system *sys, struct tr_worker *w, tr_msg *m);

/* The same for a message that cannot reach its receiver for `reason`: its
 * asker's ask fails with it, a LINK or MONITOR is answered with it (the
 * transport's TR_ENODEDOWN, say); a dead letter. Frees m. */
TR_COLD void tr_msg_unreachable(struct tr_system *sys, struct tr_worker *w, tr_msg *m, int reason);

/* Delivers m (consumed), which someone else made: a forwarded message or
 * one from another node. If it is a request that cannot be delivered, its
 * asker learns at once, with the error returned. */
int tr_msg_pass_on(struct tr_system *sys, struct tr_worker *w, tr_pid to, tr_msg *m);

#endif
