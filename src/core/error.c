/*
 * error — brunt_strerror over the one error space (see error.h).  The names of the
 * HTTP, URL and JSON codes are those their modules have always printed.
 */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

const char *brunt_strerror(int rc)
{
    static _Thread_local char unknown[48];
    const char *s = NULL;
    switch (rc) {
    case BRUNT_EPARTIAL:
        s = "incomplete HTTP message";
        break;
    case BRUNT_EPROTO:
        s = "malformed HTTP message";
        break;
    case BRUNT_ETOOLARGE:
        s = "HTTP head or framing line too large";
        break;
    case BRUNT_ETOOMANY:
        s = "too many HTTP header fields";
        break;
    case BRUNT_ENOTFOUND:
        s = "no value at that path";
        break;
    case BRUNT_EJSON:
        s = "malformed JSON";
        break;
    case BRUNT_EDEPTH:
        s = "JSON nested too deeply";
        break;
    case BRUNT_ESCHEME:
        s = "URL must start with http:// or https://";
        break;
    case BRUNT_EUSERINFO:
        s = "URL must not contain user:password@ (send credentials in a header)";
        break;
    case BRUNT_EHOST:
        s = "URL host is empty, too long or invalid";
        break;
    case BRUNT_EPORT:
        s = "URL port must be a number from 1 to 65535";
        break;
    case BRUNT_ETARGET:
        s = "URL path or query contains a space or control character";
        break;
    case BRUNT_ETOOLONG:
        s = "URL path and query are too long";
        break;
    case BRUNT_EDNS:
        s = "URL host could not be resolved";
        break;
    case BRUNT_EUTF8:
        s = "invalid UTF-8";
        break;
    default:
        break;
    }
    if (s == NULL && rc >= 0) {
        s = "success";
    } else if (s == NULL && rc >= -BRUNT_ERRNO_MAX) {
        s = strerror(-rc);
    } else if (s == NULL) {
        snprintf(unknown, sizeof unknown, "unknown error %d", rc);
        s = unknown;
    }
    return s;
}
