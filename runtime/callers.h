/* callers.h — which plain threads are inside the API, so that
 * tr_system_shutdown frees nothing under them.
 *
 * Each plain thread that calls in gets a slot of its own (made on its first
 * call, kept for another thread once it exits). The outermost call stores the
 * system in the slot; the call's own line, so no other thread writes it, and
 * with membarrier(2) no fence either: on entry a plain store and a compiler
 * barrier, on leaving a release store. Workers are not counted (shutdown
 * joins them).
 *
 * The protocol with shutdown (and with the final drain, which lets callers
 * inside tr_system_wait be):
 *  1. A caller stores sys in its slot, then reads the system's state.
 *  2. Shutdown stores the state (STOPPING), runs membarrier(PRIVATE_EXPEDITED)
 *     — every running thread of the process executes a full barrier — and
 *     then scans the slots until none names sys.
 *  Either the caller's barrier falls between its store and its load, so the
 *  scan sees the store; or before the store, so its load sees STOPPING (the
 *  shutdown's store precedes the membarrier) and it backs out; or after the
 *  load, so the store precedes the scan. A caller leaving stores NULL with
 *  release, which the scan's acquire load pairs with, so everything it did
 *  happens before the free. Where membarrier is refused (old kernels,
 *  seccomp), the entry store is seq_cst instead (one xchg).
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
extern int tr_callers_fenceless; /* membarrier(2) works: entries need no fence */

/* The calling thread's slot, made if it has none (NULL when out of memory). */
tr_caller_slot *tr_caller_slot_make(void);

/* Whether any plain thread is inside sys (not counting those inside
 * tr_system_wait when allow_waits). Call after the state has changed. */
int tr_callers_inside(struct tr_system *sys, int allow_waits);

/* Registers the process for membarrier(2) once. */
void tr_callers_init(void);

#endif
