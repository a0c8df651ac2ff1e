/* One probe of one member (kylin-rest.md section 8, refined by section 10):
 *   1. liveness and generation: 5.x actuator health, else 3.x/4.x
 *      admin/version, else 2.x public_config or user/authentication;
 *   2. mode: KylinMemberMode, else 5.x system/servers?ext=true (with
 *      credentials), else 2.x-4.x public_config (when kylin.server.mode is
 *      whitelisted), else admin/config (with credentials), else unknown;
 *   3. leadership (3.x/4.x is_active_job_node) and 5.x maintenance mode.
 * Credentials are sent at most once per probe, and never again after a 401
 * until the caller decides to retry (Kylin 5 locks users after 3 failures). */
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
} probe_ctx_t;

static void set_error(probe_ctx_t *c, const char *fmt, const char *a,
                      const char *b)
{
    apr_snprintf(c->res->error, sizeof(c->res->error), fmt, a, b ? b : "");
}

/* GET base + rel.  APR_SUCCESS means an HTTP answer of any status. */
static apr_status_t get(probe_ctx_t *c, const char *rel, const char *accept,
                        int with_auth, kyl_http_answer_t *ans)
{
    const char *err = NULL;
    const char *path = apr_pstrcat(c->p, c->t->base, rel, NULL);
    apr_status_t rv;

    c->res->requests++;
    rv = kyl_http_get(c->p, &c->t->http, path, accept,
                      with_auth ? c->t->auth : NULL, c->deadline, ans, &err);
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

/* 5.x actuator health.  Returns 1 when the member answered as a 5.x. */
static int detect_v5(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;
    int up = 0;

    if (get(c, "/api/health", ACCEPT_JSON, 0, &ans) != APR_SUCCESS) {
        return -1;
    }
    if ((ans.status == 200 || ans.status == 503)
        && kyl_parse_health(ans.body, ans.len, &up, &why) == APR_SUCCESS) {
        c->res->gen = KYL_GEN_5;
        apr_cpystrn(c->res->version, "5.x", sizeof(c->res->version));
        c->res->healthy = up;
        if (!up) {
            answer_error(c, "/api/health", &ans, "status DOWN");
        }
        return 1;
    }
    if (ans.status == 200 || c->t->known_gen == KYL_GEN_5) {
        /* A 2.x-4.x node answers 404 here; a 200 we cannot read is not
         * Kylin, and a known 5.x that stops answering is unhealthy. */
        answer_error(c, "/api/health", &ans, why ? why : "unexpected answer");
        return -1;
    }
    return 0;
}

static int detect_v34(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;

    if (get(c, "/api/admin/version", ACCEPT_JSON, 0, &ans) != APR_SUCCESS) {
        return -1;
    }
    if (ans.status == 404) {
        return 0;
    }
    if (ans.status != 200
        || kyl_parse_version(ans.body, ans.len, c->res->version,
                             sizeof(c->res->version), &c->res->gen,
                             &why) != APR_SUCCESS) {
        answer_error(c, "/api/admin/version", &ans, why);
        return -1;
    }
    c->res->healthy = 1;
    return 1;
}

static void fetch_public_config(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    const char *why = NULL;

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
            return -1;
        }
        if (ans.status != 200) {
            answer_error(c, "/api/user/authentication", &ans, "not a Kylin");
            return -1;
        }
    }
    c->res->gen = KYL_GEN_2;
    apr_cpystrn(c->res->version, "2.x", sizeof(c->res->version));
    c->res->healthy = 1;
    return 1;
}

static void detect_generation(probe_ctx_t *c)
{
    int r = 0;

    if (c->t->known_gen == KYL_GEN_UNKNOWN || c->t->known_gen == KYL_GEN_5) {
        r = detect_v5(c);
    }
    if (r == 0 && c->t->known_gen != KYL_GEN_2) {
        r = detect_v34(c);
    }
    if (r == 0) {
        r = detect_v2(c);
    }
}

/* 1 when server (registered "host:port") names the member. */
static int server_is_member(const kyl_server_t *srv, const kyl_probe_target_t *t)
{
    return strcasecmp(srv->host, t->http.host_header) == 0;
}

static void mode_v5(probe_ctx_t *c)
{
    kyl_http_answer_t ans;
    apr_array_header_t *servers = NULL;
    const char *why = NULL;
    int i, maintenance = 0;

    if (c->t->auth == NULL) {
        if (get(c, "/api/epoch/maintenance_mode", ACCEPT_V4, 0, &ans)
                == APR_SUCCESS && ans.status == 200) {
            kyl_parse_bool(ans.body, ans.len, &c->res->maintenance, &why);
        }
        return;
    }
    if (get(c, "/api/system/servers?ext=true", ACCEPT_V4PUB, 1, &ans)
            != APR_SUCCESS || c->res->auth_rejected) {
        return;
    }
    if (ans.status != 200
        || kyl_parse_servers(c->p, ans.body, ans.len, &servers, &maintenance,
                             &why) != APR_SUCCESS) {
        answer_error(c, "/api/system/servers", &ans, why);
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

    if (c->public_config == NULL) {
        fetch_public_config(c);
    }
    if (mode_from_props(c, c->public_config) || c->t->auth == NULL) {
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
    mode_from_props(c, props);
}

static void detect_mode(probe_ctx_t *c)
{
    if (c->t->static_mode != KYL_MODE_UNKNOWN) {
        c->res->mode = c->t->static_mode;
        c->res->mode_source = KYL_MODE_FROM_CONFIG;
        if (c->res->gen == KYL_GEN_5 && c->t->auth == NULL) {
            mode_v5(c);     /* maintenance flag only */
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

static int scheduler_is_curator(probe_ctx_t *c)
{
    const char *v = c->public_config
        ? apr_table_get(c->public_config, "kylin.job.scheduler.default") : NULL;

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
    c.res = res;
    c.t = t;
    c.p = p;
    c.deadline = apr_time_now() + t->timeout;
    c.public_config = NULL;

    detect_generation(&c);
    if (!res->healthy) {
        if (res->error[0] == '\0') {
            apr_cpystrn(res->error, "no answer", sizeof(res->error));
        }
        return;
    }
    detect_mode(&c);
    detect_leader(&c);
}

const char *kyl_probe_base(apr_pool_t *p, const char *member_path)
{
    apr_size_t n = member_path ? strlen(member_path) : 0;

    while (n > 0 && member_path[n - 1] == '/') {
        n--;
    }
    if (n == 0) {
        return "/kylin";
    }
    if (n >= 6 && strncmp(member_path + n - 6, "/kylin", 6) == 0) {
        return apr_pstrmemdup(p, member_path, n);
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, member_path, n), "/kylin", NULL);
}
