/* Unit tests: kyl_parse.c (Kylin REST answers, kylin-rest.md s. 4.1, 8, 10). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <jansson.h>
#include "kyl_test.h"
#include "kyl_parse.h"

#define OK APR_SUCCESS
#define NO APR_EINVAL

/* Bodies shared by several tables. */
#define HTML_401 "<html><head><title>Apache Tomcat/7.0.100 - Error report</title>" \
    "</head><body><h1>HTTP Status 401 - Unauthorized</h1></body></html>"
#define GARBAGE "\x00\x01\x02\xff\xfe{\"status\":\"UP\"}"
#define NESTED "[[[[[[[[[[[[[[[[[[[[{\"a\":[{\"b\":[[[[[[[[{}]]]]]]]],\"c\":" \
    "{\"d\":[null,1e300,-0.0,\"\\ud83d\\ude00\"]}}]}]]]]]]]]]]]]]]]]]]]]"
#define ERR_JOB_MODE_4 "{\"code\":\"999\",\"data\":null," \
    "\"msg\":\"Query is not allowed in 'job' mode.\"," \
    "\"exception\":\"Query is not allowed in 'job' mode.\",\"stacktrace\":\"...\"," \
    "\"url\":\"http://n1:7070/kylin/api/query\"}"
#define ERR_JOB_MODE_5 "{\"code\":\"999\",\"data\":null," \
    "\"msg\":\"Can not execute the query on a node in job mode.\",\"stacktrace\":\"...\"," \
    "\"exception\":\"...\",\"url\":\"http://n1:7070/kylin/api/query\"," \
    "\"suggestion\":\"\",\"error_code\":\"KE-040023202\"}"
#define ERR_NO_LEADER "{\"code\":\"999\",\"data\":null," \
    "\"msg\":\"There is no active leader node.\",\"stacktrace\":\"...\",\"exception\":\"...\"," \
    "\"url\":\"http://n1:7070/kylin/api/models\",\"error_code\":\"KE-010021004\"}"
#define ERR_NOT_CURATOR "{\"code\":\"999\",\"data\":null,\"msg\":\"Only meaningful when " \
    "scheduler is CuratorScheduler, try set kylin.job.scheduler.default to 100 to " \
    "enable CuratorScheduler.\",\"stacktrace\":\"java.lang.UnsupportedOperationException\"," \
    "\"exception\":\"Only meaningful when scheduler is CuratorScheduler, try set " \
    "kylin.job.scheduler.default to 100 to enable CuratorScheduler.\"," \
    "\"url\":\"http://n1:7070/kylin/api/service_discovery/state/is_active_job_node\"}"
#define ERR_SYNTAX "{\"code\":\"999\",\"data\":null,\"msg\":\"Error while executing " \
    "SQL \\\"selec 1\\\": parse failed: syntax error in SQL\",\"stacktrace\":\"...\"," \
    "\"exception\":\"...\",\"url\":\"http://n1:7070/kylin/api/query\"}"

/* A body with an explicit length (bodies may contain NUL bytes). */
#define B(s) s, sizeof(s) - 1

/* ---- health -------------------------------------------------------------- */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    int up;
    const char *err;
} health_cases[] = {
    { B("{\"status\":\"UP\",\"components\":{\"diskSpace\":{\"status\":\"UP\",\"details\":"
        "{\"total\":1,\"free\":1}},\"metaStore\":{\"status\":\"UP\"}}}"), OK, 1, NULL },
    { B("{\"status\":\"UP\"}"), OK, 1, NULL },
    { B("  {\"status\" : \"UP\"}\r\n"), OK, 1, NULL },
    { B("{\"status\":\"DOWN\",\"components\":{\"sparkContext\":{\"status\":\"DOWN\"}}}"),
      OK, 0, NULL },
    { B("{\"status\":\"OUT_OF_SERVICE\"}"), OK, 0, NULL },
    { B("{\"status\":\"up\"}"), OK, 0, NULL },
    { B("{\"status\":\"\xc3\x9cP\"}"), OK, 0, NULL },
    { B("{\"status\":\"\"}"), OK, 0, NULL },
    { B("{}"), NO, 0, "no status field" },
    { B("{\"Status\":\"UP\"}"), NO, 0, "no status field" },
    { B("{\"status\":1}"), NO, 0, "status is not a string" },
    { B("{\"status\":true}"), NO, 0, "status is not a string" },
    { B("{\"status\":{\"status\":\"UP\"}}"), NO, 0, "status is not a string" },
    { B("{\"status\":null}"), NO, 0, "status is not a string" },
    { B(""), NO, 0, "empty body" },
    { B("{\"status\":\"UP\""), NO, 0, "not JSON" },
    { B("{\"status\":\"UP\"}garbage"), NO, 0, "not JSON" },
    { B("{\"status\":\"UP\",\"status\":\"DOWN\"}"), NO, 0, "not JSON" },
    { B("{\"status\":\"\xff\xfe\"}"), NO, 0, "not JSON" },
    { B("{\"status\":\"U\\u0000P\"}"), NO, 0, "not JSON" },
    { B(HTML_401), NO, 0, "not JSON" },
    { B(GARBAGE), NO, 0, "not JSON" },
    { B("\"UP\""), NO, 0, "not JSON" },
    { B("[\"UP\"]"), NO, 0, "not a JSON object" },
    { B(NESTED), NO, 0, "not a JSON object" },
};

