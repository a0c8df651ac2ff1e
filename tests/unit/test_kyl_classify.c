/* Unit tests: kyl_classify.c (request classes, kylin-rest.md s. 6). */
#include <string.h>
#include "kyl_test.h"
#include "kyl_classify.h"

#define API   KYL_REQ_API
#define LOGIN KYL_REQ_LOGIN
#define OUT   KYL_REQ_LOGOUT
#define CB    KYL_REQ_CALLBACK
#define LOCAL KYL_REQ_NODE_LOCAL

#define READ     KYL_CLASS_READ
#define QUERY    KYL_CLASS_QUERY
#define JOB      KYL_CLASS_JOB
#define WRITE    KYL_CLASS_WRITE
#define AUTH     KYL_CLASS_AUTH
#define INTERNAL KYL_CLASS_INTERNAL

#define G_ KYL_GEN_UNKNOWN
#define G2 KYL_GEN_2
#define G3 KYL_GEN_3
#define G4 KYL_GEN_4
#define G5 KYL_GEN_5

typedef struct {
    const char *method;
    const char *path;
    kyl_gen_e gen;
    kyl_class_e cls;
    unsigned int flags;
} classify_case_t;

static const classify_case_t cases[] = {
    /* authentication and logout (E12, E13) */
    { "POST", "/kylin/api/user/authentication", G3, AUTH, API | LOGIN },
    { "GET", "/kylin/api/user/authentication", G5, AUTH, API | LOGIN },
    { "POST", "/kylin/api/user/authentication", G2, AUTH, API | LOGIN },
    { "GET", "/kylin/api/user/authentication/", G_, AUTH, API | LOGIN },
    { "GET", "/kylin/api/user/authentication2/x", G_, AUTH, API | LOGIN },
    { "GET", "/kylin/j_spring_security_logout", G3, AUTH, OUT },
    { "GET", "/kylin/j_spring_security_logout?x=1", G_, AUTH, OUT },
    { "POST", "/kylin/j_spring_security_logout", G4, AUTH, OUT },
    { "GET", "/kylin/api/j_spring_security_logout", G5, AUTH, API | OUT },
    { "GET", "/kylin/saml/logout", G3, READ, 0 },
    { "GET", "/kylin/api/user", G3, READ, API },
    { "PUT", "/kylin/api/user/ADMIN", G3, WRITE, API },
    /* cluster-internal endpoints (s. 4.5) */
    { "PUT", "/kylin/api/cache/cube/kylin_sales_cube/update", G3, INTERNAL, API },
    { "PUT", "/kylin/api/cache/all/update", G2, INTERNAL, API },
    { "PUT", "/kylin/api/cache/announce/cube/kylin_sales_cube/update", G4, INTERNAL, API },
    { "POST", "/kylin/api/cache/announce/config", G3, INTERNAL, API },
    { "GET", "/kylin/api/cache", G_, INTERNAL, API },
    { "PUT", "/kylin/api/caches/x", G_, INTERNAL, API },
    { "POST", "/kylin/api/broadcast", G5, INTERNAL, API },
    { "PUT", "/kylin/api/broadcast/capacity/refresh_all", G5, INTERNAL, API },
    { "POST", "/kylin/api/epoch", G5, INTERNAL, API },
    { "POST", "/kylin/api/epoch/all", G5, INTERNAL, API },
    { "GET", "/kylin/api/epoch/maintenance_mode", G5, INTERNAL, API },
    { "GET", "/kylin/api/service_discovery/state/is_active_job_node", G3, INTERNAL, API },
    { "GET", "/kylin/api/service_discovery/state/all", G3, READ, API },
    { "PUT", "/kylin/api/tables/DEFAULT.KYLIN_CAL_DT/8d3e/snapshotLocalCache", G3,
      INTERNAL, API },
    { "GET", "/kylin/api/tables/DEFAULT.KYLIN_CAL_DT/snapshotLocalCache/state", G4,
      INTERNAL, API },
    { "GET", "/kylin/api/streaming_coordinator/balance/recommend", G3, INTERNAL, API },
    { "POST", "/kylin/api/user/update_user", G5, INTERNAL, API },
    { "POST", "/kylin/api/system/broadcast_metadata_backup", G5, INTERNAL, API },
    { "POST", "/kylin/api/system/metadata_backup_tmp_file", G5, INTERNAL, API },
    { "POST", "/kylin/api/kg/health/instance_info", G5, INTERNAL, API },
    { "GET", "/kylin/api/kg/health", G5, INTERNAL, API },
    /* Spark driver callbacks (s. 4.4) */
    { "PUT", "/kylin/api/jobs/spark", G4, JOB, API | CB },
    { "PUT", "/kylin/api/jobs/stage/status", G5, JOB, API | CB },
    { "PUT", "/kylin/api/jobs/error", G5, JOB, API | CB },
    { "POST", "/kylin/api/jobs/error", G_, JOB, API | CB },
    { "PUT", "/kylin/api/jobs/wait_and_run_time", G5, JOB, API | CB },
    { "GET", "/kylin/api/jobs/spark", G4, READ, API },
    /* SQL (s. 4.3) */
    { "POST", "/kylin/api/query", G3, QUERY, API },
    { "POST", "/kylin/api/query", G5, QUERY, API },
    { "POST", "/kylin/api/query/", G2, QUERY, API },
    { "POST", "/kylin/api/query?project=learn_kylin", G_, QUERY, API },
    { "GET", "/kylin/api/query", G_, READ, API },
    { "OPTIONS", "/kylin/api/query", G_, READ, API },
    { "PUT", "/kylin/api/query", G_, WRITE, API },
    { "POST", "/kylin/api/query/prestate", G3, QUERY, API },
    { "GET", "/kylin/api/query/format/csv", G3, QUERY, API },
    { "POST", "/kylin/api/query/format/csv", G5, QUERY, API },
    { "GET", "/kylin/api/tables_and_columns?project=learn_kylin", G3, QUERY, API },
    { "GET", "/kylin/api/query/tables_and_columns?project=p", G5, QUERY, API },
    { "POST", "/kylin/api/async_query", G5, QUERY, API },
    { "GET", "/kylin/api/async_query/8f0c/status", G5, QUERY, API },
    { "GET", "/kylin/api/async_query/8f0c/result_download?include_header=true", G5,
      QUERY, API },
    { "DELETE", "/kylin/api/async_query?project=p", G5, QUERY, API },
    { "GET", "/kylin/api/query/runningQueries", G3, QUERY, API | LOCAL },
    { "PUT", "/kylin/api/query/5f3a-77/stop", G3, QUERY, API | LOCAL },
    { "DELETE", "/kylin/api/query/5f3a-77", G5, QUERY, API },
    { "DELETE", "/kylin/api/query/5f3a-77", G_, QUERY, API },
    { "DELETE", "/kylin/api/query/5f3a-77", G3, WRITE, API },
    { "GET", "/kylin/api/query/history_queries?project=p", G5, READ, API },
    { "GET", "/kylin/api/query/servers?ext=true", G5, READ, API },
    { "GET", "/kylin/api/query/favorite_queries", G5, READ, API },
    { "POST", "/kylin/api/saved_queries", G3, WRITE, API },
    { "GET", "/kylin/api/saved_queries?project=p", G3, READ, API },
    /* builds and job control, 2.x-4.x (s. 4.4) */
    { "PUT", "/kylin/api/cubes/kylin_sales_cube/build", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/kylin_sales_cube/rebuild", G2, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/build2", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/rebuild2", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/automerge", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/optimize", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/optimize2", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/refresh_lookup", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/holes", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/init_start_offsets", G3, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/segments", G5, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/recover_segment_optimize/20200101_20200201", G3, JOB,
      API },
    { "PUT", "/kylin/api/cubes/c1/segs/20200101_20200201/refresh_lookup", G3, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c6d7c-1e0a/resume", G3, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c6d7c-1e0a/resume", G5, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c6d7c-1e0a/resubmit", G3, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c6d7c-1e0a/cancel", G3, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c6d7c-1e0a/pause", G3, JOB, API },
    { "PUT", "/kylin/api/jobs/0b6c/steps/0b6c-01/rollback", G3, JOB, API },
    { "DELETE", "/kylin/api/jobs/0b6c6d7c-1e0a/drop", G3, JOB, API },
    { "PUT", "/kylin/api/tables/learn_kylin/DEFAULT.KYLIN_SALES/cardinality", G3, JOB,
      API },
    { "GET", "/kylin/api/cubes/c1/holes", G3, READ, API },
    { "GET", "/kylin/api/jobs?projectName=learn_kylin&timeFilter=1", G3, READ, API },
    { "GET", "/kylin/api/jobs/0b6c6d7c-1e0a", G3, READ, API },
    { "GET", "/kylin/api/jobs/0b6c/steps/0b6c-01/output", G3, READ, API },
    { "GET", "/kylin/api/jobs/overview", G4, READ, API },
    { "PUT", "/kylin/api/cubes/c1/disable", G3, WRITE, API },
    { "DELETE", "/kylin/api/cubes/c1/segs/20200101_20200201", G3, WRITE, API },
    /* builds and job control, 5.x */
    { "POST", "/kylin/api/models/m1/segments", G5, JOB, API },
    { "PUT", "/kylin/api/models/m1/segments", G5, JOB, API },
    { "DELETE", "/kylin/api/models/m1/segments?project=p&ids=a,b", G5, JOB, API },
    { "POST", "/kylin/api/models/m1/segments/merge_check", G5, JOB, API },
    { "GET", "/kylin/api/models/m1/segments?project=p", G5, READ, API },
    { "POST", "/kylin/api/models/m1/indexes", G5, JOB, API },
    { "PUT", "/kylin/api/jobs/status", G5, JOB, API },
    { "DELETE", "/kylin/api/jobs?project=p&job_ids=a", G5, JOB, API },
    { "GET", "/kylin/api/jobs?project=p", G5, READ, API },
    /* metadata writes and node-local administration */
    { "POST", "/kylin/api/cubes", G3, WRITE, API },
    { "PUT", "/kylin/api/cubes", G3, WRITE, API },
    { "DELETE", "/kylin/api/cubes/c1", G3, WRITE, API },
    { "POST", "/kylin/api/projects", G5, WRITE, API },
    { "POST", "/kylin/api/tables/DEFAULT.KYLIN_SALES/learn_kylin", G3, WRITE, API },
    { "PATCH", "/kylin/api/models/m1", G5, WRITE, API },
    { "PUT", "/kylin/api/admin/config", G3, WRITE, API | LOCAL },
    { "DELETE", "/kylin/api/admin/storage", G3, WRITE, API | LOCAL },
    { "POST", "/kylin/api/system/metadata/reload", G5, WRITE, API | LOCAL },
    { "PUT", "/kylin/api/tables/catalog_cache", G5, WRITE, API | LOCAL },
    { "POST", "/kylin/api/system/diag", G5, WRITE, API | LOCAL },
    { "POST", "/kylin/api/system/diag/query", G5, WRITE, API | LOCAL },
    { "GET", "/kylin/api/system/diag/progress?id=x", G5, READ, API | LOCAL },
    { "POST", "/kylin/api/system/maintenance_mode", G5, WRITE, API | LOCAL },
    { "DELETE", "/kylin/api/system/maintenance_mode", G5, WRITE, API | LOCAL },
    { "GET", "/kylin/api/system/maintenance_mode", G5, READ, API },
    { "PUT", "/kylin/api/system/roll_event_log", G5, WRITE, API | LOCAL },
    /* reads and probes */
    { "GET", "/kylin/api/admin/config", G3, READ, API },
    { "GET", "/kylin/api/health", G5, READ, API },
    { "GET", "/kylin/api/prometheus", G5, READ, API },
    { "GET", "/kylin/api/admin/public_config", G_, READ, API },
    { "GET", "/kylin/api/admin/version", G3, READ, API },
    { "GET", "/kylin/api/system/servers?ext=true", G5, READ, API },
    { "GET", "/kylin/api/system/host", G5, READ, API },
    { "GET", "/kylin/api/admin/instance_info", G5, READ, API },
    { "GET", "/kylin/api/projects", G5, READ, API },
    { "HEAD", "/kylin/api/models", G5, READ, API },
    { "GET", "/kylin/api", G_, READ, API },
    { "POST", "/kylin/api/", G_, WRITE, API },
    /* UI routes and static files (not the API) */
    { "GET", "/kylin/jobs", G3, READ, 0 },
    { "GET", "/kylin/query", G3, READ, 0 },
    { "GET", "/kylin/models", G3, READ, 0 },
    { "GET", "/kylin/cubes/kylin_sales_cube", G3, READ, 0 },
    { "GET", "/kylin/cache", G3, READ, 0 },
    { "GET", "/kylin/", G_, READ, 0 },
    { "GET", "/kylin", G_, READ, 0 },
    { "GET", "/kylin/js/scripts.min.js", G3, READ, 0 },
    { "GET", "/kylin/apiary", G_, READ, 0 },
    { "POST", "/kylin/query", G3, WRITE, 0 },
    { "GET", "/kylin/API/cache", G_, READ, 0 },
    { "PUT", "/kylin/API/cache", G_, WRITE, 0 },
    { "GET", "/KYLIN/api/cache", G_, READ, 0 },
    { "GET", "/index.html", G_, READ, 0 },
    { "POST", "/other/api/cache", G_, WRITE, 0 },
    /* methods */
    { "", "/kylin/api/query", G_, QUERY, API },
    { NULL, "/kylin/api/query", G_, QUERY, API },
    { "post", "/kylin/api/query", G_, QUERY, API },
    { "BREW", "/kylin/api/cubes", G_, WRITE, API },
    { "get", "/kylin/jobs", G_, WRITE, 0 },
    /* evasions: the internal rule cannot be dodged */
    { "GET", "/kylin/api//cache/all/update", G_, INTERNAL, API },
    { "PUT", "//kylin//api///cache", G_, INTERNAL, API },
    { "PUT", "/kylin/api%2Fcache/all/update", G_, INTERNAL, API },
    { "PUT", "/kylin%2fapi%2fcache", G_, INTERNAL, API },
    { "PUT", "/kylin/api/%63ache/all/update", G_, INTERNAL, API },
    { "PUT", "/kylin/api/%63%61%63%68%65", G_, INTERNAL, API },
    { "PUT", "/kylin/api/cache;jsessionid=x/all/update", G_, INTERNAL, API },
    { "PUT", "/kylin/api;x=y/cache", G_, INTERNAL, API },
    { "PUT", "/kylin;jsessionid=ABC/api/cache", G_, INTERNAL, API },
    { "PUT", "/kylin/api/./cache", G_, INTERNAL, API },
    { "PUT", "/kylin/./api/././cache/.", G_, INTERNAL, API },
    { "PUT", "/kylin/api/%2e/cache", G_, INTERNAL, API },
    { "PUT", "/kylin\\api\\cache", G_, INTERNAL, API },
    { "PUT", "/kylin/api/%5ccache", G_, INTERNAL, API },
    { "PUT", "/kylin/api/%20cache%20/x", G_, INTERNAL, API },
    { "GET", "/kylin/api/service_discovery//state/;a/is_active_job_node", G3, INTERNAL,
      API },
    { "GET", "/kylin/api/tables/a/b/%73napshotLocalCache", G3, INTERNAL, API },
    /* evasions: ".." is refused under /kylin/ */
    { "GET", "/kylin/api/query/../cache", G_, INTERNAL, API },
    { "GET", "/kylin/api/projects/..", G_, INTERNAL, API },
    { "GET", "/kylin/api/..", G_, INTERNAL, 0 },
    { "GET", "/kylin/..", G_, INTERNAL, 0 },
    { "GET", "/kylin/%2e%2e/x", G_, INTERNAL, 0 },
    { "GET", "/kylin/api/..;/cache", G_, INTERNAL, 0 },
    { "GET", "/kylin/api/%2E%2E%2fcache", G_, INTERNAL, 0 },
    { "GET", "/x/../kylin/api/projects", G_, INTERNAL, API },
    { "GET", "/../etc/passwd", G_, INTERNAL, 0 },
    { "GET", "/static/../index.html", G_, READ, 0 },
    { "POST", "/static/img/../../upload", G_, WRITE, 0 },
    /* escapes that are not evasions */
    { "GET", "/kylin/api/%zzcache", G_, READ, API },
    { "PUT", "/kylin/api/%2563ache", G_, WRITE, API },
    { "PUT", "/kylin/api/%6", G_, WRITE, API },
    { "PUT", "/kylin/api/cache%", G_, INTERNAL, API },
    { "POST", "/kylin/api/query%3Fx=1", G_, WRITE, API },
    { "PUT", "/kylin/api/cubes/c1/build/", G3, JOB, API },
    { "PUT", "/kylin/api/models/m1/segments;v=1", G5, JOB, API },
    { "PUT", "/kylin/api/cubes/c1/build%2F", G3, JOB, API },
    { "GET", "/kylin/api/projects?next=/kylin/api/cache", G_, READ, API },
    { "GET", "/kylin/api/projects?x=/../cache", G_, READ, API },
    /* non-ASCII bytes */
    { "GET", "/kylin/api/models/\xe6\xa8\xa1\xe5\x9e\x8b", G5, READ, API },
    { "POST", "/kylin/api/\xff\xfe", G_, WRITE, API },
    { "GET", "/kylin/api/cach\xc3\xa9", G_, READ, API },
    { "GET", "/kylin/api/cache\x80", G_, INTERNAL, API },
    { "GET", "/kylin/api/%E6%A8%A1/cache", G_, READ, API },
    /* empty and degenerate paths */
    { "GET", "", G_, READ, 0 },
    { "POST", "", G_, WRITE, 0 },
    { "GET", "/", G_, READ, 0 },
    { "DELETE", "/", G_, WRITE, 0 },
    { "GET", "?", G_, READ, 0 },
    { "GET", "////", G_, READ, 0 },
    { "GET", "kylin/api/cache", G_, INTERNAL, API },
};

START_TEST(classify_table)
{
    const classify_case_t *c = &cases[_i];
    unsigned int flags = 0xdead;
    kyl_class_e cls = kyl_classify(c->method, c->path, strlen(c->path), c->gen, &flags);

    ck_assert_msg(cls == c->cls && flags == c->flags,
                  "%s %s (gen %d): class %s flags 0x%x, expected %s 0x%x",
                  c->method ? c->method : "(null)", c->path, (int)c->gen,
                  kyl_class_name(cls), flags, kyl_class_name(c->cls), c->flags);
}
END_TEST

/* Builds prefix + n copies of unit + suffix in the test pool. */
static char *repeat(const char *prefix, const char *unit, int n, const char *suffix)
{
    apr_size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix);
    char *s = apr_palloc(tp, pl + ul * (apr_size_t)n + sl + 1), *o = s;
    int i;

    memcpy(o, prefix, pl);
    o += pl;
    for (i = 0; i < n; i++, o += ul) {
        memcpy(o, unit, ul);
    }
    memcpy(o, suffix, sl + 1);
    return s;
}

