/* remote_counting — P = 10 sender actors on one node each send M = 100,000
 * integers to one counter actor on another node, two processes on one
 * machine through one NATS server (bench/remote.sh starts them): N-to-1
 * throughput across nodes. Two roles:
 *
 *   bench_remote_counting serve URL         a node of cluster "bench" with the
 *       counter, registered globally as "bench.counter"; it sums what it is
 *       sent, answers asks for its count, sum and the process's peak RSS, and
 *       exits when told to quit or when the client goes down (a monitor on
 *       the first value's sender: TR_ENODEDOWN when its node goes); the
 *       process ends with it.
 *   bench_remote_counting run URL [divisor] a node that finds "bench.counter"
 *       (retrying up to 10 s) and runs the senders, written as counting.c's:
 *       CHUNK values per callback, then a message to themselves to go on.
 *       When all have sent, main asks the counter (tr_ask from the main
 *       thread) for its count until it is P * M: the ask comes from another
 *       sender than the values, so it may overtake the last of them. Prints
 *       the BENCH line (n = P * M, timed from the first send to the answer to
 *       the last ask; check: count and sum) with server_rss_kb, then tells
 *       the server to quit.
 *
 * The counter's mailbox is bounded (CAPACITY, TR_OVERFLOW_BLOCK), as in
 * counting.c. Senders on another node are not muted by it: frames for the
 * full mailbox make the server's delivery thread wait for room, and libnats
 * queues what arrives meanwhile (README, "Backpressure across nodes"); the
 * server's peak RSS shows how far its memory grew.
 *
 * The Erlang peer is bench/peers/erlang/remote_bench.erl (two nodes of
 * distributed Erlang on loopback). */
#include "bench_common.h"
#include "bench_remote.h"

#include <stdio.h>
#include <string.h>
#include <troupe/node.h>

enum { MSG_GO = 1, MSG_VALUE, MSG_GET };
enum { SENDERS = 10, CHUNK = 100, CAPACITY = 10000 };

#define COUNTER_NAME "bench.counter"
#define STALL_MS 10000 /* how long run asks while the count does not move */

/* ---- serve ------------------------------------------------------------------ */

typedef struct {
    bench_server head;
    int64_t count, sum;
} counter_state;

/* What an ask gets back: three int64s. */
typedef struct {
    int64_t count, sum, rss_kb;
} counter_answer;

static int counter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    counter_state *c = state;
    switch (tr_msg_type(m)) {
    case MSG_VALUE:
        c->count++;
        c->sum += tr_msg_i64(m);
        /* a sender of the client: when it goes, so does this server */
        return bench_server_watch(cx, &c->head, tr_msg_sender(m));
    case MSG_GET: {
        counter_answer ans = {c->count, c->sum, bench_status_kb("VmHWM")};
        return tr_reply(cx, m, &ans, sizeof ans);
    }
    }
    return bench_server_receive(cx, &c->head, m);
}

static const tr_actor_spec counter_spec = {.name = "counter",
                                           .state_size = sizeof(counter_state),
                                           .init = bench_server_init,
                                           .receive = counter_receive,
                                           .terminate = bench_server_terminate,
                                           .mailbox_capacity = CAPACITY,
                                           .overflow = TR_OVERFLOW_BLOCK};

/* ---- run -------------------------------------------------------------------- */

typedef struct sender_arg {
    int64_t last;  /* sends 1..last */
    tr_pid report; /* main's inbox: MSG_DONE with the values sent, or -1 */
} sender_arg;

typedef struct {
    sender_arg a;
    tr_pid counter;
    int64_t next;
} sender_state;

static int sender_init(tr_ctx *cx, void *state, const void *arg) {
    (void)cx;
    ((sender_state *)state)->a = *(const sender_arg *)arg;
    return 0;
}

/* Sends the next CHUNK values, then asks itself to go on. When done it
 * reports and stays: the server watches one of the senders, and its going
 * would end the server before main has had the count. */
