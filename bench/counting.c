/* counting — P = 100 sender actors each send M = 100,000 integers to one
 * counter actor: N-to-1 mailbox throughput. Written the natural way: each
 * sender sends its values CHUNK per callback, sending itself a message to go
 * on, and nothing else; the counter's mailbox is bounded (CAPACITY,
 * TR_OVERFLOW_BLOCK), so a sender that finds it full is muted by the runtime
 * until the counter has caught up. No acknowledgements, no credits: memory
 * stays bounded (at most CAPACITY + SENDERS * CHUNK messages queued) without
 * help from the program. */
#include "bench_common.h"

#include <stdatomic.h>

enum { MSG_GO = 1, MSG_VALUE };
enum { SENDERS = 100, CHUNK = 100, CAPACITY = 1000 };

typedef struct {
    tr_pid counter;
    int64_t next, last;
} sender_state;

typedef struct {
    int64_t count, sum, expected;
} counter_state;

static _Atomic int64_t g_count, g_sum;

static int counter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    counter_state *c = state;
    c->count++;
    c->sum += tr_msg_i64(m);
    if (c->count < c->expected)
        return 0;
    bench_mark_end();
    atomic_store(&g_count, c->count);
    atomic_store(&g_sum, c->sum);
    return tr_exit(cx, 0);
}

static int counter_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((counter_state *)state)->expected = *(const int64_t *)arg;
    return 0;
}

/* Sends the next CHUNK values, then asks itself to go on (or exits). */
static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender_state *s = state;
    if (s->counter == 0) { /* the first message: the counter's pid */
        s->counter = tr_msg_i64(m);
        s->next = 1;
    }
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < CHUNK && s->next <= s->last; i++, s->next++) {
        int rc = tr_send_i64(sys, s->counter, MSG_VALUE, s->next);
        if (rc)
            return rc;
    }
    if (s->next > s->last)
        return tr_exit(cx, 0);
    return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
}

static int sender_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((sender_state *)state)->last = *(const int64_t *)arg;
    return 0;
}

static const tr_actor_spec counter_spec = {.name = "counter",
                                           .state_size = sizeof(counter_state),
                                           .init = counter_init,
                                           .receive = counter_receive,
                                           .mailbox_capacity = CAPACITY,
                                           .overflow = TR_OVERFLOW_BLOCK};
static const tr_actor_spec sender_spec = {.name = "sender",
                                          .state_size = sizeof(sender_state),
                                          .init = sender_init,
                                          .receive = sender_receive};

int main(int argc, char **argv) {
    int64_t per_sender = 100000 / bench_divisor(argc, argv);
    int64_t total = SENDERS * per_sender;
    tr_system *sys = bench_system();
    double t0 = bench_now();
    tr_pid counter = tr_spawn(sys, &counter_spec, &total);
    for (int i = 0; i < SENDERS; i++)
        tr_send_i64(sys, tr_spawn(sys, &sender_spec, &per_sender), MSG_GO, counter);
    bench_wait(sys);
    int ok = atomic_load(&g_count) == total &&
             atomic_load(&g_sum) == SENDERS * (per_sender * (per_sender + 1) / 2);
    int rc = bench_report("counting", sys, total, bench_end() - t0, ok, "");
    tr_system_shutdown(sys);
    return rc;
}
