/* Unit tests: kyl_crypto.c (HKDF, AES-256-GCM sealing, ids, store keys). */
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "kyl_test.h"
#include "kyl_crypto.h"

/* --- an independent HKDF-SHA256 (RFC 5869) built on HMAC ----------------- */

static void hmac256(const unsigned char *k, apr_size_t klen,
                    const unsigned char *d, apr_size_t dlen, unsigned char *out)
{
    unsigned int n = 0;

    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k, (int)klen, d, dlen, out, &n));
    ck_assert_uint_eq(n, 32);
}

/* okm[len], len <= 64: T(1) | T(2). */
static void ref_hkdf(const unsigned char *salt, apr_size_t saltlen,
                     const unsigned char *ikm, apr_size_t ikmlen,
                     const unsigned char *info, apr_size_t infolen,
                     unsigned char *okm, apr_size_t len)
{
    unsigned char prk[32], t[32], msg[32 + 256 + 1];
    apr_size_t mlen = 0, done = 0;
    unsigned char i;

    ck_assert(len <= 64 && infolen <= 256);
    hmac256(salt, saltlen, ikm, ikmlen, prk);
    for (i = 1; done < len; i++) {
        mlen = 0;
        if (i > 1) {
            memcpy(msg, t, 32);
            mlen = 32;
        }
        memcpy(msg + mlen, info, infolen);
        mlen += infolen;
        msg[mlen++] = i;
        hmac256(prk, 32, msg, mlen, t);
        memcpy(okm + done, t, len - done < 32 ? len - done : 32);
        done += len - done < 32 ? len - done : 32;
    }
}

static void unhex(const char *h, unsigned char *out)
{
    apr_size_t i;

    for (i = 0; h[2 * i]; i++) {
        unsigned int b;
        ck_assert(sscanf(h + 2 * i, "%2x", &b) == 1);
        out[i] = (unsigned char)b;
    }
}

START_TEST(hkdf_rfc5869_case1)
{
    unsigned char ikm[22], salt[13], info[10], okm[42], want[42];
    apr_size_t i;

    memset(ikm, 0x0b, sizeof(ikm));
    for (i = 0; i < sizeof(salt); i++) {
        salt[i] = (unsigned char)i;
    }
    for (i = 0; i < sizeof(info); i++) {
        info[i] = (unsigned char)(0xf0 + i);
    }
    unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
          "34007208d5b887185865", want);
    ref_hkdf(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info),
             okm, sizeof(okm));
    ck_assert_mem_eq(okm, want, sizeof(want));
}
END_TEST

/* kyl_key_derive is HKDF-SHA256 with our salt and labels, as the reference
 * (checked against RFC 5869 above) computes it. */
START_TEST(derive_matches_reference)
{
    static const char salt[] = "mod_kylin_balancer";
    unsigned char secret[48], want[32];
    kyl_key_t key;
    apr_size_t i;

    for (i = 0; i < sizeof(secret); i++) {
        secret[i] = (unsigned char)(i * 7 + 3);
    }
    ck_assert_int_eq(kyl_key_derive(&key, secret, sizeof(secret)), APR_SUCCESS);
    ref_hkdf((const unsigned char *)salt, strlen(salt), secret, sizeof(secret),
             (const unsigned char *)"kylin-lb v1 enc", 15, want, 32);
    ck_assert_mem_eq(key.enc, want, 32);
    ref_hkdf((const unsigned char *)salt, strlen(salt), secret, sizeof(secret),
             (const unsigned char *)"kylin-lb v1 mac", 15, want, 32);
    ck_assert_mem_eq(key.mac, want, 32);
    ref_hkdf((const unsigned char *)salt, strlen(salt), secret, sizeof(secret),
             (const unsigned char *)"kylin-lb v1 kid", 15, want, 4);
    ck_assert_mem_eq(key.kid, want, 4);
    ck_assert(memcmp(key.enc, key.mac, 32) != 0);
    ck_assert(memcmp(key.enc, secret, 32) != 0);
}
END_TEST

START_TEST(derive_limits)
{
    unsigned char secret[KYL_SECRET_MIN];
    kyl_key_t key;

    memset(secret, 'x', sizeof(secret));
    ck_assert_int_eq(kyl_key_derive(&key, secret, KYL_SECRET_MIN - 1), APR_EINVAL);
    ck_assert_int_eq(kyl_key_derive(&key, secret, 0), APR_EINVAL);
    ck_assert_int_eq(kyl_key_derive(&key, NULL, 64), APR_EINVAL);
    ck_assert_int_eq(kyl_key_derive(NULL, secret, KYL_SECRET_MIN), APR_EINVAL);
    ck_assert_int_eq(kyl_key_derive(&key, secret, KYL_SECRET_MIN), APR_SUCCESS);
}
END_TEST

