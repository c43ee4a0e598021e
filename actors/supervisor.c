/* supervisor.c — see troupe/supervisor.h.
 *
 * A supervisor is an actor whose state is a `supervisor`, touched only by its
 * own callbacks: plain threads and other actors reach it through messages
 * (calls, exit signals), and it reaches its future self through messages too
 * (stop timeouts, restart retries).
 *
 * At any time it is either idle, handling each message as it comes, or
 * running one job that stops children: a terminate call, the first half of a
 * one-for-all or rest-for-one restart, or its own shutdown. A job stops its
 * children one at a time from the last (a pool: all at once), each with an
 * exit signal and, unless its shutdown is brutal or infinite, a timer message
 * carrying the batch's generation, so that the timer of an earlier batch is
 * recognised and ignored. While a job runs, every other exit, call and retry
 * is set aside in arrival order and handled once it has finished, which is
 * what OTP gets from its selective receive; a child whose exit was set aside
 * before its turn to be stopped is simply known to be stopped already.
 *
 * Calls are answered with an ordinary message to the caller (an inbox for
 * the blocking functions), not with tr_reply: a terminate is answered only
 * after the child has exited, in a later callback, and a request cannot be
 * kept past the receive that got it. */
#include <troupe/supervisor.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Calls, and what a supervisor sends itself. */
#define MSG_CALL (TR_SUP_MSG_BASE + 2)  /* a wire_call */
#define MSG_TIMER (TR_SUP_MSG_BASE + 3) /* a stop batch's timeout: its generation */
#define MSG_RETRY (TR_SUP_MSG_BASE + 4) /* try a failed restart again: the child's uid */
#define MSG_BEGIN (TR_SUP_MSG_BASE + 5) /* the helper's first message (see takeover) */

#define WORKER_SHUTDOWN_MS 5000 /* OTP's default */

/* ---- what travels ---- */

/* A call: this header, then id_len bytes of id, then arg_size bytes of arg. */
typedef struct wire_call {
    uint32_t op, tag;
    tr_pid pid;
    uint64_t id_len, arg_size;
} wire_call;

/* An answer: this header, then nchildren tr_sup_child_info. */
typedef struct wire_answer {
    uint32_t op, tag;
    int32_t rc;
    uint32_t nchildren;
    tr_pid pid;
    tr_sup_counts counts;
    tr_sup_stats stats;
} wire_answer;

/* ---- the supervisor's state ---- */

/* A child spec as the supervisor keeps it. */
typedef struct cspec {
    char id[TR_SUP_ID_MAX + 1];
    char name[TR_SUP_ID_MAX + 1]; /* "" if none */
    const tr_actor_spec *actor;
    tr_sup_start_fn start;
    const tr_sup_spec *sup;
    const void *arg; /* what each start gets: the caller's pointer, or copy */
    void *copy;
    tr_sup_restart restart;
    tr_sup_child_type type;
    int shutdown_ms; /* > 0, TR_SUP_BRUTAL_KILL or TR_SUP_INFINITY */
} cspec;

typedef struct child {
    const cspec *spec; /* its own, or the pool's template */
    void *arg;         /* a pool child's own argument (start_child's), or NULL */
    tr_pid pid;        /* > 0 while running */
    tr_pid last_pid;   /* the pid it had before: its name may still point there */
    uint64_t uid;      /* names it in retry messages */
    uint32_t restarts;
    uint8_t restarting; /* a restart failed; a MSG_RETRY is on its way */
    uint8_t stopping;   /* the running job waits for its exit */
} child;

/* An exit, call or retry set aside while a job runs. */
typedef struct event {
    struct event *next;
    uint32_t type; /* TR_MSG_EXIT, MSG_CALL or MSG_RETRY */
    tr_pid from;   /* who exited, or the caller */
    int reason;
    size_t size;
    unsigned char data[];
} event;

enum job_kind { JOB_NONE, JOB_TERMINATE, JOB_RESTART, JOB_SHUTDOWN };

/* The children a job stops are kids[lo .. next-1], from the last down. */
typedef struct job {
    enum job_kind kind;
    child *target; /* TERMINATE: the child; RESTART: the child whose exit started it */
    int reason;    /* SHUTDOWN: the exit reason */
    tr_pid caller; /* TERMINATE: whom to answer, and the call's tag */
    uint32_t tag;
    size_t lo, next;
    size_t waiting; /* children of the current batch still running */
} job;

typedef struct supervisor {
    tr_system *sys;
    tr_pid self, parent; /* parent TR_PID_NONE: any plain thread */
    tr_sup_strategy strategy;
    uint32_t intensity;
    uint64_t period_ns;
    cspec *specs; /* one per static child; a pool's template */
    size_t nspecs;
    child **kids; /* in start order */
    size_t nkids, capkids;
    uint64_t next_uid;
    uint64_t *hist; /* times of the restarts within the period, a ring, oldest first */
    size_t hist_head, hist_n, hist_cap;
    uint64_t restarts, shutdown_kills;
    uint32_t gen; /* of the latest stop batch */
    job job;
    event *aside, *aside_last;
} supervisor;

