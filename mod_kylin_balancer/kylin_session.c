/* Shared authenticated sessions (contract.md "Sessions").
 *
 * A login through the balancer (a 200 answer to user/authentication that
 * carried Basic credentials) creates a record in memcached: the credential,
 * and each node's own session cookie.  The client gets one balancer cookie.
 * Later requests without Authorization are authenticated on whichever node
 * the finder chose: the stored credential plus that node's own session
 * cookie when the record holds one (Spring then keeps the node's session
 * and does not re-authenticate; if that session is gone it authenticates
 * with the credential, so a dead node cookie never costs the user a login).
 *
 * memcached traffic per request: one get; a set only on login, on a new
 * node cookie, and on the sliding refresh (at most once a minute).
 * Store failures never make a 500: a session that cannot be read acts as
 * none, and logins fall back to classic stickiness (the node's own cookie
 * passes through with a route cookie). */
#include "apr_strings.h"
#include "apr_base64.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "util_filter.h"

#include "mod_kylin_balancer.h"
#include "kyl_classify.h"
#include "kyl_cookie.h"
#include "kyl_session.h"
#include "kyl_store.h"
#include "kyl_lcache.h"

#define KYL_SESSION_FILTER  "KYLIN_SESSION"
#define KYL_NODE_COOKIE     "JSESSIONID"
#define KYL_ROUTE_SUFFIX    "_ROUTE"
#define KYL_STORE_TIMEOUT   apr_time_from_msec(250)
#define KYL_STORE_RETRY     apr_time_from_sec(2)
#define KYL_REFRESH_MAX     60         /* s between sliding-refresh writes */
#define KYL_WARN_EVERY      60         /* s between store warnings */
#define KYL_CAS_TRIES       3

typedef enum {
    KS_NONE = 0,    /* no session: maybe a route cookie (stickiness) */
    KS_SESSION,     /* a valid session authenticates this request */
    KS_LOGIN,       /* user/authentication with Basic: may create one */
    KS_LOGOUT,      /* logout of a valid session */
    KS_OWN_AUTH     /* the client's own Authorization: untouched */
} kyl_kind_e;

struct kyl_sreq {
    kyl_kind_e kind;
    kyl_store_t *store;
    const kyl_srv_conf_t *conf;
    const char *id;                     /* our session id */
    char skey[KYL_STORE_KEY_MAX];       /* its memcached key, "" until needed */
    int skey_new;                       /* skey was worked out, not remembered */
    kyl_session_t *sess;
    apr_uint64_t cas;
    int rewrite;                        /* read under the previous key */
    const char *old_id;                 /* session replaced by a login */
    const char *route;                  /* route cookie value */
    const char *rest;                   /* the client's other cookies, or NULL */
    int cookies_due;                    /* Cookie header not yet rewritten */
    const char *node;                   /* member the finder chose */
    int hit;                            /* sess came from KylinSessionCacheTTL */
    apr_time_t fence;                   /* logout: answer no earlier than this */
    int client_shared;                  /* client sent Kylin 5's cookie */
    int own_auth;                       /* client sent Authorization */
};

static apr_hash_t *stores;              /* store_servers array -> store */
static kyl_lcache_t *vcache;            /* KylinSessionCacheTTL, or NULL */
static kyl_lcache_t *keymemo;           /* session id -> memcached key */
static apr_interval_time_t longest_ttl; /* of this server's session caches */
static ap_filter_rec_t *session_frec;   /* added by handle, not by name */

#define KYL_VCACHE_SLOTS    4096
#define KYL_KEYMEMO_SLOTS   4096
#define KYL_KEYMEMO_TTL     apr_time_from_sec(3600)
static volatile apr_uint32_t last_warn; /* s, rate limit of store warnings */

/* ---- helpers ------------------------------------------------------------ */

static const char *route_cookie(const kyl_srv_conf_t *c, apr_pool_t *p)
{
    return c->route_cookie ? c->route_cookie
                           : apr_pstrcat(p, kyl_conf_cookie(c), KYL_ROUTE_SUFFIX, NULL);
}

/* 8 hex chars naming a member in the route cookie (not its address). */
static const char *route_of(const char *worker, char buf[9])
{
    apr_snprintf(buf, 9, "%08x", kyl_hash32(worker));
    return buf;
}

static const char *masked(apr_pool_t *p, const char *secret)
{
    return secret ? apr_pstrcat(p, apr_pstrndup(p, secret, 6), "...", NULL)
                  : "(none)";
}