START_TEST(health_table)
{
    int up = -1;
    const char *err = NULL;
    apr_status_t rv = kyl_parse_health(health_cases[_i].body, health_cases[_i].len,
                                       &up, &err);

    ck_assert_msg(rv == health_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(up, health_cases[_i].up);
    }
    else {
        ck_assert_str_eq(err, health_cases[_i].err);
    }
}
END_TEST

/* A JSON object of exactly len bytes: {"status":"UP","pad":"xxx..."}. */
static char *padded_body(apr_size_t len)
{
    static const char head[] = "{\"status\":\"UP\",\"pad\":\"";
    char *b = apr_palloc(tp, len);

    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'x', len - sizeof(head) - 1);
    memcpy(b + len - 2, "\"}", 2);
    return b;
}

START_TEST(body_size_limit)
{
    int up = 0;
    const char *err = NULL;
    apr_table_t *props = NULL;

    ck_assert_int_eq(kyl_parse_health(padded_body(KYL_PARSE_MAX_BODY),
                                      KYL_PARSE_MAX_BODY, &up, &err), APR_SUCCESS);
    ck_assert_int_eq(up, 1);
    ck_assert_int_ne(kyl_parse_health(padded_body(KYL_PARSE_MAX_BODY + 1),
                                      KYL_PARSE_MAX_BODY + 1, &up, &err), APR_SUCCESS);
    ck_assert_str_eq(err, "body too large");
    ck_assert_int_ne(kyl_parse_config(tp, padded_body(300 * 1024), 300 * 1024, &props,
                                      &err), APR_SUCCESS);
    ck_assert_str_eq(err, "body too large");
    ck_assert_int_eq(kyl_parse_is_job_mode_refusal(400, padded_body(300 * 1024),
                                                   300 * 1024), 0);
    ck_assert_ptr_null(kyl_parse_cluster_error(padded_body(300 * 1024), 300 * 1024));
}
END_TEST

/* Parsers read only len bytes: a body without a terminating NUL. */
START_TEST(body_not_terminated)
{
    static const char text[] = "{\"kylin.version\":\"3.1.3\"}";
    char *b = malloc(sizeof(text) - 1), ver[16];
    kyl_gen_e gen = KYL_GEN_UNKNOWN;
    const char *err = NULL;

    memcpy(b, text, sizeof(text) - 1);
    ck_assert_int_eq(kyl_parse_version(b, sizeof(text) - 1, ver, sizeof(ver), &gen,
                                       &err), APR_SUCCESS);
    ck_assert_str_eq(ver, "3.1.3");
    ck_assert_int_eq(kyl_parse_version(b, sizeof(text) - 3, ver, sizeof(ver), &gen,
                                       &err), APR_EINVAL);
    ck_assert_str_eq(err, "not JSON");
    free(b);
    ck_assert_int_eq(kyl_parse_health(NULL, 10, NULL, &err), APR_EINVAL);
    ck_assert_str_eq(err, "empty body");
}
END_TEST

/* ---- version --------------------------------------------------------------- */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    kyl_gen_e gen;
    const char *ver;
    const char *err;
} version_cases[] = {
    { B("{\"kylin.version\":\"3.1.3\",\"kylin.version.commitId\":"
        "\"f4a8125133e4ad8b1aeb2b9d2e8d41d0b6f8d1a2\"}"), OK, KYL_GEN_3, "3.1.3", NULL },
    { B("{\"kylin.version\":\"3.0.0\",\"kylin.version.commitId\":\"x\"}"), OK, KYL_GEN_3,
      "3.0.0", NULL },
    { B("{\"kylin.version\":\"4.0.3\",\"kylin.version.commitId\":\"a50eda0429\"}"), OK,
      KYL_GEN_4, "4.0.3", NULL },
    { B("{\"kylin.version\":\"2.6.6\"}"), OK, KYL_GEN_2, "2.6.6", NULL },
    { B("{\"kylin.version\":\"5.0.0-beta\"}"), OK, KYL_GEN_5, "5.0.0-beta", NULL },
    { B("{\"kylin.version\":\"4\"}"), OK, KYL_GEN_4, "4", NULL },
    { B("{\"kylin.version\":\"v3.1.0\"}"), OK, KYL_GEN_3, "v3.1.0", NULL },
    { B("{\"kylin.version\":\"3.1.3\xc3\xa9\"}"), OK, KYL_GEN_3, "3.1.3??", NULL },
    { B("{\"kylin.version\":\"9.1\"}"), NO, 0, "9.1", "unexpected version 9.x" },
    { B("{\"kylin.version\":\"1.6.0\"}"), NO, 0, "1.6.0", "unexpected version 1.x" },
    { B("{\"kylin.version\":\"0.7\"}"), NO, 0, "0.7", "unexpected version 0.x" },
    { B("{\"kylin.version\":\"12.0\"}"), NO, 0, "12.0", "unexpected version" },
    { B("{\"kylin.version\":\"99999999\"}"), NO, 0, "99999999",
      "kylin.version is not a version number" },
    { B("{\"kylin.version\":\"abc\"}"), NO, 0, "abc",
      "kylin.version is not a version number" },
    { B("{\"kylin.version\":\"3x\"}"), NO, 0, "3x",
      "kylin.version is not a version number" },
    { B("{\"kylin.version\":\"\"}"), NO, 0, "", "kylin.version is not a version number" },
    { B("{\"kylin.version\":3.1}"), NO, 0, NULL, "kylin.version is not a string" },
    { B("{\"kylin.version\":3}"), NO, 0, NULL, "kylin.version is not a string" },
    { B("{\"kylin.version\":[\"3.1.3\"]}"), NO, 0, NULL, "kylin.version is not a string" },
    { B("{\"kylin\":{\"version\":\"3.1.3\"}}"), NO, 0, NULL, "no kylin.version" },
    { B("{\"code\":\"000\",\"data\":\"3.1.3\",\"msg\":\"\"}"), NO, 0, NULL,
      "no kylin.version" },
    { B("{\"kylin.version\":\"3.1.3\""), NO, 0, NULL, "not JSON" },
    { B(HTML_401), NO, 0, NULL, "not JSON" },
    { B(GARBAGE), NO, 0, NULL, "not JSON" },
    { B(""), NO, 0, NULL, "empty body" },
    { B("null"), NO, 0, NULL, "not JSON" },
};

