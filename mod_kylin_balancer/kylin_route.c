/* lbmethod "kylin": each request goes to a member that can serve its class
 * (contract.md "Routing"), least busy first, then weighted round robin.
 *
 * The finder runs under the balancer's thread lock on every request: it
 * reads one route word per member from shared memory and chooses, nothing
 * more (no I/O, no allocation besides httpd's own helper).  Classification
 * happens once per request in a fixups hook; refusals (internal endpoints,
 * no member for the class) are answered with JSON before mod_proxy runs. */
#include "apr_strings.h"
#include "apr_atomic.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_kylin_balancer.h"
#include "kyl_classify.h"
#include "kyl_parse.h"

#define KYL_PASSIVE_FILTER "KYLIN_PASSIVE"
#define KYL_PASSIVE_MAX    8192          /* bytes of an error body we read */
#define KYL_PASSIVE_TTL    300           /* s a passive mark lasts at most */
/* Probe results older than 3 intervals + the timeout mean the prober is not
 * running; but when its child dies, mod_watchdog gives the prober to another
 * child only after about 11 s (10 x AP_WD_TM_INTERVAL once it holds the
 * singleton mutex): short intervals must not forget everything meanwhile. */
#define KYL_STALE_MIN      apr_time_from_sec(15)
#define KYL_NOT_USABLE (PROXY_WORKER_IN_SHUTDOWN | PROXY_WORKER_DISABLED \
                        | PROXY_WORKER_STOPPED | PROXY_WORKER_HC_FAIL \
                        | PROXY_WORKER_DRAIN)

/* Members that tie with the winner, kept while httpd's helper walks them;
 * with more, account() walks the members again. */
#define KYL_TIES_MAX 64

typedef struct {
    proxy_balancer *b;
    kyl_class_e cls;
    int leader_known;
    int best_tier;
    apr_time_t now;
    apr_int64_t now_sec;
    apr_interval_time_t stale;          /* probe results older are unknown */
    const signed char *tier_row;        /* tier_table[cls][leader_known] */
    /* the members that tie with the current best (same tier, equally
     * busy), gathered while httpd's helper walks them: no second walk */
    proxy_worker *ties[KYL_TIES_MAX];
    int nties;                          /* -1: too many, walk again */
} kyl_baton_t;

static APR_OPTIONAL_FN_TYPE(proxy_balancer_get_best_worker) *get_best_worker;

/* Added by handle: adding by name looks the name up on every request. */
static ap_filter_rec_t *passive_frec;

/* "no usable member" is logged at most every few seconds per process: an
 * outage must not flood the error log with one line per request. */
#define KYL_NO_MEMBER_LOG_EVERY 10
static volatile apr_uint32_t last_no_member_log;

/* ---- member view and tiers -------------------------------------------- */

static apr_interval_time_t stale_after(const kyl_srv_conf_t *conf)
{
    apr_interval_time_t stale = 3 * kyl_conf_interval(conf) + kyl_conf_timeout(conf);

    return stale < KYL_STALE_MIN ? KYL_STALE_MIN : stale;
}

/* The slot's route word as the request path may believe it: a probe
 * result older than stale says nothing (the prober is not running). */
static apr_uint32_t live_word(const kyl_slot_t *slot, apr_time_t now,
                              apr_interval_time_t stale)
{
    apr_uint32_t word = slot->route;

    if ((word & KYL_RW_PROBED) && now - slot->last_probe > stale) {
        word &= ~(KYL_RW_PROBED | KYL_RW_HEALTHY);
    }
    return word;
}

/* Whether a passive job-mode mark (set at mark, in s; 0 = none) holds. */
static int passive_holds(apr_uint32_t mark, apr_int64_t now_sec)
{
    return mark && now_sec - (apr_int64_t)mark < KYL_PASSIVE_TTL;
}

