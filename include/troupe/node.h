/* troupe/node.h — distribution: troupe systems in several processes and on
 * several machines, connected through a NATS server (nats.io).
 *
 * A system becomes a node of a cluster with tr_node_start. From then on, pids
 * name their node (the pid's 12 node bits hold the node id) and everything
 * that takes a pid works across nodes: tr_send, tr_msg_send, tr_msg_forward,
 * tr_ask and tr_ask_async, tr_reply, tr_link, tr_monitor, tr_send_exit and
 * tr_kill. Each pair of actors keeps its order across nodes.
 *
 *   transport   every node subscribes to one subject of its own
 *               ("<cluster>.n.<id>"); mail for another node is encoded as a
 *               msgpack frame and published there. A worker's frames for one
 *               node are batched into one NATS message per callback. Frames
 *               carry the sender's and the receiver's pids, the type, the
 *               ask reference and the payload (at most cfg.max_frame bytes,
 *               and no more than the server's max_payload less 64: a bigger
 *               send is TR_ETOOBIG). The NATS client runs on its own
 *               threads (libnats' reader and flusher), not on a worker's loop.
 *   ids         a node's id is taken at start from a counter in the
 *               cluster's JetStream key-value bucket ("<cluster>"), so a node
 *               that restarts gets a new id (a new incarnation): pids of the
 *               old one stay dead, and mail to them is a counted dead letter.
 *               Ids run from 1 to TR_NODE_MAX and are reused only after the
 *               counter wraps, skipping ids still alive (a node that saw an
 *               id's earlier incarnation go down takes the reuse for down
 *               too: that needs 4,093 node starts within its lifetime).
 *   membership  each node refreshes its key ("node.<id>") and publishes a
 *               heartbeat every cfg.heartbeat_ms; a node not heard from for
 *               cfg.down_after_ms, one that says goodbye (tr_system_shutdown),
 *               and every other node when this node's connection drops, is
 *               down, for good: down names an incarnation, and a node cut off
 *               that way must restart to rejoin (the others have marked it
 *               down too; its new incarnation gets a new id).
 *   down        when a node goes down, every local monitor of one of its
 *               actors gets TR_MSG_DOWN with reason TR_ENODEDOWN, and every
 *               local link to one gets the exit signal TR_ENODEDOWN (as
 *               Erlang's noconnection), and asks waiting on one (tr_ask, and
 *               an actor's tr_ask_async) fail with TR_ENODEDOWN. Mail to a
 *               down node is a dead letter: a send or an ask to it returns
 *               TR_ENOACTOR, as for any dead pid, and a link or monitor set
 *               then fires at once with TR_ENODEDOWN.
 *   names       tr_register_global names a pid for the whole cluster (a key
 *               "name.<name>" in the bucket, held while the registering node
 *               is alive and the actor lives); tr_whereis_global finds it
 *               from any node.
 *   security    user and password, or a token, and TLS (CA, client
 *               certificate and key) go to the NATS client; a node with
 *               wrong credentials gets TR_EAUTH from tr_node_start. A node
 *               takes only frames addressed to pids it owns, and signals
 *               (links, monitors, exits) only from actors of the node that
 *               published them (a message may carry another node's sender:
 *               it was forwarded); anything else (malformed, truncated, wrong
 *               types, oversized) is counted and dropped.
 *   addresses   the pid of a plain thread's inbox or ask names the node
 *               TR_WAITER_NODE for tr_pid_node (4095) but carries the node
 *               that made it, and replies find their way back there. Sockets
 *               (troupe/tcp.h) are local: their pids do not cross nodes.
 *
 * Built only when libnats is found (CMake option TROUPE_WITH_NATS); without
 * it every function here returns TR_ENOTSUP. The first node of a process
 * opens the NATS library and the last one to stop closes it
 * (nats_CloseAndWait, so that no libnats thread outlives it): a program that
 * also uses libnats itself must destroy its own NATS objects before its last
 * node stops. */
#ifndef TROUPE_NODE_H
#define TROUPE_NODE_H

#include <troupe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest node id (ids are 12 bits; the top two values are reserved). */
#define TR_NODE_MAX 4093u

