/* troupe/supervisor.h — supervisors: actors that start, watch and restart
 * other actors, with Erlang/OTP's supervisor semantics. Built on the public
 * API only (links, exit signals and timers from <troupe.h>).
 *
 * A supervisor starts its children in order, each linked to it (it traps
 * exits), and restarts them by its strategy when they exit:
 *   one-for-one    only the child that exited;
 *   one-for-all    every child: the others are stopped (reverse start order),
 *                  then all are started again in order;
 *   rest-for-one   the child that exited and those started after it (in
 *                  both of these, temporary children of the group are stopped
 *                  and forgotten, and its children not running started too);
 *   simple-one-for-one
 *                  a dynamic pool: no children at first, any number started
 *                  later from one template (tr_sup_start_child), each
 *                  restarted alone.
 * A child is stopped by sending it an exit signal with reason TR_ESTOPPED and
 * waiting for its exit; one still running after its shutdown timeout is
 * killed (tr_kill). Stops go one child at a time in reverse start order (a
 * pool stops all its children at once, as OTP does). The timeout is a timer
 * message to the supervisor, which troupe cannot cancel: it arrives even when
 * the child stopped at once, and is ignored, or counted as a dead letter if
 * the supervisor has exited by then.
 *
 * Restart intensity: more than `intensity` restarts within `period_ms` make
 * the supervisor stop all its children and exit with reason TR_EINTENSITY
 * (abnormal), so that its own supervisor decides what to do. An exit signal
 * from its parent (the actor that started it with tr_sup_start_link, or for
 * tr_sup_start any plain thread, e.g. tr_send_exit from main) makes it stop
 * its children and exit with the same reason. A system stop ends it like any
 * actor (the runtime stops every actor).
 *
 * Calls (start, terminate, restart, delete a child; list and count children;
 * statistics) are messages to the supervisor, answered once done (a
 * terminate, once the child has exited). Plain threads make them with the
 * blocking functions below; actors with tr_sup_call_async, whose answer
 * arrives as a TR_SUP_MSG_ANSWER message. While the supervisor is stopping
 * children (a terminate, a one-for-all or rest-for-one restart, its own
 * shutdown), it handles nothing else: calls and exits wait, in order, as with
 * OTP's selective receive.
 *
 * Error codes: the TR_E* codes of <troupe.h>, with these meanings here:
 * TR_ENOTFOUND no child with that id or pid; TR_EEXIST the child is running
 * or being restarted (restart_child, delete_child); TR_EINVAL a bad spec or
 * argument, or a call the supervisor's strategy does not offer (as OTP's
 * {error, simple_one_for_one}); TR_ENOACTOR the supervisor is gone, or exited
 * before answering. */
#ifndef TROUPE_SUPERVISOR_H
#define TROUPE_SUPERVISOR_H

#include <troupe.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Specs -------------------------------------------------------------- */

typedef enum tr_sup_strategy {
    TR_SUP_ONE_FOR_ONE = 0,
    TR_SUP_ONE_FOR_ALL,
    TR_SUP_REST_FOR_ONE,
    TR_SUP_SIMPLE_ONE_FOR_ONE, /* the dynamic pool */
} tr_sup_strategy;

/* When a child is restarted after it exits. */
typedef enum tr_sup_restart {
    TR_SUP_PERMANENT = 0, /* always */
    TR_SUP_TRANSIENT,     /* only after an abnormal exit (TR_EXIT_ABNORMAL) */
    TR_SUP_TEMPORARY,     /* never; it is forgotten once it exits */
} tr_sup_restart;

typedef enum tr_sup_child_type {
    TR_SUP_WORKER = 0,
    TR_SUP_SUPERVISOR,
} tr_sup_child_type;

/* shutdown_ms values besides a positive number of milliseconds. */
#define TR_SUP_SHUTDOWN_DEFAULT 0 /* 5000 ms for a worker, infinity for a supervisor (OTP) */
#define TR_SUP_BRUTAL_KILL (-1)   /* tr_kill at once */
#define TR_SUP_INFINITY (-2)      /* wait for the exit however long it takes */

/* Ids and registered names: 1..63 bytes (names as tr_register's). */
#define TR_SUP_ID_MAX 63

/* Starts a child in place of an actor spec: it must spawn the child linked to
 * the supervisor, whose context cx is (tr_spawn_link(cx, ...) or
 * tr_sup_start_link(cx, ...)), and return its pid, or a negative TR_E* code.
 * It runs inside the supervisor's callback: it must not block. */
typedef tr_pid (*tr_sup_start_fn)(tr_ctx *cx, const void *arg);

struct tr_sup_spec;

