/* backpressure.c — a fast producer and a slow consumer, four ways.
 *
 * The producer actor sends RATE 64-byte records a second (a million; at most
 * CHUNK per callback); the consumer actor takes WORK_US microseconds over each
 * (about 250,000 a second). The same pair runs for RUN_MS four times, each in
 * a fresh system, with the consumer's mailbox set up as:
 *
 *   unbounded    capacity 0 (the default): every send gets in. The backlog,
 *                and the memory holding it, grows as long as the producer
 *                runs; what is still queued at the end is discarded by
 *                tr_system_stop (dead letters).
 *   block        capacity CAPACITY, TR_OVERFLOW_BLOCK: a send that finds the
 *                mailbox full still gets in, and the producer is muted once
 *                its callback returns: it runs again only when the consumer
 *                has worked the depth down below the low watermark. Nothing
 *                is lost and the depth stays within CAPACITY + CHUNK.
 *   fail         capacity CAPACITY, TR_OVERFLOW_FAIL: a send to a full
 *                mailbox returns TR_EFULL and the record is not delivered.
 *   drop_oldest  capacity CAPACITY, TR_OVERFLOW_DROP_OLDEST: every send gets
 *                in and the oldest queued record makes room (a live feed that
 *                keeps the newest data). The runtime drops the surplus as the
 *                consumer takes its next record, so while the consumer is
 *                busy the depth can pass the capacity for a moment.
 *
 * Every REPORT_MS main prints what was produced, consumed, dropped or
 * refused, the consumer's mailbox depth (tr_actor_stats; an unbounded
 * mailbox keeps no count, so there it is sent - consumed) and the process's
 * resident memory (VmRSS) with its growth since the run began: memory grows
 * only in the unbounded run (memory freed may stay with the process, so a
 * later run can start from a higher RSS; what counts is that it does not
 * grow). Each run then ends with a DONE message and the consumer drains its
 * mailbox (in the unbounded run main stops the system instead: draining
 * would take longer than the run). The last line checks the books; exit
 * status 0 if they balance: block lost nothing and kept within its bound,
 * fail's accepted + refused records == sent, drop_oldest's consumed +
 * dropped == sent, unbounded's consumed + discarded == sent, the runtime's
 * own counters agree, and no bounded run grew by more than
 * BOUNDED_GROWTH_MIB. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep under -std=c11 */
#include <troupe.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MSG_GO = 1, MSG_RECORD, MSG_DONE };
enum { RATE = 1000000, CHUNK = 1000, TICK_MS = 1, CAPACITY = 1000, WORK_US = 4 };
enum { RUN_MS = 1000, REPORT_MS = 250, BOUNDED_GROWTH_MIB = 32 };

/* What the producer sends: 64 bytes, so that a backlog shows in memory. */
typedef struct record {
    uint64_t seq;
    char body[56];
} record;

/* The books of one run, kept by the actors, read by main. */
static _Atomic uint64_t g_sent;         /* records the producer tried to send */
static _Atomic uint64_t g_accepted;     /* ... that the send accepted (returned 0) */
static _Atomic uint64_t g_refused;      /* ... that it refused with TR_EFULL */
static _Atomic uint64_t g_done_refused; /* DONE refused with TR_EFULL (and sent again) */
static _Atomic uint64_t g_consumed;     /* records the consumer took */
static _Atomic int g_out_of_order;      /* records that came in a wrong order */
static _Atomic int g_done_seen;         /* the consumer took DONE */
static _Atomic uint32_t g_high_water;   /* its mailbox's largest depth, as it took DONE */
static _Atomic int g_stop;              /* main: time is up, send DONE and exit */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
    double left = t - now();
    if (left <= 0)
        return;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
}

/* The process's resident memory in MiB (VmRSS), or -1. */
static double rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double mib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            mib = (double)strtol(line + 6, NULL, 10) / 1024;
    fclose(f);
    return mib;
}

/* ---- The producer: CHUNK records a tick, then DONE when main says so ---- */

typedef struct producer {
    tr_pid consumer;
    uint64_t seq; /* records sent so far */
    double start; /* when it began: it keeps to RATE records a second from then */
} producer;

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((producer *)state)->consumer = *(const tr_pid *)arg;
    return 0;
}

