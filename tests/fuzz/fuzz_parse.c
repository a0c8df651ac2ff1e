/* libFuzzer target: every parser of kyl_parse.h on the same arbitrary body.
 *
 * The body is copied into a buffer of exactly its length (no NUL after it)
 * so that ASan catches any read past len; one APR pool is created once and
 * cleared after every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "kyl_parse.h"
#include "fuzz_apr.h"

static void check_err(apr_status_t rv, const char *err)
{
    if (rv != APR_SUCCESS && (err == NULL || *err == '\0')) {
        abort();                        /* every failure names a reason */
    }
}

static void run_scalars(const char *b, size_t n)
{
    char ver[16];
    int up, val;
    kyl_gen_e gen;
    const char *err = NULL;
    apr_status_t rv;

    rv = kyl_parse_health(b, n, &up, &err);
    check_err(rv, err);
    err = NULL;
    rv = kyl_parse_version(b, n, ver, sizeof(ver), &gen, &err);
    check_err(rv, err);
    err = NULL;
    rv = kyl_parse_bool(b, n, &val, &err);
    check_err(rv, err);
    (void)kyl_parse_is_not_curator(b, n);
    (void)kyl_parse_is_job_mode_refusal(400, b, n);
    (void)kyl_parse_is_job_mode_refusal(500, b, n);
    (void)kyl_parse_cluster_error(b, n);
}

/* Pool-allocated results, read only after the body has been overwritten. */
typedef struct {
    apr_table_t *props;
    apr_array_header_t *servers;
    const char *code, *msg;
} results_t;

static void run_pooled(const char *b, size_t n, results_t *r)
{
    const char *err = NULL;
    apr_status_t rv;
    int mm;

    memset(r, 0, sizeof(*r));
    rv = kyl_parse_config(fuzz_pool, b, n, &r->props, &err);
    check_err(rv, err);
    err = NULL;
    if (kyl_parse_servers(fuzz_pool, b, n, &r->servers, &mm, &err)
        != APR_SUCCESS) {
        check_err(APR_EINVAL, err);
        r->servers = NULL;
    }
    if (kyl_parse_error(fuzz_pool, b, n, &r->code, &r->msg) != APR_SUCCESS
        && (r->code != NULL || r->msg != NULL)) {
        abort();
    }
}

static size_t walk(const results_t *r)
{
    size_t total = 0;
    int i;

    if (r->props != NULL) {
        const apr_array_header_t *elts = apr_table_elts(r->props);
        for (i = 0; i < elts->nelts; i++) {
            const apr_table_entry_t *e = &APR_ARRAY_IDX(elts, i, apr_table_entry_t);
            total += strlen(e->key) + strlen(e->val);
        }
    }
    for (i = 0; r->servers != NULL && i < r->servers->nelts; i++) {
        total += strlen(APR_ARRAY_IDX(r->servers, i, kyl_server_t).host);
    }
    total += r->code ? strlen(r->code) : 0;
    total += r->msg ? strlen(r->msg) : 0;
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    results_t r;

    if (body == NULL) {
        return 0;
    }
    if (size) {
        memcpy(body, data, size);
    }
    run_scalars(body, size);
    run_pooled(body, size, &r);
    free(body);                 /* results must not point into the body */
    (void)walk(&r);
    apr_pool_clear(fuzz_pool);
    return 0;
}
