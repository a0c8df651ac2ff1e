/* The kylin-balancer status handler: every lbmethod=kylin balancer and its
 * members with what the prober learned, as HTML for people and as JSON
 * (?format=json) or XML (?format=xml, libxml2's xmlTextWriter) for
 * machines.  It reads shared memory only: no probing, no locks. */
#include <unistd.h>
#include <jansson.h>
#include <libxml/xmlwriter.h>
#include "apr_strings.h"
#include "http_protocol.h"
#include "http_request.h"

#include "mod_kylin_balancer.h"
#include "kyl_store.h"
#include "kyl_duration.h"

typedef struct {
    const char *name;
    const char *flags;            /* httpd's view, e.g. "Init Ok" */
    int usable;                   /* httpd considers it usable */
    kyl_route_view_t v;
    int passive_nonquery;
    kyl_slot_t snap;              /* details (consistent copy) */
    apr_size_t busy;
    apr_size_t elected;
    int lbfactor;
    int lbstatus;
    const char *credentials;      /* none, usable, refused */
} kyl_member_info_t;

typedef struct {
    const char *name;
    apr_array_header_t *members;  /* of kyl_member_info_t */
} kyl_balancer_info_t;

static const char *httpd_flags(apr_pool_t *p, const proxy_worker *w)
{
    static const struct { unsigned int bit; const char *name; } bits[] = {
        { PROXY_WORKER_INITIALIZED, "Init" }, { PROXY_WORKER_DISABLED, "Dis" },
        { PROXY_WORKER_STOPPED, "Stop" }, { PROXY_WORKER_IN_ERROR, "Err" },
        { PROXY_WORKER_HOT_STANDBY, "Stby" }, { PROXY_WORKER_HOT_SPARE, "Spar" },
        { PROXY_WORKER_DRAIN, "Drn" }, { PROXY_WORKER_HC_FAIL, "HcFl" },
    };
    const char *out = "";
    apr_size_t i;

    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (w->s->status & bits[i].bit) {
            out = apr_pstrcat(p, out, *out ? " " : "", bits[i].name, NULL);
        }
    }
    return PROXY_WORKER_IS_USABLE(w) ? apr_pstrcat(p, out, " Ok", NULL) : out;
}

static void collect_member(request_rec *r, proxy_balancer *b, proxy_worker *w,
                           const kyl_srv_conf_t *conf, apr_array_header_t *out)
{
    kyl_member_info_t *m = apr_array_push(out);
    kyl_slot_t *slot = kyl_slot_for(b, w);

    memset(m, 0, sizeof(*m));
    m->name = kyl_worker_name(w);
    m->flags = httpd_flags(r->pool, w);
    m->usable = PROXY_WORKER_IS_USABLE(w);
    m->busy = w->s->busy;
    m->elected = w->s->elected;
    m->lbfactor = w->s->lbfactor;
    m->lbstatus = w->s->lbstatus;
    if (slot) {
        kyl_slot_snapshot(slot, &m->snap);
        kyl_member_view(slot, apr_time_now(), conf, &m->v, &m->passive_nonquery);
    }
    m->credentials = conf->probe_auth == NULL ? "none"
                   : m->snap.cred_blocked_until > apr_time_now() ? "refused"
                   : "usable";
}

typedef struct {
    request_rec *r;
    apr_array_header_t *out;        /* of kyl_balancer_info_t */
    apr_hash_t *seen;               /* virtual hosts repeat balancers */
} kyl_collect_t;