static void store_trouble(request_rec *r, apr_status_t rv, const char *what)
{
    if (kyl_log_due(&last_warn, KYL_WARN_EVERY, apr_time_now())) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, KYL_LOG_PREFIX
                      "session store (%s) unavailable while %s: sessions that "
                      "cannot be read act as none, logins fall back to "
                      "stickiness (logged once a minute)", KYL_DIR_SESSION_STORE,
                      what);
    }
}

static apr_int64_t idle_s(const kyl_srv_conf_t *c)
{
    return apr_time_sec(c->idle_timeout != KYL_UNSET ? c->idle_timeout : KYL_DEF_IDLE);
}

static apr_int64_t max_s(const kyl_srv_conf_t *c)
{
    return apr_time_sec(c->max_lifetime != KYL_UNSET ? c->max_lifetime : KYL_DEF_MAX);
}

static apr_int64_t refresh_s(const kyl_srv_conf_t *c)
{
    apr_int64_t r = idle_s(c) / 10;

    return r < 1 ? 1 : (r > KYL_REFRESH_MAX ? KYL_REFRESH_MAX : r);
}

/* memcached keeps a record a little past its idle limit, never past its
 * absolute one. */
static apr_uint32_t ttl_of(const kyl_srv_conf_t *c, const kyl_session_t *s,
                           apr_int64_t now)
{
    apr_int64_t ttl = idle_s(c) + refresh_s(c);
    apr_int64_t left = s->created + max_s(c) - now;

    return (apr_uint32_t)((left < ttl ? left : ttl) + 1);
}

/* ---- load and save ------------------------------------------------------ */

/* What the key memo is looked up by: the current key's id, then the
 * session id (vhosts may use different keys); NULL for no well-formed id. */
static const char *memo_key(const kyl_sreq_t *s, char buf[KYL_LCACHE_KEY_MAX])
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *kid = s->conf->keyring->cur.kid;
    int i;

    if (s->id == NULL || strlen(s->id) != KYL_ID_LEN) {
        return NULL;
    }

    for (i = 0; i < 4; i++) {
        buf[2 * i] = hex[kid[i] >> 4];
        buf[2 * i + 1] = hex[kid[i] & 15];
    }
    memcpy(buf + 8, s->id, KYL_ID_LEN + 1);    /* ids are checked: 43 chars */
    return buf;
}

/* The memcached key of this request's session (an HMAC of its id): worked
 * out only when memcached is asked, not on a KylinSessionCacheTTL hit, and
 * remembered per process for the sessions it has opened (a pure function
 * of key and id: nothing to go stale, unlike a cached record). */
static const char *skey_of(request_rec *r, kyl_sreq_t *s)
{
    char mk[KYL_LCACHE_KEY_MAX];
    unsigned char *v;
    apr_size_t n;
    apr_uint64_t tag;

    if (s->skey[0] != '\0') {
        return s->skey;
    }
    if (kyl_lcache_get(keymemo, r->pool, memo_key(s, mk), r->request_time,
                       &v, &n, &tag) && n < sizeof(s->skey)) {
        memcpy(s->skey, v, n);
        s->skey[n] = '\0';
        return s->skey;
    }
    kyl_store_key(&s->conf->keyring->cur, s->id, s->skey);
    s->skey_new = 1;
    return s->skey;
}

/* After a record opened under the current key: its key is worth keeping. */
static void memo_put(request_rec *r, const kyl_sreq_t *s)
{
    char mk[KYL_LCACHE_KEY_MAX];

    kyl_lcache_put(keymemo, memo_key(s, mk), s->skey, strlen(s->skey), 0,
                   r->request_time + KYL_KEYMEMO_TTL);
}

static int open_record(request_rec *r, kyl_sreq_t *s, const char *key,
                       const unsigned char *val, apr_size_t len)
{
    unsigned char *plain;
    apr_size_t plen;
    int used_prev = 0;
    apr_interval_time_t ttl = kyl_conf_cache_ttl(s->conf);

    if (kyl_open(r->pool, s->conf->keyring, key, strlen(key), val, len,
                 &plain, &plen, &used_prev) != APR_SUCCESS
        || kyl_session_decode(r->pool, plain, plen, &s->sess) != APR_SUCCESS
        || s->sess->credential == NULL || s->sess->user == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, KYL_LOG_PREFIX
                      "session record for cookie %s failed authentication or "
                      "decoding: treated as no session", masked(r->pool, s->id));
        s->sess = NULL;
        return 0;
    }
    s->rewrite = used_prev;
    if (!used_prev && key == s->skey && s->skey_new) {
        memo_put(r, s);
    }
    if (ttl > 0 && !used_prev
        && kyl_session_freeze(r->pool, s->sess, &plain, &plen) == APR_SUCCESS) {
        kyl_lcache_put(vcache, s->id, plain, plen, s->cas, r->request_time + ttl);
    }
    return 1;
}