static const struct {
    const char *method;
    const char *prefix, *unit;
    int n;
    const char *suffix;
    kyl_class_e cls;
    unsigned int flags;
} long_cases[] = {
    /* too long to normalise: refused under /kylin/api, by method elsewhere */
    { "GET", "/kylin/api/", "a", 10240, "", INTERNAL, API },
    { "GET", "/kylin/api/models/", "m", 10240, "", INTERNAL, API },
    { "GET", "/kylin/api", "/a", 200, "", INTERNAL, API },
    { "GET", "/kylin/", "a", 10240, "", READ, 0 },
    { "POST", "/kylin/", "a", 10240, "", WRITE, 0 },
    { "GET", "/", "a", 10240, "", READ, 0 },
    { "PUT", "/static/", "a", 10240, "/x", WRITE, 0 },
    /* long but short once normalised */
    { "PUT", "/kylin/api", "/.", 5000, "/cache", INTERNAL, API },
    { "POST", "/kylin/api", "//", 5000, "/query", QUERY, API },
    { "POST", "/kylin/api/query", ";x=0123456789", 1000, "", QUERY, API },
    { "GET", "/kylin/api/projects?", "a", 10240, "", READ, API },
    /* ".." with a long path: refused wherever it lands */
    { "GET", "/kylin/api/", "x/../", 2000, "cache", INTERNAL, API },
    { "GET", "/x/", "a", 3000, "/../../kylin/api/cache", INTERNAL, 0 },
    { "GET", "/", "x", 2047, "/../kylin/api/cache", INTERNAL, API },
    { "GET", "/", "x", 2048, "/../kylin/api/cache", INTERNAL, API },
    { "GET", "/", "x", 2049, "/../kylin/api/cache", INTERNAL, 0 },
    { "GET", "/", "x", 2048, "/./../kylin/api/cache", INTERNAL, API },
    { "GET", "/", "x", 2049, "/./../kylin/api/cache", INTERNAL, 0 },
    { "GET", "/static/", "a", 10240, "/..", INTERNAL, 0 },
};

