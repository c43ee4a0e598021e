/* troupe.h — the public API of troupe, an actor runtime for C.
 *
 * A program creates a system (a pool of worker threads, each running its own
 * libuv loop), spawns actors into it from static specs, and talks to them with
 * messages. Everything a user needs is declared here; structured (msgpack)
 * payloads are in <troupe/msgpack.h>.
 *
 * Conventions used throughout:
 *   - Functions that can fail return int: 0 on success, a negative TR_E* code
 *     on failure (tr_strerror names each). Functions returning a tr_pid return
 *     a positive pid on success and a negative TR_E* code on failure.
 *   - "Any thread" means a plain thread or an actor callback running on a
 *     worker. "Actor only" means from inside init/receive/terminate, through
 *     the tr_ctx the callback was given; from anywhere else such a function
 *     returns TR_ENOTACTOR. "Plain thread" means outside every actor
 *     callback: blocking calls made inside a callback, whichever thread runs
 *     it, return TR_EINACTOR.
 *   - Calls that race tr_system_stop or tr_system_shutdown are safe: sends,
 *     spawns and asks return TR_ESTOPPED once a stop has begun, and shutdown
 *     waits for every call still inside the library before it frees anything.
 *     The one rule left: no call may start after tr_system_shutdown has
 *     returned (stop or join the threads that use sys before that).
 *   - A tr_msg passed to a send function is consumed by it, whatever it
 *     returns (except TR_EINVAL / TR_EALREADY, which mean it was not a message
 *     the caller owned). A message handed to receive belongs to the runtime
 *     and is freed when receive returns, unless it is forwarded with
 *     tr_msg_forward. */
#ifndef TROUPE_H
#define TROUPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TROUPE_BUILDING) && defined(__GNUC__)
#define TR_API __attribute__((visibility("default")))
#else
#define TR_API
#endif

/* ---- Errors ------------------------------------------------------------- */

/* Every TR_E* code with its name (tr_strerror), in one table. */
#define TR_ERRNO_MAP(X)                                                                            \
    X(EINVAL, -1, "invalid argument") /* NULL spec, zero workers, ... */                           \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EFULL, -3, "mailbox full")             /* the receiver's bounded mailbox (fail policy) */    \
    X(ENOACTOR, -4, "no such actor")         /* no live actor has this pid (a dead letter) */      \
    X(ETIMEDOUT, -5, "timed out")            /* the wait or ask timed out */                       \
    X(EUNHANDLED, -6, "message not handled") /* returned by receive (counted) */                   \
    X(ENOTACTOR, -7, "not called from the actor's own callback")                                   \
    X(EINACTOR, -8, "blocking call from an actor callback") /* would stall a worker */             \
    X(EALREADY, -9, "message already sent or freed, or not the caller's")                          \
    X(EEXIST, -10, "name already registered")                                                      \
    X(ENOTFOUND, -11, "name not registered")                                                       \
    X(ESTOPPED, -12, "system stopped")   /* also the exit reason "shutdown" */                     \
    X(EBADMSG, -13, "malformed message") /* msgpack that does not parse, wrong size */             \
    X(ETOOBIG, -14, "too big")           /* a size larger than the runtime supports */             \
    X(ESYS, -15, "system call failed")   /* threads, event loops */                                \
    X(ENOREPLY, -16, "request handled without a reply")                                            \
    X(EKILLED, -17, "killed")               /* the exit reason of an actor ended by tr_kill */     \
    X(EINTENSITY, -18, "too many restarts") /* a supervisor's exit past its restart intensity */   \
    X(EADDRINUSE, -19, "address in use")    /* tr_tcp_listen: the port is taken */                 \
    X(ECONNRESET, -20, "connection reset")  /* the peer reset a connection (or it broke) */        \
    X(ECONNREFUSED, -21, "connection refused") /* tr_tcp_connect: nobody listens there */          \
    X(ENODEDOWN, -22, "node down")         /* the exit reason of an actor whose node went down */  \
    X(ENOTSUP, -23, "not supported")       /* built without it (troupe/node.h without NATS) */     \
    X(EAUTH, -24, "authentication failed") /* the NATS server refused the credentials */           \
    X(ENOJETSTREAM, -25, "no JetStream")   /* the NATS server runs without JetStream */

enum tr_error {
    TR_OK = 0,
#define TR_ERRNO_ENUM(name, value, text) TR_##name = value,
    TR_ERRNO_MAP(TR_ERRNO_ENUM)
#undef TR_ERRNO_ENUM
};

/* Returns a static, human-readable name for a TR_E* code, "user exit reason"
 * for a TR_EXIT_USER(n) reason, or "unknown error". Any thread. */
TR_API const char *tr_strerror(int code);

/* Exit reasons. An actor's exit reason is an int, and says how it ended:
 *   0                 normal: tr_exit(cx, 0)
 *   TR_ESTOPPED       shutdown: the system stopped it (or it chose to say so)
 *   TR_E* (-1 .. -99) a runtime error, e.g. a callback returned TR_ENOMEM
 *   TR_EXIT_USER(n)   the program's own reasons, n = 0 .. TR_EXIT_USER_MAX:
 *                     -1000 - n, so they never collide with a runtime code
 *   TR_EKILLED        killed: tr_kill ended it (the one exit no actor can trap)
 *   TR_ENOACTOR       noproc: also what a link or monitor to a pid that was
 *                     already dead reports
 * Every reason but 0 and TR_ESTOPPED is abnormal: an abnormal exit takes the
 * actors linked to it down with it (unless they trap exits), and a transient
 * child is restarted only after one. */
