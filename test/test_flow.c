/* test_flow.c — the flow-control actors of <troupe/flow.h>, observed from a
 * plain thread's inbox.
 *
 * Rate limiter: a sink behind it reports every message it gets, with the
 * sender and the time, so each case checks exact orders and counts: paced
 * messages all arrive in order, at no moment more than burst + rate * elapsed
 * of them (elapsed measured from before the limiter started, so the bound
 * holds however slowly the test runs), forwarded ones from their sender and
 * delayed ones from the limiter; with a rate of one an hour nothing refills
 * during a case, so which messages are forwarded, delayed or refused is
 * exact, requests among them refused with TR_FLOW_MSG_REFUSED; a limiter
 * started linked dies with its parent.
 *
 * Credit flow: three producers each burst hundreds of messages at a consumer
 * whose bounded mailbox (TR_OVERFLOW_FAIL) holds only their windows: all
 * arrive, in order per producer, and none is ever refused, so no producer
 * ever had more than its window in flight; exactly all but a window waited
 * in each sender. A sender's queue limit; grants by hand, foreign and
 * malformed ones.
 *
 * Load shedder: workers answer requests at once but report them done only
 * when the test says, so the shedder's view of who is busy is the test's to
 * set: which worker gets each request and exactly which requests are
 * refused, how waiting requests are spread, the stats; asks from plain
 * threads get either a worker's answer or the refusal; a worker that exits
 * normally leaves the pool, one that crashes takes the shedder down with its
 * reason (seen by the parent that started it linked); a worker that fails
 * to start fails the start. */
#include "check.h"

#include <string.h>
#include <time.h>
#include <troupe/flow.h>
#include <uv.h>

enum {
    MSG_ITEM = 1, /* i64: a sequence number (rate limiter); a credit_item (credit) */
    MSG_ASK,      /* i64: answered with twice that */
    MSG_GO,       /* a producer starts sending */
    MSG_STATS,    /* asked of a producer: its tr_credit_stats */
    MSG_GRANT,    /* {producer, n}: the consumer grants it n (0: a malformed grant) */
    MSG_JOB,      /* i64: a request's id; answered with a job_answer */
    MSG_RELEASE,  /* i64: a worker reports that many requests done */
    MSG_PING,
    MSG_CRASH, /* i64: the reason receive returns */
    MSG_QUIT,
    MSG_EVENT,
};

enum { EV_ITEM = 1, EV_ASK, EV_STARTED, EV_EXIT, EV_TERMINATE, EV_SENT, EV_HANDLED, EV_DONE };

typedef struct {
    int ev;
    tr_pid pid;   /* the sender of what was received; the actor started; who exited */
    int64_t a, b; /* what the event says */
} event;

typedef struct {
    tr_system *sys;
    tr_inbox *ib;
} rig;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(tr_ctx *cx, tr_pid to, int ev, tr_pid pid, int64_t a, int64_t b) {
    event e = {ev, pid, a, b};
    int rc = tr_send(tr_ctx_system(cx), to, MSG_EVENT, &e, sizeof e);
    CHECK(rc == 0 || rc == TR_ESTOPPED || rc == TR_ENOACTOR); /* at the end: inbox gone */
}

static rig rig_open(void) {
    rig r = {check_system(2, 64), NULL};
    CHECK_EQ(tr_inbox_open(r.sys, &r.ib), 0);
    return r;
}

static void rig_close(rig *r) {
    CHECK_EQ(tr_inbox_close(r->ib), 0);
    CHECK_EQ(tr_system_stop(r->sys), 0);
    check_finish(r->sys);
}

/* The next message in the inbox, which must be an event. */
static event next(rig *r) {
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(r->ib, &m, 10000), 0);
    event e;
    CHECK_EQ(tr_msg_type(m), MSG_EVENT);
    CHECK_EQ(tr_msg_size(m), sizeof e);
    memcpy(&e, tr_msg_data(m), sizeof e);
    tr_msg_free(m);
    return e;
}

static event next_ev(rig *r, int ev) {
    event e = next(r);
    CHECK_EQ(e.ev, ev);
    return e;
}

static void inbox_empty(rig *r) {
    tr_msg *m = NULL;
    CHECK_EQ(tr_inbox_receive(r->ib, &m, 0), TR_ETIMEDOUT);
}

/* pid has handled everything sent to it before this (and the messages its
 * earlier callbacks sent have left it). */
static void sync_with(rig *r, tr_pid pid) {
    int64_t out = -1;
    CHECK_EQ(tr_ask_i64(r->sys, pid, MSG_PING, 0, &out, 10000), 0);
    CHECK_EQ(out, 0);
}

/* ---- a parent: starts a limiter or shedder linked, and reports exits -------- */