START_TEST(classify_long)
{
    char *path = repeat(long_cases[_i].prefix, long_cases[_i].unit, long_cases[_i].n,
                        long_cases[_i].suffix);
    unsigned int flags = 0xdead;
    kyl_class_e cls = kyl_classify(long_cases[_i].method, path, strlen(path),
                                   KYL_GEN_UNKNOWN, &flags);

    ck_assert_msg(cls == long_cases[_i].cls, "case %d: class %s", _i,
                  kyl_class_name(cls));
    ck_assert_msg(flags == long_cases[_i].flags, "case %d: flags 0x%x", _i, flags);
}
END_TEST

/* The path need not be NUL-terminated: only len bytes are read. */
START_TEST(classify_len_bounds)
{
    static const char api_query[] = "/kylin/api/query";
    char *exact = malloc(sizeof(api_query) - 1);
    unsigned int flags = 0;

    memcpy(exact, api_query, sizeof(api_query) - 1);
    ck_assert_int_eq(kyl_classify("POST", exact, sizeof(api_query) - 1, KYL_GEN_3,
                                  &flags), QUERY);
    ck_assert_uint_eq(flags, API);
    free(exact);

    ck_assert_int_eq(kyl_classify("POST", "/kylin/api/cache", 11, G_, &flags), WRITE);
    ck_assert_int_eq(kyl_classify("POST", "/kylin/api/queryXYZ", 16, G_, &flags),
                     QUERY);
    ck_assert_int_eq(kyl_classify("PUT", "/kylin/api/cache/x", 16, G_, &flags),
                     INTERNAL);
    ck_assert_int_eq(kyl_classify("PUT", "/kylin/api/cache\0x", 18, G_, &flags),
                     INTERNAL);
    ck_assert_int_eq(kyl_classify("PUT", "/kylin/api/%63", 13, G_, &flags), WRITE);
}
END_TEST

