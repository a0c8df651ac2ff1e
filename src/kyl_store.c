/* Session store over libmemcached (see kyl_store.h for the contract).
 *
 * One single-server "master" memcached_st per configured server, each with
 * its own memcached_pool of clones; rendezvous hashing picks the copies;
 * health (skip windows), counters and the last error live here, under one
 * mutex, because libmemcached keeps its failure state per handle (every
 * clone would rediscover a dead server and pay the timeout itself).
 *
 * libmemcached traps this file works around (anchors.md section 4):
 * - a binary mget whose connect failed still lets memcached_fetch_result()
 *   report NOTFOUND: a "miss" is believed only when mget succeeded and the
 *   handle recorded no error;
 * - a handle that saw a connect failure stays SERVER_TEMPORARILY_DISABLED
 *   for RETRY_TIMEOUT whole seconds, and a connection to a memcached that
 *   was restarted fails once: a handle is rebuilt after any non-protocol
 *   error, and a connection error on a previously good connection is
 *   retried once on a fresh one;
 * - memcached_pool_fetch() builds its deadline as time(NULL) + tv_sec with
 *   tv_nsec taken as is, and an exhausted non-blocking fetch answers
 *   MEMCACHED_NOTFOUND: see handle_fetch(). */
#include <string.h>
#include <time.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <libmemcached/memcached.h>
#include <libmemcached/util.h>
#include <apr_atomic.h>
#include "kyl_store.h"

#if !defined(LIBMEMCACHED_VERSION_HEX) || LIBMEMCACHED_VERSION_HEX < 0x001001004
#error "libmemcached >= 1.1.4 (awesomized fork) is required: older releases \
can return another key's value from a get after a poll timeout \
(php-memcached#531, GHSA-wwmh-39wj-fx59) and report timeouts as misses"
#endif

#define KYL_STORE_MAX_SERVERS  64
#define KYL_STORE_MAX_KEY      250
#define KYL_STORE_MAX_VALUE    (1024 * 1024)
#define KYL_STORE_MAX_RELTTL   (30 * 24 * 3600)   /* memcached: beyond, absolute */
#define KYL_STORE_MAX_TIMEOUT  apr_time_from_sec(60)

typedef struct {
    const char *name;           /* canonical "host:port" or "[v6]:port" */
    apr_uint64_t seed;          /* placement hash state after name + 0xff */
    const char *host;           /* as given to memcached_server_add() */
    apr_port_t port;
    memcached_st *master;
    memcached_pool_st *pool;
    /* Guarded by kyl_store_t.lock: */
    apr_time_t down_until;      /* 0: up; else skipped until then */
    apr_time_t last_error_time;
    const char *last_error;     /* static text (memcached_strerror) */
    kyl_store_counts_t *counts; /* shared ones, or own */
    kyl_store_counts_t own;
} kyl_server_t;

struct kyl_store_t {
    apr_pool_t *pool;
    kyl_server_t *servers;
    int nservers;
    int ncopies;                /* 1 + replicas, at most nservers */
    apr_interval_time_t timeout;
    apr_interval_time_t retry;
    apr_thread_mutex_t *lock;
};

/* What one request to one server came to. */
typedef enum {
    KYL_MC_ANSWERED,            /* the server answered: see the rc */
    KYL_MC_FAILED,              /* connection, timeout or other I/O error */
    KYL_MC_SKIPPED,             /* in its skip window: not tried */
    KYL_MC_BUSY                 /* no free handle in time: not blamed */
} kyl_mc_outcome_e;

typedef enum { KYL_OP_GET, KYL_OP_SET, KYL_OP_DELETE } kyl_op_e;

typedef memcached_return_t kyl_mc_fn(memcached_st *h, void *baton);

/* ---- placement --------------------------------------------------------- */

/* FNV-1a over server name, a separator that no name contains, and the key,
 * then the murmur3 finaliser so that close inputs spread well.  Byte-wise,
 * so every balancer host computes the same scores. */
#define KYL_FNV_PRIME APR_UINT64_C(0x100000001b3)

/* FNV-1a state after a server's name and a 0xff separator: the part of
 * every placement hash that does not depend on the key, worked out once. */
static apr_uint64_t place_seed(const char *name)
{
    apr_uint64_t h = APR_UINT64_C(0xcbf29ce484222325);

    for (; *name; name++) {
        h = (h ^ (unsigned char)*name) * KYL_FNV_PRIME;
    }
    return (h ^ 0xffu) * KYL_FNV_PRIME;
}