START_TEST(version_table)
{
    char ver[32] = "untouched";
    kyl_gen_e gen = KYL_GEN_UNKNOWN;
    const char *err = NULL;
    apr_status_t rv = kyl_parse_version(version_cases[_i].body, version_cases[_i].len,
                                        ver, sizeof(ver), &gen, &err);

    ck_assert_msg(rv == version_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(gen, version_cases[_i].gen);
    }
    else {
        ck_assert_str_eq(err, version_cases[_i].err);
    }
    if (version_cases[_i].ver != NULL) {
        ck_assert_str_eq(ver, version_cases[_i].ver);
    }
}
END_TEST

START_TEST(version_truncated)
{
    char ver[4];
    kyl_gen_e gen = KYL_GEN_UNKNOWN;
    const char *err = NULL;

    ck_assert_int_eq(kyl_parse_version(B("{\"kylin.version\":\"4.0.3\"}"), ver,
                                       sizeof(ver), &gen, &err), APR_SUCCESS);
    ck_assert_str_eq(ver, "4.0");
    ck_assert_int_eq(gen, KYL_GEN_4);
    ck_assert_int_eq(kyl_parse_version(B("{\"kylin.version\":\"5.0.0\"}"), NULL, 0,
                                       &gen, &err), APR_SUCCESS);
    ck_assert_int_eq(gen, KYL_GEN_5);
}
END_TEST

/* ---- config (java.util.Properties) ---------------------------------------- */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    const char *key;        /* one key to look up, or NULL */
    const char *value;
    int nkeys;
    const char *err;
} config_cases[] = {
    { B("{\"config\":\"kylin.web.timezone=GMT+8\\nkylin.query.cache-enabled=true\\n"
        "kylin.env=QA\\nkylin.security.profile=testing\\n"
        "kylin.job.scheduler.default=100\\nkylin.server.mode=query\\n\"}"),
      OK, "kylin.server.mode", "query", 6, NULL },
    { B("{\"config\":\"kylin.server.mode=job\\r\\nkylin.server.cluster-servers="
        "n1:7070,n2:7070\\r\\n\"}"), OK, "kylin.server.cluster-servers",
      "n1:7070,n2:7070", 2, NULL },
    { B("{\"code\":\"000\",\"data\":\"kylin.env=PROD\\nkylin.server.mode=all\\n"
        "kylin.web.link-diagnostic=\\n\",\"msg\":\"\"}"), OK, "kylin.server.mode", "all",
      3, NULL },
    { B("{\"code\":\"000\",\"data\":\"\",\"msg\":\"\"}"), OK, NULL, NULL, 0, NULL },
    { B("{\"config\":\"\"}"), OK, NULL, NULL, 0, NULL },
    { B("{\"config\":\"kylin.web.help.0=start|Getting Started|"
        "http://kylin.apache.org/docs/tutorial/kylin_sample.html\"}"), OK,
      "kylin.web.help.0",
      "start|Getting Started|http://kylin.apache.org/docs/tutorial/kylin_sample.html",
      1, NULL },
    { B("{\"config\":\"k=\\u4e2d\\u6587\"}"), OK, "k", "\xe4\xb8\xad\xe6\x96\x87", 1,
      NULL },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"Access is denied\"}"), NO, NULL, NULL,
      0, "error answer" },
    { B("{\"config\":42}"), NO, NULL, NULL, 0, "config is not a string" },
    { B("{\"config\":null}"), NO, NULL, NULL, 0, "config is not a string" },
    { B("{\"code\":\"000\",\"data\":{\"kylin.server.mode\":\"all\"},\"msg\":\"\"}"), NO,
      NULL, NULL, 0, "config is not a string" },
    { B("{}"), NO, NULL, NULL, 0, "no config field" },
    { B("{\"userDetails\":{}}"), NO, NULL, NULL, 0, "no config field" },
    { B("{\"config\":\"a=1\""), NO, NULL, NULL, 0, "not JSON" },
    { B(HTML_401), NO, NULL, NULL, 0, "not JSON" },
    { B("\"a=1\""), NO, NULL, NULL, 0, "not JSON" },
    { B("[]"), NO, NULL, NULL, 0, "not a JSON object" },
    { B(""), NO, NULL, NULL, 0, "empty body" },
};