static void member_view(const kyl_slot_t *slot, apr_time_t now,
                        apr_interval_time_t stale, kyl_route_view_t *v,
                        int *passive_nonquery)
{
    kyl_route_unpack(live_word(slot, now, stale), v);
    *passive_nonquery = passive_holds(slot->passive_nonquery, apr_time_sec(now));
}

void kyl_member_view(const kyl_slot_t *slot, apr_time_t now,
                     const kyl_srv_conf_t *conf, kyl_route_view_t *v,
                     int *passive_nonquery)
{
    member_view(slot, now, stale_after(conf), v, passive_nonquery);
}

int kyl_member_tier(kyl_class_e cls, const kyl_route_view_t *v,
                    int passive_nonquery, int leader_known)
{
    int jobber = v->mode != KYL_MODE_QUERY;   /* all, job or unknown */

    if (v->probed && !v->healthy) {
        return -1;
    }
    switch (cls) {
    case KYL_CLASS_QUERY:
        if (v->mode == KYL_MODE_JOB || passive_nonquery) {
            return -1;
        }
        return v->mode == KYL_MODE_QUERY ? 0 : 1;
    case KYL_CLASS_JOB:
    case KYL_CLASS_WRITE:
    case KYL_CLASS_INTERNAL:
        if (leader_known) {
            return v->leader == KYL_LEADER_YES ? 0 : (jobber ? 1 : 2);
        }
        return jobber ? 0 : 1;
    default:
        return 0;
    }
}

/* kyl_member_tier for every class, leader_known, passive mark and the
 * route-word bits it reads (probed, healthy, mode, leader: 6 bits), worked
 * out once: the finder looks a member's tier up instead of unpacking its
 * route word, and kyl_member_tier stays the one definition of the rules. */
#define KYL_RW_TIER_BITS 64
static signed char tier_table[KYL_CLASS_COUNT][2][2][KYL_RW_TIER_BITS];

/* probed, healthy (bits 0-1), mode (4-5) and leader (6-7) as 6 bits */
#if KYL_RW_PROBED != 1 || KYL_RW_HEALTHY != 2 || KYL_RW_MODE_SHIFT != 4 \
    || KYL_RW_LEAD_SHIFT != 6
#error "tier_index() follows the route word layout"
#endif
static unsigned tier_index(apr_uint32_t word)
{
    return (word & 3u) | ((word >> 2) & 0x3cu);
}

static void tier_table_init(void)
{
    unsigned bits;
    int cls, known, passive;

    for (bits = 0; bits < KYL_RW_TIER_BITS; bits++) {
        kyl_route_view_t v;

        memset(&v, 0, sizeof(v));
        v.probed = (bits & KYL_RW_PROBED) != 0;
        v.healthy = (bits & KYL_RW_HEALTHY) != 0;
        v.mode = (kyl_mode_e)((bits >> 2) & 3u);
        v.leader = (kyl_leader_e)((bits >> 4) & 3u);
        for (cls = 0; cls < KYL_CLASS_COUNT; cls++) {
            for (known = 0; known < 2; known++) {
                for (passive = 0; passive < 2; passive++) {
                    tier_table[cls][known][passive][bits] = (signed char)
                        kyl_member_tier((kyl_class_e)cls, &v, passive, known);
                }
            }
        }
    }
}

/* A member's tier for this request: its route word and passive mark
 * looked up in the request's row of tier_table.  httpd's helper asks once
 * per member, so nothing is remembered between calls. */
static int worker_tier(proxy_balancer *b, proxy_worker *w, const kyl_baton_t *k)
{
    kyl_slot_t *slot = kyl_slot_for(b, w);
    int passive;

    if (slot == NULL) {
        return 0;     /* no state table room: behave like byrequests */
    }
    /* member_view() on the bits the tier depends on (the passive mark
     * only matters to queries) */
    passive = k->cls == KYL_CLASS_QUERY
              && passive_holds(slot->passive_nonquery, k->now_sec);
    return k->tier_row[passive * KYL_RW_TIER_BITS
                       + tier_index(live_word(slot, k->now, k->stale))];
}