/* FNV-1a of name, 0xff, key, then a murmur3 finalizer. */
static apr_uint64_t place_score(apr_uint64_t seed, const char *key,
                                apr_size_t klen)
{
    apr_uint64_t h = seed;
    apr_size_t i;

    for (i = 0; i < klen; i++) {
        h = (h ^ (unsigned char)key[i]) * KYL_FNV_PRIME;
    }
    h ^= h >> 33;
    h *= APR_UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= APR_UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

/* order[0 .. ncopies-1] = server indexes by descending score; a tie (one
 * in 2^64) goes to the smaller name, never to the position in the list. */
static void place(const kyl_store_t *st, const char *key, apr_size_t klen,
                  int *order)
{
    apr_uint64_t score[KYL_STORE_MAX_SERVERS];
    int used[KYL_STORE_MAX_SERVERS] = { 0 };
    int i, c;

    for (i = 0; i < st->nservers; i++) {
        score[i] = place_score(st->servers[i].seed, key, klen);
    }
    for (c = 0; c < st->ncopies; c++) {
        int best = -1;
        for (i = 0; i < st->nservers; i++) {
            if (used[i]) {
                continue;
            }
            if (best < 0 || score[i] > score[best]
                || (score[i] == score[best]
                    && strcmp(st->servers[i].name, st->servers[best].name) < 0)) {
                best = i;
            }
        }
        used[best] = 1;
        order[c] = best;
    }
}

/* ---- health and counters ----------------------------------------------- */

static volatile apr_uint64_t *op_counter(kyl_server_t *s, kyl_op_e op)
{
    return op == KYL_OP_GET ? &s->counts->gets
         : op == KYL_OP_SET ? &s->counts->sets : &s->counts->deletes;
}

/* Counts the operation and says whether to try the server now.  When its
 * skip window has ended, this caller gets the trial and the window is
 * extended for everybody else, so only one request pays for a dead server
 * per window. */
static int server_enter(kyl_store_t *st, kyl_server_t *s, kyl_op_e op,
                        int force)
{
    apr_time_t now = apr_time_now();
    int go = 1;

    apr_thread_mutex_lock(st->lock);
    if (s->down_until != 0 && !force) {
        if (now < s->down_until) {
            go = 0;
        }
        else {
            s->down_until = now + st->retry;
        }
    }
    apr_thread_mutex_unlock(st->lock);
    if (go) {
        apr_atomic_inc64(op_counter(s, op));
    }
    return go;
}

static void server_leave(kyl_store_t *st, kyl_server_t *s,
                         kyl_mc_outcome_e out, memcached_return_t rc)
{
    apr_time_t now = apr_time_now();

    apr_thread_mutex_lock(st->lock);
    if (out == KYL_MC_ANSWERED) {
        s->down_until = 0;
    }
    else if (out == KYL_MC_FAILED || out == KYL_MC_BUSY) {
        if (out == KYL_MC_FAILED) {
            /* never 0, which would read as "up" */
            s->down_until = (now + st->retry) | 1;
        }
        apr_atomic_inc64(&s->counts->errors);
        s->last_error_time = now;
        s->last_error = out == KYL_MC_BUSY
            ? "no free connection handle within the timeout"
            : memcached_strerror(s->master, rc);
    }
    apr_thread_mutex_unlock(st->lock);
}

/* ---- handles ------------------------------------------------------------ */

/* Fetches a handle, waiting at most st->timeout when the pool is exhausted
 * (never mistaking the pool's MEMCACHED_NOTFOUND for anything else).  The
 * pool computes its deadline as time(NULL) + tv_sec plus tv_nsec, so the
 * relative time is chosen to land on our absolute deadline. */
static memcached_st *handle_fetch(const kyl_store_t *st, kyl_server_t *s)
{
    static const struct timespec nowait = { 0, 0 };
    apr_time_t deadline = apr_time_now() + st->timeout;
    memcached_return_t rc;
    memcached_st *h;

    while (1) {
        struct timespec rel = nowait;

        h = memcached_pool_fetch(s->pool, &rel, &rc);
        if (h != NULL || rc != MEMCACHED_NOTFOUND
            || apr_time_now() >= deadline) {
            return h;
        }
        /* up to a second late if time(NULL) ticks in between */
        rel.tv_sec = (time_t)apr_time_sec(deadline) - time(NULL);
        rel.tv_nsec = (long)apr_time_usec(deadline) * 1000L;
        if (rel.tv_sec < 0) {
            return NULL;
        }
        if (rel.tv_sec == 0 && rel.tv_nsec == 0) {
            rel.tv_nsec = 1;            /* {0, 0} would not wait at all */
        }
        h = memcached_pool_fetch(s->pool, &rel, &rc);
        if (h != NULL || rc != MEMCACHED_TIMEOUT) {
            return h;
        }
    }
}

/* Drops the handle's connection and libmemcached's own failure state
 * (IN_TIMEOUT for whole seconds, failure counters): our skip window is
 * the only one. */
static void handle_reset(const kyl_server_t *s, memcached_st *h)
{
    memcached_servers_reset(h);
    (void)memcached_server_add(h, s->host, s->port);
    memcached_set_user_data(h, NULL);
}

static int conn_error(memcached_return_t rc)
{
    return rc == MEMCACHED_CONNECTION_FAILURE || rc == MEMCACHED_WRITE_FAILURE
           || rc == MEMCACHED_READ_FAILURE || rc == MEMCACHED_ERRNO
           || rc == MEMCACHED_UNKNOWN_READ_FAILURE
           || rc == MEMCACHED_SOME_ERRORS;
}

/* Runs fn on a handle of s.  The user data of a handle marks "its
 * connection has worked": a connection error on such a handle (the server
 * restarted, an idle connection was closed) is retried once on a fresh
 * connection; a timeout never is. */
static kyl_mc_outcome_e server_call(const kyl_store_t *st, kyl_server_t *s,
                                    kyl_mc_fn *fn, void *baton,
                                    memcached_return_t *rcp)
{
    memcached_st *h = handle_fetch(st, s);
    memcached_return_t rc;
    int attempt;

    if (h == NULL) {
        *rcp = MEMCACHED_IN_PROGRESS;
        return KYL_MC_BUSY;
    }
    for (attempt = 0;; attempt++) {
        int proven = memcached_get_user_data(h) != NULL;

        rc = fn(h, baton);
        if (!memcached_fatal(rc)) {
            memcached_set_user_data(h, s);
            break;
        }
        handle_reset(s, h);
        if (attempt > 0 || !proven || !conn_error(rc)) {
            break;
        }
    }
    memcached_pool_release(s->pool, h);
    *rcp = rc;
    return memcached_fatal(rc) ? KYL_MC_FAILED : KYL_MC_ANSWERED;
}

/* Health-checked call: skip window, counters, bookkeeping. */
static kyl_mc_outcome_e server_run(kyl_store_t *st, kyl_server_t *s,
                                   kyl_op_e op, int force, kyl_mc_fn *fn,
                                   void *baton, memcached_return_t *rcp)
{
    kyl_mc_outcome_e out;

    *rcp = MEMCACHED_SERVER_TEMPORARILY_DISABLED;
    if (!server_enter(st, s, op, force)) {
        return KYL_MC_SKIPPED;
    }
    out = server_call(st, s, fn, baton, rcp);
    server_leave(st, s, out, *rcp);
    return out;
}

/* ---- the memcached requests --------------------------------------------- */

typedef struct {
    const char *key;
    apr_size_t klen;
    apr_pool_t *p;
    unsigned char *val;
    apr_size_t len;
    apr_uint64_t cas;
    int found;
} kyl_get_baton_t;

typedef struct {
    const char *key;
    apr_size_t klen;
    const unsigned char *val;
    apr_size_t len;
    time_t expiry;
    apr_uint64_t cas;
} kyl_set_baton_t;

/* Keeps the first result; a result for another key (the 1.0.x bug class
 * behind php-memcached#531) is a protocol error, never a value. */
static memcached_return_t get_take(kyl_get_baton_t *b,
                                   const memcached_result_st *r)
{
    apr_size_t n = memcached_result_length(r);

    if (memcached_result_key_length(r) != b->klen
        || memcmp(memcached_result_key_value(r), b->key, b->klen) != 0) {
        return MEMCACHED_PROTOCOL_ERROR;
    }
    if (!b->found) {
        b->val = apr_palloc(b->p, n + 1);
        if (n > 0) {
            memcpy(b->val, memcached_result_value(r), n);
        }
        b->val[n] = '\0';
        b->len = n;
        b->cas = memcached_result_cas(r);
        b->found = 1;
    }
    return MEMCACHED_SUCCESS;
}

static memcached_return_t mc_get(memcached_st *h, void *baton)
{
    kyl_get_baton_t *b = baton;
    memcached_result_st res, *r;
    memcached_return_t rc, bad = MEMCACHED_SUCCESS;

    b->found = 0;
    rc = memcached_mget(h, &b->key, &b->klen, 1);
    if (rc != MEMCACHED_SUCCESS) {
        return memcached_fatal(rc) ? rc : MEMCACHED_FAILURE;
    }
    if (memcached_result_create(h, &res) == NULL) {
        return MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    }
    while ((r = memcached_fetch_result(h, &res, &rc)) != NULL) {
        if (bad == MEMCACHED_SUCCESS) {
            bad = get_take(b, r);
        }
    }
    memcached_result_free(&res);
    if (bad != MEMCACHED_SUCCESS) {
        return bad;
    }
    if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND) {
        return rc;
    }
    /* fetch reports NOTFOUND when nothing could be read at all */
    rc = memcached_last_error(h);
    if (rc != MEMCACHED_SUCCESS) {
        return memcached_fatal(rc) ? rc : MEMCACHED_FAILURE;
    }
    return b->found ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND;
}

