/* Unit tests: kyl_session.c (node table, binary codec). */
#include <string.h>
#include <apr_strings.h>
#include "kyl_test.h"
#include "kyl_session.h"
#include "kyl_crypto.h"

/* Deterministic generator for the property tests (xorshift64*). */
static apr_uint64_t rnd_next(apr_uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * APR_UINT64_C(2685821657736338717);
}

static unsigned rnd(apr_uint64_t *st, unsigned n)
{
    return (unsigned)(rnd_next(st) % n);
}

static int str_same(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

static int nnodes(const kyl_session_t *s)
{
    return s->nodes ? s->nodes->nelts : 0;
}

static void assert_same(const kyl_session_t *a, const kyl_session_t *b)
{
    int i;

    ck_assert_uint_eq(a->version, b->version);
    ck_assert(a->created == b->created);
    ck_assert(a->last_seen == b->last_seen);
    ck_assert(str_same(a->user, b->user));
    ck_assert(str_same(a->credential, b->credential));
    ck_assert(str_same(a->shared_name, b->shared_name));
    ck_assert(str_same(a->shared_value, b->shared_value));
    ck_assert_int_eq(nnodes(a), nnodes(b));
    for (i = 0; i < nnodes(a); i++) {
        const kyl_node_cookie_t *x = &APR_ARRAY_IDX(a->nodes, i, kyl_node_cookie_t);
        const kyl_node_cookie_t *y = &APR_ARRAY_IDX(b->nodes, i, kyl_node_cookie_t);

        ck_assert(str_same(x->node, y->node));
        ck_assert(str_same(x->cookie_name, y->cookie_name));
        ck_assert(str_same(x->cookie_value, y->cookie_value));
    }
}

static kyl_session_t *typical(void)
{
    kyl_session_t *s = kyl_session_make(tp);

    s->version = 7;
    s->user = "ADMIN";
    s->credential = "Basic QURNSU46S1lMSU4=";
    kyl_session_set_node(tp, s, "http://10.0.0.1:7070", "JSESSIONID",
                         "0123456789ABCDEF0123456789ABCDEF");
    kyl_session_set_node(tp, s, "http://10.0.0.2:7070", "JSESSIONID",
                         "1123456789ABCDEF0123456789ABCDEF");
    kyl_session_set_node(tp, s, "http://10.0.0.3:7070", "JSESSIONID",
                         "2123456789ABCDEF0123456789ABCDEF");
    return s;
}

/* --- node table ---------------------------------------------------------- */

START_TEST(make_defaults)
{
    kyl_session_t *s = kyl_session_make(tp);
    apr_int64_t now = apr_time_sec(apr_time_now());

    ck_assert_ptr_nonnull(s->nodes);
    ck_assert_int_eq(s->nodes->nelts, 0);
    ck_assert_uint_eq(s->version, 0);
    ck_assert(s->created <= now && s->created > now - 5);
    ck_assert(s->last_seen == s->created);
    ck_assert_ptr_null(s->user);
    ck_assert_ptr_null(s->shared_name);
}
END_TEST

START_TEST(node_set_get_del)
{
    kyl_session_t *s = kyl_session_make(tp);
    const kyl_node_cookie_t *e;
    char buf[8];

    ck_assert_ptr_null(kyl_session_node(s, "n1"));
    strcpy(buf, "n1");
    kyl_session_set_node(tp, s, buf, "JSESSIONID", "A");
    buf[0] = 'x';   /* the table holds copies */
    kyl_session_set_node(tp, s, "n2", "JSESSIONID", "B");
    e = kyl_session_node(s, "n1");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->node, "n1");
    ck_assert_str_eq(e->cookie_value, "A");
    /* replacing moves the entry to the newest end */
    kyl_session_set_node(tp, s, "n1", "JSESSIONID", "C");
    ck_assert_int_eq(s->nodes->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(s->nodes, 0, kyl_node_cookie_t).node, "n2");
    ck_assert_str_eq(kyl_session_node(s, "n1")->cookie_value, "C");
    kyl_session_del_node(s, "n1");
    ck_assert_ptr_null(kyl_session_node(s, "n1"));
    ck_assert_ptr_nonnull(kyl_session_node(s, "n2"));
    kyl_session_del_node(s, "absent");
    kyl_session_del_node(s, NULL);
    ck_assert_int_eq(s->nodes->nelts, 1);
    ck_assert_ptr_null(kyl_session_node(s, NULL));
    ck_assert_ptr_null(kyl_session_node(NULL, "n2"));
}
END_TEST

