/* spawn_mem — spawn K = 1,000,000 idle actors that wait for a message, read
 * RSS, then stop them all with one message each: what an idle actor costs in
 * memory (bytes_per_actor), and how fast actors come and go. */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MSG_STOP = 1 };

static int idle_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    (void)m;
    return tr_exit(cx, 0);
}

static const tr_actor_spec idle_spec = {.name = "idle", .receive = idle_receive};

int main(int argc, char **argv) {
    int64_t k = 1000000 / bench_divisor(argc, argv);
    tr_system *sys = bench_system();
    tr_pid *pids = malloc((size_t)k * sizeof *pids);
    memset(pids, 0, (size_t)k * sizeof *pids); /* touched now: not counted as actors' memory */
    long before = bench_status_kb("VmRSS");
    double t0 = bench_now();
    for (int64_t i = 0; i < k; i++)
        pids[i] = tr_spawn(sys, &idle_spec, NULL);
    long after = bench_status_kb("VmRSS");
    for (int64_t i = 0; i < k; i++)
        tr_send_i64(sys, pids[i], MSG_STOP, 0);
    bench_wait(sys);
    double secs = bench_now() - t0;
    tr_system_stats st;
    tr_system_stats_get(sys, &st);
    char extra[64];
    snprintf(extra, sizeof extra, " bytes_per_actor=%lld", (long long)(after - before) * 1024 / k);
    int rc = bench_report("spawn_mem", sys, k, secs, st.exited == (uint64_t)k, extra);
    free(pids);
    tr_system_shutdown(sys);
    return rc;
}
