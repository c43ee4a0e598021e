/* producer_consumer.c — a bounded mailbox pushing back, and a system that
 * stops by itself when the work is done.
 *
 * PRODUCERS producer actors each send ITEMS numbered items to one dispatcher
 * whose mailbox holds at most CAPACITY messages (spec.mailbox_capacity, fail
 * policy). A send that finds it full returns TR_EFULL; the producer keeps its
 * place and sends itself a "retry" message, so it tries again on its next turn
 * without ever blocking a worker. The dispatcher forwards each item (zero
 * copy) round-robin to CONSUMERS consumer actors.
 *
 * Stopping needs no timer and no global flag: a producer ends its stream with
 * DONE and exits; per-pair ordering puts DONE after that producer's items, so
 * once the dispatcher has a DONE from every producer it has forwarded
 * everything, sends DONE to each consumer and exits; each consumer exits on
 * DONE, and when the last actor exits the system stops, which is what main's
 * tr_system_wait waits for. Exit status 0 only if every item was consumed
 * exactly once (the count, the sum and the sum of squares all match). */
#include <troupe.h>

#include <stdio.h>

enum { PRODUCERS = 4, CONSUMERS = 3, ITEMS = 25000, CAPACITY = 16, CHUNK = 64 };
enum { MSG_GO = 1, MSG_RETRY, MSG_ITEM, MSG_DONE };

/* What a consumer took: written by its terminate, read by main after the stop. */
typedef struct tally {
    int64_t count; /* -1 if the consumer did not exit normally */
    uint64_t sum;
    uint64_t sum_sq;
} tally;

/* ---- Producers ------------------------------------------------------------ */

typedef struct producer_arg {
    tr_pid dispatcher;
    int64_t first; /* items are first .. first + ITEMS - 1 */
} producer_arg;

typedef struct producer {
    tr_pid dispatcher;
    int64_t next; /* the next item to send; == end: DONE is next */
    int64_t end;
} producer;

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    producer *p = state;
    const producer_arg *a = arg;
    p->dispatcher = a->dispatcher;
    p->next = a->first;
    p->end = a->first + ITEMS;
    return 0;
}

/* Sends up to CHUNK messages, then yields the worker by sending itself GO. */
static int produce(tr_ctx *cx, producer *p) {
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < CHUNK; i++) {
        int rc = p->next < p->end ? tr_send_i64(sys, p->dispatcher, MSG_ITEM, p->next)
                                  : tr_send_i64(sys, p->dispatcher, MSG_DONE, 0);
        if (rc == TR_EFULL) /* refused and freed: same item again on the next turn */
            return tr_send_i64(sys, tr_self(cx), MSG_RETRY, 0);
        if (rc < 0)
            return rc;
        if (p->next++ == p->end) /* DONE went through */
            return tr_exit(cx, 0);
    }
    return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
}

static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case MSG_GO:
    case MSG_RETRY: return produce(cx, state);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec producer_spec = {
    .name = "producer",
    .state_size = sizeof(producer),
    .init = producer_init,
    .receive = producer_receive,
};

/* ---- Dispatcher ----------------------------------------------------------- */

typedef struct dispatcher {
    tr_pid consumers[CONSUMERS];
    unsigned turn; /* round-robin position */
    unsigned producers_done;
} dispatcher;

static int dispatcher_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    dispatcher *d = state;
    const tr_pid *consumers = arg;
    for (int i = 0; i < CONSUMERS; i++)
        d->consumers[i] = consumers[i];
    return 0;
}

