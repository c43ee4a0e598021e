/* bench_remote.h — what the two-process benchmarks (remote_pingpong,
 * remote_counting) share: joining the "bench" cluster, finding and
 * registering the server's actor by global name, and the server's role. */
#ifndef TROUPE_BENCH_REMOTE_H
#define TROUPE_BENCH_REMOTE_H

#include <troupe.h>

#define BENCH_FIND_MS 10000   /* how long the client waits for the server's name */
#define BENCH_SERVE_MS 600000 /* how long the server waits for its client to finish */

/* Makes sys a node of cluster "bench" at url, named name; exits on failure. */
void bench_node_start(tr_system *sys, const char *url, const char *name);

/* The pid registered as name, once its node is up here too (so that no pid
 * of an earlier run's server, gone but not yet known to be, is taken).
 * Retries until BENCH_FIND_MS; exits then. */
tr_pid bench_find_global(tr_system *sys, const char *name);

/* The server's role: a node named "<bench>-serve" that spawns spec (its
 * init gets the pid of an inbox: the actor sends it any message when the
 * server may end), registers it as name, and waits up to BENCH_SERVE_MS.
 * Returns the process's exit status. */
int bench_serve(const char *bench, const char *url, const char *name, const tr_actor_spec *spec);

/* Prints sys's node statistics to stderr, under the benchmark's name. */
void bench_node_stats_print(tr_system *sys, const char *bench);

/* main for a two-process benchmark: "serve URL" runs bench_serve with name
 * and spec, "run URL [divisor]" calls run. Returns the exit status. */
int bench_remote_main(int argc, char **argv, const char *bench, const char *name,
                      const tr_actor_spec *spec, int (*run)(const char *url, long divisor));

#endif