/* What the supervisor actor's init gets. */
typedef struct sup_start {
    const tr_sup_spec *spec;
    tr_pid parent;
    supervisor *takeover; /* the helper of a failed init: whose children to stop */
} sup_start;

static int pool(const supervisor *s) {
    return s->strategy == TR_SUP_SIMPLE_ONE_FOR_ONE;
}

/* ---- specs ---- */

static int text_ok(const char *s) {
    size_t n = s ? strnlen(s, TR_SUP_ID_MAX + 1) : 0;
    return n > 0 && n <= TR_SUP_ID_MAX;
}

static int cspec_copy(cspec *d, const tr_sup_child_spec *c, int template) {
    int ways = (c->actor != NULL) + (c->start != NULL) + (c->sup != NULL);
    if (!text_ok(c->id) || (c->name && (template || !text_ok(c->name))) || ways != 1 ||
        (unsigned)c->restart > TR_SUP_TEMPORARY || (unsigned)c->type > TR_SUP_SUPERVISOR ||
        c->shutdown_ms < TR_SUP_INFINITY || (c->arg_size && !c->arg))
        return TR_EINVAL;
    strcpy(d->id, c->id);
    if (c->name)
        strcpy(d->name, c->name);
    d->actor = c->actor;
    d->start = c->start;
    d->sup = c->sup;
    d->restart = c->restart;
    d->type = c->sup ? TR_SUP_SUPERVISOR : c->type;
    d->shutdown_ms = c->shutdown_ms;
    if (d->shutdown_ms == TR_SUP_SHUTDOWN_DEFAULT)
        d->shutdown_ms = d->type == TR_SUP_SUPERVISOR ? TR_SUP_INFINITY : WORKER_SHUTDOWN_MS;
    d->arg = c->arg;
    if (c->arg_size) {
        if (!(d->copy = malloc(c->arg_size)))
            return TR_ENOMEM;
        d->arg = memcpy(d->copy, c->arg, c->arg_size);
    }
    return 0;
}

/* Checks spec and copies it into s. */
static int specs_copy(supervisor *s, const tr_sup_spec *spec) {
    if (!spec || (unsigned)spec->strategy > TR_SUP_SIMPLE_ONE_FOR_ONE || spec->period_ms == 0 ||
        (spec->nchildren && !spec->children))
        return TR_EINVAL;
    s->strategy = spec->strategy;
    if (pool(s) && spec->nchildren != 1)
        return TR_EINVAL;
    s->intensity = spec->intensity;
    s->period_ns = (uint64_t)spec->period_ms * 1000000u;
    if (spec->nchildren && !(s->specs = calloc(spec->nchildren, sizeof *s->specs)))
        return TR_ENOMEM;
    for (size_t i = 0; i < spec->nchildren; i++) {
        int rc = cspec_copy(&s->specs[i], &spec->children[i], pool(s));
        s->nspecs = i + 1; /* freed with the rest, even half made */
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->specs[k].id, s->specs[i].id) == 0)
                return TR_EINVAL;
    }
    return 0;
}

/* ---- the children ---- */

static child *child_new(supervisor *s, const cspec *spec, const void *arg, size_t size) {
    child *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (size && !(c->arg = malloc(size))) {
        free(c);
        return NULL;
    }
    if (size)
        memcpy(c->arg, arg, size);
    c->spec = spec;
    c->uid = ++s->next_uid;
    return c;
}

static void child_free(child *c) {
    free(c->arg);
    free(c);
}

/* Makes room for one more child. */
static int kids_reserve(supervisor *s) {
    if (s->nkids < s->capkids)
        return 0;
    size_t cap = s->capkids ? 2 * s->capkids : 8;
    child **k = realloc(s->kids, cap * sizeof *k);
    if (!k)
        return TR_ENOMEM;
    s->kids = k;
    s->capkids = cap;
    return 0;
}

static size_t kid_index(const supervisor *s, const child *c) {
    size_t i = 0;
    while (s->kids[i] != c)
        i++;
    return i;
}

static void kid_remove(supervisor *s, child *c) {
    size_t i = kid_index(s, c);
    memmove(&s->kids[i], &s->kids[i + 1], (s->nkids - i - 1) * sizeof *s->kids);
    s->nkids--;
    child_free(c);
}

static child *kid_by_pid(const supervisor *s, tr_pid pid) {
    for (size_t i = 0; pid > 0 && i < s->nkids; i++)
        if (s->kids[i]->pid == pid)
            return s->kids[i];
    return NULL;
}

static child *kid_by_id(const supervisor *s, const char *id) {
    for (size_t i = 0; i < s->nkids; i++)
        if (strcmp(s->kids[i]->spec->id, id) == 0)
            return s->kids[i];
    return NULL;
}

static child *kid_by_uid(const supervisor *s, uint64_t uid) {
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i]->uid == uid)
            return s->kids[i];
    return NULL;
}

