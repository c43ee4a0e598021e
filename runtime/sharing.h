/* sharing.h — whether idle workers take runnable actors from busy ones: a
 * controller that decides it by measuring.
 *
 * Taking work from a busy worker pays when the work it takes outweighs what
 * moving it costs: the actor's lines, and then every message its senders on
 * the other core write for it, cross between caches. How much a crossing
 * costs is a property of the machine, and not a fixed one: on the 2-vCPU
 * machine this runtime is developed on, one cache line bounced between the
 * two vCPUs takes 52-60 ns a round trip in some hours and 330-560 ns in
 * others, and in the slow hours a second worker that steals made
 * message-bound benchmarks slower than one worker alone (fanout_fj 18 M
 * messages/s against 24.5 M on one worker, counting 84 M against 89 M),
 * while in the fast hours it made fanout_fj 1.5x faster. No fixed rule
 * about which actors to steal gets both right, so the system measures.
 *
 * Two modes: SHARE (idle workers steal from other workers' run queues and
 * a worker that queues work wakes a parked one to take it: scheduler.c) and
 * KEEP (no stealing, and a worker wakes a parked one only for what its full
 * run queue spilled into the global queue: each worker runs what it made
 * runnable, and plain threads' mail and spills spread through the global
 * queue). A worker in a long turn is still taken from in KEEP: the ticker,
 * which marks such a turn (ticker.h), wakes a parked worker to take the
 * actors queued behind it, so KEEP delays nothing by more than a long
 * turn's mark (1-16 ms).
 *
 * A new system starts in KEEP, and sharing has to win to be chosen: a second
 * worker that keeps runs about as fast as one worker alone, while one that
 * shares can run far slower (in a slow spell counting's first epoch moved 16
 * M messages/s sharing against 66 M on one worker, and broker stayed sharing
 * at 28 M against one worker's 30 M because keeping won by less than the
 * margin).
 *
 * The controller runs on the ticker thread. It counts the messages that
 * every worker's turns take (tr_counters.received) over epochs of at least
 * TR_SHARING_EPOCH_MS (in practice up to the ticker's 8 ms nap). After
 * TR_SHARING_FIRST busy epochs, and then every `interval` epochs, it tries
 * the other mode for one epoch (a probe) and goes back for one more (the
 * check). A probe wins if its rate beat both epochs around it by
 * TR_SHARING_MARGIN: both, so that a rate that climbs or falls anyway does
 * not decide, nor an epoch slowed by the change back (a check epoch slowed
 * so made spawn_mem switch, and lose a fifth of its rate, in one run of six
 * when the probe was judged against the mean of the two). A win is tried
 * again at once, and the mode changes after TR_SHARING_WINS wins in a row:
 * spawn_mem's epochs vary by 5-10 % in a slow spell, and single wins still
 * switched it in 2 runs of 16. After a probe that lost, the interval
 * doubles (up to TR_SHARING_INTERVAL_MAX), so a machine where one mode
 * keeps winning spends ever less time trying the other. A system taking
 * fewer than TR_SHARING_BUSY messages a second per worker (2 us or more a
 * message, against a few hundred ns to move one) is not bound by moving
 * them: it shares, and when busy again starts over from there (sharing; a
 * probe's epoch counts as the probe's even when quiet, so a system under the
 * mark only while keeping settles on sharing). With one worker, or with
 * cfg.sharing other than TR_SHARING_AUTO, the mode is fixed. */
#ifndef TR_SHARING_H
#define TR_SHARING_H

#include <stdint.h>

struct tr_system;

#define TR_SHARING_EPOCH_MS 5
#define TR_SHARING_FIRST 1          /* busy epochs before the first probe */
#define TR_SHARING_INTERVAL 8       /* epochs between probes after a change */
#define TR_SHARING_INTERVAL_MAX 256 /* ...and at most, after probes that lost */
#define TR_SHARING_MARGIN 1.05      /* a probe must be this much faster to win */
#define TR_SHARING_WINS 2           /* ...this many times in a row to change the mode */
#define TR_SHARING_BUSY 500000.0    /* messages a second per worker (2 us each) */

enum tr_sharing_phase {
    TR_SHARING_STANDING, /* the mode chosen; counting down to a probe */
    TR_SHARING_PROBE,    /* this epoch runs the other mode */
    TR_SHARING_CHECK,    /* back in the standing mode for one epoch, then decide */
    TR_SHARING_QUIET     /* the last standing epoch was not busy: sharing until one is */
};

/* The controller's state: the ticker's alone. */
typedef struct tr_sharing_ctl {
    int keep; /* the mode of the epoch to come: 1 KEEP, 0 SHARE */
    enum tr_sharing_phase phase;
    unsigned interval;    /* epochs between probes */
    unsigned countdown;   /* standing epochs until the next probe */
    double before, probe; /* the rates of the epoch before the probe, and of the probe */
    unsigned wins;        /* probes in a row that won */
    uint64_t changes;     /* times probes changed the standing mode */
    /* The epoch under way (tr_sharing_tick). */
    uint64_t epoch_ns, epoch_received;
} tr_sharing_ctl;

/* A controller in KEEP, its first probe TR_SHARING_FIRST busy epochs away. */
void tr_sharing_init(tr_sharing_ctl *c);

/* Feeds one epoch's rate (messages a second per worker) to c and returns the mode for
 * the next epoch (1 KEEP, 0 SHARE). Pure: the tests drive it directly. */
int tr_sharing_epoch(tr_sharing_ctl *c, double rate);

/* The ticker's step, at time now_ns: closes the epoch under way when it has
 * lasted TR_SHARING_EPOCH_MS and publishes the mode it chose to sys->keep.
 * Does nothing unless sys->cfg.sharing is TR_SHARING_AUTO with 2 or more
 * workers. Ticker thread. */
void tr_sharing_tick(struct tr_system *sys, uint64_t now_ns);

#endif
