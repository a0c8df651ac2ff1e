/* Shared scaffolding for the Check unit tests: one binary per core file. */
#ifndef KYL_TEST_H
#define KYL_TEST_H

#include <check.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>

#define KYL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A pool per test, destroyed by the fixture. */
static apr_pool_t *tp;

static void kyl_test_setup(void)
{
    apr_pool_create(&tp, NULL);
}

static void kyl_test_teardown(void)
{
    apr_pool_destroy(tp);
}

static TCase *kyl_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, kyl_test_setup, kyl_test_teardown);
    return tc;
}

#define KYL_TEST_MAIN(suite_fn)                                  \
    int main(void)                                               \
    {                                                            \
        int failed;                                              \
        SRunner *sr;                                             \
        apr_initialize();                                        \
        atexit(apr_terminate);                                   \
        sr = srunner_create(suite_fn());                         \
        srunner_run_all(sr, CK_NORMAL);                          \
        failed = srunner_ntests_failed(sr);                      \
        srunner_free(sr);                                        \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;             \
    }

#endif
