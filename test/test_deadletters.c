/* test_deadletters.c — sends racing with exits. Plain threads and sender
 * actors send to a few target slots whose actors keep crashing, being told to
 * exit and being respawned (so pid slots are reused under the senders' feet).
 * Every send must return 0 or TR_ENOACTOR; no message may reach an actor other
 * than the one its pid named (each carries its target's pid, and the receiver
 * checks it against tr_self); and once the system has stopped, every message
 * sent is accounted for exactly once: received by a receive, or counted as a
 * dead letter (TR_ENOACTOR sends included). */
#include "check.h"

#include <stdatomic.h>
#include <uv.h>

enum { MSG_DATA = 1, MSG_DIE, MSG_GO };

#define SLOTS 8
#define SENDER_THREADS 2
#define SENDER_ACTORS 2
#define PER_SENDER 50000
#define CHUNK 100      /* messages a sender actor sends per turn */
#define ROUNDS 2000    /* each round respawns every slot */
#define CRASH_AFTER 64 /* a target crashes on its CRASH_AFTER-th data message */

static tr_system *g_sys;
static _Atomic tr_pid g_slot[SLOTS];
static atomic_ullong g_sent, g_sent_noactor, g_received;
static uv_sem_t g_senders_done;

/* Counts one send, which may only succeed or find its receiver gone. */
static void count_send(int rc) {
    CHECK(rc == 0 || rc == TR_ENOACTOR);
    g_sent++;
    if (rc == TR_ENOACTOR)
        g_sent_noactor++;
}

static uint32_t next_random(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Sends one message to whichever actor holds a random slot now. */
static void send_to_random_slot(uint32_t *rng) {
    tr_pid to = atomic_load(&g_slot[next_random(rng) % SLOTS]);
    count_send(tr_send_i64(g_sys, to, MSG_DATA, to));
}

static int target_receive(tr_ctx *cx, void *state, tr_msg *m) {
    int *data_seen = state;
    g_received++;
    if (tr_msg_type(m) == MSG_DIE)
        return tr_exit(cx, 0);
    CHECK_EQ(tr_msg_type(m), MSG_DATA);
    CHECK_EQ(tr_msg_i64(m), tr_self(cx));
    return ++*data_seen == CRASH_AFTER ? -100 : 0;
}

static const tr_actor_spec target_spec = {
    .name = "target", .state_size = sizeof(int), .receive = target_receive};

typedef struct {
    uint32_t rng;
    int sent;
} sender_state;

static int sender_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((sender_state *)state)->rng = *(const uint32_t *)arg;
    return 0;
}

/* Sends CHUNK messages per MSG_GO, then goes again or says it is done. */
static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender_state *s = state;
    g_received++;
    CHECK_EQ(tr_msg_type(m), MSG_GO);
    for (int n = 0; n < CHUNK && s->sent < PER_SENDER; n++, s->sent++)
        send_to_random_slot(&s->rng);
    if (s->sent < PER_SENDER) {
        count_send(tr_send_i64(g_sys, tr_self(cx), MSG_GO, 0));
        return 0;
    }
    uv_sem_post(&g_senders_done);
    return tr_exit(cx, 0);
}

static const tr_actor_spec sender_spec = {
    .name = "sender",
    .state_size = sizeof(sender_state),
    .init = sender_init,
    .receive = sender_receive,
};

static void sender_thread(void *arg) {
    uint32_t rng = *(const uint32_t *)arg;
    for (int n = 0; n < PER_SENDER; n++)
        send_to_random_slot(&rng);
}

/* Replaces each slot's actor with a new one, then tells the old one to exit
 * (it may have crashed already). */
static void respawn_thread(void *arg) {
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < SLOTS; i++) {
            tr_pid old = atomic_exchange(&g_slot[i], check_spawn(g_sys, &target_spec, NULL));
            count_send(tr_send_i64(g_sys, old, MSG_DIE, 0));
        }
    }
}

static void sends_race_exits(void) {
    static uint32_t seeds[SENDER_THREADS + SENDER_ACTORS] = {1, 22, 333, 4444};
    g_sys = check_system(2, 16);
    CHECK_EQ(uv_sem_init(&g_senders_done, 0), 0);
    check_spawn_idle(g_sys); /* targets may all be dead at once: keeps the system up */
    for (int i = 0; i < SLOTS; i++)
        atomic_store(&g_slot[i], check_spawn(g_sys, &target_spec, NULL));

    uv_thread_t threads[SENDER_THREADS + 1];
    for (int t = 0; t < SENDER_THREADS; t++)
        CHECK_EQ(uv_thread_create(&threads[t], sender_thread, &seeds[t]), 0);
    CHECK_EQ(uv_thread_create(&threads[SENDER_THREADS], respawn_thread, NULL), 0);
    for (int i = 0; i < SENDER_ACTORS; i++) {
        tr_pid sender = check_spawn(g_sys, &sender_spec, &seeds[SENDER_THREADS + i]);
        count_send(tr_send_i64(g_sys, sender, MSG_GO, 0));
    }
    for (int t = 0; t <= SENDER_THREADS; t++)
        CHECK_EQ(uv_thread_join(&threads[t]), 0);
    for (int i = 0; i < SENDER_ACTORS; i++)
        uv_sem_wait(&g_senders_done);

    CHECK_EQ(tr_system_stop(g_sys), 0);
    tr_system_stats st = check_finish(g_sys);
    CHECK_EQ(g_sent, g_received + st.dead_letters);
    CHECK(st.dead_letters >= g_sent_noactor);
    CHECK(g_received > 0);
    CHECK_EQ(st.spawned, 1 + SLOTS * (1 + ROUNDS) + SENDER_ACTORS);
    CHECK_EQ(st.unhandled, 0);
    CHECK_EQ(st.rejected, 0);
    uv_sem_destroy(&g_senders_done);
}

int main(void) {
    RUN(sends_race_exits);
    return check_summary();
}