/* One child. Exactly one of actor, start and sup says how it starts. */
typedef struct tr_sup_child_spec {
    const char *id;                /* unique among the supervisor's children; copied */
    const tr_actor_spec *actor;    /* tr_spawn_link(cx, actor, arg) (static, as for tr_spawn) */
    tr_sup_start_fn start;         /* or start(cx, arg) */
    const struct tr_sup_spec *sup; /* or a supervisor: tr_sup_start_link(cx, sup); this spec
                                      is borrowed: keep it alive as long as the parent */
    const void *arg;               /* the argument of init / start: arg_size bytes at arg are */
    size_t arg_size;               /* copied when the supervisor starts, and every start of
                                      the child gets the copy; with arg_size 0, arg itself is
                                      passed (NULL, or memory that outlives the supervisor) */
    tr_sup_restart restart;
    int shutdown_ms;        /* > 0, TR_SUP_SHUTDOWN_DEFAULT, TR_SUP_BRUTAL_KILL, TR_SUP_INFINITY */
    tr_sup_child_type type; /* TR_SUP_SUPERVISOR implied by sup */
    const char *name;       /* optional: the supervisor registers each start of the child under
                               this name (tr_register), so the name follows a restarted child */
} tr_sup_child_spec;

typedef struct tr_sup_spec {
    tr_sup_strategy strategy;
    uint32_t intensity; /* MaxR: restarts allowed within period_ms (0: none; OTP's default 1) */
    uint32_t period_ms; /* MaxT, > 0 (OTP's default 5000) */
    /* The children, in start order. A pool has exactly one: the template of its
       children (no name; every child started from it). */
    const tr_sup_child_spec *children;
    size_t nchildren;
} tr_sup_spec;

/* ---- Starting a supervisor ---------------------------------------------- */

/* Starts a supervisor from spec, which is copied (but for borrowed args and
 * nested sup specs), and starts its children in order before it returns.
 * Returns the supervisor's pid, or TR_EINVAL (bad spec: no or duplicate id, an
 * id or name too long, not exactly one way to start a child, a pool without
 * exactly one template or with a named one, period_ms 0, an unknown enum
 * value), TR_ENOMEM, TR_ESTOPPED, or the error of the child that failed to
 * start: the children started before it have then been told to stop, in
 * reverse order, and are stopped (a helper actor waits for them and kills
 * those that outlive their shutdown timeout) whether or not that has finished
 * when this returns.
 *
 * tr_sup_start: not linked; any plain thread counts as its parent, so
 * tr_send_exit(sys, sup, TR_ESTOPPED) from main shuts it down. Any thread.
 * tr_sup_start_link: linked to the running actor, its parent. Actor only. */
TR_API tr_pid tr_sup_start(tr_system *sys, const tr_sup_spec *spec);
TR_API tr_pid tr_sup_start_link(tr_ctx *cx, const tr_sup_spec *spec);

/* ---- What calls return --------------------------------------------------- */

/* One child, as which_children reports it. A pool's children carry the
 * template's id. */
typedef struct tr_sup_child_info {
    char id[TR_SUP_ID_MAX + 1];
    tr_pid pid;        /* > 0 while running; 0 when not (terminated, or restarting) */
    uint32_t restarts; /* how many times the supervisor started it again after it
                          exited, by its strategy (group restarts included) */
    tr_sup_child_type type;
    int restarting; /* a restart failed and will be tried again */
} tr_sup_child_info;

/* OTP's count_children. */
typedef struct tr_sup_counts {
    uint32_t specs;       /* child specs (a pool: 1) */
    uint32_t active;      /* children running */
    uint32_t supervisors; /* children of type supervisor, running or not */
    uint32_t workers;     /* children of type worker, running or not */
} tr_sup_counts;

typedef struct tr_sup_stats {
    uint64_t restarts;       /* restarts counted against the intensity so far (a restart
                                whose start failed and is tried again counts again) */
    uint64_t shutdown_kills; /* children killed because they outlived their shutdown timeout */
    uint32_t children;       /* children it has now (running or not) */
    uint32_t active;         /* of which running */
} tr_sup_stats;

/* ---- Calls from plain threads (blocking) -------------------------------- *
 *
 * Each sends its call to the supervisor sup and waits up to timeout_ms (< 0:
 * forever) for the answer. Besides the errors each lists, all may return
 * TR_EINVAL (sys NULL, sup <= 0), TR_ENOACTOR (sup is not a live actor, or
 * it exited before answering), TR_ETIMEDOUT (no answer in time: also what a
 * supervisor that exits with the call still queued leaves the caller with),
 * TR_ESTOPPED, TR_ENOMEM, and TR_EINACTOR (called inside an actor callback:
 * nothing is sent; use tr_sup_call_async). Any number of plain threads at
 * once. */

/* Pool only: starts a child from the template, whose init (or start function)
 * gets a copy of the arg_size bytes at arg instead of the template's arg (the
 * template's when arg_size is 0); a restart of that child gets the same copy.
 * Returns the child's pid, or the error its start returned, or TR_EINVAL (not
 * a pool). */
