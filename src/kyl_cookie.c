/* Cookie handling for the request path (RFC 6265).
 *
 * A Cookie header is split into "crumbs" at ';' and at a ',' that starts
 * another cookie (optional blanks, a token, '=').  The second rule accepts
 * headers that httpd merged with ", " while keeping commas inside other
 * cookies' values ("a=1,2,3") intact.  kyl_cookie_get, kyl_cookie_strip and
 * kyl_cookie_put share this one splitter, so a cookie that get can see is
 * also a cookie that strip removes. */
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "kyl_cookie.h"

typedef struct {
    const char *text;       /* the crumb without surrounding blanks */
    apr_size_t len;
    const char *name;       /* trimmed name, or NULL when there is no '=' */
    apr_size_t nlen;
    const char *val;        /* trimmed value (quotes kept) */
    apr_size_t vlen;
} kyl_crumb_t;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Character classes as one table (no locale, no branches per byte): every
 * request with a session checks a cookie value of 43 bytes or more. */
#define KYL_CH_CTL    1u      /* control character: no name or value has one */
#define KYL_CH_OCTET  2u      /* RFC 6265 cookie-octet */
#define KYL_CH_TCHAR  4u      /* RFC 7230 tchar */

/* CTL: below 0x20 but tab, and 0x7F.  OCTET: 0x21-0x7E but DQUOTE, ',',
 * ';' and '\\'.  TCHAR: letters, digits and !#$%&'*+-.^_`|~.  (The unit
 * test checks every byte against these definitions.) */
static const unsigned char ch_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1,  /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 0x10 */
    0, 6, 0, 6, 6, 6, 6, 6, 2, 2, 6, 6, 0, 6, 6, 2,  /* 0x20 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 2, 0, 2, 2, 2, 2,  /* 0x30 */
    2, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,  /* 0x40 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 2, 0, 2, 6, 6,  /* 0x50 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,  /* 0x60 */
    6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 2, 6, 2, 6, 1,  /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  /* 0xf0 */
};

/* The classes every byte of s[0..n) has. */
static unsigned ch_all(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned all = 0xffu;
    apr_size_t i;

    for (i = 0; i < n; i++) {
        all &= ch_class[u[i]];
    }
    return all;
}

static int is_tchar(unsigned char c)
{
    return (ch_class[c] & KYL_CH_TCHAR) != 0;
}

/* Every request with a session checks a value of 43 bytes or more, so
 * eight bytes at a time: a word in which no byte is below 0x20 and none is
 * 0x7F has no control character.  A word that has either is read byte by
 * byte from there (a tab is allowed). */
#define KYL_ONES  APR_UINT64_C(0x0101010101010101)
#define KYL_HIGHS APR_UINT64_C(0x8080808080808080)

static int has_ctl(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0;
    apr_uint64_t w, del;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, u + i, 8);
        del = w ^ (KYL_ONES * 0x7F);
        if ((((w - KYL_ONES * 0x20) & ~w) | ((del - KYL_ONES) & ~del)) & KYL_HIGHS) {
            break;
        }
    }
    for (; i < n; i++) {
        if (ch_class[u[i]] & KYL_CH_CTL) {
            return 1;
        }
    }
    return 0;
}

static int is_token(const char *s, apr_size_t n)
{
    return n > 0 && (ch_all(s, n) & KYL_CH_TCHAR);
}

/* cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ) */
static int is_cookie_value(const char *s, apr_size_t n)
{
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    return n == 0 || (ch_all(s, n) & KYL_CH_OCTET);
}

/* name is a token and value a cookie-value: nothing they make can carry
 * CR, LF, ';' or ','.  Gives their lengths. */
static int pair_ok(const char *name, const char *value, apr_size_t *nl,
                   apr_size_t *vl)
{
    if (name == NULL || value == NULL) {
        return 0;
    }
    *nl = strlen(name);
    *vl = strlen(value);
    return is_token(name, *nl) && is_cookie_value(value, *vl);
}

/* c points at ','.  1 when another cookie starts after it. */
static int comma_splits(const char *c)
{
    const char *q = c + 1;

    while (is_blank(*q)) {
        q++;
    }
    if (!is_tchar((unsigned char)*q)) {
        return 0;
    }
    while (is_tchar((unsigned char)*q)) {
        q++;
    }
    return *q == '=';
}

