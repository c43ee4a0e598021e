/* inbox — a plain thread (main) that receives results as messages: it opens
 * an inbox, hands its pid to ten worker actors, and sums the squares they
 * send back. Results need no globals, and a worker that fails would simply
 * not answer: the timed receive says so instead of hanging. */
#include <stdio.h>
#include <troupe.h>

enum { MSG_SQUARE = 1, MSG_RESULT };

/* MSG_SQUARE carries {n, reply_to}: the worker sends n*n back and exits. */
static int square_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    const int64_t *req = tr_msg_data(m);
    tr_send_i64(tr_ctx_system(cx), (tr_pid)req[1], MSG_RESULT, req[0] * req[0]);
    return tr_exit(cx, 0);
}

static const tr_actor_spec square_spec = {.name = "square", .receive = square_receive};

int main(void) {
    tr_system *sys = tr_system_new(NULL);
    tr_inbox *inbox = NULL;
    if (!sys || tr_inbox_open(sys, &inbox) != 0)
        return 1;
    for (int64_t n = 1; n <= 10; n++) {
        int64_t req[2] = {n, tr_inbox_pid(inbox)};
        tr_send(sys, tr_spawn(sys, &square_spec, NULL), MSG_SQUARE, req, sizeof req);
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        tr_msg *m = NULL;
        int rc = tr_inbox_receive(inbox, &m, 1000 /* ms */);
        if (rc != 0) {
            printf("receive: %s\n", tr_strerror(rc));
            break;
        }
        sum += tr_msg_i64(m);
        tr_msg_free(m);
    }
    printf("sum of squares 1..10 = %lld\n", (long long)sum); /* 385 */
    tr_inbox_close(inbox);
    tr_system_shutdown(sys);
    return sum == 385 ? 0 : 1;
}
