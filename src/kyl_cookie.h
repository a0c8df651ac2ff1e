/* Cookie handling for the request path: find the balancer's cookie in the
 * client's Cookie header(s), strip it before the request reaches a node,
 * build our Set-Cookie, and read a node's Set-Cookie. */
#ifndef KYL_COOKIE_H
#define KYL_COOKIE_H

#include "kyl_core.h"

#define KYL_COOKIE_MAX 4096   /* a cookie value longer than this is no session */

/* header: the Cookie request header (several headers joined by ", " or "; "
 * are accepted, as httpd's apr_table_get merges them with ", ").
 * Returns APR_SUCCESS with *value (copied into p) when name occurs once, or
 * several times with the same value; APR_NOTFOUND when absent;
 * APR_EINVAL when it occurs with differing values, is empty, or longer
 * than KYL_COOKIE_MAX.  Names compare case-sensitively (RFC 6265). */
apr_status_t kyl_cookie_get(apr_pool_t *p, const char *header,
                            const char *name, const char **value);

/* Returns header without any cookie called name, keeping the others in
 * order ("a=1; b=2"), or NULL when nothing is left. */
const char *kyl_cookie_strip(apr_pool_t *p, const char *header,
                             const char *name);

/* Returns header with name=value set (replacing every cookie of that name,
 * appending otherwise).  header may be NULL. */
const char *kyl_cookie_put(apr_pool_t *p, const char *header,
                           const char *name, const char *value);

/* Builds a Set-Cookie value: "name=value; Path=/; HttpOnly; SameSite=Lax"
 * + "; Secure" when secure; max_age < 0 omits Max-Age, 0 expires the cookie
 * ("Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"). */
const char *kyl_cookie_make(apr_pool_t *p, const char *name, const char *value,
                            int secure, apr_int64_t max_age);

/* Parses one Set-Cookie header value from a node: *name and *value are
 * copied into p; *expired = 1 when Max-Age<=0 or Expires lies in 1970
 * (a deletion).  APR_EINVAL for anything without "name=". */
apr_status_t kyl_setcookie_parse(apr_pool_t *p, const char *header,
                                 const char **name, const char **value,
                                 int *expired);

/* 1 when name is Kylin 5's shared session cookie: 64 lowercase hex chars. */
int kyl_cookie_is_kylin5_session(const char *name);

#endif