START_TEST(config_table)
{
    apr_table_t *props = NULL;
    const char *err = NULL;
    apr_status_t rv = kyl_parse_config(tp, config_cases[_i].body, config_cases[_i].len,
                                       &props, &err);

    ck_assert_msg(rv == config_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    if (rv != APR_SUCCESS) {
        ck_assert_str_eq(err, config_cases[_i].err);
        return;
    }
    ck_assert_int_eq(apr_table_elts(props)->nelts, config_cases[_i].nkeys);
    if (config_cases[_i].key != NULL) {
        const char *v = apr_table_get(props, config_cases[_i].key);
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v, config_cases[_i].value);
    }
}
END_TEST

/* Properties text -> pairs; the body is built with jansson so that the text
 * below is exactly what Kylin sends inside the JSON string. */
static const struct {
    const char *text;
    int nkeys;
    const char *kv[6];      /* key, value pairs to check */
} props_cases[] = {
    { "a=1\nb=2", 2, { "a", "1", "b", "2" } },
    { "a=1\r\nb=2\r\n", 2, { "a", "1", "b", "2" } },
    { "a=1\rb=2\r", 2, { "a", "1", "b", "2" } },
    { "# comment\n! another\na=1\n", 1, { "a", "1" } },
    { "   # indented comment\n\t! too\na=1", 1, { "a", "1" } },
    { "  a = 1  ", 1, { "a", "1  " } },
    { "a:1\nb 2\nc\t3\nd\f4", 4, { "a", "1", "b", "2", "d", "4" } },
    { "a = : 1\nb := 2", 2, { "a", ": 1", "b", "= 2" } },
    { "a\nb=\nc:", 3, { "a", "", "b", "", "c", "" } },
    { "key\\ with\\ spaces=v\\=w", 1, { "key with spaces", "v=w" } },
    { "a\\=b=c\na\\:b:c", 2, { "a=b", "c", "a:b", "c" } },
    { "a=one\\\n    two", 1, { "a", "onetwo" } },
    { "a=one\\\r\n  two\\\r  three\\\n\tfour", 1, { "a", "onetwothreefour" } },
    { "a=x\\\\\nb=y", 2, { "a", "x\\", "b", "y" } },
    { "a=x\\\\\\\nb=y", 1, { "a", "x\\b=y" } },
    { "a=\\t|\\n|\\r|\\f|\\\\|\\q", 1, { "a", "\t|\n|\r|\f|\\|q" } },
    { "a=\\u00e9\\u4E2D\\u0041", 1, { "a", "\xc3\xa9\xe4\xb8\xad" "A" } },
    { "a=\\uD83D\\uDE00!", 1, { "a", "\xf0\x9f\x98\x80!" } },
    { "a=\\uD800x\nb=\\uDC00", 2, { "a", "\xef\xbf\xbdx", "b", "\xef\xbf\xbd" } },
    { "a=\\u0000", 1, { "a", "\xef\xbf\xbd" } },
    { "a=\\uZZZZ\nb=\\u12", 2, { "a", "uZZZZ", "b", "u12" } },
    { "a=1\na=2\nA=3", 1, { "a", "3" } },
    { "=v\n:w", 1, { "", "w" } },
    { "#a=1\\\nb=2", 1, { "b", "2" } },
    { "a=1\\", 1, { "a", "1" } },
    { "a=x\\\n\nb=y", 2, { "a", "x", "b", "y" } },
    { "\\#notcomment=1\n\\!x=2", 2, { "#notcomment", "1", "!x", "2" } },
    { "", 0, { NULL } },
    { "\n\n   \n\t\r\n", 0, { NULL } },
    { "# only a comment", 0, { NULL } },
    { "k=\xe4\xb8\xad\xe6\x96\x87 value", 1, { "k", "\xe4\xb8\xad\xe6\x96\x87 value" } },
    { "kylin.metadata.url=kylin_metadata@jdbc,url=jdbc:mysql://db:3306/kylin", 1,
      { "kylin.metadata.url", "kylin_metadata@jdbc,url=jdbc:mysql://db:3306/kylin" } },
};

