/* test_resources.c — tr_system_create when the process is short of what a
 * worker needs: with only k file descriptors left (RLIMIT_NOFILE), for every
 * k from 0 up to enough, it returns TR_ESYS (never crashes, *out NULL) until
 * k suffices for every worker's loop, and leaves no descriptor open (counted
 * in /proc/self/fd) and, under ASan, no memory; the same when threads cannot
 * be made (a thread stack larger than memory allows, through RLIMIT_STACK:
 * the ticker's thread fails; and, in a build without sanitizers, an address
 * space limit that lets some threads start and not the rest). With the
 * limits restored a normal system works. */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define WORKERS 4

/* Open descriptors, from /proc/self/fd (the directory's own not counted). */
static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* The lowest limit under which exactly k descriptor numbers are free: new
 * descriptors take the lowest free numbers, and must be below the limit. */
static rlim_t limit_with_free(int k) {
    int free_below = 0;
    for (int fd = 0;; fd++) {
        if (free_below == k)
            return (rlim_t)fd;
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            free_below++;
    }
}

static void set_limit(int resource, rlim_t soft) {
    struct rlimit lim;
    CHECK_EQ(getrlimit(resource, &lim), 0);
    lim.rlim_cur = soft;
    CHECK_EQ(setrlimit(resource, &lim), 0);
}

static rlim_t get_limit(int resource) {
    struct rlimit lim;
    CHECK_EQ(getrlimit(resource, &lim), 0);
    return lim.rlim_cur;
}

/* A system that works: an actor answers, then a clean shutdown. */
enum { MSG_ECHO = 1 };

static int echo_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    return tr_msg_type(m) == MSG_ECHO ? tr_reply_i64(cx, m, tr_msg_i64(m) + 1) : TR_EUNHANDLED;
}

static const tr_actor_spec echo_spec = {.name = "echo", .receive = echo_receive};

static void use_system(tr_system *sys) {
    tr_pid p = check_spawn(sys, &echo_spec, NULL);
    int64_t out = 0;
    CHECK_EQ(tr_ask_i64(sys, p, MSG_ECHO, 41, &out, 10000), 0);
    CHECK_EQ(out, 42);
    CHECK_EQ(tr_system_stop(sys), 0);
    check_finish(sys);
}

static tr_system_config config(void) {
    tr_system_config cfg;
    tr_system_config_init(&cfg); /* before any limit: it reads /proc */
    cfg.workers = WORKERS;
    return cfg;
}

/* One system first: libuv opens its process-wide descriptors (the signal
 * pipe) once, with the first loop; they are not the runtime's. */
static int g_base_fds;

static void baseline(void) {
    tr_system_config cfg = config();
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    use_system(sys);
    g_base_fds = count_fds();
}

static void few_descriptors(void) {
    tr_system_config cfg = config();
    rlim_t saved = get_limit(RLIMIT_NOFILE);
    int failed = 0, k;
    for (k = 0; k < 200; k++) {
        tr_system *sys = (tr_system *)&cfg; /* not NULL: a failure must clear it */
        set_limit(RLIMIT_NOFILE, limit_with_free(k));
        int rc = tr_system_create(&cfg, &sys);
        set_limit(RLIMIT_NOFILE, saved);
        if (rc == 0) {
            CHECK(sys != NULL);
            use_system(sys);
            CHECK_EQ(count_fds(), g_base_fds);
            break;
        }
        CHECK_EQ(rc, TR_ESYS);
        CHECK(sys == NULL);
        CHECK_EQ(count_fds(), g_base_fds); /* nothing left open */
        failed++;
    }
    CHECK(k < 200);
    /* every worker needs descriptors, so the failures cover a loop failing
       after others were made (not only the first) */
    CHECK(failed >= WORKERS);
    printf("  %d descriptors needed for %d workers\n", k, WORKERS);
}

/* Thread stacks of 64 GiB: more than this machine's memory (checked), so no
 * thread can be made and the start fails at the ticker. */
static void no_threads(void) {
    tr_system_config cfg = config();
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    rlim_t huge = (rlim_t)64 << 30;
    if (pages <= 0 || (rlim_t)pages * (rlim_t)page >= huge / 2) {
        printf("  skipped: more than 32 GiB of memory\n");
        return;
    }
    rlim_t saved = get_limit(RLIMIT_STACK);
    for (int i = 0; i < 3; i++) {
        tr_system *sys = (tr_system *)&cfg;
        set_limit(RLIMIT_STACK, huge);
        int rc = tr_system_create(&cfg, &sys);
        set_limit(RLIMIT_STACK, saved);
        if (rc == 0) { /* the kernel allowed the stacks after all */
            printf("  skipped: 64 GiB thread stacks were allowed\n");
            use_system(sys);
            return;
        }
        CHECK_EQ(rc, TR_ESYS);
        CHECK(sys == NULL);
        CHECK_EQ(count_fds(), g_base_fds);
    }
}

#if !SANITIZED
static long vm_size_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmSize:", 7) == 0)
            kb = strtol(line + 7, NULL, 10);
    fclose(f);
    CHECK(kb > 0);
    return kb;
}
#endif

/* Thread stacks of 16 MiB and an address space limit that grows by 4 MiB a
 * try: the start fails at the ticker, then at each worker thread in turn,
 * until all fit. (Sanitizers reserve terabytes of address space: not there.) */
static void some_threads(void) {
#if SANITIZED
    printf("  skipped under a sanitizer\n");
#else
    tr_system_config cfg = config();
    rlim_t saved_stack = get_limit(RLIMIT_STACK), saved_as = get_limit(RLIMIT_AS);
    int failed = 0, i;
    for (i = 0; i < 64; i++) {
        rlim_t base = (rlim_t)vm_size_kb() * 1024;
        tr_system *sys = (tr_system *)&cfg;
        set_limit(RLIMIT_STACK, (rlim_t)16 << 20);
        set_limit(RLIMIT_AS, base + ((rlim_t)i << 22));
        int rc = tr_system_create(&cfg, &sys);
        set_limit(RLIMIT_AS, saved_as);
        set_limit(RLIMIT_STACK, saved_stack);
        if (rc == 0) {
            use_system(sys);
            break;
        }
        CHECK(rc == TR_ESYS || rc == TR_ENOMEM);
        CHECK(sys == NULL);
        CHECK_EQ(count_fds(), g_base_fds);
        failed++;
    }
    CHECK(i < 64);
    CHECK(failed >= WORKERS); /* 16 MiB a thread, 4 MiB a step */
    CHECK_EQ(count_fds(), g_base_fds);
    printf("  %d tries failed before one had room for every thread\n", failed);
#endif
}

static void normal_system_after(void) {
    tr_system_config cfg = config();
    for (int i = 0; i < 3; i++) {
        tr_system *sys = NULL;
        CHECK_EQ(tr_system_create(&cfg, &sys), 0);
        use_system(sys);
    }
    CHECK_EQ(count_fds(), g_base_fds);
}

int main(void) {
    RUN(baseline);
    RUN(few_descriptors);
    RUN(no_threads);
    RUN(some_threads);
    RUN(normal_system_after);
    return check_summary();
}