/* KylinSessionCacheTTL: a record this process read a moment ago, by the
 * session id it was read for. */
static int cached(request_rec *r, kyl_sreq_t *s)
{
    unsigned char *plain;
    apr_size_t plen;

    if (kyl_conf_cache_ttl(s->conf) <= 0
        || !kyl_lcache_get(vcache, r->pool, s->id, r->request_time, &plain,
                           &plen, &s->cas)) {
        return 0;
    }
    /* the cache holds the record as decoded and checked: no second decode */
    return kyl_session_thaw(r->pool, plain, plen, &s->sess) == APR_SUCCESS
        && s->sess->credential != NULL && s->sess->user != NULL;
}

/* Fetches the record under the current key, then (during a key rotation)
 * under the previous one.  Returns 1 with s->sess set, 0 otherwise. */
static int fetch(request_rec *r, kyl_sreq_t *s)
{
    const kyl_keyring_t *ring = s->conf->keyring;
    unsigned char *val;
    apr_size_t len;
    apr_status_t rv;
    int repair = 0;
    char key[KYL_STORE_KEY_MAX];

    if ((s->hit = cached(r, s))) {
        return 1;
    }
    /* A cache hit matched a checked id byte for byte; anything else is
     * checked before it costs a key derivation and a round trip. */
    if (!kyl_id_valid(s->id, strlen(s->id))) {
        return 0;
    }
    rv = kyl_store_get(s->store, r->pool, skey_of(r, s), &val, &len, &s->cas,
                       &repair);
    if (rv == APR_NOTFOUND && ring->has_prev) {
        kyl_store_key(&ring->prev, s->id, key);
        rv = kyl_store_get(s->store, r->pool, key, &val, &len, &s->cas, NULL);
        if (rv == APR_SUCCESS) {
            s->cas = 0;
            return open_record(r, s, key, val, len) && (s->rewrite = 1);
        }
    }
    if (rv != APR_SUCCESS) {
        if (rv != APR_NOTFOUND) {
            store_trouble(r, rv, "reading a session");
        }
        return 0;
    }
    if (!open_record(r, s, s->skey, val, len)) {
        return 0;
    }
    s->rewrite |= repair;      /* a server came back empty: copy it again */
    return 1;
}

static int expired(const kyl_sreq_t *s, apr_int64_t now)
{
    return now - s->sess->last_seen > idle_s(s->conf)
        || now - s->sess->created > max_s(s->conf);
}

static apr_status_t put(request_rec *r, kyl_sreq_t *s, apr_int64_t now)
{
    unsigned char *plain, *sealed;
    apr_size_t plen, slen;
    apr_status_t rv;
    const char *key;

    s->sess->version++;
    s->sess->last_seen = now;
    rv = kyl_session_encode(r->pool, s->sess, &plain, &plen);
    if (rv == APR_SUCCESS) {
        key = skey_of(r, s);
        rv = kyl_seal(r->pool, &s->conf->keyring->cur, key, strlen(key),
                      plain, plen, &sealed, &slen);
    }
    if (rv == APR_SUCCESS) {
        rv = kyl_store_set(s->store, key, sealed, slen,
                           ttl_of(s->conf, s->sess, now), s->cas);
    }
    kyl_lcache_del(vcache, s->id);      /* the next read gets the new CAS */
    return rv;
}

typedef struct {
    const char *node, *name, *value;    /* node cookie: value NULL = drop */
    const char *shared_name, *shared_value;
} kyl_change_t;

static void apply_change(apr_pool_t *p, kyl_session_t *sess, const kyl_change_t *c)
{
    if (c->node && c->value) {
        kyl_session_set_node(p, sess, c->node, c->name, c->value);
    }
    else if (c->node) {
        kyl_session_del_node(sess, c->node);
    }
    if (c->shared_name) {
        sess->shared_name = c->shared_name;
        sess->shared_value = c->shared_value;
    }
}

/* Writes a change race-safely: compare-and-swap on the primary copy, and on
 * a lost race re-read, re-apply and try again, so concurrent requests of
 * one user (say, two nodes issuing cookies at once) lose nothing. */
static apr_status_t save_change(request_rec *r, kyl_sreq_t *s,
                                const kyl_change_t *c, apr_int64_t now)
{
    apr_status_t rv = APR_EGENERAL;
    int i;

    for (i = 0; i < KYL_CAS_TRIES; i++) {
        apply_change(r->pool, s->sess, c);
        rv = put(r, s, now);
        if (rv != APR_EEXIST || !fetch(r, s)) {
            break;
        }
    }
    if (rv != APR_SUCCESS && rv != APR_EEXIST) {
        store_trouble(r, rv, "writing a session");
    }
    return rv;
}