typedef struct {
    const tr_rl_config *rl; /* one of the two */
    const tr_shed_config *shed;
    tr_pid report;
} parent_arg;

static int parent_init(tr_ctx *cx, void *state, const void *arg) {
    const parent_arg *a = arg;
    *(tr_pid *)state = a->report;
    tr_trap_exits(cx, 1);
    tr_pid pid = a->rl ? tr_rl_start_link(cx, a->rl) : tr_shed_start_link(cx, a->shed);
    CHECK(pid > 0);
    report(cx, a->report, EV_STARTED, pid, 0, 0);
    return 0;
}

static int parent_receive(tr_ctx *cx, void *state, tr_msg *m) {
    switch (tr_msg_type(m)) {
    case TR_MSG_EXIT:
        report(cx, *(tr_pid *)state, EV_EXIT, tr_msg_exit_pid(m), tr_msg_exit_reason(m), 0);
        return 0;
    case MSG_CRASH: return (int)tr_msg_i64(m);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec parent_spec = {
    .name = "parent", .state_size = sizeof(tr_pid), .init = parent_init, .receive = parent_receive};

/* Starts a parent (its pid in *parent) and returns the pid of the actor it
 * started. */
static tr_pid parent_start(rig *r, const tr_rl_config *rl, const tr_shed_config *shed,
                           tr_pid *parent) {
    parent_arg a = {rl, shed, tr_inbox_pid(r->ib)};
    *parent = check_spawn(r->sys, &parent_spec, &a);
    return next_ev(r, EV_STARTED).pid;
}

/* ---- rate limiter -------------------------------------------------------------- */

/* The sink: reports each item (sender, sequence number, when) and each ask,
 * which it answers with twice its number. */
static int sink_receive(tr_ctx *cx, void *state, tr_msg *m) {
    tr_pid to = *(tr_pid *)state;
    switch (tr_msg_type(m)) {
    case MSG_ITEM:
        report(cx, to, EV_ITEM, tr_msg_sender(m), tr_msg_i64(m), (int64_t)now_ns());
        return 0;
    case MSG_ASK:
        report(cx, to, EV_ASK, tr_msg_sender(m), tr_msg_i64(m), 0);
        return tr_reply_i64(cx, m, 2 * tr_msg_i64(m));
    case MSG_PING: return tr_reply_i64(cx, m, 0);
    }
    return TR_EUNHANDLED;
}

static int sink_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    *(tr_pid *)state = *(const tr_pid *)arg;
    return 0;
}

static const tr_actor_spec sink_spec = {
    .name = "sink", .state_size = sizeof(tr_pid), .init = sink_init, .receive = sink_receive};

static tr_pid sink_start(rig *r) {
    tr_pid inbox = tr_inbox_pid(r->ib);
    return check_spawn(r->sys, &sink_spec, &inbox);
}

static void item(rig *r, tr_pid to, int64_t seq) {
    CHECK_EQ(tr_inbox_send(r->ib, to, MSG_ITEM, &seq, sizeof seq), 0);
}

static tr_rl_stats rl_stats(rig *r, tr_pid rl) {
    tr_rl_stats st;
    CHECK_EQ(tr_rl_stats_get(r->sys, rl, &st, 10000), 0);
    return st;
}

/* Asks via the limiter: returns the answer, or the refusal's reason. */
static int64_t rl_ask(rig *r, tr_pid rl, tr_pid sink, int64_t x, int *refused) {
    tr_msg *req = check_msg(r->sys, MSG_ASK, sizeof x), *reply = NULL;
    memcpy(tr_msg_data(req), &x, sizeof x);
    CHECK_EQ(tr_ask(r->sys, rl, req, &reply, 10000), 0);
    CHECK(tr_msg_is_reply(reply));
    *refused = tr_flow_refused(reply);
    CHECK_EQ(tr_msg_sender(reply), *refused ? rl : sink);
    int64_t v = tr_msg_i64(reply);
    tr_msg_free(reply);
    return v;
}

#define PACED 60
#define PACED_RATE 200 /* a second: the delayed 50 take a quarter of a second */
#define PACED_BURST 10

static void rl_paces_messages_in_order(void) {
    rig r = rig_open();
    tr_pid sink = sink_start(&r);
    uint64_t t0 = now_ns();
    tr_rl_config cfg = {
        .target = sink, .rate = PACED_RATE, .burst = PACED_BURST, .queue_limit = PACED};
    tr_pid rl = tr_rl_start(r.sys, &cfg);
    CHECK(rl > 0);
    for (int64_t i = 1; i <= PACED; i++)
        item(&r, rl, i);
    int forwarded = 0, delayed = 0;
    for (int64_t i = 1; i <= PACED; i++) {
        event e = next_ev(&r, EV_ITEM);
        CHECK_EQ(e.a, i); /* in order */
        /* i passed on by time e.b: i <= burst + rate * (e.b - t0) / 1 s */
        CHECK((uint64_t)i * 1000000000u <=
              (uint64_t)PACED_BURST * 1000000000u + (uint64_t)PACED_RATE * ((uint64_t)e.b - t0));
        if (e.pid == tr_inbox_pid(r.ib))
            forwarded++;
        else if (e.pid == rl)
            delayed++;
        else
            CHECK(0);
    }
    tr_rl_stats st = rl_stats(&r, rl);
    CHECK_EQ(st.forwarded, forwarded);
    CHECK_EQ(st.delayed, delayed);
    CHECK_EQ(st.refused, 0);
    CHECK_EQ(st.queued, 0);
    CHECK(forwarded >= PACED_BURST); /* the bucket starts full */
    rig_close(&r);
}

static const uint32_t HOURLY = 3600000; /* one token an hour: none comes during a case */

static void rl_refuses_at_once(void) {
    rig r = rig_open();
    tr_pid sink = sink_start(&r);
    tr_rl_config cfg = {.target = sink, .rate = 1, .period_ms = HOURLY, .burst = 5};
    tr_pid rl = tr_rl_start(r.sys, &cfg);
    CHECK(rl > 0);
    int refused;
    item(&r, rl, 1);
    item(&r, rl, 2);
    item(&r, rl, 3);
    CHECK_EQ(rl_ask(&r, rl, sink, 21, &refused), 42);
    CHECK_EQ(refused, 0);
    item(&r, rl, 4); /* the last token */
    item(&r, rl, 5);
    CHECK_EQ(rl_ask(&r, rl, sink, 22, &refused), TR_EFULL);
    CHECK_EQ(refused, TR_EFULL);
    sync_with(&r, sink); /* it has reported all the limiter passed on */
    for (int64_t i = 1; i <= 4; i++) {
        event e = next(&r);
        if (i == 4) { /* the ask went between 3 and 4 */
            CHECK_EQ(e.ev, EV_ASK);
            CHECK_EQ(e.a, 21);
            e = next(&r);
        }
        CHECK_EQ(e.ev, EV_ITEM);
        CHECK_EQ(e.a, i);
        CHECK_EQ(e.pid, tr_inbox_pid(r.ib)); /* the original sender */
    }
    inbox_empty(&r);
    tr_rl_stats st = rl_stats(&r, rl);
    CHECK_EQ(st.forwarded, 5);
    CHECK_EQ(st.delayed, 0);
    CHECK_EQ(st.refused, 2);
    CHECK_EQ(st.queued, 0);
    rig_close(&r);
}

/* Waiting messages are delayed, requests and overflow refused; the limiter,
 * started linked, dies with its parent (dropping what waits). */
static void rl_delays_plain_messages_only(void) {
    rig r = rig_open();
    tr_pid sink = sink_start(&r);
    tr_rl_config cfg = {
        .target = sink, .rate = 1, .period_ms = HOURLY, .burst = 2, .queue_limit = 3};
    tr_pid parent;
    tr_pid rl = parent_start(&r, &cfg, NULL, &parent);
    int refused;
    for (int64_t i = 1; i <= 6; i++) /* 2 pass, 3 wait, 1 finds the queue full */
        item(&r, rl, i);
    CHECK_EQ(rl_ask(&r, rl, sink, 7, &refused), TR_EFULL);
    CHECK_EQ(refused, TR_EFULL);
    tr_rl_stats st = rl_stats(&r, rl);
    CHECK_EQ(st.forwarded, 2);
    CHECK_EQ(st.delayed, 3);
    CHECK_EQ(st.refused, 2);
    CHECK_EQ(st.queued, 3);
    sync_with(&r, sink);
    CHECK_EQ(next_ev(&r, EV_ITEM).a, 1);
    CHECK_EQ(next_ev(&r, EV_ITEM).a, 2);
    inbox_empty(&r);
    CHECK_EQ(tr_send_i64(r.sys, parent, MSG_CRASH, TR_EXIT_USER(2)), 0);
    int rc;
    while ((rc = tr_rl_stats_get(r.sys, rl, &st, 10000)) == 0)
        uv_sleep(1);
    CHECK_EQ(rc, TR_ENOACTOR);
    rig_close(&r);
}

static void rl_checks_its_arguments(void) {
    rig r = rig_open();
    tr_pid sink = sink_start(&r);
    tr_rl_config ok = {.target = sink, .rate = 1, .burst = 1};
    tr_rl_config bad[] = {
        {.target = 0, .rate = 1, .burst = 1},
        {.target = sink, .rate = 0, .burst = 1},
        {.target = sink, .rate = 1, .burst = 0},
        {.target = sink, .rate = 1, .burst = TR_RL_BURST_MAX + 1},
        {.target = sink, .rate = 1, .burst = 1, .period_ms = TR_RL_PERIOD_MAX_MS + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(tr_rl_start(r.sys, &bad[i]), TR_EINVAL);
    CHECK_EQ(tr_rl_start(r.sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_rl_start(NULL, &ok), TR_EINVAL);
    CHECK_EQ(tr_rl_start_link(NULL, &ok), TR_ENOTACTOR);
    tr_rl_stats st;
    CHECK_EQ(tr_rl_stats_get(r.sys, check_dead_pid(r.sys), &st, 10000), TR_ENOACTOR);
    CHECK_EQ(tr_rl_stats_get(r.sys, sink, NULL, 10000), TR_EINVAL);
    CHECK_EQ(tr_rl_stats_get(r.sys, sink, &st, 10000), TR_EUNHANDLED); /* not a limiter */
    CHECK_EQ(tr_rl_stats_read(NULL, &st), TR_EINVAL);
    tr_msg *m = check_msg(r.sys, TR_RL_MSG_STATS, sizeof st);
    CHECK_EQ(tr_rl_stats_read(m, &st), TR_EBADMSG); /* not a reply */
    tr_msg_free(m);
    CHECK_EQ(tr_flow_refused(NULL), 0);
    rig_close(&r);
}

/* ---- credit flow ------------------------------------------------------------ */

#define PRODUCERS 3
#define WINDOW 4
#define BATCH 2
#define ITEMS 300

typedef struct {
    int32_t producer;
    int32_t seq; /* from 0 */
} credit_item;

typedef struct {
    tr_pid consumer, report;
    int32_t index;
    int32_t items;        /* how many MSG_GO sends */
    uint32_t window, max; /* the sender's */
} producer_arg;

typedef struct {
    producer_arg a;
    tr_credit_sender *out;
} producer;

static int producer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    producer *p = state;
    p->a = *(const producer_arg *)arg;
    return tr_credit_sender_create(p->a.consumer, p->a.window, p->a.max, &p->out);
}

static int producer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    producer *p = state;
    int rc = tr_credit_sender_handle(cx, p->out, m);
    if (tr_msg_type(m) == TR_CREDIT_MSG_GRANT) { /* whose, and what became of it */
        if (p->a.report)
            report(cx, p->a.report, EV_HANDLED, tr_msg_sender(m), rc, 0);
        else
            CHECK_EQ(rc, 1);
        return 0;
    }
    CHECK_EQ(rc, 0);
    tr_credit_stats st;
    switch (tr_msg_type(m)) {
    case MSG_GO:
        for (int32_t i = 0; i < p->a.items; i++) {
            credit_item it = {p->a.index, i};
            rc = tr_credit_send(cx, p->out, MSG_ITEM, &it, sizeof it);
            if (p->a.report)
                report(cx, p->a.report, EV_SENT, 0, i, rc);
            else
                CHECK_EQ(rc, 0);
        }
        return 0;
    case MSG_STATS:
        CHECK_EQ(tr_credit_sender_stats(p->out, &st), 0);
        return tr_reply(cx, m, &st, sizeof st);
    }
    return TR_EUNHANDLED;
}

static void producer_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)reason;
    tr_credit_sender_destroy(((producer *)state)->out);
}