static void baton_init(kyl_baton_t *k, proxy_balancer *b, request_rec *r,
                       kyl_class_e cls)
{
    k->b = b;
    k->cls = cls;
    k->now = apr_time_now();
    k->now_sec = apr_time_sec(k->now);
    k->stale = stale_after(kyl_conf(r->server));
    k->best_tier = 1 << 20;
    k->leader_known = 0;
    k->tier_row = &tier_table[cls][0][0][0];
    k->nties = 0;
}

/* True when some usable member is the job engine's leader right now. */
static int leader_known(proxy_balancer *b, const kyl_baton_t *k)
{
    int i;

    for (i = 0; i < b->workers->nelts; i++) {
        proxy_worker *w = APR_ARRAY_IDX(b->workers, i, proxy_worker *);
        kyl_slot_t *slot = kyl_slot_for(b, w);
        kyl_route_view_t v;
        int passive;

        if (slot == NULL || !PROXY_WORKER_IS_USABLE(w)) {
            continue;
        }
        member_view(slot, k->now, k->stale, &v, &passive);
        if (v.healthy && v.leader == KYL_LEADER_YES) {
            return 1;
        }
    }
    return 0;
}

/* ---- classification ---------------------------------------------------- */

static proxy_balancer *balancer_of(request_rec *r, const char **rest)
{
    proxy_server_conf *pc = kyl_proxy_conf(r->server);
    const char *url;
    int i;

    if (pc == NULL || r->filename == NULL
        || strncmp(r->filename, "proxy:" BALANCER_PREFIX,
                   sizeof("proxy:" BALANCER_PREFIX) - 1) != 0) {
        return NULL;
    }
    url = r->filename + sizeof("proxy:") - 1;
    for (i = 0; i < pc->balancers->nelts; i++) {
        proxy_balancer *b = &APR_ARRAY_IDX(pc->balancers, i, proxy_balancer);
        apr_size_t n = strlen(b->s->name);

        if (strncasecmp(url, b->s->name, n) == 0
            && (url[n] == '/' || url[n] == '\0')) {
            *rest = url + n;
            return b;
        }
    }
    return NULL;
}

/* The path a member will see: a member written with a path
 * ("http://h:7070/kylin") puts it in front of what follows the balancer's
 * name.  Members of one balancer share their path; the first one tells. */
static const char *backend_path(request_rec *r, const proxy_balancer *b,
                                const char *rest)
{
    const char *name, *p;

    if (b->workers->nelts == 0) {
        return rest;
    }
    name = kyl_worker_name(APR_ARRAY_IDX(b->workers, 0, proxy_worker *));
    p = strchr(name, '/');              /* "scheme://": the first '/' */
    p = (p && p[1] == '/') ? strchr(p + 2, '/') : NULL;
    if (p == NULL || p[1] == '\0') {
        return rest;
    }
    return apr_pstrcat(r->pool, p, rest, NULL);
}

static kyl_req_t *classify(request_rec *r, proxy_balancer *b, const char *rest)
{
    kyl_req_t *req = apr_pcalloc(r->pool, sizeof(*req));
    const char *path = backend_path(r, b, rest);

    req->balancer = b;
    req->cls = kyl_classify(r->method, path, strlen(path), KYL_GEN_UNKNOWN,
                            &req->flags);
    ap_set_module_config(r->request_config, &kylin_balancer_module, req);
    return req;
}

static kyl_req_t *req_of(request_rec *r)
{
    return ap_get_module_config(r->request_config, &kylin_balancer_module);
}

static int kyl_fixups(request_rec *r)
{
    const char *path = "";
    proxy_balancer *b;
    kyl_req_t *req;

    if (r->proxyreq != PROXYREQ_REVERSE || r->main
        || (b = balancer_of(r, &path)) == NULL || !kyl_balancer_is_kylin(b)) {
        return DECLINED;
    }
    /* Kylin 5 treats "routed: true" as node-to-node traffic (s. 4.5). */
    apr_table_unset(r->headers_in, "routed");
    req = classify(r, b, path);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, KYL_LOG_PREFIX
                  "%s %s: class %s", r->method, path, kyl_class_name(req->cls));
    if (req->cls != KYL_CLASS_READ && req->cls != KYL_CLASS_AUTH) {
        /* job-mode refusals of queries, 5.x cluster errors of writes */
        ap_add_output_filter_handle(passive_frec, NULL, r, r->connection);
    }
    kyl_session_fixups(r, req);
    return DECLINED;
}

