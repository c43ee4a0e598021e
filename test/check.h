/* check.h — the small kit shared by troupe's public-API tests.
 *
 * CHECK and CHECK_EQ stop the test at the first failure, printing file:line
 * and the expression (CHECK_EQ also prints both values, and the TR_E* name of
 * a value that is one). They may be used on any thread, actor callbacks
 * included: the process exits with status 1. RUN runs one test case and counts
 * it (RUN_CASE: unless check_only names another), and check_summary prints
 * the "N passed, 0 failed" line at the end, so a test that reaches it has
 * passed every case. SANITIZED tells a sanitizer build.
 *
 * The helpers below the macros are what several tests share: a system of a
 * given shape, the end of a system with its final counters, spawns and
 * messages that must succeed, an actor that only idles, a pid that is
 * certainly dead, a payload pattern, and a deterministic random sequence. */
#ifndef TROUPE_TEST_CHECK_H
#define TROUPE_TEST_CHECK_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <troupe.h>
#include <uv.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_)                                                                  \
            check_fail_eq(__FILE__, __LINE__, #a, #b, check_a_, check_b_);                         \
    } while (0)

/* A TR_E* value gets its name printed beside it. */
static inline const char *check_code_name(long long v) {
    return v < 0 && v >= INT_MIN ? tr_strerror((int)v) : "";
}

_Noreturn static inline void check_fail_eq(const char *file, int line, const char *a, const char *b,
                                           long long va, long long vb) {
    fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld %s vs %lld %s\n", file, line, a, b, va,
            check_code_name(va), vb, check_code_name(vb));
    exit(1);
}

static int check_cases;

#define RUN(test_case)                                                                             \
    do {                                                                                           \
        test_case();                                                                               \
        check_cases++;                                                                             \
        printf("ok %s\n", #test_case);                                                             \
        fflush(stdout);                                                                            \
    } while (0)

/* The one case to run, for a test whose main sets it from its arguments
 * (`test_x NAME` runs only the case NAME; check_summary fails if none has
 * that name); NULL: every case. */
static const char *check_only;

/* RUN, unless check_only names another case. */
#define RUN_CASE(test_case)                                                                        \
    do {                                                                                           \
        if (!check_only || strcmp(check_only, #test_case) == 0)                                    \
            RUN(test_case);                                                                        \
    } while (0)

/* 1 in a build under AddressSanitizer or ThreadSanitizer (GCC's macros, or
 * clang's __has_feature), else 0: tests scale their work down there, or skip
 * what a sanitizer cannot run. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static inline int check_summary(void) {
    if (check_only && !check_cases) {
        fprintf(stderr, "no case named %s\n", check_only);
        return 1;
    }
    printf("%d passed, 0 failed\n", check_cases);
    return 0;
}

/* Milliseconds on the monotonic clock. */
static inline uint64_t check_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* xorshift64: the next of a pseudo-random sequence that is the same on every
 * run; *state is the seed at first (never 0). */
static inline uint64_t check_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Waits (polling every millisecond) until cond holds; fails the test if it
 * does not within ms milliseconds: a watchdog, never a timing assertion. */
#define CHECK_WAIT_UNTIL(cond, ms)                                                                 \
    do {                                                                                           \
        uint64_t check_end_ = check_now_ms() + (ms);                                               \
        while (!(cond) && check_now_ms() < check_end_)                                             \
            uv_sleep(1);                                                                           \
        CHECK(cond);                                                                               \
    } while (0)

/* A running system with the given number of workers and batch size. */
static inline tr_system *check_system(unsigned workers, unsigned batch) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    cfg.workers = workers;
    cfg.batch = batch;
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    CHECK(sys != NULL);
    return sys;
}

/* A running system of `workers` workers that does not stop when its actors
 * have all exited (keep_running): for tests that start actors as they go. */
static inline tr_system *check_system_kept(unsigned workers) {
    tr_system_config cfg;
    tr_system_config_init(&cfg);
    cfg.workers = workers;
    cfg.keep_running = 1;
    tr_system *sys = NULL;
    CHECK_EQ(tr_system_create(&cfg, &sys), 0);
    return sys;
}

/* Waits for sys to stop (by itself, or after tr_system_stop), reads its final
 * counters, shuts it down and returns the counters. Every spawned actor has
 * exited by then. */
static inline tr_system_stats check_finish(tr_system *sys) {
    tr_system_stats st;
    CHECK_EQ(tr_system_wait(sys, -1), 0);
    CHECK_EQ(tr_system_stats_get(sys, &st), 0);
    CHECK_EQ(tr_system_shutdown(sys), 0);
    CHECK_EQ(st.spawned, st.exited);
    return st;
}

/* tr_spawn that must succeed. */
static inline tr_pid check_spawn(tr_system *sys, const tr_actor_spec *spec, const void *arg) {
    tr_pid pid = tr_spawn(sys, spec, arg);
    CHECK(pid > 0);
    return pid;
}

/* tr_msg_new that must succeed. */
static inline tr_msg *check_msg(tr_system *sys, uint32_t type, size_t size) {
    tr_msg *m = tr_msg_new(sys, type, size);
    CHECK(m != NULL);
    return m;
}

/* Actors that a test only needs alive: they exit on CHECK_MSG_EXIT and ignore
 * everything else. */
enum { CHECK_MSG_EXIT = 0xC0DE };

static inline int check_idle_receive(tr_ctx *cx, void *state, tr_msg *m) {
    (void)state;
    return tr_msg_type(m) == CHECK_MSG_EXIT ? tr_exit(cx, 0) : 0;
}

static inline const tr_actor_spec *check_idle_spec(void) {
    static const tr_actor_spec spec = {.name = "idle", .receive = check_idle_receive};
    return &spec;
}

static inline tr_pid check_spawn_idle(tr_system *sys) {
    return check_spawn(sys, check_idle_spec(), NULL);
}

/* The pid of an actor whose init failed: it never lived, so it is dead for
 * certain once tr_spawn has returned (arg points to where to store it). */
enum { CHECK_STILLBORN = -1000 };

static inline int check_stillborn_init(tr_ctx *cx, void *state, const void *arg) {
    (void)state;
    **(tr_pid *const *)arg = tr_self(cx);
    return CHECK_STILLBORN;
}

/* Call it while sys has a live actor, so that the failed spawn cannot be the
 * last exit that stops the system. Any thread. */
static inline tr_pid check_dead_pid(tr_system *sys) {
    static const tr_actor_spec spec = {
        .name = "stillborn", .init = check_stillborn_init, .receive = check_idle_receive};
    tr_pid pid = 0, *out = &pid;
    CHECK_EQ(tr_spawn(sys, &spec, &out), CHECK_STILLBORN);
    CHECK(pid > 0);
    return pid;
}

/* A byte pattern that differs with position and seed, to see a payload arrive
 * intact. */
static inline unsigned char check_pattern_byte(size_t i, unsigned seed) {
    return (unsigned char)((i * 131u) ^ (i >> 8) ^ seed);
}

static inline void check_pattern_fill(void *data, size_t size, unsigned seed) {
    unsigned char *b = data;
    for (size_t i = 0; i < size; i++)
        b[i] = check_pattern_byte(i, seed);
}

static inline int check_pattern_ok(const void *data, size_t size, unsigned seed) {
    const unsigned char *b = data;
    for (size_t i = 0; i < size; i++)
        if (b[i] != check_pattern_byte(i, seed))
            return 0;
    return 1;
}

#endif /* TROUPE_TEST_CHECK_H */