/* --- sealing ------------------------------------------------------------- */

static void make_key(kyl_key_t *key, char fill)
{
    unsigned char secret[40];

    memset(secret, fill, sizeof(secret));
    ck_assert_int_eq(kyl_key_derive(key, secret, sizeof(secret)), APR_SUCCESS);
}

static void make_ring(kyl_keyring_t *ring, char cur, char prev)
{
    memset(ring, 0, sizeof(*ring));
    make_key(&ring->cur, cur);
    if (prev) {
        make_key(&ring->prev, prev);
        ring->has_prev = 1;
    }
}

static void seal(const kyl_key_t *key, const char *aad, const void *plain,
                 apr_size_t plen, unsigned char **out, apr_size_t *outlen)
{
    ck_assert_int_eq(kyl_seal(tp, key, aad, aad ? strlen(aad) : 0, plain, plen,
                              out, outlen), APR_SUCCESS);
    ck_assert_uint_eq(*outlen, plen + KYL_SEAL_OVERHEAD);
}

static apr_status_t open_(const kyl_keyring_t *ring, const char *aad,
                          const unsigned char *in, apr_size_t inlen,
                          unsigned char **plain, apr_size_t *plen, int *prev)
{
    return kyl_open(tp, ring, aad, aad ? strlen(aad) : 0, in, inlen, plain,
                    plen, prev);
}

static const apr_size_t sizes[] = { 0, 1, 15, 16, 17, 31, 33, 264, 1000, 70000 };

START_TEST(seal_round_trip)
{
    kyl_keyring_t ring;
    unsigned char *sealed, *plain, *in = apr_palloc(tp, sizes[_i] + 1);
    apr_size_t slen, plen, i;
    int prev = -1;

    for (i = 0; i < sizes[_i]; i++) {
        in[i] = (unsigned char)(i * 31 + 7);
    }
    make_ring(&ring, 'a', 0);
    seal(&ring.cur, "kylb1:abc", in, sizes[_i], &sealed, &slen);
    ck_assert_uint_eq(sealed[0], 0x01);
    ck_assert_mem_eq(sealed + 1, ring.cur.kid, 4);
    ck_assert_int_eq(open_(&ring, "kylb1:abc", sealed, slen, &plain, &plen, &prev),
                     APR_SUCCESS);
    ck_assert_uint_eq(plen, sizes[_i]);
    ck_assert_int_eq(prev, 0);
    ck_assert(sizes[_i] == 0 || memcmp(plain, in, sizes[_i]) == 0);
    ck_assert_uint_eq(plain[plen], 0);
}
END_TEST

/* A record sealed by an earlier build (0.1, 67 bytes) still opens: the
 * sealed format is what memcached holds across an upgrade. */
START_TEST(seal_format_stable)
{
    static const unsigned char sealed[] =
        "\x01\xb2\x22\xad\xc4\xcc\x1e\x59\xbb\x99\xa2\xc2\xb9\xce\xeb\x12"
        "\x1a\x80\x93\x94\x9f\xa3\x42\x10\x6a\x69\xb6\xac\x31\x1b\x19\xa2"
        "\x58\x6e\xa3\x82\xa0\xd1\xe1\x18\xaf\xe2\x78\xc6\x3c\xf2\x9a\xe7"
        "\x4a\x7f\xa1\xe4\xfa\x20\xd7\xf6\xd3\x61\x57\xd7\x45\x6f\xc5\xa2"
        "\xc0\x9c\xac";
    static const char expect[] = "kylin session record sealed by 0.1";
    unsigned char secret[32], *plain;
    apr_size_t plen;
    kyl_keyring_t ring;
    int prev = -1;

    memset(&ring, 0, sizeof(ring));
    memset(secret, 'k', sizeof(secret));
    ck_assert_int_eq(kyl_key_derive(&ring.cur, secret, sizeof(secret)), APR_SUCCESS);
    ck_assert_int_eq(open_(&ring, "kylb1:kat", sealed, sizeof(sealed) - 1, &plain,
                           &plen, &prev), APR_SUCCESS);
    ck_assert_uint_eq(plen, strlen(expect));
    ck_assert_mem_eq(plain, expect, plen);
    ck_assert_int_eq(open_(&ring, "kylb1:kau", sealed, sizeof(sealed) - 1, &plain,
                           &plen, &prev), APR_EINVAL);
}
END_TEST