/* ---- refusals with JSON bodies ----------------------------------------- */

static int answer_json(request_rec *r, int status, const char *error,
                       const kyl_req_t *req, const char *message)
{
    const char *body = apr_psprintf(r->pool,
        "{\"error\":\"%s\",\"class\":\"%s\",\"balancer\":\"%s\","
        "\"message\":\"%s\"}\n", error, kyl_class_name(req->cls),
        req->balancer->s->name, message);

    r->status = status;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(r->headers_out, "Retry-After", apr_psprintf(r->pool,
                       "%d", (int)apr_time_sec(kyl_conf_interval(kyl_conf(r->server))) + 1));
    }
    if (!r->header_only) {
        ap_rputs(body, r);
    }
    return OK;
}

/* Could httpd's helper pick a member for this class right now? */
static int class_servable(request_rec *r, const kyl_req_t *req)
{
    proxy_balancer *b = req->balancer;
    kyl_baton_t k;
    int i;

    baton_init(&k, b, r, req->cls);
    for (i = 0; i < b->workers->nelts; i++) {
        proxy_worker *w = APR_ARRAY_IDX(b->workers, i, proxy_worker *);

        if (w->s->status & KYL_NOT_USABLE) {
            continue;
        }
        if ((w->s->status & PROXY_WORKER_IN_ERROR)
            && k.now <= w->s->error_time + w->s->retry) {
            continue;
        }
        if (worker_tier(b, w, &k) >= 0) {
            return 1;
        }
    }
    return 0;
}

static int kyl_handler(request_rec *r)
{
    kyl_req_t *req = req_of(r);

    if (req == NULL || r->handler == NULL || strcmp(r->handler, "proxy-server")) {
        return DECLINED;
    }
    if (req->cls == KYL_CLASS_INTERNAL
        && !kyl_conf_allow_internal(kyl_conf(r->server))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, KYL_LOG_PREFIX
                      "refused internal endpoint %s", r->uri);
        return answer_json(r, HTTP_FORBIDDEN, "forbidden", req,
                           "Kylin node-to-node endpoint, not served to "
                           "clients (see KylinAllowInternal)");
    }
    if (!class_servable(r, req)) {
        if (kyl_log_due(&last_no_member_log, KYL_NO_MEMBER_LOG_EVERY,
                        r->request_time)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, KYL_LOG_PREFIX
                          "%s: no usable member for %s requests",
                          req->balancer->s->name, kyl_class_name(req->cls));
        }
        return answer_json(r, HTTP_SERVICE_UNAVAILABLE, "no member available",
                           req, apr_pstrcat(r->pool, "no usable Kylin member "
                           "can serve ", kyl_class_name(req->cls),
                           " requests", NULL));
    }
    return DECLINED;
}

/* ---- the finder --------------------------------------------------------- */

static void tie(kyl_baton_t *k, proxy_worker *w)
{
    if (k->nties >= KYL_TIES_MAX) {
        k->nties = -1;          /* too many to keep: account() walks again */
    }
    if (k->nties >= 0) {
        k->ties[k->nties++] = w;
    }
}

static int is_best(proxy_worker *cur, proxy_worker *prev, void *baton)
{
    kyl_baton_t *k = baton;
    int tier = worker_tier(k->b, cur, k);

    if (tier < 0) {
        return 0;
    }
    if (prev == NULL || tier < k->best_tier
        || (tier == k->best_tier && cur->s->busy < prev->s->busy)) {
        k->best_tier = tier;        /* a better group starts with cur */
        k->nties = 0;
        tie(k, cur);
        return 1;
    }
    if (tier == k->best_tier && cur->s->busy == prev->s->busy) {
        tie(k, cur);
        return cur->s->lbstatus + cur->s->lbfactor
               > prev->s->lbstatus + prev->s->lbfactor;
    }
    return 0;
}