START_TEST(props_table)
{
    json_t *obj = json_pack("{s:s}", "config", props_cases[_i].text);
    char *body = json_dumps(obj, 0);
    apr_table_t *props = NULL;
    const char *err = NULL;
    int k;

    ck_assert_int_eq(kyl_parse_config(tp, body, strlen(body), &props, &err),
                     APR_SUCCESS);
    free(body);
    json_decref(obj);
    ck_assert_msg(apr_table_elts(props)->nelts == props_cases[_i].nkeys,
                  "case %d: %d keys", _i, apr_table_elts(props)->nelts);
    for (k = 0; k < 6 && props_cases[_i].kv[k] != NULL; k += 2) {
        const char *v = apr_table_get(props, props_cases[_i].kv[k]);
        ck_assert_msg(v != NULL, "case %d: no key '%s'", _i, props_cases[_i].kv[k]);
        ck_assert_str_eq(v, props_cases[_i].kv[k + 1]);
    }
}
END_TEST

/* ---- booleans ---------------------------------------------------------------- */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    int val;
    const char *err;
} bool_cases[] = {
    { B("true"), OK, 1, NULL },
    { B("false"), OK, 0, NULL },
    { B("  true\r\n"), OK, 1, NULL },
    { B("\tfalse "), OK, 0, NULL },
    { B("\"true\""), OK, 1, NULL },
    { B("\"false\""), OK, 0, NULL },
    { B("\"TRUE\""), OK, 1, NULL },
    { B("{\"code\":\"000\",\"data\":true,\"msg\":\"\"}"), OK, 1, NULL },
    { B("{\"code\":\"000\",\"data\":false,\"msg\":\"\"}"), OK, 0, NULL },
    { B("{\"data\":\"true\"}"), OK, 1, NULL },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"Access is denied\"}"), NO, 0,
      "error answer" },
    { B(ERR_NOT_CURATOR), NO, 0, "error answer" },
    { B("{\"code\":\"000\",\"msg\":\"\"}"), NO, 0, "no data field" },
    { B("{\"code\":\"000\",\"data\":null,\"msg\":\"\"}"), NO, 0, "not a boolean" },
    { B("{\"code\":\"000\",\"data\":1,\"msg\":\"\"}"), NO, 0, "not a boolean" },
    { B("1"), NO, 0, "not a boolean" },
    { B("0"), NO, 0, "not a boolean" },
    { B("null"), NO, 0, "not a boolean" },
    { B("\"yes\""), NO, 0, "not a boolean" },
    { B("\" true\""), NO, 0, "not a boolean" },
    { B("[true]"), NO, 0, "not a boolean" },
    { B("true false"), NO, 0, "not JSON" },
    { B("tru"), NO, 0, "not JSON" },
    { B("True"), NO, 0, "not JSON" },
    { B("true\x00"), NO, 0, "not JSON" },
    { B(HTML_401), NO, 0, "not JSON" },
    { B(GARBAGE), NO, 0, "not JSON" },
    { B(""), NO, 0, "empty body" },
    { B("   "), NO, 0, "not JSON" },
};

START_TEST(bool_table)
{
    int val = -1;
    const char *err = NULL;
    apr_status_t rv = kyl_parse_bool(bool_cases[_i].body, bool_cases[_i].len, &val,
                                     &err);

    ck_assert_msg(rv == bool_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(val, bool_cases[_i].val);
    }
    else {
        ck_assert_str_eq(err, bool_cases[_i].err);
    }
}
END_TEST

static const struct {
    const char *body;
    apr_size_t len;
    int yes;
} curator_cases[] = {
    { B(ERR_NOT_CURATOR), 1 },
    { B("{\"code\":\"999\",\"msg\":null,\"exception\":\"Only meaningful when scheduler "
        "is CuratorScheduler, try set kylin.job.scheduler.default to 100\"}"), 1 },
    { B("{\"code\":\"999\",\"msg\":\"Access is denied\"}"), 0 },
    { B("true"), 0 },
    { B("{\"msg\":42}"), 0 },
    { B("<html>Only meaningful when scheduler is CuratorScheduler</html>"), 0 },
    { B(""), 0 },
    { B(GARBAGE), 0 },
};

START_TEST(curator_table)
{
    ck_assert_int_eq(kyl_parse_is_not_curator(curator_cases[_i].body,
                                              curator_cases[_i].len),
                     curator_cases[_i].yes);
}
END_TEST

