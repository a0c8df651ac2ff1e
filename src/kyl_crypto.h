/* Session crypto (OpenSSL libcrypto): key derivation, AEAD sealing of
 * memcached values, random session ids, keyed hashing of memcached keys. */
#ifndef KYL_CRYPTO_H
#define KYL_CRYPTO_H

#include "kyl_core.h"

#define KYL_SECRET_MIN     32     /* bytes of KylinSessionKey at least */
#define KYL_ID_BYTES       32     /* 256-bit session ids */
#define KYL_ID_LEN         43     /* base64url without padding of 32 bytes */
#define KYL_STORE_KEY_MAX  64     /* room for "kylb1:" + 43 chars + NUL */
#define KYL_SEAL_OVERHEAD  (1 + 4 + 12 + 16) /* version, key id, nonce, tag */

/* One derived key set.  Derived with HKDF-SHA256 from the secret file's
 * bytes, with distinct info labels for the AEAD key, the memcached key MAC
 * key and the 4-byte key id (so the raw secret is never used directly). */
typedef union {
    apr_uint64_t align;
    unsigned char bytes[128];
} kyl_sha256_state_t;         /* opaque: a SHA-256 state after one block */

typedef struct {
    unsigned char enc[32];    /* AES-256-GCM key */
    unsigned char mac[32];    /* HMAC-SHA256 key for store keys */
    unsigned char kid[4];     /* key id written in every sealed value */
    /* HMAC's inner and outer pad blocks, hashed once at derivation so that
     * a store key costs two SHA-256 blocks and no allocation. */
    kyl_sha256_state_t hmac_inner, hmac_outer;
} kyl_key_t;

/* The current key and, during rotation, the previous one (read only). */
typedef struct {
    kyl_key_t cur;
    kyl_key_t prev;
    int has_prev;
} kyl_keyring_t;

/* secret: raw bytes (file contents, surrounding whitespace is NOT trimmed
 * here); len >= KYL_SECRET_MIN else APR_EINVAL. */
apr_status_t kyl_key_derive(kyl_key_t *key, const unsigned char *secret,
                            apr_size_t len);

/* Fills out with KYL_ID_LEN base64url chars + NUL from 32 CSPRNG bytes
 * (RAND_bytes).  out must hold KYL_ID_LEN + 1 bytes. */
apr_status_t kyl_random_id(char *out);

/* 1 when s (len bytes) looks like an id we issued: exactly KYL_ID_LEN
 * base64url characters. */
int kyl_id_valid(const char *s, apr_size_t len);

/* memcached key for a session id: "kylb1:" + base64url(HMAC-SHA256(mac, id))
 * truncated to 43 chars; always a valid memcached key (no spaces, < 250).
 * A NULL id counts as "".  Should HMAC itself fail, out is "" (which the
 * store refuses), never a key shared by several ids. */
void kyl_store_key(const kyl_key_t *key, const char *id,
                   char *out /* KYL_STORE_KEY_MAX */);

/* AES-256-GCM seal: out = 0x01 | kid[4] | nonce[12] | ciphertext | tag[16];
 * aad (the memcached key) is authenticated, not stored.  The GCM additional
 * data is the 5 header bytes followed by aad, so version and key id are
 * authenticated too.  The nonce comes from RAND_bytes for every call. */
apr_status_t kyl_seal(apr_pool_t *p, const kyl_key_t *key,
                      const void *aad, apr_size_t aadlen,
                      const void *plain, apr_size_t plen,
                      unsigned char **out, apr_size_t *outlen);

/* Opens a sealed value with whichever key of ring matches its key id.
 * Returns APR_EINVAL for anything truncated, of another version, key id
 * or aad, or failing the tag.  *used_prev = 1 when the previous key opened
 * it (the caller then re-seals under the current key); used_prev may be
 * NULL.  *plain (in p) is NUL-terminated after *plen bytes; on failure
 * *plain is NULL and no unauthenticated plaintext is left behind. */
apr_status_t kyl_open(apr_pool_t *p, const kyl_keyring_t *ring,
                      const void *aad, apr_size_t aadlen,
                      const unsigned char *in, apr_size_t inlen,
                      unsigned char **plain, apr_size_t *plen,
                      int *used_prev);

/* base64url without padding, NUL-terminated; returns the characters
 * written.  out must hold ((len + 2) / 3) * 4 + 1. */
apr_size_t kyl_b64url_encode(char *out, const unsigned char *in, apr_size_t len);

/* Constant-time comparison of two byte strings of equal length. */
int kyl_ct_equal(const void *a, const void *b, apr_size_t len);

#endif