START_TEST(classify_null_args)
{
    unsigned int flags = 0xdead;

    ck_assert_int_eq(kyl_classify("GET", NULL, 0, G_, &flags), READ);
    ck_assert_uint_eq(flags, 0);
    ck_assert_int_eq(kyl_classify("POST", NULL, 12, G_, &flags), WRITE);
    ck_assert_int_eq(kyl_classify("PUT", "/kylin/api/cache", 16, G_, NULL), INTERNAL);
    ck_assert_int_eq(kyl_classify("GET", "/kylin/api/query", 16, (kyl_gen_e)42, NULL),
                     READ);
}
END_TEST

/* ---- differential check against the previous implementation ------------
 *
 * ref_classify() is src/kyl_classify.c as it was before the one-scan split
 * and the rule groups (commit 461b9fc), verbatim but for the names: one flat
 * rule list tried in order on a normalised copy of every path.  The tables
 * above were written against it; kyl_classify() must agree with it on every
 * input, which the tests below check on generated and mutated paths. */

#define REF_NORM_MAX  2048  /* bytes of normalised path kept */
#define REF_NORM_PAD  2     /* room to recognise "." and ".." when full */
#define REF_SEG_MAX   128   /* segments kept */

/* Methods the rules tell apart; anything unknown counts as POST. */
typedef enum {
    RK_GET, RK_HEAD, RK_OPTIONS, RK_POST, RK_PUT, RK_DELETE,
    RK_PATCH
} ref_method_e;

