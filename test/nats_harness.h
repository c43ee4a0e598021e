/* nats_harness.h — what the distribution tests need around them: a NATS
 * server of their own, child processes, and a raw NATS client.
 *
 *   servers   nh_start runs nats-server (NATS_SERVER in the environment, or
 *             the first nats-server found in PATH, /usr/bin, /usr/sbin or
 *             /usr/local/bin) with JetStream in a fresh temporary directory,
 *             on a free loopback port (bind port 0, read it back; a port
 *             taken in between is retried on another), optionally with a
 *             token, a user and password, or TLS (a CA, a server certificate
 *             for 127.0.0.1 and localhost, and a client certificate, made at
 *             test time with the openssl CLI when it is installed, else the
 *             fixed test certificates below; NH_FIXED_CERTS=1 picks those
 *             anyway), and waits until it accepts TCP
 *             connections (5 s, then it fails loudly with the server's log).
 *             nh_stop ends it (SIGTERM, then SIGKILL) and removes its
 *             directory. A server or child still running when the test exits
 *             (a failed CHECK included) is killed by an atexit handler, and
 *             by the kernel (PR_SET_PDEATHSIG) if the test itself is killed.
 *             NH_REQUIRE_SERVER() in main prints "SKIP: nats-server not
 *             installed" and ends the test with 0 where there is none.
 *   children  nh_child_start re-executes the test binary (/proc/self/exe)
 *             with a role's arguments; its stdin and stdout are pipes: the
 *             test writes command lines to it and reads its answer lines
 *             (nh_child_expect: the next line with a prefix, within a
 *             deadline). nh_child_kill and nh_child_wait end it.
 *   raw       nh_conn speaks the NATS text protocol over a plain socket
 *             (INFO, CONNECT, PUB, PING/PONG), to publish whatever bytes a
 *             test likes without libnats.
 *
 * Everything here is for the test's main thread (fork, the registry of
 * processes to clean up); every wait has a deadline. Functions return 0 or
 * a negative value after printing why, so tests CHECK them. */
#ifndef TROUPE_TEST_NATS_HARNESS_H
#define TROUPE_TEST_NATS_HARNESS_H

#include "check.h" /* check_now_ms */
#include "net.h"   /* loopback sockets */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NH_PATH 512
#define NH_START_MS 5000 /* a server must accept connections within this */

