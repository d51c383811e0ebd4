/*
 * reqhead — HTTP/1.1 request-head writer (see reqhead.h for the rules).
 */
#include "http/reqhead.h"

#include <errno.h>
#include <string.h>

int reqhead_request_line(struct dynbuf *b, const char *method, const char *target)
{
    return dynbuf_addf(b, "%s %s HTTP/1.1\r\n", method, target);
}

int reqhead_host(struct dynbuf *b, const struct url *u)
{
    char host[URL_MAX_HOST + 16];
    if (url_host_header(u, host, sizeof host) < 0) {
        return -E2BIG;
    }
    return dynbuf_addf(b, "Host: %s\r\n", host);
}

int reqhead_user_agent(struct dynbuf *b)
{
    return dynbuf_adds(b, REQHEAD_USER_AGENT_LINE);
}

int reqhead_header(struct dynbuf *b, const char *name, size_t name_len, const char *value,
                   size_t value_len)
{
    size_t start = b->len;
    int rc = dynbuf_add(b, name, name_len);
    rc = rc ? rc : dynbuf_add(b, ": ", 2);
    rc = rc ? rc : dynbuf_add(b, value, value_len);
    rc = rc ? rc : dynbuf_add(b, "\r\n", 2);
    if (rc < 0) {
        dynbuf_truncate(b, start);
    }
    return rc;
}

bool reqhead_wants_length(const char *method, size_t body_len)
{
    return body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0;
}

int reqhead_end(struct dynbuf *b, bool send_length, size_t body_len)
{
    if (!send_length) {
        return dynbuf_add(b, "\r\n", 2);
    }
    return dynbuf_addf(b, "Content-Length: %zu\r\n\r\n", body_len);
}