static void remove_session(request_rec *r, kyl_sreq_t *s, const char *id)
{
    const kyl_keyring_t *ring = s->conf->keyring;
    char key[KYL_STORE_KEY_MAX];
    apr_status_t rv;

    kyl_lcache_del(vcache, id);
    kyl_store_key(&ring->cur, id, key);
    rv = kyl_store_delete(s->store, key);
    if (ring->has_prev) {
        kyl_store_key(&ring->prev, id, key);
        kyl_store_delete(s->store, key);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, KYL_LOG_PREFIX
                      "a session could not be deleted on every memcached copy "
                      "(a server was unreachable)");
    }
}

/* ---- fixups: before the request is proxied ------------------------------ */

/* The store of a set of servers, one per child for every server_rec
 * naming the same KylinSessionStore; child_init keeps it in the conf. */
static kyl_store_t *store_for(const kyl_srv_conf_t *c)
{
    return stores ? apr_hash_get(stores, &c->store_servers,
                                 sizeof(c->store_servers)) : NULL;
}

/* A keep-alive client sends the same Cookie header again and again: each
 * connection remembers what the last one held for us, so a repeat costs a
 * comparison, not a parse.  Bounded (longer headers are parsed every
 * time); allocated on the connection's first request with a Cookie header.
 * What it gives a request lives until the connection's next request, and a
 * connection serves one request at a time. */
#define KYL_MEMO_HDR    256
#define KYL_MEMO_VALS   384

typedef struct {
    const kyl_srv_conf_t *conf;         /* whose cookie names */
    apr_size_t len;                     /* of hdr; 0: nothing remembered */
    apr_status_t rv;                    /* the session cookie's verdict */
    const char *id, *route, *rest;      /* into vals, or NULL */
    char hdr[KYL_MEMO_HDR];
    char vals[KYL_MEMO_VALS];
} kyl_cookie_memo_t;

/* Copies v into the memo at *w; 0 when it does not fit. */
static int memo_copy(kyl_cookie_memo_t *m, char **w, const char *v,
                     const char **out)
{
    apr_size_t n = v ? strlen(v) + 1 : 0;

    *out = NULL;
    if (v == NULL) {
        return 1;
    }
    if ((apr_size_t)(m->vals + sizeof(m->vals) - *w) < n) {
        return 0;
    }
    memcpy(*w, v, n);
    *out = *w;
    *w += n;
    return 1;
}

static void memo_remember(request_rec *r, kyl_cookie_memo_t *m, const kyl_sreq_t *s,
                          const char *hdr, apr_size_t len, apr_status_t rv,
                          const char *id)
{
    char *w;

    if (len == 0 || len >= sizeof(m->hdr)) {
        return;
    }
    if (m == NULL) {
        m = apr_palloc(r->connection->pool, sizeof(*m));
        ap_set_module_config(r->connection->conn_config, &kylin_balancer_module, m);
    }
    /* the header first: after an internal redirect it may be a value this
     * memo gave out (the values below are all in the request's pool) */
    m->len = 0;
    memmove(m->hdr, hdr, len);
    w = m->vals;
    if (memo_copy(m, &w, id, &m->id) && memo_copy(m, &w, s->route, &m->route)
        && memo_copy(m, &w, s->rest, &m->rest)) {
        m->len = len;
        m->conf = s->conf;
        m->rv = rv;
    }
}

/* Finds our cookies in the Cookie header, in one pass that also keeps
 * the others (s->rest) for what the node will see. */
static apr_status_t take_cookies(request_rec *r, kyl_sreq_t *s, const char **id)
{
    const char *hdr = apr_table_get(r->headers_in, "Cookie");
    const char *names[2], *values[2];
    apr_status_t rv[2];
    kyl_cookie_memo_t *m;
    apr_size_t len;

    if (hdr == NULL) {
        return APR_NOTFOUND;
    }
    s->cookies_due = 1;
    len = strlen(hdr);
    m = ap_get_module_config(r->connection->conn_config, &kylin_balancer_module);
    if (m && m->len == len && m->conf == s->conf && memcmp(m->hdr, hdr, len) == 0) {
        *id = m->id;
        s->route = m->route;
        s->rest = m->rest;
        return m->rv;
    }
    names[0] = kyl_conf_cookie(s->conf);
    names[1] = route_cookie(s->conf, r->pool);
    kyl_cookie_take(r->pool, hdr, 2, names, values, rv, &s->rest);
    *id = values[0];
    s->route = rv[1] == APR_SUCCESS ? values[1] : NULL;
    memo_remember(r, m, s, hdr, len, rv[0], values[0]);
    return rv[0];
}

