/* libFuzzer target: kyl_http_parse_answer on arbitrary bytes.
 *
 * The answer is copied into a buffer of exactly its length (no NUL after
 * it) so that ASan catches any read past len.  Checks what the prober
 * relies on: a failure names a reason and leaves no answer behind; a
 * success has a status of three digits, a NUL-terminated body no longer
 * than the input, and the same result when parsed again (deterministic). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "kyl_http.h"
#include "fuzz_apr.h"

static size_t walk_headers(const apr_table_t *h)
{
    const apr_array_header_t *elts = apr_table_elts(h);
    size_t total = 0;
    int i;

    for (i = 0; i < elts->nelts; i++) {
        const apr_table_entry_t *e = &APR_ARRAY_IDX(elts, i, apr_table_entry_t);

        if (e->key == NULL || e->val == NULL || *e->key == '\0') {
            abort();
        }
        total += strlen(e->key) + strlen(e->val);
    }
    return total;
}

static void check(const char *buf, size_t size)
{
    kyl_http_answer_t ans, again;
    const char *err = NULL, *err2 = NULL;
    apr_status_t rv = kyl_http_parse_answer(fuzz_pool, buf, size, &ans, &err);

    if (rv != APR_SUCCESS) {
        if (err == NULL || *err == '\0' || ans.status != 0 || ans.body != NULL) {
            abort();
        }
        return;
    }
    if (ans.status < 100 || ans.status > 999 || ans.headers == NULL
        || ans.body == NULL || ans.len > size || ans.body[ans.len] != '\0') {
        abort();
    }
    (void)walk_headers(ans.headers);
    if (kyl_http_parse_answer(fuzz_pool, buf, size, &again, &err2) != APR_SUCCESS
        || again.status != ans.status || again.len != ans.len
        || memcmp(again.body, ans.body, ans.len) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);

    if (buf == NULL) {
        return 0;
    }
    if (size) {
        memcpy(buf, data, size);
    }
    check(buf, size);
    free(buf);          /* the answer must not point into buf */
    apr_pool_clear(fuzz_pool);
    return 0;
}