/* Weighted round robin among the members that tied with the winner (same
 * tier, equally busy), as byrequests does among all members.  A member
 * chosen because it was the least busy one is not charged: otherwise a
 * busy period leaves a debt that sends every request of the next quiet
 * period to the same member.  A member that ties is one is_best saw join
 * the winner's group (a better group started afresh); with more ties
 * than it keeps, the members are walked again. */
static void account(proxy_balancer *b, proxy_worker *best, kyl_baton_t *k)
{
    apr_size_t busy = best->s->busy;
    int i, total = 0;

    for (i = 0; i < k->nties; i++) {
        k->ties[i]->s->lbstatus += k->ties[i]->s->lbfactor;
        total += k->ties[i]->s->lbfactor;
    }
    for (i = 0; k->nties < 0 && i < b->workers->nelts; i++) {
        proxy_worker *w = APR_ARRAY_IDX(b->workers, i, proxy_worker *);

        if (PROXY_WORKER_IS_USABLE(w) && w->s->busy == busy
            && worker_tier(b, w, k) == k->best_tier) {
            w->s->lbstatus += w->s->lbfactor;
            total += w->s->lbfactor;
        }
    }
    best->s->lbstatus -= total;
}

/* While memcached is down, logins fall back to classic stickiness: a route
 * cookie names the member that holds the client's own Kylin session. */
static proxy_worker *sticky_worker(proxy_balancer *b, const kyl_req_t *req,
                                   kyl_baton_t *k)
{
    int i;

    if (!kyl_session_sticky(req)) {
        return NULL;            /* the common case: no walk at all */
    }
    for (i = 0; i < b->workers->nelts; i++) {
        proxy_worker *w = APR_ARRAY_IDX(b->workers, i, proxy_worker *);

        if (kyl_session_sticks_to(req, w) && PROXY_WORKER_IS_USABLE(w)
            && (k->best_tier = worker_tier(b, w, k)) >= 0) {
            return w;
        }
    }
    return NULL;
}

static proxy_worker *kyl_find(proxy_balancer *b, request_rec *r)
{
    kyl_req_t *req = req_of(r);
    kyl_baton_t k;
    proxy_worker *best;
    kyl_slot_t *slot;

    if (req == NULL) {
        const char *path = "";
        balancer_of(r, &path);
        req = classify(r, b, path);
    }
    baton_init(&k, b, r, req->cls);
    k.leader_known = (k.cls == KYL_CLASS_JOB || k.cls == KYL_CLASS_WRITE
                      || k.cls == KYL_CLASS_INTERNAL) && leader_known(b, &k);
    k.tier_row = &tier_table[k.cls][k.leader_known][0][0];
    best = sticky_worker(b, req, &k);
    if (best == NULL) {
        best = get_best_worker(b, r, is_best, &k);
        if (best == NULL) {
            return NULL;
        }
        account(b, best, &k);
    }
    kyl_session_route(r, req, best);
    if ((slot = kyl_slot_for(b, best)) != NULL) {
        apr_atomic_inc32(&slot->counts[k.cls]);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, KYL_LOG_PREFIX
                  "%s request to %s (tier %d, busy %" APR_SIZE_T_FMT ")",
                  kyl_class_name(k.cls), kyl_worker_name(best), k.best_tier,
                  best->s->busy);
    return best;
}

static apr_status_t kyl_reset(proxy_balancer *b, server_rec *s)
{
    int i;

    for (i = 0; i < b->workers->nelts; i++) {
        proxy_worker *w = APR_ARRAY_IDX(b->workers, i, proxy_worker *);
        w->s->lbstatus = 0;
        w->s->busy = 0;
    }
    return APR_SUCCESS;
}