static memcached_return_t mc_set(memcached_st *h, void *baton)
{
    kyl_set_baton_t *b = baton;

    if (b->cas != 0) {
        return memcached_cas(h, b->key, b->klen, (const char *)b->val,
                             b->len, b->expiry, 0, b->cas);
    }
    return memcached_set(h, b->key, b->klen, (const char *)b->val, b->len,
                         b->expiry, 0);
}

static memcached_return_t mc_delete(memcached_st *h, void *baton)
{
    kyl_set_baton_t *b = baton;

    return memcached_delete(h, b->key, b->klen, 0);
}

/* ---- public operations --------------------------------------------------- */

/* 1-250 bytes, no space, no control character. */
static int key_ok(const char *key, apr_size_t *klen)
{
    apr_size_t i;

    if (key == NULL) {
        return 0;
    }
    for (i = 0; key[i]; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c == 0x7f || i >= KYL_STORE_MAX_KEY) {
            return 0;
        }
    }
    *klen = i;
    return i > 0;
}

apr_status_t kyl_store_get(kyl_store_t *st, apr_pool_t *p, const char *key,
                           unsigned char **val, apr_size_t *len,
                           apr_uint64_t *cas, int *repair)
{
    int order[KYL_STORE_MAX_SERVERS];
    kyl_get_baton_t b;
    int c, misses = 0, other = 0;

    memset(&b, 0, sizeof(b));
    if (st == NULL || p == NULL || val == NULL || len == NULL
        || !key_ok(key, &b.klen)) {
        return APR_EINVAL;
    }
    b.key = key;
    b.p = p;
    place(st, key, b.klen, order);
    for (c = 0; c < st->ncopies; c++) {
        memcached_return_t rc;
        kyl_mc_outcome_e out = server_run(st, &st->servers[order[c]],
                                          KYL_OP_GET, 0, mc_get, &b, &rc);
        if (out != KYL_MC_ANSWERED) {
            continue;
        }
        if (rc == MEMCACHED_SUCCESS) {
            *val = b.val;
            *len = b.len;
            if (cas != NULL) {
                *cas = c == 0 ? b.cas : 0;
            }
            if (repair != NULL) {
                *repair = misses > 0;
            }
            return APR_SUCCESS;
        }
        if (rc == MEMCACHED_NOTFOUND) {
            misses++;
        }
        else {
            other++;
        }
    }
    if (cas != NULL) {
        *cas = 0;
    }
    return misses > 0 && other == 0 ? APR_NOTFOUND : APR_EGENERAL;
}

