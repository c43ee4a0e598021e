/* test_forward.c — messages as they travel. tr_msg_forward passes a message
 * along a chain of actors unchanged: same sender (an actor's or a plain
 * thread's TR_PID_NONE), same type and payload, same data pointer (zero copy);
 * forwarding to a dead pid is a counted dead letter. Payloads of every size
 * class (0, 1, 24, 25, 100, 4000, 70000 bytes), built with tr_msg_new or copied
 * by tr_send, from a plain thread or from an actor's pool, arrive intact. */
#include "check.h"

#include <string.h>

enum { MSG_PARCEL = 1, MSG_GO, MSG_SIZED };

/* ---- forward --------------------------------------------------------------- */

#define HOPS 5
#define PARCELS 2
#define PARCEL_SIZE 100

/* A parcel's payload starts with its head; a pattern fills the rest. */
typedef struct {
    tr_pid sender;
    int32_t index;
} parcel_head;

typedef struct {
    int hop;       /* 0 for the first forwarder */
    tr_pid next;   /* where to forward */
    int expect_rc; /* what tr_msg_forward must return */
} hop_state;

static void *g_first_data[PARCELS]; /* the data pointer the first hop saw */
static tr_pid g_chain[HOPS + 2];    /* origin, hops, sink: all told to exit at the end */
static int g_delivered;             /* written by the sink only */

/* Checks a parcel and returns its index. */
static int check_parcel(tr_msg *m) {
    parcel_head head;
    CHECK_EQ(tr_msg_type(m), MSG_PARCEL);
    CHECK_EQ(tr_msg_size(m), PARCEL_SIZE);
    memcpy(&head, tr_msg_data(m), sizeof head);
    CHECK_EQ(tr_msg_sender(m), head.sender);
    CHECK(head.index >= 0 && head.index < PARCELS);
    CHECK(check_pattern_ok((char *)tr_msg_data(m) + sizeof head, PARCEL_SIZE - sizeof head,
                           (unsigned)head.index));
    return head.index;
}

static tr_msg *new_parcel(tr_system *sys, tr_pid sender, int index) {
    parcel_head head = {.sender = sender, .index = index};
    tr_msg *m = check_msg(sys, MSG_PARCEL, PARCEL_SIZE);
    memcpy(tr_msg_data(m), &head, sizeof head);
    check_pattern_fill((char *)tr_msg_data(m) + sizeof head, PARCEL_SIZE - sizeof head,
                       (unsigned)index);
    return m;
}

static int hop_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    memcpy(state, arg, sizeof(hop_state));
    return 0;
}

static int hop_receive(tr_ctx *cx, void *state, tr_msg *m) {
    const hop_state *h = state;
    if (tr_msg_type(m) != MSG_PARCEL)
        return check_idle_receive(cx, state, m);
    int index = check_parcel(m);
    if (h->hop == 0)
        g_first_data[index] = tr_msg_data(m);
    else
        CHECK(tr_msg_data(m) == g_first_data[index]);
    CHECK_EQ(tr_msg_forward(cx, h->next, m), h->expect_rc);
    return 0;
}

static const tr_actor_spec hop_spec = {
    .name = "hop", .state_size = sizeof(hop_state), .init = hop_init, .receive = hop_receive};

/* The end of the chain: after the last parcel it tells the chain to exit. */
static int sink_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    int index = check_parcel(m);
    CHECK(tr_msg_data(m) == g_first_data[index]);
    if (++g_delivered < PARCELS)
        return 0;
    for (int i = 0; i < HOPS + 1; i++)
        CHECK_EQ(tr_send_i64(tr_ctx_system(cx), g_chain[i], CHECK_MSG_EXIT, 0), 0);
    return tr_exit(cx, 0);
}

static const tr_actor_spec sink_spec = {.name = "sink", .receive = sink_receive};

/* Sends parcel 1 into the chain as itself. */
static int origin_receive(tr_ctx *cx, void *state, tr_msg *m) {
    if (tr_msg_type(m) != MSG_GO)
        return check_idle_receive(cx, state, m);
    tr_system *sys = tr_ctx_system(cx);
    CHECK_EQ(tr_msg_send(sys, g_chain[1], new_parcel(sys, tr_self(cx), 1)), 0);
    return 0;
}

static const tr_actor_spec origin_spec = {.name = "origin", .receive = origin_receive};

static tr_pid spawn_hop(tr_system *sys, int hop, tr_pid next, int expect_rc) {
    hop_state h = {.hop = hop, .next = next, .expect_rc = expect_rc};
    return check_spawn(sys, &hop_spec, &h);
}

