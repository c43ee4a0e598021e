/* test_delivery.c — the delivery guarantee. Per sender-receiver pair messages
 * arrive in send order and at most once, and none is lost, whether the
 * senders are actors or plain threads, on one worker or several, with large or
 * tiny batches. A bounded mailbox with the fail policy takes exactly its
 * capacity, refuses the rest with TR_EFULL and counts each refusal. */
#include "check.h"

#include <string.h>
#include <uv.h>

enum { MSG_SEQ = 1, MSG_GO, MSG_BLOCK };

/* ---- order, loss, duplicates ----------------------------------------------- */

#define SENDER_ACTORS 4
#define SENDER_THREADS 3
#define SENDERS (SENDER_ACTORS + SENDER_THREADS)
#define PER_SENDER 10000
#define CHUNK 500 /* messages a sender actor sends per turn */

static tr_system *g_sys;
static tr_pid g_receiver;
static tr_pid g_senders[SENDERS]; /* TR_PID_NONE for the plain threads */

/* The receiver's books: only it writes them; main reads them after the stop. */
static struct {
    uint32_t next[SENDERS];
    uint64_t count;
    uint64_t sum;
} g_rx;

static int64_t encode(int sender, uint32_t seq) {
    return (int64_t)sender << 32 | seq;
}

static int ordered_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    CHECK_EQ(tr_msg_type(m), MSG_SEQ);
    int64_t v = tr_msg_i64(m);
    int sender = (int)(v >> 32);
    uint32_t seq = (uint32_t)v;
    CHECK(sender >= 0 && sender < SENDERS);
    CHECK_EQ(tr_msg_sender(m), g_senders[sender]);
    CHECK_EQ(seq, g_rx.next[sender]); /* a gap is a loss or a reordering, a repeat a duplicate */
    g_rx.next[sender]++;
    g_rx.sum += seq;
    return ++g_rx.count == (uint64_t)SENDERS * PER_SENDER ? tr_exit(cx, 0) : 0;
}

static const tr_actor_spec ordered_spec = {.name = "ordered", .receive = ordered_receive};

typedef struct {
    int id;
    uint32_t next;
} sender_state;

static int sender_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((sender_state *)state)->id = *(const int *)arg;
    return 0;
}

/* Sends the next CHUNK sequence numbers per MSG_GO, then goes again or exits. */
static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender_state *s = state;
    CHECK_EQ(tr_msg_type(m), MSG_GO);
    tr_system *sys = tr_ctx_system(cx);
    for (int n = 0; n < CHUNK && s->next < PER_SENDER; n++)
        CHECK_EQ(tr_send_i64(sys, g_receiver, MSG_SEQ, encode(s->id, s->next++)), 0);
    return s->next < PER_SENDER ? tr_send_i64(sys, tr_self(cx), MSG_GO, 0) : tr_exit(cx, 0);
}

static const tr_actor_spec sender_spec = {
    .name = "sender",
    .state_size = sizeof(sender_state),
    .init = sender_init,
    .receive = sender_receive,
};

static void sender_thread(void *arg) {
    int id = *(const int *)arg;
    for (uint32_t seq = 0; seq < PER_SENDER; seq++)
        CHECK_EQ(tr_send_i64(g_sys, g_receiver, MSG_SEQ, encode(id, seq)), 0);
}

