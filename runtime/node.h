/* node.h — the runtime's side of distribution (troupe/node.h): where the
 * core hands mail for other nodes to the transport, and where it lets the
 * transport go.
 *
 * Routing (msg.c): a pid names its node in its 12 node bits. Mail for a pid
 * of another node (below TR_IO_NODE), and replies to a plain thread's ask
 * made on another node (a waiter pid carries its node: waiter.h), go to
 * tr_node_route. Until tr_node_start, sys->node is 0 and there is no
 * transport: such mail is a dead letter.
 *
 * Order per pair: a worker batches what its actors send to one node and
 * publishes the batch when the turn ends (tr_node_flush), before the actor
 * can run anywhere else; plain threads publish at once. One NATS connection
 * per node keeps publishes in order, and one subscription thread delivers
 * what arrives, in order. */
#ifndef TR_NODE_INTERNAL_H
#define TR_NODE_INTERNAL_H

#include "system.h"

/* Whether mail for node goes through the transport: only once this system
 * is a node itself (before, a pid of any other node is a dead letter). */
static inline int tr_node_is_remote(const tr_system *sys, unsigned node) {
    unsigned self =
        atomic_load_explicit(&sys->node, memory_order_acquire); /* sys->remote set before */
    return self != 0 && node != self && node != 0 && node < TR_IO_NODE;
}

/* Frames m (consumed) for the node of `node`, on worker w (NULL: a plain
 * thread). Returns 0, or TR_ENOACTOR when that node is down or unknown (m
 * is then a counted dead letter; a LINK or MONITOR is answered with
 * TR_ENODEDOWN), TR_ETOOBIG, TR_ENOMEM. */
int tr_node_route(tr_system *sys, tr_worker *w, unsigned node, tr_msg *m);

/* Publishes what w's actors sent to other nodes in this turn. Owner. */
void tr_node_flush(tr_worker *w);

/* Closes the connection once the workers are gone (system_finish): no more
 * mail arrives after it returns. And frees what is left (system_free). */
void tr_node_stop(tr_system *sys);
void tr_node_free(tr_system *sys);

#endif