static const tr_actor_spec producer_spec = {.name = "producer",
                                            .state_size = sizeof(producer),
                                            .init = producer_init,
                                            .receive = producer_receive,
                                            .terminate = producer_terminate};

static tr_credit_stats producer_stats(rig *r, tr_pid p) {
    tr_msg *req = check_msg(r->sys, MSG_STATS, 0), *reply = NULL;
    CHECK_EQ(tr_ask(r->sys, p, req, &reply, 10000), 0);
    tr_credit_stats st;
    CHECK_EQ(tr_msg_size(reply), sizeof st);
    memcpy(&st, tr_msg_data(reply), sizeof st);
    tr_msg_free(reply);
    return st;
}

/* The consumer of the window case: checks every producer's order and window,
 * grants with a receiver, and reports once it has everything. */
typedef struct {
    tr_pid report;
    tr_credit_receiver *credits;
    int32_t next[PRODUCERS];
    int32_t total;
} consumer;

static int consumer_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    consumer *c = state;
    c->report = *(const tr_pid *)arg;
    return tr_credit_receiver_create(BATCH, &c->credits);
}

static int consumer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    consumer *c = state;
    credit_item it;
    CHECK_EQ(tr_msg_type(m), MSG_ITEM);
    CHECK_EQ(tr_msg_size(m), sizeof it);
    memcpy(&it, tr_msg_data(m), sizeof it);
    CHECK(it.producer >= 0 && it.producer < PRODUCERS);
    CHECK_EQ(it.seq, c->next[it.producer]++);
    CHECK_EQ(tr_credit_done(cx, c->credits, m), 0);
    if (++c->total == PRODUCERS * ITEMS)
        report(cx, c->report, EV_DONE, 0, c->total, 0);
    return 0;
}