static void set_cookie_header(request_rec *r, const char *hdr)
{
    if (hdr) {
        apr_table_setn(r->headers_in, "Cookie", hdr);
    }
    else {
        apr_table_unset(r->headers_in, "Cookie");
    }
}

/* Our cookies never reach a node.  A request with a session has its
 * Cookie header rewritten once, by the finder, with the node's own cookie;
 * any other (and one no finder routed, from the output filter) here. */
static void settle_cookies(request_rec *r, kyl_sreq_t *s)
{
    if (s->cookies_due) {
        set_cookie_header(r, s->rest);
        s->cookies_due = 0;
    }
}

static void load(request_rec *r, kyl_sreq_t *s, const char *id,
                 const kyl_req_t *req)
{
    apr_int64_t now = apr_time_sec(r->request_time);

    s->id = id;
    if (s->store == NULL || !fetch(r, s)) {
        return;
    }
    if (expired(s, now) && s->hit) {
        /* a cached copy's last use may lag memcached's: ask memcached */
        kyl_lcache_del(vcache, id);
        s->sess = NULL;
        if (!fetch(r, s)) {
            return;
        }
    }
    if (expired(s, now)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, KYL_LOG_PREFIX
                      "session %s of %s expired", masked(r->pool, id),
                      s->sess->user);
        remove_session(r, s, id);
        s->sess = NULL;
        return;
    }
    s->kind = (req->flags & KYL_REQ_LOGOUT) ? KS_LOGOUT : KS_SESSION;
}

/* The 2.x-4.x UI keeps its Basic header on every XHR until a reload, and
 * GETs user/authentication at every page change: such a ping, by the user
 * whose session the cookie names, confirms that session rather than
 * creating another (a POST, the login proper, always issues a new id). */
static int same_login(request_rec *r, kyl_sreq_t *s, const kyl_req_t *req,
                      const char *auth)
{
    apr_size_t n = strlen(auth);

    load(r, s, s->old_id, req);
    if (s->kind == KS_SESSION && strlen(s->sess->credential) == n
        && kyl_ct_equal(s->sess->credential, auth, n)) {
        ap_add_output_filter_handle(session_frec, s, r, r->connection);
        return 1;
    }
    s->kind = KS_LOGIN;
    s->sess = NULL;
    return 0;
}

void kyl_session_fixups(request_rec *r, kyl_req_t *req)
{
    const kyl_srv_conf_t *conf = kyl_conf(r->server);
    const char *auth, *id = NULL;
    kyl_sreq_t *s;
    apr_status_t rv;

    if (conf->store_servers == NULL || conf->keyring == NULL) {
        return;
    }
    s = apr_pcalloc(r->pool, sizeof(*s));
    s->conf = conf;
    s->store = conf->store;
    req->sreq = s;
    rv = take_cookies(r, s, &id);
    auth = apr_table_get(r->headers_in, "Authorization");
    s->own_auth = auth != NULL;
    if (auth && (req->flags & KYL_REQ_LOGIN) && strncasecmp(auth, "Basic ", 6) == 0) {
        s->kind = KS_LOGIN;
        s->old_id = (rv == APR_SUCCESS && kyl_id_valid(id, strlen(id))) ? id : NULL;
        if (r->method_number != M_POST && s->old_id && same_login(r, s, req, auth)) {
            return;     /* the 2.x-4.x UI's ping with its Basic header */
        }
    }
    else if ((auth == NULL || (req->flags & KYL_REQ_LOGOUT))
             && rv == APR_SUCCESS && strlen(id) == KYL_ID_LEN) {
        /* a logout ends our session even when the UI still sends Basic;
         * fetch() checks the id's characters */
        load(r, s, id, req);
    }
    if (auth && s->kind != KS_LOGIN && s->kind != KS_LOGOUT) {
        s->kind = KS_OWN_AUTH;     /* JDBC, scripts: passed through untouched */
        settle_cookies(r, s);
        return;
    }
    if (s->kind != KS_SESSION && s->kind != KS_LOGOUT) {
        settle_cookies(r, s);
    }
    if (s->kind == KS_LOGOUT) {
        remove_session(r, s, s->id);
        s->fence = apr_time_now() + longest_ttl;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, KYL_LOG_PREFIX
                      "logout of %s: session deleted", s->sess->user);
    }
    if (s->kind != KS_NONE || s->route) {
        ap_add_output_filter_handle(session_frec, s, r, r->connection);
    }
}

