/* Unit tests: kyl_probe.c (the probe sequence of one member, kylin-rest.md
 * sections 4.1, 8 and 10).
 *
 * Each case runs kyl_probe_run against a tiny Kylin stand-in on
 * 127.0.0.1:0: an APR thread that answers per-path canned answers (a
 * route table; other paths get Tomcat's 404) and records every request.
 * A case then checks the result and the request log, written as the paths
 * after /kylin/api/ in order, "+" marking a request that carried
 * credentials. */
#include <stdio.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "kyl_test.h"
#include "kyl_test_net.h"
#include "kyl_probe.h"

#define BASIC "Basic cHJvYmU6c2VjcmV0"          /* probe:secret */

/* ---- answers, as Kylin sends them ------------------------------------------ */

#define UP "{\"status\":\"UP\",\"components\":{\"diskSpace\":{\"status\":\"UP\"," \
    "\"details\":{\"total\":1,\"free\":1}},\"metaStore\":{\"status\":\"UP\"}}}"
#define DOWN "{\"status\":\"DOWN\",\"components\":{\"sparkContext\":" \
    "{\"status\":\"DOWN\"},\"metaStore\":{\"status\":\"UP\"}}}"
/* %MEMBER% is replaced by the server's own host:port */
#define SERVERS(mode, mm) "{\"code\":\"000\",\"data\":{\"status\":" \
    "{\"maintenance_mode\":" mm ",\"maintenance_mode_reason\":null}," \
    "\"servers\":[{\"host\":\"kylin-a:7070\"," \
    "\"mode\":\"query\",\"secretName\":\"s1\"},{\"host\":\"%MEMBER%\",\"mode\":\"" \
    mode "\",\"secretName\":\"s2\"}]},\"msg\":\"\"}"
#define SERVERS_OTHERS "{\"code\":\"000\",\"data\":{\"servers\":[{\"host\":" \
    "\"kylin-a:7070\",\"mode\":\"all\"}]},\"msg\":\"\"}"
#define MAINT(b) "{\"code\":\"000\",\"data\":" b ",\"msg\":\"\"}"
#define KE(code, msg) "{\"code\":\"999\",\"data\":null,\"msg\":\"" msg "\"," \
    "\"stacktrace\":\"...\",\"exception\":\"...\",\"url\":\"http://n1:7070/kylin/api\"," \
    "\"suggestion\":\"\",\"error_code\":\"" code "\"}"
#define KE_BAD_PASSWORD KE("KE-010003208", "Invalid username or password.")
#define KE_ANONYMOUS KE("KE-010003207", "Unauthorized access.")
#define KE_NO_AUTH KE("KE-010003209", "Can't find authentication information.")
#define VERSION(v) "{\"kylin.version\":\"" v "\",\"kylin.version.commitId\":" \
    "\"a50eda0429\"}"
#define CONFIG(props) "{\"config\":\"" props "\"}"
#define PUB_DEFAULTS "kylin.web.timezone=GMT+8\\nkylin.query.cache-enabled=true\\n" \
    "kylin.env=QA\\nkylin.security.profile=testing\\n"
#define CURATOR "kylin.job.scheduler.default=100\\n"
#define TOMCAT(code, text) "<html><head><title>Apache Tomcat/7.0.100 - Error " \
    "report</title></head><body><h1>HTTP Status " code " - " text "</h1></body></html>"
#define NOT_CURATOR "{\"code\":\"999\",\"data\":null,\"msg\":\"Only meaningful when " \
    "scheduler is CuratorScheduler, try set kylin.job.scheduler.default to 100 to " \
    "enable CuratorScheduler.\",\"stacktrace\":" \
    "\"java.lang.UnsupportedOperationException\",\"exception\":\"Only meaningful " \
    "when scheduler is CuratorScheduler, try set " \
    "kylin.job.scheduler.default to 100 to enable CuratorScheduler.\",\"url\":" \
    "\"http://n1:7070/kylin/api/service_discovery/state/is_active_job_node\"}"
#define ERR_500 "{\"code\":\"999\",\"data\":null," \
    "\"msg\":\"java.lang.NullPointerException\",\"stacktrace\":\"...\"," \
    "\"exception\":\"...\",\"url\":\"http://n1:7070/kylin/api\"}"

