/* One probe of one member (kylin-rest.md section 8, refined by section 10):
 *   1. liveness and generation: 5.x actuator health, else 3.x/4.x
 *      admin/version, else 2.x public_config or user/authentication;
 *   2. mode: KylinMemberMode, else 5.x system/servers?ext=true (with
 *      credentials), else 2.x-4.x public_config (when kylin.server.mode is
 *      whitelisted), else admin/config (with credentials), else unknown;
 *   3. leadership (3.x/4.x is_active_job_node) and 5.x maintenance mode.
 * Credentials are sent at most once per probe, and never again after a 401
 * until the caller decides to retry (Kylin 5 locks users after 3 failures).
 * The generation found last time is only a hint: it saves the health
 * request of a 2.x-4.x, and an answer that contradicts it starts over. */
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "kyl_probe.h"
#include "kyl_parse.h"

#define ACCEPT_JSON  "application/json"
#define ACCEPT_V4PUB "application/vnd.apache.kylin-v4-public+json"
#define ACCEPT_V4    "application/vnd.apache.kylin-v4+json"

typedef struct {
    kyl_probe_result_t *res;
    const kyl_probe_target_t *t;
    apr_pool_t *p;
    apr_time_t deadline;
    apr_table_t *public_config;    /* 2.x-4.x, when fetched */
    apr_table_t *admin_config;     /* 2.x-4.x, when fetched */
    int public_config_tried;
    int cred_grant;                /* guard: 0 not asked, 1 granted, -1 no */
} probe_ctx_t;

/* detect_*(): the member runs that generation (1), does not (0), cannot be
 * reached or answers wrongly (-1). */
#define GEN_FAILED  -1
#define GEN_NOT_ME  0
#define GEN_FOUND   1

static void set_error(probe_ctx_t *c, const char *fmt, const char *a,
                      const char *b)
{
    apr_snprintf(c->res->error, sizeof(c->res->error), fmt, a, b ? b : "");
}

/* May this probe send the credentials?  The guard is asked once. */
static int creds_usable(probe_ctx_t *c)
{
    const kyl_cred_guard_t *g = c->t->guard;

    if (c->t->auth == NULL || c->res->auth_rejected) {
        return 0;
    }
    if (g != NULL && c->cred_grant == 0) {
        c->cred_grant = g->begin(g->baton, c->deadline) ? 1 : -1;
    }
    return g == NULL || c->cred_grant > 0;
}

/* Tells the guard how the request that carried the credentials went. */
static void creds_used(probe_ctx_t *c, apr_status_t rv,
                       const kyl_http_answer_t *ans)
{
    const kyl_cred_guard_t *g = c->t->guard;
    kyl_cred_outcome_e out = KYL_CRED_NO_VERDICT;

    if (g == NULL || c->cred_grant != 1) {
        return;
    }
    if (rv == APR_SUCCESS && (ans->status == 401 || ans->status == 403)) {
        out = KYL_CRED_REFUSED;
    }
    else if (rv == APR_SUCCESS && ans->status >= 200 && ans->status < 300) {
        out = KYL_CRED_ACCEPTED;
    }
    c->cred_grant = -1;
    g->end(g->baton, out);
}

/* GET base + rel.  APR_SUCCESS means an HTTP answer of any status. */
static apr_status_t get(probe_ctx_t *c, const char *rel, const char *accept,
                        int with_auth, kyl_http_answer_t *ans)
{
    const char *err = NULL;
    const char *path = apr_pstrcat(c->p, c->t->base, rel, NULL);
    apr_status_t rv;

    with_auth = with_auth && creds_usable(c);
    c->res->requests++;
    rv = kyl_http_get(c->p, &c->t->http, path, accept,
                      with_auth ? c->t->auth : NULL, c->deadline, ans, &err);
    if (with_auth) {
        creds_used(c, rv, ans);
    }
    if (rv != APR_SUCCESS) {
        set_error(c, "GET %s: %s", path, err);
    }
    else if (with_auth && (ans->status == 401 || ans->status == 403)) {
        c->res->auth_rejected = 1;
        set_error(c, "GET %s: credentials refused (%s)", path,
                  ans->status == 401 ? "401" : "403");
    }
    return rv;
}

