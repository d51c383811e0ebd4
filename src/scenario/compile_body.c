/*
 * compile_body — request bodies from files: `body_file:` (the file's bytes as they are,
 * k6's open()) and `multipart:` (multipart/form-data, RFC 7578: text fields and file
 * parts, k6's http.file()).  Both are static: read once at load, sent as they are on
 * every request (files are bytes, never templates).  Paths are relative to the scenario
 * file's directory.  The bodies share the request cap (FLOW_MAX_REQUEST_BYTES).  Load
 * time, one thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scenario/load_internal.h"

/* Most parts of one multipart body. */
#define MULTIPART_MAX_PARTS 64

/* Appends the file at path (relative to the scenario's directory) to out. */
static int add_file(struct loader *L, const struct ynode *at, const char *path, struct dynbuf *out)
{
    char full[4096];
    if (path[0] == '/' || L->base_dir == NULL || L->base_dir[0] == '\0') {
        snprintf(full, sizeof full, "%s", path);
    } else {
        snprintf(full, sizeof full, "%s/%s", L->base_dir, path);
    }
    FILE *f = fopen(full, "rb");
    if (f == NULL) {
        return load__err(L, at, "cannot read %s: %s", full, strerror(errno));
    }
    struct stat sb;
    int rc = 0;
    if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
        rc = load__err(L, at, "%s is not a regular file", full);
    } else if ((uint64_t)sb.st_size > FLOW_MAX_REQUEST_BYTES) {
        rc = load__err(L, at, "%s is larger than a request may be (%u bytes)", full,
                       FLOW_MAX_REQUEST_BYTES);
    }
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (dynbuf_add(out, buf, n) < 0) {
            rc = load__err(L, at, "the body is larger than a request may be (%u bytes)",
                           FLOW_MAX_REQUEST_BYTES);
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = load__err(L, at, "cannot read %s", full);
    }
    fclose(f);
    return rc;
}

int load__body_file(struct loader *L, struct ynode *n, struct dynbuf *out)
{
    const char *path = load__sval(L, n, "a file name such as data/payload.json");
    if (path == NULL) {
        return -1;
    }
    if (path[0] == '\0') {
        return load__err(L, n, "empty file name (expected a file such as data/payload.json)");
    }
    return add_file(L, n, path, out);
}

/* A header-safe text for a part's name or file name: no CR, LF or double quote. */
static int part_word(struct loader *L, const struct ynode *at, const char *s, const char *what)
{
    if (strpbrk(s, "\r\n\"") != NULL) {
        return load__err(L, at, "the %s may not hold a CR, LF or double quote", what);
    }
    return 0;
}

/* Whether needle[0..nl) occurs in hay[0..hl). */
static bool contains(const char *hay, size_t hl, const char *needle, size_t nl)
{
    for (size_t i = 0; nl <= hl && i <= hl - nl; i++) {
        if (memcmp(hay + i, needle, nl) == 0) {
            return true;
        }
    }
    return false;
}

int load__multipart(struct loader *L, struct ynode *n, struct dynbuf *out, char *boundary,
                    size_t cap)
{
    if (load__check_map(L, n, "multipart", NULL) < 0) {
        return -1;
    }
    if (n->n / 2 > MULTIPART_MAX_PARTS) {
        return load__err(L, n, "%zu parts (expected at most %d)", n->n / 2, MULTIPART_MAX_PARTS);
    }
    static const char *const file_keys[] = {"file", "filename", "content_type", NULL};
    /* The parts' contents first, so the boundary can be chosen to be in none of them. */
    struct dynbuf parts[MULTIPART_MAX_PARTS];
    size_t np = 0;
    int rc = 0;
    for (size_t i = 0; i < n->n && rc == 0; i += 2, np++) {
        dynbuf_init(&parts[np], FLOW_MAX_REQUEST_BYTES);
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        if (part_word(L, k, k->s, "part name") < 0) {
            rc = -1;
            np++;
            break;
        }
        if (v->type == Y_MAP) {
            if (load__check_map(L, v, "a file part", file_keys) < 0) {
                rc = -1;
            } else if (load__mget(v, "file") == NULL) {
                rc = load__err(L, v,
                               "a file part without file: (expected {file: PATH, "
                               "filename: NAME, content_type: TYPE})");
            } else {
                rc = load__body_file(L, load__mget(v, "file"), &parts[np]);
            }
        } else {
            const char *s = v->is_null ? "" : load__sval(L, v, "a text field or {file: PATH}");
            if (s == NULL) {
                rc = -1;
            } else if (strstr(s, "{{") != NULL) {
                rc = load__err(L, v,
                               "multipart fields are sent as written: templates are not "
                               "available in them (use ${ENV} values)");
            } else if (dynbuf_adds(&parts[np], s) < 0) {
                rc = load__oom(L);
            }
        }
    }
    /* A boundary found in no part (RFC 2046: at most 70 characters). */
    unsigned attempt = 0;
    bool clash = true;
    while (rc == 0 && clash && attempt < 1000) {
        snprintf(boundary, cap, "brunt-boundary-%08x%04x", 0x5eedb0d1u * (attempt + 1), attempt);
        clash = false;
        for (size_t i = 0; i < np && !clash; i++) {
            clash = contains(parts[i].data ? parts[i].data : "", parts[i].len, boundary,
                             strlen(boundary));
        }
        attempt++;
    }
    if (rc == 0 && clash) {
        rc = load__err(L, n, "no multipart boundary fits these parts");
    }
    for (size_t i = 0; i < n->n && rc == 0; i += 2) {
        struct ynode *k = n->kids[i], *v = n->kids[i + 1];
        const struct dynbuf *p = &parts[i / 2];
        int e =
            dynbuf_addf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", boundary, k->s);
        if (e == 0 && v->type == Y_MAP) {
            struct ynode *fn = load__mget(v, "filename"), *ct = load__mget(v, "content_type");
            const char *fname = fn != NULL ? load__sval(L, fn, "a file name") : NULL;
            if (fname == NULL) {
                const char *path = load__sval(L, load__mget(v, "file"), "a file name");
                const char *slash = path != NULL ? strrchr(path, '/') : NULL;
                fname = slash != NULL ? slash + 1 : path;
            }
            const char *ctype =
                ct != NULL ? load__sval(L, ct, "a content type") : "application/octet-stream";
            if (fname == NULL || ctype == NULL || part_word(L, v, fname, "file name") < 0 ||
                part_word(L, v, ctype, "content type") < 0) {
                rc = -1;
                break;
            }
            e = dynbuf_addf(out, "; filename=\"%s\"\r\nContent-Type: %s", fname, ctype);
        }
        e = e ? e : dynbuf_add(out, "\r\n\r\n", 4);
        e = e ? e : dynbuf_add(out, p->data ? p->data : "", p->len);
        e = e ? e : dynbuf_add(out, "\r\n", 2);
        if (e < 0) {
            rc = load__err(L, n, "the multipart body is larger than a request may be (%u bytes)",
                           FLOW_MAX_REQUEST_BYTES);
        }
    }
    if (rc == 0 && dynbuf_addf(out, "--%s--\r\n", boundary) < 0) {
        rc = load__err(L, n, "the multipart body is larger than a request may be");
    }
    for (size_t i = 0; i < np; i++) {
        dynbuf_destroy(&parts[i]);
    }
    return rc;
}
