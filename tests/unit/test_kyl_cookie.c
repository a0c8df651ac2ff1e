/* Unit tests: kyl_cookie.c (Cookie lookup, strip, put; Set-Cookie both ways). */
#include <string.h>
#include <apr_strings.h>
#include "kyl_test.h"
#include "kyl_cookie.h"

#define LB    "KYLIN_LB_SESSION"
#define ID    "q8mG3xQJ0p1sZ6f2T9bLr4VwYc7kHnA5dEuOiS-_aBC"   /* 43 chars */
#define K5    "7c6c6e3e5daa430f9b9005890733664cf6e995d4ff23aa6b8043935382df64b6"
#define K5VAL "ZjQ2YTlhNzAtN2Q3Mi00ZjY0LWE2NWEtYjM5YjQ1NmE0N2Ux"
#define JSID  "5A1C2E3F4B5D6A7B8C9D0E1F2A3B4C5D"

/* --- kyl_cookie_get ------------------------------------------------------ */

static const struct {
    const char *header;
    const char *name;
    apr_status_t rv;
    const char *value;
} get_cases[] = {
    { NULL, LB, APR_NOTFOUND, NULL },
    { "", LB, APR_NOTFOUND, NULL },
    { "   ", LB, APR_NOTFOUND, NULL },
    { LB "=" ID, LB, APR_SUCCESS, ID },
    /* what browsers send */
    { "_ga=GA1.1.1234567890.1700000000; " LB "=" ID "; " K5 "=" K5VAL,
      LB, APR_SUCCESS, ID },
    { "_ga=GA1.1.1234567890.1700000000; " LB "=" ID "; " K5 "=" K5VAL,
      K5, APR_SUCCESS, K5VAL },
    { "JSESSIONID=" JSID "; " LB "=" ID, "JSESSIONID", APR_SUCCESS, JSID },
    { "a=1;" LB "=" ID ";b=2", LB, APR_SUCCESS, ID },
    /* httpd's merge of repeated Cookie headers */
    { "a=1, " LB "=" ID, LB, APR_SUCCESS, ID },
    { "a=1," LB "=" ID, LB, APR_SUCCESS, ID },
    { "a=1; b=2, c=3; " LB "=" ID, LB, APR_SUCCESS, ID },
    /* commas inside another value are no separator */
    { "a=1,2,3; " LB "=" ID, LB, APR_SUCCESS, ID },
    /* blanks, quotes, empty crumbs */
    { "  " LB " = " ID "  ; b=2", LB, APR_SUCCESS, ID },
    { "\t" LB "=" ID "\t", LB, APR_SUCCESS, ID },
    { LB "=\"" ID "\"", LB, APR_SUCCESS, ID },
    { ";;; ;" LB "=" ID ";;", LB, APR_SUCCESS, ID },
    { "=junk; " LB "=" ID, LB, APR_SUCCESS, ID },
    { "a=1; Path=/; HttpOnly; " LB "=" ID "; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      LB, APR_SUCCESS, ID },
    { LB "=ab=c", LB, APR_SUCCESS, "ab=c" },
    /* names are exact and case-sensitive */
    { "X" LB "=" ID, LB, APR_NOTFOUND, NULL },
    { LB "X=" ID, LB, APR_NOTFOUND, NULL },
    { "kylin_lb_session=" ID, LB, APR_NOTFOUND, NULL },
    { "a=" LB "=" ID, LB, APR_NOTFOUND, NULL },
    { LB "; a=1", LB, APR_NOTFOUND, NULL },
    { LB, LB, APR_NOTFOUND, NULL },
    /* duplicates */
    { LB "=" ID "; " LB "=" ID, LB, APR_SUCCESS, ID },
    { LB "=\"" ID "\"; " LB "=" ID, LB, APR_SUCCESS, ID },
    { LB "=" ID "; " LB "=other", LB, APR_EINVAL, NULL },
    { LB "=" ID ", " LB "=other", LB, APR_EINVAL, NULL },
    { LB "=" ID "; a=1; " LB "=" ID "; " LB "=x", LB, APR_EINVAL, NULL },
    { "X" LB "=a; " LB "=" ID, LB, APR_SUCCESS, ID },
    /* empty, controls, non-ASCII */
    { LB "=", LB, APR_EINVAL, NULL },
    { LB "=\"\"", LB, APR_EINVAL, NULL },
    { LB "= ; a=1", LB, APR_EINVAL, NULL },
    { LB "=" ID "\r\nX-Injected: 1", LB, APR_EINVAL, NULL },
    { LB "=a\x01" "b", LB, APR_EINVAL, NULL },
    { LB "=\xc3\xa4\xc3\xb6", LB, APR_SUCCESS, "\xc3\xa4\xc3\xb6" },
    { "n\xc3\xa4me=1; " LB "=" ID, LB, APR_SUCCESS, ID },
    /* bad names */
    { LB "=" ID, "", APR_EINVAL, NULL },
    { LB "=" ID, NULL, APR_EINVAL, NULL },
};

START_TEST(get_table)
{
    const char *v = "unset";
    apr_status_t rv = kyl_cookie_get(tp, get_cases[_i].header, get_cases[_i].name, &v);

    ck_assert_msg(rv == get_cases[_i].rv, "case %d: rv %d", _i, rv);
    if (get_cases[_i].value) {
        ck_assert_str_eq(v, get_cases[_i].value);
    }
    else {
        ck_assert_ptr_null(v);
    }
}
END_TEST

START_TEST(get_oversized)
{
    char *val = apr_palloc(tp, KYL_COOKIE_MAX + 2);
    const char *v;

    memset(val, 'a', KYL_COOKIE_MAX + 1);
    val[KYL_COOKIE_MAX + 1] = '\0';
    ck_assert_int_eq(kyl_cookie_get(tp, apr_pstrcat(tp, "x=1; " LB "=", val, NULL),
                                    LB, &v), APR_EINVAL);
    val[KYL_COOKIE_MAX] = '\0';
    ck_assert_int_eq(kyl_cookie_get(tp, apr_pstrcat(tp, LB "=", val, NULL), LB, &v),
                     APR_SUCCESS);
    ck_assert_uint_eq(strlen(v), KYL_COOKIE_MAX);
    /* quotes do not count */
    ck_assert_int_eq(kyl_cookie_get(tp, apr_pstrcat(tp, LB "=\"", val, "\"", NULL),
                                    LB, &v), APR_SUCCESS);
}
END_TEST

/* --- kyl_cookie_strip / kyl_cookie_put ----------------------------------- */

static const struct {
    const char *header;
    const char *name;
    const char *out;
} strip_cases[] = {
    { NULL, LB, NULL },
    { "", LB, NULL },
    { LB "=" ID, LB, NULL },
    { LB "=" ID "; " LB "=x", LB, NULL },
    { "a=1; " LB "=" ID "; b=2", LB, "a=1; b=2" },
    { LB "=" ID "; b=2", LB, "b=2" },
    { "a=1, " LB "=" ID ", b=2", LB, "a=1; b=2" },
    { "a=1,2,3; " LB "=" ID, LB, "a=1,2,3" },
    { "X" LB "=1; " LB "=" ID "; " LB "X=2", LB, "X" LB "=1; " LB "X=2" },
    { "a=\"q v\"; " LB "=" ID, LB, "a=\"q v\"" },
    { "a=1;;b=2", LB, "a=1; b=2" },
    { "junk; " LB "=" ID "; =x", LB, "junk; =x" },
    { "  " LB " = " ID " ;c=3", LB, "c=3" },
    { "n\xc3\xa4me=\xff; " LB "=" ID, LB, "n\xc3\xa4me=\xff" },
    { "a=1; b=2", "", "a=1; b=2" },
    { "a=1; b=2", NULL, "a=1; b=2" },
    { "JSESSIONID=" JSID "; " LB "=" ID "; " K5 "=" K5VAL, LB,
      "JSESSIONID=" JSID "; " K5 "=" K5VAL },
};

START_TEST(strip_table)
{
    const char *out = kyl_cookie_strip(tp, strip_cases[_i].header, strip_cases[_i].name);

    if (strip_cases[_i].out) {
        ck_assert_msg(out != NULL, "case %d", _i);
        ck_assert_str_eq(out, strip_cases[_i].out);
    }
    else {
        ck_assert_ptr_null(out);
    }
}
END_TEST

static const struct {
    const char *header;
    const char *name;
    const char *value;
    const char *out;
} put_cases[] = {
    { NULL, "JSESSIONID", JSID, "JSESSIONID=" JSID },
    { "", "JSESSIONID", JSID, "JSESSIONID=" JSID },
    { "a=1", "JSESSIONID", JSID, "a=1; JSESSIONID=" JSID },
    { "a=1; JSESSIONID=old", "JSESSIONID", JSID, "a=1; JSESSIONID=" JSID },
    { "JSESSIONID=old; a=1; JSESSIONID=old2", "JSESSIONID", JSID,
      "JSESSIONID=" JSID "; a=1" },
    { "a=1, b=2", "JSESSIONID", JSID, "a=1; b=2; JSESSIONID=" JSID },
    { "xJSESSIONID=1", "JSESSIONID", JSID, "xJSESSIONID=1; JSESSIONID=" JSID },
    { "a=1", K5, K5VAL, "a=1; " K5 "=" K5VAL },
    { "a=1", "JSESSIONID", "\"" JSID "\"", "a=1; JSESSIONID=\"" JSID "\"" },
    { "a=1", "JSESSIONID", "", "a=1; JSESSIONID=" },
    /* nothing that could split or end the header gets in */
    { "a=1", "JSESSIONID", "x\r\nX-Injected: 1", NULL },
    { "a=1", "JSESSIONID", "x; admin=1", NULL },
    { "a=1", "JSESSIONID", "x,admin=1", NULL },
    { "a=1", "JSESSIONID", "x y", NULL },
    { "a=1", "JSESSIONID", "\xc3\xa4", NULL },
    { "a=1", "JSESSIONID", "a\"b", NULL },
    { "a=1", "JSESSIONID", NULL, NULL },
    { "a=1", "JSESS IONID", "x", NULL },
    { "a=1", "JSESSIONID\r\n", "x", NULL },
    { "a=1", "a=b", "x", NULL },
    { "a=1", "", "x", NULL },
    { "a=1", NULL, "x", NULL },
};

START_TEST(put_table)
{
    const char *out = kyl_cookie_put(tp, put_cases[_i].header, put_cases[_i].name,
                                     put_cases[_i].value);

    if (put_cases[_i].out) {
        ck_assert_msg(out != NULL, "case %d", _i);
        ck_assert_str_eq(out, put_cases[_i].out);
    }
    else {
        ck_assert_ptr_null(out);
    }
}
END_TEST

/* strip and put agree with get: after a strip get finds nothing, after a
 * put get finds exactly the value put. */
START_TEST(strip_put_agree_with_get)
{
    const char *h = get_cases[_i].header, *v, *out;

    if (get_cases[_i].name == NULL || *get_cases[_i].name == '\0') {
        return;
    }
    out = kyl_cookie_strip(tp, h, get_cases[_i].name);
    ck_assert_int_eq(kyl_cookie_get(tp, out, get_cases[_i].name, &v), APR_NOTFOUND);
    out = kyl_cookie_put(tp, h, get_cases[_i].name, "fresh");
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(kyl_cookie_get(tp, out, get_cases[_i].name, &v), APR_SUCCESS);
    ck_assert_str_eq(v, "fresh");
    ck_assert_ptr_null(strpbrk(out, "\r\n"));
}
END_TEST

/* --- kyl_cookie_take / kyl_cookie_append --------------------------------- */

/* Taking two names in one pass gives, for each, what get gives, and the
 * header that stripping both one after the other leaves. */
START_TEST(take_two_agrees_with_get_and_strip)
{
    const char *h = get_cases[_i].header, *names[2], *values[2], *rest, *v;
    apr_status_t rv[2];
    size_t j;

    for (j = 0; j < KYL_ARRAY_LEN(get_cases); j++) {
        names[0] = get_cases[_i].name;
        names[1] = get_cases[j].name;
        kyl_cookie_take(tp, h, 2, names, values, rv, &rest);
        ck_assert_int_eq(rv[0], kyl_cookie_get(tp, h, names[0], &v));
        if (v) {
            ck_assert_str_eq(values[0], v);
        }
        else {
            ck_assert_ptr_null(values[0]);
        }
        if (names[1] == NULL || names[0] == NULL || strcmp(names[0], names[1])) {
            ck_assert_int_eq(rv[1], kyl_cookie_get(tp, h, names[1], &v));
        }
        v = kyl_cookie_strip(tp, kyl_cookie_strip(tp, h, names[0]), names[1]);
        if (v) {
            ck_assert_ptr_nonnull(rest);
            ck_assert_str_eq(rest, v);
        }
        else {
            ck_assert_ptr_null(rest);
        }
    }
}
END_TEST

START_TEST(take_only_ours_leaves_nothing)
{
    const char *names[2] = { LB, LB "_ROUTE" }, *values[2], *rest = "x";
    apr_status_t rv[2];

    kyl_cookie_take(tp, LB "=" ID, 2, names, values, rv, &rest);
    ck_assert_int_eq(rv[0], APR_SUCCESS);
    ck_assert_str_eq(values[0], ID);
    ck_assert_int_eq(rv[1], APR_NOTFOUND);
    ck_assert_ptr_null(values[1]);
    ck_assert_ptr_null(rest);
    kyl_cookie_take(tp, " " LB "_ROUTE=0a1b2c3d ;; " LB "=\"" ID "\", a=1,2",
                    2, names, values, rv, &rest);
    ck_assert_str_eq(values[0], ID);
    ck_assert_str_eq(values[1], "0a1b2c3d");
    ck_assert_str_eq(rest, "a=1,2");
}
END_TEST

static const struct {
    const char *header, *name, *value, *out;
} append_cases[] = {
    { NULL, "JSESSIONID", JSID, "JSESSIONID=" JSID },
    { "a=1", "JSESSIONID", JSID, "a=1; JSESSIONID=" JSID },
    { "a=1", K5, "\"" K5VAL "\"", "a=1; " K5 "=\"" K5VAL "\"" },
    { "a=1", "JSESSIONID", "x\r\nSet-Cookie: evil=1", NULL },
    { "a=1", "JSESSIONID", "x; Domain=evil", NULL },
    { "a=1", "JSESSIONID", NULL, NULL },
    { "a=1", "bad name", "v", NULL },
    { "a=1", NULL, "v", NULL },
};

START_TEST(append_table)
{
    const char *out = kyl_cookie_append(tp, append_cases[_i].header,
                                        append_cases[_i].name,
                                        append_cases[_i].value);

    if (append_cases[_i].out) {
        ck_assert_ptr_nonnull(out);
        ck_assert_str_eq(out, append_cases[_i].out);
    }
    else {
        ck_assert_ptr_null(out);
    }
}
END_TEST

/* The character classes against RFC 6265/7230, byte by byte, through
 * the public functions that use them. */
START_TEST(character_classes)
{
    static const char tsym[] = "!#$%&'*+-.^_`|~";
    unsigned c;

    for (c = 1; c < 256; c++) {
        int ctl = (c < 0x20 && c != '\t') || c == 0x7F;
        int octet = c >= 0x21 && c <= 0x7E && c != '"' && c != ',' && c != ';'
                    && c != '\\';
        int tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                    || (c >= '0' && c <= '9') || (c < 128 && strchr(tsym, (int)c));
        char value[4] = { 'a', (char)c, 'b', 0 }, hdr[8] = "n=a";
        const char *got;

        ck_assert_msg((kyl_cookie_put(tp, NULL, "n", value) != NULL) == octet,
                      "value byte 0x%02x", c);
        ck_assert_msg((kyl_cookie_put(tp, NULL, value, "v") != NULL) == tchar,
                      "name byte 0x%02x", c);
        if (c != ';' && c != ',' && c != '"' && c != ' ') {
            hdr[3] = (char)c;
            hdr[4] = 'b';
            hdr[5] = '\0';
            ck_assert_msg((kyl_cookie_get(tp, hdr, "n", &got) == APR_EINVAL) == ctl,
                          "control byte 0x%02x", c);
        }
    }
}
END_TEST

/* Long values are checked eight bytes at a time: every byte at every
 * position of values of 1 to 40 bytes gets the byte-by-byte verdict. */
START_TEST(control_bytes_anywhere_in_long_values)
{
    char hdr[64];
    apr_size_t len, at;
    unsigned c;
    const char *got;

    for (len = 1; len <= 40; len++) {
        for (at = 0; at < len; at++) {
            for (c = 1; c < 256; c++) {
                int ctl = (c < 0x20 && c != '\t') || c == 0x7F;

                if (c == ';' || c == ',' || c == '"'
                    || ((c == ' ' || c == '\t') && (at == 0 || at == len - 1))) {
                    continue;       /* separators end, blanks at the ends trim */
                }
                memcpy(hdr, "n=", 2);
                memset(hdr + 2, 'a', len);
                hdr[2 + at] = (char)c;
                hdr[2 + len] = '\0';
                ck_assert_msg((kyl_cookie_get(tp, hdr, "n", &got) == APR_EINVAL) == ctl,
                              "byte 0x%02x at %zu of %zu", c, at, len);
            }
        }
    }
}
END_TEST

/* --- kyl_cookie_make ----------------------------------------------------- */

static const struct {
    const char *name;
    const char *value;
    int secure;
    apr_int64_t max_age;
    const char *out;
} make_cases[] = {
    { LB, ID, 0, -1, LB "=" ID "; Path=/; HttpOnly; SameSite=Lax" },
    { LB, ID, 1, -1, LB "=" ID "; Path=/; HttpOnly; SameSite=Lax; Secure" },
    { LB, ID, 1, 28800,
      LB "=" ID "; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=28800" },
    { LB, "", 0, 0, LB "=; Path=/; HttpOnly; SameSite=Lax; "
      "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" },
    { LB, NULL, 1, 0, LB "=; Path=/; HttpOnly; SameSite=Lax; Secure; "
      "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" },
    { LB, "a\r\nSet-Cookie: evil=1", 0, -1, NULL },
    { LB, "a;Domain=evil.example", 0, -1, NULL },
    { LB, "a,b", 0, -1, NULL },
    { LB, "a b", 0, -1, NULL },
    { LB, "\xc3\xa4", 0, -1, NULL },
    { LB, "a\\b", 0, -1, NULL },
    { "bad name", ID, 0, -1, NULL },
    { "bad\r\nname", ID, 0, -1, NULL },
    { "", ID, 0, -1, NULL },
    { NULL, ID, 0, -1, NULL },
};

START_TEST(make_table)
{
    const char *out = kyl_cookie_make(tp, make_cases[_i].name, make_cases[_i].value,
                                      make_cases[_i].secure, make_cases[_i].max_age);

    if (make_cases[_i].out) {
        ck_assert_msg(out != NULL, "case %d", _i);
        ck_assert_str_eq(out, make_cases[_i].out);
    }
    else {
        ck_assert_ptr_null(out);
    }
}
END_TEST

/* What we send parses back as we meant it. */
START_TEST(make_then_parse)
{
    const char *n, *v;
    int expired;

    ck_assert_int_eq(kyl_setcookie_parse(tp, kyl_cookie_make(tp, LB, ID, 1, 60),
                                         &n, &v, &expired), APR_SUCCESS);
    ck_assert_str_eq(n, LB);
    ck_assert_str_eq(v, ID);
    ck_assert_int_eq(expired, 0);
    ck_assert_int_eq(kyl_setcookie_parse(tp, kyl_cookie_make(tp, LB, "", 1, 0),
                                         &n, &v, &expired), APR_SUCCESS);
    ck_assert_int_eq(expired, 1);
}
END_TEST

/* --- kyl_setcookie_parse ------------------------------------------------- */

static const struct {
    const char *header;
    apr_status_t rv;
    const char *name;
    const char *value;
    int expired;
} sc_cases[] = {
    /* Kylin 2.x-4.x (Tomcat) */
    { "JSESSIONID=" JSID "; Path=/kylin; HttpOnly", APR_SUCCESS, "JSESSIONID", JSID, 0 },
    { "JSESSIONID=" JSID "; Path=/kylin/; HttpOnly", APR_SUCCESS, "JSESSIONID", JSID, 0 },
    { "JSESSIONID=" JSID ";Path=/kylin;HttpOnly", APR_SUCCESS, "JSESSIONID", JSID, 0 },
    { "JSESSIONID=; Max-Age=0; Expires=Thu, 01-Jan-1970 00:00:10 GMT; Path=/kylin",
      APR_SUCCESS, "JSESSIONID", "", 1 },
    /* Kylin 5 (Spring Session) */
    { K5 "=" K5VAL "; Path=/kylin/; HttpOnly; SameSite=Lax",
      APR_SUCCESS, K5, K5VAL, 0 },
    { K5 "=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/kylin/; "
      "HttpOnly; SameSite=Lax", APR_SUCCESS, K5, "", 1 },
    /* attribute names in any case; Max-Age wins over Expires */
    { "JSESSIONID=x; max-age=0", APR_SUCCESS, "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; MAX-AGE=-1", APR_SUCCESS, "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; Max-Age = 0 ", APR_SUCCESS, "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; Max-Age=3600", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=99999999999999999999999", APR_SUCCESS,
      "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
      APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=abc", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=-", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Max-Age=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
      APR_SUCCESS, "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; EXPIRES=thu, 01 jan 1970 00:00:00 gmt", APR_SUCCESS,
      "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; expires=Thursday, 01-Jan-70 00:00:10 GMT", APR_SUCCESS,
      "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; Expires=Thu Jan  1 00:00:10 1970", APR_SUCCESS,
      "JSESSIONID", "x", 1 },
    { "JSESSIONID=x; Expires=Wed, 21 Oct 2037 07:28:00 GMT", APR_SUCCESS,
      "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Expires=Sat, 01 Jan 2000 00:00:00 GMT", APR_SUCCESS,
      "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Expires=garbage", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Expires=1970", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Expires=", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=x; Path=/kylin; 1970", APR_SUCCESS, "JSESSIONID", "x", 0 },
    /* name and value as sent */
    { " JSESSIONID = x ; Path=/", APR_SUCCESS, "JSESSIONID", "x", 0 },
    { "JSESSIONID=\"x\"", APR_SUCCESS, "JSESSIONID", "\"x\"", 0 },
    { "a=b=c", APR_SUCCESS, "a", "b=c", 0 },
    { "a=", APR_SUCCESS, "a", "", 0 },
    { "a=\xc3\xa4", APR_SUCCESS, "a", "\xc3\xa4", 0 },
    /* refused */
    { "", APR_EINVAL, NULL, NULL, 0 },
    { "   ", APR_EINVAL, NULL, NULL, 0 },
    { "JSESSIONID", APR_EINVAL, NULL, NULL, 0 },
    { "noequals; Path=/", APR_EINVAL, NULL, NULL, 0 },
    { "=x; Path=/", APR_EINVAL, NULL, NULL, 0 },
    { " =x", APR_EINVAL, NULL, NULL, 0 },
    { "; JSESSIONID=x", APR_EINVAL, NULL, NULL, 0 },
    { "JSESSIONID=a\r\nSet-Cookie: evil=1", APR_EINVAL, NULL, NULL, 0 },
    { "JSESS\nIONID=a", APR_EINVAL, NULL, NULL, 0 },
    { "JSESSIONID=a\x7f", APR_EINVAL, NULL, NULL, 0 },
    { NULL, APR_EINVAL, NULL, NULL, 0 },
};

START_TEST(setcookie_table)
{
    const char *n = "unset", *v = "unset";
    int expired = -1;
    apr_status_t rv = kyl_setcookie_parse(tp, sc_cases[_i].header, &n, &v, &expired);

    ck_assert_msg(rv == sc_cases[_i].rv, "case %d: rv %d", _i, rv);
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_null(n);
        ck_assert_ptr_null(v);
        return;
    }
    ck_assert_str_eq(n, sc_cases[_i].name);
    ck_assert_str_eq(v, sc_cases[_i].value);
    ck_assert_msg(expired == sc_cases[_i].expired, "case %d: expired %d", _i, expired);
}
END_TEST

START_TEST(setcookie_oversized)
{
    char *val = apr_palloc(tp, KYL_COOKIE_MAX + 2);
    const char *n, *v;
    int expired;

    memset(val, 'a', KYL_COOKIE_MAX + 1);
    val[KYL_COOKIE_MAX + 1] = '\0';
    ck_assert_int_eq(kyl_setcookie_parse(tp, apr_pstrcat(tp, "JSESSIONID=", val,
                                                         "; Path=/", NULL),
                                         &n, &v, &expired), APR_EINVAL);
    val[KYL_COOKIE_MAX] = '\0';
    ck_assert_int_eq(kyl_setcookie_parse(tp, apr_pstrcat(tp, "JSESSIONID=", val, NULL),
                                         &n, &v, &expired), APR_SUCCESS);
}
END_TEST

/* --- Kylin 5 cookie name ------------------------------------------------- */

static const struct {
    const char *name;
    int yes;
} k5_cases[] = {
    { K5, 1 },
    { "0000000000000000000000000000000000000000000000000000000000000000", 1 },
    { "7C6C6E3E5DAA430F9B9005890733664CF6E995D4FF23AA6B8043935382DF64B6", 0 },
    { "7c6c6e3e5daa430f9b9005890733664cf6e995d4ff23aa6b8043935382df64b", 0 },
    { K5 "0", 0 },
    { "7c6c6e3e5daa430f9b9005890733664cf6e995d4ff23aa6b8043935382df64bg", 0 },
    { " 7c6c6e3e5daa430f9b9005890733664cf6e995d4ff23aa6b8043935382df64b", 0 },
    { "JSESSIONID", 0 },
    { "", 0 },
    { NULL, 0 },
};

START_TEST(kylin5_table)
{
    ck_assert_int_eq(kyl_cookie_is_kylin5_session(k5_cases[_i].name), k5_cases[_i].yes);
}
END_TEST

static Suite *cookie_suite(void)
{
    Suite *s = suite_create("kyl_cookie");
    TCase *tc = kyl_tcase("request");

    tcase_add_loop_test(tc, get_table, 0, KYL_ARRAY_LEN(get_cases));
    tcase_add_test(tc, get_oversized);
    tcase_add_loop_test(tc, strip_table, 0, KYL_ARRAY_LEN(strip_cases));
    tcase_add_loop_test(tc, put_table, 0, KYL_ARRAY_LEN(put_cases));
    tcase_add_loop_test(tc, strip_put_agree_with_get, 0, KYL_ARRAY_LEN(get_cases));
    tcase_add_loop_test(tc, take_two_agrees_with_get_and_strip, 0,
                        KYL_ARRAY_LEN(get_cases));
    tcase_add_test(tc, take_only_ours_leaves_nothing);
    tcase_add_test(tc, character_classes);
    tcase_add_test(tc, control_bytes_anywhere_in_long_values);
    tcase_add_loop_test(tc, append_table, 0, KYL_ARRAY_LEN(append_cases));
    suite_add_tcase(s, tc);

    tc = kyl_tcase("response");
    tcase_add_loop_test(tc, make_table, 0, KYL_ARRAY_LEN(make_cases));
    tcase_add_test(tc, make_then_parse);
    tcase_add_loop_test(tc, setcookie_table, 0, KYL_ARRAY_LEN(sc_cases));
    tcase_add_test(tc, setcookie_oversized);
    tcase_add_loop_test(tc, kylin5_table, 0, KYL_ARRAY_LEN(k5_cases));
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(cookie_suite)