#define TR_EXIT_ABNORMAL(reason) ((reason) != 0 && (reason) != TR_ESTOPPED)
#define TR_EXIT_USER_BASE (-1000)
#define TR_EXIT_USER_MAX 0x3FFFFFFF
#define TR_EXIT_USER(n) (TR_EXIT_USER_BASE - (int)(n))
/* n of a TR_EXIT_USER(n) reason, or -1 if reason is not a user reason. */
#define TR_EXIT_USER_CODE(reason)                                                                  \
    ((reason) <= TR_EXIT_USER_BASE ? TR_EXIT_USER_BASE - (reason) : -1)

/* ---- Pids --------------------------------------------------------------- */

/* An actor reference: a 64-bit value (node, slot, generation). It stays safe to
 * hold, copy and send to after the actor has exited: such a send is counted as
 * a dead letter and returns TR_ENOACTOR. Valid pids are > 0; TR_PID_NONE is the
 * sender of messages sent from plain threads. */
typedef int64_t tr_pid;
#define TR_PID_NONE ((tr_pid)0)

/* The node a pid lives on (0 = this process). Any thread. */
TR_API unsigned tr_pid_node(tr_pid pid);

/* ---- Systems ------------------------------------------------------------ */

typedef struct tr_system tr_system;

/* Whether an idle worker takes runnable actors queued on a busy one (work
 * stealing). Moving an actor pays when its work outweighs the cost of moving
 * it and its messages between cores, and that cost depends on the machine:
 * where cores share caches poorly, stealing can make message-bound work
 * slower on two workers than on one. */
typedef enum tr_sharing {
    TR_SHARING_AUTO = 0, /* measured: while the system is busy (over half a
                            million messages a second per worker) it tries
                            both ways now and then and keeps whichever moves
                            more messages a second, starting as NEVER when
                            new; below that it steals */
    TR_SHARING_ALWAYS,   /* always steal (classic work stealing) */
    TR_SHARING_NEVER     /* each worker runs the actors it made runnable; only a
                            callback that runs long (found within 1-16 ms) lets
                            another worker take the actors queued behind it.
                            Plain threads' mail, and what a full run queue
                            spills, still go to whichever worker is free. */
} tr_sharing;

typedef struct tr_system_config {
    unsigned workers;   /* worker threads, >= 1 (default: online CPUs) */
    unsigned batch;     /* messages an actor may take per turn, >= 1 (default 64;
                           sixteen times that for a TR_OVERFLOW_BLOCK receiver that
                           senders are muted on); a turn also ends once it has run
                           for about a millisecond */
    int keep_running;   /* 0 (default): the system stops by itself when its last live
                           actor exits while no inbox is open; nonzero: it runs until
                           tr_system_stop, even with no actor (for programs that spawn
                           on demand) */
    tr_sharing sharing; /* whether idle workers take runnable actors from busy ones
                           (default TR_SHARING_AUTO) */
} tr_system_config;

/* Fills cfg with the defaults. Any thread. */
TR_API void tr_system_config_init(tr_system_config *cfg);

/* Starts a system: cfg->workers threads, each running a libuv loop. cfg may be
 * NULL for the defaults. On success stores the system in *out and returns 0.
 * Errors: TR_EINVAL (out is NULL, workers or batch is 0, workers > 1024,
 * sharing not a tr_sharing),
 * TR_ENOMEM, TR_ESYS (a thread or loop could not be started). The caller owns
 * the system and must end it with tr_system_shutdown. Any plain thread. */
TR_API int tr_system_create(const tr_system_config *cfg, tr_system **out);

/* tr_system_create for callers that only care whether it worked: returns the
 * system, or NULL on any error. */
TR_API tr_system *tr_system_new(const tr_system_config *cfg);

/* Asks the system to stop: every live actor is stopped (its terminate runs,
 * its pending messages become dead letters) and the workers then exit. Returns
 * at once; tr_system_wait or tr_system_shutdown waits for it. Calling it again
 * is harmless. Errors: TR_EINVAL (sys is NULL). Any thread. */
TR_API int tr_system_stop(tr_system *sys);

/* Blocks until the system has stopped: either tr_system_stop was called, or
 * the last live actor exited (unless cfg.keep_running is set, a system stops
 * by itself when its last actor exits and no inbox is open; actors whose init
 * failed never lived and do not count). When it returns 0 the workers have
 * exited and every message sent is accounted for: received, or counted in the
 * stats as a dead letter. timeout_ms < 0 waits forever. Returns 0,
 * TR_ETIMEDOUT, TR_EINVAL (sys NULL) or TR_EINACTOR (called inside an actor
 * callback). Any plain thread. */
TR_API int tr_system_wait(tr_system *sys, int timeout_ms);