#define RMB(m)    (1u << (m))
#define RM_ANY    0u
#define RM_GET    (RMB(RK_GET) | RMB(RK_HEAD))
#define RM_SAFE   (RM_GET | RMB(RK_OPTIONS))
#define RM_POST   RMB(RK_POST)
#define RM_PUT    RMB(RK_PUT)
#define RM_DELETE RMB(RK_DELETE)
#define RM_WRITE  (RM_POST | RM_PUT | RM_DELETE | RMB(RK_PATCH))

/* The normalised path: n segments of buf, without separators. */
typedef struct {
    char buf[REF_NORM_MAX + REF_NORM_PAD];
    apr_uint16_t off[REF_SEG_MAX];
    apr_uint16_t len[REF_SEG_MAX];
    int n;
    int base;       /* index of the first segment the rules look at */
    int dotdot;     /* a ".." segment was seen */
    int underflow;  /* a ".." climbed above the root */
    int overflow;   /* too long to normalise: the tail was not kept */
    int kylin;      /* "kylin" was the first segment at some point */
} ref_path_t;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} ref_cursor_t;

/* A rule on the segments after /kylin/api.  A segment pattern is a list of
 * literals separated by '|'; a literal ending in '*' is a prefix; "*" alone
 * matches any one segment. */
typedef struct {
    unsigned int methods;       /* M_* mask, RM_ANY for every method */
    const char *seg[5];         /* NULL-terminated unless all 5 are used */
    int below;                  /* deeper paths match too */
    int gen5;                   /* 5.x only (or generation unknown) */
    kyl_class_e cls;            /* KYL_CLASS_COUNT: class by method */
    unsigned int flags;
} ref_rule_t;

#define REF_BY_METHOD KYL_CLASS_COUNT

