/* sharing.c — see sharing.h. */
#include "sharing.h"

#include "system.h"

/* Keeping, with the first probe TR_SHARING_FIRST busy epochs away (and the
 * interval that doubles to TR_SHARING_INTERVAL when it loses). */
static void start_over(tr_sharing_ctl *c) {
    c->keep = 1;
    c->quiet = 0;
    c->wins = 0;
    c->phase = TR_SHARING_STANDING;
    c->interval = TR_SHARING_INTERVAL / 2;
    c->countdown = TR_SHARING_FIRST;
}

void tr_sharing_init(tr_sharing_ctl *c) {
    *c = (tr_sharing_ctl){0};
    start_over(c);
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
    if (rate < TR_SHARING_BUSY) { /* not bound by moving messages: share */
        c->quiet = 1;
        return c->keep = 0;
    }
    if (c->quiet) { /* busy again: keep, and try sharing after the first epochs */
        start_over(c);
        return 1;
    }
    switch (c->phase) {
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