static void answer_error(probe_ctx_t *c, const char *rel,
                         const kyl_http_answer_t *ans, const char *why)
{
    char status[16];

    apr_snprintf(status, sizeof(status), "HTTP %d", ans->status);
    apr_snprintf(c->res->error, sizeof(c->res->error), "GET %s%s: %s%s%s",
                 c->t->base, rel, status, why ? ", " : "", why ? why : "");
}

/* A path the member does not serve: 404, or 401/403 where anonymous callers
 * must log in first (2.x-4.x protect /api/health, 2.x /api/admin/version);
 * 5.x answers 406 to a media type it does not produce (section 10). */
static int not_this_gen(int status)
{
    return status == 401 || status == 403 || status == 404 || status == 406;
}

static void found(probe_ctx_t *c, kyl_gen_e gen, const char *version)
{
    c->res->gen = gen;
    if (version != NULL) {
        apr_cpystrn(c->res->version, version, sizeof(c->res->version));
    }
}

/* 5.x actuator health. */
static int detect_v5(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;
    int up = 0;

    if (get(c, "/api/health", ACCEPT_JSON, 0, &ans) != APR_SUCCESS) {
        return GEN_FAILED;
    }
    if ((ans.status == 200 || ans.status == 503)
        && kyl_parse_health(ans.body, ans.len, &up, &why) == APR_SUCCESS) {
        found(c, KYL_GEN_5, "5.x");
        c->res->healthy = up;
        if (!up) {
            answer_error(c, "/api/health", &ans, "status DOWN");
        }
        return GEN_FOUND;
    }
    if (ans.status == 200
        || (c->t->known_gen == KYL_GEN_5 && !not_this_gen(ans.status))) {
        /* A 2.x-4.x node answers 404 or 401 here; a 200 we cannot read is
         * not Kylin, and a known 5.x that stops answering is unhealthy. */
        answer_error(c, "/api/health", &ans, why ? why : "unexpected answer");
        return GEN_FAILED;
    }
    return GEN_NOT_ME;
}

static int detect_v34(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;

    if (get(c, "/api/admin/version", ACCEPT_JSON, 0, &ans) != APR_SUCCESS) {
        return GEN_FAILED;
    }
    if (not_this_gen(ans.status)) {
        return GEN_NOT_ME;
    }
    if (ans.status != 200
        || kyl_parse_version(ans.body, ans.len, c->res->version,
                             sizeof(c->res->version), &c->res->gen,
                             &why) != APR_SUCCESS) {
        c->res->gen = KYL_GEN_UNKNOWN;
        c->res->version[0] = '\0';
        answer_error(c, "/api/admin/version", &ans, why);
        return GEN_FAILED;
    }
    c->res->healthy = 1;
    return GEN_FOUND;
}

static void fetch_public_config(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;

    c->public_config_tried = 1;
    if (get(c, "/api/admin/public_config", ACCEPT_JSON, 0, &ans) != APR_SUCCESS
        || ans.status != 200) {
        return;
    }
    if (kyl_parse_config(c->p, ans.body, ans.len, &c->public_config, &why)
        != APR_SUCCESS) {
        c->public_config = NULL;
        answer_error(c, "/api/admin/public_config", &ans, why);
    }
}

/* 2.x (2.0-2.2 have only user/authentication; 2.3+ public_config). */
static int detect_v2(probe_ctx_t *c)
{
    kyl_http_answer_t ans;

    fetch_public_config(c);
    if (c->public_config == NULL) {
        if (get(c, "/api/user/authentication", ACCEPT_JSON, 0, &ans)
            != APR_SUCCESS) {
            return GEN_FAILED;
        }
        if (ans.status != 200) {
            answer_error(c, "/api/user/authentication", &ans, "not a Kylin");
            return GEN_NOT_ME;
        }
    }
    found(c, KYL_GEN_2, "2.x");
    c->res->healthy = 1;
    return GEN_FOUND;
}

