/* producer_consumer.c — backpressure with a bounded mailbox, and a system
 * that stops by itself when the work is done.
 *
 * PRODUCERS producer actors each send ITEMS numbered items to one dispatcher
 * whose mailbox holds at most CAPACITY messages (spec.mailbox_capacity) with
 * the TR_OVERFLOW_BLOCK policy. A producer just sends: CHUNK items per
 * callback, then a message to itself to go on. When one of its sends finds
 * the dispatcher's mailbox full, the runtime mutes the producer once that
 * callback returns and runs it again when the dispatcher has worked its
 * mailbox down; no send fails, nothing is retried, no worker ever blocks, and
 * the dispatcher's mailbox never holds more than CAPACITY + PRODUCERS * CHUNK
 * messages. The dispatcher forwards each item (zero copy) round-robin to
 * CONSUMERS consumer actors.
 *
 * Stopping needs no timer and no global flag: a producer ends its stream with
 * DONE and exits; per-pair ordering puts DONE after that producer's items, so
 * once the dispatcher has a DONE from every producer it has forwarded
 * everything, sends DONE to each consumer and exits; each consumer exits on
 * DONE, and when the last actor exits the system stops, which is what main's
 * tr_system_wait waits for. Exit status 0 only if every item was consumed
 * exactly once (the count, the sum and the sum of squares all match), the
 * system stopped cleanly, and the dispatcher's mailbox stayed within its
 * bound. */
#include <troupe.h>

#include <stdio.h>

enum { PRODUCERS = 4, CONSUMERS = 3, ITEMS = 25000, CAPACITY = 64, CHUNK = 16 };
enum { MSG_GO = 1, MSG_ITEM, MSG_DONE };

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

/* Sends the next CHUNK messages (items, and DONE after the last one, then it
 * exits), then asks itself to go on: the runtime may mute the producer
 * between two such callbacks. */
static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer *p = state;
    if (tr_msg_type(m) != MSG_GO)
        return TR_EUNHANDLED;
    tr_system *sys = tr_ctx_system(cx);
    for (int i = 0; i < CHUNK; i++, p->next++) {
        int rc = p->next < p->end ? tr_send_i64(sys, p->dispatcher, MSG_ITEM, p->next)
                                  : tr_send_i64(sys, p->dispatcher, MSG_DONE, 0);
        if (rc < 0)
            return rc;
        if (p->next == p->end) /* that was DONE */
            return tr_exit(cx, 0);
    }
    return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
}

static const tr_actor_spec producer_spec = {
    .name = "producer",
    .state_size = sizeof(producer),
    .init = producer_init,
    .receive = producer_receive,
};

/* ---- Dispatcher ----------------------------------------------------------- */

typedef struct dispatcher_arg {
    tr_pid consumers[CONSUMERS];
    uint32_t *high_water; /* where the dispatcher leaves its mailbox's largest depth */
} dispatcher_arg;

typedef struct dispatcher {
    dispatcher_arg arg;
    unsigned turn; /* round-robin position */
    unsigned producers_done;
} dispatcher;

static int dispatcher_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    dispatcher *d = state;
    d->arg = *(const dispatcher_arg *)arg;
    return 0;
}

static int dispatcher_receive(tr_ctx *cx, void *state, tr_msg *m) {
    dispatcher *d = state;
    switch (tr_msg_type(m)) {
    case MSG_ITEM: return tr_msg_forward(cx, d->arg.consumers[d->turn++ % CONSUMERS], m);
    case MSG_DONE: {
        if (++d->producers_done < PRODUCERS)
            return 0;
        tr_system *sys = tr_ctx_system(cx);
        tr_mailbox_stats ms;
        int rc = tr_actor_stats(sys, tr_self(cx), &ms);
        if (rc < 0)
            return rc;
        *d->arg.high_water = ms.high_water;
        for (int i = 0; i < CONSUMERS; i++)
            if ((rc = tr_send_i64(sys, d->arg.consumers[i], MSG_DONE, 0)) < 0)
                return rc;
        return tr_exit(cx, 0);
    }
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec dispatcher_spec = {
    .name = "dispatcher",
    .state_size = sizeof(dispatcher),
    .init = dispatcher_init,
    .receive = dispatcher_receive,
    .mailbox_capacity = CAPACITY,
    .overflow = TR_OVERFLOW_BLOCK, /* senders are muted while it is full */
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
    tr_pid producers[PRODUCERS];
    uint32_t high_water = 0;
    dispatcher_arg darg = {.high_water = &high_water};
    tr_system *sys;
    int rc = tr_system_create(NULL, &sys);
    if (rc < 0)
        return fail("tr_system_create", rc);

    for (int i = 0; i < CONSUMERS; i++)
        if ((darg.consumers[i] = tr_spawn(sys, &consumer_spec, &tallies[i])) < 0)
            return fail("spawn consumer", (int)darg.consumers[i]);
    tr_pid d = tr_spawn(sys, &dispatcher_spec, &darg);
    if (d < 0)
        return fail("spawn dispatcher", (int)d);
    for (int i = 0; i < PRODUCERS; i++) {
        producer_arg a = {.dispatcher = d, .first = (int64_t)i * ITEMS + 1};
        if ((producers[i] = tr_spawn(sys, &producer_spec, &a)) < 0)
            return fail("spawn producer", (int)producers[i]);
    }
    printf("spawned %d producers, a dispatcher (mailbox capacity %d, block when full), %d "
           "consumers\n",
           PRODUCERS, CAPACITY, CONSUMERS);

    for (int i = 0; i < PRODUCERS; i++)
        if ((rc = tr_send_i64(sys, producers[i], MSG_GO, 0)) < 0)
            return fail("start producer", rc);
    printf("producers started: %d items each, %d sends per callback\n", ITEMS, CHUNK);

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
    printf(" items\n");
    int bound = CAPACITY + PRODUCERS * CHUNK;
    int bounded_ok =
        high_water <= (uint32_t)bound && st.rejected == 0 && st.dropped == 0 && st.overruns == 0;
    printf("producers muted %llu times; the dispatcher's mailbox peaked at %u (bound %d = capacity "
           "%d + %d producers x %d); %llu refused, %llu dropped, %llu overruns: %s\n",
           (unsigned long long)st.muted, high_water, bound, CAPACITY, PRODUCERS, CHUNK,
           (unsigned long long)st.rejected, (unsigned long long)st.dropped,
           (unsigned long long)st.overruns, bounded_ok ? "bounded" : "NOT BOUNDED");
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
    return consumed_ok && stopped_ok && bounded_ok ? 0 : 1;
}