/* Stops the system (as tr_system_stop), waits for every actor's terminate and
 * for the workers to exit, wakes every plain thread blocked in tr_ask or
 * tr_inbox_receive (they return TR_ESTOPPED) and waits until no call is
 * inside the library any more, then frees every message, actor, inbox and
 * pool, and frees sys. Returns 0, TR_EINVAL (sys NULL) or TR_EINACTOR (called
 * inside an actor callback: use tr_system_stop there). sys is invalid
 * afterwards: no call may start after this has returned. One plain thread,
 * once. */
TR_API int tr_system_shutdown(tr_system *sys);

typedef struct tr_system_stats {
    uint64_t spawned;      /* actors spawned so far */
    uint64_t exited;       /* actors whose terminate has run (or that failed init) */
    uint64_t dead_letters; /* messages to dead or unknown pids, and late replies */
    uint64_t unhandled;    /* messages whose receive returned TR_EUNHANDLED */
    uint64_t rejected;     /* sends refused with TR_EFULL (TR_OVERFLOW_FAIL) */
    uint64_t dropped;      /* messages dropped by TR_OVERFLOW_DROP_NEWEST / _OLDEST */
    uint64_t muted;        /* times an actor was muted (TR_OVERFLOW_BLOCK) */
    uint64_t overruns;     /* sends accepted past a bound by a sender that could not be muted */
    uint32_t muted_now;    /* actors muted at the moment */
    unsigned workers;
    uint64_t received;        /* messages actors have taken from their mailboxes: ordinary ones,
                                 replies, signals and stops, and the oldest a full
                                 TR_OVERFLOW_DROP_OLDEST mailbox dropped */
    unsigned sharing;         /* 1 while idle workers steal from busy ones, 0 while each
                                 keeps its own (tr_sharing; 0 with one worker) */
    uint64_t sharing_changes; /* times TR_SHARING_AUTO's trials made it switch mode (not
                                 counting the trials, nor sharing while the system is
                                 quiet) */
} tr_system_stats;

/* Fills *out with counters summed over all workers. The counters are exact once
 * the system has stopped, approximate while it runs. Returns 0 or TR_EINVAL.
 * Any thread. */
TR_API int tr_system_stats_get(tr_system *sys, tr_system_stats *out);

/* ---- Actors ------------------------------------------------------------- */

/* What an actor callback acts through: an opaque handle naming the actor it
 * was given to (not a pointer to memory). It acts only while a callback of
 * that actor runs on the calling thread; kept and used anywhere else (another
 * actor's callback, a plain thread, after the actor exited) every function
 * taking it returns TR_ENOTACTOR and does nothing. */
typedef struct tr_ctx tr_ctx;
typedef struct tr_msg tr_msg;

/* Callbacks run on a worker thread, one at a time per actor, never two at once.
 * init (optional) runs synchronously inside tr_spawn, in the spawner's thread
 * (a plain thread's, when a plain thread spawns), with the new actor as
 * "self"; a negative return fails the spawn with that code (terminate then
 * does not run). receive handles one message: return 0, TR_EUNHANDLED
 * (counted, the actor goes on), or another negative code to crash the actor
 * with that exit reason (see "Exit reasons"). terminate (optional) runs
 * exactly once for every actor whose init succeeded, with its exit reason: 0
 * for a normal exit (tr_exit(cx, 0)), TR_ESTOPPED when the system stopped it,
 * or the error that crashed it. state is zeroed memory of spec->state_size
 * bytes, owned by the runtime and freed after terminate. Blocking calls
 * (tr_ask, tr_system_wait, tr_system_shutdown, tr_inbox_receive) return
 * TR_EINACTOR inside any callback. */
typedef int (*tr_init_fn)(tr_ctx *cx, void *state, const void *arg);
typedef int (*tr_receive_fn)(tr_ctx *cx, void *state, tr_msg *m);
typedef void (*tr_terminate_fn)(tr_ctx *cx, void *state, int reason);

/* What happens when a send finds a bounded mailbox full (depth >= capacity).
 * Only ordinary messages count against the bound: replies, stops, exit
 * signals and down notices always get in and are never dropped. */
typedef enum tr_overflow {
    /* The send returns TR_EFULL; the message is freed and counted as refused. */
    TR_OVERFLOW_FAIL = 0,
    /* Backpressure (the one to reach for). An actor's send is accepted and the
     * sending actor is muted: once its current callback returns it is not run
     * again until the receiver's depth falls below low_watermark (or the
     * receiver exits, or the muted actor is sent an exit signal or a kill); other actors on its
     * worker keep running and no worker thread ever blocks. The bound: capacity plus, per muted
     * sender, what it sends in the one callback that found the mailbox full. A sender whose own
     * bounded mailbox is full is not muted (that is how a cycle of full mailboxes keeps moving):
     * its sends go past the bound and are counted as overruns. A plain thread's send waits for room
     * instead (tr_send_timed). */
    TR_OVERFLOW_BLOCK,
    /* The new message is dropped and counted; the send returns 0. */
    TR_OVERFLOW_DROP_NEWEST,
    /* The new message is accepted and the oldest ordinary message queued is
     * dropped (when the receiver next takes one) and counted; the send
     * returns 0. A sender faster than the receiver's takes could outrun the
     * drops, so past twice the capacity the new message is dropped instead:
     * at most 2 x capacity are ever queued. */
    TR_OVERFLOW_DROP_OLDEST,
} tr_overflow;

