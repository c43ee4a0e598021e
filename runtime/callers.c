/* callers.c — see callers.h. */
#include "callers.h"

#include <pthread.h>
#include <stdlib.h>
#include <uv.h>

_Thread_local tr_caller_slot *tr_tls_caller __attribute__((tls_model("initial-exec")));

static _Atomic(tr_caller_slot *) slots; /* every slot made, newest first */
static pthread_key_t slot_key;          /* gives a slot back when its thread exits */
static uv_once_t once = UV_ONCE_INIT;

static void slot_release(void *slot) {
    atomic_store(&((tr_caller_slot *)slot)->taken, 0);
}

static void init_once(void) {
    pthread_key_create(&slot_key, slot_release);
}

tr_caller_slot *tr_caller_slot_make(void) {
    uv_once(&once, init_once);
    tr_caller_slot *s;
    for (s = atomic_load(&slots); s; s = s->next) { /* one a finished thread left */
        int free_slot = 0;
        if (atomic_load_explicit(&s->taken, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&s->taken, &free_slot, 1))
            break;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        atomic_init(&s->taken, 1);
        s->next = atomic_load(&slots);
        while (!atomic_compare_exchange_weak(&slots, &s->next, s))
            ;
    }
    pthread_setspecific(slot_key, s);
    tr_tls_caller = s;
    return s;
}

int tr_callers_inside(struct tr_system *sys, int allow_waits) {
    atomic_thread_fence(memory_order_seq_cst); /* step 2: after the state's store */
    for (tr_caller_slot *s = atomic_load(&slots); s; s = s->next)
        if (atomic_load_explicit(&s->sys, memory_order_acquire) == sys &&
            !(allow_waits && atomic_load(&s->waiting)))
            return 1;
    return 0;
}