/* Paths, relative to the context path /kylin. */
#define P_HEALTH  "/api/health"
#define P_SERVERS "/api/system/servers?ext=true"
#define P_MAINT   "/api/epoch/maintenance_mode"
#define P_VERSION "/api/admin/version"
#define P_PUBLIC  "/api/admin/public_config"
#define P_CONFIG  "/api/admin/config"
#define P_ACTIVE  "/api/service_discovery/state/is_active_job_node"
#define P_USER    "/api/user/authentication"

/* Log words (paths after /kylin/api/). */
#define L_ACTIVE "service_discovery/state/is_active_job_node"

/* ---- the stand-in server ----------------------------------------------------- */

#define SRV_HANG 0          /* route status: read the request, never answer */
#define SRV_RAW  -1         /* route status: send body as is, not HTTP */
#define SRV_MAX_ROUTES 8
#define SRV_MAX_LOG 16

typedef struct {
    const char *path;
    int status;
    const char *body;
    int delay_ms;
} route_t;

typedef struct {
    char path[128];
    char accept[96];
    int auth;
} logged_t;

typedef struct {
    const route_t *routes;
    apr_pool_t *pool;               /* the server thread's own */
    apr_socket_t *listener;
    apr_port_t port;
    char member[32];                /* "127.0.0.1:port" */
    apr_thread_t *thread;
    volatile apr_uint32_t stop;
    logged_t log[SRV_MAX_LOG];
    int nlog;
} srv_t;

/* The value of header name in the request head, copied into out. */
static int header_value(const char *head, const char *name, char *out, apr_size_t cap)
{
    const char *h = strstr(head, name), *e;

    if (h == NULL) {
        return 0;
    }
    h += strlen(name);
    e = strstr(h, "\r\n");
    apr_cpystrn(out, h, e && (apr_size_t)(e - h) < cap ? (apr_size_t)(e - h) + 1 : cap);
    return 1;
}