typedef struct tr_actor_spec {
    const char *name;          /* for diagnostics; not copied, keep it alive (usually a literal) */
    size_t state_size;         /* bytes of zeroed state the runtime allocates (<= 1 MiB) */
    tr_init_fn init;           /* optional */
    tr_receive_fn receive;     /* required */
    tr_terminate_fn terminate; /* optional */
    uint32_t mailbox_capacity; /* 0 = unbounded; otherwise at most this many ordinary messages
                                  queued, as overflow says */
    tr_overflow overflow;      /* policy when the bounded mailbox is full */
    uint32_t low_watermark;    /* TR_OVERFLOW_BLOCK: muted senders run again once the depth is
                                  below this (0: capacity / 2; at most capacity) */
} tr_actor_spec;

/* Spawns an actor from spec (which must outlive the actor: make it static
 * const) and runs its init with arg (borrowed for the duration of init only).
 * Returns the new pid, or TR_EINVAL (sys/spec NULL, no receive, state too big,
 * unknown overflow policy), TR_ESTOPPED, TR_ENOMEM, or the negative code init
 * returned. Any thread. */
TR_API tr_pid tr_spawn(tr_system *sys, const tr_actor_spec *spec, const void *arg);

/* The running actor's own pid. Actor only (else TR_ENOTACTOR). */
TR_API tr_pid tr_self(tr_ctx *cx);

/* The system the running actor belongs to (NULL if cx is not the current
 * context). Actor only. */
TR_API tr_system *tr_ctx_system(tr_ctx *cx);

/* Replaces the running actor's receive function from the next message on.
 * Returns 0, TR_EINVAL (receive NULL) or TR_ENOTACTOR. Actor only. */
TR_API int tr_become(tr_ctx *cx, tr_receive_fn receive);

/* Ends the running actor's turn once the current callback returns, so the
 * worker runs the other actors waiting for it before this one's next
 * message (the actor stays runnable if it has mail). A turn otherwise runs
 * up to the batch (64 messages by default) or a millisecond or two. This is
 * Tokio's yield_now and Erlang's erlang:yield: an actor that works in steps
 * by sending itself a message to go on calls it beside that send, so each
 * step waits for the others instead of running the batch's worth of steps
 * at once. No effect in init. Returns 0 or TR_ENOTACTOR. Actor only. */
TR_API int tr_yield(tr_ctx *cx);

/* Makes the running actor exit once the current callback returns, with reason
 * (0 = normal, TR_ESTOPPED, a TR_E* code or a TR_EXIT_USER(n) reason; see
 * "Exit reasons"). Messages still queued become dead letters (an ask among
 * them fails at once with TR_ENOACTOR); terminate runs once. Called from init
 * it fails the spawn instead: tr_spawn returns reason if it is negative, else
 * TR_ESTOPPED, and terminate does not run. The first call's reason wins.
 * Returns 0, TR_EINVAL (reason > 0) or TR_ENOTACTOR. Actor only. */
TR_API int tr_exit(tr_ctx *cx, int reason);

/* The libuv loop of the worker running this actor (struct uv_loop_s is
 * uv_loop_t); NULL outside an actor, and NULL in an init that a plain thread
 * runs (tr_spawn from a plain thread: no worker runs the actor yet). The
 * worker polls it while busy whenever it has live handles. A handle made on
 * it belongs to that worker, not to the actor: the actor's next turn may run
 * on another worker, where it must not touch the handle. Prefer the
 * runtime's timers (tr_send_after) and sockets (troupe/tcp.h), which any
 * turn may use. */
struct uv_loop_s;
TR_API struct uv_loop_s *tr_ctx_loop(tr_ctx *cx);

/* ---- Links, monitors and exit signals ----------------------------------- *
 *
 * Erlang's model. A link joins two actors both ways: when one exits, the
 * other gets an exit signal with its reason. An actor that does not trap
 * exits ignores a signal with reason 0 and exits with any other reason
 * itself; one that traps exits (tr_trap_exits) receives a TR_MSG_EXIT message
 * instead. A monitor is one way and only informs: when the monitored actor
 * exits, the watcher receives TR_MSG_DOWN. Linking or monitoring a pid that is
 * already dead (or dies before the link lands) reports reason TR_ENOACTOR at
 * once: an exit signal, or a TR_MSG_DOWN.
 *
 * Exit signals, down notices and the requests behind tr_link / tr_monitor are
 * system messages: they bypass bounded mailboxes, are never refused or
 * dropped, and an actor handles those queued for it before its queued
 * ordinary mail (from its next turn on: at most one batch later). An actor
 * that has never linked or been linked costs nothing more: the record of its
 * links and monitors is allocated on first use. */

/* Links the running actor and pid. Linking twice is one link; linking to
 * yourself does nothing. Returns 0, TR_EINVAL (pid <= 0), TR_ENOMEM,
 * TR_ESTOPPED or TR_ENOTACTOR; a dead pid is not an error (see above). Actor
 * only; from init too, and if that init then fails, the actors it linked to
 * get an exit signal with the code it failed with. */
