/* flow_common.h — what the flow-control actors share (internal to actors/,
 * public API only): a FIFO of message copies, and the stats call. */
#ifndef TR_FLOW_COMMON_H
#define TR_FLOW_COMMON_H

#include <troupe.h>

/* A message waiting its turn: a copy of its type and payload. */
typedef struct flow_item {
    struct flow_item *next;
    uint32_t type;
    size_t size;
    unsigned char data[];
} flow_item;

typedef struct flow_queue {
    flow_item *head, *tail;
} flow_queue;

/* Appends a copy of (type, data, size). Returns 0 or TR_ENOMEM. */
int flow_queue_push(flow_queue *q, uint32_t type, const void *data, size_t size);
/* Removes and frees the oldest item (the queue is not empty). */
void flow_queue_drop(flow_queue *q);
/* Frees every item. */
void flow_queue_clear(flow_queue *q);

/* A stats reply of type carrying size bytes, into out. Returns 0, TR_EINVAL
 * or TR_EBADMSG. */
int flow_stats_read(tr_msg *m, uint32_t type, void *out, size_t size);
/* Asks pid for its stats (a request of type) from a plain thread. */
int flow_stats_get(tr_system *sys, tr_pid pid, uint32_t type, void *out, size_t size,
                   int timeout_ms);

/* Spawns a flow actor of spec with its config cfg (which the caller found
 * valid or not): flow_start from a plain thread, flow_start_link linked to
 * the running actor. The errors of the stock actors' start functions. */
tr_pid flow_start(tr_system *sys, const tr_actor_spec *spec, const void *cfg, int valid);
tr_pid flow_start_link(tr_ctx *cx, const tr_actor_spec *spec, const void *cfg, int valid);

#endif