/* Each entry carries its Cookie crumb, worked out when the entry is made
 * (set, decoded) and kept by freeze/thaw; a pair that no Cookie header
 * could carry has none, so it is never sent. */
START_TEST(node_crumbs)
{
    kyl_session_t *v[3];        /* as set, as decoded, as thawed */
    unsigned char *buf;
    apr_size_t len;
    int i;

    v[0] = typical();
    kyl_session_set_node(tp, v[0], "bad-value", "JSESSIONID", "a b");
    kyl_session_set_node(tp, v[0], "bad-name", "JSESSION ID", "ab");
    kyl_session_set_node(tp, v[0], "no-value", "JSESSIONID", NULL);
    ck_assert_int_eq(kyl_session_encode(tp, v[0], &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_decode(tp, buf, len, &v[1]), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_freeze(tp, v[1], &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_thaw(tp, buf, len, &v[2]), APR_SUCCESS);
    for (i = 0; i < 3; i++) {
        ck_assert_str_eq(kyl_session_node(v[i], "http://10.0.0.3:7070")->crumb,
                         "JSESSIONID=2123456789ABCDEF0123456789ABCDEF");
        ck_assert_ptr_null(kyl_session_node(v[i], "bad-value")->crumb);
        ck_assert_ptr_null(kyl_session_node(v[i], "bad-name")->crumb);
        ck_assert_ptr_null(kyl_session_node(v[i], "no-value")->crumb);
    }
}
END_TEST

START_TEST(node_null_table)
{
    kyl_session_t s;

    memset(&s, 0, sizeof(s));
    ck_assert_ptr_null(kyl_session_node(&s, "n"));
    kyl_session_del_node(&s, "n");
    kyl_session_set_node(tp, &s, "n", "JSESSIONID", NULL);
    ck_assert_ptr_nonnull(kyl_session_node(&s, "n"));
    ck_assert_ptr_null(kyl_session_node(&s, "n")->cookie_value);
}
END_TEST

START_TEST(node_table_full_drops_oldest)
{
    kyl_session_t *s = kyl_session_make(tp);
    int i;

    for (i = 0; i < KYL_SESSION_MAX_NODES + 3; i++) {
        kyl_session_set_node(tp, s, apr_itoa(tp, i), "JSESSIONID", "v");
        ck_assert_int_le(s->nodes->nelts, KYL_SESSION_MAX_NODES);
    }
    ck_assert_int_eq(s->nodes->nelts, KYL_SESSION_MAX_NODES);
    ck_assert_ptr_null(kyl_session_node(s, "0"));
    ck_assert_ptr_null(kyl_session_node(s, "2"));
    ck_assert_ptr_nonnull(kyl_session_node(s, "3"));
    /* replacing an entry of a full table drops nothing else */
    kyl_session_set_node(tp, s, "3", "JSESSIONID", "w");
    ck_assert_int_eq(s->nodes->nelts, KYL_SESSION_MAX_NODES);
    ck_assert_ptr_nonnull(kyl_session_node(s, "4"));
    ck_assert_str_eq(kyl_session_node(s, "3")->cookie_value, "w");
}
END_TEST

/* --- codec: fixed cases -------------------------------------------------- */

START_TEST(typical_size_and_round_trip)
{
    kyl_session_t *s = typical(), *d;
    kyl_key_t key;
    unsigned char *buf, *sealed;
    apr_size_t len, slen;

    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    /* 25 fixed + 7 user + 24 credential + 2 + 2 (NULL shared cookie)
     * + 3 * (22 node + 12 name + 34 value) */
    ck_assert_uint_eq(len, 264);
    ck_assert_int_eq(kyl_session_decode(tp, buf, len, &d), APR_SUCCESS);
    assert_same(s, d);
    memset(&key, 0, sizeof(key));
    ck_assert_int_eq(kyl_seal(tp, &key, "k", 1, buf, len, &sealed, &slen),
                     APR_SUCCESS);
    ck_assert_uint_eq(slen, 297);
}
END_TEST

START_TEST(null_and_empty_distinct)
{
    kyl_session_t *s = kyl_session_make(tp), *d;
    unsigned char *buf;
    apr_size_t len;

    s->user = "";
    s->credential = NULL;
    s->shared_name = "";
    s->shared_value = NULL;
    s->created = APR_INT64_MIN;
    s->last_seen = APR_INT64_MAX;
    s->version = 0xFFFFFFFFu;
    kyl_session_set_node(tp, s, "", "", NULL);
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_decode(tp, buf, len, &d), APR_SUCCESS);
    assert_same(s, d);
    ck_assert_ptr_nonnull(d->user);
    ck_assert_ptr_null(d->credential);
    ck_assert_ptr_null(APR_ARRAY_IDX(d->nodes, 0, kyl_node_cookie_t).cookie_value);
}
END_TEST

START_TEST(encode_limits)
{
    kyl_session_t *s = kyl_session_make(tp), *d;
    char *big = apr_palloc(tp, KYL_SESSION_MAX_STR + 2);
    unsigned char *buf;
    apr_size_t len;
    int i;

    memset(big, 'x', KYL_SESSION_MAX_STR + 1);
    big[KYL_SESSION_MAX_STR + 1] = '\0';
    s->credential = big;
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_EINVAL);
    big[KYL_SESSION_MAX_STR] = '\0';
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_decode(tp, buf, len, &d), APR_SUCCESS);
    ck_assert_str_eq(d->credential, big);
    /* a hand-built table beyond the limit is refused, not truncated */
    for (i = 0; i <= KYL_SESSION_MAX_NODES; i++) {
        kyl_node_cookie_t *e = apr_array_push(s->nodes);
        e->node = e->cookie_name = e->cookie_value = "n";
    }
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_EINVAL);
    s->nodes->nelts = KYL_SESSION_MAX_NODES;
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    s->nodes = NULL;
    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_decode(tp, buf, len, &d), APR_SUCCESS);
    ck_assert_ptr_nonnull(d->nodes);
    ck_assert_int_eq(d->nodes->nelts, 0);
    ck_assert_int_eq(kyl_session_encode(tp, NULL, &buf, &len), APR_EINVAL);
}
END_TEST