static void child_down(child *c) {
    c->last_pid = c->pid;
    c->pid = 0;
}

/* A child that exited and is not restarted: temporary and pool children are
 * forgotten, others kept, not running (OTP's del_child). */
static void forget_or_keep(supervisor *s, child *c) {
    c->restarting = 0;
    if (c->spec->restart == TR_SUP_TEMPORARY || pool(s))
        kid_remove(s, c);
}

/* ---- starting ---- */

/* Registers pid under c's name. The name may still point at c's previous
 * pid: the runtime tells links of an exit before it drops the dead actor's
 * names, so that pid is dead and the name is c's to take over. */
static int name_take(supervisor *s, child *c, tr_pid pid) {
    int rc = tr_register(s->sys, c->spec->name, pid);
    if (rc == TR_EEXIST && c->last_pid > 0 && tr_whereis(s->sys, c->spec->name) == c->last_pid) {
        tr_unregister(s->sys, c->spec->name);
        rc = tr_register(s->sys, c->spec->name, pid);
    }
    return rc;
}

/* Starts c, linked to the supervisor. Returns 0 or the error of its start. */
static int child_start(supervisor *s, tr_ctx *cx, child *c) {
    const cspec *sp = c->spec;
    const void *arg = c->arg ? c->arg : sp->arg;
    tr_pid pid = sp->sup     ? tr_sup_start_link(cx, sp->sup)
                 : sp->start ? sp->start(cx, arg)
                             : tr_spawn_link(cx, sp->actor, arg);
    if (pid <= 0)
        return pid < 0 ? (int)pid : TR_EINVAL;
    if (sp->name[0]) {
        int rc = name_take(s, c, pid);
        if (rc) { /* not a child of ours after all */
            tr_unlink(cx, pid);
            tr_kill(s->sys, pid);
            return rc;
        }
    }
    c->pid = pid;
    c->restarting = 0;
    return 0;
}

/* A restart whose start failed is tried again as a new restart, from the
 * mailbox, so that calls and exits queued meanwhile come first (OTP). */
static void retry_later(supervisor *s, child *c) {
    c->restarting = 1;
    tr_send(s->sys, s->self, MSG_RETRY, &c->uid, sizeof c->uid);
}

/* Starts the children kids[lo..] that are not running, in order, as a
 * restart. Stops at the first that fails: that one is retried later. */
static void restart_from(supervisor *s, tr_ctx *cx, size_t lo) {
    for (size_t i = lo; i < s->nkids; i++) {
        child *c = s->kids[i];
        if (c->pid > 0)
            continue;
        if (child_start(s, cx, c) != 0) {
            retry_later(s, c);
            return;
        }
        c->restarts++;
    }
}

/* ---- restart intensity ---- */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int hist_grow(supervisor *s) {
    size_t cap = s->hist_cap ? 2 * s->hist_cap : 4; /* made at init: never 0 at a restart */
    uint64_t *h = malloc(cap * sizeof *h);
    if (!h)
        return TR_ENOMEM;
    for (size_t i = 0; i < s->hist_n; i++)
        h[i] = s->hist[(s->hist_head + i) % s->hist_cap];
    free(s->hist);
    s->hist = h;
    s->hist_cap = cap;
    s->hist_head = 0;
    return 0;
}

/* Records a restart now and returns whether more than `intensity` restarts
 * fall within the period (OTP's add_restart). Only restarts within the period
 * are kept, so the ring never holds more than intensity + 1. */
static int restart_exceeds(supervisor *s) {
    uint64_t now = now_ns();
    while (s->hist_n && now - s->hist[s->hist_head] > s->period_ns) {
        s->hist_head = (s->hist_head + 1) % s->hist_cap;
        s->hist_n--;
    }
    if (s->hist_n == s->hist_cap && hist_grow(s) != 0) { /* no memory: forget the oldest */
        s->hist_head = (s->hist_head + 1) % s->hist_cap;
        s->hist_n--;
    }
    s->hist[(s->hist_head + s->hist_n++) % s->hist_cap] = now;
    return s->hist_n > s->intensity;
}

/* ---- jobs: stopping children ---- */

static void job_finish(supervisor *s, tr_ctx *cx);
static void answer_rc(supervisor *s, tr_pid to, uint32_t tag, tr_sup_op op, int rc);

/* Takes out the set-aside exit of pid, if there is one. */
static int aside_take_exit(supervisor *s, tr_pid pid) {
    event *prev = NULL;
    for (event *e = s->aside; e; prev = e, e = e->next)
        if (e->type == TR_MSG_EXIT && e->from == pid) {
            *(prev ? &prev->next : &s->aside) = e->next;
            if (s->aside_last == e)
                s->aside_last = prev;
            free(e);
            return 1;
        }
    return 0;
}

/* Kills the children of the batch still running: they outlived their
 * shutdown timeout. */
