/* links.h — what an actor keeps beyond its 128-byte block, made on first use:
 * its pending asks, its links, who monitors it, whom it monitors, and mail
 * set aside while signals go first (signals.h).
 *
 * Only the owner of the actor's consumer side (the worker running it, or the
 * spawner during spawn) touches the record; other actors change it only by
 * sending signals, which the owner applies. An actor that never asks
 * asynchronously, links or monitors has none: the block's pointer is NULL. */
#ifndef TR_LINKS_H
#define TR_LINKS_H

#include "system.h"
#include "vec.h"

/* A monitor: the watcher's pid and its reference. */
typedef struct tr_watch {
    tr_pid pid;
    uint32_t ref;
} tr_watch;

typedef struct tr_actor_ext {
    tr_vec asks;     /* tr_watch: pending tr_ask_async refs and whom they asked (ask.c) */
    tr_vec links;    /* tr_pid: linked actors */
    tr_vec watchers; /* tr_watch: monitors on this actor (pid = the watcher) */
    tr_vec monitors; /* tr_watch: this actor's monitors (pid = the target) */
    /* The stash: signals, then ordinary mail, taken out of the mailbox ahead
       of their turn; read before the mailbox (tr_stash_pop). */
    tr_msg *sig_first, *sig_last;
    tr_msg *mail_first, *mail_last;
    /* The receive timeout (timer.h): its setting, the generation of that
       setting, and when the actor last had mail. */
    uint32_t recv_timeout_ms, recv_gen;
    uint64_t recv_last_ns;
} tr_actor_ext;

/* The actor's record, made if it has none; NULL when out of memory. Owner. */
tr_actor_ext *tr_ext_get(tr_actor *a);

/* Link bookkeeping on the owner's side. add returns 0 or TR_ENOMEM (already
 * linked is 0); remove returns whether pid was linked. */
int tr_links_add(tr_actor *a, tr_pid pid);
int tr_links_remove(tr_actor *a, tr_pid pid);
/* Adds a watcher (pid, ref) of a, or removes it (returns whether it was there). */
int tr_watchers_add(tr_actor *a, tr_pid pid, uint32_t ref);
int tr_watchers_remove(tr_actor *a, tr_pid pid, uint32_t ref);
/* a's own monitors: add, and remove by ref (returns whether it was there). */
int tr_monitors_add(tr_actor *a, tr_pid target, uint32_t ref);
int tr_monitors_remove(tr_actor *a, uint32_t ref, tr_pid *target);

/* Node `node` went down (a NODE_DOWN signal): a's links to its actors get
 * the exit signal TR_ENODEDOWN, a's monitors of them TR_MSG_DOWN with it,
 * its pending asks of them fail with it, and its actors' monitors of a are
 * forgotten. self is a's pid. Owner. */
void tr_links_node_down(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid self, unsigned node);

/* A new reference for an ask or a monitor of a's (never 0). */
uint32_t tr_next_ref(tr_actor *a);

/* At the end of a's life (reason): every linked actor gets an exit signal,
 * every watcher a down notice, stashed mail becomes undeliverable, and the
 * record is freed. pid is the pid a had; a has a record. Owner. */
void tr_ext_release(tr_system *sys, tr_worker *w, tr_actor *a, tr_pid pid, int reason);

#endif