static void consumer_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)reason;
    tr_credit_receiver_destroy(((consumer *)state)->credits);
}

/* Bounded by the windows: a producer that sent past its window would be
   refused, and fail its CHECK. */
static const tr_actor_spec consumer_spec = {.name = "consumer",
                                            .state_size = sizeof(consumer),
                                            .init = consumer_init,
                                            .receive = consumer_receive,
                                            .terminate = consumer_terminate,
                                            .mailbox_capacity = PRODUCERS * WINDOW};

static void credit_keeps_order_within_windows(void) {
    rig r = rig_open();
    tr_pid inbox = tr_inbox_pid(r.ib);
    tr_pid c = check_spawn(r.sys, &consumer_spec, &inbox);
    tr_pid p[PRODUCERS];
    for (int32_t i = 0; i < PRODUCERS; i++) {
        producer_arg a = {.consumer = c, .index = i, .items = ITEMS, .window = WINDOW};
        p[i] = check_spawn(r.sys, &producer_spec, &a);
    }
    for (int i = 0; i < PRODUCERS; i++)
        CHECK_EQ(tr_send(r.sys, p[i], MSG_GO, NULL, 0), 0);
    CHECK_EQ(next_ev(&r, EV_DONE).a, PRODUCERS * ITEMS);
    for (int i = 0; i < PRODUCERS; i++) {
        tr_credit_stats st = producer_stats(&r, p[i]);
        CHECK_EQ(st.sent, ITEMS);
        CHECK_EQ(st.waited, ITEMS - WINDOW); /* one burst: all but a window waited */
        CHECK_EQ(st.high_water, ITEMS - WINDOW);
        CHECK_EQ(st.queued, 0);
    }
    tr_system_stats sys;
    CHECK_EQ(tr_system_stats_get(r.sys, &sys), 0);
    CHECK_EQ(sys.rejected, 0);
    rig_close(&r);
}