static logged_t *srv_record(srv_t *s, const char *head)
{
    logged_t *l = &s->log[s->nlog < SRV_MAX_LOG ? s->nlog++ : SRV_MAX_LOG - 1];
    const char *sp = strchr(head, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
    char auth[64];

    memset(l, 0, sizeof(*l));
    if (sp && sp2 && (apr_size_t)(sp2 - sp) <= sizeof(l->path)) {
        apr_cpystrn(l->path, sp + 1, (apr_size_t)(sp2 - sp));
    }
    header_value(head, "\r\nAccept: ", l->accept, sizeof(l->accept));
    l->auth = header_value(head, "\r\nAuthorization: ", auth, sizeof(auth));
    return l;
}

/* The route for a request path: the route's path after /kylin, or in full. */
static const route_t *srv_route(srv_t *s, const char *path)
{
    int i;

    for (i = 0; i < SRV_MAX_ROUTES && s->routes[i].path; i++) {
        const char *rp = s->routes[i].path;

        if (strcmp(path, rp) == 0
            || (strncmp(path, "/kylin", 6) == 0 && strcmp(path + 6, rp) == 0)) {
            return &s->routes[i];
        }
    }
    return NULL;
}

static void srv_answer(srv_t *s, apr_socket_t *c, const route_t *r)
{
    static const route_t not_found = { NULL, 404, TOMCAT("404", "Not Found"), 0 };
    char *body, *ans;

    r = r ? r : &not_found;
    if (r->delay_ms > 0) {
        apr_sleep(apr_time_from_msec(r->delay_ms));
    }
    if (r->status == SRV_HANG) {
        kyl_test_drain(c);          /* until the client gives up */
        return;
    }
    body = apr_pstrdup(s->pool, r->body);
    for (char *m; (m = strstr(body, "%MEMBER%")) != NULL;) {
        *m = '\0';
        body = apr_pstrcat(s->pool, body, s->member, m + 8, NULL);
    }
    ans = r->status == SRV_RAW ? body
        : apr_psprintf(s->pool, "HTTP/1.1 %d Canned\r\nContent-Type: application/json"
                       "\r\nContent-Length: %u\r\nConnection: close\r\n\r\n%s",
                       r->status, (unsigned)strlen(body), body);
    kyl_test_send(c, ans, strlen(ans), 0, 0);
}

static void *APR_THREAD_FUNC srv_run(apr_thread_t *t, void *data)
{
    srv_t *s = data;
    char head[4096];

    (void)t;
    while (!apr_atomic_read32(&s->stop)) {
        apr_socket_t *c;

        if (kyl_test_accept(s->listener, s->pool, &c, apr_time_from_msec(20))
            != APR_SUCCESS) {
            continue;
        }
        apr_socket_timeout_set(c, apr_time_from_sec(3));
        kyl_test_read_head(c, head, sizeof(head));
        srv_answer(s, c, srv_route(s, srv_record(s, head)->path));
        apr_socket_close(c);
    }
    return NULL;            /* not apr_thread_exit(): pthread_exit() trips ASan */
}

static void srv_start(srv_t *s, const route_t *routes)
{
    memset(s, 0, sizeof(*s));
    s->routes = routes;
    ck_assert_int_eq(apr_pool_create(&s->pool, NULL), APR_SUCCESS);
    s->port = kyl_test_listen(s->pool, &s->listener);
    apr_snprintf(s->member, sizeof(s->member), "127.0.0.1:%u", (unsigned)s->port);
    ck_assert_int_eq(apr_thread_create(&s->thread, NULL, srv_run, s, s->pool),
                     APR_SUCCESS);
}

static void srv_stop(srv_t *s)
{
    apr_status_t trv;

    apr_atomic_set32(&s->stop, 1);
    apr_thread_join(&trv, s->thread);
    apr_pool_destroy(s->pool);
}

/* The request log as one line: "health admin/version admin/config+". */
static const char *srv_log(const srv_t *s)
{
    const char *out = "";
    int i;

    for (i = 0; i < s->nlog; i++) {
        const char *p = s->log[i].path;

        p += strncmp(p, "/kylin/api/", 11) == 0 ? 11 : 0;
        out = apr_pstrcat(tp, out, i ? " " : "", p, s->log[i].auth ? "+" : "", NULL);
    }
    return out;
}

static void target_init(kyl_probe_target_t *t, apr_port_t port)
{
    memset(t, 0, sizeof(*t));
    t->http.host = "127.0.0.1";
    t->http.port = port;
    t->http.host_header = apr_psprintf(tp, "127.0.0.1:%u", (unsigned)port);
    t->base = "/kylin";
    t->static_mode = KYL_MODE_UNKNOWN;
    t->known_gen = KYL_GEN_UNKNOWN;
    t->timeout = apr_time_from_sec(2);
}

/* ---- probe cases ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    route_t routes[SRV_MAX_ROUTES];
    int auth;                       /* probe with credentials */
    kyl_mode_e static_mode;
    kyl_gen_e known_gen;
    int timeout_ms;                 /* 0: 2000 */
    /* expected */
    int healthy;
    kyl_gen_e gen;
    const char *version;
    kyl_mode_e mode;
    kyl_mode_source_e source;
    kyl_leader_e leader;
    int maintenance;
    int auth_rejected;
    const char *log;
    const char *error;              /* substring of res.error; "" = empty */
} probe_case_t;

#define R5_UP { P_HEALTH, 200, UP, 0 }
#define R_404_HTML(p) { p, 404, TOMCAT("404", "Not Found"), 0 }
#define R_401_HTML(p) { p, 401, TOMCAT("401", "Unauthorized"), 0 }
#define R4_VERSION { P_VERSION, 200, VERSION("4.0.3"), 0 }