TR_API int tr_link(tr_ctx *cx, tr_pid pid);

/* Removes the link between the running actor and pid, if any: no exit signal
 * from that link reaches the running actor after this returns. Returns 0,
 * TR_EINVAL or TR_ENOTACTOR. Actor only. */
TR_API int tr_unlink(tr_ctx *cx, tr_pid pid);

/* Monitors pid: one TR_MSG_DOWN with *ref will arrive when it exits. Each
 * call makes a separate monitor. Returns 0, TR_EINVAL (pid <= 0, ref NULL),
 * TR_ENOMEM, TR_ESTOPPED or TR_ENOTACTOR. Actor only. */
TR_API int tr_monitor(tr_ctx *cx, tr_pid pid, uint32_t *ref);

/* Removes the running actor's monitor ref: no TR_MSG_DOWN for it arrives
 * after this returns (even one already queued). Returns 0, TR_ENOTFOUND (no
 * such monitor, or its DOWN was already delivered) or TR_ENOTACTOR. Actor
 * only. */
TR_API int tr_demonitor(tr_ctx *cx, uint32_t ref);

/* Turns trapping exits on (on != 0) or off for the running actor. Returns
 * the previous setting (0 or 1) or TR_ENOTACTOR. Actor only. */
TR_API int tr_trap_exits(tr_ctx *cx, int on);

/* tr_spawn, with the new actor linked to (tr_spawn_link) or monitored by
 * (tr_spawn_monitor, *ref set) the running actor before it can run or exit:
 * there is no moment at which it could die unobserved. Returns as tr_spawn,
 * plus TR_ENOTACTOR. Actor only. */
TR_API tr_pid tr_spawn_link(tr_ctx *cx, const tr_actor_spec *spec, const void *arg);
TR_API tr_pid tr_spawn_monitor(tr_ctx *cx, const tr_actor_spec *spec, const void *arg,
                               uint32_t *ref);

/* Sends pid an exit signal with reason, as if a linked actor had exited with
 * it (Erlang's exit/2): an actor trapping exits receives TR_MSG_EXIT, any
 * other exits with reason unless reason is 0. Returns 0, TR_EINVAL (pid <= 0,
 * reason > 0), TR_ENOACTOR (dead pid), TR_ESTOPPED or TR_ENOMEM. Any thread. */
TR_API int tr_send_exit(tr_system *sys, tr_pid pid, int reason);

/* Ends pid with reason TR_EKILLED, whether or not it traps exits; its links
 * then get exit signals with TR_EKILLED (which they may trap). Returns as
 * tr_send_exit. Any thread. */
TR_API int tr_kill(tr_system *sys, tr_pid pid);

/* ---- Timers --------------------------------------------------------------- */

/* A timer, named so that it can be cancelled; 0 names none. */
typedef uint64_t tr_timer;

/* Sends to pid, delay_ms from now (never earlier; typically within a
 * millisecond after), a message of type with a copy of size bytes of data,
 * from the running actor. The message is made now, so a failure is reported
 * here: TR_EINVAL (as tr_send), TR_ETOOBIG, TR_ENOMEM, TR_ESTOPPED,
 * TR_ENOTACTOR (cx is not the running callback). If timer is not NULL it gets
 * the timer's name for tr_timer_cancel. The timer runs on the worker that
 * started it, whichever worker runs the actors involved. A timer to an actor
 * that has exited by then is a counted dead letter; timers still pending
 * when the system stops are dropped. Actor only (inits run by plain threads
 * included). */
TR_API int tr_send_after(tr_ctx *cx, uint32_t delay_ms, tr_pid pid, uint32_t type, const void *data,
                         size_t size, tr_timer *timer);

/* Like tr_send_after, but again every period_ms (the first after period_ms)
 * until cancelled, the system stops, or a firing finds pid gone (that one is
 * a dead letter; the timer then ends). Errors as tr_send_after, and
 * TR_EINVAL for period_ms 0. Actor only. */
TR_API int tr_send_every(tr_ctx *cx, uint32_t period_ms, tr_pid pid, uint32_t type,
                         const void *data, size_t size, tr_timer *timer);

/* tr_send_after / tr_send_every for any thread: the message comes from no
 * actor (sender TR_PID_NONE), first after delay_ms, then every period_ms if
 * period_ms is not 0. Errors as tr_send_after (TR_EINVAL for a NULL sys). */
TR_API int tr_system_send_after(tr_system *sys, uint32_t delay_ms, uint32_t period_ms, tr_pid pid,
                                uint32_t type, const void *data, size_t size, tr_timer *timer);

/* Cancels a timer: it sends nothing more. Harmless on a timer that has fired
 * or ended: returns 0. A message the timer sent before the cancel took
 * effect may still arrive: from another worker or thread the cancel reaches
 * the timer's worker a little later. Errors: TR_EINVAL (sys NULL, or timer
 * names no timer of sys), TR_ENOMEM. Any thread. */
TR_API int tr_timer_cancel(tr_system *sys, tr_timer timer);

