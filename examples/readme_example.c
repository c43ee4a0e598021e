#include <troupe.h>
#include <stdio.h>

enum { MSG_ADD = 1, MSG_GET };
typedef struct {
    int64_t total;
} counter;

static int counter_receive(tr_ctx *cx, void *state, tr_msg *m) {
    counter *c = state;
    switch (tr_msg_type(m)) {
    case MSG_ADD: c->total += tr_msg_i64(m); return 0;
    case MSG_GET: return tr_reply_i64(cx, m, c->total);
    }
    return TR_EUNHANDLED; /* counted, never silent */
}

static const tr_actor_spec counter_spec = {
    .name = "counter",
    .state_size = sizeof(counter),
    .receive = counter_receive,
};

int main(void) {
    tr_system *sys = tr_system_new(NULL); /* workers = CPUs */
    tr_pid c = tr_spawn(sys, &counter_spec, NULL);
    for (int i = 1; i <= 100; i++)
        tr_send_i64(sys, c, MSG_ADD, i);
    int64_t total = 0;
    int rc = tr_ask_i64(sys, c, MSG_GET, 0, &total, 1000 /* ms */);
    printf("total = %lld\n", (long long)total); /* 5050 */
    return tr_system_shutdown(sys) == 0 && rc == 0 && total == 5050 ? 0 : 1;
}