static int dispatcher_receive(tr_ctx *cx, void *state, tr_msg *m) {
    dispatcher *d = state;
    switch (tr_msg_type(m)) {
    case MSG_ITEM: return tr_msg_forward(cx, d->consumers[d->turn++ % CONSUMERS], m);
    case MSG_DONE:
        if (++d->producers_done < PRODUCERS)
            return 0;
        for (int i = 0; i < CONSUMERS; i++) {
            int rc = tr_send_i64(tr_ctx_system(cx), d->consumers[i], MSG_DONE, 0);
            if (rc < 0)
                return rc;
        }
        return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec dispatcher_spec = {
    .name = "dispatcher",
    .state_size = sizeof(dispatcher),
    .init = dispatcher_init,
    .receive = dispatcher_receive,
    .mailbox_capacity = CAPACITY,
    .overflow = TR_OVERFLOW_FAIL,
};

/* ---- Consumers ------------------------------------------------------------ */

typedef struct consumer {
    tally *out;
    tally took;
} consumer;

static int consumer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    consumer *c = state;
    c->out = (tally *)arg;
    return 0;
}

static int consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    consumer *c = state;
    switch (tr_msg_type(m)) {
    case MSG_ITEM: {
        uint64_t v = (uint64_t)tr_msg_i64(m);
        c->took.count++;
        c->took.sum += v;
        c->took.sum_sq += v * v;
        return 0;
    }
    case MSG_DONE: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static void consumer_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    consumer *c = state;
    *c->out = c->took;
    if (reason != 0)
        c->out->count = -1;
}

static const tr_actor_spec consumer_spec = {
    .name = "consumer",
    .state_size = sizeof(consumer),
    .init = consumer_init,
    .receive = consumer_receive,
    .terminate = consumer_terminate,
};

/* ---- main ----------------------------------------------------------------- */

static int fail(const char *what, int code) {
    fprintf(stderr, "producer_consumer: %s: %s\n", what, tr_strerror(code));
    return 1;
}

int main(void) {
    tally tallies[CONSUMERS] = {{0}};
    tr_pid consumers[CONSUMERS], producers[PRODUCERS];
    tr_system *sys;
    int rc = tr_system_create(NULL, &sys);
    if (rc < 0)
        return fail("tr_system_create", rc);

    for (int i = 0; i < CONSUMERS; i++)
        if ((consumers[i] = tr_spawn(sys, &consumer_spec, &tallies[i])) < 0)
            return fail("spawn consumer", (int)consumers[i]);
    tr_pid d = tr_spawn(sys, &dispatcher_spec, consumers);
    if (d < 0)
        return fail("spawn dispatcher", (int)d);
    for (int i = 0; i < PRODUCERS; i++) {
        producer_arg a = {.dispatcher = d, .first = (int64_t)i * ITEMS + 1};
        if ((producers[i] = tr_spawn(sys, &producer_spec, &a)) < 0)
            return fail("spawn producer", (int)producers[i]);
    }
    printf("spawned %d producers, a dispatcher (mailbox capacity %d), %d consumers\n", PRODUCERS,
           CAPACITY, CONSUMERS);

    for (int i = 0; i < PRODUCERS; i++)
        if ((rc = tr_send_i64(sys, producers[i], MSG_GO, 0)) < 0)
            return fail("start producer", rc);
    printf("producers started: %d items each\n", ITEMS);

    rc = tr_system_wait(sys, 30000);
    if (rc < 0)
        return fail("tr_system_wait", rc);
    tr_system_stats st;
    rc = tr_system_stats_get(sys, &st);
    if (rc < 0)
        return fail("tr_system_stats_get", rc);
    rc = tr_system_shutdown(sys);
    if (rc < 0)
        return fail("tr_system_shutdown", rc);

    tally all = {0, 0, 0}, want = {0, 0, 0};
    for (uint64_t v = 1; v <= (uint64_t)PRODUCERS * ITEMS; v++) {
        want.count++;
        want.sum += v;
        want.sum_sq += v * v;
    }
    int each_ok = 1;
    printf("consumers took");
    for (int i = 0; i < CONSUMERS; i++) {
        printf(" %lld", (long long)tallies[i].count);
        each_ok &= tallies[i].count >= 0;
        all.count += tallies[i].count;
        all.sum += tallies[i].sum;
        all.sum_sq += tallies[i].sum_sq;
    }
    printf(" items; %llu sends refused with TR_EFULL and retried\n",
           (unsigned long long)st.rejected);
    int consumed_ok =
        each_ok && all.count == want.count && all.sum == want.sum && all.sum_sq == want.sum_sq;
    printf("consumed %lld of %lld, sum %llu (want %llu), sum of squares %llu (want %llu): %s\n",
           (long long)all.count, (long long)want.count, (unsigned long long)all.sum,
           (unsigned long long)want.sum, (unsigned long long)all.sum_sq,
           (unsigned long long)want.sum_sq, consumed_ok ? "each exactly once" : "MISMATCH");
    printf("stopped by itself: %llu actors exited, %llu dead letters, %llu unhandled\n",
           (unsigned long long)st.exited, (unsigned long long)st.dead_letters,
           (unsigned long long)st.unhandled);

    int stopped_ok =
        st.exited == PRODUCERS + CONSUMERS + 1 && st.dead_letters == 0 && st.unhandled == 0;
    return consumed_ok && stopped_ok ? 0 : 1;
}