static void batch_kill(supervisor *s) {
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i]->stopping && tr_kill(s->sys, s->kids[i]->pid) == 0)
            s->shutdown_kills++;
}

/* Tells the next batch to stop: the next child down, or for a pool all of
 * them. Those not running, or whose exit was set aside, need nothing. */
static void batch_begin(supervisor *s, tr_ctx *cx) {
    job *j = &s->job;
    size_t last = pool(s) ? j->lo : j->next - 1;
    int timeout = TR_SUP_INFINITY;
    s->gen++;
    while (j->next > last) {
        child *c = s->kids[--j->next];
        if (c->pid <= 0)
            continue;
        if (aside_take_exit(s, c->pid)) {
            child_down(c);
            continue;
        }
        c->stopping = 1;
        j->waiting++;
        timeout = c->spec->shutdown_ms;
        if (timeout == TR_SUP_BRUTAL_KILL)
            tr_kill(s->sys, c->pid);
        else
            tr_send_exit(s->sys, c->pid, TR_ESTOPPED);
    }
    if (j->waiting && timeout > 0 &&
        tr_send_after(cx, (uint32_t)timeout, s->self, MSG_TIMER, &s->gen, sizeof s->gen, NULL) != 0)
        batch_kill(s); /* no timer to wait for */
}

/* Moves the job on until it waits for an exit, or finishes. */
static void job_advance(supervisor *s, tr_ctx *cx) {
    while (s->job.waiting == 0) {
        if (s->job.next == s->job.lo) {
            job_finish(s, cx);
            return;
        }
        batch_begin(s, cx);
    }
}

static void job_begin(supervisor *s, tr_ctx *cx, job j) {
    s->job = j;
    job_advance(s, cx);
}

/* Stops every child, from the last, then exits with reason. */
static void shutdown_begin(supervisor *s, tr_ctx *cx, int reason) {
    job_begin(s, cx, (job){.kind = JOB_SHUTDOWN, .reason = reason, .next = s->nkids});
}

/* The first child of the group that a restart of c restarts. */
static size_t group_lo(const supervisor *s, const child *c) {
    return s->strategy == TR_SUP_REST_FOR_ONE ? kid_index(s, c) : 0;
}

/* The rest of a group restart, once the group is stopped: its temporary
 * children are forgotten, the others started again in order. */
static void group_restart(supervisor *s, tr_ctx *cx, child *target) {
    size_t lo = group_lo(s, target);
    for (size_t i = s->nkids; i-- > lo;)
        if (s->kids[i]->spec->restart == TR_SUP_TEMPORARY)
            kid_remove(s, s->kids[i]);
    restart_from(s, cx, group_lo(s, target));
}

static void job_finish(supervisor *s, tr_ctx *cx) {
    job j = s->job;
    if (j.kind == JOB_SHUTDOWN) { /* the job stays: nothing more is handled */
        tr_exit(cx, j.reason);
        return;
    }
    s->job.kind = JOB_NONE;
    if (j.kind == JOB_TERMINATE) {
        forget_or_keep(s, j.target);
        answer_rc(s, j.caller, j.tag, TR_SUP_TERMINATE_CHILD, 0);
    } else {
        group_restart(s, cx, j.target);
    }
}

/* ---- exits and restarts ---- */

/* c exited and is to be restarted (OTP's restart/2). */
static void child_restart(supervisor *s, tr_ctx *cx, child *c) {
    if (restart_exceeds(s)) {
        shutdown_begin(s, cx, TR_EINTENSITY);
        return;
    }
    s->restarts++;
    if (s->strategy == TR_SUP_ONE_FOR_ALL || s->strategy == TR_SUP_REST_FOR_ONE)
        job_begin(s, cx,
                  (job){.kind = JOB_RESTART, .target = c, .lo = group_lo(s, c), .next = s->nkids});
    else if (child_start(s, cx, c) == 0)
        c->restarts++;
    else
        retry_later(s, c);
}

static void exit_received(supervisor *s, tr_ctx *cx, tr_pid pid, int reason) {
    child *c = kid_by_pid(s, pid);
    if (!c) {
        if (pid == s->parent) /* an exit from elsewhere is ignored, as in OTP */
            shutdown_begin(s, cx, reason);
        return;
    }
    child_down(c);
    tr_sup_restart r = c->spec->restart;
    if (r == TR_SUP_PERMANENT || (r == TR_SUP_TRANSIENT && TR_EXIT_ABNORMAL(reason)))
        child_restart(s, cx, c);
    else
        forget_or_keep(s, c);
}

static void on_retry(supervisor *s, tr_ctx *cx, const void *data, size_t size) {
    uint64_t uid;
    if (size != sizeof uid)
        return;
    memcpy(&uid, data, sizeof uid);
    child *c = kid_by_uid(s, uid);
    if (c && c->restarting) /* else terminated or started since */
        child_restart(s, cx, c);
}

/* ---- calls ---- */

