/* Unit tests: kyl_lcache.c (per-process TTL cache of session records). */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "kyl_test.h"
#include "kyl_lcache.h"
#include "kyl_crypto.h"

START_TEST(hit_miss_expiry)
{
    kyl_lcache_t *c;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t tag;

    ck_assert_int_eq(kyl_lcache_create(&c, tp, 16), APR_SUCCESS);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "k", 100, &v, &len, &tag), 0);
    kyl_lcache_put(c, "k", "value", 5, 42, 200);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "k", 100, &v, &len, &tag), 1);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(v, "value", 5), 0);
    ck_assert_uint_eq(tag, 42);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "k", 200, &v, &len, &tag), 0); /* expired */
    ck_assert_int_eq(kyl_lcache_get(c, tp, "other", 100, &v, &len, &tag), 0);
}
END_TEST

/* Slots are chosen from the keys' first bytes: 1,000 random session ids,
 * bare (the session cache) or after one fixed 8-character key id (the key
 * memo), must land in about as many slots as a perfect spread gives
 * (about 885 of 4,096), not pile up. */
START_TEST(session_ids_spread_over_slots)
{
    kyl_lcache_t *c;
    char ids[1000][KYL_ID_LEN + 1], key[KYL_LCACHE_KEY_MAX];
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t tag;
    int i, prefix, kept;

    for (i = 0; i < 1000; i++) {
        ck_assert_int_eq(kyl_random_id(ids[i]), APR_SUCCESS);
    }
    for (prefix = 0; prefix < 2; prefix++) {
        ck_assert_int_eq(kyl_lcache_create(&c, tp, 4096), APR_SUCCESS);
        for (i = 0; i < 1000; i++) {
            apr_snprintf(key, sizeof(key), "%s%s", prefix ? "0a1b2c3d" : "", ids[i]);
            kyl_lcache_put(c, key, "v", 1, 0, 100);
        }
        for (kept = 0, i = 0; i < 1000; i++) {
            apr_snprintf(key, sizeof(key), "%s%s", prefix ? "0a1b2c3d" : "", ids[i]);
            kept += kyl_lcache_get(c, tp, key, 1, &v, &len, &tag);
        }
        ck_assert_msg(kept > 850, "%d of 1000 kept (prefix %d)", kept, prefix);
    }
}
END_TEST

START_TEST(delete_and_replace)
{
    kyl_lcache_t *c;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t tag;

    ck_assert_int_eq(kyl_lcache_create(&c, tp, 1), APR_SUCCESS); /* one slot */
    kyl_lcache_put(c, "a", "1", 1, 1, 1000);
    kyl_lcache_put(c, "b", "2", 1, 2, 1000);          /* replaces a */
    ck_assert_int_eq(kyl_lcache_get(c, tp, "a", 0, &v, &len, &tag), 0);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "b", 0, &v, &len, &tag), 1);
    kyl_lcache_del(c, "a");                           /* not there: no-op */
    ck_assert_int_eq(kyl_lcache_get(c, tp, "b", 0, &v, &len, &tag), 1);
    kyl_lcache_del(c, "b");
    ck_assert_int_eq(kyl_lcache_get(c, tp, "b", 0, &v, &len, &tag), 0);
}
END_TEST

START_TEST(limits)
{
    kyl_lcache_t *c;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t tag;
    char longkey[KYL_LCACHE_KEY_MAX + 10];
    static unsigned char big[KYL_LCACHE_VAL_MAX + 1];

    ck_assert_int_eq(kyl_lcache_create(&c, tp, 0), APR_EINVAL);
    ck_assert_int_eq(kyl_lcache_create(&c, tp, 8), APR_SUCCESS);
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    kyl_lcache_put(c, longkey, "x", 1, 0, 1000);
    ck_assert_int_eq(kyl_lcache_get(c, tp, longkey, 0, &v, &len, &tag), 0);
    kyl_lcache_put(c, "big", big, sizeof(big), 0, 1000);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "big", 0, &v, &len, &tag), 0);
    kyl_lcache_put(c, "empty", "", 0, 7, 1000);
    ck_assert_int_eq(kyl_lcache_get(c, tp, "empty", 0, &v, &len, &tag), 1);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(kyl_lcache_get(NULL, tp, "x", 0, &v, &len, &tag), 0);
}
END_TEST

static kyl_lcache_t *shared;

static void *APR_THREAD_FUNC churn(apr_thread_t *t, void *data)
{
    apr_pool_t *p;
    int i, id = *(int *)data;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 5000; i++) {
        char key[16], val[32];
        unsigned char *v;
        apr_size_t len;
        apr_uint64_t tag;

        apr_snprintf(key, sizeof(key), "k%d", i % 50);
        apr_snprintf(val, sizeof(val), "v%d-%d", id, i);
        kyl_lcache_put(shared, key, val, strlen(val), (apr_uint64_t)i, 1000);
        if (kyl_lcache_get(shared, p, key, 0, &v, &len, &tag)) {
            /* whatever won, it is a whole value of the key's own family */
            if (len < 2 || v[0] != 'v') {
                abort();
            }
        }
        if (i % 7 == 0) {
            kyl_lcache_del(shared, key);
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

START_TEST(threads)
{
    apr_thread_t *t[8];
    int ids[8], i;
    apr_status_t rv;

    ck_assert_int_eq(kyl_lcache_create(&shared, tp, 32), APR_SUCCESS);
    for (i = 0; i < 8; i++) {
        ids[i] = i;
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, churn, &ids[i], tp),
                         APR_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        apr_thread_join(&rv, t[i]);
    }
}
END_TEST

static Suite *lcache_suite(void)
{
    Suite *s = suite_create("kyl_lcache");
    TCase *tc = kyl_tcase("lcache");

    tcase_add_test(tc, hit_miss_expiry);
    tcase_add_test(tc, delete_and_replace);
    tcase_add_test(tc, session_ids_spread_over_slots);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, threads);
    suite_add_tcase(s, tc);
    return s;
}

KYL_TEST_MAIN(lcache_suite)
