/* Cookie handling for the request path: find the balancer's cookie in the
 * client's Cookie header(s), strip it before the request reaches a node,
 * build our Set-Cookie, and read a node's Set-Cookie. */
#ifndef KYL_COOKIE_H
#define KYL_COOKIE_H

#include "kyl_core.h"

#define KYL_COOKIE_MAX 4096   /* a cookie value longer than this is no session */

/* header: the Cookie request header (several headers joined by ", " or "; "
 * are accepted, as httpd's apr_table_get merges them with ", ").  Cookies
 * are separated by ';', and by a ',' followed (after optional blanks) by a
 * token and '=' - so "a=1,2" stays one cookie; blanks around names and
 * values are ignored and one pair of surrounding DQUOTEs is removed.
 * Returns APR_SUCCESS with *value (copied into p) when name occurs once, or
 * several times with the same value; APR_NOTFOUND when absent;
 * APR_EINVAL when it occurs with differing values, is empty, longer
 * than KYL_COOKIE_MAX or carries a control character.  A NULL or empty
 * name is APR_EINVAL.  Names compare case-sensitively (RFC 6265). */
apr_status_t kyl_cookie_get(apr_pool_t *p, const char *header,
                            const char *name, const char **value);

/* Returns header without any cookie called name, keeping the others in
 * order and byte for byte, joined by "; " ("a=1; b=2"), or NULL when
 * nothing is left.  header may be NULL; a NULL or empty name removes
 * nothing. */
const char *kyl_cookie_strip(apr_pool_t *p, const char *header,
                             const char *name);

/* Returns header with name=value set (replacing every cookie of that name,
 * appending otherwise), in the same "; " form as kyl_cookie_strip.  header
 * may be NULL.  Returns NULL when name is not an RFC 7230 token or value
 * is not an RFC 6265 cookie-value (a byte outside cookie-octet such as
 * CR, LF, ';', ',', blank or a non-ASCII byte) - nothing is injected. */
const char *kyl_cookie_put(apr_pool_t *p, const char *header,
                           const char *name, const char *value);

/* Appends name=value to header (NULL: none) without looking at what the
 * header holds: for a caller that has just taken every cookie of that name
 * out with kyl_cookie_take.  NULL when name or value is not valid, as for
 * kyl_cookie_put. */
const char *kyl_cookie_append(apr_pool_t *p, const char *header,
                              const char *name, const char *value);

/* kyl_cookie_get for up to KYL_COOKIE_TAKE_MAX names and kyl_cookie_strip
 * of all of them, in one pass over header: status[i] and values[i] are
 * what kyl_cookie_get(names[i]) returns; *rest (when rest is not NULL) is
 * the header without any of these cookies, NULL when nothing is left.  A
 * NULL or empty names[i] matches nothing and gets APR_EINVAL. */
#define KYL_COOKIE_TAKE_MAX 4
void kyl_cookie_take(apr_pool_t *p, const char *header, int n,
                     const char *const *names, const char **values,
                     apr_status_t *status, const char **rest);

/* Builds a Set-Cookie value: "name=value; Path=/; HttpOnly; SameSite=Lax"
 * + "; Secure" when secure; max_age < 0 omits Max-Age, 0 expires the cookie
 * ("Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), > 0 appends
 * "; Max-Age=N".  A NULL value is "".  Returns NULL (never a header that
 * could carry CR, LF, ';' or ',' from its inputs) when name is not a token
 * or value is not an RFC 6265 cookie-value; our base64url ids always are. */
const char *kyl_cookie_make(apr_pool_t *p, const char *name, const char *value,
                            int secure, apr_int64_t max_age);

/* Parses one Set-Cookie header value from a node: *name and *value are
 * copied into p (blanks trimmed, quotes kept, so the value replays as
 * sent); *expired = 1 when Max-Age<=0 or Expires lies in 1970 or before
 * (a deletion).  Attribute names are case-insensitive; Max-Age wins over
 * Expires; dates are read as RFC 6265 5.1.1 does.  APR_EINVAL for anything
 * without "name=", with a control character in name or value, or a value
 * longer than KYL_COOKIE_MAX. */
apr_status_t kyl_setcookie_parse(apr_pool_t *p, const char *header,
                                 const char **name, const char **value,
                                 int *expired);

/* 1 when name is Kylin 5's shared session cookie: 64 lowercase hex chars. */
int kyl_cookie_is_kylin5_session(const char *name);

#endif
