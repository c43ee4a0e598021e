/* sharing.c — see sharing.h. */
#include "sharing.h"

#include "system.h"

/* Standing in mode `keep`, with the first probe TR_SHARING_FIRST busy epochs
 * away (and the interval that doubles to TR_SHARING_INTERVAL when it loses). */
static void start_over(tr_sharing_ctl *c, int keep) {
    c->keep = keep;
    c->wins = 0;
    c->phase = TR_SHARING_STANDING;
    c->interval = TR_SHARING_INTERVAL / 2;
    c->countdown = TR_SHARING_FIRST;
}

void tr_sharing_init(tr_sharing_ctl *c) {
    *c = (tr_sharing_ctl){0};
    start_over(c, 1);
}

/* Back to standing in the current mode with the next probe `interval` epochs
 * away. */
static void stand(tr_sharing_ctl *c, unsigned interval) {
    c->phase = TR_SHARING_STANDING;
    c->interval = interval;
    c->countdown = interval;
}

/* Tries the other mode for the next epoch; rate was the standing one's. */
static void probe(tr_sharing_ctl *c, double rate) {
    c->before = rate;
    c->phase = TR_SHARING_PROBE;
    c->keep = !c->keep;
}

int tr_sharing_epoch(tr_sharing_ctl *c, double rate) {
    /* Not bound by moving messages: share. A probe's epoch is judged as a
       probe even so (a system under the mark only while keeping then loses
       its probes of keeping, rather than going quiet and starting over). */
    if (rate < TR_SHARING_BUSY && c->phase != TR_SHARING_PROBE) {
        c->phase = TR_SHARING_QUIET;
        return c->keep = 0;
    }
    switch (c->phase) {
    case TR_SHARING_QUIET:
        /* Busy again: this epoch ran sharing, so stand there and let it
           count as the first busy one. (Starting over keeping made a system
           whose rate per worker is under the mark while keeping and over it
           while sharing flip modes every epoch, and undid a sharing learned
           by probes.) */
        start_over(c, 0);
        /* fall through */
    case TR_SHARING_STANDING:
        if (--c->countdown == 0)
            probe(c, rate);
        break;
    case TR_SHARING_PROBE:
        c->probe = rate;
        c->phase = TR_SHARING_CHECK;
        c->keep = !c->keep;
        break;
    case TR_SHARING_CHECK: /* a probe wins only against both epochs around it */
        if (c->probe <= (c->before > rate ? c->before : rate) * TR_SHARING_MARGIN) {
            c->wins = 0;
            stand(c, c->interval * 2 < TR_SHARING_INTERVAL_MAX ? c->interval * 2
                                                               : TR_SHARING_INTERVAL_MAX);
        } else if (++c->wins < TR_SHARING_WINS) {
            probe(c, rate); /* again, at once */
        } else {
            c->wins = 0;
            c->keep = !c->keep;
            c->changes++;
            stand(c, TR_SHARING_INTERVAL);
        }
        break;
    }
    return c->keep;
}

static uint64_t received(tr_system *sys) {
    uint64_t sum = 0;
    for (unsigned i = 0; i < sys->cfg.workers; i++)
        sum += atomic_load_explicit(&sys->workers[i].counters.received, memory_order_relaxed);
    return sum;
}

void tr_sharing_tick(tr_system *sys, uint64_t now_ns) {
    tr_sharing_ctl *c = &sys->sharing;
    if (sys->cfg.sharing != TR_SHARING_AUTO || sys->cfg.workers < 2)
        return;
    uint64_t elapsed = now_ns - c->epoch_ns;
    if (elapsed < (uint64_t)TR_SHARING_EPOCH_MS * 1000000)
        return;
    uint64_t now_received = received(sys);
    double rate =
        (double)(now_received - c->epoch_received) * 1e9 / (double)elapsed / sys->cfg.workers;
    c->epoch_ns = now_ns;
    c->epoch_received = now_received;
    int keep = tr_sharing_epoch(c, rate);
    atomic_store_explicit(&sys->keep, keep, memory_order_relaxed);
    atomic_store_explicit(&sys->sharing_changes, c->changes, memory_order_relaxed);
}
