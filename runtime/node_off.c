/* node_off.c — troupe/node.h in a build without NATS: nothing to attach to.
 * sys->node stays 0, so no pid is ever remote (node.h) and tr_node_route is
 * never called; it is here for the linker. */
#include "node.h"

#include <troupe/node.h>

int tr_node_start(tr_system *sys, const tr_node_config *cfg) {
    return sys && cfg ? TR_ENOTSUP : TR_EINVAL;
}

unsigned tr_node_self(tr_system *sys) {
    (void)sys;
    return 0;
}

int tr_node_up(tr_system *sys, unsigned node) {
    (void)sys;
    (void)node;
    return 0;
}

int tr_register_global(tr_system *sys, const char *name, tr_pid pid) {
    (void)pid;
    return sys && name ? TR_ENOTSUP : TR_EINVAL;
}

int tr_unregister_global(tr_system *sys, const char *name) {
    return sys && name ? TR_ENOTSUP : TR_EINVAL;
}

tr_pid tr_whereis_global(tr_system *sys, const char *name) {
    return sys && name ? TR_ENOTSUP : TR_EINVAL;
}

int tr_node_stats_get(tr_system *sys, tr_node_stats *out) {
    return sys && out ? TR_ENOTSUP : TR_EINVAL;
}

int tr_node_route(tr_system *sys, tr_worker *w, unsigned node, tr_msg *m) {
    (void)node;
    tr_msg_undeliverable(sys, w, m);
    return TR_ENOACTOR;
}

void tr_node_flush(tr_worker *w) {
    w->node_pending = 0;
}

void tr_node_stop(tr_system *sys) {
    (void)sys;
}

void tr_node_free(tr_system *sys) {
    (void)sys;
}
