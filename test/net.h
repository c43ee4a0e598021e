/* net.h — loopback sockets for the tests that need plain POSIX ones
 * (test_tcp's clients, nats_harness.h's servers and raw NATS client).
 *
 * net_loopback is 127.0.0.1:port; net_free_port a loopback port that was free
 * a moment ago; net_connect a blocking connection to 127.0.0.1:port whose
 * every read and write gives up after a timeout. They report failure by
 * return value (no CHECK), so that a caller decides what a failure means. */
#ifndef TROUPE_TEST_NET_H
#define TROUPE_TEST_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static inline struct sockaddr_in net_loopback(int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A loopback port that was free a moment ago (bound to port 0 and read
 * back), or -1. */
static inline int net_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = net_loopback(0);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Makes every read and write on fd give up after ms (EAGAIN). 0 or -1. */
static inline int net_set_timeouts(int fd, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
                   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0
               ? 0
               : -1;
}

/* A blocking TCP connection to 127.0.0.1:port with timeout_ms on every read
 * and write: the socket, or -errno (-ECONNREFUSED: nobody listens). */
static inline int net_connect(int port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = net_loopback(port);
    if (net_set_timeouts(fd, timeout_ms) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

#endif /* TROUPE_TEST_NET_H */
