/* Parsers for Kylin REST answers (kylin-rest.md s. 4.1, 8, 10).
 *
 * Every parser takes untrusted bytes with a length, refuses bodies over
 * KYL_PARSE_MAX_BODY, never keeps a pointer into the body or into jansson's
 * values (strings are copied into the caller's pool) and reports failures
 * as short static strings. */
#include <string.h>
#include <apr_strings.h>
#include <apr_cstr.h>
#include <jansson.h>
#include "kyl_parse.h"

#define KYL_MSG_MAX   1024  /* bytes of an error message kept */
#define KYL_CODE_MAX  64    /* bytes of an error code kept */
#define KYL_HOST_MAX  255   /* bytes of a server's host:port */

/* ---- helpers ------------------------------------------------------------ */

static apr_status_t fail(const char **err, const char *why)
{
    if (err != NULL) {
        *err = why;
    }
    return APR_EINVAL;
}

/* Decodes body; NULL (with *err set) when it is empty, too large or not JSON.
 * flags: JSON_DECODE_ANY to accept a bare scalar. */
static json_t *load(const char *body, apr_size_t len, size_t flags, const char **err)
{
    json_error_t jerr;
    json_t *j;

    if (body == NULL || len == 0) {
        fail(err, "empty body");
        return NULL;
    }
    if (len > KYL_PARSE_MAX_BODY) {
        fail(err, "body too large");
        return NULL;
    }
    /* jansson stops at a NUL byte and ignores what follows: refuse it */
    j = memchr(body, '\0', len) != NULL
        ? NULL : json_loadb(body, len, flags | JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        fail(err, "not JSON");
    }
    return j;
}

static json_t *load_object(const char *body, apr_size_t len, const char **err)
{
    json_t *j = load(body, len, 0, err);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        fail(err, "not a JSON object");
        return NULL;
    }
    return j;
}

/* The string member key of o, or NULL when absent or not a string. */
static const char *str_member(json_t *o, const char *key, apr_size_t *len)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v)) {
        return NULL;
    }
    if (len != NULL) {
        *len = json_string_length(v);
    }
    return json_string_value(v);
}

/* 1 when a 5.x/KAP envelope carries a code other than "000". */
static int is_error_envelope(json_t *o)
{
    const char *code = str_member(o, "code", NULL);

    return code != NULL && strcmp(code, "000") != 0;
}

/* Does s (n bytes) contain needle? */
static int contains(const char *s, apr_size_t n, const char *needle)
{
    apr_size_t m = strlen(needle), i;

    for (i = 0; m <= n && i <= n - m; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) {
            return 1;
        }
    }
    return 0;
}