/* ---- finder: authenticate for the chosen member ------------------------- */

void kyl_session_route(request_rec *r, kyl_req_t *req, proxy_worker *w)
{
    kyl_sreq_t *s = req->sreq;
    const kyl_node_cookie_t *nc;
    const char *hdr, *names[2], *values[2] = { NULL, NULL }, *shared;
    apr_status_t rv[2] = { APR_NOTFOUND, APR_NOTFOUND };

    if (s == NULL) {
        return;
    }
    s->node = kyl_worker_name(w);
    if (s->sess == NULL || (s->kind != KS_SESSION && s->kind != KS_LOGOUT)) {
        return;
    }
    if (!s->own_auth) {
        apr_table_setn(r->headers_in, "Authorization", s->sess->credential);
    }
    /* From the client's cookies as fixups found them (a retry on another
     * member starts again from there): the node's own cookies come from
     * the record, never from the client. */
    hdr = s->rest;
    names[0] = KYL_NODE_COOKIE;
    names[1] = s->sess->shared_value ? s->sess->shared_name : NULL;
    if (hdr) {
        kyl_cookie_take(r->pool, hdr, names[1] ? 2 : 1, names, values, rv, &hdr);
    }
    if ((nc = kyl_session_node(s->sess, s->node)) != NULL && nc->crumb) {
        /* checked when the entry was made: nothing to check per request */
        hdr = hdr ? apr_pstrcat(r->pool, hdr, "; ", nc->crumb, NULL) : nc->crumb;
    }
    if (names[1]) {
        /* Kylin 5's shared cookie: the client's own one wins when it sent
         * one (it may be newer than the record's) */
        s->client_shared = rv[1] == APR_SUCCESS;
        shared = kyl_cookie_append(r->pool, hdr, names[1],
                                   s->client_shared ? values[1]
                                                    : s->sess->shared_value);
        hdr = shared ? shared : hdr;    /* a pair no header can carry: left out */
    }
    set_cookie_header(r, hdr);
    s->cookies_due = 0;
}

int kyl_session_sticky(const kyl_req_t *req)
{
    const kyl_sreq_t *s = req->sreq;

    return s != NULL && s->route != NULL && s->kind != KS_SESSION
        && s->kind != KS_LOGOUT;
}

int kyl_session_sticks_to(const kyl_req_t *req, const proxy_worker *w)
{
    char buf[9];

    return kyl_session_sticky(req)
        && strcmp(route_of(kyl_worker_name(w), buf), req->sreq->route) == 0;
}

/* ---- the answer: learn node cookies, create or end sessions ------------- */

static int secure(request_rec *r)
{
    return strcmp(ap_http_scheme(r), "https") == 0;
}

/* Reads the node's Set-Cookie headers into c: its own session cookie
 * (JSESSIONID, or its deletion) and Kylin 5's shared session cookie. */
static void node_cookies(request_rec *r, const kyl_sreq_t *s, kyl_change_t *c)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_out);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        const char *name, *value;
        int gone = 0;

        if (e[i].key == NULL || strcasecmp(e[i].key, "Set-Cookie")
            || kyl_setcookie_parse(r->pool, e[i].val, &name, &value, &gone)
               != APR_SUCCESS) {
            continue;
        }
        if (strcmp(name, KYL_NODE_COOKIE) == 0 && s->node) {
            c->node = s->node;
            c->name = name;
            c->value = gone ? NULL : value;
        }
        else if (kyl_cookie_is_kylin5_session(name) && !gone) {
            c->shared_name = name;
            c->shared_value = value;
        }
    }
}

static int strip_one(void *rec, const char *key, const char *val)
{
    request_rec *r = rec;
    const char *name, *value;
    int gone;

    if (kyl_setcookie_parse(r->pool, val, &name, &value, &gone) != APR_SUCCESS
        || strcmp(name, KYL_NODE_COOKIE) != 0) {
        apr_table_addn(r->notes, "kylin-keep-cookie", val);
    }
    return 1;
}

/* The client must not keep a node's own session cookie: the balancer holds
 * it (all nodes use the same name and path, so it would keep only one). */
static void strip_node_cookies(request_rec *r)
{
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    int i;

    if (apr_table_get(r->headers_out, "Set-Cookie") == NULL) {
        return;
    }
    apr_table_unset(r->notes, "kylin-keep-cookie");
    apr_table_do(strip_one, r, r->headers_out, "Set-Cookie", NULL);
    apr_table_unset(r->headers_out, "Set-Cookie");
    arr = apr_table_elts(r->notes);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        if (e[i].key && strcmp(e[i].key, "kylin-keep-cookie") == 0) {
            apr_table_addn(r->headers_out, "Set-Cookie", e[i].val);
        }
    }
    apr_table_unset(r->notes, "kylin-keep-cookie");
}