/* Sets the running actor's receive timeout, as Erlang's `receive ... after`:
 * once ms pass without a message, receive gets TR_MSG_TIMEOUT (no payload,
 * sent by the actor itself); every message restarts the wait, the timeout's
 * included, so a silent actor gets one every ms. 0 turns it off (a timeout
 * message already on its way is then dropped unseen), as does setting it
 * again (which starts a new wait). Errors: TR_ENOTACTOR, TR_ENOMEM,
 * TR_ESTOPPED. Actor only. */
TR_API int tr_receive_timeout(tr_ctx *cx, uint32_t ms);

/* ---- Names -------------------------------------------------------------- */

/* Registers pid under name (copied; 1..63 bytes). A name is removed when its
 * actor exits. Errors: TR_EINVAL, TR_EEXIST (name taken), TR_ENOACTOR (pid is
 * not live), TR_ENOMEM. Any thread. */
TR_API int tr_register(tr_system *sys, const char *name, tr_pid pid);

/* The pid registered under name, or TR_ENOTFOUND / TR_EINVAL. Any thread. */
TR_API tr_pid tr_whereis(tr_system *sys, const char *name);

/* Removes name. Returns 0, TR_ENOTFOUND or TR_EINVAL. Any thread. */
TR_API int tr_unregister(tr_system *sys, const char *name);

/* ---- Messages ----------------------------------------------------------- */

/* Message types 0xFFFF0000 and above are the runtime's. */
#define TR_MSG_RESERVED 0xFFFF0000u
/* Delivered to an actor whose tr_ask_async got no reply in time; tr_msg_ref
 * gives the ask's reference. */
#define TR_MSG_ASK_TIMEOUT 0xFFFF0001u
/* Delivered to an actor whose tr_ask_async will get no reply: tr_msg_ref gives
 * the ask's reference and tr_msg_i64 the reason, as tr_ask would return it
 * (TR_ENOACTOR, TR_EUNHANDLED, TR_ENOREPLY, TR_ESTOPPED). */
#define TR_MSG_ASK_FAILED 0xFFFF0002u
/* Delivered to an actor that traps exits (tr_trap_exits) when a linked actor
 * exits, or when tr_send_exit targets it: tr_msg_exit_pid gives who
 * (TR_PID_NONE for a plain thread), tr_msg_exit_reason why. */
#define TR_MSG_EXIT 0xFFFF0003u
/* Delivered when an actor this one monitors exits (tr_monitor): tr_msg_ref
 * gives the monitor's reference, tr_msg_exit_pid the actor, tr_msg_exit_reason
 * its exit reason (TR_ENOACTOR if it was dead when the monitor was set). */
#define TR_MSG_DOWN 0xFFFF0004u
/* Delivered when the actor's receive timeout (tr_receive_timeout) expires. */
#define TR_MSG_TIMEOUT 0xFFFF0005u

/* Ownership: a message belongs to whoever allocated it (the running actor, or
 * the plain thread), or to the plain thread that tr_ask or tr_inbox_receive
 * handed it to, until it is sent or freed. Only its owner may send, forward
 * or free it: a stale pointer, or one handed to another thread or actor, is
 * refused with TR_EALREADY (the block may already hold someone else's
 * message). Under AddressSanitizer a freed message is poisoned, so reading a
 * stale one through the accessors is reported. */

/* Allocates a message with a payload of size bytes (uninitialised, to be
 * filled through tr_msg_data), from the calling worker's pool when called in an
 * actor (no malloc on that path), and stores it in *out. The caller owns it
 * until it is sent or freed with tr_msg_free. Returns 0, TR_EINVAL (sys or out
 * NULL, type in the reserved range), TR_ETOOBIG (size > 64 MiB), TR_ENOMEM, or
 * TR_ESTOPPED (the system is stopping). Any thread. */
TR_API int tr_msg_create(tr_system *sys, uint32_t type, size_t size, tr_msg **out);

/* tr_msg_create for callers that only care whether it worked: the message,
 * or NULL on any error. */
TR_API tr_msg *tr_msg_new(tr_system *sys, uint32_t type, size_t size);

/* Frees a message the caller owns (never sent, or a reply from tr_ask).
 * Returns 0, TR_EINVAL (NULL) or TR_EALREADY (already sent or freed, or not
 * the caller's). Any thread. */
TR_API int tr_msg_free(tr_msg *m);

/* Accessors: read-only, no errors (0 / NULL for a NULL m). m must be a
 * message the caller owns or is receiving; any thread that holds it. */
TR_API uint32_t tr_msg_type(const tr_msg *m);
TR_API tr_pid tr_msg_sender(const tr_msg *m);
TR_API void *tr_msg_data(tr_msg *m);
TR_API size_t tr_msg_size(const tr_msg *m);
/* The payload as an int64 (messages from tr_send_i64 / tr_reply_i64); 0 if
 * the payload is not exactly 8 bytes. */
TR_API int64_t tr_msg_i64(const tr_msg *m);
/* Nonzero for a reply (tr_reply*), TR_MSG_ASK_TIMEOUT and TR_MSG_ASK_FAILED. */
TR_API int tr_msg_is_reply(const tr_msg *m);
/* The reference of the ask a request (made by tr_ask / tr_ask_async), a
 * reply or a timeout belongs to, or of the monitor a TR_MSG_DOWN belongs to;
 * 0 for a plain send. So a receiver tells an ask from a plain send by
 * tr_msg_ref(m) != 0 && !tr_msg_is_reply(m). */