START_TEST(seal_nonce_fresh)
{
    kyl_key_t key;
    unsigned char *a, *b;
    apr_size_t alen, blen;

    make_key(&key, 'a');
    seal(&key, "k", "same", 4, &a, &alen);
    seal(&key, "k", "same", 4, &b, &blen);
    ck_assert(memcmp(a + 5, b + 5, 12) != 0);
    ck_assert(memcmp(a, b, alen) != 0);
}
END_TEST

START_TEST(seal_every_bit_flip_rejected)
{
    static const char msg[] = "{\"user\":\"ADMIN\"} some session bytes";
    kyl_keyring_t ring;
    unsigned char *sealed, *copy, *plain;
    apr_size_t slen, plen, bit;

    make_ring(&ring, 'a', 'b');
    seal(&ring.cur, "kylb1:key", msg, sizeof(msg), &sealed, &slen);
    copy = apr_pmemdup(tp, sealed, slen);
    for (bit = 0; bit < slen * 8; bit++) {
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        ck_assert_msg(open_(&ring, "kylb1:key", copy, slen, &plain, &plen, NULL)
                      == APR_EINVAL, "bit %lu accepted", (unsigned long)bit);
        ck_assert_ptr_null(plain);
        copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    ck_assert_int_eq(open_(&ring, "kylb1:key", copy, slen, &plain, &plen, NULL),
                     APR_SUCCESS);
}
END_TEST

START_TEST(seal_truncation_rejected)
{
    kyl_keyring_t ring;
    unsigned char *sealed, *plain, *longer;
    apr_size_t slen, plen, n;

    make_ring(&ring, 'a', 0);
    seal(&ring.cur, "k", "0123456789abcdef0123", 20, &sealed, &slen);
    for (n = 0; n < slen; n++) {
        /* A fresh copy of exactly n bytes, so ASan sees any over-read. */
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, sealed, n);
        ck_assert_msg(open_(&ring, "k", cut, n, &plain, &plen, NULL) == APR_EINVAL,
                      "length %lu accepted", (unsigned long)n);
        free(cut);
    }
    longer = apr_palloc(tp, slen + 1);
    memcpy(longer, sealed, slen);
    longer[slen] = 0;
    ck_assert_int_eq(open_(&ring, "k", longer, slen + 1, &plain, &plen, NULL),
                     APR_EINVAL);
    ck_assert_int_eq(open_(&ring, "k", NULL, 0, &plain, &plen, NULL), APR_EINVAL);
}
END_TEST

static const char *const aads[] = { "", "kylb1:ke", "kylb1:kez", "kylb1:keY",
                                     "Kylb1:key", "kylb1:key " };

START_TEST(seal_wrong_aad_rejected)
{
    kyl_keyring_t ring;
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    make_ring(&ring, 'a', 0);
    seal(&ring.cur, "kylb1:key", "v", 1, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, aads[_i], sealed, slen, &plain, &plen, NULL),
                     APR_EINVAL);
    /* and the other way round: sealed without aad, opened with one */
    seal(&ring.cur, NULL, "v", 1, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, NULL, sealed, slen, &plain, &plen, NULL),
                     APR_SUCCESS);
    if (*aads[_i]) {
        ck_assert_int_eq(open_(&ring, aads[_i], sealed, slen, &plain, &plen, NULL),
                         APR_EINVAL);
    }
}
END_TEST

START_TEST(seal_foreign_key_rejected)
{
    kyl_keyring_t ring;
    kyl_key_t other;
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;

    make_ring(&ring, 'a', 'b');
    make_key(&other, 'c');
    seal(&other, "k", "secret", 6, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, NULL),
                     APR_EINVAL);
    /* Same key id, different key: the tag decides. */
    memcpy(other.kid, ring.cur.kid, 4);
    seal(&other, "k", "secret", 6, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, NULL),
                     APR_EINVAL);
    /* Version byte other than 1. */
    seal(&ring.cur, "k", "secret", 6, &sealed, &slen);
    sealed[0] = 0x02;
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, NULL),
                     APR_EINVAL);
}
END_TEST

