/* counter_race.c — why an actor instead of a shared variable.
 *
 * First, four plain threads each add 1 to a shared `long` 100,000 times with
 * no lock: the increments race (load, add, store) and updates are lost, so
 * the total usually falls short of 400,000. (This is a deliberate data race;
 * it is an example, never run under ThreadSanitizer.)
 *
 * Then the same work as messages: four plain threads each send 100,000
 * tr_send_i64(+1) messages to one counter actor, which alone owns the total,
 * and main reads it with tr_ask_i64. Messages are handled one at a time, so
 * the total is exactly 400,000, every run. Exit status 0 only if it is. */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */

#include <troupe.h>

#include <pthread.h>
#include <stdio.h>

enum { THREADS = 4, INCREMENTS = 100000 };
enum { MSG_ADD = 1, MSG_GET };

/* ---- Part 1: a shared variable, no lock ----------------------------------- */

/* volatile keeps every increment a real load and store (no folding into one
 * add of 100,000), which is what makes the lost updates visible. */
static volatile long shared_total;
static pthread_barrier_t start_line;

static void *racy_adder(void *unused) {
    (void)unused;
    pthread_barrier_wait(&start_line); /* start together, or there is no race to see */
    for (int i = 0; i < INCREMENTS; i++)
        shared_total++;
    return NULL;
}

/* ---- Part 2: one actor owns the counter ------------------------------------ */

typedef struct counter {
    int64_t total;
} counter;

static int counter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    counter *c = state;
    switch (tr_msg_type(m)) {
    case MSG_ADD: c->total += tr_msg_i64(m); return 0;
    case MSG_GET: return tr_reply_i64(cx, m, c->total);
    }
    return TR_EUNHANDLED;
}

static const tr_actor_spec counter_spec = {
    .name = "counter",
    .state_size = sizeof(counter),
    .receive = counter_receive,
};

typedef struct sender {
    pthread_t thread;
    tr_system *sys;
    tr_pid counter;
    int failed; /* sends that did not return 0 */
} sender;

static void *message_adder(void *arg) {
    sender *s = arg;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < INCREMENTS; i++)
        if (tr_send_i64(s->sys, s->counter, MSG_ADD, 1) != 0)
            s->failed++;
    return NULL;
}

/* Runs fn on THREADS threads at once (each given its own sender) and joins them. */
static int run_threads(void *(*fn)(void *), sender *senders) {
    if (pthread_barrier_init(&start_line, NULL, THREADS) != 0)
        return -1;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&senders[i].thread, NULL, fn, &senders[i]) != 0)
            return -1; /* the caller exits; threads already at the barrier go with it */
    for (int i = 0; i < THREADS; i++)
        pthread_join(senders[i].thread, NULL);
    pthread_barrier_destroy(&start_line);
    return 0;
}

int main(void) {
    sender senders[THREADS] = {{0}};
    const long expected = (long)THREADS * INCREMENTS;

    if (run_threads(racy_adder, senders) < 0) {
        fprintf(stderr, "counter_race: could not start the threads\n");
        return 1;
    }
    printf("shared long, no lock:   %ld of %ld (%ld updates lost)\n", shared_total, expected,
           expected - shared_total);

    tr_system *sys = tr_system_new(NULL);
    if (!sys) {
        fprintf(stderr, "counter_race: tr_system_new failed\n");
        return 1;
    }
    tr_pid c = tr_spawn(sys, &counter_spec, NULL);
    if (c < 0) {
        fprintf(stderr, "counter_race: tr_spawn: %s\n", tr_strerror((int)c));
        return 1;
    }
    for (int i = 0; i < THREADS; i++)
        senders[i] = (sender){.sys = sys, .counter = c};
    if (run_threads(message_adder, senders) < 0) {
        fprintf(stderr, "counter_race: could not start the threads\n");
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < THREADS; i++)
        failed += senders[i].failed;

    int64_t total = 0;
    int rc = tr_ask_i64(sys, c, MSG_GET, 0, &total, 5000);
    if (rc < 0) {
        fprintf(stderr, "counter_race: tr_ask_i64: %s\n", tr_strerror(rc));
        return 1;
    }
    printf("counter actor, messages: %lld of %ld (%d sends failed)\n", (long long)total, expected,
           failed);

    rc = tr_system_shutdown(sys);
    if (rc < 0) {
        fprintf(stderr, "counter_race: tr_system_shutdown: %s\n", tr_strerror(rc));
        return 1;
    }
    return total == expected && failed == 0 ? 0 : 1;
}
