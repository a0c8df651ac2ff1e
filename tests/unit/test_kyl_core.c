/* Unit tests: kyl_core.c (names, mode parser) and kyl_duration.c. */
#include <string.h>
#include "kyl_test.h"
#include "kyl_core.h"
#include "kyl_duration.h"

static const struct {
    const char *in;
    apr_status_t rv;
    kyl_mode_e mode;
} mode_cases[] = {
    { "all", APR_SUCCESS, KYL_MODE_ALL },
    { "job", APR_SUCCESS, KYL_MODE_JOB },
    { "query", APR_SUCCESS, KYL_MODE_QUERY },
    { "QUERY", APR_SUCCESS, KYL_MODE_QUERY },
    { " job ", APR_SUCCESS, KYL_MODE_JOB },
    { "job,query", APR_SUCCESS, KYL_MODE_ALL },
    { "query,stream_coordinator", APR_SUCCESS, KYL_MODE_QUERY },
    { "all,job", APR_SUCCESS, KYL_MODE_ALL },
    { "", APR_EINVAL, KYL_MODE_UNKNOWN },
    { ",,,", APR_EINVAL, KYL_MODE_UNKNOWN },
    { "stream_coordinator", APR_EINVAL, KYL_MODE_UNKNOWN },
    { "queryx", APR_EINVAL, KYL_MODE_UNKNOWN },
    { "j\xc3\xb6" "b", APR_EINVAL, KYL_MODE_UNKNOWN },
};

START_TEST(mode_parse_table)
{
    kyl_mode_e m = KYL_MODE_UNKNOWN;
    apr_status_t rv = kyl_mode_parse(mode_cases[_i].in, &m);

    ck_assert_int_eq(rv, mode_cases[_i].rv);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(m, mode_cases[_i].mode);
    }
}
END_TEST

START_TEST(mode_parse_null)
{
    kyl_mode_e m;
    ck_assert_int_eq(kyl_mode_parse(NULL, &m), APR_EINVAL);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(kyl_mode_name(KYL_MODE_QUERY), "query");
    ck_assert_str_eq(kyl_mode_name(KYL_MODE_UNKNOWN), "unknown");
    ck_assert_str_eq(kyl_gen_name(KYL_GEN_5), "5.x");
    ck_assert_str_eq(kyl_class_name(KYL_CLASS_WRITE), "metadata-write");
    ck_assert_str_eq(kyl_class_name((kyl_class_e)99), "unknown");
    ck_assert_str_eq(kyl_leader_name(KYL_LEADER_NA), "n/a");
}
END_TEST

static const struct {
    const char *in;
    apr_status_t rv;
    apr_interval_time_t usec;
} dur_cases[] = {
    { "5", APR_SUCCESS, 5 * APR_USEC_PER_SEC },
    { "5s", APR_SUCCESS, 5 * APR_USEC_PER_SEC },
    { "500ms", APR_SUCCESS, 500 * 1000 },
    { "2m", APR_SUCCESS, 120 * APR_USEC_PER_SEC },
    { "1h", APR_SUCCESS, 3600 * APR_USEC_PER_SEC },
    { "0", APR_SUCCESS, 0 },
    { "30MS", APR_SUCCESS, 30 * 1000 },
    { "", APR_EINVAL, 0 },
    { "s", APR_EINVAL, 0 },
    { "-5s", APR_EINVAL, 0 },
    { "+5", APR_EINVAL, 0 },
    { "1.5s", APR_EINVAL, 0 },
    { "5 s", APR_EINVAL, 0 },
    { "5sec", APR_EINVAL, 0 },
    { "5d", APR_EINVAL, 0 },
    { "9999999999999s", APR_EINVAL, 0 },
    { "abc", APR_EINVAL, 0 },
};

START_TEST(duration_table)
{
    apr_interval_time_t d = -1;
    apr_status_t rv = kyl_duration_parse(dur_cases[_i].in, &d);

    ck_assert_msg(rv == dur_cases[_i].rv, "input '%s'", dur_cases[_i].in);
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(d, dur_cases[_i].usec);
    }
}
END_TEST

START_TEST(duration_format)
{
    char buf[24];
    ck_assert_str_eq(kyl_duration_format(500000, buf, sizeof(buf)), "500ms");
    ck_assert_str_eq(kyl_duration_format(5 * APR_USEC_PER_SEC, buf, sizeof(buf)), "5s");
    ck_assert_str_eq(kyl_duration_format(120 * APR_USEC_PER_SEC, buf, sizeof(buf)), "2m");
    ck_assert_str_eq(kyl_duration_format(7200 * APR_USEC_PER_SEC, buf, sizeof(buf)), "2h");
    ck_assert_str_eq(kyl_duration_format(0, buf, sizeof(buf)), "0s");
}
END_TEST

START_TEST(hash32_fnv1a)
{
    /* published FNV-1a 32-bit test values */
    ck_assert_uint_eq(kyl_hash32(""), 0x811c9dc5u);
    ck_assert_uint_eq(kyl_hash32("a"), 0xe40c292cu);
    ck_assert_uint_eq(kyl_hash32("foobar"), 0xbf9cf968u);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("kyl_core");
    TCase *tc = kyl_tcase("core");

    tcase_add_loop_test(tc, mode_parse_table, 0, KYL_ARRAY_LEN(mode_cases));
    tcase_add_test(tc, mode_parse_null);
    tcase_add_test(tc, names);
    tcase_add_loop_test(tc, duration_table, 0, KYL_ARRAY_LEN(dur_cases));
    tcase_add_test(tc, duration_format);
    tcase_add_test(tc, hash32_fnv1a);
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(core_suite)
