/*
 * transport — how bytes reach an origin: connect, handshake, read, write, close.
 *
 * Chosen once per origin when the plan is built (struct origin.transport), so the
 * connection code (engine/conn.c) calls through this table and never asks which
 * transport it has: TLS and HTTP/2 arrive as new implementations, not as branches.  The
 * shape is wrk's `struct sock` (src/net.h).  Plain TCP (transport_tcp) and TLS over it
 * (transport_tls, engine/transport_tls.c).
 *
 * Every call is non-blocking and runs on the worker thread that owns the connection.
 * Results are 0 or a count on success, -EAGAIN when the call must be repeated once the
 * socket is ready (want_write says for which direction), or another negative errno.
 */
#ifndef BRUNT_ENGINE_TRANSPORT_H
#define BRUNT_ENGINE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* One connection's transport state, embedded in its owner. */
struct transport_conn {
    int fd;      /* -1 when closed */
    void *state; /* the implementation's (a TLS session); NULL for plain TCP */
    /* Set by the owner before connect: the origin's configuration (struct
     * origin.transport_cfg; TLS: its SSL_CTX) and this worker's slot for the origin
     * (TLS: the session to resume), which only the worker's thread touches. */
    const void *cfg;
    void **cache;
    /* Kernel receive timestamps, plain TCP only (TLS ignores it): set rx_stamp before
     * connect and every read leaves in rx_wall_ns the CLOCK_REALTIME instant at which the
     * newest segment it returned reached the host, or 0 when the kernel gave none.  The
     * open model reads answers a wake-up later and times them from this (worker.c). */
    bool rx_stamp;
    uint64_t rx_wall_ns;
    /* Off loopback a segment may be lost and sent again: the newest segment of a read is
     * then not the last to arrive, so a read that follows an out-of-order arrival
     * (TCP_INFO's tcpi_rcv_ooopack moved) gives no timestamp (transport_tcp.c). */
    bool rx_check_ooo;
    uint32_t rx_ooo;
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
     * writable : readable), or a negative errno.  NULL when the transport has none
     * (plain TCP): then the connection is ready once connected and its handshake time
     * is 0, as k6 reports http_req_tls_handshaking without TLS. */
    int (*handshake)(struct transport_conn *c, bool *want_write);
    /* Reads up to len bytes: > 0, 0 at end of stream, -EAGAIN, or a negative errno. */
    ssize_t (*read)(struct transport_conn *c, void *buf, size_t len);
    /* Writes up to len bytes: > 0, -EAGAIN, or a negative errno (EPIPE, not SIGPIPE). */
    ssize_t (*write)(struct transport_conn *c, const void *buf, size_t len);
    /* Closes the connection and frees its state; c->fd becomes -1.  Safe when closed. */
    void (*close)(struct transport_conn *c);
    /* Frees an origin's configuration / a worker's cache slot value; NULL when the
     * transport has none. */
    void (*cfg_free)(void *cfg);
    void (*cache_free)(void *cache);
    /* Whether the handshake chose HTTP/2 by ALPN ("h2"); NULL when the transport has no
     * negotiation (plain TCP: HTTP/2 there is h2c with prior knowledge, or none). */
    bool (*alpn_h2)(struct transport_conn *c);
    /* Whether the handshake resumed a session; NULL when the transport has none. */
    bool (*resumed)(struct transport_conn *c);
};

/* Plain TCP with TCP_NODELAY (and SO_TIMESTAMPNS when rx_stamp is set). */
extern const struct transport_ops transport_tcp;
/* TLS (OpenSSL) over TCP: needs cfg from transport_tls_cfg_new. */
extern const struct transport_ops transport_tls;

/* What the user asked of TLS (--insecure, --cacert, --cert/--key); NULL = not given. */
struct transport_tls_opts {
    bool insecure;
    const char *cacert;
    const char *cert, *key;
    bool alpn_h2; /* --http2: offer "h2" before "http/1.1" in ALPN */
};

/*
 * Builds the TLS configuration of one origin (host as in its URL, ip_literal for an IP
 * address: no SNI, the certificate must name the address) into *out for
 * origin.transport_cfg.  0, or -1 with one line in err (an unreadable CA or client
 * certificate file, a key that does not match).  Plan time, one thread.
 */
int transport_tls_cfg_new(const char *host, bool ip_literal, const struct transport_tls_opts *opts,
                          void **out, char *err, size_t err_len);

#endif