static int node_cookie_changed(const kyl_session_t *sess, const kyl_change_t *c)
{
    const kyl_node_cookie_t *nc = c->node ? kyl_session_node(sess, c->node) : NULL;

    if (c->node && (c->value ? (!nc || strcmp(nc->cookie_value, c->value))
                             : nc != NULL)) {
        return 1;
    }
    return c->shared_name && (!sess->shared_value
                              || strcmp(sess->shared_value, c->shared_value));
}

static const char *basic_user(apr_pool_t *p, const char *auth)
{
    const char *b64 = auth + 6;
    char *plain, *colon;
    int len;

    while (*b64 == ' ') {
        b64++;
    }
    plain = apr_palloc(p, apr_base64_decode_len(b64) + 1);
    len = apr_base64_decode(plain, b64);
    plain[len < 0 ? 0 : len] = '\0';
    colon = strchr(plain, ':');
    return colon ? apr_pstrmemdup(p, plain, (apr_size_t)(colon - plain)) : "";
}

static void login_done(request_rec *r, kyl_sreq_t *s, apr_int64_t now)
{
    kyl_change_t c = { 0 };
    char id[KYL_ID_LEN + 1], route[9];
    const char *auth = apr_table_get(r->headers_in, "Authorization");

    if (r->status != HTTP_OK || auth == NULL || kyl_random_id(id) != APR_SUCCESS) {
        return;
    }
    s->id = apr_pstrdup(r->pool, id);
    s->sess = kyl_session_make(r->pool);
    s->sess->user = basic_user(r->pool, auth);
    s->sess->credential = apr_pstrdup(r->pool, auth);
    s->cas = 0;
    s->skey[0] = '\0';       /* the new id's key, not the replaced one's */
    s->skey_new = 0;
    node_cookies(r, s, &c);
    if (s->store && save_change(r, s, &c, now) == APR_SUCCESS) {
        strip_node_cookies(r);
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       kyl_cookie_make(r->pool, kyl_conf_cookie(s->conf), s->id,
                                       secure(r), -1));
        if (s->old_id) {
            remove_session(r, s, s->old_id);
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, KYL_LOG_PREFIX
                      "login of %s on %s: new session", s->sess->user, s->node);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, KYL_LOG_PREFIX
                      "session id %s", masked(r->pool, s->id));
        return;
    }
    /* memcached is down: classic stickiness keeps this user logged in on
     * the node that holds their Kylin session. */
    if (s->node) {
        apr_table_addn(r->err_headers_out, "Set-Cookie",
                       kyl_cookie_make(r->pool, route_cookie(s->conf, r->pool),
                                       route_of(s->node, route), secure(r), -1));
    }
}

static void expire_cookie(request_rec *r, const kyl_sreq_t *s)
{
    apr_table_addn(r->err_headers_out, "Set-Cookie",
                   kyl_cookie_make(r->pool, kyl_conf_cookie(s->conf), "",
                                   secure(r), 0));
}

static void session_done(request_rec *r, kyl_sreq_t *s, apr_int64_t now)
{
    kyl_change_t c = { 0 };

    if (r->status == HTTP_UNAUTHORIZED) {
        /* The stored credential itself was refused (password changed, user
         * removed): end the session rather than retry it on every request,
         * which would count as failed logins (Kylin 5 locks users). */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, KYL_LOG_PREFIX
                      "%s refused the stored credential of %s: session ended",
                      s->node ? s->node : "a node", s->sess->user);
        remove_session(r, s, s->id);
        expire_cookie(r, s);
        return;
    }
    if (apr_table_get(r->headers_out, "Set-Cookie") != NULL) {
        node_cookies(r, s, &c);
        strip_node_cookies(r);
    }
    if (node_cookie_changed(s->sess, &c) || s->rewrite
        || now - s->sess->last_seen >= refresh_s(s->conf)) {
        save_change(r, s, &c, now);
    }
}

/* KylinSessionCacheTTL: another process or balancer host may hold a copy
 * of the session read before it was deleted, and uses it until that copy
 * expires.  Every such copy was read before the delete, so none outlives
 * the delete by more than the longest TTL: the logout answers once that
 * has passed, and from then on the old cookie opens nothing anywhere.
 * Only a live session's logout waits, and a session logs out once. */
static void wait_out_copies(request_rec *r, const kyl_sreq_t *s)
{
    apr_interval_time_t left = s->fence - apr_time_now();

    if (left > 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, KYL_LOG_PREFIX
                      "logout waits %" APR_TIME_T_FMT " ms for cached copies "
                      "of the session to expire", apr_time_as_msec(left));
        apr_sleep(left);
    }
}