TR_API uint32_t tr_msg_ref(const tr_msg *m);
/* Of a TR_MSG_EXIT or TR_MSG_DOWN: the actor that exited (or sent the exit
 * signal) and its reason. TR_PID_NONE / 0 for any other message. */
TR_API tr_pid tr_msg_exit_pid(const tr_msg *m);
TR_API int tr_msg_exit_reason(const tr_msg *m);

/* Sends m to pid; always consumes m (see the conventions above). Per
 * sender-receiver pair, messages arrive in send order, at most once. Returns 0,
 * TR_ENOACTOR (dead or unknown pid: counted as a dead letter), TR_EFULL
 * (a full TR_OVERFLOW_FAIL mailbox: counted as rejected), TR_ESTOPPED (the
 * system is stopping: nothing is delivered any more), TR_EINVAL (sys or m
 * NULL), TR_EALREADY (m was already sent or freed, or is not the caller's; not
 * consumed again). A full mailbox of another policy answers as the policy
 * says (tr_overflow): a drop returns 0, and under TR_OVERFLOW_BLOCK a plain
 * thread waits for room (tr_send_timed bounds the wait) while an actor is
 * muted. Any thread; no malloc, lock or syscall when called from an actor. */
TR_API int tr_msg_send(tr_system *sys, tr_pid to, tr_msg *m);

/* Passes a received message on to another actor unchanged (zero copy),
 * keeping its original sender. Returns as tr_msg_send. Actor only, and only
 * with the message the current receive was given. */
TR_API int tr_msg_forward(tr_ctx *cx, tr_pid to, tr_msg *m);

/* Copies size bytes of data into a new message and sends it. Returns as
 * tr_msg_send, plus TR_ENOMEM, TR_ETOOBIG (size > 64 MiB) and TR_EINVAL (data
 * NULL with size > 0, or a reserved type). Any thread. */
TR_API int tr_send(tr_system *sys, tr_pid to, uint32_t type, const void *data, size_t size);

/* Sends an int64 payload (read with tr_msg_i64). Returns as tr_send. */
TR_API int tr_send_i64(tr_system *sys, tr_pid to, uint32_t type, int64_t value);

/* tr_send with a limit on waiting. When the receiver's mailbox is full and
 * TR_OVERFLOW_BLOCK, a plain thread waits up to timeout_ms (< 0: as long as it
 * takes, which is what plain tr_send does) for room, then sends; it returns
 * TR_ETIMEDOUT if there was none in time (nothing was sent), TR_ESTOPPED if the
 * system stopped meanwhile. Inside an actor callback it never waits: the send
 * is accepted and the actor muted (see TR_OVERFLOW_BLOCK). For the other
 * policies it is tr_send. Otherwise returns as tr_send. Any thread. */
TR_API int tr_send_timed(tr_system *sys, tr_pid to, uint32_t type, const void *data, size_t size,
                         int timeout_ms);

/* ---- Mailbox statistics ---------------------------------------------------- */

/* An actor's mailbox, as tr_actor_stats reports it. An unbounded mailbox
 * keeps no count of its messages (that would cost every send an atomic add):
 * capacity, depth, high_water, accepted, refused, dropped and overruns are 0;
 * muted counts for any actor. */
typedef struct tr_mailbox_stats {
    uint32_t capacity;
    uint32_t depth;      /* ordinary messages queued now (or being queued); a BLOCK
                            mailbox counts a message until the turn that took it ends */
    uint32_t high_water; /* the largest depth reached */
    uint64_t accepted;   /* ordinary messages let in (DROP_OLDEST: some are dropped later) */
    uint64_t refused;    /* TR_EFULL answers (TR_OVERFLOW_FAIL) */
    uint64_t dropped;    /* dropped by TR_OVERFLOW_DROP_NEWEST / _OLDEST */
    uint64_t overruns;   /* accepted past the bound (TR_OVERFLOW_BLOCK, see there) */
    uint64_t muted;      /* times this actor was muted by a full receiver */
} tr_mailbox_stats;

/* Fills *out for the live actor pid. Exact when nothing sends to or runs pid
 * at the time; approximate (each field a recent value) otherwise. Returns 0,
 * TR_EINVAL or TR_ENOACTOR. Any thread. */
TR_API int tr_actor_stats(tr_system *sys, tr_pid pid, tr_mailbox_stats *out);

/* ---- Request / response ------------------------------------------------- */

/* Replies to request m (which the running actor is receiving) with reply,
 * consumed as by tr_msg_send. The reply reaches the asker as a message for
 * which tr_msg_is_reply is true and tr_msg_ref matches the request's; a reply
 * to a plain tr_send is an ordinary message to its sender. Replies are never
 * refused by the asker's bounded mailbox (it asked for them), and a reply
 * whose asker is gone (timed out, exited) is counted as a dead letter and
 * returns 0: `return tr_reply_i64(cx, m, x);` never crashes a healthy
 * server. Returns 0, TR_ENOTACTOR, TR_EINVAL, TR_EALREADY, TR_ENOMEM or
 * TR_ESTOPPED. A request that receive neither replies to nor forwards is
 * answered by the runtime: its asker gets TR_ENOREPLY (TR_EUNHANDLED if
 * receive returned that, TR_ENOACTOR if the actor exited). */