static int collect_balancer(void *baton, server_rec *s, proxy_server_conf *pc,
                            proxy_balancer *b)
{
    kyl_collect_t *c = baton;
    kyl_balancer_info_t *bi;
    int j;

    if (apr_hash_get(c->seen, b->s->name, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(c->seen, b->s->name, APR_HASH_KEY_STRING, b);
    bi = apr_array_push(c->out);
    bi->name = b->s->name;
    bi->members = apr_array_make(c->r->pool, b->workers->nelts,
                                 sizeof(kyl_member_info_t));
    for (j = 0; j < b->workers->nelts; j++) {
        collect_member(c->r, b, APR_ARRAY_IDX(b->workers, j, proxy_worker *),
                       kyl_conf(s), bi->members);
    }
    return 0;
}

static apr_array_header_t *collect(request_rec *r)
{
    kyl_collect_t c;

    c.r = r;
    c.out = apr_array_make(r->pool, 2, sizeof(kyl_balancer_info_t));
    c.seen = apr_hash_make(r->pool);
    kyl_each_balancer(ap_server_conf, collect_balancer, &c);
    return c.out;
}

static const char *health_name(const kyl_member_info_t *m)
{
    if (!m->v.probed) {
        return "unknown";
    }
    return m->v.healthy ? "up" : "down";
}

static const char *mode_text(apr_pool_t *p, const kyl_member_info_t *m)
{
    static const char *const src[] = { "assumed", "configured", "probed" };

    return apr_psprintf(p, "%s (%s)", m->v.mode == KYL_MODE_UNKNOWN ? "all"
                        : kyl_mode_name(m->v.mode), src[m->v.source % 3]);
}

static const char *time_text(apr_pool_t *p, apr_time_t t)
{
    char buf[APR_RFC822_DATE_LEN];

    if (t == 0) {
        return "";
    }
    apr_rfc822_date(buf, t);
    return apr_pstrdup(p, buf);
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *member_json(apr_pool_t *p, const kyl_member_info_t *m)
{
    json_t *counts = json_object();
    int c;

    for (c = 0; c < KYL_CLASS_COUNT; c++) {
        json_object_set_new(counts, kyl_class_name((kyl_class_e)c),
                            json_integer(m->snap.counts[c]));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, "
                     "s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, "
                     "s:i, s:i, s:o}",
        "name", m->name, "health", health_name(m),
        "generation", kyl_gen_name(m->v.gen), "version", m->snap.version,
        "mode", m->v.mode == KYL_MODE_UNKNOWN ? "all" : kyl_mode_name(m->v.mode),
        "mode_source", mode_text(p, m), "leader", kyl_leader_name(m->v.leader),
        "maintenance", m->v.maintenance, "usable", m->usable,
        "passive_nonquery", m->passive_nonquery,
        "httpd_status", m->flags, "last_probe", time_text(p, m->snap.last_probe),
        "last_probe_epoch_ms", (json_int_t)(m->snap.last_probe / 1000),
        "last_ok", time_text(p, m->snap.last_ok), "error", m->snap.error,
        "cluster_error", m->snap.cluster_error,
        "credentials", m->credentials,
        "failures", (json_int_t)m->snap.failures,
        "probes", (json_int_t)m->snap.probes,
        "busy", (json_int_t)m->busy, "elected", (json_int_t)m->elected,
        "lbfactor", m->lbfactor, "lbstatus", m->lbstatus, "requests", counts);
}

static apr_array_header_t *store_servers(request_rec *r)
{
    apr_array_header_t *out = apr_array_make(r->pool, 2,
                                             sizeof(kyl_store_server_info_t));
    kyl_session_status(r, out);
    return out;
}

static json_t *sessions_json(request_rec *r, const kyl_srv_conf_t *conf)
{
    apr_array_header_t *servers = store_servers(r);
    json_t *arr = json_array();
    int i;

    for (i = 0; i < servers->nelts; i++) {
        const kyl_store_server_info_t *si =
            &APR_ARRAY_IDX(servers, i, kyl_store_server_info_t);

        json_array_append_new(arr, json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:s}",
            "name", si->name, "up", si->up, "gets", (json_int_t)si->gets,
            "sets", (json_int_t)si->sets, "deletes", (json_int_t)si->deletes,
            "errors", (json_int_t)si->errors,
            "last_error", si->last_error ? si->last_error : ""));
    }
    return json_pack("{s:b, s:s, s:i, s:o}", "enabled", conf->store_servers != NULL,
                     "cookie", kyl_conf_cookie(conf),
                     "replicas", conf->store_servers ? kyl_conf_replicas(conf) : 0,
                     "servers", arr);
}

static void render_json(request_rec *r, apr_array_header_t *bals)
{
    json_t *root = json_object(), *arr = json_array();
    const kyl_srv_conf_t *conf = kyl_conf(r->server);
    char *text;
    int i, j;

    for (i = 0; i < bals->nelts; i++) {
        kyl_balancer_info_t *b = &APR_ARRAY_IDX(bals, i, kyl_balancer_info_t);
        json_t *members = json_array();

        for (j = 0; j < b->members->nelts; j++) {
            json_array_append_new(members, member_json(r->pool,
                &APR_ARRAY_IDX(b->members, j, kyl_member_info_t)));
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", b->name,
                              "lbmethod", KYL_LBMETHOD, "members", members));
    }
    json_object_set_new(root, "balancers", arr);
    json_object_set_new(root, "probe", json_pack("{s:I, s:I, s:b}",
        "interval_ms", (json_int_t)apr_time_as_msec(kyl_conf_interval(conf)),
        "timeout_ms", (json_int_t)apr_time_as_msec(kyl_conf_timeout(conf)),
        "credentials", conf->probe_auth != NULL));
    json_object_set_new(root, "sessions", sessions_json(r, conf));
    text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    ap_set_content_type(r, "application/json");
    if (text) {
        ap_rputs(text, r);
        ap_rputs("\n", r);
        free(text);
    }
}

