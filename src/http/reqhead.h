/*
 * reqhead — the one writer of HTTP/1.1 request heads, shared by quick mode
 * (cli/plan_build.c renders a request once) and scenario files (scenario/load.c compiles
 * a head into literal and templated parts; scenario/flow.c closes it per request).
 *
 * The rules live here once: the request line; a Host line from the origin unless the
 * user gave one; brunt's User-Agent unless the user gave one; a Content-Length line when
 * there is a body or the method is POST, PUT or PATCH (and never a user-given framing
 * header: engine/plan.h refuses Content-Length and Transfer-Encoding).  Everything
 * appends to a capped dynbuf and returns 0, -ENOMEM or -E2BIG; nothing is printed.
 */
#ifndef BRUNT_HTTP_REQHEAD_H
#define BRUNT_HTTP_REQHEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dynbuf.h"
#include "core/version.h"
#include "http/url.h"

#define REQHEAD_USER_AGENT "brunt/" BRUNT_VERSION
#define REQHEAD_USER_AGENT_LINE "User-Agent: " REQHEAD_USER_AGENT "\r\n"

/* "METHOD TARGET HTTP/1.1\r\n". */
int reqhead_request_line(struct dynbuf *b, const char *method, const char *target);
/* "Host: host[:port]\r\n" for the origin u (the port only when not the scheme's). */
int reqhead_host(struct dynbuf *b, const struct url *u);
/* brunt's "User-Agent: brunt/VERSION\r\n". */
int reqhead_user_agent(struct dynbuf *b);
/* "Name: value\r\n". */
int reqhead_header(struct dynbuf *b, const char *name, size_t name_len, const char *value,
                   size_t value_len);
/* Whether a request sends Content-Length: a body, or a method that expects one. */
bool reqhead_wants_length(const char *method, size_t body_len);
/* Ends the head: "Content-Length: N\r\n\r\n" when send_length, else "\r\n". */
int reqhead_end(struct dynbuf *b, bool send_length, size_t body_len);

#endif
