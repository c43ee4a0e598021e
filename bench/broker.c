/* broker — CLIENTS = 1,000 client actors meet through one broker actor, for
 * R = 4,000 rounds each (the scale divisor divides R, at least one). In each
 * round a client sends the broker a pair request naming its round; the broker
 * keeps the first request of a round waiting and, when a second one for the
 * same round arrives, tells each of the two its partner: the waiting one gets
 * "lead" and serves, the other "follow". The pair then volley VOLLEY = 20
 * messages (a count, 1 to 20, each answered by the next), and each partner,
 * once it has sent or received the last one, goes back to the broker for its
 * next round. Partners change from round to round (whoever comes next in the
 * same round), and fast clients may run rounds ahead of slow ones. Pairing
 * within a round is what lets every client play all its rounds: pairing any
 * two waiting clients lets the fast ones finish early and leaves a straggler
 * with no partner.
 *
 * A follower may get its leader's first serve before the broker's notice
 * (they come from different senders), so it answers whoever served; the
 * notice is counted. A client exits once it has played its R rounds and had
 * its R notices; the broker once it has made its CLIENTS x R / 2 pairs.
 *
 * n and rate count every message of the work, the broker's included: per
 * pair, 2 requests + 2 notices + 20 volley messages (24), so n = CLIENTS x R
 * x 12; the 1,000 start messages from main are not counted. check=ok needs
 * every client to have received exactly R x VOLLEY / 2 volley messages (a
 * leader gets the even counts, a follower the odd ones) and R notices, the
 * volley messages over all clients to add up to CLIENTS x R / 2 x VOLLEY,
 * and the broker to have made exactly CLIENTS x R / 2 pairs. */
#include "bench_common.h"

#include <stdatomic.h>
#include <stdio.h>

enum { MSG_GO = 1, MSG_PAIR, MSG_LEAD, MSG_FOLLOW, MSG_HIT };
enum { CLIENTS = 1000, ROUNDS = 4000, VOLLEY = 20 };
_Static_assert(CLIENTS % 2 == 0 && VOLLEY % 2 == 0, "pairs of clients, volleys split evenly");

typedef struct {
    tr_pid broker;
    int64_t rounds;
} client_arg;

typedef struct {
    tr_pid broker;
    int64_t rounds, played, notices, hits;
} client_state;

typedef struct {
    tr_pid waiting[ROUNDS]; /* per round: the client waiting for a partner, or none */
    int64_t pairs, expected;
} broker_state;

/* What the actors saw, for main: added (clients) or stored (broker) once,
 * just before each exits. */
static _Atomic int64_t g_hits, g_notices, g_pairs, g_finished, g_exact;

static int client_check_done(tr_ctx *cx, client_state *c) {
    if (c->played < c->rounds || c->notices < c->rounds)
        return 0;
    atomic_fetch_add(&g_hits, c->hits);
    atomic_fetch_add(&g_notices, c->notices);
    if (c->hits == c->rounds * VOLLEY / 2 && c->notices == c->rounds)
        atomic_fetch_add(&g_exact, 1);
    if (atomic_fetch_add(&g_finished, 1) + 1 == CLIENTS)
        bench_mark_end();
    return tr_exit(cx, 0);
}

/* The end of a volley: back to the broker, or done. */
static int client_round_done(tr_ctx *cx, client_state *c) {
    if (++c->played < c->rounds)
        return tr_send_i64(tr_ctx_system(cx), c->broker, MSG_PAIR, c->played);
    return client_check_done(cx, c);
}

static int client_receive(tr_ctx *cx, void *state, tr_msg *m) {
    client_state *c = state;
    tr_system *sys = tr_ctx_system(cx);
    switch (tr_msg_type(m)) {
    case MSG_HIT: {
        int64_t i = tr_msg_i64(m);
        c->hits++;
        if (i == VOLLEY)
            return client_round_done(cx, c);
        int rc = tr_send_i64(sys, tr_msg_sender(m), MSG_HIT, i + 1);
        if (rc)
            return rc;
        return i + 1 == VOLLEY ? client_round_done(cx, c) : 0;
    }
    case MSG_LEAD: c->notices++; return tr_send_i64(sys, tr_msg_i64(m), MSG_HIT, 1);
    case MSG_FOLLOW: c->notices++; return client_check_done(cx, c);
    case MSG_GO: return tr_send_i64(sys, c->broker, MSG_PAIR, 0); /* round 0 */
    }
    return TR_EUNHANDLED;
}

static int client_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    client_state *c = state;
    const client_arg *a = arg;
    c->broker = a->broker;
    c->rounds = a->rounds;
    return 0;
}

static int broker_receive(tr_ctx *cx, void *state, tr_msg *m) {
    broker_state *b = state;
    tr_pid from = tr_msg_sender(m), *waiting = &b->waiting[tr_msg_i64(m)];
    if (*waiting == TR_PID_NONE) {
        *waiting = from;
        return 0;
    }
    tr_system *sys = tr_ctx_system(cx);
    int rc = tr_send_i64(sys, *waiting, MSG_LEAD, from);
    if (rc == 0)
        rc = tr_send_i64(sys, from, MSG_FOLLOW, *waiting);
    if (rc)
        return rc;
    *waiting = TR_PID_NONE;
    if (++b->pairs < b->expected)
        return 0;
    atomic_store(&g_pairs, b->pairs);
    return tr_exit(cx, 0);
}

static int broker_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((broker_state *)state)->expected = *(const int64_t *)arg;
    return 0;
}

static const tr_actor_spec broker_spec = {.name = "broker",
                                          .state_size = sizeof(broker_state),
                                          .init = broker_init,
                                          .receive = broker_receive};
static const tr_actor_spec client_spec = {.name = "client",
                                          .state_size = sizeof(client_state),
                                          .init = client_init,
                                          .receive = client_receive};

int main(int argc, char **argv) {
    int64_t rounds = ROUNDS / bench_divisor(argc, argv);
    if (rounds < 1)
        rounds = 1;
    int64_t pairs = CLIENTS * rounds / 2;
    int64_t n = pairs * (4 + VOLLEY);
    tr_system *sys = bench_system();
    double t0 = bench_now();
    tr_pid broker = tr_spawn(sys, &broker_spec, &pairs);
    if (broker < 0) {
        fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)broker));
        return 1;
    }
    client_arg ca = {broker, rounds};
    for (int i = 0; i < CLIENTS; i++) {
        tr_pid c = tr_spawn(sys, &client_spec, &ca);
        if (c < 0) {
            fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)c));
            return 1;
        }
        tr_send_i64(sys, c, MSG_GO, 0);
    }
    bench_wait(sys);
    double secs = bench_end() - t0;
    int ok = atomic_load(&g_hits) == pairs * VOLLEY && atomic_load(&g_pairs) == pairs &&
             atomic_load(&g_notices) == CLIENTS * rounds && atomic_load(&g_finished) == CLIENTS &&
             atomic_load(&g_exact) == CLIENTS;
    char extra[64];
    snprintf(extra, sizeof extra, " rounds=%lld", (long long)rounds);
    int rc = bench_report("broker", sys, n, secs, ok, extra);
    tr_system_shutdown(sys);
    return rc;
}