/* ---- servers ------------------------------------------------------------------ */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    int maintenance;
    int n;
    const char *host0;
    kyl_mode_e mode0;
    const char *host_last;
    kyl_mode_e mode_last;
    const char *err;
} servers_cases[] = {
    { B("{\"code\":\"000\",\"data\":{\"status\":{\"maintenance_mode\":false,"
        "\"maintenance_mode_reason\":null},\"servers\":[{\"host\":\"kylin-a:7070\","
        "\"mode\":\"all\",\"secretName\":\"s1\"},{\"host\":\"kylin-q1:7070\","
        "\"mode\":\"query\",\"secretName\":\"s2\"}]},\"msg\":\"\"}"),
      OK, 0, 2, "kylin-a:7070", KYL_MODE_ALL, "kylin-q1:7070", KYL_MODE_QUERY, NULL },
    { B("{\"code\":\"000\",\"data\":{\"status\":{\"maintenance_mode\":true,"
        "\"maintenance_mode_reason\":\"upgrade\"},\"servers\":[{\"host\":\"kylin-j1:7070\","
        "\"mode\":\"job\"}]},\"msg\":\"\"}"),
      OK, 1, 1, "kylin-j1:7070", KYL_MODE_JOB, "kylin-j1:7070", KYL_MODE_JOB, NULL },
    { B("{\"code\":\"000\",\"data\":{\"status\":{\"maintenance_mode\":false,"
        "\"maintenance_mode_reason\":null},\"servers\":[\"kylin-a:7070\","
        "\"kylin-q1:7070\"]},\"msg\":\"\"}"),
      OK, 0, 2, "kylin-a:7070", KYL_MODE_UNKNOWN, "kylin-q1:7070", KYL_MODE_UNKNOWN,
      NULL },
    { B("{\"code\":\"000\",\"data\":[{\"host\":\"kylin-a:7070\",\"mode\":\"all\"},"
        "{\"host\":\"kylin-j1:7070\",\"mode\":\"job\"}],\"msg\":\"\"}"),
      OK, 0, 2, "kylin-a:7070", KYL_MODE_ALL, "kylin-j1:7070", KYL_MODE_JOB, NULL },
    { B("{\"code\":\"000\",\"data\":[\"10.1.2.3:7070\"],\"msg\":\"\"}"),
      OK, 0, 1, "10.1.2.3:7070", KYL_MODE_UNKNOWN, "10.1.2.3:7070", KYL_MODE_UNKNOWN,
      NULL },
    { B("{\"code\":\"000\",\"data\":{\"servers\":[]},\"msg\":\"\"}"),
      OK, 0, 0, NULL, 0, NULL, 0, NULL },
    { B("{\"code\":\"000\",\"data\":[],\"msg\":\"\"}"), OK, 0, 0, NULL, 0, NULL, 0, NULL },
    { B("{\"data\":{\"servers\":[{\"host\":\"a:1\",\"mode\":\"QUERY\"},"
        "{\"host\":\"b:2\",\"mode\":\"job,query\"}]}}"),
      OK, 0, 2, "a:1", KYL_MODE_QUERY, "b:2", KYL_MODE_ALL, NULL },
    /* malformed entries are skipped */
    { B("{\"code\":\"000\",\"data\":{\"servers\":[{\"host\":\"a:1\",\"mode\":\"query\"},"
        "42,{\"mode\":\"all\"},{\"host\":\"\"},{\"host\":7070},\"b:2\",null,[],"
        "{\"host\":\"c:3\",\"mode\":\"stream_coordinator\"},{\"host\":\"bad host\"},"
        "{\"host\":\"h\xc3\xa9:1\"},{\"host\":\"d:4\",\"mode\":5}]},\"msg\":\"\"}"),
      OK, 0, 4, "a:1", KYL_MODE_QUERY, "d:4", KYL_MODE_UNKNOWN, NULL },
    { B("{\"code\":\"000\",\"data\":{\"status\":{\"maintenance_mode\":\"true\"},"
        "\"servers\":[]}}"), OK, 0, 0, NULL, 0, NULL, 0, NULL },
    { B("{\"code\":\"000\",\"data\":{\"status\":[],\"servers\":[\"a:1\"]}}"),
      OK, 0, 1, "a:1", KYL_MODE_UNKNOWN, "a:1", KYL_MODE_UNKNOWN, NULL },
    /* errors */
    { B("{\"code\":\"000\",\"data\":{\"servers\":[1,2,{\"host\":null}]},\"msg\":\"\"}"),
      NO, 0, 0, NULL, 0, NULL, 0, "no valid server entry" },
    { B("{\"code\":\"000\",\"data\":{\"servers\":{\"host\":\"a:1\"}},\"msg\":\"\"}"),
      NO, 0, 0, NULL, 0, NULL, 0, "no servers list" },
    { B("{\"code\":\"000\",\"data\":{\"allNodes\":[\"n1:7070\"],\"jobNodes\":[],"
        "\"queryNodes\":[],\"selectedLeaders\":[],\"activeJobNodes\":[]},"
        "\"msg\":\"get service discovery's state\"}"),
      NO, 0, 0, NULL, 0, NULL, 0, "no servers list" },
    { B("{\"code\":\"000\",\"data\":null,\"msg\":\"\"}"), NO, 0, 0, NULL, 0, NULL, 0,
      "no servers list" },
    { B("{\"code\":\"000\",\"data\":\"kylin-a:7070\",\"msg\":\"\"}"), NO, 0, 0, NULL, 0,
      NULL, 0, "no servers list" },
    { B("{\"code\":\"000\",\"msg\":\"\"}"), NO, 0, 0, NULL, 0, NULL, 0, "no data field" },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"Can't find authentication "
        "information.\",\"error_code\":\"KE-010003209\"}"),
      NO, 0, 0, NULL, 0, NULL, 0, "error answer" },
    { B(HTML_401), NO, 0, 0, NULL, 0, NULL, 0, "not JSON" },
    { B(NESTED), NO, 0, 0, NULL, 0, NULL, 0, "not a JSON object" },
    { B("{\"code\":\"000\",\"data\":{\"servers\":[\"a:1\""), NO, 0, 0, NULL, 0, NULL, 0,
      "not JSON" },
    { B(""), NO, 0, 0, NULL, 0, NULL, 0, "empty body" },
};