TR_API int tr_reply_msg(tr_ctx *cx, const tr_msg *m, tr_msg *reply);

/* Replies with a copy of data / an int64, of the request's type. */
TR_API int tr_reply(tr_ctx *cx, const tr_msg *m, const void *data, size_t size);
TR_API int tr_reply_i64(tr_ctx *cx, const tr_msg *m, int64_t value);

/* Blocking ask from a plain thread: sends req (consumed) to pid and waits up
 * to timeout_ms (< 0: forever) for the reply, which is stored in *reply and
 * owned by the caller (free it with tr_msg_free). A reply arriving after the
 * timeout is counted as a dead letter. It never waits for a reply that cannot
 * come: returns at once TR_ENOACTOR when the actor exits (or crashes) before
 * replying, TR_ENOREPLY when its receive returned 0 without replying or
 * forwarding the request, TR_EUNHANDLED when receive returned that, TR_EFULL
 * when the request (or a forward of it) was refused or dropped by a full
 * bounded mailbox, and TR_ESTOPPED when the system stops. Other returns: 0, TR_ETIMEDOUT,
 * TR_EINACTOR (called inside an actor callback: use tr_ask_async), TR_EINVAL
 * (a NULL argument; req not consumed), TR_ENOMEM (no reply address could be
 * made), or an error of tr_msg_send. Any number of plain threads at once (up
 * to 65,536 asks and inboxes). */
TR_API int tr_ask(tr_system *sys, tr_pid to, tr_msg *req, tr_msg **reply, int timeout_ms);

/* tr_ask with an int64 request payload and an int64 answer. */
TR_API int tr_ask_i64(tr_system *sys, tr_pid to, uint32_t type, int64_t arg, int64_t *out,
                      int timeout_ms);

/* Non-blocking ask from an actor: sends req (consumed) to pid and returns at
 * once. The reply later arrives to the running actor as a message with
 * tr_msg_is_reply(m) and tr_msg_ref(m) == *ref; if none comes within
 * timeout_ms (> 0), a TR_MSG_ASK_TIMEOUT message with that ref arrives instead
 * and a later reply is counted as a dead letter; if the runtime knows none
 * will come (see tr_ask), a TR_MSG_ASK_FAILED message arrives at once.
 * Exactly one of the three arrives. Returns 0, TR_EINVAL (timeout_ms <= 0 or
 * ref NULL), TR_ENOTACTOR, or an error of tr_msg_send (then nothing follows).
 * Actor only, on a worker: TR_ENOTACTOR in an init that a plain thread runs
 * (its timer needs a worker's loop). */
TR_API int tr_ask_async(tr_ctx *cx, tr_pid to, tr_msg *req, int timeout_ms, uint32_t *ref);

/* ---- Inboxes: mailboxes for plain threads ------------------------------- */

/* An inbox gives a plain thread (main, say) a pid that actors can send to,
 * and a blocking receive: results come back as messages instead of through
 * globals. Its pid is a reply address like any other: tr_reply to a message
 * sent with tr_inbox_send reaches it. */
typedef struct tr_inbox tr_inbox;

/* Opens an inbox and stores it in *out; the caller owns it and closes it with
 * tr_inbox_close (tr_system_shutdown frees any still open). While it is open
 * the system does not stop by itself (a plain thread that waits for messages
 * is taking part, as an actor would): a thread may spawn short-lived actors
 * one after another without the first one's exit stopping the system before
 * the next spawn; closing the last open inbox lets it stop once no actor is
 * live. tr_system_stop still stops it. Returns 0,
 * TR_EINVAL, TR_ENOMEM (more than 65,536 inboxes and asks at once) or
 * TR_ESTOPPED. Any plain thread. */
TR_API int tr_inbox_open(tr_system *sys, tr_inbox **out);

/* The inbox's pid (TR_EINVAL for NULL). Any thread. */
TR_API tr_pid tr_inbox_pid(const tr_inbox *ib);

/* Waits up to timeout_ms (< 0: forever, 0: just look) for the next message
 * and stores it in *out, owned by the caller (free it with tr_msg_free).
 * Messages arrive in send order per sender. Returns 0, TR_ETIMEDOUT,
 * TR_ESTOPPED (the system stopped and the inbox is empty), TR_EINVAL or
 * TR_EINACTOR (called inside an actor callback). One plain thread at a time
 * per inbox. */
TR_API int tr_inbox_receive(tr_inbox *ib, tr_msg **out, int timeout_ms);

/* tr_send with the inbox as the sender: the receiver sees tr_msg_sender(m)
 * == tr_inbox_pid(ib), and its replies come to the inbox. Returns as tr_send.
 * The inbox's thread. */
TR_API int tr_inbox_send(tr_inbox *ib, tr_pid to, uint32_t type, const void *data, size_t size);

/* Closes the inbox: its pid becomes dead (later sends are dead letters) and
 * messages still in it are counted as dead letters. ib is invalid afterwards.
 * Returns 0 or TR_EINVAL. The inbox's thread, before tr_system_shutdown. */
TR_API int tr_inbox_close(tr_inbox *ib);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_H */