/* A consumer that reports what it gets and grants only when told. */
static int manual_receive(tr_ctx *cx, void *state, tr_msg *m) {
    credit_item it;
    int64_t g[2]; /* MSG_GRANT: the producer's pid, then the count */
    switch (tr_msg_type(m)) {
    case MSG_ITEM:
        CHECK_EQ(tr_msg_size(m), sizeof it);
        memcpy(&it, tr_msg_data(m), sizeof it);
        report(cx, *(tr_pid *)state, EV_ITEM, tr_msg_sender(m), it.seq, 0);
        return 0;
    case MSG_GRANT:
        CHECK_EQ(tr_msg_size(m), sizeof g);
        memcpy(g, tr_msg_data(m), sizeof g);
        if (g[1] == 0) /* a malformed grant */
            return tr_send_i64(tr_ctx_system(cx), g[0], TR_CREDIT_MSG_GRANT, 0);
        return tr_credit_grant(cx, g[0], (uint32_t)g[1]);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec manual_spec = {.name = "manual consumer",
                                          .state_size = sizeof(tr_pid),
                                          .init = sink_init,
                                          .receive = manual_receive};

/* Has consumer c grant producer p n credits. */
static void grant(rig *r, tr_pid c, tr_pid p, int64_t n) {
    int64_t g[2] = {p, n};
    CHECK_EQ(tr_send(r->sys, c, MSG_GRANT, g, sizeof g), 0);
}

static void credit_sender_queue_and_grants(void) {
    rig r = rig_open();
    tr_pid inbox = tr_inbox_pid(r.ib);
    tr_pid c = check_spawn(r.sys, &manual_spec, &inbox);
    producer_arg a = {.consumer = c, .report = inbox, .items = 4, .window = 1, .max = 2};
    tr_pid p = check_spawn(r.sys, &producer_spec, &a);
    CHECK_EQ(tr_send(r.sys, p, MSG_GO, NULL, 0), 0);
    /* one sent, two queued, the fourth refused */
    const int64_t rcs[] = {0, 0, 0, TR_EFULL};
    for (int64_t i = 0; i < 4; i++) {
        event e = next_ev(&r, EV_SENT);
        CHECK_EQ(e.a, i);
        CHECK_EQ(e.b, rcs[i]);
    }
    event e = next_ev(&r, EV_ITEM);
    CHECK_EQ(e.a, 0);
    CHECK_EQ(e.pid, p);
    /* a grant from anyone but the consumer is not the sender's */
    CHECK_EQ(tr_send_i64(r.sys, p, TR_CREDIT_MSG_GRANT, 5), 0);
    e = next_ev(&r, EV_HANDLED);
    CHECK_EQ(e.pid, TR_PID_NONE);
    CHECK_EQ(e.a, 0);
    grant(&r, c, p, 0);
    e = next_ev(&r, EV_HANDLED);
    CHECK_EQ(e.pid, c);
    CHECK_EQ(e.a, TR_EBADMSG);
    grant(&r, c, p, 5); /* releases both waiting, keeps 3 */
    CHECK_EQ(next_ev(&r, EV_HANDLED).a, 1);
    CHECK_EQ(next_ev(&r, EV_ITEM).a, 1);
    CHECK_EQ(next_ev(&r, EV_ITEM).a, 2);
    tr_credit_stats st = producer_stats(&r, p);
    CHECK_EQ(st.sent, 3);
    CHECK_EQ(st.waited, 2);
    CHECK_EQ(st.credits, 3);
    CHECK_EQ(st.queued, 0);
    CHECK_EQ(st.high_water, 2);
    inbox_empty(&r);
    /* misuse */
    tr_credit_sender *cs = NULL;
    tr_credit_receiver *cr = NULL;
    CHECK_EQ(tr_credit_sender_create(0, 1, 0, &cs), TR_EINVAL);
    CHECK_EQ(tr_credit_sender_create(c, 0, 0, &cs), TR_EINVAL);
    CHECK_EQ(tr_credit_receiver_create(0, &cr), TR_EINVAL);
    CHECK_EQ(tr_credit_sender_create(c, 1, 0, &cs), 0);
    CHECK_EQ(tr_credit_send(NULL, cs, MSG_ITEM, NULL, 0), TR_ENOTACTOR);
    CHECK_EQ(tr_credit_sender_handle(NULL, cs, NULL), TR_ENOTACTOR);
    CHECK_EQ(tr_credit_sender_stats(cs, &st), 0);
    CHECK_EQ(st.credits, 1);
    tr_credit_sender_destroy(cs);
    CHECK_EQ(tr_credit_receiver_create(1, &cr), 0);
    CHECK_EQ(tr_credit_done(NULL, cr, NULL), TR_ENOTACTOR);
    tr_credit_receiver_destroy(cr);
    CHECK_EQ(tr_credit_grant(NULL, p, 1), TR_ENOTACTOR);
    rig_close(&r);
}

/* ---- load shedder --------------------------------------------------------- */

typedef struct {
    tr_pid report;  /* 0: no reports */
    int fail_index; /* the worker whose init fails (-1: none) */
} job_config;

typedef struct {
    tr_pid shedder, report;
    int64_t index;
} job_worker;

typedef struct {
    int64_t id, index;
} job_answer;

enum { JOB_INIT_FAILS = TR_EXIT_USER(5) };

static int job_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    const tr_shed_worker_arg *wa = arg;
    const job_config *cfg = wa->arg;
    job_worker *w = state;
    *w = (job_worker){wa->shedder, cfg->report, wa->index};
    return (int)wa->index == cfg->fail_index ? JOB_INIT_FAILS : 0;
}

/* Answers at once; reports done only on MSG_RELEASE. */
static int job_receive(tr_ctx *cx, void *state, tr_msg *m) {
    job_worker *w = state;
    job_answer ans = {tr_msg_i64(m), w->index};
    switch (tr_msg_type(m)) {
    case MSG_JOB: return tr_reply(cx, m, &ans, sizeof ans);
    case MSG_RELEASE:
        for (int64_t i = 0; i < tr_msg_i64(m); i++)
            CHECK_EQ(tr_shed_done(cx, w->shedder), 0);
        return tr_reply_i64(cx, m, 0);
    case MSG_PING: return tr_reply_i64(cx, m, 0);
    case MSG_CRASH: return (int)tr_msg_i64(m);
    case MSG_QUIT: return tr_exit(cx, 0);
    }
    return TR_EUNHANDLED;
}

static void job_terminate(tr_ctx *cx, void *state, int reason) {
    job_worker *w = state;
    if (w->report)
        report(cx, w->report, EV_TERMINATE, 0, w->index, reason);
}

static const tr_actor_spec job_spec = {.name = "job worker",
                                       .state_size = sizeof(job_worker),
                                       .init = job_init,
                                       .receive = job_receive,
                                       .terminate = job_terminate};

static tr_shed_stats shed_stats(rig *r, tr_pid shedder) {
    tr_shed_stats st;
    CHECK_EQ(tr_shed_stats_get(r->sys, shedder, &st, 10000), 0);
    return st;
}

static void check_shed_stats(rig *r, tr_pid shedder, uint64_t handed, uint64_t waited,
                             uint64_t overloaded, uint32_t workers, uint32_t busy,
                             uint32_t waiting) {
    tr_shed_stats st = shed_stats(r, shedder);
    CHECK_EQ(st.handed, handed);
    CHECK_EQ(st.waited, waited);
    CHECK_EQ(st.overloaded, overloaded);
    CHECK_EQ(st.workers, workers);
    CHECK_EQ(st.busy, busy);
    CHECK_EQ(st.waiting, waiting);
}

/* worker reports n requests done; the reports are on their way to the
 * shedder, ahead of anything sent to it after this returns. */
static void release(rig *r, tr_pid worker, int64_t n) {
    int64_t out = -1;
    CHECK_EQ(tr_ask_i64(r->sys, worker, MSG_RELEASE, n, &out, 10000), 0);
    sync_with(r, worker); /* the callback that sent them has returned: they left */
}

#define JOBS 11

/* Requests are sent from the inbox, so answers and refusals come to it. */
typedef struct {
    tr_pid by[JOBS + 1]; /* who answered request i (0: none yet) */
    int64_t index[JOBS + 1];
} answers;

static void job(rig *r, tr_pid shedder, int64_t id) {
    CHECK_EQ(tr_inbox_send(r->ib, shedder, MSG_JOB, &id, sizeof id), 0);
}

/* Reads n answers: a worker's names its request; the shedder's refusals do
 * not, so they are counted in *refusals. */
static void collect(rig *r, answers *got, int n, int *refusals) {
    for (int k = 0; k < n; k++) {
        tr_msg *m = NULL;
        CHECK_EQ(tr_inbox_receive(r->ib, &m, 10000), 0);
        CHECK(tr_msg_is_reply(m));
        if (tr_flow_refused(m)) {
            CHECK_EQ(tr_flow_refused(m), TR_EFULL);
            ++*refusals;
        } else {
            job_answer a;
            CHECK_EQ(tr_msg_type(m), MSG_JOB);
            CHECK_EQ(tr_msg_size(m), sizeof a);
            memcpy(&a, tr_msg_data(m), sizeof a);
            CHECK(a.id >= 1 && a.id <= JOBS && got->by[a.id] == 0);
            got->by[a.id] = tr_msg_sender(m);
            got->index[a.id] = a.index;
        }
        tr_msg_free(m);
    }
}

static void shed_hands_out_queues_and_refuses(void) {
    rig r = rig_open();
    job_config jc = {0, -1};
    tr_shed_config cfg = {.worker = &job_spec, .worker_arg = &jc, .workers = 2, .queue_limit = 3};
    tr_pid shedder = tr_shed_start(r.sys, &cfg);
    CHECK(shedder > 0);
    check_shed_stats(&r, shedder, 0, 0, 0, 2, 0, 0);
    answers got;
    memset(&got, 0, sizeof got);
    int refusals = 0;
    for (int64_t id = 1; id <= 8; id++)
        job(&r, shedder, id);
    collect(&r, &got, 8, &refusals);
    /* 1 and 2 to the idle workers; 3, 4, 5 wait, each with the worker that
       has fewest, taking turns; 6, 7, 8 are refused */
    const int64_t expect[] = {0, 0, 1, 0, 1, 0};
    for (int id = 1; id <= 5; id++)
        CHECK_EQ(got.index[id], expect[id]);
    for (int id = 6; id <= 8; id++)
        CHECK_EQ(got.by[id], 0);
    CHECK_EQ(refusals, 3);
    tr_pid w0 = got.by[1], w1 = got.by[2];
    check_shed_stats(&r, shedder, 2, 3, 3, 2, 2, 3);
    /* w1 finishes request 2 and starts on 4: one place frees up, at w1 */
    release(&r, w1, 1);
    check_shed_stats(&r, shedder, 2, 3, 3, 2, 2, 2);
    job(&r, shedder, 9);
    job(&r, shedder, 10);
    collect(&r, &got, 2, &refusals);
    CHECK_EQ(got.by[9], w1);
    CHECK_EQ(got.by[10], 0);
    CHECK_EQ(refusals, 4);
    /* everything done: all idle, and the next request goes to the worker
       after the one last picked */
    release(&r, w0, 3);
    release(&r, w1, 2);
    check_shed_stats(&r, shedder, 2, 4, 4, 2, 0, 0);
    job(&r, shedder, 11);
    collect(&r, &got, 1, &refusals);
    CHECK_EQ(got.by[11], w0);
    check_shed_stats(&r, shedder, 3, 4, 4, 2, 1, 0);
    CHECK_EQ(tr_send_exit(r.sys, shedder, TR_ESTOPPED), 0);
    rig_close(&r);
}

/* Asks via the shedder: returns who answered (the shedder for a refusal). */
static tr_pid shed_ask(rig *r, tr_pid shedder, int64_t id, int64_t *index) {
    tr_msg *req = check_msg(r->sys, MSG_JOB, sizeof id), *reply = NULL;
    memcpy(tr_msg_data(req), &id, sizeof id);
    CHECK_EQ(tr_ask(r->sys, shedder, req, &reply, 10000), 0);
    tr_pid by = tr_msg_sender(reply);
    if (tr_flow_refused(reply)) {
        CHECK_EQ(tr_flow_refused(reply), TR_EFULL);
        CHECK_EQ(by, shedder);
    } else {
        job_answer a;
        CHECK_EQ(tr_msg_size(reply), sizeof a);
        memcpy(&a, tr_msg_data(reply), sizeof a);
        CHECK_EQ(a.id, id);
        *index = a.index;
    }
    tr_msg_free(reply);
    return by;
}

static void shed_answers_asks_and_follows_its_workers(void) {
    rig r = rig_open();
    job_config jc = {0, -1};
    tr_shed_config cfg = {.worker = &job_spec, .worker_arg = &jc, .workers = 2};
    tr_pid parent;
    tr_pid shedder = parent_start(&r, NULL, &cfg, &parent);
    int64_t index = -1;
    tr_pid w0 = shed_ask(&r, shedder, 1, &index);
    CHECK_EQ(index, 0);
    tr_pid w1 = shed_ask(&r, shedder, 2, &index);
    CHECK_EQ(index, 1);
    CHECK(w0 != shedder && w1 != shedder && w0 != w1);
    CHECK_EQ(shed_ask(&r, shedder, 3, &index), shedder); /* no queue: refused */
    /* w0 exits normally while busy: it leaves the pool */
    CHECK_EQ(tr_send(r.sys, w0, MSG_QUIT, NULL, 0), 0);
    tr_shed_stats st;
    while ((st = shed_stats(&r, shedder)).workers == 2)
        uv_sleep(1);
    check_shed_stats(&r, shedder, 2, 0, 1, 1, 1, 0);
    CHECK_EQ(shed_ask(&r, shedder, 4, &index), shedder);
    release(&r, w1, 1);
    CHECK_EQ(shed_ask(&r, shedder, 5, &index), w1);
    /* w1 crashes: the shedder exits with its reason */
    CHECK_EQ(tr_send_i64(r.sys, w1, MSG_CRASH, TR_EXIT_USER(7)), 0);
    event e = next_ev(&r, EV_EXIT);
    CHECK_EQ(e.pid, shedder);
    CHECK_EQ(e.a, TR_EXIT_USER(7));
    rig_close(&r);
}

static void shed_checks_its_arguments(void) {
    rig r = rig_open();
    tr_pid keep = check_spawn_idle(r.sys); /* the system outlives the failed start */
    job_config jc = {tr_inbox_pid(r.ib), 1};
    tr_shed_config cfg = {.worker = &job_spec, .worker_arg = &jc, .workers = 3};
    /* the second worker fails: the first gets the exit signal, no third starts */
    CHECK_EQ(tr_shed_start(r.sys, &cfg), JOB_INIT_FAILS);
    event e = next_ev(&r, EV_TERMINATE);
    CHECK_EQ(e.a, 0);
    CHECK_EQ(e.b, JOB_INIT_FAILS);
    tr_shed_config bad[] = {
        {.worker = NULL, .workers = 1},
        {.worker = &job_spec, .workers = 0},
        {.worker = &job_spec, .workers = TR_SHED_WORKERS_MAX + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(tr_shed_start(r.sys, &bad[i]), TR_EINVAL);
    CHECK_EQ(tr_shed_start(r.sys, NULL), TR_EINVAL);
    CHECK_EQ(tr_shed_start_link(NULL, &cfg), TR_ENOTACTOR);
    CHECK_EQ(tr_shed_done(NULL, 1), TR_ENOTACTOR);
    tr_shed_stats st;
    CHECK_EQ(tr_shed_stats_get(r.sys, 0, &st, 10000), TR_EINVAL);
    CHECK_EQ(tr_shed_stats_read(NULL, &st), TR_EINVAL);
    inbox_empty(&r);
    CHECK_EQ(tr_send(r.sys, keep, CHECK_MSG_EXIT, NULL, 0), 0);
    rig_close(&r);
}

int main(void) {
    RUN(rl_paces_messages_in_order);
    RUN(rl_refuses_at_once);
    RUN(rl_delays_plain_messages_only);
    RUN(rl_checks_its_arguments);
    RUN(credit_keeps_order_within_windows);
    RUN(credit_sender_queue_and_grants);
    RUN(shed_hands_out_queues_and_refuses);
    RUN(shed_answers_asks_and_follows_its_workers);
    RUN(shed_checks_its_arguments);
    return check_summary();
}
