/* echo_iterative HOST PORT — a line echo server written the classic blocking
 * way: accept one client, echo each line it sends until it closes, then accept
 * the next. No threads, no troupe. Its point is its flaw: while one client is
 * connected and silent, the server sits in a blocking read on it and every
 * other client waits in the listen backlog. examples/echo_server.c serves each
 * connection with its own actor instead. PORT 0 picks a free port. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(const char *host, const char *port) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echo_iterative: %s port %s: %s\n", host, port, gai_strerror(rc));
        exit(2);
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0)) {
            perror("echo_iterative: bind/listen");
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Echoes lines until the client closes or fails; returns the number echoed. */
static long serve(int fd) {
    FILE *in = fdopen(fd, "r");
    FILE *out = fdopen(dup(fd), "w");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lines = 0;
    while (in && out && (n = getline(&line, &cap, in)) > 0) {
        if (fwrite(line, 1, (size_t)n, out) != (size_t)n || fflush(out) != 0)
            break;
        lines++;
    }
    if (ferror(in) || (out && ferror(out)))
        fprintf(stderr, "echo_iterative: client failed: %s\n", strerror(errno));
    free(line);
    if (out)
        fclose(out);
    if (in)
        fclose(in);
    else
        close(fd);
    return lines;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: echo_iterative HOST PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a client that resets mid-write is an error return, not a kill */
    int lfd = listen_on(argv[1], argv[2]);
    if (lfd < 0)
        return 1;
    char host[256] = "?", port[32] = "?";
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getsockname(lfd, (struct sockaddr *)&sa, &len) == 0)
        getnameinfo((struct sockaddr *)&sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
    printf("echo_iterative: listening on %s port %s, one client at a time: "
           "a client that connects and stays silent stalls every other client\n",
           host, port);
    fflush(stdout);
    for (long id = 1;; id++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED) {
                perror("echo_iterative: accept");
                sleep(1); /* out of descriptors or memory: don't spin */
            }
            id--;
            continue;
        }
        fprintf(stderr, "echo_iterative: client %ld connected\n", id);
        long lines = serve(fd);
        fprintf(stderr, "echo_iterative: client %ld gone after %ld lines\n", id, lines);
    }
}
