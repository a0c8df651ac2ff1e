/* Session crypto over OpenSSL 3 libcrypto: HKDF-SHA256 key derivation,
 * AES-256-GCM sealing of memcached values, random session ids and
 * HMAC-SHA256 memcached keys.
 *
 * Sealed value layout (kyl_crypto.h):
 *   0x01 | kid[4] | nonce[12] | ciphertext | tag[16]
 * The GCM additional data is the 5 header bytes (version, kid) followed by
 * the caller's aad (the memcached key), so neither the header nor the key
 * the value was stored under can be swapped without failing the tag.
 * Every nonce is fresh from RAND_bytes: with 96-bit random nonces a key
 * stays far from the collision bound for any realistic session count.
 *
 * The only state shared between calls is OpenSSL's AES-256-GCM
 * implementation, fetched once; every function is safe on any thread. */

/* kyl_store_key runs on every request: HMAC()'s one-shot API fetches the
 * algorithms and builds a context each call (about 21k instructions);
 * keeping the pad blocks' SHA-256 states, which needs the low-level SHA-256
 * calls deprecated in OpenSSL 3, costs about 3k. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "kyl_crypto.h"

#define KYL_SEAL_VERSION   0x01
#define KYL_SEAL_HDR       5      /* version + kid */
#define KYL_NONCE_LEN      12
#define KYL_TAG_LEN        16
#if KYL_NONCE_LEN != 12
#error "gcm_begin relies on GCM's default 12-byte IV"
#endif
#define KYL_STORE_PREFIX   "kylb1:"
#define KYL_STORE_PREFIX_LEN 6

static const char kyl_hkdf_salt[] = "mod_kylin_balancer";

typedef char kyl_sha_state_fits[sizeof(SHA256_CTX) <= sizeof(kyl_sha256_state_t)
                                ? 1 : -1];

static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_cipher;        /* fetched once, never freed */

static void gcm_fetch(void)
{
    gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *gcm(void)
{
    pthread_once(&gcm_once, gcm_fetch);
    return gcm_cipher ? gcm_cipher : EVP_aes_256_gcm();
}

/* SHA-256 state after one block of key ^ pad (HMAC, RFC 2104). */
static void hmac_pad_state(const unsigned char *mac, unsigned char pad,
                           kyl_sha256_state_t *out)
{
    unsigned char block[64];
    SHA256_CTX c;
    int i;

    memset(block, pad, sizeof(block));
    for (i = 0; i < 32; i++) {
        block[i] ^= mac[i];
    }
    SHA256_Init(&c);
    SHA256_Update(&c, block, sizeof(block));
    memcpy(out->bytes, &c, sizeof(c));
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(&c, sizeof(c));
}

/* HKDF-SHA256(salt "mod_kylin_balancer", ikm, info) -> out[outlen]. */
static apr_status_t hkdf_sha256(const unsigned char *ikm, apr_size_t ikmlen,
                                const char *info, unsigned char *out,
                                apr_size_t outlen)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx;
    OSSL_PARAM params[5];
    int ok;

    if (kdf == NULL) {
        return APR_EGENERAL;
    }
    kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL) {
        return APR_ENOMEM;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)ikm, ikmlen);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                  (void *)kyl_hkdf_salt,
                                                  sizeof(kyl_hkdf_salt) - 1);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  (void *)info, strlen(info));
    params[4] = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(kctx, out, outlen, params);
    EVP_KDF_CTX_free(kctx);
    return ok == 1 ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t kyl_key_derive(kyl_key_t *key, const unsigned char *secret,
                            apr_size_t len)
{
    apr_status_t rv;

    if (key == NULL || secret == NULL || len < KYL_SECRET_MIN) {
        return APR_EINVAL;
    }
    rv = hkdf_sha256(secret, len, "kylin-lb v1 enc", key->enc, sizeof(key->enc));
    if (rv == APR_SUCCESS) {
        rv = hkdf_sha256(secret, len, "kylin-lb v1 mac", key->mac,
                         sizeof(key->mac));
    }
    if (rv == APR_SUCCESS) {
        rv = hkdf_sha256(secret, len, "kylin-lb v1 kid", key->kid,
                         sizeof(key->kid));
    }
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(key, sizeof(*key));
        return rv;
    }
    hmac_pad_state(key->mac, 0x36, &key->hmac_inner);
    hmac_pad_state(key->mac, 0x5c, &key->hmac_outer);
    return APR_SUCCESS;
}