apr_status_t kyl_store_set(kyl_store_t *st, const char *key,
                           const unsigned char *val, apr_size_t len,
                           apr_uint32_t ttl_seconds, apr_uint64_t cas)
{
    int order[KYL_STORE_MAX_SERVERS];
    kyl_set_baton_t b;
    apr_status_t refused = APR_EGENERAL;
    int c, stored = 0;

    memset(&b, 0, sizeof(b));
    if (st == NULL || !key_ok(key, &b.klen) || (val == NULL && len > 0)
        || len > KYL_STORE_MAX_VALUE) {
        return APR_EINVAL;
    }
    b.key = key;
    b.val = val ? val : (const unsigned char *)"";
    b.len = len;
    b.expiry = (time_t)ttl_seconds;
    if (ttl_seconds > KYL_STORE_MAX_RELTTL) {
        b.expiry += (time_t)apr_time_sec(apr_time_now());
    }
    place(st, key, b.klen, order);
    for (c = 0; c < st->ncopies; c++) {
        memcached_return_t rc;
        kyl_mc_outcome_e out;

        b.cas = c == 0 ? cas : 0;
        out = server_run(st, &st->servers[order[c]], KYL_OP_SET, 0, mc_set,
                         &b, &rc);
        if (out != KYL_MC_ANSWERED) {
            continue;               /* a CAS falls back to plain sets */
        }
        if (memcached_success(rc)) {
            stored++;
        }
        else if (b.cas != 0 && (rc == MEMCACHED_DATA_EXISTS
                                || rc == MEMCACHED_NOTFOUND)) {
            return APR_EEXIST;      /* changed or gone since the get */
        }
        else if (rc == MEMCACHED_E2BIG
                 || rc == MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE) {
            refused = APR_ENOSPC;   /* the server refused the size */
        }
    }
    return stored > 0 ? APR_SUCCESS : refused;
}