static const probe_case_t probe_cases[] = {
    /* ---- 5.x ---- */
    { .name = "5.x all, credentials",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS("all", "false"), 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health system/servers?ext=true+", .error = "" },
    { .name = "5.x query in maintenance",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS("query", "true"), 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA, .maintenance = 1,
      .log = "health system/servers?ext=true+", .error = "" },
    { .name = "5.x job,query list is all",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS("job,query", "false"), 0 } },
      .auth = 1, .healthy = 1, .gen = KYL_GEN_5, .version = "5.x",
      .mode = KYL_MODE_ALL, .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health system/servers?ext=true+", .error = "" },
    { .name = "5.x credentials refused (401): no second try, maintenance anonymously",
      .routes = { R5_UP, { P_SERVERS, 401, KE_BAD_PASSWORD, 0 },
                  { P_MAINT, 200, MAINT("true"), 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .mode = KYL_MODE_UNKNOWN,
      .source = KYL_MODE_FROM_NONE, .leader = KYL_LEADER_NA, .maintenance = 1,
      .auth_rejected = 1, .log = "health system/servers?ext=true+ epoch/maintenance_mode",
      .error = "GET /kylin/api/system/servers?ext=true: credentials refused (401)" },
    { .name = "5.x credentials refused (403)",
      .routes = { R5_UP, { P_SERVERS, 403, KE("KE-010003210", "Access denied."), 0 },
                  { P_MAINT, 200, MAINT("false"), 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .auth_rejected = 1, .log = "health system/servers?ext=true+ epoch/maintenance_mode",
      .error = "credentials refused (403)" },
    { .name = "5.x without credentials: maintenance only",
      .routes = { R5_UP, { P_MAINT, 200, MAINT("false"), 0 } },
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .log = "health epoch/maintenance_mode", .error = "" },
    { .name = "5.x without credentials, in maintenance",
      .routes = { R5_UP, { P_MAINT, 200, MAINT("true"), 0 } },
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .maintenance = 1, .log = "health epoch/maintenance_mode", .error = "" },
    { .name = "5.x health DOWN (503)",
      .routes = { { P_HEALTH, 503, DOWN, 0 } }, .auth = 1,
      .healthy = 0, .gen = KYL_GEN_5, .version = "5.x", .log = "health",
      .error = "GET /kylin/api/health: HTTP 503, status DOWN" },
    { .name = "5.x member missing from system/servers",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS_OTHERS, 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .log = "health system/servers?ext=true+", .error = "is not in system/servers" },
    { .name = "5.x system/servers 500",
      .routes = { R5_UP, { P_SERVERS, 500, ERR_500, 0 },
                  { P_MAINT, 200, MAINT("true"), 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .maintenance = 1, .log = "health system/servers?ext=true+ epoch/maintenance_mode",
      .error = "GET /kylin/api/system/servers: HTTP 500" },
    { .name = "5.x static mode: no credentials spent",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS("query", "false"), 0 },
                  { P_MAINT, 200, MAINT("true"), 0 } }, .auth = 1,
      .static_mode = KYL_MODE_JOB, .healthy = 1, .gen = KYL_GEN_5, .version = "5.x",
      .mode = KYL_MODE_JOB, .source = KYL_MODE_FROM_CONFIG, .leader = KYL_LEADER_NA,
      .maintenance = 1, .log = "health epoch/maintenance_mode", .error = "" },
    { .name = "5.x known",
      .routes = { R5_UP, { P_SERVERS, 200, SERVERS("all", "false"), 0 } }, .auth = 1,
      .known_gen = KYL_GEN_5, .healthy = 1, .gen = KYL_GEN_5, .version = "5.x",
      .mode = KYL_MODE_ALL, .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health system/servers?ext=true+", .error = "" },
    { .name = "5.x known, health 500",
      .routes = { { P_HEALTH, 500, "<html>Internal Server Error</html>", 0 } },
      .known_gen = KYL_GEN_5, .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: HTTP 500, unexpected answer" },

    /* ---- 3.x / 4.x ---- */
    { .name = "4.x query from public_config: leader no without asking",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS CURATOR "kylin.server.mode=query"),
                    0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "4.x health 404",
      .routes = { R_404_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=query"), 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "3.x all, active job node",
      .routes = { R_401_HTML(P_HEALTH), { P_VERSION, 200, VERSION("3.1.3"), 0 },
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=all"), 0 },
                  { P_ACTIVE, 200, "true", 0 } },
      .healthy = 1, .gen = KYL_GEN_3, .version = "3.1.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_YES,
      .log = "health admin/version admin/public_config " L_ACTIVE, .error = "" },
    { .name = "4.x job, not the leader",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=job"), 0 },
                  { P_ACTIVE, 200, " false\n", 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_JOB,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "health admin/version admin/public_config " L_ACTIVE, .error = "" },
    { .name = "4.x is_active 500: not Curator",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG("kylin.server.mode=all"), 0 },
                  { P_ACTIVE, 500, NOT_CURATOR, 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config " L_ACTIVE, .error = "" },
    { .name = "4.x scheduler 0 in public_config: leader n/a without asking",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS "kylin.job.scheduler.default=0\\n"
                                          "kylin.server.mode=all\\n"), 0 },
                  { P_ACTIVE, 500, NOT_CURATOR, 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "4.x mode from admin/config with credentials",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS CURATOR), 0 },
                  { P_CONFIG, 200, CONFIG("kylin.server.mode=job\\n" CURATOR), 0 },
                  { P_ACTIVE, 200, "true", 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_JOB,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_YES,
      .log = "health admin/version admin/public_config admin/config+ " L_ACTIVE,
      .error = "" },
    { .name = "4.x scheduler 0 in admin/config: leader n/a without asking",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG("kylin.web.timezone=UTC"), 0 },
                  { P_CONFIG, 200, CONFIG("kylin.server.mode=all\\n"
                                          "kylin.job.scheduler.default=0"), 0 },
                  { P_ACTIVE, 500, NOT_CURATOR, 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config admin/config+", .error = "" },
    { .name = "4.x admin/config 403",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS CURATOR), 0 },
                  { P_CONFIG, 403, TOMCAT("403", "Forbidden"), 0 },
                  { P_ACTIVE, 200, "false", 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .leader = KYL_LEADER_NO,
      .auth_rejected = 1,
      .log = "health admin/version admin/public_config admin/config+ " L_ACTIVE,
      .error = "GET /kylin/api/admin/config: credentials refused (403)" },
    { .name = "4.x admin/config 401",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS CURATOR), 0 },
                  R_401_HTML(P_CONFIG), { P_ACTIVE, 200, "true", 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .leader = KYL_LEADER_YES,
      .auth_rejected = 1,
      .log = "health admin/version admin/public_config admin/config+ " L_ACTIVE,
      .error = "credentials refused (401)" },
    { .name = "4.x no credentials, no mode",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS CURATOR), 0 },
                  { P_ACTIVE, 200, "true", 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .leader = KYL_LEADER_YES,
      .log = "health admin/version admin/public_config " L_ACTIVE, .error = "" },
    { .name = "4.x is_active garbage",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=all"), 0 },
                  { P_ACTIVE, 200, "maybe", 0 } },
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_UNKNOWN,
      .log = "health admin/version admin/public_config " L_ACTIVE,
      .error = "GET /kylin/api/" L_ACTIVE ": HTTP 200, not JSON" },
    { .name = "4.x admin/version 500",
      .routes = { R_401_HTML(P_HEALTH), { P_VERSION, 500, ERR_500, 0 } },
      .healthy = 0, .log = "health admin/version",
      .error = "GET /kylin/api/admin/version: HTTP 500" },
    { .name = "4.x admin/version 200 without a version",
      .routes = { R_401_HTML(P_HEALTH), { P_VERSION, 200, "{}", 0 } },
      .healthy = 0, .log = "health admin/version",
      .error = "GET /kylin/api/admin/version: HTTP 200, no kylin.version" },
    { .name = "4.x static query: nothing more asked",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=all"), 0 } },
      .auth = 1, .static_mode = KYL_MODE_QUERY,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_CONFIG, .leader = KYL_LEADER_NO,
      .log = "health admin/version", .error = "" },
    { .name = "4.x static all: leadership still asked",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION, { P_ACTIVE, 200, "true", 0 } },
      .auth = 1, .static_mode = KYL_MODE_ALL,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_ALL,
      .source = KYL_MODE_FROM_CONFIG, .leader = KYL_LEADER_YES,
      .log = "health admin/version " L_ACTIVE, .error = "" },
    { .name = "4.x known: health skipped",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=query"), 0 } },
      .known_gen = KYL_GEN_4,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "admin/version admin/public_config", .error = "" },
    { .name = "known 2.x now runs 4.x",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=query"), 0 } },
      .known_gen = KYL_GEN_2,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "admin/version admin/public_config", .error = "" },
    { .name = "known 4.x now runs 5.x: starts over",
      .routes = { R5_UP, { P_VERSION, 401, KE_ANONYMOUS, 0 },
                  { P_PUBLIC, 406, "", 0 }, { P_USER, 401, KE_NO_AUTH, 0 },
                  { P_MAINT, 200, MAINT("false"), 0 } },
      .known_gen = KYL_GEN_4, .healthy = 1, .gen = KYL_GEN_5, .version = "5.x",
      .leader = KYL_LEADER_NA,
      .log = "admin/version admin/public_config user/authentication health "
             "epoch/maintenance_mode", .error = "" },
    { .name = "known 5.x now runs 4.x",
      .routes = { R_401_HTML(P_HEALTH), R4_VERSION,
                  { P_PUBLIC, 200, CONFIG(CURATOR "kylin.server.mode=query"), 0 } },
      .known_gen = KYL_GEN_5,
      .healthy = 1, .gen = KYL_GEN_4, .version = "4.0.3", .mode = KYL_MODE_QUERY,
      .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NO,
      .log = "health admin/version admin/public_config", .error = "" },

    /* ---- 2.x ---- */
    { .name = "2.x with public_config (admin/version needs a login)",
      .routes = { R_401_HTML(P_HEALTH), R_401_HTML(P_VERSION),
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS), 0 } },
      .healthy = 1, .gen = KYL_GEN_2, .version = "2.x", .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "2.x with public_config (admin/version 404)",
      .routes = { { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS), 0 } },
      .healthy = 1, .gen = KYL_GEN_2, .version = "2.x", .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "2.x mode whitelisted in public_config",
      .routes = { R_401_HTML(P_HEALTH), R_401_HTML(P_VERSION),
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS "kylin.server.mode=job"), 0 } },
      .auth = 1, .healthy = 1, .gen = KYL_GEN_2, .version = "2.x",
      .mode = KYL_MODE_JOB, .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config", .error = "" },
    { .name = "2.0-2.2: only user/authentication",
      .routes = { R_401_HTML(P_HEALTH), R_401_HTML(P_VERSION), { P_USER, 200, "{}", 0 } },
      .healthy = 1, .gen = KYL_GEN_2, .version = "2.x", .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config user/authentication",
      .error = "" },
    { .name = "2.0-2.2 (admin/version 404): public_config asked once",
      .routes = { { P_USER, 200, "{}", 0 } },
      .healthy = 1, .gen = KYL_GEN_2, .version = "2.x", .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config user/authentication",
      .error = "" },
    { .name = "2.0-2.2 with credentials: admin/config",
      .routes = { R_401_HTML(P_HEALTH), R_401_HTML(P_VERSION), { P_USER, 200, "{}", 0 },
                  { P_CONFIG, 200, CONFIG("kylin.server.mode=query\\n"), 0 } },
      .auth = 1, .healthy = 1, .gen = KYL_GEN_2, .version = "2.x",
      .mode = KYL_MODE_QUERY, .source = KYL_MODE_FROM_PROBE, .leader = KYL_LEADER_NA,
      .log = "health admin/version admin/public_config user/authentication "
             "admin/config+", .error = "" },
    { .name = "2.x known: health skipped",
      .routes = { R_401_HTML(P_HEALTH), R_401_HTML(P_VERSION),
                  { P_PUBLIC, 200, CONFIG(PUB_DEFAULTS), 0 } },
      .known_gen = KYL_GEN_2, .healthy = 1, .gen = KYL_GEN_2, .version = "2.x",
      .leader = KYL_LEADER_NA, .log = "admin/version admin/public_config", .error = "" },
    { .name = "no Kylin at all",
      .routes = { { NULL, 0, NULL, 0 } },
      .healthy = 0,
      .log = "health admin/version admin/public_config user/authentication",
      .error = "GET /kylin/api/user/authentication: HTTP 404, not a Kylin" },

    /* ---- garbage ---- */
    { .name = "health 200, not JSON",
      .routes = { { P_HEALTH, 200, "<html><body>It works!</body></html>", 0 } },
      .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: HTTP 200, not JSON" },
    { .name = "health 200 JSON without status",
      .routes = { { P_HEALTH, 200, "{\"foo\":1}", 0 } },
      .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: HTTP 200, no status field" },
    { .name = "not HTTP",
      .routes = { { P_HEALTH, SRV_RAW, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 0 } },
      .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: malformed status line" },
    { .name = "binary garbage",
      .routes = { { P_HEALTH, SRV_RAW, "\x16\x03\x01\x02\x00\x01\xff\xfe", 0 } },
      .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: malformed status line" },

    /* ---- the deadline covers the whole probe ---- */
    { .name = "health hangs", .timeout_ms = 300,
      .routes = { { P_HEALTH, SRV_HANG, NULL, 0 } },
      .healthy = 0, .log = "health",
      .error = "GET /kylin/api/health: receive: timed out" },
    { .name = "5.x system/servers hangs", .timeout_ms = 300,
      .routes = { R5_UP, { P_SERVERS, SRV_HANG, NULL, 0 } }, .auth = 1,
      .healthy = 1, .gen = KYL_GEN_5, .version = "5.x", .leader = KYL_LEADER_NA,
      .log = "health system/servers?ext=true+",
      .error = "GET /kylin/api/system/servers?ext=true: receive: timed out" },
};

static int words(const char *s)
{
    int n = 0;

    for (; *s; s++) {
        n += (*s != ' ' && (s[1] == ' ' || s[1] == '\0'));
    }
    return n;
}

START_TEST(probe_table)
{
    const probe_case_t *pc = &probe_cases[_i];
    kyl_probe_target_t t;
    kyl_probe_result_t res;
    srv_t s;
    apr_time_t start;
    apr_interval_time_t took;
    int timeout_ms = pc->timeout_ms ? pc->timeout_ms : 2000;

    srv_start(&s, pc->routes);
    target_init(&t, s.port);
    t.auth = pc->auth ? BASIC : NULL;
    t.static_mode = pc->static_mode;
    t.known_gen = pc->known_gen;
    t.timeout = apr_time_from_msec(timeout_ms);
    start = apr_time_now();
    kyl_probe_run(&res, &t, tp);
    took = apr_time_now() - start;
    srv_stop(&s);

    ck_assert_msg(strcmp(srv_log(&s), pc->log) == 0, "%s: log '%s'", pc->name,
                  srv_log(&s));
    ck_assert_msg(res.healthy == pc->healthy, "%s: healthy %d (%s)", pc->name,
                  res.healthy, res.error);
    ck_assert_msg(res.gen == pc->gen, "%s: gen %d", pc->name, res.gen);
    ck_assert_str_eq(res.version, pc->version ? pc->version : "");
    ck_assert_msg(res.mode == pc->mode && res.mode_source == pc->source,
                  "%s: mode %s from %d", pc->name, kyl_mode_name(res.mode),
                  res.mode_source);
    ck_assert_msg(res.leader == pc->leader, "%s: leader %s", pc->name,
                  kyl_leader_name(res.leader));
    ck_assert_int_eq(res.maintenance, pc->maintenance);
    ck_assert_int_eq(res.auth_rejected, pc->auth_rejected);
    ck_assert_int_eq(res.requests, words(pc->log));
    if (pc->error[0] == '\0') {
        ck_assert_msg(res.error[0] == '\0', "%s: error '%s'", pc->name, res.error);
    }
    else {
        ck_assert_msg(strstr(res.error, pc->error) != NULL, "%s: error '%s'", pc->name,
                      res.error);
    }
    ck_assert_msg(took < apr_time_from_msec(timeout_ms + 100), "%s: took %d ms",
                  pc->name, (int)apr_time_as_msec(took));
}
END_TEST

/* Three answers of 150 ms each under a 400 ms timeout: the third request
 * runs into the deadline of the whole probe, and so does everything after
 * it (the fourth may or may not reach the server before it gives up). */
START_TEST(probe_deadline_whole)
{
    static const route_t routes[] = {
        { P_HEALTH, 401, "", 150 }, { P_VERSION, 200, VERSION("4.0.3"), 150 },
        { P_PUBLIC, 200, CONFIG(CURATOR), 150 }, { P_ACTIVE, 200, "true", 0 },
        { NULL, 0, NULL, 0 }
    };
    kyl_probe_target_t t;
    kyl_probe_result_t res;
    srv_t s;
    apr_time_t start;
    apr_interval_time_t took;

    srv_start(&s, routes);
    target_init(&t, s.port);
    t.timeout = apr_time_from_msec(400);
    start = apr_time_now();
    kyl_probe_run(&res, &t, tp);
    took = apr_time_now() - start;
    srv_stop(&s);
    ck_assert_msg(took >= apr_time_from_msec(390) && took < apr_time_from_msec(500),
                  "took %d ms", (int)apr_time_as_msec(took));
    ck_assert_msg(strncmp(srv_log(&s), "health admin/version admin/public_config", 40)
                  == 0, "log '%s'", srv_log(&s));
    ck_assert_int_eq(res.healthy, 1);
    ck_assert_int_eq(res.gen, KYL_GEN_4);
    ck_assert_int_eq(res.leader, KYL_LEADER_UNKNOWN);
    ck_assert_int_eq(res.requests, 4);
    ck_assert_msg(strstr(res.error, L_ACTIVE ": ") && strstr(res.error, "timed out"),
                  "error '%s'", res.error);
}
END_TEST

/* Each endpoint gets a media type it produces (kylin-rest.md section 10). */
START_TEST(probe_accept_types)
{
    static const route_t routes[] = {
        R5_UP, { P_SERVERS, 401, KE_BAD_PASSWORD, 0 },
        { P_MAINT, 200, MAINT("false"), 0 }, { NULL, 0, NULL, 0 }
    };
    kyl_probe_target_t t;
    kyl_probe_result_t res;
    srv_t s;

    srv_start(&s, routes);
    target_init(&t, s.port);
    t.auth = BASIC;
    kyl_probe_run(&res, &t, tp);
    srv_stop(&s);
    ck_assert_int_eq(s.nlog, 3);
    ck_assert_str_eq(s.log[0].accept, "application/json");
    ck_assert_str_eq(s.log[1].accept, "application/vnd.apache.kylin-v4-public+json");
    ck_assert_str_eq(s.log[2].accept, "application/vnd.apache.kylin-v4+json");
}
END_TEST

START_TEST(probe_nobody_listens)
{
    kyl_probe_target_t t;
    kyl_probe_result_t res;

    target_init(&t, kyl_test_closed_port(tp));
    t.auth = BASIC;
    kyl_probe_run(&res, &t, tp);
    ck_assert_int_eq(res.healthy, 0);
    ck_assert_int_eq(res.gen, KYL_GEN_UNKNOWN);
    ck_assert_int_eq(res.requests, 1);
    ck_assert_int_eq(res.auth_rejected, 0);
    ck_assert_msg(strncmp(res.error, "GET /kylin/api/health: connect: ", 32) == 0,
                  "error '%s'", res.error);
}
END_TEST

/* A non-default context path reaches the server as such. */
START_TEST(probe_context_path)
{
    static const route_t routes[] = {
        { "/x/kylin/api/health", 200, UP, 0 }, { NULL, 0, NULL, 0 }
    };
    kyl_probe_target_t t;
    kyl_probe_result_t res;
    srv_t s;

    srv_start(&s, routes);
    target_init(&t, s.port);
    t.base = kyl_probe_base(tp, "/x/");
    kyl_probe_run(&res, &t, tp);
    srv_stop(&s);
    ck_assert_str_eq(s.log[0].path, "/x/kylin/api/health");
    ck_assert_int_eq(res.healthy, 1);
    ck_assert_int_eq(res.gen, KYL_GEN_5);
}
END_TEST

/* ---- kyl_probe_base --------------------------------------------------------- */

static const struct {
    const char *path;
    const char *base;
} base_cases[] = {
    { NULL, "/kylin" },
    { "", "/kylin" },
    { "/", "/kylin" },
    { "//", "/kylin" },
    { "/kylin", "/kylin" },
    { "/kylin/", "/kylin" },
    { "/kylin//", "/kylin" },
    { "/x", "/x/kylin" },
    { "/x/", "/x/kylin" },
    { "/x/kylin", "/x/kylin" },
    { "/a/b/c/", "/a/b/c/kylin" },
    { "/notkylin", "/notkylin/kylin" },
    { "/kylin5", "/kylin5/kylin" },
    { "/KYLIN", "/KYLIN/kylin" },
    { "/kylin/kylin", "/kylin/kylin" },
    { "kylin", "/kylin" },
    { "x", "/x/kylin" },
    { "/\xc3\xa9", "/\xc3\xa9/kylin" },
};

START_TEST(base_table)
{
    ck_assert_str_eq(kyl_probe_base(tp, base_cases[_i].path), base_cases[_i].base);
}
END_TEST

static Suite *probe_suite(void)
{
    Suite *s = suite_create("kyl_probe");
    TCase *base = kyl_tcase("base");
    TCase *run = kyl_tcase("run");

    tcase_add_loop_test(base, base_table, 0, KYL_ARRAY_LEN(base_cases));
    suite_add_tcase(s, base);

    tcase_set_timeout(run, 10);
    tcase_add_loop_test(run, probe_table, 0, KYL_ARRAY_LEN(probe_cases));
    tcase_add_test(run, probe_deadline_whole);
    tcase_add_test(run, probe_accept_types);
    tcase_add_test(run, probe_nobody_listens);
    tcase_add_test(run, probe_context_path);
    suite_add_tcase(s, run);
    return s;
}

KYL_TEST_MAIN(probe_suite)