static void trim(const char **s, apr_size_t *n)
{
    while (*n > 0 && is_blank((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((*s)[*n - 1])) {
        (*n)--;
    }
}

/* Splits crumb text into name and value at its first '='. */
static void crumb_split(kyl_crumb_t *c)
{
    const char *eq = memchr(c->text, '=', c->len);

    if (eq == NULL) {
        c->name = NULL;
        c->nlen = 0;
        c->val = c->text;
        c->vlen = c->len;
        return;
    }
    c->name = c->text;
    c->nlen = (apr_size_t)(eq - c->text);
    trim(&c->name, &c->nlen);
    c->val = eq + 1;
    c->vlen = (apr_size_t)(c->text + c->len - c->val);
    trim(&c->val, &c->vlen);
}

/* Reads the next crumb at *pos (possibly empty); 0 at the end. */
static int next_crumb(const char **pos, kyl_crumb_t *c)
{
    const char *s = *pos, *e = s;

    if (*s == '\0') {
        return 0;
    }
    /* libc's strpbrk scans many bytes per step; a ',' inside a value
     * ("a=1,2") does not end the crumb */
    while ((e = strpbrk(e, ";,")) != NULL && *e == ',' && !comma_splits(e)) {
        e++;
    }
    if (e == NULL) {
        e = s + strlen(s);
    }
    *pos = (*e != '\0') ? e + 1 : e;
    c->text = s;
    c->len = (apr_size_t)(e - s);
    trim(&c->text, &c->len);
    crumb_split(c);
    return 1;
}

static int crumb_is(const kyl_crumb_t *c, const char *name, apr_size_t nlen)
{
    return c->name != NULL && c->nlen == nlen && memcmp(c->name, name, nlen) == 0;
}

/* Strips one pair of surrounding DQUOTEs. */
static void unquote(const char **v, apr_size_t *n)
{
    if (*n >= 2 && (*v)[0] == '"' && (*v)[*n - 1] == '"') {
        (*v)++;
        *n -= 2;
    }
}

/* Appends a crumb to the header being rebuilt at *w (out is its start). */
static void append(char *out, char **w, const char *a, apr_size_t alen,
                   const char *b, apr_size_t blen)
{
    if (*w != out) {
        memcpy(*w, "; ", 2);
        *w += 2;
    }
    memcpy(*w, a, alen);
    *w += alen;
    if (b != NULL) {
        *(*w)++ = '=';
        memcpy(*w, b, blen);
        *w += blen;
    }
}

/* One pass over header for every name at once: get's verdict per name,
 * and (when rest is not NULL) the header without any of them.  The output
 * buffer is taken only when a crumb is kept: a header carrying nothing but
 * the balancer's cookie costs no allocation. */
void kyl_cookie_take(apr_pool_t *p, const char *header, int n,
                     const char *const *names, const char **values,
                     apr_status_t *status, const char **rest)
{
    const char *pos = header, *found[KYL_COOKIE_TAKE_MAX];
    apr_size_t nlen[KYL_COOKIE_TAKE_MAX], flen[KYL_COOKIE_TAKE_MAX];
    char *out = NULL, *w = NULL;
    kyl_crumb_t c;
    int i;

    n = n < 0 ? 0 : (n > KYL_COOKIE_TAKE_MAX ? KYL_COOKIE_TAKE_MAX : n);
    for (i = 0; i < n; i++) {
        nlen[i] = names[i] ? strlen(names[i]) : 0;
        status[i] = nlen[i] ? APR_NOTFOUND : APR_EINVAL;
        values[i] = found[i] = NULL;
        flen[i] = 0;
    }
    while (pos != NULL && next_crumb(&pos, &c)) {
        for (i = 0; i < n; i++) {
            if (nlen[i] && crumb_is(&c, names[i], nlen[i])) {
                break;
            }
        }
        if (i < n) {
            const char *v = c.val;
            apr_size_t vlen = c.vlen;

            unquote(&v, &vlen);
            if (status[i] == APR_EINVAL) {
                continue;
            }
            if (vlen == 0 || vlen > KYL_COOKIE_MAX || has_ctl(v, vlen)
                || (found[i] && (flen[i] != vlen
                                 || memcmp(found[i], v, vlen) != 0))) {
                status[i] = APR_EINVAL;
                continue;
            }
            found[i] = v;
            flen[i] = vlen;
            status[i] = APR_SUCCESS;
        }
        else if (rest != NULL && c.len > 0) {
            if (out == NULL) {
                /* each separator grows to at most "; ", crumbs only shrink */
                w = out = apr_palloc(p, 2 * strlen(header) + 1);
            }
            append(out, &w, c.text, c.len, NULL, 0);
        }
    }
    for (i = 0; i < n; i++) {
        if (status[i] == APR_SUCCESS) {
            values[i] = apr_pstrmemdup(p, found[i], flen[i]);
        }
    }
    if (rest != NULL) {
        if (out != NULL) {
            *w = '\0';
        }
        *rest = out;
    }
}

apr_status_t kyl_cookie_get(apr_pool_t *p, const char *header,
                            const char *name, const char **value)
{
    apr_status_t rv;

    kyl_cookie_take(p, header, 1, &name, value, &rv, NULL);
    return rv;
}

const char *kyl_cookie_strip(apr_pool_t *p, const char *header,
                             const char *name)
{
    const char *rest, *value;
    apr_status_t rv;

    if (name != NULL && *name == '\0') {
        name = NULL;
    }
    kyl_cookie_take(p, header, name ? 1 : 0, &name, &value, &rv, &rest);
    return rest;
}

const char *kyl_cookie_append(apr_pool_t *p, const char *header,
                              const char *name, const char *value)
{
    apr_size_t hl, nl, vl;
    char *out, *w;

    if (!pair_ok(name, value, &nl, &vl)) {
        return NULL;
    }
    hl = header ? strlen(header) : 0;
    w = out = apr_palloc(p, hl + 2 + nl + 1 + vl + 1);
    if (header) {
        memcpy(w, header, hl);
        memcpy(w + hl, "; ", 2);
        w += hl + 2;
    }
    memcpy(w, name, nl);
    w[nl] = '=';
    memcpy(w + nl + 1, value, vl + 1);
    return out;
}

/* name=value takes the place of the first cookie called name and the
 * others go; appended when there is none. */
const char *kyl_cookie_put(apr_pool_t *p, const char *header,
                           const char *name, const char *value)
{
    apr_size_t nl, vl, hl;
    const char *pos = header ? header : "";
    int placed = 0;
    kyl_crumb_t c;
    char *out, *w;

    if (!pair_ok(name, value, &nl, &vl)) {
        return NULL;
    }
    hl = header ? strlen(header) : 0;
    /* each separator grows to at most "; ", each crumb only shrinks */
    w = out = apr_palloc(p, 2 * hl + nl + vl + 4);
    while (next_crumb(&pos, &c)) {
        if (crumb_is(&c, name, nl)) {
            if (!placed) {
                append(out, &w, name, nl, value, vl);
                placed = 1;
            }
        }
        else if (c.len > 0) {
            append(out, &w, c.text, c.len, NULL, 0);
        }
    }
    if (!placed) {
        append(out, &w, name, nl, value, vl);
    }
    *w = '\0';
    return out;
}

const char *kyl_cookie_make(apr_pool_t *p, const char *name, const char *value,
                            int secure, apr_int64_t max_age)
{
    const char *age = "";
    apr_size_t nl, vl;

    if (value == NULL) {
        value = "";
    }
    if (!pair_ok(name, value, &nl, &vl)) {
        return NULL;
    }
    if (max_age == 0) {
        age = "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    }
    else if (max_age > 0) {
        age = apr_psprintf(p, "; Max-Age=%" APR_INT64_T_FMT, max_age);
    }
    return apr_pstrcat(p, name, "=", value, "; Path=/; HttpOnly; SameSite=Lax",
                       secure ? "; Secure" : "", age, NULL);
}

/* --- a node's Set-Cookie ------------------------------------------------ */

/* RFC 6265 5.1.1 date delimiter. */
static int is_date_delim(unsigned char c)
{
    return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40)
        || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* Number of leading digits of t (n bytes) when between min and max and not
 * followed by another digit, else 0. */
static int lead_digits(const char *t, apr_size_t n, int min, int max,
                       int *value)
{
    int i = 0;

    *value = 0;
    while ((apr_size_t)i < n && i <= max && apr_isdigit(t[i])) {
        *value = *value * 10 + (t[i] - '0');
        i++;
    }
    return (i >= min && i <= max) ? i : 0;
}

/* hms-time = 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT, optionally followed. */
static int is_date_time(const char *t, apr_size_t n)
{
    apr_size_t at = 0;
    int k, v, d;

    for (k = 0; k < 3; k++) {
        if ((d = lead_digits(t + at, n - at, 1, 2, &v)) == 0) {
            return 0;
        }
        at += (apr_size_t)d;
        if (k < 2 && (at >= n || t[at++] != ':')) {
            return 0;
        }
    }
    return 1;
}

static int is_date_month(const char *t, apr_size_t n)
{
    static const char *const months[] = {
        "jan", "feb", "mar", "apr", "may", "jun",
        "jul", "aug", "sep", "oct", "nov", "dec"
    };
    int i;

    for (i = 0; n >= 3 && i < 12; i++) {
        if (strncasecmp(t, months[i], 3) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses an Expires date as RFC 6265 5.1.1 does (time, day, month and
 * year tokens in any order) and returns its year, or -1 when it is no
 * date. */
static int cookie_date_year(const char *s, apr_size_t n)
{
    int have_time = 0, have_day = 0, have_month = 0, year = -1, v;
    apr_size_t i = 0;

    while (i < n) {
        const char *t;
        apr_size_t tl = 0;

        while (i < n && is_date_delim((unsigned char)s[i])) {
            i++;
        }
        t = s + i;
        while (i < n && !is_date_delim((unsigned char)s[i])) {
            i++;
            tl++;
        }
        if (tl == 0) {
            break;
        }
        if (!have_time && is_date_time(t, tl)) {
            have_time = 1;
        }
        else if (!have_day && lead_digits(t, tl, 1, 2, &v)) {
            have_day = 1;
        }
        else if (!have_month && is_date_month(t, tl)) {
            have_month = 1;
        }
        else if (year < 0 && lead_digits(t, tl, 2, 4, &v)) {
            year = v + (v >= 70 && v <= 99 ? 1900 : (v <= 69 ? 2000 : 0));
        }
    }
    return (have_time && have_day && have_month) ? year : -1;
}

/* Max-Age: 1 and *secs when it is "-"? DIGITs (RFC 6265 5.2.2), else 0. */
static int parse_max_age(const char *v, apr_size_t n, apr_int64_t *secs)
{
    apr_size_t i = (n > 0 && v[0] == '-') ? 1 : 0;
    apr_int64_t x = 0;

    if (i == n) {
        return 0;
    }
    for (; i < n; i++) {
        if (!apr_isdigit(v[i])) {
            return 0;
        }
        if (x < APR_INT64_C(1000000000000)) {
            x = x * 10 + (v[i] - '0');
        }
    }
    *secs = (v[0] == '-') ? -x : x;
    return 1;
}

/* Reads the attributes after the first ';' and tells whether they delete
 * the cookie.  Max-Age wins over Expires (RFC 6265 5.3 step 3). */
static int attrs_expire(const char *s)
{
    int have_age = 0, old_date = 0;
    apr_int64_t age = 0;

    while (*s != '\0') {
        const char *e = strchr(s, ';'), *a = s, *v;
        apr_size_t alen = e ? (apr_size_t)(e - s) : strlen(s), vlen = 0;
        const char *eq = memchr(a, '=', alen);

        s = e ? e + 1 : a + alen;
        v = eq ? eq + 1 : a + alen;
        vlen = (apr_size_t)(a + alen - v);
        alen = eq ? (apr_size_t)(eq - a) : alen;
        trim(&a, &alen);
        trim(&v, &vlen);
        if (alen == 7 && strncasecmp(a, "max-age", 7) == 0) {
            have_age |= parse_max_age(v, vlen, &age);
        }
        else if (alen == 7 && strncasecmp(a, "expires", 7) == 0) {
            int y = cookie_date_year(v, vlen);
            old_date = (y >= 1601 && y <= 1970);
        }
    }
    return have_age ? (age <= 0) : old_date;
}

apr_status_t kyl_setcookie_parse(apr_pool_t *p, const char *header,
                                 const char **name, const char **value,
                                 int *expired)
{
    const char *semi;
    kyl_crumb_t c;

    *name = *value = NULL;
    *expired = 0;
    if (header == NULL) {
        return APR_EINVAL;
    }
    semi = strchr(header, ';');
    c.text = header;
    c.len = semi ? (apr_size_t)(semi - header) : strlen(header);
    trim(&c.text, &c.len);
    crumb_split(&c);
    if (c.name == NULL || c.nlen == 0 || c.vlen > KYL_COOKIE_MAX
        || has_ctl(c.name, c.nlen) || has_ctl(c.val, c.vlen)) {
        return APR_EINVAL;
    }
    *name = apr_pstrmemdup(p, c.name, c.nlen);
    *value = apr_pstrmemdup(p, c.val, c.vlen);
    *expired = semi ? attrs_expire(semi + 1) : 0;
    return APR_SUCCESS;
}

int kyl_cookie_is_kylin5_session(const char *name)
{
    int i;

    if (name == NULL) {
        return 0;
    }
    for (i = 0; i < 64; i++) {
        if (!((name[i] >= '0' && name[i] <= '9')
              || (name[i] >= 'a' && name[i] <= 'f'))) {
            return 0;
        }
    }
    return name[64] == '\0';
}
