/* Per-process TTL cache (kyl_lcache.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <openssl/crypto.h>
#include "kyl_lcache.h"

typedef struct {
    char key[KYL_LCACHE_KEY_MAX];
    apr_time_t until;
    apr_uint64_t tag;
    unsigned char *val;            /* malloc'd */
    apr_size_t len;
} kyl_lcache_entry_t;

struct kyl_lcache_t {
    apr_thread_mutex_t *lock;
    kyl_lcache_entry_t *slots;     /* calloc'd */
    int n;
};

static void entry_clear(kyl_lcache_entry_t *e)
{
    if (e->val) {
        OPENSSL_cleanse(e->val, e->len);
        free(e->val);
    }
    memset(e, 0, sizeof(*e));
}

static apr_status_t cache_cleanup(void *data)
{
    kyl_lcache_t *c = data;
    int i;

    for (i = 0; i < c->n; i++) {
        entry_clear(&c->slots[i]);
    }
    free(c->slots);
    c->slots = NULL;
    return APR_SUCCESS;
}

apr_status_t kyl_lcache_create(kyl_lcache_t **out, apr_pool_t *p, int slots)
{
    kyl_lcache_t *c;
    apr_status_t rv;

    if (slots <= 0) {
        return APR_EINVAL;
    }
    c = apr_pcalloc(p, sizeof(*c));
    rv = apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    c->slots = calloc((size_t)slots, sizeof(*c->slots));
    if (c->slots == NULL) {
        return APR_ENOMEM;
    }
    c->n = slots;
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return APR_SUCCESS;
}

/* The slot hash reads eight bytes per step, and at most KYL_LCACHE_HASHED
 * of them: keys are session ids (43 random characters, after an 8-character
 * key id in the key memo), looked up on every request, and their first 16
 * bytes spread them as well as all 43 would.  It only places keys in slots
 * inside one process (the full key is compared; a collision evicts, nothing
 * more), so it needs no stability across builds. */
#define KYL_LCACHE_HASHED 16

static apr_uint32_t key_hash(const char *key)
{
    const apr_uint64_t m = APR_UINT64_C(0x9E3779B97F4A7C15);
    apr_size_t n = strlen(key), i, end = n < KYL_LCACHE_HASHED ? n : KYL_LCACHE_HASHED;
    apr_uint64_t h = n * m, w;

    for (i = 0; i + 8 <= end; i += 8) {
        memcpy(&w, key + i, 8);
        h = (h ^ w) * m;
        h ^= h >> 29;
    }
    for (; i < end; i++) {
        h = (h ^ (unsigned char)key[i]) * m;
    }
    h ^= h >> 32;
    return (apr_uint32_t)h;
}

static kyl_lcache_entry_t *slot_of(kyl_lcache_t *c, const char *key)
{
    return &c->slots[key_hash(key) % (apr_uint32_t)c->n];
}

int kyl_lcache_get(kyl_lcache_t *c, apr_pool_t *p, const char *key,
                   apr_time_t now, unsigned char **val, apr_size_t *len,
                   apr_uint64_t *tag)
{
    kyl_lcache_entry_t *e;
    int hit = 0;

    if (c == NULL || key == NULL) {
        return 0;
    }
    e = slot_of(c, key);
    apr_thread_mutex_lock(c->lock);
    if (e->val && now < e->until && strcmp(e->key, key) == 0) {
        *val = apr_pmemdup(p, e->val, e->len);
        *len = e->len;
        *tag = e->tag;
        hit = 1;
    }
    apr_thread_mutex_unlock(c->lock);
    return hit;
}

void kyl_lcache_put(kyl_lcache_t *c, const char *key, const void *val,
                    apr_size_t len, apr_uint64_t tag, apr_time_t until)
{
    kyl_lcache_entry_t *e;
    unsigned char *copy;

    if (c == NULL || key == NULL || strlen(key) >= KYL_LCACHE_KEY_MAX
        || len > KYL_LCACHE_VAL_MAX || (copy = malloc(len ? len : 1)) == NULL) {
        return;
    }
    memcpy(copy, val, len);
    e = slot_of(c, key);
    apr_thread_mutex_lock(c->lock);
    entry_clear(e);
    strcpy(e->key, key);
    e->val = copy;
    e->len = len;
    e->tag = tag;
    e->until = until;
    apr_thread_mutex_unlock(c->lock);
}

void kyl_lcache_del(kyl_lcache_t *c, const char *key)
{
    kyl_lcache_entry_t *e;

    if (c == NULL || key == NULL) {
        return;
    }
    e = slot_of(c, key);
    apr_thread_mutex_lock(c->lock);
    if (e->val && strcmp(e->key, key) == 0) {
        entry_clear(e);
    }
    apr_thread_mutex_unlock(c->lock);
}