/* ---- XML --------------------------------------------------------------- */

static void xml_member(xmlTextWriterPtr w, apr_pool_t *p,
                       const kyl_member_info_t *m)
{
    int c;

    xmlTextWriterStartElement(w, BAD_CAST "member");
    xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST m->name);
    xmlTextWriterWriteElement(w, BAD_CAST "health", BAD_CAST health_name(m));
    xmlTextWriterWriteElement(w, BAD_CAST "generation", BAD_CAST kyl_gen_name(m->v.gen));
    xmlTextWriterWriteElement(w, BAD_CAST "version", BAD_CAST m->snap.version);
    xmlTextWriterWriteElement(w, BAD_CAST "mode", BAD_CAST mode_text(p, m));
    xmlTextWriterWriteElement(w, BAD_CAST "leader", BAD_CAST kyl_leader_name(m->v.leader));
    xmlTextWriterWriteFormatElement(w, BAD_CAST "maintenance", "%d", m->v.maintenance);
    xmlTextWriterWriteElement(w, BAD_CAST "httpd_status", BAD_CAST m->flags);
    xmlTextWriterWriteElement(w, BAD_CAST "last_probe",
                              BAD_CAST time_text(p, m->snap.last_probe));
    xmlTextWriterWriteElement(w, BAD_CAST "error", BAD_CAST m->snap.error);
    xmlTextWriterWriteElement(w, BAD_CAST "cluster_error",
                              BAD_CAST m->snap.cluster_error);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "passive_nonquery", "%d",
                                    m->passive_nonquery);
    xmlTextWriterWriteElement(w, BAD_CAST "credentials", BAD_CAST m->credentials);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "failures", "%u", m->snap.failures);
    xmlTextWriterWriteFormatElement(w, BAD_CAST "busy", "%" APR_SIZE_T_FMT, m->busy);
    xmlTextWriterStartElement(w, BAD_CAST "requests");
    for (c = 0; c < KYL_CLASS_COUNT; c++) {
        xmlTextWriterWriteFormatAttribute(w, BAD_CAST kyl_class_name((kyl_class_e)c),
                                          "%u", m->snap.counts[c]);
    }
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

static void xml_sessions(xmlTextWriterPtr w, request_rec *r)
{
    apr_array_header_t *servers = store_servers(r);
    int i;

    xmlTextWriterStartElement(w, BAD_CAST "sessions");
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST "enabled", "%d",
                                      kyl_conf(r->server)->store_servers != NULL);
    for (i = 0; i < servers->nelts; i++) {
        const kyl_store_server_info_t *si =
            &APR_ARRAY_IDX(servers, i, kyl_store_server_info_t);

        xmlTextWriterStartElement(w, BAD_CAST "memcached");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST si->name);
        xmlTextWriterWriteAttribute(w, BAD_CAST "state", BAD_CAST (si->up ? "up" : "down"));
        xmlTextWriterWriteFormatAttribute(w, BAD_CAST "errors", "%" APR_UINT64_T_FMT,
                                          si->errors);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
}

static void render_xml(request_rec *r, apr_array_header_t *bals)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
    int i, j;

    if (w == NULL) {
        if (buf) {
            xmlBufferFree(buf);
        }
        r->status = HTTP_INTERNAL_SERVER_ERROR;
        return;
    }
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "kylin-balancer");
    for (i = 0; i < bals->nelts; i++) {
        kyl_balancer_info_t *b = &APR_ARRAY_IDX(bals, i, kyl_balancer_info_t);

        xmlTextWriterStartElement(w, BAD_CAST "balancer");
        xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST b->name);
        for (j = 0; j < b->members->nelts; j++) {
            xml_member(w, r->pool, &APR_ARRAY_IDX(b->members, j, kyl_member_info_t));
        }
        xmlTextWriterEndElement(w);
    }
    xml_sessions(w, r);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    ap_set_content_type(r, "text/xml; charset=utf-8");
    ap_rwrite(xmlBufferContent(buf), xmlBufferLength(buf), r);
    xmlBufferFree(buf);
}

