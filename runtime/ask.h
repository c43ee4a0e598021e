/* ask.h — asks made by actors (tr_ask_async): the set of references an actor
 * is waiting on (freed with the actor's links.h record), and their timeouts. */
#ifndef TR_ASK_H
#define TR_ASK_H

#include "system.h"

/* Whether ref was pending for a; removes it if so. Owner only. */
int tr_asks_settle(tr_actor *a, uint32_t ref);
/* Tells asker that its ask ref (sent to `from`) will get no reply, for
 * reason: an ASK_FAILED notice that settles the ask. Any thread. */
TR_COLD void tr_ask_fail(tr_system *sys, tr_worker *w, tr_pid asker, uint32_t ref, tr_pid from,
                         int reason);

#endif