apr_size_t kyl_b64url_encode(char *out, const unsigned char *in, apr_size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    apr_size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        out[o++] = alphabet[in[i] >> 2];
        out[o++] = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        out[o++] = alphabet[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
        out[o++] = alphabet[in[i + 2] & 0x3f];
    }
    if (len - i == 1) {
        out[o++] = alphabet[in[i] >> 2];
        out[o++] = alphabet[(in[i] & 0x03) << 4];
    }
    else if (len - i == 2) {
        out[o++] = alphabet[in[i] >> 2];
        out[o++] = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
        out[o++] = alphabet[(in[i + 1] & 0x0f) << 2];
    }
    out[o] = '\0';
    return o;
}

int kyl_ct_equal(const void *a, const void *b, apr_size_t len)
{
    if (len == 0) {
        return 1;
    }
    return CRYPTO_memcmp(a, b, len) == 0;
}

apr_status_t kyl_random_id(char *out)
{
    unsigned char raw[KYL_ID_BYTES];

    if (out == NULL) {
        return APR_EINVAL;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        out[0] = '\0';
        return APR_EGENERAL;
    }
    kyl_b64url_encode(out, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return APR_SUCCESS;
}

/* The base64url alphabet as a table (no locale-dependent ctype calls):
 * every request with a cookie checks 43 characters. */
static const unsigned char b64url_ok[256] = {
    ['-'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1
};

int kyl_id_valid(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned ok = 1;
    apr_size_t i;

    if (s == NULL || len != KYL_ID_LEN) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        ok &= b64url_ok[u[i]];
    }
    return (int)ok;
}

void kyl_store_key(const kyl_key_t *key, const char *id, char *out)
{
    unsigned char inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
    SHA256_CTX c;
    int ok;

    if (id == NULL) {
        id = "";
    }
    memcpy(&c, key->hmac_inner.bytes, sizeof(c));
    ok = SHA256_Update(&c, id, strlen(id)) && SHA256_Final(inner, &c);
    memcpy(&c, key->hmac_outer.bytes, sizeof(c));
    ok = ok && SHA256_Update(&c, inner, sizeof(inner)) && SHA256_Final(mac, &c);
    if (!ok) {
        /* An empty key is refused by the store: no session, never a
         * shared key for every id. */
        out[0] = '\0';
        return;
    }
    memcpy(out, KYL_STORE_PREFIX, KYL_STORE_PREFIX_LEN);
    kyl_b64url_encode(out + KYL_STORE_PREFIX_LEN, mac, sizeof(mac));
    out[KYL_STORE_PREFIX_LEN + KYL_ID_LEN] = '\0';
}

/* Sets up ctx for AES-256-GCM (enc 1 = seal, 0 = open) and feeds the
 * additional data: the sealed value's header, then the caller's aad. */
static int gcm_begin(EVP_CIPHER_CTX *ctx, int enc, const kyl_key_t *key,
                     const unsigned char *hdr, const unsigned char *nonce,
                     const void *aad, apr_size_t aadlen)
{
    int n;

    /* 12 bytes is GCM's default IV length: cipher, key and nonce go in one
     * call (an IV-length control costs a parameter round trip per use). */
    return EVP_CipherInit_ex(ctx, gcm(), NULL, key->enc, nonce, enc) == 1
        && EVP_CipherUpdate(ctx, NULL, &n, hdr, KYL_SEAL_HDR) == 1
        && (aadlen == 0
            || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1);
}

/* Encrypts plain into buf (header and nonce already written). */
static int gcm_seal(const kyl_key_t *key, const void *aad, apr_size_t aadlen,
                    const unsigned char *plain, apr_size_t plen,
                    unsigned char *buf)
{
    unsigned char *ct = buf + KYL_SEAL_HDR + KYL_NONCE_LEN;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    if (ctx == NULL) {
        return 0;
    }
    ok = gcm_begin(ctx, 1, key, buf, buf + KYL_SEAL_HDR, aad, aadlen)
        && (plen == 0 || EVP_CipherUpdate(ctx, ct, &n, plain, (int)plen) == 1)
        && EVP_CipherFinal_ex(ctx, ct + n, &fin) == 1
        && (apr_size_t)(n + fin) == plen
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KYL_TAG_LEN,
                               ct + plen) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t kyl_seal(apr_pool_t *p, const kyl_key_t *key,
                      const void *aad, apr_size_t aadlen,
                      const void *plain, apr_size_t plen,
                      unsigned char **out, apr_size_t *outlen)
{
    unsigned char *buf;

    if (out == NULL || outlen == NULL) {
        return APR_EINVAL;
    }
    *out = NULL;
    *outlen = 0;
    if (key == NULL || (aadlen && aad == NULL) || (plen && plain == NULL)
        || aadlen > INT_MAX || plen > (apr_size_t)INT_MAX - KYL_SEAL_OVERHEAD) {
        return APR_EINVAL;
    }
    buf = apr_palloc(p, KYL_SEAL_OVERHEAD + plen);
    buf[0] = KYL_SEAL_VERSION;
    memcpy(buf + 1, key->kid, sizeof(key->kid));
    if (RAND_bytes(buf + KYL_SEAL_HDR, KYL_NONCE_LEN) != 1
        || !gcm_seal(key, aad, aadlen, plain, plen, buf)) {
        return APR_EGENERAL;
    }
    *out = buf;
    *outlen = KYL_SEAL_OVERHEAD + plen;
    return APR_SUCCESS;
}

/* Decrypts and verifies in (inlen >= KYL_SEAL_OVERHEAD) under key into
 * plain (room for inlen - KYL_SEAL_OVERHEAD bytes).  The tag comparison
 * inside OpenSSL is constant-time. */
static int gcm_open(const kyl_key_t *key, const void *aad, apr_size_t aadlen,
                    const unsigned char *in, apr_size_t inlen,
                    unsigned char *plain)
{
    const unsigned char *ct = in + KYL_SEAL_HDR + KYL_NONCE_LEN;
    apr_size_t ctlen = inlen - KYL_SEAL_OVERHEAD;
    unsigned char tag[KYL_TAG_LEN];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok;

    if (ctx == NULL) {
        return 0;
    }
    memcpy(tag, ct + ctlen, KYL_TAG_LEN);
    ok = gcm_begin(ctx, 0, key, in, in + KYL_SEAL_HDR, aad, aadlen)
        && (ctlen == 0 || EVP_CipherUpdate(ctx, plain, &n, ct, (int)ctlen) == 1)
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, KYL_TAG_LEN, tag) == 1
        && EVP_CipherFinal_ex(ctx, plain + n, &fin) == 1
        && (apr_size_t)(n + fin) == ctlen;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(plain, ctlen);
    }
    return ok;
}