static const ref_rule_t ref_rules[] = {
    /* node-to-node endpoints (s. 4.5, 6.1, 6.2, 10) */
    { RM_ANY, { "cache*" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "broadcast" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "epoch*" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "streaming_coordinator" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "service_discovery", "state", "is_active_job_node" }, 1, 0,
      KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "user", "update_user" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "system", "broadcast_metadata_backup|metadata_backup_tmp_file" },
      1, 0, KYL_CLASS_INTERNAL, 0 },
    { RM_ANY, { "kg", "health" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    /* authentication (s. 4.2) */
    { RM_ANY, { "user", "authentication*" }, 1, 0, KYL_CLASS_AUTH, KYL_REQ_LOGIN },
    { RM_ANY, { "j_spring_security_logout" }, 0, 0, KYL_CLASS_AUTH, KYL_REQ_LOGOUT },
    /* Spark driver callbacks (s. 4.4) */
    { RM_WRITE, { "jobs", "spark|error|wait_and_run_time" }, 0, 0, KYL_CLASS_JOB,
      KYL_REQ_CALLBACK },
    { RM_WRITE, { "jobs", "stage", "status" }, 0, 0, KYL_CLASS_JOB, KYL_REQ_CALLBACK },
    /* SQL (s. 4.3) */
    { RM_POST, { "query" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { RM_ANY, { "query", "prestate|tables_and_columns" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { RM_GET | RM_POST, { "query", "format", "*" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { RM_ANY, { "tables_and_columns*" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { RM_ANY, { "async_query" }, 1, 0, KYL_CLASS_QUERY, 0 },
    { RM_GET, { "query", "runningQueries" }, 0, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { RM_PUT, { "query", "*", "stop" }, 0, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { RM_DELETE, { "query", "*" }, 0, 1, KYL_CLASS_QUERY, 0 },
    /* builds, segments and job control (s. 4.4) */
    { RM_PUT, { "cubes", "*", "build|rebuild|build2|rebuild2|automerge|optimize|"
               "optimize2|refresh_lookup|holes|init_start_offsets|segments" },
      0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "cubes", "*", "recover_segment_optimize", "*" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "cubes", "*", "segs", "*", "refresh_lookup" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "jobs", "*", "resume|resubmit|cancel|pause" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "jobs", "*", "steps", "*", "rollback" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_DELETE, { "jobs", "*", "drop" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "jobs", "status" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_DELETE, { "jobs" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_PUT, { "tables", "*", "*", "cardinality" }, 0, 0, KYL_CLASS_JOB, 0 },
    { RM_POST | RM_PUT | RM_DELETE, { "models", "*", "segments" }, 1, 0, KYL_CLASS_JOB,
      0 },
    { RM_POST, { "models", "*", "indexes" }, 0, 0, KYL_CLASS_JOB, 0 },
    /* node-local administration (s. 6.1, 6.2) */
    { RM_PUT, { "admin", "config" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { RM_DELETE, { "admin", "storage" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { RM_POST, { "system", "metadata", "reload" }, 0, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { RM_PUT, { "tables", "catalog_cache" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { RM_ANY, { "system", "diag*" }, 1, 0, REF_BY_METHOD, KYL_REQ_NODE_LOCAL },
    { RM_WRITE, { "system", "maintenance_mode" }, 0, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { RM_PUT, { "system", "roll_event_log" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
};

static ref_method_e ref_method_of(const char *method)
{
    static const struct {
        const char *name;
        ref_method_e m;
    } known[] = {
        { "GET", RK_GET }, { "HEAD", RK_HEAD }, { "OPTIONS", RK_OPTIONS },
        { "POST", RK_POST }, { "PUT", RK_PUT }, { "DELETE", RK_DELETE },
        { "PATCH", RK_PATCH },
    };
    size_t i;

    for (i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(method, known[i].name) == 0) {
            return known[i].m;
        }
    }
    return RK_POST;
}

static kyl_class_e ref_by_method(ref_method_e m)
{
    return (RMB(m) & RM_SAFE) ? KYL_CLASS_READ : KYL_CLASS_WRITE;
}

/* ---- normalisation ---------------------------------------------------- */

static int ref_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The next byte with %XX decoded (invalid escapes stay literal); -1 at end. */
static int ref_next_byte(ref_cursor_t *c)
{
    int hi, lo;

    if (c->p >= c->end) {
        return -1;
    }
    if (*c->p == '%' && c->end - c->p >= 3
        && (hi = ref_hexval(c->p[1])) >= 0 && (lo = ref_hexval(c->p[2])) >= 0) {
        c->p += 3;
        return hi * 16 + lo;
    }
    return *c->p++;
}

static int ref_is_separator(int ch)
{
    return ch == '/' || ch == '\\';
}

static int ref_is_blank(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f'
           || ch == '\v';
}

/* Reads one segment up to the next separator into out (at most cap bytes),
 * without its ";params" and surrounding blanks.  Returns its full length,
 * which may exceed cap. */
static apr_size_t ref_next_segment(ref_cursor_t *c, char *out, apr_size_t cap)
{
    apr_size_t n = 0, keep = 0;
    int ch, param = 0;

    while ((ch = ref_next_byte(c)) >= 0 && !ref_is_separator(ch)) {
        if (ch == ';') {
            param = 1;
        }
        if (param || (n == 0 && ref_is_blank(ch))) {
            continue;
        }
        if (n < cap) {
            out[n] = (char)ch;
        }
        n++;
        if (!ref_is_blank(ch)) {
            keep = n;
        }
    }
    return keep;
}

static void ref_path_pop(ref_path_t *v, apr_size_t *pos)
{
    v->dotdot = 1;
    if (v->overflow) {
        return;
    }
    if (v->n == 0) {
        v->underflow = 1;
        return;
    }
    v->n--;
    *pos = v->off[v->n];
}

static void ref_path_push(ref_path_t *v, apr_size_t *pos, apr_size_t n)
{
    if (v->overflow || *pos + n > REF_NORM_MAX || v->n == REF_SEG_MAX) {
        v->overflow = 1;
        return;
    }
    if (v->n == 0 && n == 5 && memcmp(v->buf + *pos, "kylin", 5) == 0) {
        v->kylin = 1;
    }
    v->off[v->n] = (apr_uint16_t)*pos;
    v->len[v->n] = (apr_uint16_t)n;
    v->n++;
    *pos += n;
}

static void ref_path_normalise(ref_path_t *v, const char *path, apr_size_t len)
{
    const char *q = path != NULL ? memchr(path, '?', len) : NULL;
    apr_size_t pos = 0;
    ref_cursor_t c;

    v->n = v->base = v->dotdot = v->underflow = v->overflow = v->kylin = 0;
    c.p = (const unsigned char *)path;
    c.end = c.p + (q != NULL ? (apr_size_t)(q - path) : (path != NULL ? len : 0));
    while (c.p < c.end) {
        /* once full, segments land at the end of buf only to spot ".." */
        apr_size_t at = v->overflow ? REF_NORM_MAX : pos;
        char *out = v->buf + at;
        apr_size_t n = ref_next_segment(&c, out, sizeof(v->buf) - at);

        if (n == 0 || (n == 1 && out[0] == '.')) {
            continue;
        }
        if (n == 2 && out[0] == '.' && out[1] == '.') {
            ref_path_pop(v, &pos);
        }
        else {
            ref_path_push(v, &pos, n);
        }
    }
}

/* ---- matching ---------------------------------------------------------- */

/* Does segment i (absolute) match one literal of pat ("a|b*|c")? */
static int ref_seg_match(const ref_path_t *v, int i, const char *pat)
{
    const char *s = v->buf + v->off[i];
    apr_size_t n = v->len[i];

    if (strcmp(pat, "*") == 0) {
        return 1;
    }
    while (*pat) {
        apr_size_t l = strcspn(pat, "|");
        int prefix = l > 0 && pat[l - 1] == '*';
        apr_size_t lit = prefix ? l - 1 : l;

        if ((prefix ? n >= lit : n == lit) && memcmp(s, pat, lit) == 0) {
            return 1;
        }
        pat += l + (pat[l] == '|');
    }
    return 0;
}

static int ref_rule_match(const ref_path_t *v, const ref_rule_t *r, ref_method_e m,
                      kyl_gen_e gen)
{
    int k = v->n - v->base, i;

    if ((r->methods && !(r->methods & RMB(m)))
        || (r->gen5 && gen != KYL_GEN_5 && gen != KYL_GEN_UNKNOWN)) {
        return 0;
    }
    for (i = 0; i < 5 && r->seg[i] != NULL; i++) {
        if (i >= k || !ref_seg_match(v, v->base + i, r->seg[i])) {
            return 0;
        }
    }
    return r->below ? k >= i : k == i;
}

/* /kylin/api/tables/ ** /snapshotLocalCache/ ** (2.x-4.x lookup snapshots). */
static int ref_is_snapshot_cache(const ref_path_t *v)
{
    int i;

    if (v->n - v->base < 2 || !ref_seg_match(v, v->base, "tables")) {
        return 0;
    }
    for (i = v->base + 1; i < v->n; i++) {
        if (ref_seg_match(v, i, "snapshotLocalCache")) {
            return 1;
        }
    }
    return 0;
}

static kyl_class_e ref_classify_api(ref_path_t *v, ref_method_e m, kyl_gen_e gen,
                                unsigned int *flags)
{
    size_t i;

    v->base = 2;
    if (ref_is_snapshot_cache(v)) {
        return KYL_CLASS_INTERNAL;
    }
    for (i = 0; i < sizeof(ref_rules) / sizeof(ref_rules[0]); i++) {
        const ref_rule_t *r = &ref_rules[i];

        if (ref_rule_match(v, r, m, gen)) {
            *flags |= r->flags;
            return r->cls == REF_BY_METHOD ? ref_by_method(m) : r->cls;
        }
    }
    return ref_by_method(m);
}

static int ref_path_is(const ref_path_t *v, int i, const char *lit)
{
    return i < v->n && ref_seg_match(v, i, lit);
}

static kyl_class_e ref_classify(const char *method, const char *path,
                                apr_size_t len, kyl_gen_e gen, unsigned int *flags)
{
    ref_path_t v;
    ref_method_e m = ref_method_of(method);
    unsigned int f = 0;
    kyl_class_e cls;

    ref_path_normalise(&v, path, len);
    if (ref_path_is(&v, 0, "kylin") && ref_path_is(&v, 1, "api")) {
        f |= KYL_REQ_API;
    }
    if (v.dotdot && (v.kylin || v.underflow || v.overflow)) {
        cls = KYL_CLASS_INTERNAL;       /* "..": refuse, never guess */
    }
    else if (v.overflow) {
        cls = (f & KYL_REQ_API) ? KYL_CLASS_INTERNAL : ref_by_method(m);
    }
    else if (f & KYL_REQ_API) {
        cls = ref_classify_api(&v, m, gen, &f);
    }
    else if (v.n == 2 && ref_path_is(&v, 0, "kylin")
             && ref_path_is(&v, 1, "j_spring_security_logout")) {
        cls = KYL_CLASS_AUTH;           /* 2.x-4.x logout, outside /api */
        f |= KYL_REQ_LOGOUT;
    }
    else {
        cls = ref_by_method(m);
    }
    if (flags != NULL) {
        *flags = f;
    }
    return cls;
}

/* A deterministic generator (xorshift64*): failures are reproducible. */
static apr_uint64_t diff_state;

static unsigned int diff_rand(unsigned int bound)
{
    diff_state ^= diff_state >> 12;
    diff_state ^= diff_state << 25;
    diff_state ^= diff_state >> 27;
    return (unsigned int)((diff_state * 2685821657736338717ULL) >> 33) % bound;
}

static const char *const diff_methods[] = {
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "get", "BREW",
    "", "G", "GETS", "P", "PO", "PUTS", "PATC", "DELETEX", "OPTION", NULL,
};

static const kyl_gen_e diff_gens[] = { G_, G2, G3, G4, G5, (kyl_gen_e)42 };

/* Segments the rules name, their near misses, and the bytes and escapes
 * normalisation cares about. */
static const char *const diff_tokens[] = {
    "kylin", "api", "KYLIN", "API", "apiary", "cache", "caches", "cach",
    "broadcast", "epoch", "epochs", "streaming_coordinator", "service_discovery",
    "state", "is_active_job_node", "user", "update_user", "authentication",
    "authentication2", "system", "broadcast_metadata_backup",
    "metadata_backup_tmp_file", "kg", "health", "j_spring_security_logout",
    "jobs", "spark", "error", "wait_and_run_time", "stage", "status", "query",
    "prestate", "tables_and_columns", "tables_and_columnsX", "format", "csv",
    "async_query", "runningQueries", "stop", "cubes", "build", "rebuild",
    "build2", "rebuild2", "automerge", "optimize", "optimize2",
    "refresh_lookup", "holes", "init_start_offsets", "segments",
    "recover_segment_optimize", "segs", "resume", "resubmit", "cancel",
    "pause", "steps", "rollback", "drop", "tables", "cardinality",
    "catalog_cache", "snapshotLocalCache", "models", "indexes", "admin",
    "config", "storage", "metadata", "reload", "diag", "diagnosis",
    "maintenance_mode", "roll_event_log", "projects", "c1", "m1", "x",
    ".", "..", "%2e", "%2E%2e", "%2f", "%2F", "%5c", "%5C", "\\", ";",
    ";jsessionid=1", "?", "?x=/../cache", "%", "%6", "%63", "%63ache", "%zz",
    "%00", "%20", " ", "\t", "*", "|", "build|rebuild", "diag*", "\xff",
    "\xe6\xa8\xa1", "%E6", "//", "/./", "/../", "/",
};

static const char *const diff_prefixes[] = {
    "", "/", "/kylin/api/", "/kylin/api/", "/kylin/api/", "/kylin/api/",
    "/kylin/", "kylin/api/", "//kylin//api/", "/kylin/api", "/x/../kylin/api/",
    "/kylin;a/api/", "/kylin%2fapi/",
};

#define DIFF_MAX 512

/* Checks kyl_classify() against ref_classify() on path[0, len) under a
 * random method and generation.  The path is copied into a buffer of
 * exactly len bytes: ASan sees any read past it. */
static void diff_one(const char *path, apr_size_t len)
{
    const char *method = diff_methods[diff_rand(KYL_ARRAY_LEN(diff_methods))];
    kyl_gen_e gen = diff_gens[diff_rand(KYL_ARRAY_LEN(diff_gens))];
    char *copy = malloc(len ? len : 1);
    unsigned int f = 0xdead, rf = 0xbeef;
    kyl_class_e cls, rcls;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, path, len);
    cls = kyl_classify(method, copy, len, gen, &f);
    rcls = ref_classify(method, copy, len, gen, &rf);
    ck_assert_msg(cls == rcls && f == rf,
                  "%s %.*s (len %lu, gen %d): class %s 0x%x, reference %s 0x%x",
                  method ? method : "(null)", (int)(len < 300 ? len : 300), path,
                  (unsigned long)len, (int)gen, kyl_class_name(cls), f,
                  kyl_class_name(rcls), rf);
    free(copy);
}

static apr_size_t diff_append(char *buf, apr_size_t n, const char *s)
{
    apr_size_t l = strlen(s);

    if (n + l > DIFF_MAX) {
        l = DIFF_MAX - n;
    }
    memcpy(buf + n, s, l);
    return n + l;
}

/* A prefix, then tokens mostly separated by '/'. */
static apr_size_t diff_generate(char *buf)
{
    apr_size_t n = diff_append(buf, 0,
                               diff_prefixes[diff_rand(KYL_ARRAY_LEN(diff_prefixes))]);
    int i, parts = (int)diff_rand(9);

    for (i = 0; i < parts; i++) {
        if (i > 0 && diff_rand(4) != 0) {
            n = diff_append(buf, n, "/");
        }
        n = diff_append(buf, n, diff_tokens[diff_rand(KYL_ARRAY_LEN(diff_tokens))]);
    }
    if (diff_rand(8) == 0) {
        n = diff_append(buf, n, "/");
    }
    return n;
}

/* One of the table's paths with 1-3 edits: a token inserted, bytes
 * dropped, a byte replaced by one normalisation cares about. */
static apr_size_t diff_mutate(char *buf)
{
    static const char bytes[] = "/.%;?\\ \t2eEfF5cC|*a\xff";
    const char *from = cases[diff_rand(KYL_ARRAY_LEN(cases))].path;
    apr_size_t n = diff_append(buf, 0, from);
    int edits = 1 + (int)diff_rand(3);

    while (edits-- > 0) {
        apr_size_t at = diff_rand((unsigned int)n + 1);

        switch (diff_rand(4)) {
        case 0: {
            char tail[DIFF_MAX + 1];
            apr_size_t tl = n - at;

            memcpy(tail, buf + at, tl);
            tail[tl] = '\0';
            n = diff_append(buf, at,
                            diff_tokens[diff_rand(KYL_ARRAY_LEN(diff_tokens))]);
            n = diff_append(buf, n, tail);
            break;
        }
        case 1: {
            apr_size_t drop = diff_rand(4);

            if (at + drop > n) {
                drop = n - at;
            }
            memmove(buf + at, buf + at + drop, n - at - drop);
            n -= drop;
            break;
        }
        case 2:
            if (at < n) {
                buf[at] = bytes[diff_rand(sizeof(bytes) - 1)];
            }
            break;
        default:
            if (at < n) {
                buf[at] = '\0';         /* a NUL within len */
            }
            break;
        }
    }
    return n;
}

#define DIFF_ROUNDS 8
#define DIFF_PER_ROUND 20000

START_TEST(classify_differential)
{
    char buf[DIFF_MAX];
    int i;

    diff_state = 0x9e3779b97f4a7c15ULL + (apr_uint64_t)_i;
    for (i = 0; i < DIFF_PER_ROUND; i++) {
        apr_size_t n = diff_rand(2) ? diff_generate(buf) : diff_mutate(buf);

        diff_one(buf, n);
        if (n > 0) {
            diff_one(buf, diff_rand((unsigned int)n));  /* a shorter len */
        }
    }
}
END_TEST

/* Around the limits of the normalised copy: KYL_NORM_MAX (2048) bytes and
 * KYL_SEG_MAX (128) segments, with and without a tail that needs it. */
START_TEST(classify_differential_limits)
{
    static const char *const tails[] = {
        "", "/", "/x", "/cache", "/..", "/./x", "/../cache", "/%61", "?q=1",
        "/a;b", "/ x",
    };
    static const char *const heads[] = {
        "/kylin/api/", "/kylin/api/jobs/", "/kylin/", "/", "kylin/api/",
    };
    apr_size_t bufsize = 2 * 2048 + 64;
    char *buf = apr_palloc(tp, bufsize);
    apr_size_t h, t, k, n;

    diff_state = 42;
    for (h = 0; h < KYL_ARRAY_LEN(heads); h++) {
        for (t = 0; t < KYL_ARRAY_LEN(tails); t++) {
            /* k segments "/a" (k - 1 after the head) */
            for (k = 120; k <= 136; k++) {
                char *o = buf + strlen(heads[h]);
                apr_size_t j;

                memcpy(buf, heads[h], strlen(heads[h]));
                for (j = 0; j < k; j++, o += 2) {
                    memcpy(o, "a/", 2);
                }
                n = (apr_size_t)(o - buf) - 1;
                memcpy(buf + n, tails[t], strlen(tails[t]));
                diff_one(buf, n + strlen(tails[t]));
            }
            /* one long segment, then many empty ones */
            for (k = 2030; k <= 2060; k++) {
                apr_size_t hl = strlen(heads[h]), tl = strlen(tails[t]);

                memcpy(buf, heads[h], hl);
                memset(buf + hl, 'a', k - hl);
                memcpy(buf + k, tails[t], tl);
                diff_one(buf, k + tl);
                memset(buf + hl, '/', k - hl);
                memcpy(buf + k, "cache", 5);
                memcpy(buf + k + 5, tails[t], tl);
                diff_one(buf, k + 5 + tl);
            }
        }
    }
}
END_TEST

static Suite *classify_suite(void)
{
    Suite *s = suite_create("kyl_classify");
    TCase *tc = kyl_tcase("classify");

    tcase_add_loop_test(tc, classify_table, 0, KYL_ARRAY_LEN(cases));
    tcase_add_loop_test(tc, classify_long, 0, KYL_ARRAY_LEN(long_cases));
    tcase_add_test(tc, classify_len_bounds);
    tcase_add_test(tc, classify_null_args);
    suite_add_tcase(s, tc);

    tc = kyl_tcase("differential");
    tcase_set_timeout(tc, 120);         /* ASan, UBSan */
    tcase_add_loop_test(tc, classify_differential, 0, DIFF_ROUNDS);
    tcase_add_test(tc, classify_differential_limits);
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(classify_suite)
