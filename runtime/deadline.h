/* deadline.h — waiting on a condition variable with a millisecond timeout,
 * for the runtime's two blocking calls (tr_system_wait and tr_ask). */
#ifndef TR_DEADLINE_H
#define TR_DEADLINE_H

#include <stdint.h>
#include <troupe.h>
#include <uv.h>

/* The deadline of a timeout in ms from now; UINT64_MAX (never) if timeout_ms < 0. */
static inline uint64_t tr_deadline(int timeout_ms) {
    return timeout_ms < 0 ? UINT64_MAX : uv_hrtime() + (uint64_t)timeout_ms * 1000000u;
}

/* One wait on cond (mutex held) that ends by the deadline: returns 0 when woken
 * (perhaps spuriously: callers loop on their condition), TR_ETIMEDOUT when the
 * deadline has passed. */
static inline int tr_cond_wait_until(uv_cond_t *cond, uv_mutex_t *mutex, uint64_t deadline) {
    if (deadline == UINT64_MAX) {
        uv_cond_wait(cond, mutex);
        return 0;
    }
    uint64_t now = uv_hrtime();
    if (now >= deadline)
        return TR_ETIMEDOUT;
    uv_cond_timedwait(cond, mutex, deadline - now);
    return 0;
}

#endif
