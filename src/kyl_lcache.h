/* A small per-process cache with a time-to-live, for the balancer's
 * optional "verified sessions" cache (KylinSessionCacheTTL): it spares
 * memcached a round trip for a session used again within a few seconds.
 * Fixed number of slots (direct-mapped by key hash, a newer entry replaces
 * an older one), one mutex, values copied in and out; thread-safe.
 * Freed values are cleansed: they hold session records. */
#ifndef KYL_LCACHE_H
#define KYL_LCACHE_H

#include "kyl_core.h"

#define KYL_LCACHE_KEY_MAX 64
#define KYL_LCACHE_VAL_MAX (16 * 1024)

typedef struct kyl_lcache_t kyl_lcache_t;

/* slots > 0; memory comes from malloc and is released with p. */
apr_status_t kyl_lcache_create(kyl_lcache_t **c, apr_pool_t *p, int slots);

/* 1 with a copy of the value (in p) and its tag when key is present and
 * now < its expiry; 0 otherwise. */
int kyl_lcache_get(kyl_lcache_t *c, apr_pool_t *p, const char *key,
                   apr_time_t now, unsigned char **val, apr_size_t *len,
                   apr_uint64_t *tag);

/* Stores a copy until `until`; keys longer than KYL_LCACHE_KEY_MAX - 1 or
 * values over KYL_LCACHE_VAL_MAX are not cached. */
void kyl_lcache_put(kyl_lcache_t *c, const char *key, const void *val,
                    apr_size_t len, apr_uint64_t tag, apr_time_t until);

void kyl_lcache_del(kyl_lcache_t *c, const char *key);

#endif