static apr_status_t kyl_age(proxy_balancer *b, server_rec *s)
{
    return APR_SUCCESS;
}

const proxy_balancer_method kyl_lbmethod = {
    KYL_LBMETHOD, &kyl_find, NULL, &kyl_reset, &kyl_age, NULL
};

/* ---- passive learning ---------------------------------------------------- */

typedef struct {
    kyl_req_t *req;
    apr_bucket_brigade *held;
    apr_size_t len;
} kyl_passive_t;

static void learn(request_rec *r, const kyl_req_t *req, const char *body,
                  apr_size_t len)
{
    const char *bname = apr_table_get(r->subprocess_env, "BALANCER_NAME");
    const char *wname = apr_table_get(r->subprocess_env, "BALANCER_WORKER_NAME");
    kyl_slot_t *slot = (bname && wname) ? kyl_slot_by_names(bname, wname) : NULL;
    const char *code;

    if (slot == NULL) {
        return;
    }
    if (req->cls == KYL_CLASS_QUERY
        && kyl_parse_is_job_mode_refusal(r->status, body, len)) {
        if (!slot->passive_nonquery) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, KYL_LOG_PREFIX
                          "%s refused a query as a job-mode node: no more "
                          "queries to it until a probe says otherwise", wname);
        }
        apr_atomic_set32(&slot->passive_nonquery,
                         (apr_uint32_t)apr_time_sec(apr_time_now()));
    }
    if ((code = kyl_parse_cluster_error(body, len)) != NULL) {
        kyl_slot_write_begin(slot);
        apr_cpystrn(slot->cluster_error, code, sizeof(slot->cluster_error));
        slot->cluster_error_time = apr_time_now();
        kyl_slot_write_end(slot);
    }
}

static apr_status_t passive_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    kyl_passive_t *ctx = f->ctx;
    request_rec *r = f->r;
    char buf[KYL_PASSIVE_MAX];
    apr_size_t len = sizeof(buf);
    apr_bucket *e;
    apr_status_t rv;
    int done = 0;

    if (ctx == NULL) {
        if (r->status != 400 && r->status != 500) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ctx->req = req_of(r);
    }
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb);
         e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e)) {
            done = 1;
        }
        else if (e->length != (apr_size_t)-1) {
            ctx->len += e->length;
        }
    }
    /* An error answer is small: hold it until it is whole (or 8 KiB).  Not
     * only until a FLUSH: mod_proxy_http flushes whenever the backend has
     * nothing more to read yet, e.g. between its headers and its body. */
    rv = ap_save_brigade(f, &ctx->held, &bb, r->pool);
    if (rv != APR_SUCCESS || (!done && ctx->len < KYL_PASSIVE_MAX)) {
        return rv;
    }
    if (ctx->req && apr_brigade_flatten(ctx->held, buf, &len) == APR_SUCCESS) {
        learn(r, ctx->req, buf, len);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, ctx->held);
}

/* ---- registration -------------------------------------------------------- */

apr_status_t kyl_route_post_config(server_rec *s)
{
    tier_table_init();
    get_best_worker = APR_RETRIEVE_OPTIONAL_FN(proxy_balancer_get_best_worker);
    if (get_best_worker == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KYL_LOG_PREFIX
                     "mod_proxy does not provide proxy_balancer_get_best_worker "
                     "(httpd 2.4.33 or later with mod_proxy loaded is needed)");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void kyl_route_register_hooks(apr_pool_t *p)
{
    static const char *const succ[] = { "mod_proxy.c", NULL };

    ap_register_provider(p, PROXY_LBMETHOD, KYL_LBMETHOD, "0", &kyl_lbmethod);
    ap_hook_fixups(kyl_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(kyl_handler, NULL, succ, APR_HOOK_FIRST);
    passive_frec = ap_register_output_filter(KYL_PASSIVE_FILTER, passive_filter,
                                             NULL, AP_FTYPE_CONTENT_SET);
}