static void detect_generation(probe_ctx_t *c)
{
    kyl_gen_e hint = c->t->known_gen;
    int r;

    /* a member known to run 2.x-4.x skips the health request; when it
     * turns out to run none of them (upgraded to 5.x), start over */
    if (hint == KYL_GEN_2 || hint == KYL_GEN_3 || hint == KYL_GEN_4) {
        r = detect_v34(c);
        if (r == GEN_NOT_ME) {
            r = detect_v2(c);
        }
        if (r != GEN_NOT_ME) {
            return;
        }
        c->res->error[0] = '\0';
        c->public_config = NULL;
        c->public_config_tried = 0;
    }
    r = detect_v5(c);
    if (r == GEN_NOT_ME) {
        r = detect_v34(c);
    }
    if (r == GEN_NOT_ME) {
        detect_v2(c);
    }
}

/* 1 when server (registered "host:port") names the member. */
static int server_is_member(const kyl_server_t *srv, const kyl_probe_target_t *t)
{
    return strcasecmp(srv->host, t->http.host_header) == 0;
}

/* 5.x maintenance mode, readable without credentials (E10). */
static void maintenance_v5(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;
    int on = 0;

    if (get(c, "/api/epoch/maintenance_mode", ACCEPT_V4, 0, &ans) == APR_SUCCESS
        && ans.status == 200
        && kyl_parse_bool(ans.body, ans.len, &on, &why) == APR_SUCCESS) {
        c->res->maintenance = on;
    }
}

static void mode_v5(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    apr_array_header_t *servers = NULL;
    const char *why = NULL;
    int i, maintenance = 0;

    if (!creds_usable(c)) {
        maintenance_v5(c);
        return;
    }
    if (get(c, "/api/system/servers?ext=true", ACCEPT_V4PUB, 1, &ans)
        != APR_SUCCESS) {
        return;
    }
    if (c->res->auth_rejected || ans.status != 200
        || kyl_parse_servers(c->p, ans.body, ans.len, &servers, &maintenance,
                             &why) != APR_SUCCESS) {
        if (!c->res->auth_rejected) {
            answer_error(c, "/api/system/servers", &ans, why);
        }
        maintenance_v5(c);
        return;
    }
    c->res->maintenance = maintenance;
    for (i = 0; i < servers->nelts; i++) {
        const kyl_server_t *srv = &APR_ARRAY_IDX(servers, i, kyl_server_t);

        if (server_is_member(srv, c->t) && srv->mode != KYL_MODE_UNKNOWN) {
            c->res->mode = srv->mode;
            c->res->mode_source = KYL_MODE_FROM_PROBE;
            return;
        }
    }
    apr_snprintf(c->res->error, sizeof(c->res->error),
                 "%s is not in system/servers (set kylin.server.host-address "
                 "or KylinMemberMode)", c->t->http.host_header);
}

static int mode_from_props(probe_ctx_t *c, apr_table_t *props)
{
    const char *v = props ? apr_table_get(props, "kylin.server.mode") : NULL;

    if (v && kyl_mode_parse(v, &c->res->mode) == APR_SUCCESS) {
        c->res->mode_source = KYL_MODE_FROM_PROBE;
        return 1;
    }
    return 0;
}

static void mode_v234(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    apr_table_t *props = NULL;
    const char *why = NULL;

    if (!c->public_config_tried) {
        fetch_public_config(c);
    }
    if (mode_from_props(c, c->public_config) || !creds_usable(c)) {
        return;
    }
    if (get(c, "/api/admin/config", ACCEPT_JSON, 1, &ans) != APR_SUCCESS
        || c->res->auth_rejected) {
        return;
    }
    if (ans.status != 200
        || kyl_parse_config(c->p, ans.body, ans.len, &props, &why)
               != APR_SUCCESS) {
        answer_error(c, "/api/admin/config", &ans, why);
        return;
    }
    c->admin_config = props;
    mode_from_props(c, props);
}