static void ordered_delivery(unsigned workers, unsigned batch) {
    static int ids[SENDERS];
    memset(&g_rx, 0, sizeof g_rx);
    g_sys = check_system(workers, batch);
    g_receiver = check_spawn(g_sys, &ordered_spec, NULL);
    for (int i = 0; i < SENDERS; i++)
        ids[i] = i;
    for (int i = 0; i < SENDER_ACTORS; i++) {
        g_senders[i] = check_spawn(g_sys, &sender_spec, &ids[i]);
    }

    uv_thread_t threads[SENDER_THREADS];
    for (int t = 0; t < SENDER_THREADS; t++)
        CHECK_EQ(uv_thread_create(&threads[t], sender_thread, &ids[SENDER_ACTORS + t]), 0);
    for (int i = 0; i < SENDER_ACTORS; i++)
        CHECK_EQ(tr_send_i64(g_sys, g_senders[i], MSG_GO, 0), 0);
    for (int t = 0; t < SENDER_THREADS; t++)
        CHECK_EQ(uv_thread_join(&threads[t]), 0);

    tr_system_stats st = check_finish(g_sys); /* the receiver exits after the last message */
    CHECK_EQ(g_rx.count, (uint64_t)SENDERS * PER_SENDER);
    CHECK_EQ(g_rx.sum, (uint64_t)SENDERS * PER_SENDER * (PER_SENDER - 1) / 2);
    for (int i = 0; i < SENDERS; i++)
        CHECK_EQ(g_rx.next[i], PER_SENDER);
    CHECK_EQ(st.spawned, 1 + SENDER_ACTORS);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(st.rejected, 0);
}

static void ordered_two_workers(void) {
    ordered_delivery(2, 64);
}
static void ordered_one_worker_batch_one(void) {
    ordered_delivery(1, 1);
}
static void ordered_oversubscribed(void) {
    ordered_delivery(4, 7);
}

/* ---- bounded mailbox ------------------------------------------------------- */

#define CAPACITY 16

static uv_sem_t g_entered, g_release;

/* Written by the bounded receiver only. */
static struct {
    int64_t got[CAPACITY];
    int n;
} g_bounded;

/* MSG_BLOCK holds the actor (and its worker) until the test has filled the
 * mailbox; then it takes CAPACITY sequence numbers and exits. */
static int bounded_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) == MSG_BLOCK) {
        uv_sem_post(&g_entered);
        uv_sem_wait(&g_release);
        return 0;
    }
    CHECK_EQ(tr_msg_type(m), MSG_SEQ);
    CHECK(g_bounded.n < CAPACITY);
    g_bounded.got[g_bounded.n++] = tr_msg_i64(m);
    return g_bounded.n == CAPACITY ? tr_exit(cx, 0) : 0;
}

static const tr_actor_spec bounded_spec = {
    .name = "bounded",
    .receive = bounded_receive,
    .mailbox_capacity = CAPACITY,
    .overflow = TR_OVERFLOW_FAIL,
};

static void bounded_mailbox_refuses_overflow(void) {
    CHECK_EQ(uv_sem_init(&g_entered, 0), 0);
    CHECK_EQ(uv_sem_init(&g_release, 0), 0);
    tr_system *sys = check_system(2, 64);
    tr_pid pid = check_spawn(sys, &bounded_spec, NULL);

    CHECK_EQ(tr_send_i64(sys, pid, MSG_BLOCK, 0), 0);
    uv_sem_wait(&g_entered); /* the mailbox is empty and nothing drains it now */
    for (int i = 0; i < CAPACITY; i++)
        CHECK_EQ(tr_send_i64(sys, pid, MSG_SEQ, i), 0);
    CHECK_EQ(tr_send_i64(sys, pid, MSG_SEQ, CAPACITY), TR_EFULL);
    CHECK_EQ(tr_send(sys, pid, MSG_SEQ, "x", 1), TR_EFULL);
    tr_msg *m = check_msg(sys, MSG_SEQ, 8);
    CHECK_EQ(tr_msg_send(sys, pid, m), TR_EFULL); /* consumed: freed and counted */
    uv_sem_post(&g_release);

    tr_system_stats st = check_finish(sys);
    CHECK_EQ(g_bounded.n, CAPACITY);
    for (int i = 0; i < CAPACITY; i++)
        CHECK_EQ(g_bounded.got[i], i);
    CHECK_EQ(st.rejected, 3);
    CHECK_EQ(st.dead_letters, 0);
    uv_sem_destroy(&g_entered);
    uv_sem_destroy(&g_release);
}

int main(void) {
    RUN(ordered_two_workers);
    RUN(ordered_one_worker_batch_one);
    RUN(ordered_oversubscribed);
    RUN(bounded_mailbox_refuses_overflow);
    return check_summary();
}
