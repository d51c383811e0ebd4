/*
 * transport — how bytes reach an origin: connect, handshake, read, write, close.
 *
 * Chosen once per origin when the plan is built (struct origin.transport), so the
 * connection code (engine/conn.c) calls through this table and never asks which
 * transport it has: TLS and HTTP/2 arrive as new implementations, not as branches.  The
 * shape is wrk's `struct sock` (src/net.h).  Plain TCP (transport_tcp) is the only one
 * today.
 *
 * Every call is non-blocking and runs on the worker thread that owns the connection.
 * Results are 0 or a count on success, -EAGAIN when the call must be repeated once the
 * socket is ready (want_write says for which direction), or another negative errno.
 */
#ifndef BRUNT_ENGINE_TRANSPORT_H
#define BRUNT_ENGINE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* One connection's transport state, embedded in its owner. */
struct transport_conn {
    int fd;      /* -1 when closed */
    void *state; /* the implementation's (a TLS session); NULL for plain TCP */
};

struct transport_ops {
    const char *name;
    /* Opens a non-blocking socket and starts connecting to addr: 0 when connected at
     * once, -EINPROGRESS when the socket will become writable, another negative errno
     * on failure (then nothing is left open). */
    int (*connect)(struct transport_conn *c, const struct sockaddr *addr, socklen_t addr_len);
    /* The socket became writable after -EINPROGRESS: 0 or the connect's negative errno. */
    int (*connected)(struct transport_conn *c);
    /* Drives the handshake after connecting: 0 done, -EAGAIN (wait for *want_write ?
     * writable : readable), or a negative errno.  Plain TCP has none: 0 at once. */
    int (*handshake)(struct transport_conn *c, bool *want_write);
    /* Reads up to len bytes: > 0, 0 at end of stream, -EAGAIN, or a negative errno. */
    ssize_t (*read)(struct transport_conn *c, void *buf, size_t len);
    /* Writes up to len bytes: > 0, -EAGAIN, or a negative errno (EPIPE, not SIGPIPE). */
    ssize_t (*write)(struct transport_conn *c, const void *buf, size_t len);
    /* Closes the connection and frees its state; c->fd becomes -1.  Safe when closed. */
    void (*close)(struct transport_conn *c);
};

/* Plain TCP with TCP_NODELAY. */
extern const struct transport_ops transport_tcp;

#endif