static void detect_mode(probe_ctx_t *c)
{
    if (c->t->static_mode != KYL_MODE_UNKNOWN) {
        c->res->mode = c->t->static_mode;
        c->res->mode_source = KYL_MODE_FROM_CONFIG;
        if (c->res->gen == KYL_GEN_5) {
            maintenance_v5(c);      /* no credentials spent on it */
        }
        return;
    }
    if (c->res->gen == KYL_GEN_5) {
        mode_v5(c);
    }
    else {
        mode_v234(c);
    }
}

/* kylin.job.scheduler.default: 100 is Curator; unknown is asked for. */
static int scheduler_is_curator(probe_ctx_t *c)
{
    static const char key[] = "kylin.job.scheduler.default";
    const char *v = c->public_config ? apr_table_get(c->public_config, key)
                                     : NULL;

    if (v == NULL && c->admin_config != NULL) {
        v = apr_table_get(c->admin_config, key);
    }
    return v == NULL || strcmp(v, "100") == 0;
}

static void detect_leader(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;
    int yes = 0;

    if (c->res->gen == KYL_GEN_2 || c->res->gen == KYL_GEN_5) {
        c->res->leader = KYL_LEADER_NA;
        return;
    }
    if (c->res->mode == KYL_MODE_QUERY) {
        c->res->leader = KYL_LEADER_NO;
        return;
    }
    if (!scheduler_is_curator(c)) {
        c->res->leader = KYL_LEADER_NA;
        return;
    }
    if (get(c, "/api/service_discovery/state/is_active_job_node", ACCEPT_JSON,
            0, &ans) != APR_SUCCESS) {
        return;
    }
    if (ans.status == 500 && kyl_parse_is_not_curator(ans.body, ans.len)) {
        c->res->leader = KYL_LEADER_NA;
    }
    else if (ans.status == 200
             && kyl_parse_bool(ans.body, ans.len, &yes, &why) == APR_SUCCESS) {
        c->res->leader = yes ? KYL_LEADER_YES : KYL_LEADER_NO;
    }
    else {
        answer_error(c, "/api/service_discovery/state/is_active_job_node",
                     &ans, why);
    }
}

void kyl_probe_run(kyl_probe_result_t *res, const kyl_probe_target_t *t,
                   apr_pool_t *p)
{
    probe_ctx_t c;

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    c.res = res;
    c.t = t;
    c.p = p;
    c.deadline = apr_time_now() + t->timeout;

    detect_generation(&c);
    if (!res->healthy) {
        if (res->error[0] == '\0') {
            apr_cpystrn(res->error, "no answer", sizeof(res->error));
        }
        return;
    }
    detect_mode(&c);
    detect_leader(&c);
    if (c.cred_grant == 1) {          /* granted, then not needed after all */
        t->guard->end(t->guard->baton, KYL_CRED_NO_VERDICT);
    }
}

const char *kyl_probe_base(apr_pool_t *p, const char *member_path)
{
    apr_size_t n = member_path ? strlen(member_path) : 0;
    const char *path;

    while (n > 0 && member_path[n - 1] == '/') {
        n--;
    }
    if (n == 0) {
        return "/kylin";
    }
    /* the request line needs an absolute path */
    path = apr_pstrcat(p, member_path[0] == '/' ? "" : "/",
                       apr_pstrmemdup(p, member_path, n), NULL);
    n = strlen(path);
    if (n >= 6 && strcmp(path + n - 6, "/kylin") == 0) {
        return path;
    }
    return apr_pstrcat(p, path, "/kylin", NULL);
}