START_TEST(seal_previous_key)
{
    kyl_keyring_t ring;
    kyl_key_t old;
    unsigned char *sealed, *plain;
    apr_size_t slen, plen;
    int prev = -1;

    make_key(&old, 'a');
    make_ring(&ring, 'b', 'a');
    seal(&old, "k", "old", 3, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, &prev),
                     APR_SUCCESS);
    ck_assert_int_eq(prev, 1);
    ck_assert_mem_eq(plain, "old", 3);
    seal(&ring.cur, "k", "new", 3, &sealed, &slen);
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, &prev),
                     APR_SUCCESS);
    ck_assert_int_eq(prev, 0);
    /* Rotation finished: the previous key no longer opens anything. */
    seal(&old, "k", "old", 3, &sealed, &slen);
    ring.has_prev = 0;
    ck_assert_int_eq(open_(&ring, "k", sealed, slen, &plain, &plen, &prev),
                     APR_EINVAL);
    ck_assert_int_eq(prev, 0);
}
END_TEST

START_TEST(seal_bad_args)
{
    kyl_keyring_t ring;
    unsigned char *out = (unsigned char *)"x";
    apr_size_t outlen = 7;

    make_ring(&ring, 'a', 0);
    ck_assert_int_eq(kyl_seal(tp, NULL, "k", 1, "v", 1, &out, &outlen), APR_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(outlen, 0);
    ck_assert_int_eq(kyl_seal(tp, &ring.cur, NULL, 3, "v", 1, &out, &outlen),
                     APR_EINVAL);
    ck_assert_int_eq(kyl_seal(tp, &ring.cur, "k", 1, NULL, 3, &out, &outlen),
                     APR_EINVAL);
    ck_assert_int_eq(kyl_seal(tp, &ring.cur, NULL, 0, NULL, 0, &out, &outlen),
                     APR_SUCCESS);
    ck_assert_int_eq(kyl_open(tp, NULL, NULL, 0, out, outlen, &out, &outlen, NULL),
                     APR_EINVAL);
}
END_TEST

/* --- ids, store keys, base64url ------------------------------------------ */

START_TEST(ids_unique_and_valid)
{
    apr_hash_t *seen = apr_hash_make(tp);
    int i;

    for (i = 0; i < 10000; i++) {
        char *id = apr_palloc(tp, KYL_ID_LEN + 1);

        ck_assert_int_eq(kyl_random_id(id), APR_SUCCESS);
        ck_assert_uint_eq(strlen(id), KYL_ID_LEN);
        ck_assert(kyl_id_valid(id, strlen(id)));
        ck_assert_ptr_null(apr_hash_get(seen, id, KYL_ID_LEN));
        apr_hash_set(seen, id, KYL_ID_LEN, id);
    }
    ck_assert_uint_eq(apr_hash_count(seen), 10000);
}
END_TEST

static const struct {
    const char *s;
    apr_size_t len;     /* 0: strlen */
    int valid;
} id_cases[] = {
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, 1 },
    { "abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE", 0, 1 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAA\0AAAAAAAAAAAAAAAAAAAAA", 43, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", 0, 0 },
    { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xc3\xa4", 0, 0 },
    { "", 0, 0 },
};

START_TEST(id_valid_table)
{
    const char *s = id_cases[_i].s;
    apr_size_t len = id_cases[_i].len ? id_cases[_i].len : strlen(s);

    ck_assert_int_eq(kyl_id_valid(s, len), id_cases[_i].valid);
}
END_TEST

/* A memcached ASCII-protocol key: 1..250 bytes, no blanks or controls. */
static int memcached_key_ok(const char *k)
{
    apr_size_t n = strlen(k), i;

    for (i = 0; i < n; i++) {
        if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f) {
            return 0;
        }
    }
    return n > 0 && n < 250;
}

START_TEST(store_key_properties)
{
    kyl_key_t a, b;
    char id[KYL_ID_LEN + 1], id2[KYL_ID_LEN + 1];
    char k1[KYL_STORE_KEY_MAX], k2[KYL_STORE_KEY_MAX], k3[KYL_STORE_KEY_MAX];
    int i;

    make_key(&a, 'a');
    make_key(&b, 'b');
    for (i = 0; i < 500; i++) {
        ck_assert_int_eq(kyl_random_id(id), APR_SUCCESS);
        ck_assert_int_eq(kyl_random_id(id2), APR_SUCCESS);
        kyl_store_key(&a, id, k1);
        kyl_store_key(&a, id, k2);
        ck_assert_str_eq(k1, k2);
        ck_assert(memcached_key_ok(k1));
        ck_assert_uint_eq(strlen(k1), 6 + KYL_ID_LEN);
        ck_assert(strncmp(k1, "kylb1:", 6) == 0);
        ck_assert_ptr_null(strstr(k1, id));
        kyl_store_key(&b, id, k3);
        ck_assert_str_ne(k1, k3);
        kyl_store_key(&a, id2, k3);
        ck_assert_str_ne(k1, k3);
    }
    /* Whatever the id, the key stays valid. */
    kyl_store_key(&a, "", k1);
    ck_assert(memcached_key_ok(k1));
    kyl_store_key(&a, "with space\r\n\x01\xff", k1);
    ck_assert(memcached_key_ok(k1));
}
END_TEST