static inline void nh_sleep_ms(unsigned ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- finding programs ---- */

/* The first executable `name` in PATH or in the usual bin directories, into
 * out; 0, or -1 if there is none. */
static inline int nh_find_program(const char *name, char *out, size_t size) {
    char dirs[4096];
    const char *path = getenv("PATH");
    snprintf(dirs, sizeof dirs, "%s:/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin:/bin:/sbin",
             path ? path : "");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (!*d)
            continue;
        snprintf(out, size, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* nats-server's path (NATS_SERVER overrides), or NULL if it is not installed. */
static inline const char *nh_server_path(void) {
    static char path[NH_PATH];
    const char *env = getenv("NATS_SERVER");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    return nh_find_program("nats-server", path, sizeof path) == 0 ? path : NULL;
}

#define NH_REQUIRE_SERVER()                                                                        \
    do {                                                                                           \
        if (!nh_server_path()) {                                                                   \
            printf("SKIP: nats-server not installed\n");                                           \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

/* ---- processes: spawn, wait, clean up at exit ---- */

enum { NH_MAX_PROCS = 32 };
static pid_t nh_procs[NH_MAX_PROCS];
static char nh_dirs[NH_MAX_PROCS][NH_PATH];

static inline int nh_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static inline void nh_rmtree(const char *dir) {
    if (dir && *dir)
        nftw(dir, nh_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void nh_cleanup_all(void) {
    for (int i = 0; i < NH_MAX_PROCS; i++)
        if (nh_procs[i] > 0) {
            kill(nh_procs[i], SIGKILL);
            waitpid(nh_procs[i], NULL, 0);
            nh_procs[i] = 0;
        }
    for (int i = 0; i < NH_MAX_PROCS; i++)
        if (nh_dirs[i][0]) {
            nh_rmtree(nh_dirs[i]);
            nh_dirs[i][0] = 0;
        }
}

static inline void nh_track(pid_t pid, const char *dir) {
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(nh_cleanup_all);
        signal(SIGPIPE, SIG_IGN); /* a write to a child that died is an error, not a signal */
    }
    if (pid > 0) {
        for (int i = 0; i < NH_MAX_PROCS; i++)
            if (nh_procs[i] == 0) {
                nh_procs[i] = pid;
                break;
            }
    }
    if (dir) {
        for (int i = 0; i < NH_MAX_PROCS; i++)
            if (!nh_dirs[i][0]) {
                snprintf(nh_dirs[i], NH_PATH, "%s", dir);
                break;
            }
    }
}

static inline void nh_untrack(pid_t pid, const char *dir) {
    for (int i = 0; i < NH_MAX_PROCS; i++) {
        if (pid > 0 && nh_procs[i] == pid)
            nh_procs[i] = 0;
        if (dir && nh_dirs[i][0] && strcmp(nh_dirs[i], dir) == 0)
            nh_dirs[i][0] = 0;
    }
}

/* fork + execv(prog, argv) with stdin, stdout and stderr from the given fds
 * (-1: /dev/null for stdin, inherited for the others). The child dies with
 * the thread that forked it (PR_SET_PDEATHSIG). Returns the pid or -1. Only
 * async-signal-safe calls between fork and exec: the parent has threads. */
static inline pid_t nh_spawn(const char *prog, char *const argv[], int in_fd, int out_fd,
                             int err_fd) {
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "nats_harness: fork: %s\n", strerror(errno));
        if (devnull >= 0)
            close(devnull);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(in_fd >= 0 ? in_fd : devnull, 0) < 0)
            _exit(127);
        if (out_fd >= 0 && dup2(out_fd, 1) < 0)
            _exit(127);
        if (err_fd >= 0 && dup2(err_fd, 2) < 0)
            _exit(127);
        execv(prog, argv);
        _exit(127);
    }
    if (devnull >= 0)
        close(devnull);
    return pid;
}

/* Waits up to timeout_ms for pid to end; returns its wait status, or -1 if
 * it is still running (it is left running). */
static inline int nh_wait_pid(pid_t pid, int timeout_ms) {
    uint64_t end = check_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (check_now_ms() >= end)
            return -1;
        nh_sleep_ms(5);
    }
}

/* ---- loopback sockets ---- */

/* net_connect, with Nagle off (the raw client's short commands go at once),
 * or -1. */
static inline int nh_tcp_connect(int port, int timeout_ms) {
    int fd = net_connect(port, timeout_ms);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline int nh_write_all(int fd, const void *data, size_t n) {
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- files ---- */

static inline int nh_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "nats_harness: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -1;
}

/* Prints the last `max` bytes of a file to stderr (a server's log). */
static inline void nh_print_tail(const char *path, long max) {
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > max ? size - max : 0, SEEK_SET);
    char buf[1024];
    size_t n;
    fprintf(stderr, "---- %s ----\n", path);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of %s ----\n", path);
    fclose(f);
}

static inline int nh_file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* ---- TLS material ---- */

/* Fixed test certificates (EC P-256, valid 2000-2999, made once with
 * Python's cryptography): used only where the openssl CLI is missing, so
 * that the TLS cases run anyway. Test keys, worthless outside these tests. */
static const char nh_fixed_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBeDCCAR6gAwIBAgIUNiUfjJZ8noC9SX/wUZXxxijGyTowCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwOdHJvdXBlLXRlc3QtY2EwIBcNMDAwMTAxMDAwMDAwWhgPMjk5\n"
    "OTEyMzEwMDAwMDBaMBkxFzAVBgNVBAMMDnRyb3VwZS10ZXN0LWNhMFkwEwYHKoZI\n"
    "zj0CAQYIKoZIzj0DAQcDQgAExghU4lR+8joYb6VkMs56Oc1CSoso+Pl6rs5p4vqN\n"
    "D9mtBdS+ti2dpeQ+qbrlYW7F2gFfvA4/zmUFrsq/lMWw8qNCMEAwDwYDVR0TAQH/\n"
    "BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFGfUlc7VCLeM2iTB3Bqh\n"
    "Ee1NIjwiMAoGCCqGSM49BAMCA0gAMEUCIQCkAEX6jaoDvynSjpF9sx9uzutI7E4B\n"
    "iB7A7XV//DaA8QIgL+iI16lsV4eJPfzVSnzlIw7P9k+hNJqYNiVAWb/cAGk=\n"
    "-----END CERTIFICATE-----\n";
static const char nh_fixed_server_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBkzCCATmgAwIBAgIUJOb+45qN5p3bA6sx9FCv4XXkY4cwCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwOdHJvdXBlLXRlc3QtY2EwIBcNMDAwMTAxMDAwMDAwWhgPMjk5\n"
    "OTEyMzEwMDAwMDBaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEG\n"
    "CCqGSM49AwEHA0IABPWw8OKQsE6LOwKkGcavRBD8oXC6uR/0FbXYfMfMufmiXMxH\n"
    "geRNSR4yxTzihJ/1Ew8bCVaflLJo4zfgdIGOvVCjYjBgMAwGA1UdEwEB/wQCMAAw\n"
    "EwYDVR0lBAwwCgYIKwYBBQUHAwEwHwYDVR0jBBgwFoAUZ9SVztUIt4zaJMHcGqER\n"
    "7U0iPCIwGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxob3N0MAoGCCqGSM49BAMCA0gA\n"
    "MEUCIQDkQkhTEVnoJU/x6loMzRKRxK6MGMFUd4zl38mBI50RKQIgRBar3jgslh8+\n"
    "tPDTrCBkr70XEhXqHZdc8DA71D6Rcr0=\n"
    "-----END CERTIFICATE-----\n";
static const char nh_fixed_server_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUADi3fuE3dAx+4Lw\n"
    "kX7WXT46JeV88fbTJUgUUTNFlxWhRANCAAT1sPDikLBOizsCpBnGr0QQ/KFwurkf\n"
    "9BW12HzHzLn5olzMR4HkTUkeMsU84oSf9RMPGwlWn5SyaOM34HSBjr1Q\n"
    "-----END PRIVATE KEY-----\n";
static const char nh_fixed_client_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgDCCASagAwIBAgIUfjPnAugAgcE4XDd5pwZCbGwxGh8wCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwOdHJvdXBlLXRlc3QtY2EwIBcNMDAwMTAxMDAwMDAwWhgPMjk5\n"
    "OTEyMzEwMDAwMDBaMB0xGzAZBgNVBAMMEnRyb3VwZS10ZXN0LWNsaWVudDBZMBMG\n"
    "ByqGSM49AgEGCCqGSM49AwEHA0IABKMoTll5PD8RONkoTHWL1huukGJL+w3Ddm3Y\n"
    "6iQJZT3OnpZEs36+8r9C2z8WlV2Oshi9o5TheDJX71853B07I2ujRjBEMAwGA1Ud\n"
    "EwEB/wQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHwYDVR0jBBgwFoAUZ9SVztUI\n"
    "t4zaJMHcGqER7U0iPCIwCgYIKoZIzj0EAwIDSAAwRQIhAISqZ+9QtqNveG2+wZoV\n"
    "l0t4LdEoYySN1+adovgRcossAiBLyUacq22kc+1X09yYbrPKnQkTaxQ0Jk2wWqJF\n"
    "j+YkHA==\n"
    "-----END CERTIFICATE-----\n";
static const char nh_fixed_client_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgP0IblSgUwyAfs5/3\n"
    "fqgJ0ULPQfexzrL5nb/4Vjxb9dKhRANCAASjKE5ZeTw/ETjZKEx1i9YbrpBiS/sN\n"
    "w3Zt2OokCWU9zp6WRLN+vvK/Qts/FpVdjrIYvaOU4XgyV+9fOdwdOyNr\n"
    "-----END PRIVATE KEY-----\n";

/* Runs a command line through /bin/sh with its output to log; 0 if it
 * exited with 0. */
static inline int nh_sh(const char *cmd, const char *log) {
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL};
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid = nh_spawn("/bin/sh", argv, -1, fd, fd);
    if (fd >= 0)
        close(fd);
    if (pid < 0)
        return -1;
    int status = nh_wait_pid(pid, 30000);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Makes ca.pem, server.pem, server.key, client.pem and client.key in dir:
 * with openssl (returns 1) where it is installed, else the fixed ones
 * (returns 0); -1 on failure. */
static inline int nh_make_certs(const char *dir) {
    char openssl[NH_PATH], cmd[8192], path[NH_PATH + 32], log[NH_PATH + 32];
    snprintf(log, sizeof log, "%s/openssl.log", dir);
    const char *fixed_only = getenv("NH_FIXED_CERTS"); /* to try the fallback */
    if (!(fixed_only && *fixed_only) && nh_find_program("openssl", openssl, sizeof openssl) == 0) {
        snprintf(path, sizeof path, "%s/openssl.cnf", dir);
        if (nh_write_file(path, "[req]\n"
                                "distinguished_name = dn\n"
                                "prompt = no\n"
                                "[dn]\n"
                                "CN = troupe-test\n"
                                "[ca]\n"
                                "basicConstraints = critical,CA:TRUE\n"
                                "keyUsage = critical,keyCertSign,cRLSign\n"
                                "subjectKeyIdentifier = hash\n"
                                "[server]\n"
                                "basicConstraints = critical,CA:FALSE\n"
                                "extendedKeyUsage = serverAuth\n"
                                "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
                                "[client]\n"
                                "basicConstraints = critical,CA:FALSE\n"
                                "extendedKeyUsage = clientAuth\n") != 0)
            return -1;
        /* -days 2 from now: made on this machine's clock, for this run. */
        snprintf(cmd, sizeof cmd,
                 "set -e; cd '%s'; O='%s'; export OPENSSL_CONF=openssl.cnf;"
                 " K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
                 " $O req -x509 $K -config openssl.cnf -extensions ca -subj /CN=troupe-test-ca"
                 "   -keyout ca.key -out ca.pem -days 2;"
                 " $O req $K -config openssl.cnf -subj /CN=localhost -keyout server.key"
                 "   -out server.csr;"
                 " $O x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                 "   -extfile openssl.cnf -extensions server -days 2 -out server.pem;"
                 " $O req $K -config openssl.cnf -subj /CN=troupe-test-client -keyout client.key"
                 "   -out client.csr;"
                 " $O x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                 "   -extfile openssl.cnf -extensions client -days 2 -out client.pem;"
                 " $O verify -CAfile ca.pem server.pem client.pem",
                 dir, openssl);
        if (nh_sh(cmd, log) != 0) {
            fprintf(stderr, "nats_harness: making test certificates with %s failed\n", openssl);
            nh_print_tail(log, 4000);
            return -1;
        }
        return 1;
    }
    static const struct {
        const char *name, *text;
    } fixed[] = {{"ca.pem", nh_fixed_ca_pem},
                 {"server.pem", nh_fixed_server_pem},
                 {"server.key", nh_fixed_server_key},
                 {"client.pem", nh_fixed_client_pem},
                 {"client.key", nh_fixed_client_key}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, fixed[i].name);
        if (nh_write_file(path, fixed[i].text) != 0)
            return -1;
    }
    return 0;
}

/* ---- the server ---- */

typedef struct nh_opts {
    const char *token;           /* --auth TOKEN */
    const char *user, *password; /* --user U --pass P */
    int tls;                     /* TLS required of clients */
    int tls_verify;              /* ...and a client certificate signed by the CA */
    int no_jetstream;            /* without -js */
} nh_opts;

typedef struct nh_server {
    pid_t pid;
    int port;
    char dir[NH_PATH]; /* temporary: store, log, certificates */
    char log[NH_PATH + 16];
    char url[64];            /* nats://127.0.0.1:PORT */
    char ca[NH_PATH + 16];   /* with opts.tls: the CA ... */
    char cert[NH_PATH + 16]; /* ...and a client certificate and key */
    char key[NH_PATH + 16];
    int certs_by_openssl; /* 1: made now by openssl; 0: the fixed ones */
} nh_server;

/* Waits until 127.0.0.1:port accepts a connection: 0; -2 if pid exited
 * meanwhile (its status in *status); -1 after timeout_ms. */
static inline int nh_wait_accepting(int port, pid_t pid, int timeout_ms, int *status) {
    uint64_t end = check_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (waitpid(pid, status, WNOHANG) == pid)
            return -2;
        int fd = nh_tcp_connect(port, 1000);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (check_now_ms() >= end)
            return -1;
        nh_sleep_ms(10);
    }
}