/* ---- HTML -------------------------------------------------------------- */

static const char html_head[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<title>Kylin balancer status</title><style>"
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;font-size:90%;"
    "white-space:nowrap}td.err{white-space:normal;max-width:28em}"
    ".sum{color:#444;margin:.2em 0 .6em}"
    "th{background:#eee}.up{background:#d9f2d9}.down{background:#f8d0d0}"
    ".unknown{background:#f4f0d0}.badge{border-radius:.6em;padding:0 .5em;"
    "background:#ddd}.lead{background:#ffd76b}.err{color:#a00}"
    "</style></head><body>\n<h1>Kylin balancer status</h1>\n";

/* "17:25:59, 0.3 s ago" (GMT, as httpd's logs by default). */
static const char *ago_text(apr_pool_t *p, apr_time_t t, apr_time_t now)
{
    apr_time_exp_t tm;

    if (t == 0) {
        return "never";
    }
    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%02d:%02d:%02d, %.1f s ago", tm.tm_hour, tm.tm_min,
                        tm.tm_sec, (double)(now - t) / APR_USEC_PER_SEC);
}

static const char *health_text(apr_pool_t *p, const kyl_member_info_t *m)
{
    apr_time_exp_t tm;

    if (!m->v.probed || m->v.healthy || m->snap.last_change == 0) {
        return health_name(m);
    }
    apr_time_exp_gmt(&tm, m->snap.last_change);
    return apr_psprintf(p, "down since %02d:%02d:%02d (%u failed probe%s)",
                        tm.tm_hour, tm.tm_min, tm.tm_sec, m->snap.failures,
                        m->snap.failures == 1 ? "" : "s");
}

static void html_member(request_rec *r, const kyl_member_info_t *m,
                        apr_time_t now)
{
    apr_pool_t *p = r->pool;
    int c;

    ap_rprintf(r, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s</td>"
               "<td><span class=\"badge\">%s</span>%s</td><td>%s</td>"
               "<td>%s</td><td title=\"%s\">%s</td><td class=\"err\">%s%s%s</td>"
               "<td>%" APR_SIZE_T_FMT "</td>",
               health_name(m), ap_escape_html(p, m->name), health_text(p, m),
               m->snap.version[0] ? ap_escape_html(p, m->snap.version)
                                  : kyl_gen_name(m->v.gen),
               ap_escape_html(p, mode_text(p, m)),
               m->passive_nonquery ? " (refused queries)" : "",
               m->v.leader == KYL_LEADER_YES
                   ? "<span class=\"badge lead\">leader</span>"
                   : kyl_leader_name(m->v.leader),
               ap_escape_html(p, m->flags),
               ap_escape_html(p, time_text(p, m->snap.last_probe)),
               ap_escape_html(p, ago_text(p, m->snap.last_probe, now)),
               ap_escape_html(p, m->snap.error),
               m->snap.cluster_error[0] ? " " : "",
               ap_escape_html(p, m->snap.cluster_error), m->busy);
    for (c = 0; c < KYL_CLASS_COUNT; c++) {
        ap_rprintf(r, "<td>%u</td>", m->snap.counts[c]);
    }
    ap_rputs("</tr>\n", r);
}

/* "3 members, 2 usable: query 1, job and writes 2, reads 2" */
static void html_summary(request_rec *r, const kyl_balancer_info_t *b)
{
    static const kyl_class_e classes[] = { KYL_CLASS_QUERY, KYL_CLASS_JOB,
                                           KYL_CLASS_READ };
    int n[3] = { 0, 0, 0 }, usable = 0, i, c;

    for (i = 0; i < b->members->nelts; i++) {
        const kyl_member_info_t *m = &APR_ARRAY_IDX(b->members, i, kyl_member_info_t);

        if (!m->usable || (m->v.probed && !m->v.healthy)) {
            continue;
        }
        usable++;
        for (c = 0; c < 3; c++) {
            n[c] += kyl_member_tier(classes[c], &m->v, m->passive_nonquery, 0) >= 0;
        }
    }
    ap_rprintf(r, "<p class=\"sum\">%d member%s, %d usable: query %d, "
               "job and metadata-write %d, read %d</p>\n", b->members->nelts,
               b->members->nelts == 1 ? "" : "s", usable, n[0], n[1], n[2]);
}