START_TEST(servers_table)
{
    apr_array_header_t *list = NULL;
    int mm = -1;
    const char *err = NULL;
    apr_status_t rv = kyl_parse_servers(tp, servers_cases[_i].body,
                                        servers_cases[_i].len, &list, &mm, &err);
    const kyl_server_t *s;

    ck_assert_msg(rv == servers_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    if (rv != APR_SUCCESS) {
        ck_assert_str_eq(err, servers_cases[_i].err);
        ck_assert_int_eq(mm, 0);
        return;
    }
    ck_assert_int_eq(mm, servers_cases[_i].maintenance);
    ck_assert_int_eq(list->nelts, servers_cases[_i].n);
    if (list->nelts > 0) {
        s = &APR_ARRAY_IDX(list, 0, kyl_server_t);
        ck_assert_str_eq(s->host, servers_cases[_i].host0);
        ck_assert_int_eq(s->mode, servers_cases[_i].mode0);
        s = &APR_ARRAY_IDX(list, list->nelts - 1, kyl_server_t);
        ck_assert_str_eq(s->host, servers_cases[_i].host_last);
        ck_assert_int_eq(s->mode, servers_cases[_i].mode_last);
    }
}
END_TEST

/* ---- error answers ------------------------------------------------------------ */

static const struct {
    const char *body;
    apr_size_t len;
    apr_status_t rv;
    const char *code;
    const char *msg;
} error_cases[] = {
    { B(ERR_JOB_MODE_4), OK, NULL, "Query is not allowed in 'job' mode." },
    { B(ERR_NO_LEADER), OK, "KE-010021004", "There is no active leader node." },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"Can't find authentication "
        "information.\",\"stacktrace\":\"...\",\"exception\":\"...\",\"url\":"
        "\"http://n1:7070/kylin/api/user/authentication\",\"suggestion\":null,"
        "\"error_code\":\"KE-010003209\"}"),
      OK, "KE-010003209", "Can't find authentication information." },
    { B("{\"code\":\"999\",\"msg\":null,\"exception\":\"java.lang.NullPointerException\"}"),
      OK, NULL, "java.lang.NullPointerException" },
    { B("{\"code\":\"999\",\"msg\":\"\",\"exception\":\"boom\"}"), OK, NULL, "boom" },
    { B("{\"code\":\"999\",\"msg\":12,\"error_code\":34}"), OK, NULL, NULL },
    { B("{\"error_code\":\"KE-040024201\"}"), OK, "KE-040024201", NULL },
    { B("{\"msg\":\"\xe4\xb8\xad\xe6\x96\x87\"}"), OK, NULL, "\xe4\xb8\xad\xe6\x96\x87" },
    { B("{\"code\":\"000\",\"data\":[],\"msg\":\"\"}"), OK, NULL, "" },
    { B("{\"foo\":1}"), NO, NULL, NULL },
    { B("{\"error_code\":12345,\"msg\":[\"x\"]}"), NO, NULL, NULL },
    { B("[{\"code\":\"999\"}]"), NO, NULL, NULL },
    { B("\"Internal Server Error\""), NO, NULL, NULL },
    { B(HTML_401), NO, NULL, NULL },
    { B(GARBAGE), NO, NULL, NULL },
    { B(""), NO, NULL, NULL },
};

START_TEST(error_table)
{
    const char *code = "x", *msg = "x";
    apr_status_t rv = kyl_parse_error(tp, error_cases[_i].body, error_cases[_i].len,
                                      &code, &msg);

    ck_assert_msg(rv == error_cases[_i].rv, "case %d: rv %d", _i, rv);
    if (error_cases[_i].code != NULL) {
        ck_assert_str_eq(code, error_cases[_i].code);
    }
    else {
        ck_assert_ptr_null(code);
    }
    if (error_cases[_i].msg != NULL) {
        ck_assert_str_eq(msg, error_cases[_i].msg);
    }
    else {
        ck_assert_ptr_null(msg);
    }
}
END_TEST

/* Messages are cut to 1 KiB without splitting a UTF-8 sequence; the copy
 * outlives the body. */
START_TEST(error_long_msg)
{
    apr_size_t n = 400 * 3 + 32, i;
    char *body = malloc(n), *o = body;
    const char *code = NULL, *msg = NULL;

    o += sprintf(o, "{\"code\":\"999\",\"msg\":\"");
    for (i = 0; i < 400; i++, o += 3) {
        memcpy(o, "\xe2\x82\xac", 3);
    }
    o += sprintf(o, "\"}");
    ck_assert_int_eq(kyl_parse_error(tp, body, (apr_size_t)(o - body), &code, &msg),
                     APR_SUCCESS);
    memset(body, 0, n);
    free(body);
    ck_assert_uint_eq(strlen(msg), 1023);
    ck_assert_int_eq(memcmp(msg + 1020, "\xe2\x82\xac", 3), 0);
    ck_assert_int_eq(kyl_parse_error(tp, B(ERR_NO_LEADER), NULL, NULL), APR_SUCCESS);
}
END_TEST