/* Starts a server as o says (o may be NULL: plain, with JetStream). 0, or
 * -1 after printing why (and the server's log). */
static inline int nh_start(nh_server *s, const nh_opts *o) {
    static const nh_opts plain;
    if (!o)
        o = &plain;
    memset(s, 0, sizeof *s);
    const char *prog = nh_server_path();
    if (!prog) {
        fprintf(stderr, "nats_harness: nats-server not installed\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/troupe-nats-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "nats_harness: mkdtemp %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    nh_track(0, s->dir);
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
    char store[NH_PATH + 16], server_cert[NH_PATH + 16], server_key[NH_PATH + 16];
    snprintf(store, sizeof store, "%s/js", s->dir);
    if (o->tls || o->tls_verify) {
        int made = nh_make_certs(s->dir);
        if (made < 0)
            return -1;
        s->certs_by_openssl = made;
        snprintf(s->ca, sizeof s->ca, "%s/ca.pem", s->dir);
        snprintf(s->cert, sizeof s->cert, "%s/client.pem", s->dir);
        snprintf(s->key, sizeof s->key, "%s/client.key", s->dir);
        snprintf(server_cert, sizeof server_cert, "%s/server.pem", s->dir);
        snprintf(server_key, sizeof server_key, "%s/server.key", s->dir);
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        s->port = net_free_port();
        if (s->port <= 0) {
            fprintf(stderr, "nats_harness: no free loopback port\n");
            return -1;
        }
        char port[16];
        snprintf(port, sizeof port, "%d", s->port);
        char *argv[32];
        int n = 0;
        argv[n++] = (char *)prog;
        argv[n++] = (char *)"-a";
        argv[n++] = (char *)"127.0.0.1";
        argv[n++] = (char *)"-p";
        argv[n++] = port;
        argv[n++] = (char *)"-n";
        argv[n++] = (char *)"troupe-test";
        if (!o->no_jetstream) {
            argv[n++] = (char *)"-js";
            argv[n++] = (char *)"-sd";
            argv[n++] = store;
        }
        if (o->token) {
            argv[n++] = (char *)"--auth";
            argv[n++] = (char *)o->token;
        }
        if (o->user) {
            argv[n++] = (char *)"--user";
            argv[n++] = (char *)o->user;
            argv[n++] = (char *)"--pass";
            argv[n++] = (char *)(o->password ? o->password : "");
        }
        if (o->tls || o->tls_verify) {
            argv[n++] = (char *)"--tls";
            argv[n++] = (char *)"--tlscert";
            argv[n++] = server_cert;
            argv[n++] = (char *)"--tlskey";
            argv[n++] = server_key;
            if (o->tls_verify) {
                argv[n++] = (char *)"--tlsverify";
                argv[n++] = (char *)"--tlscacert";
                argv[n++] = s->ca;
            }
        }
        argv[n] = NULL;
        int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log < 0) {
            fprintf(stderr, "nats_harness: %s: %s\n", s->log, strerror(errno));
            return -1;
        }
        s->pid = nh_spawn(prog, argv, -1, log, log);
        close(log);
        if (s->pid < 0)
            return -1;
        nh_track(s->pid, NULL);
        int status = 0;
        int r = nh_wait_accepting(s->port, s->pid, NH_START_MS, &status);
        if (r == 0) {
            snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
            return 0;
        }
        if (r == -2) {
            nh_untrack(s->pid, NULL);
            s->pid = 0;
            if (nh_file_contains(s->log, "address already in use"))
                continue; /* someone took the port in between: another one */
            fprintf(stderr, "nats_harness: nats-server exited at start (status %d)\n", status);
        } else {
            fprintf(stderr,
                    "nats_harness: nats-server accepts no connection on port %d after %d ms\n",
                    s->port, NH_START_MS);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            nh_untrack(s->pid, NULL);
            s->pid = 0;
        }
        nh_print_tail(s->log, 4000);
        return -1;
    }
    fprintf(stderr, "nats_harness: every port tried was taken\n");
    return -1;
}

/* Stops the server (SIGTERM; SIGKILL after 5 s) and removes its directory.
 * Harmless on a server that was not started. */
static inline void nh_stop(nh_server *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        if (nh_wait_pid(s->pid, 5000) == -1) {
            fprintf(stderr, "nats_harness: nats-server ignored SIGTERM; killing it\n");
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
        nh_untrack(s->pid, NULL);
        s->pid = 0;
    }
    if (s->dir[0]) {
        nh_rmtree(s->dir);
        nh_untrack(0, s->dir);
        s->dir[0] = 0;
    }
}

/* ---- children: the test binary again, in a role ---- */

typedef struct nh_child {
    pid_t pid;
    int in_fd;  /* the child's stdin: command lines */
    int out_fd; /* the child's stdout: answer lines */
    char buf[8192];
    size_t len;
    int status; /* once reaped */
} nh_child;

/* Runs /proc/self/exe with args (NULL-terminated; args[0] is argv[1] of the
 * child, its role). The child's stderr is the test's. 0 or -1. */
static inline int nh_child_start(nh_child *c, const char *const *args) {
    memset(c, 0, sizeof *c);
    char self[NH_PATH];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "nats_harness: readlink /proc/self/exe: %s\n", strerror(errno));
        return -1;
    }
    self[n] = 0;
    char *argv[64];
    int k = 0;
    argv[k++] = self;
    for (; args[k - 1] && k < 63; k++)
        argv[k] = (char *)args[k - 1];
    argv[k] = NULL;
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]), close(in[1]);
        return -1;
    }
    fflush(NULL);
    nh_track(0, NULL);
    c->pid = nh_spawn(self, argv, in[0], out[1], -1);
    close(in[0]);
    close(out[1]);
    if (c->pid < 0) {
        close(in[1]), close(out[0]);
        return -1;
    }
    nh_track(c->pid, NULL);
    c->in_fd = in[1];
    c->out_fd = out[0];
    return 0;
}