typedef struct tr_node_config {
    const char *url;     /* NATS server(s), "nats://host:port[,nats://...]" (required) */
    const char *cluster; /* subject and bucket prefix (default "troupe"): nodes of one
                            cluster share it; letters, digits, '-' and '_' only */
    const char *name;    /* this node's name, for people (default "node") */
    const char *user;    /* user and password, or */
    const char *password;
    const char *token;    /* a token (NULL: none) */
    int tls;              /* nonzero: TLS to the server */
    const char *tls_ca;   /* CA certificates to trust (PEM file), or NULL */
    const char *tls_cert; /* client certificate and key (PEM files), or NULL */
    const char *tls_key;
    unsigned heartbeat_ms;  /* default 250 */
    unsigned down_after_ms; /* default 4 x heartbeat_ms */
    unsigned max_frame;     /* largest payload sent or accepted, bytes (default 1 MiB) */
    int connect_timeout_ms; /* default 2000 */
} tr_node_config;

/* Connects sys to the cluster as a new node. Must be called before the
 * first tr_spawn (pids made earlier would name no node): TR_EALREADY
 * otherwise, or when sys is a node already. Blocks until connected and
 * known to the cluster. Returns the node id (1..TR_NODE_MAX) or: TR_EINVAL
 * (cfg or its url NULL, a bad cluster name, a name of 64 characters or
 * more), TR_ENOTSUP (built without NATS), TR_ECONNREFUSED (no server answers
 * at url), TR_EAUTH (the server refused the credentials), TR_ENOJETSTREAM
 * (the server has no JetStream), TR_ETIMEDOUT (no id free, or the bucket
 * did not answer), TR_ENOMEM, TR_ESYS. cfg and its strings are not kept.
 * The node leaves the cluster in tr_system_shutdown. Plain thread only
 * (TR_EINACTOR from a callback), and not from two threads at once. */
TR_API int tr_node_start(tr_system *sys, const tr_node_config *cfg);

/* This system's node id, or 0 if it is not a node. Any thread. */
TR_API unsigned tr_node_self(tr_system *sys);

/* Whether node id is up as far as this node knows: 1 up, 0 down or never
 * seen. This node itself is up. Any thread. */
TR_API int tr_node_up(tr_system *sys, unsigned node);

/* Names pid for the whole cluster. Returns 0, TR_EEXIST (the name is held
 * by a live actor of a live node), TR_EINVAL (bad name: 1-64 letters,
 * digits, '-', '_' or '.'; pid not a local actor), TR_ENOACTOR (pid is
 * dead), TR_ENOTSUP (not a node), TR_ETIMEDOUT (no answer from the bucket),
 * TR_ECONNREFUSED (the connection is down), TR_EAUTH (the server refused
 * the bucket), TR_ENOMEM, TR_ESYS. name is copied. The name is dropped when
 * the actor exits or its node goes down, and when another node took it over
 * while the cluster took this node for down (the new holder keeps it).
 * Blocks for a round trip to the server: plain thread or actor (an actor's
 * worker waits). */
TR_API int tr_register_global(tr_system *sys, const char *name, tr_pid pid);

/* Drops a global name this node registered (name is not kept): this node
 * forgets it at once, and gives up its key in the bucket if the key still
 * names the same pid (if the server does not answer, the key expires after
 * down_after_ms). Returns 0, TR_EINVAL (sys or name NULL), TR_ENOTFOUND (a
 * bad name, or not registered by this node), TR_ENOTSUP (not a node).
 * Blocks for two round trips to the server: plain thread or actor, as
 * tr_register_global. */
TR_API int tr_unregister_global(tr_system *sys, const char *name);

/* The pid registered under name anywhere in the cluster, or TR_ENOTFOUND
 * (also when its node is down), TR_EINVAL, TR_ENOTSUP, TR_ETIMEDOUT,
 * TR_ECONNREFUSED, TR_EAUTH, TR_ENOMEM, TR_ESYS (as a negative tr_pid).
 * Blocks for a round trip to the server: plain thread or actor, as
 * tr_register_global (name is not kept). */
TR_API tr_pid tr_whereis_global(tr_system *sys, const char *name);

typedef struct tr_node_stats {
    uint64_t frames_out, frames_in;   /* messages and signals sent / taken */
    uint64_t batches_out, batches_in; /* NATS messages published / received */
    uint64_t bad_frames;              /* malformed, foreign or oversized: dropped */
    uint64_t dead_letters;            /* mail for down or unknown nodes */
    uint32_t nodes_up;                /* other nodes up now */
    uint32_t nodes_down;              /* nodes seen go down */
} tr_node_stats;

/* Fills out (dead_letters includes batches the NATS client dropped for want
 * of room). Returns 0, TR_EINVAL, TR_ENOTSUP. Any thread, until
 * tr_system_shutdown. */
TR_API int tr_node_stats_get(tr_system *sys, tr_node_stats *out);

#ifdef __cplusplus
}
#endif
#endif
