/* mod_kylin_balancer core library: shared types.
 *
 * Everything under src/ is C99 over APR/APR-util, OpenSSL libcrypto,
 * jansson, libxml2 and libmemcached.  It never includes an httpd header, so
 * it can be unit-tested, fuzzed and benchmarked without a server.
 */
#ifndef KYL_CORE_H
#define KYL_CORE_H

#include <apr.h>
#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>

/* Kylin generation, as detected by the prober (kylin-rest.md sections 1, 8). */
typedef enum {
    KYL_GEN_UNKNOWN = 0,
    KYL_GEN_2 = 2,          /* 2.x: no version endpoint */
    KYL_GEN_3 = 3,          /* 3.x: admin/version, is_active_job_node */
    KYL_GEN_4 = 4,          /* 4.x: same endpoints as 3.x */
    KYL_GEN_5 = 5           /* 5.x: actuator health, system/servers */
} kyl_gen_e;

/* kylin.server.mode of a member. */
typedef enum {
    KYL_MODE_UNKNOWN = 0,   /* never learned: routed like "all" */
    KYL_MODE_ALL,
    KYL_MODE_JOB,
    KYL_MODE_QUERY
} kyl_mode_e;

/* Request classes (contract.md "Routing", kylin-rest.md section 6). */
typedef enum {
    KYL_CLASS_READ = 0,     /* GET under /kylin/, UI, static, ops */
    KYL_CLASS_QUERY,        /* SQL: query, prestate, async_query, ... */
    KYL_CLASS_JOB,          /* build, refresh, segment and job control */
    KYL_CLASS_WRITE,        /* other metadata writes under /kylin/api/ */
    KYL_CLASS_AUTH,         /* user/authentication, logout */
    KYL_CLASS_INTERNAL,     /* node-to-node endpoints: 403 for clients */
    KYL_CLASS_COUNT
} kyl_class_e;

/* Leadership of the job engine, as far as the member tells (3.x/4.x E1). */
typedef enum {
    KYL_LEADER_UNKNOWN = 0, /* not probed yet, or no answer */
    KYL_LEADER_NA,          /* no leader information (non-Curator, 2.x, 5.x) */
    KYL_LEADER_NO,
    KYL_LEADER_YES
} kyl_leader_e;

const char *kyl_gen_name(kyl_gen_e gen);        /* "2.x" ... "unknown" */
const char *kyl_mode_name(kyl_mode_e mode);     /* "all" ... "unknown" */
const char *kyl_class_name(kyl_class_e cls);    /* "query" ... */
const char *kyl_leader_name(kyl_leader_e l);    /* "yes", "no", "n/a", "unknown" */

/* Parses "all", "job", "query" (case-insensitive).  Kylin also accepts a
 * comma-separated list ("job,query"): a list naming both job and query, or
 * "all", is KYL_MODE_ALL; unknown words such as "stream_coordinator" are
 * ignored.  Returns APR_EINVAL when no known word is present. */
apr_status_t kyl_mode_parse(const char *s, kyl_mode_e *mode);

/* FNV-1a over a NUL-terminated string: a cheap, stable 32-bit hash for
 * spreading keys (cache slots, route cookie names); not for security. */
apr_uint32_t kyl_hash32(const char *s);

/* Logging from the core goes through one callback that the httpd glue maps
 * to ap_log_error(); levels are syslog's (3 = error ... 7 = debug). */
typedef void kyl_log_fn(void *baton, int level, apr_status_t rv,
                        const char *msg);

#endif /* KYL_CORE_H */