/* Header of a valid record: magic, format 1, flags 0, version, two times. */
#define HDR "KS\x01\x00" "\x00\x00\x00\x01" "\x00\x00\x00\x00\x60\x00\x00\x00" \
            "\x00\x00\x00\x00\x60\x00\x00\x01"
#define NUL4 "\xff\xff\xff\xff\xff\xff\xff\xff"   /* four NULL strings */

static const struct {
    const char *what;
    const char *bytes;
    apr_size_t len;
    apr_status_t rv;
} dec_cases[] = {
#define C(what, b, rv) { what, b, sizeof(b) - 1, rv }
    C("minimal", HDR NUL4 "\x00", APR_SUCCESS),
    C("empty strings", HDR "\x00\x00\x00\x00\x00\x00\x00\x00" "\x00", APR_SUCCESS),
    C("one node", HDR NUL4 "\x01" "\x00\x01n" "\x00\x01j" "\x00\x01v", APR_SUCCESS),
    C("nothing", "", APR_EINVAL),
    C("magic only", "KS", APR_EINVAL),
    C("bad magic", "KT\x01\x00" "\x00\x00\x00\x01" "\x00\x00\x00\x00\x60\x00\x00\x00"
      "\x00\x00\x00\x00\x60\x00\x00\x01" NUL4 "\x00", APR_EINVAL),
    C("format 2", "KS\x02\x00" "\x00\x00\x00\x01" "\x00\x00\x00\x00\x60\x00\x00\x00"
      "\x00\x00\x00\x00\x60\x00\x00\x01" NUL4 "\x00", APR_EINVAL),
    C("unknown flag", "KS\x01\x80" "\x00\x00\x00\x01" "\x00\x00\x00\x00\x60\x00\x00\x00"
      "\x00\x00\x00\x00\x60\x00\x00\x01" NUL4 "\x00", APR_EINVAL),
    C("no count", HDR NUL4, APR_EINVAL),
    C("trailing byte", HDR NUL4 "\x00" "\x00", APR_EINVAL),
    C("string past end", HDR "\x00\x05" "ab" "\xff\xff\xff\xff\xff\xff\x00",
      APR_EINVAL),
    C("length 0xFFFE", HDR "\xff\xfe" NUL4 "\x00", APR_EINVAL),
    C("length 4097", HDR "\x10\x01" NUL4 "\x00", APR_EINVAL),
    C("NUL inside", HDR "\x00\x03" "a\x00" "b" "\xff\xff\xff\xff\xff\xff\x00",
      APR_EINVAL),
    C("count 65", HDR NUL4 "\x41", APR_EINVAL),
    C("count 255", HDR NUL4 "\xff", APR_EINVAL),
    C("count without nodes", HDR NUL4 "\x01", APR_EINVAL),
    C("node cut short", HDR NUL4 "\x01" "\x00\x01n" "\x00\x01j", APR_EINVAL),
    C("node string past end", HDR NUL4 "\x01" "\x00\x01n" "\x00\x01j" "\x00\x09v",
      APR_EINVAL),
    C("two nodes, one given", HDR NUL4 "\x02" "\x00\x01n" "\x00\x01j" "\x00\x01v",
      APR_EINVAL),
#undef C
};