static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer *p = state;
    tr_system *sys = tr_ctx_system(cx);
    if (tr_msg_type(m) != MSG_GO)
        return TR_EUNHANDLED;
    if (atomic_load(&g_stop)) {
        /* DONE waits for room: drop_oldest drops a new message outright once
           the mailbox holds twice its capacity, and a dropped DONE would
           leave the consumer waiting for it. Only this actor sends there, so
           the depth can only fall before DONE is in. */
        tr_mailbox_stats ms;
        int rc = tr_actor_stats(sys, p->consumer, &ms);
        if (rc == 0 && ms.capacity && ms.depth >= ms.capacity)
            return tr_send_after(cx, TICK_MS, tr_self(cx), MSG_GO, NULL, 0, NULL);
        rc = tr_send(sys, p->consumer, MSG_DONE, NULL, 0);
        if (rc == TR_EFULL) { /* fail policy, mailbox full: DONE again next tick */
            atomic_fetch_add(&g_done_refused, 1);
            return tr_send_after(cx, TICK_MS, tr_self(cx), MSG_GO, NULL, 0, NULL);
        }
        return rc < 0 ? rc : tr_exit(cx, 0);
    }
    if (p->start == 0)
        p->start = now();
    uint64_t due = (uint64_t)((now() - p->start) * RATE); /* records due by now */
    uint64_t n = due > p->seq ? due - p->seq : 0;
    if (n > CHUNK)
        n = CHUNK;
    record r;
    memset(&r, 0, sizeof r);
    uint64_t accepted = 0, refused = 0;
    for (uint64_t i = 0; i < n; i++) {
        r.seq = p->seq++;
        int rc = tr_send(sys, p->consumer, MSG_RECORD, &r, sizeof r);
        if (rc == 0)
            accepted++;
        else if (rc == TR_EFULL)
            refused++;
        else
            return rc; /* anything else is a bug: crash, and the books will not balance */
    }
    atomic_fetch_add(&g_sent, n);
    atomic_fetch_add(&g_accepted, accepted);
    atomic_fetch_add(&g_refused, refused);
    /* Behind: go on at once (a message to itself, so that other actors run
     * in between); else the next tick in a millisecond. Under
     * TR_OVERFLOW_BLOCK a muted producer's message waits in its mailbox until
     * the consumer has caught up. */
    if (due > p->seq)
        return tr_send(sys, tr_self(cx), MSG_GO, NULL, 0);
    return tr_send_after(cx, TICK_MS, tr_self(cx), MSG_GO, NULL, 0, NULL);
}

static const tr_actor_spec producer_spec = {
    .name = "producer",
    .state_size = sizeof(producer),
    .init = producer_init,
    .receive = producer_receive,
};

/* ---- The consumer: WORK_US of work per record ---------------------------- */

typedef struct consumer {
    uint64_t next_seq; /* records must come in increasing order */
} consumer;

static int consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    consumer *c = state;
    if (tr_msg_type(m) == MSG_DONE) {
        tr_mailbox_stats ms;
        if (tr_actor_stats(tr_ctx_system(cx), tr_self(cx), &ms) == 0)
            atomic_store(&g_high_water, ms.high_water);
        atomic_store(&g_done_seen, 1);
        return tr_exit(cx, 0);
    }
    if (tr_msg_type(m) != MSG_RECORD || tr_msg_size(m) != sizeof(record))
        return TR_EUNHANDLED;
    uint64_t seq = ((const record *)tr_msg_data(m))->seq;
    if (seq < c->next_seq)
        atomic_store(&g_out_of_order, 1);
    c->next_seq = seq + 1;
    double until = now() + WORK_US * 1e-6; /* the slow part */
    while (now() < until)
        ;
    atomic_fetch_add_explicit(&g_consumed, 1, memory_order_relaxed);
    return 0;
}

#define CONSUMER_SPEC(cap, policy)                                                                 \
    {                                                                                              \
        .name = "consumer", .state_size = sizeof(consumer), .receive = consumer_receive,           \
        .mailbox_capacity = (cap), .overflow = (policy)                                            \
    }

enum { UNBOUNDED, BLOCK, FAIL, DROP_OLDEST, MODES };