static void child_info(const child *c, tr_sup_child_info *out) {
    memset(out, 0, sizeof *out);
    strcpy(out->id, c->spec->id);
    out->pid = c->pid;
    out->restarts = c->restarts;
    out->type = c->spec->type;
    out->restarting = c->restarting;
}

static tr_sup_counts counts_of(const supervisor *s) {
    tr_sup_counts k = {.specs = pool(s) ? 1 : (uint32_t)s->nkids};
    for (size_t i = 0; i < s->nkids; i++) {
        k.active += s->kids[i]->pid > 0;
        if (s->kids[i]->spec->type == TR_SUP_SUPERVISOR)
            k.supervisors++;
        else
            k.workers++;
    }
    return k;
}

/* Sends w to `to`, followed by every child's info when w->nchildren is set. */
static void answer_send(supervisor *s, tr_pid to, wire_answer *w) {
    size_t size = sizeof *w + w->nchildren * sizeof(tr_sup_child_info);
    tr_msg *m;
    if (to <= 0 || tr_msg_create(s->sys, TR_SUP_MSG_ANSWER, size, &m) != 0)
        return; /* no caller to answer, or no memory: the caller's wait ends it */
    unsigned char *p = tr_msg_data(m);
    memcpy(p, w, sizeof *w);
    for (size_t i = 0; i < w->nchildren; i++) {
        tr_sup_child_info info;
        child_info(s->kids[i], &info);
        memcpy(p + sizeof *w + i * sizeof info, &info, sizeof info);
    }
    tr_msg_send(s->sys, to, m);
}

static void answer_rc(supervisor *s, tr_pid to, uint32_t tag, tr_sup_op op, int rc) {
    wire_answer w = {.op = op, .tag = tag, .rc = rc};
    answer_send(s, to, &w);
}

/* Decodes a call; id gets its id ("" if none). Returns whether it is well formed. */
static int call_decode(const unsigned char *data, size_t size, wire_call *w, char *id,
                       const void **arg) {
    if (size < sizeof *w)
        return 0;
    memcpy(w, data, sizeof *w);
    size_t rest = size - sizeof *w;
    if (w->id_len > TR_SUP_ID_MAX || w->id_len > rest || w->arg_size != rest - w->id_len)
        return 0;
    memcpy(id, data + sizeof *w, w->id_len);
    id[w->id_len] = '\0';
    *arg = data + sizeof *w + w->id_len;
    return 1;
}

/* The child a call names: by pid in a pool, by id otherwise. */
static int call_target(const supervisor *s, const wire_call *w, const char *id, child **c) {
    if (pool(s) ? w->pid <= 0 : !id[0])
        return TR_EINVAL;
    *c = pool(s) ? kid_by_pid(s, w->pid) : kid_by_id(s, id);
    return *c ? 0 : TR_ENOTFOUND;
}

static void call_start_child(supervisor *s, tr_ctx *cx, const void *arg, size_t size,
                             wire_answer *a) {
    child *c = NULL;
    if (!pool(s))
        a->rc = TR_EINVAL;
    else if (kids_reserve(s) != 0 || !(c = child_new(s, &s->specs[0], arg, size)))
        a->rc = TR_ENOMEM;
    else if ((a->rc = child_start(s, cx, c)) != 0)
        child_free(c);
    else
        s->kids[s->nkids++] = c;
    a->pid = a->rc ? 0 : c->pid;
}

/* Returns whether the answer waits for the child's exit (the job's end). */
static int call_terminate(supervisor *s, tr_ctx *cx, tr_pid caller, const wire_call *w,
                          const char *id, int *rc) {
    child *c;
    if ((*rc = call_target(s, w, id, &c)) != 0)
        return 0;
    if (c->pid <= 0) {
        forget_or_keep(s, c);
        return 0;
    }
    size_t i = kid_index(s, c);
    job_begin(s, cx,
              (job){.kind = JOB_TERMINATE,
                    .target = c,
                    .caller = caller,
                    .tag = w->tag,
                    .lo = i,
                    .next = i + 1});
    return 1;
}

/* restart_child and delete_child: a static child that is not running. */
static int call_idle_child(supervisor *s, const wire_call *w, const char *id, child **c) {
    int rc = pool(s) ? TR_EINVAL : call_target(s, w, id, c);
    if (rc == 0 && ((*c)->pid > 0 || (*c)->restarting))
        rc = TR_EEXIST;
    return rc;
}