START_TEST(decode_table)
{
    /* a heap copy of exactly len bytes, so ASan catches any over-read */
    apr_size_t len = dec_cases[_i].len;
    unsigned char *b = malloc(len ? len : 1);
    kyl_session_t *s = (kyl_session_t *)1;
    apr_status_t rv;

    memcpy(b, dec_cases[_i].bytes, len);
    rv = kyl_session_decode(tp, b, len, &s);
    free(b);
    ck_assert_msg(rv == dec_cases[_i].rv, "%s", dec_cases[_i].what);
    ck_assert(rv == APR_SUCCESS ? s != NULL : s == NULL);
}
END_TEST

START_TEST(decode_fields)
{
    static const char b[] = HDR "\x00\x05" "ADMIN" "\x00\x00" "\xff\xff"
        "\x00\x02" "\xc3\xa4" "\x01" "\x00\x01n" "\x00\x01j" "\xff\xff";
    kyl_session_t *s;

    ck_assert_int_eq(kyl_session_decode(tp, (const unsigned char *)b, sizeof(b) - 1,
                                        &s), APR_SUCCESS);
    ck_assert_uint_eq(s->version, 1);
    ck_assert(s->created == APR_INT64_C(0x60000000));
    ck_assert(s->last_seen == APR_INT64_C(0x60000001));
    ck_assert_str_eq(s->user, "ADMIN");
    ck_assert_str_eq(s->credential, "");
    ck_assert_ptr_null(s->shared_name);
    ck_assert_str_eq(s->shared_value, "\xc3\xa4");
    ck_assert_str_eq(kyl_session_node(s, "n")->cookie_name, "j");
    ck_assert_ptr_null(kyl_session_node(s, "n")->cookie_value);
    ck_assert_int_eq(kyl_session_decode(tp, NULL, 0, &s), APR_EINVAL);
    ck_assert_int_eq(kyl_session_decode(tp, (const unsigned char *)b, 3, NULL),
                     APR_EINVAL);
}
END_TEST

/* --- codec: properties --------------------------------------------------- */

static const char *rnd_str(apr_uint64_t *st)
{
    unsigned n, i, kind = rnd(st, 64);
    char *s;

    if (kind < 4) {
        return NULL;
    }
    n = kind < 8 ? 0 : kind == 8 ? rnd(st, KYL_SESSION_MAX_STR + 1) : rnd(st, 48);
    s = apr_palloc(tp, n + 1);
    for (i = 0; i < n; i++) {
        s[i] = (char)(1 + rnd(st, 255));    /* any byte but NUL */
    }
    s[n] = '\0';
    return s;
}

static kyl_session_t *rnd_session(apr_uint64_t *st)
{
    kyl_session_t *s = apr_pcalloc(tp, sizeof(*s));
    unsigned n = rnd(st, 4) == 0 ? 0 : rnd(st, KYL_SESSION_MAX_NODES + 1), i;

    s->version = (apr_uint32_t)rnd_next(st);
    s->created = (apr_int64_t)(rnd_next(st) >> 1) - (apr_int64_t)(rnd_next(st) >> 1);
    s->last_seen = (apr_int64_t)rnd(st, 2000000000);
    s->user = rnd_str(st);
    s->credential = rnd_str(st);
    s->shared_name = rnd_str(st);
    s->shared_value = rnd_str(st);
    if (n == 0 && rnd(st, 2)) {
        return s;   /* nodes left NULL */
    }
    s->nodes = apr_array_make(tp, 1, sizeof(kyl_node_cookie_t));
    for (i = 0; i < n; i++) {
        kyl_node_cookie_t *e = apr_array_push(s->nodes);
        e->node = rnd_str(st);
        e->cookie_name = rnd_str(st);
        e->cookie_value = rnd_str(st);
        e->crumb = rnd_str(st);     /* what freeze/thaw must keep as is */
    }
    return s;
}

