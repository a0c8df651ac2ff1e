/* Session store over libmemcached.
 *
 * Placement: rendezvous (highest-random-weight) hashing of the key over the
 * configured servers picks an ordered list of 1 + replicas servers, so that
 * the ring depends only on the server names (not on their order in the
 * directive) and a dead server moves only its own keys.  Every copy is
 * written with a checked, synchronous binary-protocol request on its own
 * server; reads go to the first copy and fall over to the next on a miss,
 * a timeout or a connection failure, so a restarted (empty) or dead
 * primary loses no session.  Each server has a small per-process pool of
 * libmemcached handles (memcached_pool) created in child init, never shared
 * between threads.  Failed servers are skipped for retry_timeout and then
 * tried again: recovery needs no restart. */
#ifndef KYL_STORE_H
#define KYL_STORE_H

#include <apr_network_io.h>   /* apr_port_t */
#include "kyl_core.h"

typedef struct kyl_store_t kyl_store_t;

/* Operation counters of one server; updated atomically, so they may live
 * in memory that several processes share. */
typedef struct {
    volatile apr_uint64_t gets, sets, deletes, errors;
} kyl_store_counts_t;

typedef struct {
    const char *const *servers;       /* "host:port" strings */
    int nservers;
    int replicas;                     /* extra copies, 0 .. nservers-1 */
    apr_interval_time_t timeout;      /* connect + poll, e.g. 200 ms */
    apr_interval_time_t retry;        /* skip a failed server this long */
    int max_handles;                  /* per server, e.g. ThreadsPerChild */
    kyl_store_counts_t *shared;       /* nservers counters shared with the
                                       * other stores of these servers (every
                                       * child's), or NULL: this store's own */
} kyl_store_conf_t;

/* Validates "host:port" (host name, IPv4 or [IPv6]; port 1-65535). */
apr_status_t kyl_store_parse_server(apr_pool_t *p, const char *spec,
                                    const char **host, apr_port_t *port);

apr_status_t kyl_store_create(kyl_store_t **st, apr_pool_t *p,
                              const kyl_store_conf_t *conf);

/* *val is copied into p.  APR_NOTFOUND: no copy has it (a real miss);
 * APR_EGENERAL (or another error): the store could not answer (every copy
 * failed) - never to be taken as a logout.  *cas receives the primary's CAS
 * value when the primary answered, else 0.  *repair (may be NULL) is set to
 * 1 when a copy ahead of the one that answered said "miss" (a server that
 * came back empty): the caller should write the value again, so that the
 * next loss of a server does not lose it. */
apr_status_t kyl_store_get(kyl_store_t *st, apr_pool_t *p, const char *key,
                           unsigned char **val, apr_size_t *len,
                           apr_uint64_t *cas, int *repair);

/* Writes every copy.  cas != 0 makes the write on the primary a
 * compare-and-swap (APR_EEXIST when another writer won; nothing written).
 * Returns APR_SUCCESS when at least one copy was stored. */
apr_status_t kyl_store_set(kyl_store_t *st, const char *key,
                           const unsigned char *val, apr_size_t len,
                           apr_uint32_t ttl_seconds, apr_uint64_t cas);

/* Deletes every copy; APR_SUCCESS when every reachable copy is gone (a miss
 * counts as gone), an error when some server could not be reached. */
apr_status_t kyl_store_delete(kyl_store_t *st, const char *key);

/* State per server for the status page. */
typedef struct {
    const char *name;      /* "host:port" */
    int up;                /* last operation succeeded */
    apr_time_t last_error_time;
    const char *last_error;
    apr_uint64_t gets, sets, deletes, errors;   /* kyl_store_conf_t.shared's */
} kyl_store_server_info_t;

int kyl_store_server_count(const kyl_store_t *st);
void kyl_store_server_info(const kyl_store_t *st, int i,
                           kyl_store_server_info_t *info);

void kyl_store_destroy(kyl_store_t *st);

#endif