static void on_call(supervisor *s, tr_ctx *cx, tr_pid caller, const void *data, size_t size) {
    wire_call w;
    char id[TR_SUP_ID_MAX + 1];
    const void *arg;
    if (!call_decode(data, size, &w, id, &arg)) {
        answer_rc(s, caller, 0, 0, TR_EBADMSG);
        return;
    }
    wire_answer a = {.op = w.op, .tag = w.tag};
    child *c;
    switch (w.op) {
    case TR_SUP_START_CHILD: call_start_child(s, cx, arg, w.arg_size, &a); break;
    case TR_SUP_TERMINATE_CHILD:
        if (call_terminate(s, cx, caller, &w, id, &a.rc))
            return;
        break;
    case TR_SUP_RESTART_CHILD:
        if ((a.rc = call_idle_child(s, &w, id, &c)) == 0 && (a.rc = child_start(s, cx, c)) == 0)
            a.pid = c->pid;
        break;
    case TR_SUP_DELETE_CHILD:
        if ((a.rc = call_idle_child(s, &w, id, &c)) == 0)
            kid_remove(s, c);
        break;
    case TR_SUP_WHICH_CHILDREN: a.nchildren = (uint32_t)s->nkids; break;
    case TR_SUP_COUNT_CHILDREN: a.counts = counts_of(s); break;
    case TR_SUP_GET_STATS:
        a.stats = (tr_sup_stats){.restarts = s->restarts,
                                 .shutdown_kills = s->shutdown_kills,
                                 .children = (uint32_t)s->nkids,
                                 .active = counts_of(s).active};
        break;
    default: a.rc = TR_EINVAL;
    }
    answer_send(s, caller, &a);
}

/* ---- the actor ---- */

static int set_aside(supervisor *s, uint32_t type, tr_pid from, int reason, const void *data,
                     size_t size) {
    event *e = malloc(sizeof *e + size);
    if (!e)
        return TR_ENOMEM;
    *e = (event){.type = type, .from = from, .reason = reason, .size = size};
    if (size)
        memcpy(e->data, data, size);
    *(s->aside_last ? &s->aside_last->next : &s->aside) = e;
    s->aside_last = e;
    return 0;
}

/* An exit, call or retry: handled now, or set aside while a job runs (but
 * the exit the job waits for). */
static int on_event(supervisor *s, tr_ctx *cx, uint32_t type, tr_pid from, int reason,
                    const void *data, size_t size) {
    child *c = type == TR_MSG_EXIT ? kid_by_pid(s, from) : NULL;
    if (c && c->stopping) {
        c->stopping = 0;
        child_down(c);
        s->job.waiting--;
        job_advance(s, cx);
        return 0;
    }
    if (s->job.kind != JOB_NONE)
        return set_aside(s, type, from, reason, data, size);
    if (type == TR_MSG_EXIT)
        exit_received(s, cx, from, reason);
    else if (type == MSG_CALL)
        on_call(s, cx, from, data, size);
    else
        on_retry(s, cx, data, size);
    return 0;
}

/* Handles what was set aside, in order, until a job starts again. */
static void aside_drain(supervisor *s, tr_ctx *cx) {
    while (s->job.kind == JOB_NONE && s->aside) {
        event *e = s->aside;
        if (!(s->aside = e->next))
            s->aside_last = NULL;
        on_event(s, cx, e->type, e->from, e->reason, e->data, e->size);
        free(e);
    }
}

static void sup_free(supervisor *s) {
    for (size_t i = 0; i < s->nkids; i++)
        child_free(s->kids[i]);
    for (size_t i = 0; i < s->nspecs; i++)
        free(s->specs[i].copy);
    while (s->aside) {
        event *e = s->aside;
        s->aside = e->next;
        free(e);
    }
    free(s->kids);
    free(s->specs);
    free(s->hist);
}

static const tr_actor_spec sup_actor;

/* The helper of an init that failed: takes over the children `from` had
 * started, links to them, and on its first message stops them as a shutdown
 * would, then exits normally. Init cannot wait for exits; the helper can. */
static int takeover(supervisor *s, tr_ctx *cx, supervisor *from) {
    int rc = tr_send(s->sys, s->self, MSG_BEGIN, NULL, 0);
    if (rc)
        return rc;
    s->strategy = from->strategy;
    s->specs = from->specs;
    s->nspecs = from->nspecs;
    s->kids = from->kids;
    s->nkids = from->nkids;
    from->specs = NULL;
    from->kids = NULL;
    from->nspecs = from->nkids = 0;
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i]->pid > 0)
            tr_link(cx, s->kids[i]->pid);
    s->job = (job){.kind = JOB_SHUTDOWN, .next = s->nkids}; /* begun by MSG_BEGIN */
    return 0;
}

/* Init failed with rc at a child's start. Those started before it (children
 * start in order: some did if the first did) are stopped, in reverse order,
 * by a helper that takes them over; if none can be made, only told to stop. */
static int init_failed(supervisor *s, tr_ctx *cx, int rc) {
    if (s->kids[0]->pid > 0) {
        for (size_t i = 0; i < s->nkids; i++)
            if (s->kids[i]->pid > 0)
                tr_unlink(cx, s->kids[i]->pid);
        sup_start st = {.parent = TR_PID_NONE, .takeover = s};
        if (tr_spawn(s->sys, &sup_actor, &st) < 0)
            for (size_t i = s->nkids; i-- > 0;)
                if (s->kids[i]->pid > 0)
                    tr_send_exit(s->sys, s->kids[i]->pid, TR_ESTOPPED);
    }
    sup_free(s);
    return rc;
}

