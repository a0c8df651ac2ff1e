/* memcached server specs for KylinSessionStore: "host[:port]" and
 * "[v6]:port", checked and put in canonical form (kyl_store.h).  Pure
 * parsing, apart from the store itself so that it reads on its own. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include "kyl_store.h"

#define KYL_STORE_DEFAULT_PORT 11211

static int host_label_ok(const char *l, apr_size_t n, int *numeric)
{
    apr_size_t i;

    if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (!apr_isalnum(c) && c != '-' && c != '_') {
            return 0;
        }
        if (!apr_isdigit(c)) {
            *numeric = 0;
        }
    }
    return 1;
}

/* A DNS name or a dotted IPv4 address (all-numeric names must be one). */
static int host_name_ok(const char *h)
{
    apr_size_t len = strlen(h);
    const char *l = h;
    int numeric = 1;
    struct in_addr a4;

    if (len == 0 || len > 253) {
        return 0;
    }
    while (1) {
        const char *dot = strchr(l, '.');
        apr_size_t n = dot ? (apr_size_t)(dot - l) : strlen(l);

        if (!host_label_ok(l, n, &numeric)) {
            return 0;
        }
        if (dot == NULL) {
            break;
        }
        l = dot + 1;
    }
    return !numeric || inet_pton(AF_INET, h, &a4) == 1;
}

static apr_status_t port_parse(const char *s, apr_port_t *port)
{
    apr_size_t i, n = strlen(s);
    long v = 0;

    if (n == 0 || n > 5) {
        return APR_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return APR_EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return APR_EINVAL;
    }
    *port = (apr_port_t)v;
    return APR_SUCCESS;
}

static void str_lower(char *s)
{
    for (; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
}

/* "[v6]" or "[v6]:port": the address is returned in canonical form. */
static apr_status_t parse_v6(apr_pool_t *p, const char *spec,
                             const char **host, const char **portstr)
{
    const char *end = strchr(spec, ']');
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN];
    char *raw;

    if (end == NULL || (end[1] != '\0' && end[1] != ':')) {
        return APR_EINVAL;
    }
    raw = apr_pstrmemdup(p, spec + 1, (apr_size_t)(end - spec - 1));
    if (inet_pton(AF_INET6, raw, &a6) != 1
        || inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) == NULL) {
        return APR_EINVAL;
    }
    *host = apr_pstrdup(p, buf);
    *portstr = end[1] == ':' ? end + 2 : NULL;
    return APR_SUCCESS;
}

apr_status_t kyl_store_parse_server(apr_pool_t *p, const char *spec,
                                    const char **host, apr_port_t *port)
{
    const char *portstr, *h;
    apr_port_t pt = KYL_STORE_DEFAULT_PORT;

    if (spec == NULL || host == NULL || port == NULL) {
        return APR_EINVAL;
    }
    if (spec[0] == '[') {
        if (parse_v6(p, spec, &h, &portstr) != APR_SUCCESS) {
            return APR_EINVAL;
        }
    }
    else {
        const char *colon = strchr(spec, ':');
        char *name;

        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            return APR_EINVAL;          /* a bare IPv6 needs brackets */
        }
        name = colon ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec))
                     : apr_pstrdup(p, spec);
        if (!host_name_ok(name)) {
            return APR_EINVAL;
        }
        str_lower(name);
        h = name;
        portstr = colon ? colon + 1 : NULL;
    }
    if (portstr != NULL && port_parse(portstr, &pt) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    *host = h;
    *port = pt;
    return APR_SUCCESS;
}