static int sender_receive(tr_ctx *cx, void *state, tr_msg *m) {
    sender_state *s = state;
    tr_system *sys = tr_ctx_system(cx);
    if (s->counter == 0) { /* the first message: the counter's pid */
        s->counter = tr_msg_i64(m);
        s->next = 1;
    }
    for (int i = 0; i < CHUNK && s->next <= s->a.last; i++, s->next++) {
        int rc = tr_send_i64(sys, s->counter, MSG_VALUE, s->next);
        if (rc) {
            fprintf(stderr, "remote_counting: send to counter: %s\n", tr_strerror(rc));
            return tr_send_i64(sys, s->a.report, MSG_DONE, -1);
        }
    }
    if (s->next > s->a.last)
        return tr_send_i64(sys, s->a.report, MSG_DONE, s->a.last);
    return tr_send_i64(sys, tr_self(cx), MSG_GO, 0);
}

static const tr_actor_spec sender_spec = {.name = "sender",
                                          .state_size = sizeof(sender_state),
                                          .init = sender_init,
                                          .receive = sender_receive};

/* ---- both ------------------------------------------------------------------- */

/* One ask for the counter's state; count -1 if it failed. */
static counter_answer ask_counter(tr_system *sys, tr_pid counter) {
    counter_answer ans = {-1, 0, -1};
    tr_msg *req = tr_msg_new(sys, MSG_GET, 0), *reply = NULL;
    int rc = req ? tr_ask(sys, counter, req, &reply, STALL_MS) : TR_ENOMEM;
    if (rc == 0 && tr_msg_size(reply) == sizeof ans)
        memcpy(&ans, tr_msg_data(reply), sizeof ans);
    else
        fprintf(stderr, "remote_counting: ask: %s\n", rc ? tr_strerror(rc) : "bad reply size");
    tr_msg_free(reply);
    return ans;
}

static int run(const char *url, long divisor) {
    int64_t per_sender = 100000 / divisor;
    int64_t total = SENDERS * per_sender;
    tr_system *sys = bench_system();
    tr_inbox *inbox;
    bench_node_start(sys, url, "remote_counting-run");
    if (tr_inbox_open(sys, &inbox) != 0)
        return 1;
    tr_pid counter = bench_find_global(sys, COUNTER_NAME);

    tr_pid senders[SENDERS];
    sender_arg a = {.last = per_sender, .report = tr_inbox_pid(inbox)};
    for (int i = 0; i < SENDERS; i++)
        if ((senders[i] = tr_spawn(sys, &sender_spec, &a)) < 0) {
            fprintf(stderr, "tr_spawn: %s\n", tr_strerror((int)senders[i]));
            return 1;
        }
    double t0 = bench_now();
    for (int i = 0; i < SENDERS; i++)
        tr_send_i64(sys, senders[i], MSG_GO, counter);

    int64_t sent = 0;
    for (int i = 0; i < SENDERS; i++) {
        tr_msg *done = NULL;
        int rc = tr_inbox_receive(inbox, &done, BENCH_RESULT_MS);
        int64_t v = rc == 0 ? tr_msg_i64(done) : -1;
        tr_msg_free(done);
        if (rc || v < 0) {
            fprintf(stderr, "remote_counting: a sender failed: %s\n",
                    rc ? tr_strerror(rc) : "send error");
            return 1;
        }
        sent += v;
    }

    /* Ask until the count is complete, or has not moved for STALL_MS. */
    counter_answer ans;
    int64_t last = -1;
    double moved = bench_now();
    for (;;) {
        ans = ask_counter(sys, counter);
        double now = bench_now();
        if (ans.count == total || ans.count < 0)
            break;
        if (ans.count != last) {
            last = ans.count;
            moved = now;
        } else if (now - moved > STALL_MS / 1e3) {
            fprintf(stderr, "remote_counting: the count stays at %lld of %lld\n",
                    (long long)ans.count, (long long)total);
            break;
        }
    }
    double secs = bench_now() - t0;
    tr_send_i64(sys, counter, MSG_QUIT, 0);

    int ok = sent == total && ans.count == total &&
             ans.sum == SENDERS * (per_sender * (per_sender + 1) / 2);
    char extra[64];
    snprintf(extra, sizeof extra, " server_rss_kb=%lld", (long long)ans.rss_kb);
    int rc = bench_report("remote_counting", sys, total, secs, ok, extra);

    bench_node_stats_print(sys, "remote_counting");
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return rc;
}

int main(int argc, char **argv) {
    return bench_remote_main(argc, argv, "remote_counting", COUNTER_NAME, &counter_spec, run);
}