/* Every copy is tried, even one in its skip window: a logout is rare and
 * must reach every server that can be reached. */
apr_status_t kyl_store_delete(kyl_store_t *st, const char *key)
{
    int order[KYL_STORE_MAX_SERVERS];
    kyl_set_baton_t b;
    int c, gone = 0;

    memset(&b, 0, sizeof(b));
    if (st == NULL || !key_ok(key, &b.klen)) {
        return APR_EINVAL;
    }
    b.key = key;
    place(st, key, b.klen, order);
    for (c = 0; c < st->ncopies; c++) {
        memcached_return_t rc;
        kyl_mc_outcome_e out = server_run(st, &st->servers[order[c]],
                                          KYL_OP_DELETE, 1, mc_delete, &b,
                                          &rc);
        if (out == KYL_MC_ANSWERED
            && (memcached_success(rc) || rc == MEMCACHED_NOTFOUND)) {
            gone++;
        }
    }
    if (gone == st->ncopies) {
        return APR_SUCCESS;
    }
    return gone > 0 ? APR_INCOMPLETE : APR_EGENERAL;
}

/* ---- life cycle ------------------------------------------------------------ */

static void store_free(kyl_store_t *st)
{
    int i;

    for (i = 0; i < st->nservers; i++) {
        kyl_server_t *s = &st->servers[i];
        if (s->pool != NULL) {
            (void)memcached_pool_destroy(s->pool);
            s->pool = NULL;
        }
        if (s->master != NULL) {
            memcached_free(s->master);
            s->master = NULL;
        }
    }
}

static apr_status_t store_cleanup(void *data)
{
    store_free(data);
    return APR_SUCCESS;
}

void kyl_store_destroy(kyl_store_t *st)
{
    if (st != NULL) {
        apr_pool_cleanup_kill(st->pool, st, store_cleanup);
        store_free(st);
    }
}

static apr_uint64_t msec_ceil(apr_interval_time_t t)
{
    return (apr_uint64_t)((t + 999) / 1000);
}

/* One server, binary protocol, our timeouts, none of libmemcached's own
 * replication, ejection or retry logic. */