/* The keys of ring to try for a key id, current first. */
static int candidate_keys(const kyl_keyring_t *ring, const unsigned char *kid,
                          const kyl_key_t *cands[2], int is_prev[2])
{
    int n = 0;

    if (kyl_ct_equal(kid, ring->cur.kid, sizeof(ring->cur.kid))) {
        is_prev[n] = 0;
        cands[n++] = &ring->cur;
    }
    if (ring->has_prev && kyl_ct_equal(kid, ring->prev.kid, sizeof(ring->prev.kid))) {
        is_prev[n] = 1;
        cands[n++] = &ring->prev;
    }
    return n;
}

apr_status_t kyl_open(apr_pool_t *p, const kyl_keyring_t *ring,
                      const void *aad, apr_size_t aadlen,
                      const unsigned char *in, apr_size_t inlen,
                      unsigned char **plain, apr_size_t *plen,
                      int *used_prev)
{
    const kyl_key_t *cands[2];
    int is_prev[2], n, i;
    unsigned char *buf;

    if (plain == NULL || plen == NULL) {
        return APR_EINVAL;
    }
    *plain = NULL;
    *plen = 0;
    if (used_prev) {
        *used_prev = 0;
    }
    if (ring == NULL || in == NULL || inlen < KYL_SEAL_OVERHEAD
        || inlen - KYL_SEAL_OVERHEAD > INT_MAX || in[0] != KYL_SEAL_VERSION
        || (aadlen && aad == NULL) || aadlen > INT_MAX) {
        return APR_EINVAL;
    }
    n = candidate_keys(ring, in + 1, cands, is_prev);
    if (n == 0) {
        return APR_EINVAL;
    }
    /* One spare byte: the plaintext is NUL-terminated for convenience. */
    buf = apr_palloc(p, inlen - KYL_SEAL_OVERHEAD + 1);
    for (i = 0; i < n; i++) {
        if (gcm_open(cands[i], aad, aadlen, in, inlen, buf)) {
            buf[inlen - KYL_SEAL_OVERHEAD] = '\0';
            *plain = buf;
            *plen = inlen - KYL_SEAL_OVERHEAD;
            if (used_prev) {
                *used_prev = is_prev[i];
            }
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}
