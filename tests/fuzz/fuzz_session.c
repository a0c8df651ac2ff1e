/* libFuzzer target: the session codec and the sealed-value opener on
 * arbitrary bytes.
 *
 * kyl_session_decode must never crash, over-read or over-allocate, and a
 * record it accepts must encode back to exactly the input bytes (the format
 * is canonical).  kyl_open, with a fixed key ring, must reject everything
 * (the fuzzer cannot forge a GCM tag), and never crash or over-read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "kyl_crypto.h"
#include "kyl_session.h"
#define FUZZ_OWN_INIT
#include "fuzz_apr.h"

static kyl_keyring_t fuzz_ring;     /* written once, before any input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const unsigned char cur[] = "fuzz current secret, 32+ bytes long";
    static const unsigned char prev[] = "fuzz previous secret, 32+ bytes long";

    (void)argc;
    (void)argv;
    fuzz_apr_start();
    if (kyl_key_derive(&fuzz_ring.cur, cur, sizeof(cur) - 1) != APR_SUCCESS
        || kyl_key_derive(&fuzz_ring.prev, prev, sizeof(prev) - 1) != APR_SUCCESS) {
        abort();
    }
    fuzz_ring.has_prev = 1;
    return 0;
}

static void check_decode(const uint8_t *data, size_t size)
{
    kyl_session_t *s;
    unsigned char *buf;
    apr_size_t len;

    if (kyl_session_decode(fuzz_pool, data, size, &s) != APR_SUCCESS) {
        return;
    }
    if (s == NULL || s->nodes == NULL || s->nodes->nelts > KYL_SESSION_MAX_NODES
        || kyl_session_encode(fuzz_pool, s, &buf, &len) != APR_SUCCESS
        || len != size || memcmp(buf, data, size) != 0) {
        abort();
    }
}

/* The cache snapshot: any block thaw accepts has its strings inside it,
 * and a decoded record freezes and thaws back to itself. */
static void check_thaw(const uint8_t *data, size_t size)
{
    kyl_session_t *s, *d;
    unsigned char *buf;
    apr_size_t len;
    int i;

    if (kyl_session_thaw(fuzz_pool, data, size, &s) == APR_SUCCESS) {
        const char *lo = (const char *)data, *hi = lo + size;

        if ((s->user && (s->user < lo || s->user >= hi))
            || (s->credential && (s->credential < lo || s->credential >= hi))) {
            abort();
        }
        for (i = 0; i < s->nodes->nelts; i++) {
            const kyl_node_cookie_t *e = &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);
            if (e->node && strlen(e->node) >= size) {
                abort();
            }
        }
    }
    if (kyl_session_decode(fuzz_pool, data, size, &s) == APR_SUCCESS) {
        if (kyl_session_freeze(fuzz_pool, s, &buf, &len) != APR_SUCCESS
            || kyl_session_thaw(fuzz_pool, buf, len, &d) != APR_SUCCESS
            || kyl_session_encode(fuzz_pool, d, &buf, &len) != APR_SUCCESS
            || len != size || memcmp(buf, data, size) != 0) {
            abort();
        }
    }
}

static void check_open(const uint8_t *data, size_t size)
{
    unsigned char *plain;
    apr_size_t plen;
    int used_prev;

    /* The first byte, when there is one, chooses an aad length. */
    apr_size_t aadlen = size ? data[0] % 16 : 0;

    if (aadlen > size) {
        aadlen = size;
    }
    if (kyl_open(fuzz_pool, &fuzz_ring, data, aadlen, data, size,
                 &plain, &plen, &used_prev) == APR_SUCCESS) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_thaw(data, size);
    check_open(data, size);
    apr_pool_clear(fuzz_pool);
    return 0;
}