/* ---- passive learning ------------------------------------------------------------ */

static const struct {
    int status;
    const char *body;
    apr_size_t len;
    int yes;
} refusal_cases[] = {
    { 400, B(ERR_JOB_MODE_4), 1 },                  /* 2.1-4.x */
    { 500, B(ERR_JOB_MODE_4), 1 },                  /* 2.0 */
    { 500, B(ERR_JOB_MODE_5), 1 },                  /* 5.x */
    { 400, B("{\"code\":\"999\",\"msg\":null,\"exception\":\"org.apache.kylin.rest."
             "exception.BadRequestException: Query is not allowed in 'job' mode.\"}"), 1 },
    { 400, B(ERR_JOB_MODE_5), 0 },
    { 200, B(ERR_JOB_MODE_4), 0 },
    { 403, B(ERR_JOB_MODE_4), 0 },
    { 400, B(ERR_SYNTAX), 0 },
    { 500, B(ERR_SYNTAX), 0 },
    { 500, B(ERR_NO_LEADER), 0 },
    { 500, B("{\"error_code\":\"KE-040023202x\"}"), 0 },
    { 500, B("{\"error_code\":[\"KE-040023202\"]}"), 0 },
    { 400, B("{\"msg\":\"Query is not allowed in 'JOB' mode.\"}"), 0 },
    { 500, B("<html><body>Query is not allowed in 'job' mode.</body></html>"), 0 },
    { 500, B("{\"code\":\"999\",\"msg\":\"not allowed in 'job' mode\"}"), 1 },
    { 500, B(""), 0 },
    { 500, B(GARBAGE), 0 },
    { 500, B(NESTED), 0 },
};

START_TEST(refusal_table)
{
    ck_assert_msg(kyl_parse_is_job_mode_refusal(refusal_cases[_i].status,
                                                refusal_cases[_i].body,
                                                refusal_cases[_i].len)
                  == refusal_cases[_i].yes, "case %d", _i);
}
END_TEST

static const struct {
    const char *body;
    apr_size_t len;
    const char *code;
} cluster_cases[] = {
    { B(ERR_NO_LEADER), "KE-010021004" },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"The system is recovering.\","
        "\"error_code\":\"KE-010021002\"}"), "KE-010021002" },
    { B("{\"code\":\"999\",\"data\":null,\"msg\":\"System is in maintenance mode.\","
        "\"error_code\":\"KE-040024201\"}"), "KE-040024201" },
    { B(ERR_JOB_MODE_5), NULL },
    { B(ERR_JOB_MODE_4), NULL },
    { B("{\"error_code\":40024201}"), NULL },
    { B("{\"msg\":\"KE-010021004\"}"), NULL },
    { B("\"KE-010021004\""), NULL },
    { B(HTML_401), NULL },
    { B(""), NULL },
};

START_TEST(cluster_table)
{
    const char *code = kyl_parse_cluster_error(cluster_cases[_i].body,
                                               cluster_cases[_i].len);

    if (cluster_cases[_i].code == NULL) {
        ck_assert_ptr_null(code);
    }
    else {
        ck_assert_ptr_nonnull(code);
        ck_assert_str_eq(code, cluster_cases[_i].code);
    }
}
END_TEST

static Suite *parse_suite(void)
{
    Suite *s = suite_create("kyl_parse");
    TCase *tc = kyl_tcase("parse");

    tcase_add_loop_test(tc, health_table, 0, KYL_ARRAY_LEN(health_cases));
    tcase_add_test(tc, body_size_limit);
    tcase_add_test(tc, body_not_terminated);
    tcase_add_loop_test(tc, version_table, 0, KYL_ARRAY_LEN(version_cases));
    tcase_add_test(tc, version_truncated);
    tcase_add_loop_test(tc, config_table, 0, KYL_ARRAY_LEN(config_cases));
    tcase_add_loop_test(tc, props_table, 0, KYL_ARRAY_LEN(props_cases));
    tcase_add_loop_test(tc, bool_table, 0, KYL_ARRAY_LEN(bool_cases));
    tcase_add_loop_test(tc, curator_table, 0, KYL_ARRAY_LEN(curator_cases));
    tcase_add_loop_test(tc, servers_table, 0, KYL_ARRAY_LEN(servers_cases));
    tcase_add_loop_test(tc, error_table, 0, KYL_ARRAY_LEN(error_cases));
    tcase_add_test(tc, error_long_msg);
    tcase_add_loop_test(tc, refusal_table, 0, KYL_ARRAY_LEN(refusal_cases));
    tcase_add_loop_test(tc, cluster_table, 0, KYL_ARRAY_LEN(cluster_cases));
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(parse_suite)
