/* Parsers for the answers of Kylin's REST API that the prober and the passive
 * learner read (kylin-rest.md sections 4.1, 8, 10).  Inputs are untrusted
 * bytes of a given length (not NUL-terminated); every parser is total: it
 * returns APR_SUCCESS or an error with *err set to a short, static,
 * human-readable reason suitable for the status page ("not JSON",
 * "no kylin.version", ...).  No parser keeps pointers into body. */
#ifndef KYL_PARSE_H
#define KYL_PARSE_H

#include "kyl_core.h"
#include <apr_tables.h>

#define KYL_PARSE_MAX_BODY (256 * 1024)   /* larger bodies are refused */

/* 5.x actuator GET /kylin/api/health: {"status":"UP", ...}.
 * *up = 1 for "UP", 0 for "DOWN"/"OUT_OF_SERVICE"/other strings. */
apr_status_t kyl_parse_health(const char *body, apr_size_t len, int *up,
                              const char **err);

/* 3.x/4.x GET /kylin/api/admin/version: {"kylin.version":"3.1.3", ...}.
 * Copies the version into ver (truncated to verlen-1) and derives *gen from
 * its major number (2, 3, 4, 5; anything else is an error). */
apr_status_t kyl_parse_version(const char *body, apr_size_t len, char *ver,
                               apr_size_t verlen, kyl_gen_e *gen,
                               const char **err);

/* public_config / admin/config: 2.x-4.x {"config":"k=v\nk=v"} or 5.x
 * envelope {"code":"000","data":"k=v\n...","msg":""}.  The properties text
 * is parsed as java.util.Properties (comments, '=' ':' or blank separators,
 * backslash escapes and continuations); *props receives every key. */
apr_status_t kyl_parse_config(apr_pool_t *p, const char *body, apr_size_t len,
                              apr_table_t **props, const char **err);

/* A JSON boolean answer: 3.x/4.x is_active_job_node answers a bare `true`
 * or `false` (whitespace allowed; the strings "true"/"false" too); 5.x
 * envelopes {"code":"000","data":true} are accepted as well. */
apr_status_t kyl_parse_bool(const char *body, apr_size_t len, int *val,
                            const char **err);

/* is_active_job_node's HTTP 500 when the scheduler is not Curator
 * ("Only meaningful when scheduler is CuratorScheduler"): returns 1. */
int kyl_parse_is_not_curator(const char *body, apr_size_t len);

typedef struct {
    const char *host;       /* "hostname:port" as Kylin registered it */
    kyl_mode_e mode;
} kyl_server_t;

/* 5.x GET /kylin/api/system/servers?ext=true (or query/servers?ext=true):
 * envelope with data.servers[] of {host, mode} (or data itself a list);
 * *servers is an array of kyl_server_t; *maintenance is 1 when
 * data.status.maintenance_mode is true, 0 when false or absent. */
apr_status_t kyl_parse_servers(apr_pool_t *p, const char *body, apr_size_t len,
                               apr_array_header_t **servers, int *maintenance,
                               const char **err);

/* Kylin error answers: 5.x ErrorResponse {"code":"999","msg":...,
 * "error_code":"KE-..."} and 2.x-4.x {"code":"999","msg":...,"exception":...}.
 * Either out pointer may receive NULL when absent; strings are copied into
 * p.  Returns APR_EINVAL when the body is not such an object. */
apr_status_t kyl_parse_error(apr_pool_t *p, const char *body, apr_size_t len,
                             const char **error_code, const char **msg);

/* Passive learning (kylin-rest.md s. 8.6): 1 when (status, body) is a
 * query refused because the node runs in job mode: 2.1-4.x HTTP 400 (2.0:
 * 500) with "Query is not allowed in 'job' mode."; 5.x HTTP 500 with
 * error_code KE-040023202. */
int kyl_parse_is_job_mode_refusal(int status, const char *body, apr_size_t len);

/* 5.x cluster-state errors worth showing on the status page: returns the
 * error code ("KE-010021004" no active leader, "KE-010021002" recovering,
 * "KE-040024201" maintenance mode) or NULL. */
const char *kyl_parse_cluster_error(const char *body, apr_size_t len);

#endif