static int sup_init(tr_ctx *cx, void *state, const void *arg) {
    const sup_start *st = arg;
    supervisor *s = state;
    s->sys = tr_ctx_system(cx);
    s->self = tr_self(cx);
    s->parent = st->parent;
    tr_trap_exits(cx, 1);
    if (st->takeover)
        return takeover(s, cx, st->takeover);
    int rc = specs_copy(s, st->spec);
    if (rc == 0)
        rc = hist_grow(s);
    for (size_t i = 0; rc == 0 && !pool(s) && i < s->nspecs; i++) {
        child *c = NULL;
        if (kids_reserve(s) != 0 || !(c = child_new(s, &s->specs[i], NULL, 0)))
            rc = TR_ENOMEM;
        else
            s->kids[s->nkids++] = c;
    }
    for (size_t i = 0; rc == 0 && i < s->nkids; i++)
        if ((rc = child_start(s, cx, s->kids[i])) != 0)
            return init_failed(s, cx, rc);
    if (rc)
        sup_free(s);
    return rc;
}

/* A stop batch's timeout: the batch still running outlived it, unless the
 * timer is an earlier batch's. */
static void on_timer(supervisor *s, const void *data, size_t size) {
    uint32_t gen;
    if (size != sizeof gen)
        return;
    memcpy(&gen, data, sizeof gen);
    if (gen == s->gen && s->job.waiting)
        batch_kill(s);
}

static int sup_receive(tr_ctx *cx, void *state, tr_msg *m) {
    supervisor *s = state;
    uint32_t type = tr_msg_type(m);
    const void *data = tr_msg_data(m);
    size_t size = tr_msg_size(m);
    int rc = 0;
    switch (type) {
    case TR_MSG_EXIT:
        rc = on_event(s, cx, type, tr_msg_exit_pid(m), tr_msg_exit_reason(m), NULL, 0);
        break;
    case MSG_CALL:
    case MSG_RETRY: rc = on_event(s, cx, type, tr_msg_sender(m), 0, data, size); break;
    case MSG_TIMER: on_timer(s, data, size); break;
    case MSG_BEGIN:
        if (s->job.kind == JOB_SHUTDOWN)
            job_advance(s, cx);
        break;
    default: return TR_EUNHANDLED;
    }
    aside_drain(s, cx);
    return rc;
}

/* Callers left waiting are told that no answer will come. */
static void sup_terminate(tr_ctx *cx, void *state, int reason) {
    (void)cx;
    (void)reason;
    supervisor *s = state;
    if (s->job.kind == JOB_TERMINATE)
        answer_rc(s, s->job.caller, s->job.tag, TR_SUP_TERMINATE_CHILD, TR_ENOACTOR);
    for (event *e = s->aside; e; e = e->next) {
        wire_call w;
        if (e->type == MSG_CALL && e->size >= sizeof w) {
            memcpy(&w, e->data, sizeof w);
            answer_rc(s, e->from, w.tag, (tr_sup_op)w.op, TR_ENOACTOR);
        }
    }
    sup_free(s);
}

static const tr_actor_spec sup_actor = {
    .name = "supervisor",
    .state_size = sizeof(supervisor),
    .init = sup_init,
    .receive = sup_receive,
    .terminate = sup_terminate,
};

tr_pid tr_sup_start(tr_system *sys, const tr_sup_spec *spec) {
    if (!sys || !spec)
        return TR_EINVAL;
    sup_start st = {.spec = spec, .parent = TR_PID_NONE};
    return tr_spawn(sys, &sup_actor, &st);
}

tr_pid tr_sup_start_link(tr_ctx *cx, const tr_sup_spec *spec) {
    tr_pid self = tr_self(cx);
    if (self < 0)
        return self;
    if (!spec)
        return TR_EINVAL;
    sup_start st = {.spec = spec, .parent = self};
    return tr_spawn_link(cx, &sup_actor, &st);
}

/* ---- callers ---- */

/* Encodes call into a new buffer (*out, freed by the caller). */
static int call_encode(const tr_sup_call *call, uint32_t tag, void **out, size_t *size) {
    if (!call || call->op < TR_SUP_START_CHILD || call->op > TR_SUP_GET_STATS ||
        (call->id && !text_ok(call->id)) || (call->arg_size && !call->arg))
        return TR_EINVAL;
    size_t id_len = call->id ? strlen(call->id) : 0;
    wire_call w = {
        .op = call->op, .tag = tag, .pid = call->pid, .id_len = id_len, .arg_size = call->arg_size};
    *size = sizeof w + id_len + call->arg_size;
    unsigned char *p = malloc(*size);
    if (!p)
        return TR_ENOMEM;
    memcpy(p, &w, sizeof w);
    if (id_len)
        memcpy(p + sizeof w, call->id, id_len);
    if (call->arg_size)
        memcpy(p + sizeof w + id_len, call->arg, call->arg_size);
    *out = p;
    return 0;
}

