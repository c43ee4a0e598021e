/* worker.c — see worker.h. */
#include "worker.h"

#include "command.h"
#include "scheduler.h"

#include <unistd.h>

#define TR_POLL_EVERY 64 /* turns between looks at a busy worker's loop, if it has handles */

_Thread_local tr_worker *tr_tls_worker __attribute__((tls_model("initial-exec")));

/* ---- handles ---- */

uint64_t tr_worker_new_id(tr_worker *w) {
    uint64_t seq = atomic_fetch_add_explicit(&w->next_id, 1, memory_order_relaxed) + 1;
    return ((uint64_t)(w->index + 1) << TR_ID_WORKER_SHIFT) | seq;
}

tr_worker *tr_worker_of_id(tr_system *sys, uint64_t id) {
    uint64_t index = id >> TR_ID_WORKER_SHIFT;
    return index >= 1 && index <= sys->cfg.workers ? &sys->workers[index - 1] : NULL;
}

int tr_worker_handle_add(tr_worker *w, tr_handle *h) {
    return tr_idmap_put(&w->handles, h->id, h);
}

void tr_worker_handle_remove(tr_worker *w, tr_handle *h) {
    tr_idmap_remove(&w->handles, h->id);
}

tr_handle *tr_worker_handle_get(tr_worker *w, uint64_t id) {
    return tr_idmap_get(&w->handles, id);
}

tr_worker *tr_worker_pick(tr_system *sys) {
    unsigned i = atomic_fetch_add_explicit(&sys->next_pick, 1, memory_order_relaxed);
    return &sys->workers[i % sys->cfg.workers];
}

/* ---- the thread ---- */

static void on_wake(uv_async_t *h) {
    (void)h;
}

/* Runs w's loop; actors it makes runnable meanwhile come from I/O
 * (scheduler.c's local_push treats them apart). */
static void run_loop(tr_worker *w, uv_run_mode mode) {
    w->in_loop = 1;
    uv_run(&w->loop, mode);
    w->in_loop = 0;
}

/* Parks w until a waker, a timer or I/O wakes it (scheduler.h has the
 * protocol that keeps wake-ups from being lost). */
static void park(tr_worker *w) {
    if (tr_sched_park_begin(w)) {
        uv_ref((uv_handle_t *)&w->wake); /* block until something happens */
        run_loop(w, UV_RUN_ONCE);
        uv_unref((uv_handle_t *)&w->wake);
    }
    tr_sched_park_end(w); /* woken by a timer or I/O rather than by a waker */
    if (tr_commands_pending(w))
        tr_commands_run(w);
}

/* At worker exit: closes what is left on the loop that no runtime handle
 * owns (the wake-up handle; anything an actor made on tr_ctx_loop). */
static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void close_runtime_handle(void *p, void *arg) {
    (void)arg;
    tr_handle *h = p;
    h->close(h);
}

/* Closes every runtime handle and then the rest, and runs the loop until all
 * of them are closed. */
static void close_all(tr_worker *w) {
    tr_idmap_drain(&w->handles, close_runtime_handle, NULL);
    uv_walk(&w->loop, close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static void worker_main(void *arg) {
    tr_worker *w = arg;
    tr_system *sys = w->sys;
    tr_tls_worker = w;
    while (atomic_load_explicit(&sys->state, memory_order_acquire) != TR_SYS_DONE) {
        tr_actor *a = tr_sched_next(w);
        if (!a) {
            park(w);
            continue;
        }
        tr_sched_run(w, a);
        if (atomic_load_explicit(&w->tick, memory_order_relaxed) % TR_POLL_EVERY == 0 &&
            uv_loop_alive(&w->loop))
            run_loop(w, UV_RUN_NOWAIT);
    }
    uv_mutex_lock(&sys->lock); /* no wake-up may reach a handle from here on */
    sys->loops_closing = 1;
    uv_mutex_unlock(&sys->lock);
    tr_commands_drop(w);
    close_all(w);
    free(w->io_buf); /* the sockets' read buffer (tcp.c) */
    w->io_buf = NULL;
    if (w->zone)
        msgpack_zone_free(w->zone);
    tr_vec_free(&w->mutes);
    tr_pool_local_flush(&sys->pool, &w->pool);
    tr_table_flush(&sys->table, &w->blocks);
    tr_tls_worker = NULL;
}

/* ---- start and stop ---- */

/* Makes worker i's loop and wake-up handle. Returns 0 or TR_ESYS (nothing left open). */
static int worker_loop_init(tr_system *sys, unsigned i) {
    tr_worker *w = &sys->workers[i];
    w->sys = sys;
    w->index = i;
    w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
    tr_mpsc_init(&w->commands);
    if (uv_loop_init(&w->loop) != 0) {
        /* libuv leaves its epoll fd open when its init fails after making it
           (emfile_fd is -1 once init got that far: it memsets the loop first) */
        if (w->loop.emfile_fd == -1 && w->loop.backend_fd >= 0)
            close(w->loop.backend_fd);
        return TR_ESYS;
    }
    if (uv_async_init(&w->loop, &w->wake, on_wake) != 0) {
        uv_loop_close(&w->loop);
        return TR_ESYS;
    }
    uv_unref((uv_handle_t *)&w->wake); /* a loop is alive only with handles of actors */
    return 0;
}

/* Closes a loop whose thread never ran. */
static void worker_loop_close(tr_worker *w) {
    close_all(w);
    uv_loop_close(&w->loop);
}

/* The start ladder: loops, the ticker, then the threads; on failure each step
 * undoes exactly what the ones before it made. */
int tr_workers_start(tr_system *sys) {
    unsigned n = sys->cfg.workers, loops = 0, started = 0;
    while (loops < n && worker_loop_init(sys, loops) == 0)
        loops++;
    if (loops < n)
        goto close_loops;
    if (tr_ticker_start(sys) != 0)
        goto close_loops;
    for (; started < n; started++)
        if (uv_thread_create(&sys->workers[started].thread, worker_main, &sys->workers[started]) !=
            0)
            break;
    if (started == n)
        return 0;
    atomic_store(&sys->state, TR_SYS_DONE);
    tr_sched_wake_all(sys);
    for (unsigned i = 0; i < started; i++)
        uv_thread_join(&sys->workers[i].thread);
    tr_ticker_join(sys);
    for (unsigned i = 0; i < started; i++)
        uv_loop_close(&sys->workers[i].loop);
    for (unsigned i = started; i < n; i++)
        worker_loop_close(&sys->workers[i]);
    return TR_ESYS;
close_loops:
    for (unsigned i = 0; i < loops; i++)
        worker_loop_close(&sys->workers[i]);
    return TR_ESYS;
}

void tr_workers_join(tr_system *sys) {
    for (unsigned i = 0; i < sys->cfg.workers; i++) {
        uv_thread_join(&sys->workers[i].thread);
        uv_loop_close(&sys->workers[i].loop);
    }
    tr_ticker_join(sys);
}