START_TEST(property_round_trip)
{
    apr_uint64_t st = APR_UINT64_C(0x9E3779B97F4A7C15);
    int i;

    for (i = 0; i < 2000; i++) {
        kyl_session_t *s = rnd_session(&st), *d;
        unsigned char *buf, *again;
        apr_size_t len, len2, cut;

        ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
        ck_assert_int_eq(kyl_session_decode(tp, buf, len, &d), APR_SUCCESS);
        assert_same(s, d);
        ck_assert_int_eq(kyl_session_encode(tp, d, &again, &len2), APR_SUCCESS);
        ck_assert_uint_eq(len, len2);
        ck_assert_mem_eq(buf, again, len);
        /* every truncation fails: all lengths for every 40th record, the
         * ends and 8 random lengths for the others */
        for (cut = 0; cut < len; cut++) {
            if (i % 40 == 0 || cut < 2 || cut + 1 == len || rnd(&st, len) < 8) {
                ck_assert_msg(kyl_session_decode(tp, buf, cut, &d) == APR_EINVAL,
                              "record %d cut at %lu", i, (unsigned long)cut);
            }
        }
        apr_pool_clear(tp);
    }
}
END_TEST

START_TEST(typical_every_truncation)
{
    kyl_session_t *s = typical(), *d;
    unsigned char *buf;
    apr_size_t len, cut;

    ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
    for (cut = 0; cut < len; cut++) {
        unsigned char *b = malloc(cut ? cut : 1);
        memcpy(b, buf, cut);
        ck_assert_int_eq(kyl_session_decode(tp, b, cut, &d), APR_EINVAL);
        free(b);
    }
}
END_TEST

START_TEST(property_random_bytes)
{
    apr_uint64_t st = APR_UINT64_C(0xD1B54A32D192ED03);
    int i, ok = 0;

    for (i = 0; i < 20000; i++) {
        apr_size_t len = rnd(&st, 300), j;
        unsigned char *b = malloc(len ? len : 1);
        kyl_session_t *d;

        for (j = 0; j < len; j++) {
            b[j] = (unsigned char)rnd(&st, 256);
        }
        /* half of them behind a valid header, to get past the magic */
        if (i % 2 && len >= 24) {
            memcpy(b, HDR, 24);
        }
        ok += kyl_session_decode(tp, b, len, &d) == APR_SUCCESS;
        free(b);
        if (i % 1000 == 0) {
            apr_pool_clear(tp);
        }
    }
    ck_assert_int_le(ok, 5);
}
END_TEST

/* Mutated valid records: whatever decodes re-encodes to the same bytes. */
START_TEST(property_mutations_canonical)
{
    apr_uint64_t st = APR_UINT64_C(0x2545F4914F6CDD1D);
    int i;

    for (i = 0; i < 3000; i++) {
        kyl_session_t *s = rnd_session(&st), *d;
        unsigned char *buf, *again;
        apr_size_t len, len2;
        int k;

        ck_assert_int_eq(kyl_session_encode(tp, s, &buf, &len), APR_SUCCESS);
        for (k = 1 + (int)rnd(&st, 3); k > 0; k--) {
            buf[rnd(&st, (unsigned)len)] ^= (unsigned char)(1 + rnd(&st, 255));
        }
        if (kyl_session_decode(tp, buf, len, &d) == APR_SUCCESS) {
            ck_assert_int_eq(kyl_session_encode(tp, d, &again, &len2), APR_SUCCESS);
            ck_assert_uint_eq(len, len2);
            ck_assert_mem_eq(buf, again, len);
        }
        apr_pool_clear(tp);
    }
}
END_TEST

/* --- freeze / thaw (the per-process cache's snapshot) -------------------- */

/* Whatever encodes freezes, and thaws to the same session; every cut of
 * the block, a wrong magic or an offset outside it is refused. */