static int member_contains(json_t *o, const char *key, const char *needle)
{
    apr_size_t n = 0;
    const char *s = str_member(o, key, &n);

    return s != NULL && contains(s, n, needle);
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static apr_size_t utf8_cut(const char *s, apr_size_t n, apr_size_t max)
{
    if (n <= max) {
        return n;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    return max;
}

/* Copies a JSON string member into p (cut to max bytes), NULL when absent. */
static const char *copy_member(apr_pool_t *p, json_t *o, const char *key,
                               apr_size_t max)
{
    apr_size_t n = 0;
    const char *s = str_member(o, key, &n);

    return s != NULL ? apr_pstrmemdup(p, s, utf8_cut(s, n, max)) : NULL;
}

/* ---- health, version, booleans ------------------------------------------ */

apr_status_t kyl_parse_health(const char *body, apr_size_t len, int *up,
                              const char **err)
{
    json_t *j = load_object(body, len, err);
    json_t *st;
    apr_status_t rv;

    if (j == NULL) {
        return APR_EINVAL;
    }
    st = json_object_get(j, "status");
    if (st == NULL) {
        rv = fail(err, "no status field");
    }
    else if (!json_is_string(st)) {
        rv = fail(err, "status is not a string");
    }
    else {
        *up = strcmp(json_string_value(st), "UP") == 0;
        rv = APR_SUCCESS;
    }
    json_decref(j);
    return rv;
}

/* Copies s into ver (at most verlen-1 bytes), replacing anything that is
 * not printable ASCII so that the status page can show it as is. */
static void copy_version(char *ver, apr_size_t verlen, const char *s, apr_size_t n)
{
    apr_size_t i;

    if (ver == NULL || verlen == 0) {
        return;
    }
    for (i = 0; i < n && i + 1 < verlen; i++) {
        unsigned char c = (unsigned char)s[i];
        ver[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    ver[i] = '\0';
}

/* Generation from the major number of a version such as "3.1.3". */
static apr_status_t version_gen(const char *s, kyl_gen_e *gen, const char **err)
{
    static const char *const unexpected[10] = {
        "unexpected version 0.x", "unexpected version 1.x", "unexpected version 2.x",
        "unexpected version 3.x", "unexpected version 4.x", "unexpected version 5.x",
        "unexpected version 6.x", "unexpected version 7.x", "unexpected version 8.x",
        "unexpected version 9.x"
    };
    int major = 0, digits = 0;

    while (*s == ' ' || *s == '\t' || *s == 'v' || *s == 'V') {
        s++;
    }
    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++) {
        major = major * 10 + (*s - '0');
    }
    if (digits == 0 || (*s != '\0' && *s != '.' && *s != '-')) {
        return fail(err, "kylin.version is not a version number");
    }
    if (major < KYL_GEN_2 || major > KYL_GEN_5) {
        return fail(err, major < 10 ? unexpected[major] : "unexpected version");
    }
    if (gen != NULL) {
        *gen = (kyl_gen_e)major;
    }
    return APR_SUCCESS;
}

apr_status_t kyl_parse_version(const char *body, apr_size_t len, char *ver,
                               apr_size_t verlen, kyl_gen_e *gen,
                               const char **err)
{
    json_t *j = load_object(body, len, err);
    json_t *v;
    apr_status_t rv;

    if (j == NULL) {
        return APR_EINVAL;
    }
    v = json_object_get(j, "kylin.version");
    if (v == NULL) {
        rv = fail(err, "no kylin.version");
    }
    else if (!json_is_string(v)) {
        rv = fail(err, "kylin.version is not a string");
    }
    else {
        copy_version(ver, verlen, json_string_value(v), json_string_length(v));
        rv = version_gen(json_string_value(v), gen, err);
    }
    json_decref(j);
    return rv;
}

/* A JSON true/false, or a string "true"/"false" (any case). */
static apr_status_t bool_value(json_t *v, int *val, const char **err)
{
    if (json_is_boolean(v)) {
        *val = json_is_true(v);
        return APR_SUCCESS;
    }
    if (json_is_string(v) && apr_cstr_casecmp(json_string_value(v), "true") == 0) {
        *val = 1;
        return APR_SUCCESS;
    }
    if (json_is_string(v) && apr_cstr_casecmp(json_string_value(v), "false") == 0) {
        *val = 0;
        return APR_SUCCESS;
    }
    return fail(err, "not a boolean");
}

apr_status_t kyl_parse_bool(const char *body, apr_size_t len, int *val,
                            const char **err)
{
    json_t *j = load(body, len, JSON_DECODE_ANY, err);
    apr_status_t rv;

    if (j == NULL) {
        return APR_EINVAL;
    }
    if (!json_is_object(j)) {
        rv = bool_value(j, val, err);
    }
    else if (is_error_envelope(j)) {
        rv = fail(err, "error answer");
    }
    else if (json_object_get(j, "data") == NULL) {
        rv = fail(err, "no data field");
    }
    else {
        rv = bool_value(json_object_get(j, "data"), val, err);
    }
    json_decref(j);
    return rv;
}

int kyl_parse_is_not_curator(const char *body, apr_size_t len)
{
    static const char phrase[] = "Only meaningful when scheduler is CuratorScheduler";
    json_t *j = load_object(body, len, NULL);
    int yes;

    if (j == NULL) {
        return 0;
    }
    yes = member_contains(j, "msg", phrase) || member_contains(j, "exception", phrase);
    json_decref(j);
    return yes;
}

/* ---- java.util.Properties ----------------------------------------------- */

typedef struct {
    const char *p;
    const char *end;
} kyl_text_t;

static int is_prop_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

/* Reads the next logical line into line (as Properties.LineReader does):
 * leading blanks skipped, blank and comment lines dropped, a line ending in
 * an odd number of backslashes joined with the next one (whose leading
 * blanks are skipped).  Escapes are kept.  Returns 0 at the end. */
static int props_line(kyl_text_t *t, char *line, apr_size_t *len)
{
    apr_size_t n = 0;
    int skip_blank = 1, joined = 0, fresh = 1, comment = 0, bs = 0, skip_lf = 0;

    while (t->p < t->end) {
        char c = *t->p++;

        if (skip_lf) {
            skip_lf = 0;
            if (c == '\n') {
                continue;
            }
        }
        if (skip_blank) {
            if (is_prop_blank(c) || (!joined && (c == '\r' || c == '\n'))) {
                continue;
            }
            skip_blank = joined = 0;
        }
        if (fresh) {
            fresh = 0;
            if (c == '#' || c == '!') {
                comment = 1;
                continue;
            }
        }
        if (c != '\n' && c != '\r') {
            line[n++] = c;
            bs = c == '\\' ? !bs : 0;
        }
        else if (comment || n == 0) {
            comment = bs = 0;
            fresh = skip_blank = 1;
            n = 0;
        }
        else if (bs) {
            n--;                        /* continuation: drop the backslash */
            bs = 0;
            skip_blank = joined = 1;
            skip_lf = c == '\r';
        }
        else {
            *len = n;
            return 1;
        }
    }
    if (n == 0 || comment) {
        return 0;
    }
    *len = bs ? n - 1 : n;
    return 1;
}

static int hex4(const char *s, apr_size_t n, apr_size_t i, unsigned int *cp)
{
    apr_size_t k;

    *cp = 0;
    if (n - i < 4) {
        return 0;
    }
    for (k = i; k < i + 4; k++) {
        char c = s[k];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) {
            return 0;
        }
        *cp = *cp * 16 + (unsigned int)d;
    }
    return 1;
}

static char *utf8_put(char *o, unsigned int cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    }
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes the 4 hex digits of a \u escape at s[*i] (and a following low
 * surrogate) as UTF-8.  A malformed escape leaves a literal 'u'; a lone
 * surrogate or U+0000 becomes U+FFFD.  Never writes more than it reads. */
static char *props_unicode(const char *s, apr_size_t n, apr_size_t *i, char *o)
{
    unsigned int cp, lo;

    if (!hex4(s, n, *i, &cp)) {
        *o++ = 'u';
        return o;
    }
    *i += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && n - *i >= 6 && s[*i] == '\\'
        && s[*i + 1] == 'u' && hex4(s, n, *i + 2, &lo) && lo >= 0xDC00
        && lo < 0xE000) {
        *i += 6;
        return utf8_put(o, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
    }
    if (cp == 0 || (cp >= 0xD800 && cp < 0xE000)) {
        cp = 0xFFFD;
    }
    return utf8_put(o, cp);
}

/* Properties.loadConvert: resolves backslash escapes into a pool string. */
static char *props_unescape(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out = apr_palloc(p, n + 1), *o = out;
    apr_size_t i = 0;

    while (i < n) {
        char c = s[i++];

        if (c != '\\') {
            *o++ = c;
            continue;
        }
        if (i == n) {
            break;                      /* a lone trailing backslash */
        }
        c = s[i++];
        switch (c) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': o = props_unicode(s, n, &i, o); break;
        default:  *o++ = c; break;
        }
    }
    *o = '\0';
    return out;
}

/* Properties.load0: splits a logical line into key and value. */
static void props_entry(apr_pool_t *p, const char *line, apr_size_t n,
                        apr_table_t *props)
{
    apr_size_t klen = 0, vstart = n;
    int sep = 0, bs = 0;

    for (; klen < n; klen++) {
        char c = line[klen];

        if (!bs && (c == '=' || c == ':' || is_prop_blank(c))) {
            sep = c == '=' || c == ':';
            vstart = klen + 1;
            break;
        }
        bs = c == '\\' ? !bs : 0;
    }
    for (; vstart < n; vstart++) {
        char c = line[vstart];

        if (!is_prop_blank(c)) {
            if (sep || (c != '=' && c != ':')) {
                break;
            }
            sep = 1;
        }
    }
    apr_table_set(props, props_unescape(p, line, klen),
                  props_unescape(p, line + vstart, n - vstart));
}

static void props_parse(apr_pool_t *p, const char *text, apr_size_t n,
                        apr_table_t *props)
{
    kyl_text_t t;
    char *line = apr_palloc(p, n + 1);
    apr_size_t len;

    t.p = text;
    t.end = text + n;
    while (props_line(&t, line, &len)) {
        props_entry(p, line, len, props);
    }
}

apr_status_t kyl_parse_config(apr_pool_t *p, const char *body, apr_size_t len,
                              apr_table_t **props, const char **err)
{
    json_t *j = load_object(body, len, err);
    json_t *text;
    apr_status_t rv = APR_SUCCESS;

    if (j == NULL) {
        return APR_EINVAL;
    }
    text = json_object_get(j, "config");
    if (text == NULL) {
        text = json_object_get(j, "data");
    }
    if (is_error_envelope(j)) {
        rv = fail(err, "error answer");
    }
    else if (text == NULL) {
        rv = fail(err, "no config field");
    }
    else if (!json_is_string(text)) {
        rv = fail(err, "config is not a string");
    }
    else {
        *props = apr_table_make(p, 64);
        props_parse(p, json_string_value(text), json_string_length(text), *props);
    }
    json_decref(j);
    return rv;
}

/* ---- server lists (5.x) ------------------------------------------------- */

/* A host:port as Kylin registered it: printable ASCII, no blanks. */
static int host_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || n > KYL_HOST_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Appends one servers[] entry; 0 when it is malformed. */
static int server_add(apr_pool_t *p, json_t *e, apr_array_header_t *out)
{
    json_t *h = json_is_object(e) ? json_object_get(e, "host") : e;
    const char *mode = json_is_object(e) ? str_member(e, "mode", NULL) : NULL;
    kyl_server_t *s;

    if (!json_is_string(h) || !host_ok(json_string_value(h), json_string_length(h))) {
        return 0;
    }
    s = apr_array_push(out);
    s->host = apr_pstrmemdup(p, json_string_value(h), json_string_length(h));
    if (mode == NULL || kyl_mode_parse(mode, &s->mode) != APR_SUCCESS) {
        s->mode = KYL_MODE_UNKNOWN;
    }
    return 1;
}

static apr_status_t servers_list(apr_pool_t *p, json_t *list,
                                 apr_array_header_t **servers, const char **err)
{
    apr_array_header_t *out = apr_array_make(p, 8, sizeof(kyl_server_t));
    size_t i;
    int good = 0;

    for (i = 0; i < json_array_size(list); i++) {
        good += server_add(p, json_array_get(list, i), out);
    }
    if (json_array_size(list) > 0 && good == 0) {
        return fail(err, "no valid server entry");
    }
    *servers = out;
    return APR_SUCCESS;
}

apr_status_t kyl_parse_servers(apr_pool_t *p, const char *body, apr_size_t len,
                               apr_array_header_t **servers, int *maintenance,
                               const char **err)
{
    json_t *j = load_object(body, len, err);
    json_t *data, *list, *mm;
    apr_status_t rv;

    *maintenance = 0;
    if (j == NULL) {
        return APR_EINVAL;
    }
    data = json_object_get(j, "data");
    list = json_is_object(data) ? json_object_get(data, "servers") : data;
    mm = json_object_get(json_object_get(data, "status"), "maintenance_mode");
    if (is_error_envelope(j)) {
        rv = fail(err, "error answer");
    }
    else if (data == NULL) {
        rv = fail(err, "no data field");
    }
    else if (!json_is_array(list)) {
        rv = fail(err, "no servers list");
    }
    else {
        rv = servers_list(p, list, servers, err);
        *maintenance = json_is_true(mm);
    }
    json_decref(j);
    return rv;
}

/* ---- error answers -------------------------------------------------------- */

/* An envelope or ErrorResponse: at least one of its string members. */
static int is_kylin_answer(json_t *o)
{
    return str_member(o, "code", NULL) || str_member(o, "error_code", NULL)
           || str_member(o, "msg", NULL) || str_member(o, "exception", NULL);
}

apr_status_t kyl_parse_error(apr_pool_t *p, const char *body, apr_size_t len,
                             const char **error_code, const char **msg)
{
    json_t *j = load_object(body, len, NULL);
    const char *code = NULL, *text = NULL;
    apr_status_t rv = APR_EINVAL;

    if (j != NULL && is_kylin_answer(j)) {
        code = copy_member(p, j, "error_code", KYL_CODE_MAX);
        text = copy_member(p, j, "msg", KYL_MSG_MAX);
        if (text == NULL || *text == '\0') {
            const char *alt = copy_member(p, j, "exception", KYL_MSG_MAX);
            text = alt != NULL ? alt : text;
        }
        rv = APR_SUCCESS;
    }
    if (error_code != NULL) {
        *error_code = code;
    }
    if (msg != NULL) {
        *msg = text;
    }
    json_decref(j);
    return rv;
}

int kyl_parse_is_job_mode_refusal(int status, const char *body, apr_size_t len)
{
    static const char phrase[] = "not allowed in 'job' mode";
    const char *code;
    json_t *j;
    int yes;

    if (status != 400 && status != 500) {
        return 0;
    }
    if ((j = load_object(body, len, NULL)) == NULL) {
        return 0;
    }
    code = str_member(j, "error_code", NULL);
    yes = member_contains(j, "msg", phrase) || member_contains(j, "exception", phrase)
          || (status == 500 && code != NULL && strcmp(code, "KE-040023202") == 0);
    json_decref(j);
    return yes;
}

const char *kyl_parse_cluster_error(const char *body, apr_size_t len)
{
    static const char *const codes[] = {
        "KE-010021004",     /* no active leader */
        "KE-010021002",     /* recovering */
        "KE-040024201",     /* maintenance mode */
    };
    json_t *j = load_object(body, len, NULL);
    const char *code, *found = NULL;
    size_t i;

    if (j == NULL) {
        return NULL;
    }
    code = str_member(j, "error_code", NULL);
    for (i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]); i++) {
        if (strcmp(code, codes[i]) == 0) {
            found = codes[i];
        }
    }
    json_decref(j);
    return found;
}