static void html_sessions(request_rec *r)
{
    const kyl_srv_conf_t *conf = kyl_conf(r->server);
    apr_array_header_t *servers = store_servers(r);
    int i;

    if (conf->store_servers == NULL) {
        ap_rputs("<h2>Sessions</h2><p>off (no " KYL_DIR_SESSION_STORE ")</p>\n", r);
        return;
    }
    ap_rprintf(r, "<h2>Sessions</h2>\n<p>cookie %s, %d extra cop%s per session "
               "(counts: every process; state and last error: the process "
               "that answered this page)</p>\n<table><tr><th>memcached</th>"
               "<th>state</th><th>gets</th><th>sets</th><th>deletes</th>"
               "<th>errors</th><th>last error</th></tr>\n",
               ap_escape_html(r->pool, kyl_conf_cookie(conf)),
               kyl_conf_replicas(conf), kyl_conf_replicas(conf) == 1 ? "y" : "ies");
    for (i = 0; i < servers->nelts; i++) {
        const kyl_store_server_info_t *si =
            &APR_ARRAY_IDX(servers, i, kyl_store_server_info_t);

        ap_rprintf(r, "<tr class=\"%s\"><td>%s</td><td>%s</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                   "</td><td>%" APR_UINT64_T_FMT "</td><td class=\"err\">%s</td></tr>\n",
                   si->up ? "up" : "down", ap_escape_html(r->pool, si->name),
                   si->up ? "up" : "down", si->gets, si->sets, si->deletes,
                   si->errors, ap_escape_html(r->pool, si->last_error ? si->last_error : ""));
    }
    ap_rputs("</table>\n", r);
}

static void render_html(request_rec *r, apr_array_header_t *bals)
{
    const kyl_srv_conf_t *conf = kyl_conf(r->server);
    apr_time_t now = apr_time_now();
    char iv[24], to[24];
    int i, j, c;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs(html_head, r);
    if (r->args && strstr(r->args, "refresh")) {
        ap_rputs("<meta http-equiv=\"refresh\" content=\"5\">\n", r);
    }
    for (i = 0; i < bals->nelts; i++) {
        kyl_balancer_info_t *b = &APR_ARRAY_IDX(bals, i, kyl_balancer_info_t);

        ap_rprintf(r, "<h2>%s</h2>\n", ap_escape_html(r->pool, b->name));
        html_summary(r, b);
        ap_rprintf(r, "<table><tr><th>member</th><th>health</th>"
                   "<th>Kylin</th><th>mode</th><th>leader</th><th>httpd</th>"
                   "<th>last probe</th><th>error</th><th>in flight</th>");
        for (c = 0; c < KYL_CLASS_COUNT; c++) {
            ap_rprintf(r, "<th>%s</th>", kyl_class_name((kyl_class_e)c));
        }
        ap_rputs("</tr>\n", r);
        for (j = 0; j < b->members->nelts; j++) {
            html_member(r, &APR_ARRAY_IDX(b->members, j, kyl_member_info_t), now);
        }
        ap_rputs("</table>\n", r);
    }
    html_sessions(r);
    ap_rprintf(r, "<p class=\"sum\">probes every %s, timeout %s; page made "
               "%s by process %d</p>\n",
               kyl_duration_format(kyl_conf_interval(conf), iv, sizeof(iv)),
               kyl_duration_format(kyl_conf_timeout(conf), to, sizeof(to)),
               ap_escape_html(r->pool, time_text(r->pool, now)), (int)getpid());
    ap_rputs("<p><a href=\"?format=json\">JSON</a> &middot; "
             "<a href=\"?format=xml\">XML</a> &middot; "
             "<a href=\"?refresh\">auto-refresh</a></p></body></html>\n", r);
}

static int status_handler(request_rec *r)
{
    apr_array_header_t *bals;
    const char *fmt = r->args ? r->args : "";

    if (r->handler == NULL || strcmp(r->handler, KYL_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    bals = collect(r);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (strstr(fmt, "format=json")) {
        render_json(r, bals);
    }
    else if (strstr(fmt, "format=xml")) {
        render_xml(r, bals);
    }
    else {
        render_html(r, bals);
    }
    return OK;
}

void kyl_status_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