TR_API tr_pid tr_sup_start_child(tr_system *sys, tr_pid sup, const void *arg, size_t arg_size,
                                 int timeout_ms);

/* Stops the child with this id (static supervisors) and returns once it has
 * exited. A temporary child is then forgotten, any other kept, not running,
 * until tr_sup_restart_child or tr_sup_delete_child. Not running already is
 * not an error. Returns 0, TR_ENOTFOUND, TR_EINVAL (a pool). */
TR_API int tr_sup_terminate_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms);

/* Pool only: stops the child with this pid and returns once it has exited;
 * the pool forgets it. Returns 0, TR_ENOTFOUND, TR_EINVAL (not a pool). */
TR_API int tr_sup_terminate_pid(tr_system *sys, tr_pid sup, tr_pid child, int timeout_ms);

/* Static supervisors: starts again a child that is not running (terminated,
 * or a transient child that exited normally). This is not a restart: no
 * intensity, no count. Returns its new pid, or TR_ENOTFOUND, TR_EEXIST
 * (running or restarting), TR_EINVAL (a pool), or the error its start
 * returned. */
TR_API tr_pid tr_sup_restart_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms);

/* Static supervisors: forgets a child that is not running. Returns 0,
 * TR_ENOTFOUND, TR_EEXIST (running or restarting), TR_EINVAL (a pool). */
TR_API int tr_sup_delete_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms);

/* Fills out[0 .. cap-1] with the children in start order and returns how many
 * there are (which may be more than cap; out may be NULL when cap is 0). */
TR_API int tr_sup_which_children(tr_system *sys, tr_pid sup, tr_sup_child_info *out, size_t cap,
                                 int timeout_ms);

/* Fills *out (not NULL). Returns 0 or an error. */
TR_API int tr_sup_count_children(tr_system *sys, tr_pid sup, tr_sup_counts *out, int timeout_ms);
TR_API int tr_sup_stats_get(tr_system *sys, tr_pid sup, tr_sup_stats *out, int timeout_ms);

/* ---- Calls from actors (asynchronous) ------------------------------------ */

typedef enum tr_sup_op {
    TR_SUP_START_CHILD = 1,
    TR_SUP_TERMINATE_CHILD, /* by id; a pool's child by pid */
    TR_SUP_RESTART_CHILD,
    TR_SUP_DELETE_CHILD,
    TR_SUP_WHICH_CHILDREN,
    TR_SUP_COUNT_CHILDREN,
    TR_SUP_GET_STATS,
} tr_sup_op;

/* A call: op and what it needs (as the blocking function of the same name). */
typedef struct tr_sup_call {
    tr_sup_op op;
    const char *id;  /* TERMINATE, RESTART, DELETE in a static supervisor */
    tr_pid pid;      /* TERMINATE in a pool */
    const void *arg; /* START_CHILD: the child's argument, copied into the call */
    size_t arg_size;
} tr_sup_call;

/* Message types from 0xFFFE0000 to 0xFFFE00FF are the supervisors': an actor
 * making calls must not use them for its own messages. */
#define TR_SUP_MSG_BASE 0xFFFE0000u
/* The answer to a tr_sup_call_async: read it with tr_sup_answer_read. */
#define TR_SUP_MSG_ANSWER (TR_SUP_MSG_BASE + 1)

/* Sends call to sup from the running actor and returns at once; the answer
 * arrives later as a TR_SUP_MSG_ANSWER message carrying tag (the caller's
 * choice, to tell its calls apart). If sup exits before answering, no answer
 * comes (monitor sup to know). Returns 0, TR_EINVAL (call NULL, bad op, id
 * too long), TR_ENOTACTOR, TR_ENOMEM, or an error of tr_send (TR_ENOACTOR: sup
 * is dead; then no answer follows). Actor only. */
TR_API int tr_sup_call_async(tr_ctx *cx, tr_pid sup, const tr_sup_call *call, uint32_t tag);

/* An answer, decoded. */
typedef struct tr_sup_answer {
    uint32_t tag;         /* the call's */
    tr_sup_op op;         /* the call's */
    int rc;               /* 0 or the error the blocking function would return */
    tr_pid pid;           /* START_CHILD, RESTART_CHILD: the child */
    size_t nchildren;     /* WHICH_CHILDREN: how many children there are */
    tr_sup_counts counts; /* COUNT_CHILDREN */
    tr_sup_stats stats;   /* GET_STATS */
} tr_sup_answer;

/* Decodes answer message m into *out and, for WHICH_CHILDREN, copies the
 * first cap children into children (NULL when cap is 0). Returns 0, TR_EINVAL
 * (m or out NULL, m not a TR_SUP_MSG_ANSWER) or TR_EBADMSG (malformed). m
 * stays the caller's (or receive's). Any thread holding m. */
TR_API int tr_sup_answer_read(tr_msg *m, tr_sup_answer *out, tr_sup_child_info *children,
                              size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_SUPERVISOR_H */