static const tr_actor_spec consumer_specs[MODES] = {
    [UNBOUNDED] = CONSUMER_SPEC(0, TR_OVERFLOW_FAIL),
    [BLOCK] = CONSUMER_SPEC(CAPACITY, TR_OVERFLOW_BLOCK),
    [FAIL] = CONSUMER_SPEC(CAPACITY, TR_OVERFLOW_FAIL),
    [DROP_OLDEST] = CONSUMER_SPEC(CAPACITY, TR_OVERFLOW_DROP_OLDEST),
};

static const char *const mode_names[MODES] = {"unbounded", "block", "fail", "drop_oldest"};
static const char *const mode_texts[MODES] = {
    "no capacity (the default): every send gets in, the backlog grows",
    "capacity 1000, TR_OVERFLOW_BLOCK: the producer is muted while the mailbox is full",
    "capacity 1000, TR_OVERFLOW_FAIL: a send to a full mailbox returns TR_EFULL",
    "capacity 1000, TR_OVERFLOW_DROP_OLDEST: the oldest queued record makes room",
};

/* ---- One run ------------------------------------------------------------- */

typedef struct result {
    uint64_t sent, accepted, refused, done_refused, consumed, discarded;
    tr_system_stats st;
    uint32_t high_water; /* the consumer's largest depth */
    uint64_t muted;      /* times the producer was muted */
    double growth_mib;   /* the largest RSS seen during the run, less the RSS before it */
    int out_of_order, drained, error;
} result;

static int run(int mode, result *res) {
    memset(res, 0, sizeof *res);
    atomic_store(&g_sent, 0);
    atomic_store(&g_accepted, 0);
    atomic_store(&g_refused, 0);
    atomic_store(&g_done_refused, 0);
    atomic_store(&g_consumed, 0);
    atomic_store(&g_out_of_order, 0);
    atomic_store(&g_done_seen, 0);
    atomic_store(&g_high_water, 0);
    atomic_store(&g_stop, 0);

    printf("\n%s: %s\n", mode_names[mode], mode_texts[mode]);
    printf("  %6s %10s %10s %16s %9s %18s\n", "time", "produced", "consumed", "dropped/refused",
           "depth", "RSS MiB (growth)");
    tr_system *sys;
    int rc = tr_system_create(NULL, &sys);
    if (rc < 0) {
        fprintf(stderr, "backpressure: tr_system_create: %s\n", tr_strerror(rc));
        return rc;
    }
    double rss0 = rss_mib();
    tr_pid c = tr_spawn(sys, &consumer_specs[mode], NULL);
    tr_pid p = c < 0 ? c : tr_spawn(sys, &producer_spec, &c);
    if (p < 0 || (rc = tr_send(sys, p, MSG_GO, NULL, 0)) < 0) {
        rc = p < 0 ? (int)p : rc;
        fprintf(stderr, "backpressure: %s: start: %s\n", mode_names[mode], tr_strerror(rc));
        tr_system_shutdown(sys);
        return rc;
    }

    double t0 = now();
    for (int k = 1; k * REPORT_MS <= RUN_MS; k++) {
        sleep_until(t0 + k * REPORT_MS / 1000.0);
        tr_mailbox_stats ms;
        if ((rc = tr_actor_stats(sys, c, &ms)) < 0) {
            fprintf(stderr, "backpressure: tr_actor_stats: %s\n", tr_strerror(rc));
            res->error = 1;
            break;
        }
        /* An unbounded mailbox keeps no count (it would cost every send an
         * atomic add): its depth is what was sent and not yet consumed. */
        uint64_t sent = atomic_load(&g_sent), consumed = atomic_load(&g_consumed);
        uint64_t depth = ms.capacity ? ms.depth : sent > consumed ? sent - consumed : 0;
        double rss = rss_mib();
        if (rss - rss0 > res->growth_mib)
            res->growth_mib = rss - rss0;
        /* high_water is counted for bounded mailboxes only */
        if (ms.high_water > res->high_water)
            res->high_water = ms.high_water;
        if (depth > res->high_water)
            res->high_water = (uint32_t)depth;
        printf("  %5.2fs %10llu %10llu %16llu %9llu %9.1f (%+6.1f)\n", now() - t0,
               (unsigned long long)sent, (unsigned long long)consumed,
               (unsigned long long)(ms.dropped + ms.refused), (unsigned long long)depth, rss,
               rss - rss0);
        fflush(stdout);
    }
    tr_mailbox_stats ps;
    if (tr_actor_stats(sys, p, &ps) == 0)
        res->muted = ps.muted;

    /* Time is up: the producer sends DONE and exits, the consumer drains its
     * mailbox and exits on DONE, and the system stops by itself. */
    atomic_store(&g_stop, 1);
    res->drained = tr_system_wait(sys, mode == UNBOUNDED ? 100 : 10000) == 0;
    if (!res->drained) { /* unbounded: the backlog would take seconds */
        tr_system_stop(sys);
        tr_system_wait(sys, -1);
    }
    tr_system_stats_get(sys, &res->st);
    tr_system_shutdown(sys);

    res->sent = atomic_load(&g_sent);
    res->accepted = atomic_load(&g_accepted);
    res->refused = atomic_load(&g_refused);
    res->done_refused = atomic_load(&g_done_refused);
    res->consumed = atomic_load(&g_consumed);
    res->out_of_order = atomic_load(&g_out_of_order);
    if (atomic_load(&g_high_water) > res->high_water)
        res->high_water = atomic_load(&g_high_water);
    /* What the stop discarded: the records still queued (and DONE, if it was). */
    res->discarded = res->st.dead_letters - (atomic_load(&g_done_seen) ? 0 : 1);
    printf("  end: sent %llu, consumed %llu, refused %llu, dropped %llu, discarded at stop %llu; "
           "depth peaked at %u; producer muted %llu times\n",
           (unsigned long long)res->sent, (unsigned long long)res->consumed,
           (unsigned long long)res->st.rejected, (unsigned long long)res->st.dropped,
           (unsigned long long)(res->drained ? 0 : res->discarded), res->high_water,
           (unsigned long long)res->muted);
    return 0;
}

