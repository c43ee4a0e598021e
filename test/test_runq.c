/* test_runq.c — a worker's run queue (runtime/runq.c): FIFO order and
 * capacity on one thread, then a stress test where the owner puts and gets
 * (spilling half when full, as the scheduler does) while thieves steal halves.
 * Every item must be taken exactly once. Run under ThreadSanitizer in CI. */
#include "check.h"
#include "runq.h"

#include <uv.h>

enum { ITEMS = 200000, THIEVES = 2 };

/* Items are fake actor pointers: addresses inside this array. */
static char slots[ITEMS];
static _Atomic int taken[ITEMS];
static tr_runq q;
static _Atomic int owner_done;

static struct tr_actor *item(int i) {
    return (struct tr_actor *)(void *)&slots[i];
}
static void take(struct tr_actor *a) {
    atomic_fetch_add(&taken[(char *)(void *)a - slots], 1);
}

static void test_single_thread(void) {
    tr_runq r = {0};
    for (int i = 0; i < (int)TR_RUNQ_SIZE; i++)
        CHECK(tr_runq_put(&r, item(i)));
    CHECK(!tr_runq_put(&r, item(0))); /* full */
    CHECK_EQ(tr_runq_len(&r), TR_RUNQ_SIZE);
    CHECK(tr_runq_get(&r) == item(0)); /* FIFO */
    struct tr_actor *half[TR_RUNQ_SIZE];
    uint32_t n = tr_runq_grab(&r, half, TR_RUNQ_SIZE);
    CHECK_EQ(n, (TR_RUNQ_SIZE - 1 + 1) / 2); /* half, rounded up */
    CHECK(half[0] == item(1));
    CHECK(tr_runq_get(&r) == item(1 + (int)n));
    while (tr_runq_get(&r))
        ;
    CHECK_EQ(tr_runq_len(&r), 0);
    CHECK_EQ(tr_runq_grab(&r, half, TR_RUNQ_SIZE), 0);
}

static void thief(void *arg) {
    (void)arg;
    struct tr_actor *got[TR_RUNQ_SIZE];
    while (!atomic_load(&owner_done) || tr_runq_len(&q) > 0) {
        uint32_t n = tr_runq_grab(&q, got, TR_RUNQ_SIZE / 2);
        for (uint32_t i = 0; i < n; i++)
            take(got[i]);
    }
}

static void test_stress(void) {
    uv_thread_t threads[THIEVES];
    for (int t = 0; t < THIEVES; t++)
        CHECK_EQ(uv_thread_create(&threads[t], thief, NULL), 0);
    struct tr_actor *spill[TR_RUNQ_SIZE / 2];
    for (int i = 0; i < ITEMS; i++) {
        if (!tr_runq_put(&q, item(i))) {
            uint32_t n = tr_runq_grab(&q, spill, TR_RUNQ_SIZE / 2);
            for (uint32_t k = 0; k < n; k++)
                take(spill[k]); /* the scheduler moves these to the global queue */
            CHECK(tr_runq_put(&q, item(i)));
        }
        if (i % 3 == 0) {
            struct tr_actor *a = tr_runq_get(&q);
            if (a)
                take(a);
        }
    }
    struct tr_actor *a;
    while ((a = tr_runq_get(&q)))
        take(a);
    atomic_store(&owner_done, 1);
    for (int t = 0; t < THIEVES; t++)
        uv_thread_join(&threads[t]);
    for (int i = 0; i < ITEMS; i++)
        CHECK_EQ(atomic_load(&taken[i]), 1);
}

int main(void) {
    RUN(test_single_thread);
    RUN(test_stress);
    return check_summary();
}