static void forward_keeps_sender_and_data(void) {
    tr_system *sys = check_system(2, 64);
    g_delivered = 0;
    g_chain[HOPS + 1] = check_spawn(sys, &sink_spec, NULL);
    for (int i = HOPS; i >= 1; i--)
        g_chain[i] = spawn_hop(sys, i - 1, g_chain[i + 1], 0);
    g_chain[0] = check_spawn(sys, &origin_spec, NULL);

    CHECK_EQ(tr_msg_send(sys, g_chain[1], new_parcel(sys, TR_PID_NONE, 0)), 0);
    CHECK_EQ(tr_send_i64(sys, g_chain[0], MSG_GO, 0), 0);

    tr_system_stats st = check_finish(sys); /* the sink ends the chain */
    CHECK_EQ(g_delivered, PARCELS);
    CHECK_EQ(st.spawned, HOPS + 2);
    CHECK_EQ(st.dead_letters, 0);
}

static void forward_to_dead_pid(void) {
    tr_system *sys = check_system(2, 64);
    tr_pid keeper = check_spawn_idle(sys);
    tr_pid hop = spawn_hop(sys, 0, check_dead_pid(sys), TR_ENOACTOR);
    CHECK_EQ(tr_msg_send(sys, hop, new_parcel(sys, TR_PID_NONE, 0)), 0);
    CHECK_EQ(tr_send_i64(sys, hop, CHECK_MSG_EXIT, 0), 0);
    CHECK_EQ(tr_send_i64(sys, keeper, CHECK_MSG_EXIT, 0), 0);
    tr_system_stats st = check_finish(sys);
    CHECK_EQ(st.dead_letters, 1);
}

/* ---- payload sizes --------------------------------------------------------- */

static const size_t g_sizes[] = {0, 1, 24, 25, 100, 4000, 70000};
#define SIZES (sizeof g_sizes / sizeof g_sizes[0])
#define ROUNDS 10
#define WAYS 4 /* tr_msg_new and tr_send, from main and from an actor */

static tr_pid g_sizer;
static int g_sized; /* written by the sizer only */

/* Sends every size, both ways, with the type telling the receiver which size
 * and pattern to expect. */
static void send_sizes(tr_system *sys, tr_pid to) {
    unsigned char *buf = malloc(g_sizes[SIZES - 1]);
    CHECK(buf != NULL);
    for (unsigned i = 0; i < SIZES; i++) {
        size_t size = g_sizes[i];
        tr_msg *m = check_msg(sys, MSG_SIZED + i, size);
        CHECK_EQ(tr_msg_size(m), size);
        check_pattern_fill(tr_msg_data(m), size, i);
        CHECK_EQ(tr_msg_send(sys, to, m), 0);
    }
    for (unsigned i = 0; i < SIZES; i++) {
        check_pattern_fill(buf, g_sizes[i], i);
        CHECK_EQ(tr_send(sys, to, MSG_SIZED + i, buf, g_sizes[i]), 0);
    }
    free(buf);
}

static int sizer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    unsigned i = tr_msg_type(m) - MSG_SIZED;
    CHECK(i < SIZES);
    CHECK_EQ(tr_msg_size(m), g_sizes[i]);
    CHECK(check_pattern_ok(tr_msg_data(m), g_sizes[i], i));
    CHECK_EQ(tr_msg_i64(m), 0); /* no size here is 8 bytes */
    return ++g_sized == (int)(ROUNDS * WAYS * SIZES) ? tr_exit(cx, 0) : 0;
}

static const tr_actor_spec sizer_spec = {.name = "sizer", .receive = sizer_receive};

/* Each MSG_GO sends one round of sizes from the actor's pool. */
static int spammer_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    if (tr_msg_type(m) != MSG_GO)
        return check_idle_receive(cx, state, m);
    send_sizes(tr_ctx_system(cx), g_sizer);
    return 0;
}

static const tr_actor_spec spammer_spec = {.name = "spammer", .receive = spammer_receive};

static void payload_sizes(void) {
    tr_system *sys = check_system(2, 64);
    g_sized = 0;
    g_sizer = check_spawn(sys, &sizer_spec, NULL);
    tr_pid spammer = check_spawn(sys, &spammer_spec, NULL);

    for (int r = 0; r < ROUNDS; r++) {
        CHECK_EQ(tr_send_i64(sys, spammer, MSG_GO, 0), 0);
        send_sizes(sys, g_sizer);
    }
    CHECK_EQ(tr_send_i64(sys, spammer, CHECK_MSG_EXIT, 0), 0);

    tr_system_stats st = check_finish(sys); /* the sizer exits after the last one */
    CHECK_EQ(g_sized, ROUNDS * WAYS * SIZES);
    CHECK_EQ(st.dead_letters, 0);
}

int main(void) {
    RUN(forward_keeps_sender_and_data);
    RUN(forward_to_dead_pid);
    RUN(payload_sizes);
    return check_summary();
}
