/* test_mailbox.c — the MPSC mailbox (runtime/mpsc.c): FIFO, idle marking and
 * claiming on one thread, then a stress test with several producers (single
 * pushes and chain pushes) and one
 * consumer that follows the actor protocol (a push that finds the queue idle
 * hands the consumer side over). It checks per-producer order, that nothing is
 * lost or duplicated, and that exactly one party owns the consumer side at any
 * time. Run under ThreadSanitizer in CI. */
#include "check.h"
#include "mpsc.h"

#include <uv.h>

typedef struct item {
    tr_node node;
    int producer, seq;
} item;

static void test_single_thread(void) {
    tr_mpsc q;
    item it[3] = {{.seq = 0}, {.seq = 1}, {.seq = 2}};
    tr_mpsc_init(&q);
    CHECK(tr_mpsc_mark_idle(&q));          /* a new queue is idle */
    CHECK(tr_mpsc_push(&q, &it[0].node));  /* idle -> the pusher owns it */
    CHECK(!tr_mpsc_push(&q, &it[1].node)); /* not idle any more */
    CHECK(!tr_mpsc_claim(&q));             /* busy: cannot be claimed */
    CHECK(!tr_mpsc_mark_idle(&q));         /* not empty */
    CHECK(tr_mpsc_pop(&q) == &it[0].node);
    CHECK(!tr_mpsc_push(&q, &it[2].node));
    CHECK(tr_mpsc_pop(&q) == &it[1].node);
    CHECK(tr_mpsc_pop(&q) == &it[2].node);
    CHECK(tr_mpsc_pop(&q) == NULL);
    CHECK(tr_mpsc_mark_idle(&q));
    CHECK(tr_mpsc_claim(&q)); /* idle and empty: claimable once */
    CHECK(!tr_mpsc_claim(&q));
    CHECK(!tr_mpsc_push(&q, &it[0].node)); /* claimed: the push does not hand over */
    CHECK(tr_mpsc_pop(&q) == &it[0].node);
    CHECK(tr_mpsc_mark_idle(&q));
    CHECK(tr_mpsc_mark_idle(&q)); /* marking an idle queue again is harmless */
}

enum { PRODUCERS = 4, PER_PRODUCER = 50000 };

static tr_mpsc queue;
static item items[PRODUCERS][PER_PRODUCER];
static uv_sem_t handovers;        /* one post per push that found the queue idle */
static _Atomic int consumer_owns; /* 1 while someone holds the consumer side */
static _Atomic int handover_count;

/* Even producers push one node at a time; odd ones push chains of up to
 * three (the outbox's path), linked privately before the one exchange. */
static void producer(void *arg) {
    int p = (int)(intptr_t)arg;
    int chain = p % 2 ? 3 : 1;
    for (int i = 0; i < PER_PRODUCER; i += chain) {
        int n = i + chain <= PER_PRODUCER ? chain : PER_PRODUCER - i;
        for (int k = 0; k < n; k++) {
            items[p][i + k].producer = p;
            items[p][i + k].seq = i + k;
            if (k > 0)
                atomic_store_explicit(&items[p][i + k - 1].node.next, &items[p][i + k].node,
                                      memory_order_relaxed);
        }
        if (tr_mpsc_push_chain(&queue, &items[p][i].node, &items[p][i + n - 1].node)) {
            atomic_fetch_add(&handover_count, 1);
            uv_sem_post(&handovers);
        }
    }
}

static void test_stress(void) {
    uv_thread_t threads[PRODUCERS];
    int next_seq[PRODUCERS] = {0};
    int received = 0, sessions = 0;
    tr_mpsc_init(&queue);
    CHECK_EQ(uv_sem_init(&handovers, 0), 0);
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(uv_thread_create(&threads[p], producer, (void *)(intptr_t)p), 0);
    while (received < PRODUCERS * PER_PRODUCER) {
        uv_sem_wait(&handovers);
        sessions++;
        CHECK_EQ(atomic_exchange(&consumer_owns, 1), 0);
        for (;;) {
            tr_node *n;
            while ((n = tr_mpsc_pop(&queue))) {
                item *it = (item *)n;
                CHECK_EQ(it->seq, next_seq[it->producer]); /* FIFO per producer, no duplicate */
                next_seq[it->producer]++;
                received++;
            }
            atomic_store(&consumer_owns, 0);
            if (tr_mpsc_mark_idle(&queue))
                break; /* handed back: the next idle-finding push owns it */
            CHECK_EQ(atomic_exchange(&consumer_owns, 1), 0); /* a push is landing: still ours */
        }
    }
    for (int p = 0; p < PRODUCERS; p++) {
        uv_thread_join(&threads[p]);
        CHECK_EQ(next_seq[p], PER_PRODUCER);
    }
    CHECK_EQ(received, PRODUCERS * PER_PRODUCER);
    CHECK_EQ(atomic_load(&handover_count), sessions); /* every hand-over was taken, once */
    CHECK(tr_mpsc_pop(&queue) == NULL);
    uv_sem_destroy(&handovers);
}

int main(void) {
    RUN(test_single_thread);
    RUN(test_stress);
    return check_summary();
}
