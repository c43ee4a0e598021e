/* callers.h — which plain threads are inside the API, so that
 * tr_system_shutdown frees nothing under them.
 *
 * Each plain thread that calls in gets a slot of its own (made on its first
 * call, kept for another thread once it exits). The outermost call stores
 * the system in the slot, seq_cst (one exchange, on a line no other thread
 * writes), and clears it with a release store on the way out: one atomic
 * read-modify-write per call where a shared counter took two, both on a line
 * every calling thread wrote. Workers are not counted (shutdown joins them).
 *
 * The protocol with shutdown (and with the final drain, which lets callers
 * inside tr_system_wait be):
 *  1. A caller stores sys in its slot (seq_cst), then reads the state.
 *  2. Shutdown stores the state (STOPPING), then (seq_cst) scans the slots
 *     until none names sys.
 *  Store-then-load on both sides, all seq_cst: either the scan sees the
 *  caller's store and waits for it, or the caller's load sees STOPPING and it
 *  backs out. A caller leaving stores NULL with release, which the scan's
 *  acquire load pairs with, so everything it did happens before the free.
 *  (membarrier(2) would make the entry store plain, but registering for it
 *  made every context switch of the process dearer: pingpong lost a fifth.)
 *  A call nested in another call of a different system (an init that sends
 *  elsewhere) counts in that system's shared counter instead. */
#ifndef TR_CALLERS_H
#define TR_CALLERS_H

#include <stdatomic.h>

struct tr_system;

typedef struct tr_caller_slot {
    _Atomic(struct tr_system *) sys; /* the system the thread is inside, or NULL */
    _Atomic int waiting;             /* ...inside its tr_system_wait */
    unsigned depth;                  /* nested calls into sys (owner only) */
    _Atomic int taken;               /* a live thread owns the slot */
    struct tr_caller_slot *next;     /* all slots, ever (set once, before publishing) */
} tr_caller_slot;

extern _Thread_local tr_caller_slot *tr_tls_caller __attribute__((tls_model("initial-exec")));

/* The calling thread's slot, made if it has none (NULL when out of memory). */
tr_caller_slot *tr_caller_slot_make(void);

/* Whether any plain thread is inside sys (not counting those inside
 * tr_system_wait when allow_waits). Call after the state has changed. */
int tr_callers_inside(struct tr_system *sys, int allow_waits);

#endif
