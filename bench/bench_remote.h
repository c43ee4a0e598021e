/* bench_remote.h — what the two-process benchmarks (remote_pingpong,
 * remote_counting) share: joining the "bench" cluster, finding and
 * registering the server's actor by global name, the server's role, and
 * what its actor does besides the benchmark's own work. */
#ifndef TROUPE_BENCH_REMOTE_H
#define TROUPE_BENCH_REMOTE_H

#include <troupe.h>

#define BENCH_FIND_MS 10000    /* how long the client waits for the server's name */
#define BENCH_SERVE_MS 600000  /* how long the server waits for its client to finish */
#define BENCH_RESULT_MS 120000 /* how long the client waits for its actors' results */

/* Message types of both benchmarks (theirs start at 1): MSG_QUIT tells the
 * server's actor to end; MSG_DONE is what an actor reports to its main's
 * inbox. */
enum { MSG_QUIT = 100, MSG_DONE };

/* Makes sys a node of cluster "bench" at url, named name; exits on failure. */
void bench_node_start(tr_system *sys, const char *url, const char *name);

/* The pid registered as name, once its node is up here too (so that no pid
 * of an earlier run's server, gone but not yet known to be, is taken).
 * Retries until BENCH_FIND_MS; exits then. */
tr_pid bench_find_global(tr_system *sys, const char *name);

/* The server's role: a node named "<bench>-serve" that spawns spec (its
 * init gets a bench_server for the head of its state: bench_server_init),
 * registers it as name, and waits up to BENCH_SERVE_MS for the actor to
 * end. Returns the process's exit status. */
int bench_serve(const char *bench, const char *url, const char *name, const tr_actor_spec *spec);

/* The head of the server actor's state. */
typedef struct bench_server {
    const char *bench;
    tr_pid report; /* bench_serve's inbox: MSG_DONE when the actor has exited, however */
    int watching;
} bench_server;

/* The server actor's init and terminate: copies the bench_server it is given
 * into its state; tells bench_serve's inbox that it has exited. */
int bench_server_init(tr_ctx *cx, void *state, const void *arg);
void bench_server_terminate(tr_ctx *cx, void *state, int reason);

/* Called with the sender of each message of the benchmark's work: monitors
 * the first one, so that the server ends when the client goes (its node
 * down: TR_ENODEDOWN). Returns 0 or tr_monitor's error. */
int bench_server_watch(tr_ctx *cx, bench_server *s, tr_pid sender);

/* What the server actor does with the messages that are not its work:
 * exits on MSG_QUIT and on the watched actor's TR_MSG_DOWN; TR_EUNHANDLED
 * for any other. */
int bench_server_receive(tr_ctx *cx, bench_server *s, tr_msg *m);

/* Prints sys's node statistics to stderr, under the benchmark's name. */
void bench_node_stats_print(tr_system *sys, const char *bench);

/* main for a two-process benchmark: "serve URL" runs bench_serve with name
 * and spec, "run URL [divisor]" calls run. Returns the exit status. */
int bench_remote_main(int argc, char **argv, const char *bench, const char *name,
                      const tr_actor_spec *spec, int (*run)(const char *url, long divisor));

#endif
