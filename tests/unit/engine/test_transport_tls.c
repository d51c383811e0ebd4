/*
 * transport_tls: the TLS configuration's bad inputs, and a handshake against a loopback
 * peer that does not speak TLS (a failed handshake is BRUNT_ETLS, never a hang).  The
 * verification kinds against real certificates are in tests/e2e/test_tls.sh (nginx).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/transport.h"

Test(transport_tls, unreadable_ca_file_is_one_line_naming_it)
{
    char err[512] = "";
    void *cfg = NULL;
    struct transport_tls_opts o = {.cacert = "/nonexistent/ca.pem"};
    cr_assert_eq(transport_tls_cfg_new("localhost", false, &o, &cfg, err, sizeof err), -1);
    cr_expect_null(cfg);
    cr_expect(strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);
    cr_expect(strstr(err, "No such file") != NULL, "%s", err);
    cr_expect_null(strchr(err, '\n'));
}

Test(transport_tls, client_cert_needs_its_key)
{
    char err[512] = "";
    void *cfg = NULL;
    struct transport_tls_opts o = {.insecure = true, .cert = "/dev/null"};
    cr_assert_eq(transport_tls_cfg_new("localhost", false, &o, &cfg, err, sizeof err), -1);
    cr_expect(strstr(err, "--key") != NULL, "%s", err);
}

Test(transport_tls, connect_without_configuration_is_einval)
{
    struct transport_conn c = {.fd = -1};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_expect_eq(transport_tls.connect(&c, (struct sockaddr *)&a, sizeof a), -EINVAL);
    cr_expect_eq(c.fd, -1);
}

/* A peer that answers a ClientHello with plain HTTP: the handshake fails, cleanly. */
Test(transport_tls, handshake_with_a_plain_http_peer_fails_as_tls)
{
    char err[512] = "";
    void *cfg = NULL, *cache = NULL;
    struct transport_tls_opts o = {.insecure = true};
    cr_assert_eq(transport_tls_cfg_new("127.0.0.1", true, &o, &cfg, err, sizeof err), 0, "%s", err);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    cr_assert_eq(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(ls, 1), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&a, &al), 0);

    struct transport_conn c = {.fd = -1, .cfg = cfg, .cache = &cache};
    int rc = transport_tls.connect(&c, (struct sockaddr *)&a, sizeof a);
    cr_assert(rc == 0 || rc == -EINPROGRESS, "connect: %d", rc);
    int peer = accept(ls, NULL, NULL);
    cr_assert_geq(peer, 0);
    struct pollfd p = {.fd = c.fd, .events = POLLOUT};
    cr_assert_eq(poll(&p, 1, 5000), 1);
    cr_assert_eq(transport_tls.connected(&c), 0);

    bool want_write = false;
    rc = transport_tls.handshake(&c, &want_write);
    cr_assert_eq(rc, -EAGAIN, "the first call sends the ClientHello and waits: %d", rc);
    cr_expect(!want_write);
    static const char http[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    cr_assert_eq(write(peer, http, sizeof http - 1), (ssize_t)(sizeof http - 1));
    for (int i = 0; i < 100 && rc == -EAGAIN; i++) {
        p.events = want_write ? POLLOUT : POLLIN;
        cr_assert_eq(poll(&p, 1, 5000), 1);
        rc = transport_tls.handshake(&c, &want_write);
    }
    cr_expect_eq(rc, BRUNT_ETLS, "a non-TLS answer: %d (%s)", rc, brunt_strerror(rc));
    cr_expect_null(cache, "no session from a failed handshake");
    transport_tls.close(&c);
    cr_expect_eq(c.fd, -1);
    cr_expect_null(c.state);
    transport_tls.close(&c); /* safe when closed */
    close(peer);
    close(ls);
    transport_tls.cfg_free(cfg);
}
