/* libFuzzer target: the cookie parsers on arbitrary bytes.
 *
 * Input layout: byte 0 picks where to split the rest into a cookie name
 * (first part) and a header (second part); each is copied into a buffer
 * of exactly its length plus NUL (an embedded NUL ends it early, as in
 * httpd), so ASan catches a read past the terminator.  Checks
 * the invariants the request path relies on: what strip removed, get no
 * longer finds; what put set, get finds; nothing put or made carries CR/LF;
 * taking two names in one pass agrees with get and strip of each. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "kyl_cookie.h"
#include "fuzz_apr.h"

static void check_cookie_request(apr_pool_t *p, const char *header,
                                 const char *name)
{
    const char *v, *out, *first;
    apr_status_t rv = kyl_cookie_get(p, header, name, &v);

    first = v;
    if (rv == APR_SUCCESS && (v == NULL || strlen(v) > KYL_COOKIE_MAX)) {
        abort();
    }
    out = kyl_cookie_strip(p, header, name);
    if (*name && kyl_cookie_get(p, out, name, &v) != APR_NOTFOUND) {
        abort();
    }
    out = kyl_cookie_put(p, header, name, "fuzz-value_1");
    if (out != NULL) {
        if (kyl_cookie_get(p, out, name, &v) != APR_SUCCESS
            || strcmp(v, "fuzz-value_1") != 0) {
            abort();
        }
    }
    {
        const char *names[2] = { name, "JSESSIONID" }, *values[2], *rest, *w;
        apr_status_t rvs[2];

        kyl_cookie_take(p, header, 2, names, values, rvs, &rest);
        w = kyl_cookie_strip(p, kyl_cookie_strip(p, header, names[0]), names[1]);
        if (rvs[0] != rv || (rv == APR_SUCCESS && strcmp(values[0], first) != 0)
            || (w == NULL) != (rest == NULL) || (w && strcmp(w, rest) != 0)) {
            abort();
        }
    }
    /* the header itself as a value: put and make refuse or stay clean */
    out = kyl_cookie_put(p, NULL, "n", header);
    if (out != NULL && strpbrk(out, "\r\n;, ") != NULL) {
        abort();
    }
    out = kyl_cookie_make(p, name, header, 1, 60);
    if (out != NULL && strpbrk(out, "\r\n") != NULL) {
        abort();
    }
}

static void check_setcookie(apr_pool_t *p, const char *header)
{
    const char *n, *v;
    int expired;

    if (kyl_setcookie_parse(p, header, &n, &v, &expired) == APR_SUCCESS
        && (n == NULL || v == NULL || *n == '\0' || (expired != 0 && expired != 1)
            || strlen(v) > KYL_COOKIE_MAX)) {
        abort();
    }
    (void)kyl_cookie_is_kylin5_session(header);
}

/* A malloc'd copy of n bytes plus NUL, so ASan sees any read past it. */
static char *cstr(const uint8_t *b, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL) {
        abort();
    }
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t split;
    char *name, *header;

    if (size == 0) {
        return 0;
    }
    split = data[0] % size;     /* 0 .. size-1 bytes of name */
    name = cstr(data + 1, split);
    header = cstr(data + 1 + split, size - 1 - split);
    check_cookie_request(fuzz_pool, header, name);
    check_setcookie(fuzz_pool, header);
    free(name);
    free(header);
    apr_pool_clear(fuzz_pool);
    return 0;
}