int tr_sup_call_async(tr_ctx *cx, tr_pid sup, const tr_sup_call *call, uint32_t tag) {
    tr_system *sys = tr_ctx_system(cx);
    if (!sys)
        return TR_ENOTACTOR;
    if (sup <= 0)
        return TR_EINVAL;
    void *req;
    size_t size;
    int rc = call_encode(call, tag, &req, &size);
    if (rc == 0) {
        rc = tr_send(sys, sup, MSG_CALL, req, size);
        free(req);
    }
    return rc;
}

int tr_sup_answer_read(tr_msg *m, tr_sup_answer *out, tr_sup_child_info *children, size_t cap) {
    if (!m || !out || tr_msg_type(m) != TR_SUP_MSG_ANSWER)
        return TR_EINVAL;
    wire_answer w;
    size_t size = tr_msg_size(m);
    const unsigned char *p = tr_msg_data(m);
    if (size < sizeof w)
        return TR_EBADMSG;
    memcpy(&w, p, sizeof w);
    if (size - sizeof w != w.nchildren * sizeof(tr_sup_child_info))
        return TR_EBADMSG;
    *out = (tr_sup_answer){.tag = w.tag,
                           .op = (tr_sup_op)w.op,
                           .rc = w.rc,
                           .pid = w.pid,
                           .nchildren = w.nchildren,
                           .counts = w.counts,
                           .stats = w.stats};
    for (size_t i = 0; i < cap && i < w.nchildren; i++)
        memcpy(&children[i], p + sizeof w + i * sizeof *children, sizeof *children);
    return 0;
}

/* A call from a plain thread: sent from an inbox of its own, which only the
 * supervisor knows, so the first message there is the answer. */
static int call_wait(tr_system *sys, tr_pid sup, const tr_sup_call *call, tr_sup_answer *ans,
                     tr_sup_child_info *children, size_t cap, int timeout_ms) {
    if (!sys || sup <= 0)
        return TR_EINVAL;
    void *req;
    size_t size;
    int rc = call_encode(call, 0, &req, &size);
    if (rc)
        return rc;
    tr_inbox *ib = NULL;
    tr_msg *m = NULL;
    rc = tr_inbox_open(sys, &ib);
    /* A look into the empty inbox says TR_EINACTOR inside a callback, before
       anything is sent; else it times out at once. */
    if (rc == 0 && (rc = tr_inbox_receive(ib, &m, 0)) == TR_ETIMEDOUT)
        rc = tr_inbox_send(ib, sup, MSG_CALL, req, size);
    if (rc == 0)
        rc = tr_inbox_receive(ib, &m, timeout_ms);
    if (rc == 0) {
        rc = tr_sup_answer_read(m, ans, children, cap);
        tr_msg_free(m);
        if (rc == 0)
            rc = ans->rc;
    }
    if (ib)
        tr_inbox_close(ib);
    free(req);
    return rc;
}

tr_pid tr_sup_start_child(tr_system *sys, tr_pid sup, const void *arg, size_t arg_size,
                          int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_START_CHILD, .arg = arg, .arg_size = arg_size};
    tr_sup_answer ans;
    int rc = call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms);
    return rc ? rc : ans.pid;
}

int tr_sup_terminate_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_TERMINATE_CHILD, .id = id};
    tr_sup_answer ans;
    return id ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
}

int tr_sup_terminate_pid(tr_system *sys, tr_pid sup, tr_pid pid, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_TERMINATE_CHILD, .pid = pid};
    tr_sup_answer ans;
    return pid > 0 ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
}

tr_pid tr_sup_restart_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_RESTART_CHILD, .id = id};
    tr_sup_answer ans;
    int rc = id ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
    return rc ? rc : ans.pid;
}

int tr_sup_delete_child(tr_system *sys, tr_pid sup, const char *id, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_DELETE_CHILD, .id = id};
    tr_sup_answer ans;
    return id ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
}

int tr_sup_which_children(tr_system *sys, tr_pid sup, tr_sup_child_info *out, size_t cap,
                          int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_WHICH_CHILDREN};
    tr_sup_answer ans;
    if (cap && !out)
        return TR_EINVAL;
    int rc = call_wait(sys, sup, &call, &ans, out, cap, timeout_ms);
    return rc ? rc : (int)ans.nchildren;
}

int tr_sup_count_children(tr_system *sys, tr_pid sup, tr_sup_counts *out, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_COUNT_CHILDREN};
    tr_sup_answer ans;
    int rc = out ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
    if (rc == 0)
        *out = ans.counts;
    return rc;
}

int tr_sup_stats_get(tr_system *sys, tr_pid sup, tr_sup_stats *out, int timeout_ms) {
    tr_sup_call call = {.op = TR_SUP_GET_STATS};
    tr_sup_answer ans;
    int rc = out ? call_wait(sys, sup, &call, &ans, NULL, 0, timeout_ms) : TR_EINVAL;
    if (rc == 0)
        *out = ans.stats;
    return rc;
}