/* Writes one command line to the child (a newline is added). 0 or -1. */
static inline int nh_child_send(nh_child *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 1)
        return -1;
    line[n++] = '\n';
    return c->in_fd >= 0 ? nh_write_all(c->in_fd, line, (size_t)n) : -1;
}

/* Takes the first whole line (without its newline) out of buf (*len bytes
 * held) into line, cut to size - 1: 1; 0 when buf holds no newline. */
static inline int nh_take_line(char *buf, size_t *len, char *line, size_t size) {
    char *nl = memchr(buf, '\n', *len);
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - buf);
    size_t copy = n < size - 1 ? n : size - 1;
    memcpy(line, buf, copy);
    line[copy] = 0;
    *len -= n + 1;
    memmove(buf, nl + 1, *len);
    return 1;
}

/* The next line from the child (without its newline) into line: 0; -1
 * after timeout_ms; -2 at EOF (the child closed its stdout or died). */
static inline int nh_child_line(nh_child *c, char *line, size_t size, int timeout_ms) {
    uint64_t end = check_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (nh_take_line(c->buf, &c->len, line, size))
            return 0;
        if (c->len == sizeof c->buf) { /* a line too long: hand out what there is */
            size_t copy = size - 1 < c->len ? size - 1 : c->len;
            memcpy(line, c->buf, copy);
            line[copy] = 0;
            c->len = 0;
            return 0;
        }
        uint64_t now = check_now_ms();
        if (now >= end)
            return -1;
        struct pollfd p = {c->out_fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(end - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t got = read(c->out_fd, c->buf + c->len, sizeof c->buf - c->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -2;
        c->len += (size_t)got;
    }
}

/* Reads lines until one starts with prefix (copied whole into line, if not
 * NULL); other lines are echoed to stderr. 0, or -1 after printing why
 * (timeout or EOF). */
static inline int nh_child_expect(nh_child *c, const char *prefix, char *line, size_t size,
                                  int timeout_ms) {
    char buf[4096];
    uint64_t end = check_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = check_now_ms();
        int r = nh_child_line(c, buf, sizeof buf, now >= end ? 0 : (int)(end - now));
        if (r == 0 && strncmp(buf, prefix, strlen(prefix)) == 0) {
            if (line && size) {
                size_t n = strlen(buf) < size - 1 ? strlen(buf) : size - 1;
                memcpy(line, buf, n);
                line[n] = 0;
            }
            return 0;
        }
        if (r == 0) {
            fprintf(stderr, "[child %d] %s\n", (int)c->pid, buf);
            continue;
        }
        fprintf(stderr, "nats_harness: child %d: %s while waiting for a line \"%s...\"\n",
                (int)c->pid, r == -1 ? "timed out" : "EOF", prefix);
        return -1;
    }
}

static inline void nh_child_kill(nh_child *c, int sig) {
    if (c->pid > 0)
        kill(c->pid, sig);
}

static inline void nh_child_close_fds(nh_child *c) {
    if (c->in_fd > 0)
        close(c->in_fd);
    if (c->out_fd > 0)
        close(c->out_fd);
    c->in_fd = c->out_fd = -1;
}

/* Waits up to timeout_ms for the child to end and reaps it: its wait status
 * (also in c->status); -1 if it did not end (it is then killed with
 * SIGKILL and reaped, so nothing is left behind). */
static inline int nh_child_wait(nh_child *c, int timeout_ms) {
    if (c->pid <= 0)
        return c->status;
    int status = nh_wait_pid(c->pid, timeout_ms);
    int result = status;
    if (status == -1) {
        fprintf(stderr, "nats_harness: child %d did not end within %d ms; killing it\n",
                (int)c->pid, timeout_ms);
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
    }
    nh_untrack(c->pid, NULL);
    c->pid = 0;
    c->status = status;
    nh_child_close_fds(c);
    return result;
}

/* Whether a wait status is a normal exit with code 0. */
static inline int nh_exited_ok(int status) {
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- a raw NATS client ---- */

typedef struct nh_conn {
    int fd;
    char buf[4096];
    size_t len;
    char err[512]; /* the last -ERR line */
} nh_conn;

/* The next protocol line (without \r\n) into line; answers the server's
 * PINGs. 0, or -1 (timeout, EOF). */
static inline int nh_conn_line(nh_conn *c, char *line, size_t size) {
    for (;;) {
        if (nh_take_line(c->buf, &c->len, line, size)) {
            size_t copy = strlen(line);
            if (copy > 0 && line[copy - 1] == '\r')
                line[copy - 1] = 0;
            if (strcmp(line, "PING") == 0) {
                if (nh_write_all(c->fd, "PONG\r\n", 6) != 0)
                    return -1;
                continue;
            }
            return 0;
        }
        if (c->len == sizeof c->buf)
            c->len = 0; /* a huge INFO: its start is of no use here */
        ssize_t got = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        c->len += (size_t)got;
    }
}

/* Sends PING and waits for the PONG: everything before it was taken.
 * 0; -2 if the server answered -ERR (in c->err); -1 otherwise. */
static inline int nh_conn_sync(nh_conn *c) {
    if (nh_write_all(c->fd, "PING\r\n", 6) != 0)
        return -1;
    char line[512];
    for (;;) {
        if (nh_conn_line(c, line, sizeof line) != 0)
            return -1;
        if (strcmp(line, "PONG") == 0)
            return 0;
        if (strncmp(line, "-ERR", 4) == 0) {
            snprintf(c->err, sizeof c->err, "%s", line);
            return -2;
        }
        /* +OK, INFO updates: go on */
    }
}

/* Connects to 127.0.0.1:port as a plain (non-TLS) client with a token or a
 * user and password (NULL: none). 0; -2 if the server refused (c->err);
 * -1 otherwise. */
static inline int nh_conn_open(nh_conn *c, int port, const char *token, const char *user,
                               const char *password) {
    memset(c, 0, sizeof *c);
    c->fd = nh_tcp_connect(port, 5000);
    if (c->fd < 0)
        return -1;
    char line[4096], connect[1024];
    if (nh_conn_line(c, line, sizeof line) != 0 || strncmp(line, "INFO ", 5) != 0)
        goto fail;
    int n =
        snprintf(connect, sizeof connect,
                 "CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"c\","
                 "\"version\":\"0\",\"protocol\":1%s%s%s%s%s%s%s%s%s}\r\n",
                 token ? ",\"auth_token\":\"" : "", token ? token : "", token ? "\"" : "",
                 user ? ",\"user\":\"" : "", user ? user : "", user ? "\"" : "",
                 user ? ",\"pass\":\"" : "", user && password ? password : "", user ? "\"" : "");
    if (n <= 0 || n >= (int)sizeof connect || nh_write_all(c->fd, connect, (size_t)n) != 0)
        goto fail;
    int r = nh_conn_sync(c);
    if (r != 0) {
        close(c->fd);
        c->fd = -1;
        return r;
    }
    return 0;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

/* Publishes n bytes of data on subject and waits until the server has
 * taken them (PING/PONG). 0, -2 (-ERR, in c->err) or -1. */
static inline int nh_conn_pub(nh_conn *c, const char *subject, const void *data, size_t n) {
    char head[512];
    int h = snprintf(head, sizeof head, "PUB %s %zu\r\n", subject, n);
    if (h <= 0 || h >= (int)sizeof head)
        return -1;
    if (nh_write_all(c->fd, head, (size_t)h) != 0 || (n && nh_write_all(c->fd, data, n) != 0) ||
        nh_write_all(c->fd, "\r\n", 2) != 0)
        return -1;
    return nh_conn_sync(c);
}

static inline void nh_conn_close(nh_conn *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

#endif /* TROUPE_TEST_NATS_HARNESS_H */
