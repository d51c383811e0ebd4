/*
 * transport_tcp — the plain-TCP transport (engine/transport.h): non-blocking sockets,
 * TCP_NODELAY, send() with MSG_NOSIGNAL so a closed peer is EPIPE, never SIGPIPE.  With
 * rx_stamp, SO_TIMESTAMPNS: reads go through recvmsg() and take the kernel's receive time
 * of the newest segment they return (tcp_recvmsg's SCM_TIMESTAMPNS), which stays exact
 * however late the read comes.
 */
#include <errno.h>
#include <linux/tcp.h> /* TCP_NODELAY; struct tcp_info with tcpi_rcv_ooopack (5.4) */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "engine/transport.h"

/* 127.0.0.0/8 or ::1 (or ::ffff:127.x): a path that neither loses nor reorders. */
static bool is_loopback(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static int tcp_connect(struct transport_conn *c, const struct sockaddr *addr, socklen_t addr_len)
{
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rx_wall_ns = 0;
    c->rx_ooo = 0;
    c->rx_check_ooo = !is_loopback(addr);
    if (c->rx_stamp && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
        c->rx_stamp = false; /* reads are then timed by the caller's clock */
    }
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

/* A read that keeps the receive timestamp (rx_stamp). */
static ssize_t tcp_read_stamped(struct transport_conn *c, void *buf, size_t len)
{
    union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
    ssize_t n;
    do {
        n = recvmsg(c->fd, &msg, 0);
    } while (n < 0 && errno == EINTR);
    c->rx_wall_ns = 0;
    if (n < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    for (struct cmsghdr *m = CMSG_FIRSTHDR(&msg); m != NULL; m = CMSG_NXTHDR(&msg, m)) {
        if (m->cmsg_level == SOL_SOCKET && m->cmsg_type == SCM_TIMESTAMPNS &&
            m->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(m), sizeof ts);
            c->rx_wall_ns = (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
        }
    }
    if (c->rx_wall_ns != 0 && c->rx_check_ooo) {
        /* One getsockopt per read off loopback: a segment that came out of order (a loss
         * sent again) makes the newest segment's time earlier than the answer's end. */
        struct tcp_info ti;
        socklen_t ti_len = sizeof ti;
        memset(&ti, 0, sizeof ti);
        if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &ti_len) < 0 ||
            ti_len < offsetof(struct tcp_info, tcpi_rcv_ooopack) + sizeof ti.tcpi_rcv_ooopack ||
            ti.tcpi_rcv_ooopack != c->rx_ooo) {
            c->rx_ooo = ti.tcpi_rcv_ooopack;
            c->rx_wall_ns = 0;
        }
    }
    return n;
}

static ssize_t tcp_read(struct transport_conn *c, void *buf, size_t len)
{
    if (c->rx_stamp) {
        return tcp_read_stamped(c, buf, len);
    }
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
    .handshake = NULL, /* none */
    .read = tcp_read,
    .write = tcp_write,
    .close = tcp_close,
};