static apr_status_t session_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    kyl_sreq_t *s = f->ctx;
    request_rec *r = f->r;
    apr_int64_t now = apr_time_sec(apr_time_now());

    ap_remove_output_filter(f);
    settle_cookies(r, s);       /* no finder routed it: a local answer */
    switch (s->kind) {
    case KS_LOGIN:
        login_done(r, s, now);
        break;
    case KS_SESSION:
        session_done(r, s, now);
        break;
    case KS_LOGOUT:
        strip_node_cookies(r);
        expire_cookie(r, s);
        wait_out_copies(r, s);
        break;
    default:
        break;
    }
    return ap_pass_brigade(f->next, bb);
}

/* ---- set-up -------------------------------------------------------------- */

/* Every child's store of the same servers counts into one array of shared
 * memory, so the status page shows the whole instance's memcached traffic
 * whichever child answers it. */
static int session_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *main_s)
{
    server_rec *s, *t;

    for (s = main_s; s; s = s->next) {
        kyl_srv_conf_t *c = kyl_conf(s);
        apr_size_t size;
        apr_shm_t *shm;
        apr_status_t rv;

        if (c->store_servers == NULL || c->store_counts) {
            continue;
        }
        size = sizeof(kyl_store_counts_t) * (apr_size_t)c->store_servers->nelts;
        if ((rv = apr_shm_create(&shm, size, NULL, pconf)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, KYL_LOG_PREFIX
                         "no shared memory for the memcached counters: the "
                         "status page shows each process's own");
            continue;
        }
        c->store_counts = apr_shm_baseaddr_get(shm);
        memset(c->store_counts, 0, size);
        for (t = s->next; t; t = t->next) {
            if (kyl_conf(t)->store_servers == c->store_servers) {
                kyl_conf(t)->store_counts = c->store_counts;
            }
        }
    }
    return OK;
}

static void session_child_init(apr_pool_t *p, server_rec *main_s)
{
    server_rec *s;
    int threads = 1;

    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    stores = apr_hash_make(p);
    for (s = main_s; s; s = s->next) {
        kyl_srv_conf_t *c = kyl_conf(s);
        kyl_store_conf_t sc;
        kyl_store_t *st;
        apr_status_t rv;

        if (c->store_servers) {     /* once per child, not per request */
            c->route_cookie = route_cookie(c, p);
        }

        if (c->store_servers && keymemo == NULL
            && kyl_lcache_create(&keymemo, p, KYL_KEYMEMO_SLOTS) != APR_SUCCESS) {
            keymemo = NULL;     /* every request works its key out */
        }
        if (c->store_servers && kyl_conf_cache_ttl(c) > longest_ttl) {
            longest_ttl = kyl_conf_cache_ttl(c);
        }
        if (c->store_servers && kyl_conf_cache_ttl(c) > 0 && vcache == NULL
            && kyl_lcache_create(&vcache, p, KYL_VCACHE_SLOTS) != APR_SUCCESS) {
            vcache = NULL;      /* no cache: every request reads memcached */
        }
        if (c->store_servers == NULL || store_for(c)) {
            continue;
        }
        sc.servers = (const char *const *)c->store_servers->elts;
        sc.nservers = c->store_servers->nelts;
        sc.replicas = kyl_conf_replicas(c);
        sc.timeout = KYL_STORE_TIMEOUT;
        sc.retry = KYL_STORE_RETRY;
        sc.max_handles = threads > 0 ? threads : 1;
        sc.shared = c->store_counts;
        rv = kyl_store_create(&st, p, &sc);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, KYL_LOG_PREFIX
                         "cannot set up the session store: sessions act as none");
            continue;
        }
        apr_hash_set(stores, &c->store_servers, sizeof(c->store_servers), st);
    }
    for (s = main_s; s; s = s->next) {     /* no hash lookup per request */
        kyl_conf(s)->store = kyl_conf(s)->store_servers ? store_for(kyl_conf(s)) : NULL;
    }
}

void kyl_session_status(request_rec *r, apr_array_header_t *out)
{
    const kyl_store_t *st = kyl_conf(r->server)->store;
    int i, n = st ? kyl_store_server_count(st) : 0;

    for (i = 0; i < n; i++) {
        kyl_store_server_info(st, i, apr_array_push(out));
    }
}

void kyl_session_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(session_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(session_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    session_frec = ap_register_output_filter(KYL_SESSION_FILTER, session_filter,
                                             NULL, AP_FTYPE_CONTENT_SET);
}