static apr_status_t master_create(const kyl_store_t *st, kyl_server_t *s,
                                  int max_handles)
{
    const struct {
        memcached_behavior_t flag;
        apr_uint64_t value;
    } behaviors[] = {
        { MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1 },
        { MEMCACHED_BEHAVIOR_TCP_NODELAY, 1 },
        { MEMCACHED_BEHAVIOR_NO_BLOCK, 1 },
        { MEMCACHED_BEHAVIOR_TCP_KEEPALIVE, 1 },
        { MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1 },
        { MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, msec_ceil(st->timeout) },
        { MEMCACHED_BEHAVIOR_POLL_TIMEOUT, msec_ceil(st->timeout) },
        { MEMCACHED_BEHAVIOR_SND_TIMEOUT, (apr_uint64_t)st->timeout },
        { MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (apr_uint64_t)st->timeout },
        { MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, 0 },
        { MEMCACHED_BEHAVIOR_AUTO_EJECT_HOSTS, 0 },
        { MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0 },
        { MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0 },
        { MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 0 },
    };
    apr_size_t i;

    if ((s->master = memcached_create(NULL)) == NULL) {
        return APR_ENOMEM;
    }
    for (i = 0; i < sizeof(behaviors) / sizeof(behaviors[0]); i++) {
        if (memcached_behavior_set(s->master, behaviors[i].flag,
                                   behaviors[i].value) != MEMCACHED_SUCCESS) {
            return APR_EGENERAL;
        }
    }
    if (memcached_server_add(s->master, s->host, s->port) != MEMCACHED_SUCCESS) {
        return APR_EGENERAL;
    }
    s->pool = memcached_pool_create(s->master, 1, (uint32_t)max_handles);
    return s->pool ? APR_SUCCESS : APR_ENOMEM;
}

static apr_status_t conf_check(const kyl_store_conf_t *conf)
{
    if (conf == NULL || conf->servers == NULL || conf->nservers < 1
        || conf->nservers > KYL_STORE_MAX_SERVERS || conf->replicas < 0
        || conf->timeout <= 0 || conf->timeout > KYL_STORE_MAX_TIMEOUT
        || conf->retry < 0 || conf->max_handles < 1) {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Parses every server into canonical names; duplicates are refused. */
static apr_status_t servers_init(kyl_store_t *st, apr_pool_t *p,
                                 const kyl_store_conf_t *conf)
{
    int i, j;

    st->servers = apr_pcalloc(p, sizeof(*st->servers) * conf->nservers);
    for (i = 0; i < conf->nservers; i++) {
        kyl_server_t *s = &st->servers[i];

        if (kyl_store_parse_server(p, conf->servers[i], &s->host, &s->port)
            != APR_SUCCESS) {
            return APR_EINVAL;
        }
        s->name = apr_psprintf(p, strchr(s->host, ':') ? "[%s]:%u" : "%s:%u",
                               s->host, (unsigned)s->port);
        s->seed = place_seed(s->name);
        s->counts = conf->shared ? &conf->shared[i] : &s->own;
        for (j = 0; j < i; j++) {
            if (strcmp(st->servers[j].name, s->name) == 0) {
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t kyl_store_create(kyl_store_t **stp, apr_pool_t *p,
                              const kyl_store_conf_t *conf)
{
    kyl_store_t *st;
    apr_status_t rv;
    int i;

    if (stp == NULL || p == NULL || conf_check(conf) != APR_SUCCESS) {
        return APR_EINVAL;
    }
    st = apr_pcalloc(p, sizeof(*st));
    st->pool = p;
    st->timeout = conf->timeout;
    st->retry = conf->retry;
    st->ncopies = conf->replicas >= conf->nservers ? conf->nservers
                                                   : 1 + conf->replicas;
    if ((rv = servers_init(st, p, conf)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT,
                                      p)) != APR_SUCCESS) {
        return rv;
    }
    st->nservers = conf->nservers;
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < st->nservers; i++) {
        if ((rv = master_create(st, &st->servers[i], conf->max_handles))
            != APR_SUCCESS) {
            kyl_store_destroy(st);
            return rv;
        }
    }
    *stp = st;
    return APR_SUCCESS;
}

/* ---- status ------------------------------------------------------------------ */

int kyl_store_server_count(const kyl_store_t *st)
{
    return st ? st->nservers : 0;
}

void kyl_store_server_info(const kyl_store_t *st, int i,
                           kyl_store_server_info_t *info)
{
    const kyl_server_t *s;

    memset(info, 0, sizeof(*info));
    if (st == NULL || i < 0 || i >= st->nservers) {
        return;
    }
    s = &st->servers[i];
    apr_thread_mutex_lock(st->lock);
    info->name = s->name;
    info->up = s->down_until == 0;
    info->last_error_time = s->last_error_time;
    info->last_error = s->last_error;
    apr_thread_mutex_unlock(st->lock);
    info->gets = apr_atomic_read64(&s->counts->gets);
    info->sets = apr_atomic_read64(&s->counts->sets);
    info->deletes = apr_atomic_read64(&s->counts->deletes);
    info->errors = apr_atomic_read64(&s->counts->errors);
}
