/*
 * transport_tcp — the plain-TCP transport (engine/transport.h): non-blocking sockets,
 * TCP_NODELAY, send() with MSG_NOSIGNAL so a closed peer is EPIPE, never SIGPIPE.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/transport.h"

static int tcp_connect(struct transport_conn *c, const struct sockaddr *addr, socklen_t addr_len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = 0;
    if (connect(fd, addr, addr_len) < 0) {
        rc = -errno;
        if (rc != -EINPROGRESS) {
            close(fd);
            return rc;
        }
    }
    c->fd = fd;
    c->state = NULL;
    return rc;
}

static int tcp_connected(struct transport_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }
    return -err;
}

static int tcp_handshake(struct transport_conn *c, bool *want_write)
{
    (void)c;
    *want_write = false;
    return 0;
}

static ssize_t tcp_read(struct transport_conn *c, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = recv(c->fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return n;
}

static ssize_t tcp_write(struct transport_conn *c, const void *buf, size_t len)
{
    ssize_t n;
    do {
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return n;
}

static void tcp_close(struct transport_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

const struct transport_ops transport_tcp = {
    .name = "tcp",
    .connect = tcp_connect,
    .connected = tcp_connected,
    .handshake = tcp_handshake,
    .read = tcp_read,
    .write = tcp_write,
    .close = tcp_close,
};