START_TEST(property_freeze_thaw)
{
    apr_uint64_t st = APR_UINT64_C(0x6A09E667F3BCC908);
    int i, j;

    for (i = 0; i < 2000; i++) {
        kyl_session_t *s = rnd_session(&st), *d;
        unsigned char *buf, *copy;
        apr_size_t len, cut;

        ck_assert_int_eq(kyl_session_freeze(tp, s, &buf, &len), APR_SUCCESS);
        copy = apr_pmemdup(tp, buf, len);
        ck_assert_int_eq(kyl_session_thaw(tp, copy, len, &d), APR_SUCCESS);
        assert_same(s, d);
        for (j = 0; j < nnodes(s); j++) {
            ck_assert(str_same(APR_ARRAY_IDX(s->nodes, j, kyl_node_cookie_t).crumb,
                               APR_ARRAY_IDX(d->nodes, j, kyl_node_cookie_t).crumb));
        }
        /* the thawed session is usable: a node cookie can be added */
        kyl_session_set_node(tp, d, "http://new:7070", "JSESSIONID", "X");
        ck_assert_int_eq(nnodes(d), nnodes(s) + 1 > KYL_SESSION_MAX_NODES
                         ? KYL_SESSION_MAX_NODES : nnodes(s) + 1);
        /* (dropping only the final NUL leaves every string whole) */
        for (cut = 0; cut + 1 < len; cut += 1 + (i % 40 ? rnd(&st, 16) : 0)) {
            ck_assert_int_eq(kyl_session_thaw(tp, buf, cut, &d), APR_EINVAL);
        }
        buf[0] ^= 1;
        ck_assert_int_eq(kyl_session_thaw(tp, buf, len, &d), APR_EINVAL);
        apr_pool_clear(tp);
    }
}
END_TEST

START_TEST(thaw_refuses_foreign_blocks)
{
    kyl_session_t *s = typical(), *d;
    unsigned char *buf, *b;
    apr_size_t len, j;
    apr_uint32_t off;
    apr_uint64_t st = APR_UINT64_C(0xBB67AE8584CAA73B);
    int i, ok = 0;

    ck_assert_int_eq(kyl_session_freeze(tp, s, &buf, &len), APR_SUCCESS);
    /* the user's offset pointing past the end, then into the header */
    b = apr_pmemdup(tp, buf, len);
    off = (apr_uint32_t)len;
    memcpy(b + 12, &off, sizeof(off));
    ck_assert_int_eq(kyl_session_thaw(tp, b, len, &d), APR_EINVAL);
    off = 4;
    memcpy(b + 12, &off, sizeof(off));
    ck_assert_int_eq(kyl_session_thaw(tp, b, len, &d), APR_EINVAL);
    /* no final NUL */
    b = apr_pmemdup(tp, buf, len);
    b[len - 1] = 'x';
    ck_assert_int_eq(kyl_session_thaw(tp, b, len, &d), APR_EINVAL);
    /* an encoded record is no snapshot */
    ck_assert_int_eq(kyl_session_encode(tp, s, &b, &len), APR_SUCCESS);
    ck_assert_int_eq(kyl_session_thaw(tp, b, len, &d), APR_EINVAL);
    ck_assert_int_eq(kyl_session_thaw(tp, NULL, 0, &d), APR_EINVAL);
    ck_assert_int_eq(kyl_session_freeze(tp, NULL, &b, &len), APR_EINVAL);
    /* random bytes after a valid magic: refused, or strings inside */
    for (i = 0; i < 20000; i++) {
        apr_size_t n = 49 + rnd(&st, 200);

        b = apr_palloc(tp, n);
        for (j = 0; j < n; j++) {
            b[j] = (unsigned char)rnd(&st, 256);
        }
        memcpy(b, buf, 4);
        b[n - 1] = '\0';
        if (kyl_session_thaw(tp, b, n, &d) == APR_SUCCESS) {
            ok++;
            ck_assert(d->user == NULL || (d->user > (const char *)b
                                          && d->user < (const char *)b + n));
        }
        if (i % 1000 == 0) {
            apr_pool_clear(tp);
        }
    }
    ck_assert_int_le(ok, 20000);
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("kyl_session");
    TCase *tc = kyl_tcase("nodes");

    tcase_add_test(tc, make_defaults);
    tcase_add_test(tc, node_set_get_del);
    tcase_add_test(tc, node_crumbs);
    tcase_add_test(tc, node_null_table);
    tcase_add_test(tc, node_table_full_drops_oldest);
    suite_add_tcase(s, tc);

    tc = kyl_tcase("codec");
    tcase_add_test(tc, typical_size_and_round_trip);
    tcase_add_test(tc, null_and_empty_distinct);
    tcase_add_test(tc, encode_limits);
    tcase_add_loop_test(tc, decode_table, 0, KYL_ARRAY_LEN(dec_cases));
    tcase_add_test(tc, decode_fields);
    tcase_add_test(tc, typical_every_truncation);
    suite_add_tcase(s, tc);

    tc = kyl_tcase("properties");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, property_round_trip);
    tcase_add_test(tc, property_random_bytes);
    tcase_add_test(tc, property_mutations_canonical);
    tcase_add_test(tc, property_freeze_thaw);
    tcase_add_test(tc, thaw_refuses_foreign_blocks);
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(session_suite)