int main(void) {
    result r[MODES];
    for (int mode = 0; mode < MODES; mode++)
        if (run(mode, &r[mode]) < 0)
            return 1;

    int ok = 1;
    for (int mode = 0; mode < MODES; mode++) {
        const result *x = &r[mode];
        /* Every record sent was accepted or refused; nothing came out of
         * order; the runtime's refusals are the producer's (records and DONE). */
        ok &= !x->error && !x->out_of_order && x->accepted + x->refused == x->sent &&
              x->st.rejected == x->refused + x->done_refused && x->st.unhandled == 0;
        if (mode != UNBOUNDED)
            ok &= x->drained && x->st.dead_letters == 0 && x->growth_mib < BOUNDED_GROWTH_MIB;
    }
    const result *u = &r[UNBOUNDED], *b = &r[BLOCK], *f = &r[FAIL], *d = &r[DROP_OLDEST];
    int u_ok = u->refused == 0 && u->st.dropped == 0 &&
               u->consumed + (u->drained ? 0 : u->discarded) == u->sent;
    int b_ok = b->refused == 0 && b->st.dropped == 0 && b->consumed == b->sent &&
               b->high_water <= CAPACITY + CHUNK && b->st.overruns == 0;
    int f_ok = f->st.dropped == 0 && f->consumed == f->accepted && f->refused > 0;
    int d_ok = d->refused == 0 && d->consumed + d->st.dropped == d->sent && d->st.dropped > 0;
    ok &= u_ok && b_ok && f_ok && d_ok;
    printf("\ncheck: unbounded grew %.1f MiB (consumed %llu + discarded %llu == sent %llu); "
           "block lost nothing (consumed %llu of %llu) and peaked at depth %u <= %d (capacity + "
           "one chunk); fail: accepted %llu + refused %llu == sent %llu; drop_oldest: consumed "
           "%llu + dropped %llu == sent %llu; bounded runs grew %.1f, %.1f, %.1f MiB (< %d): %s\n",
           u->growth_mib, (unsigned long long)u->consumed,
           (unsigned long long)(u->drained ? 0 : u->discarded), (unsigned long long)u->sent,
           (unsigned long long)b->consumed, (unsigned long long)b->sent, b->high_water,
           CAPACITY + CHUNK, (unsigned long long)f->accepted, (unsigned long long)f->refused,
           (unsigned long long)f->sent, (unsigned long long)d->consumed,
           (unsigned long long)d->st.dropped, (unsigned long long)d->sent, b->growth_mib,
           f->growth_mib, d->growth_mib, BOUNDED_GROWTH_MIB, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