static const struct {
    const char *in;
    apr_size_t len;
    const char *out;
} b64_cases[] = {   /* RFC 4648 section 10, url alphabet, no padding */
    { "", 0, "" }, { "f", 1, "Zg" }, { "fo", 2, "Zm8" }, { "foo", 3, "Zm9v" },
    { "foob", 4, "Zm9vYg" }, { "fooba", 5, "Zm9vYmE" }, { "foobar", 6, "Zm9vYmFy" },
    { "\xfb\xff", 2, "-_8" }, { "\xff\xff\xff", 3, "____" }, { "\x00", 1, "AA" },
};

/* The precomputed-pad HMAC equals OpenSSL's own HMAC-SHA256, for ids of
 * every length around the SHA-256 block boundaries. */
START_TEST(store_key_is_hmac_sha256)
{
    kyl_key_t key;
    unsigned char secret[48], mac[32];
    unsigned int maclen = 0;
    char id[200], out[KYL_STORE_KEY_MAX], want[KYL_STORE_KEY_MAX];
    apr_size_t n;

    memset(secret, 0x5a, sizeof(secret));
    ck_assert_int_eq(kyl_key_derive(&key, secret, sizeof(secret)), APR_SUCCESS);
    for (n = 0; n < sizeof(id) - 1; n++) {
        memset(id, 'a' + (int)(n % 26), n);
        id[n] = '\0';
        kyl_store_key(&key, id, out);
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key.mac, sizeof(key.mac),
                                   (const unsigned char *)id, n, mac, &maclen));
        memcpy(want, "kylb1:", 6);
        kyl_b64url_encode(want + 6, mac, maclen);
        want[6 + KYL_ID_LEN] = '\0';
        ck_assert_str_eq(out, want);
    }
}
END_TEST

START_TEST(b64url_table)
{
    char out[16];

    memset(out, '#', sizeof(out));
    ck_assert_uint_eq(kyl_b64url_encode(out, (const unsigned char *)b64_cases[_i].in,
                                        b64_cases[_i].len),
                      strlen(b64_cases[_i].out));
    ck_assert_str_eq(out, b64_cases[_i].out);
}
END_TEST

START_TEST(ct_equal)
{
    ck_assert(kyl_ct_equal("abc", "abc", 3));
    ck_assert(!kyl_ct_equal("abc", "abd", 3));
    ck_assert(!kyl_ct_equal("\x00", "\x80", 1));
    ck_assert(kyl_ct_equal("x", "y", 0));
}
END_TEST

static Suite *crypto_suite(void)
{
    Suite *s = suite_create("kyl_crypto");
    TCase *tc = kyl_tcase("kdf");

    tcase_add_test(tc, hkdf_rfc5869_case1);
    tcase_add_test(tc, derive_matches_reference);
    tcase_add_test(tc, derive_limits);
    suite_add_tcase(s, tc);

    tc = kyl_tcase("seal");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, seal_round_trip, 0, KYL_ARRAY_LEN(sizes));
    tcase_add_test(tc, seal_nonce_fresh);
    tcase_add_test(tc, seal_format_stable);
    tcase_add_test(tc, seal_every_bit_flip_rejected);
    tcase_add_test(tc, seal_truncation_rejected);
    tcase_add_loop_test(tc, seal_wrong_aad_rejected, 0, KYL_ARRAY_LEN(aads));
    tcase_add_test(tc, seal_foreign_key_rejected);
    tcase_add_test(tc, seal_previous_key);
    tcase_add_test(tc, seal_bad_args);
    suite_add_tcase(s, tc);

    tc = kyl_tcase("ids");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ids_unique_and_valid);
    tcase_add_loop_test(tc, id_valid_table, 0, KYL_ARRAY_LEN(id_cases));
    tcase_add_test(tc, store_key_properties);
    tcase_add_test(tc, store_key_is_hmac_sha256);
    tcase_add_loop_test(tc, b64url_table, 0, KYL_ARRAY_LEN(b64_cases));
    tcase_add_test(tc, ct_equal);
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(crypto_suite)
