/* Unit tests: kyl_store.c against real memcached processes, never a mock.
 *
 * Each live test starts its own memcached children on free loopback ports
 * (PR_SET_PDEATHSIG makes sure none outlives the test process) and kills
 * them in the teardown.  Timings measured here are printed on stderr. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "kyl_test.h"
#include "kyl_store.h"

#define MEMCACHED_BIN "/usr/bin/memcached"
#define MAX_MC 3
#define MS(n) ((apr_interval_time_t)(n) * 1000)

typedef struct {
    pid_t pid;
    int port;
    char spec[32];
} mc_t;

static mc_t mc[MAX_MC];

/* ---- memcached children ------------------------------------------------ */

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* memcached answers "version" on port. */
static int port_answers(int port)
{
    struct sockaddr_in a;
    char buf[64];
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0
         && write(fd, "version\r\n", 9) == 9
         && read(fd, buf, sizeof(buf)) > 8 && memcmp(buf, "VERSION ", 8) == 0;
    close(fd);
    return ok;
}

static void mc_exec(int port)
{
    char ps[16];

    snprintf(ps, sizeof(ps), "%d", port);
    if (geteuid() == 0) {       /* memcached refuses root without -u */
        execl(MEMCACHED_BIN, "memcached", "-U", "0", "-l", "127.0.0.1",
              "-p", ps, "-m", "16", "-t", "1", "-u", "root", (char *)NULL);
    }
    execl(MEMCACHED_BIN, "memcached", "-U", "0", "-l", "127.0.0.1", "-p",
          ps, "-m", "16", "-t", "1", (char *)NULL);
    _exit(127);
}

/* Starts memcached i on port (0: a free one) and waits until it accepts. */
static void mc_start(int i, int port)
{
    pid_t parent = getpid();
    int w, status;

    mc[i].port = port ? port : free_port();
    snprintf(mc[i].spec, sizeof(mc[i].spec), "127.0.0.1:%d", mc[i].port);
    mc[i].pid = fork();
    ck_assert_int_ge(mc[i].pid, 0);
    if (mc[i].pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(1);
        }
        mc_exec(mc[i].port);
    }
    for (w = 0; w < 500 && !port_answers(mc[i].port); w++) {
        ck_assert_msg(waitpid(mc[i].pid, &status, WNOHANG) == 0,
                      "memcached on port %d exited (status %d)",
                      mc[i].port, status);
        usleep(10000);
    }
    ck_assert_msg(w < 500, "memcached on port %d never accepted", mc[i].port);
}

static void mc_kill(int i)
{
    if (mc[i].pid > 0) {
        kill(mc[i].pid, SIGCONT);
        kill(mc[i].pid, SIGKILL);
        waitpid(mc[i].pid, NULL, 0);
        mc[i].pid = 0;
    }
}

/* SIGSTOP, and wait until every thread of it has really stopped. */
static void mc_freeze(int i)
{
    int status = 0;

    ck_assert_int_eq(kill(mc[i].pid, SIGSTOP), 0);
    ck_assert_int_eq(waitpid(mc[i].pid, &status, WUNTRACED), mc[i].pid);
    ck_assert(WIFSTOPPED(status));
}

static void live_setup(void)
{
    kyl_test_setup();
    memset(mc, 0, sizeof(mc));
    ck_assert_msg(access(MEMCACHED_BIN, X_OK) == 0,
                  "%s is missing: the store tests need a real memcached "
                  "(apt-get install memcached)", MEMCACHED_BIN);
}

static void live_teardown(void)
{
    int i;

    for (i = 0; i < MAX_MC; i++) {
        mc_kill(i);
    }
    kyl_test_teardown();
}

/* ---- helpers -------------------------------------------------------------- */

static double ms_since(apr_time_t t0)
{
    return (double)(apr_time_now() - t0) / 1000.0;
}

static kyl_store_t *mk_store(const char *const *specs, int n, int replicas,
                             apr_interval_time_t timeout,
                             apr_interval_time_t retry, int max_handles)
{
    kyl_store_conf_t conf;
    kyl_store_t *st = NULL;
    apr_status_t rv;

    memset(&conf, 0, sizeof(conf));
    conf.servers = specs;
    conf.nservers = n;
    conf.replicas = replicas;
    conf.timeout = timeout;
    conf.retry = retry;
    conf.max_handles = max_handles;
    rv = kyl_store_create(&st, tp, &conf);
    ck_assert_int_eq(rv, APR_SUCCESS);
    return st;
}

/* A store over the first n children, in list order, or reversed. */
static kyl_store_t *mc_store(int n, int reversed, int replicas,
                             apr_interval_time_t timeout,
                             apr_interval_time_t retry)
{
    const char **specs = apr_pcalloc(tp, sizeof(*specs) * n);
    int i;

    for (i = 0; i < n; i++) {
        specs[i] = mc[reversed ? n - 1 - i : i].spec;
    }
    return mk_store(specs, n, replicas, timeout, retry, 4);
}

static apr_status_t put(kyl_store_t *st, const char *key, const char *val)
{
    return kyl_store_set(st, key, (const unsigned char *)val, strlen(val),
                         300, 0);
}

/* Gets key; on a hit, checks the value when want is given. */
static apr_status_t get(kyl_store_t *st, const char *key, const char *want)
{
    unsigned char *v = NULL;
    apr_size_t len = 0;
    apr_status_t rv = kyl_store_get(st, tp, key, &v, &len, NULL, NULL);

    if (rv == APR_SUCCESS && want != NULL) {
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_int_eq(memcmp(v, want, len), 0);
    }
    return rv;
}

/* Reads key from child i alone, through a one-server store. */
static apr_status_t direct_get(int i, const char *key, const char *want)
{
    const char *spec = mc[i].spec;
    kyl_store_t *st = mk_store(&spec, 1, 0, MS(200), 0, 1);
    apr_status_t rv = get(st, key, want);

    kyl_store_destroy(st);
    return rv;
}

/* Which children hold key, as a bit set. */
static unsigned holders(int n, const char *key)
{
    unsigned set = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (direct_get(i, key, NULL) == APR_SUCCESS) {
            set |= 1u << i;
        }
    }
    return set;
}

/* A key whose primary copy is child want (of the first n children). */
static const char *key_on(int want, int n, const char *prefix)
{
    kyl_store_t *r0 = mc_store(n, 0, 0, MS(200), 0);
    int j;

    for (j = 0; j < 1000; j++) {
        const char *key = apr_psprintf(tp, "%s-%d", prefix, j);
        unsigned h;

        ck_assert_int_eq(put(r0, key, "probe"), APR_SUCCESS);
        h = holders(n, key);
        ck_assert_int_eq(kyl_store_delete(r0, key), APR_SUCCESS);
        if (h == 1u << want) {
            kyl_store_destroy(r0);
            return key;
        }
    }
    ck_abort_msg("no key lands on server %d", want);
    return NULL;
}

static kyl_store_server_info_t info_of(kyl_store_t *st, int i)
{
    kyl_store_server_info_t info;

    kyl_store_server_info(st, i, &info);
    return info;
}

/* Whether st counts its server i as up. */
#define UP(st, i) (info_of((st), (i)).up)

/* ---- parsing and life cycle (no memcached needed) -------------------------- */

static const struct {
    const char *spec;
    apr_status_t rv;
    const char *host;
    apr_port_t port;
} parse_cases[] = {
    { "127.0.0.1:11211", APR_SUCCESS, "127.0.0.1", 11211 },
    { "localhost", APR_SUCCESS, "localhost", 11211 },
    { "MC1.Example.COM:1", APR_SUCCESS, "mc1.example.com", 1 },
    { "my_host-2:65535", APR_SUCCESS, "my_host-2", 65535 },
    { "[::1]:11211", APR_SUCCESS, "::1", 11211 },
    { "[::1]", APR_SUCCESS, "::1", 11211 },
    { "[2001:DB8:0::0001]:80", APR_SUCCESS, "2001:db8::1", 80 },
    { "[::ffff:10.0.0.1]:5", APR_SUCCESS, "::ffff:10.0.0.1", 5 },
    { "", APR_EINVAL, NULL, 0 },
    { ":11211", APR_EINVAL, NULL, 0 },
    { "host:", APR_EINVAL, NULL, 0 },
    { "host:0", APR_EINVAL, NULL, 0 },
    { "host:65536", APR_EINVAL, NULL, 0 },
    { "host:123456", APR_EINVAL, NULL, 0 },
    { "host:-1", APR_EINVAL, NULL, 0 },
    { "host:+1", APR_EINVAL, NULL, 0 },
    { "host:12a", APR_EINVAL, NULL, 0 },
    { "host: 1", APR_EINVAL, NULL, 0 },
    { "host:1:2", APR_EINVAL, NULL, 0 },
    { "ho st:1", APR_EINVAL, NULL, 0 },
    { " host:1", APR_EINVAL, NULL, 0 },
    { "-host:1", APR_EINVAL, NULL, 0 },
    { "host-:1", APR_EINVAL, NULL, 0 },
    { "a..b:1", APR_EINVAL, NULL, 0 },
    { ".a:1", APR_EINVAL, NULL, 0 },
    { "a.:1", APR_EINVAL, NULL, 0 },
    { "h\xc3\xa9:1", APR_EINVAL, NULL, 0 },
    { "h\n:1", APR_EINVAL, NULL, 0 },
    { "256.1.1.1:1", APR_EINVAL, NULL, 0 },
    { "1.2.3:1", APR_EINVAL, NULL, 0 },
    { "::1", APR_EINVAL, NULL, 0 },
    { "::1:11211", APR_EINVAL, NULL, 0 },
    { "[::1", APR_EINVAL, NULL, 0 },
    { "[::1]x", APR_EINVAL, NULL, 0 },
    { "[::1]:", APR_EINVAL, NULL, 0 },
    { "[::1]:0", APR_EINVAL, NULL, 0 },
    { "[]:1", APR_EINVAL, NULL, 0 },
    { "[1.2.3.4]:1", APR_EINVAL, NULL, 0 },
    { "[fe80::1%eth0]:1", APR_EINVAL, NULL, 0 },
    { "[::1]]:1", APR_EINVAL, NULL, 0 },
    { "/run/memcached.sock", APR_EINVAL, NULL, 0 },
    { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:1",
      APR_EINVAL, NULL, 0 },           /* a 65-byte label */
};

START_TEST(parse_table)
{
    const char *host = NULL;
    apr_port_t port = 0;
    apr_status_t rv = kyl_store_parse_server(tp, parse_cases[_i].spec,
                                             &host, &port);

    ck_assert_msg(rv == parse_cases[_i].rv, "spec '%s': rv %d",
                  parse_cases[_i].spec, rv);
    if (rv == APR_SUCCESS) {
        ck_assert_str_eq(host, parse_cases[_i].host);
        ck_assert_int_eq(port, parse_cases[_i].port);
    }
}
END_TEST

START_TEST(parse_edge)
{
    const char *host;
    apr_port_t port;
    char *name = apr_palloc(tp, 300);

    ck_assert_int_eq(kyl_store_parse_server(tp, NULL, &host, &port), APR_EINVAL);
    memset(name, 'a', 299);                     /* 5 x 59 + dots: 299 > 253 */
    name[59] = name[119] = name[179] = name[239] = '.';
    name[299] = '\0';
    ck_assert_int_eq(kyl_store_parse_server(tp, name, &host, &port), APR_EINVAL);
    name[253] = '\0';                           /* 253 bytes: allowed */
    ck_assert_int_eq(kyl_store_parse_server(tp, name, &host, &port), APR_SUCCESS);
}
END_TEST

static const char *const two_dead[] = { "127.0.0.1:1", "localhost:2" };

START_TEST(create_invalid)
{
    static const char *const bad_spec[] = { "127.0.0.1:1", "nope:0" };
    static const char *const dup[] = { "LOCALHOST", "localhost:11211" };
    static const char *const dup6[] = { "[::1]:5", "[0::1]:5" };
    kyl_store_conf_t ok = { two_dead, 2, 1, MS(200), MS(1000), 4, NULL }, c;
    kyl_store_t *st = NULL;

    ck_assert_int_eq(kyl_store_create(&st, tp, NULL), APR_EINVAL);
    c = ok; c.nservers = 0;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.servers = NULL;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.servers = bad_spec;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.servers = dup;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.servers = dup6;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.replicas = -1;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.timeout = 0;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.retry = -1;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    c = ok; c.max_handles = 0;
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_EINVAL);
    ck_assert_ptr_null(st);
    c = ok; c.replicas = 5;                      /* capped, not refused */
    ck_assert_int_eq(kyl_store_create(&st, tp, &c), APR_SUCCESS);
    kyl_store_destroy(st);
}
END_TEST

START_TEST(create_destroy)
{
    apr_pool_t *sub;
    kyl_store_t *st;
    kyl_store_server_info_t info;

    st = mk_store(two_dead, 2, 1, MS(200), MS(1000), 4);
    ck_assert_int_eq(kyl_store_server_count(st), 2);
    info = info_of(st, 0);
    ck_assert_str_eq(info.name, "127.0.0.1:1");
    ck_assert_int_eq(info.up, 1);
    ck_assert_uint_eq(info.gets + info.sets + info.deletes + info.errors, 0);
    ck_assert_str_eq(info_of(st, 1).name, "localhost:2");
    ck_assert_ptr_null(info_of(st, 2).name);
    ck_assert_ptr_null(info_of(st, -1).name);
    kyl_store_destroy(st);              /* then again by tp's cleanup: no-op */

    apr_pool_create(&sub, tp);          /* destroying the pool is enough */
    {
        kyl_store_conf_t c = { two_dead, 2, 0, MS(200), 0, 2, NULL };
        ck_assert_int_eq(kyl_store_create(&st, sub, &c), APR_SUCCESS);
    }
    apr_pool_destroy(sub);
    kyl_store_destroy(NULL);
    ck_assert_int_eq(kyl_store_server_count(NULL), 0);
}
END_TEST

/* Nothing listens: every operation is an error, never a miss. */
START_TEST(unreachable_is_not_a_miss)
{
    const char *spec = apr_psprintf(tp, "127.0.0.1:%d", free_port());
    kyl_store_t *st = mk_store(&spec, 1, 0, MS(200), MS(1000), 2);
    kyl_store_server_info_t info;

    ck_assert_int_eq(get(st, "k", NULL), APR_EGENERAL);
    ck_assert_int_eq(get(st, "k", NULL), APR_EGENERAL);    /* skipped */
    ck_assert_int_ne(put(st, "k", "v"), APR_SUCCESS);
    ck_assert_int_ne(kyl_store_delete(st, "k"), APR_SUCCESS);
    info = info_of(st, 0);
    ck_assert_int_eq(info.up, 0);
    ck_assert_uint_ge(info.errors, 2);
    ck_assert_ptr_nonnull(info.last_error);
    ck_assert_int_gt(info.last_error_time, 0);
}
END_TEST

/* ---- one or more live servers ----------------------------------------------- */

START_TEST(round_trip)
{
    kyl_store_t *st;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t cas = 7;
    static const unsigned char bin[] = { 0, 1, 2, 0xff, 0, '\r', '\n' };

    mc_start(0, 0);
    st = mc_store(1, 0, 0, MS(200), MS(1000));
    ck_assert_int_eq(kyl_store_get(st, tp, "nokey", &v, &len, &cas, NULL),
                     APR_NOTFOUND);
    ck_assert_uint_eq(cas, 0);
    ck_assert_int_eq(put(st, "k1", "hello"), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, "k1", &v, &len, &cas, NULL), APR_SUCCESS);
    ck_assert_uint_eq(len, 5);
    ck_assert_str_eq((char *)v, "hello");       /* NUL-terminated copy */
    ck_assert_uint_ne(cas, 0);
    ck_assert_int_eq(put(st, "k1", "bye"), APR_SUCCESS);
    ck_assert_int_eq(get(st, "k1", "bye"), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_set(st, "bin", bin, sizeof(bin), 60, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, "bin", &v, &len, NULL, NULL), APR_SUCCESS);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert_int_eq(memcmp(v, bin, len), 0);
    ck_assert_int_eq(kyl_store_set(st, "empty", NULL, 0, 60, 0), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, "empty", &v, &len, NULL, NULL), APR_SUCCESS);
    ck_assert_uint_eq(len, 0);
    /* beyond 30 days memcached wants an absolute time: still stored */
    ck_assert_int_eq(kyl_store_set(st, "long", bin, 3, 40 * 86400, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, "long", &v, &len, NULL, NULL), APR_SUCCESS);
}
END_TEST

START_TEST(counters)
{
    kyl_store_t *st;
    kyl_store_server_info_t info;

    mc_start(0, 0);
    st = mc_store(1, 0, 0, MS(200), MS(1000));
    ck_assert_int_eq(put(st, "c", "1"), APR_SUCCESS);
    ck_assert_int_eq(get(st, "c", "1"), APR_SUCCESS);
    ck_assert_int_eq(get(st, "d", NULL), APR_NOTFOUND);
    ck_assert_int_eq(kyl_store_delete(st, "c"), APR_SUCCESS);
    info = info_of(st, 0);
    ck_assert_str_eq(info.name, mc[0].spec);
    ck_assert_int_eq(info.up, 1);
    ck_assert_uint_eq(info.sets, 1);
    ck_assert_uint_eq(info.gets, 2);
    ck_assert_uint_eq(info.deletes, 1);
    ck_assert_uint_eq(info.errors, 0);
    ck_assert_ptr_null(info.last_error);
}
END_TEST

/* Stores given the same shared counters (every child's, in httpd) count
 * into them: each sees the traffic of all. */
START_TEST(counters_shared)
{
    kyl_store_counts_t shared[1];
    kyl_store_conf_t conf;
    kyl_store_t *a, *b;
    const char *spec;

    mc_start(0, 0);
    spec = mc[0].spec;
    memset(shared, 0, sizeof(shared));
    memset(&conf, 0, sizeof(conf));
    conf.servers = &spec;
    conf.nservers = 1;
    conf.timeout = MS(200);
    conf.retry = MS(1000);
    conf.max_handles = 2;
    conf.shared = shared;
    ck_assert_int_eq(kyl_store_create(&a, tp, &conf), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_create(&b, tp, &conf), APR_SUCCESS);
    ck_assert_int_eq(put(a, "c", "1"), APR_SUCCESS);
    ck_assert_int_eq(get(b, "c", "1"), APR_SUCCESS);
    ck_assert_int_eq(get(b, "c", "1"), APR_SUCCESS);
    ck_assert_uint_eq(info_of(a, 0).gets, 2);
    ck_assert_uint_eq(info_of(b, 0).sets, 1);
    ck_assert_uint_eq(shared[0].gets, 2);
}
END_TEST

START_TEST(values_large)
{
    const apr_size_t big = 100 * 1024;
    unsigned char *buf = apr_palloc(tp, 1024 * 1024 + 1), *v;
    apr_size_t i, len;
    apr_status_t rv;
    kyl_store_t *st;

    for (i = 0; i < 1024 * 1024 + 1; i++) {
        buf[i] = (unsigned char)(i * 31 + 7);
    }
    mc_start(0, 0);
    st = mc_store(1, 0, 0, MS(200), MS(1000));
    ck_assert_int_eq(kyl_store_set(st, "big", buf, big, 60, 0), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, "big", &v, &len, NULL, NULL), APR_SUCCESS);
    ck_assert_uint_eq(len, big);
    ck_assert_int_eq(memcmp(v, buf, big), 0);
    ck_assert_int_eq(kyl_store_set(st, "huge", buf, 1024 * 1024 + 1, 60, 0),
                     APR_EINVAL);
    /* 1 MiB passes our check; memcached's default item limit (1 MiB with
     * the item header) refuses it: a refusal, not a server failure */
    rv = kyl_store_set(st, "huge", buf, 1024 * 1024, 60, 0);
    ck_assert_int_eq(rv, APR_ENOSPC);
    ck_assert_int_eq(info_of(st, 0).up, 1);
    ck_assert_int_eq(get(st, "big", NULL), APR_SUCCESS);
}
END_TEST

START_TEST(keys_invalid)
{
    static const char *const bad[] = {
        "", "a b", "a\nb", "a\tb", "a\rb", "\x7f", "a\x01"
    };
    char *k250 = apr_palloc(tp, 252);
    unsigned char *v;
    apr_size_t len, i;
    kyl_store_t *st;

    mc_start(0, 0);
    st = mc_store(1, 0, 0, MS(200), MS(1000));
    for (i = 0; i < KYL_ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(get(st, bad[i], NULL), APR_EINVAL);
        ck_assert_int_eq(put(st, bad[i], "v"), APR_EINVAL);
        ck_assert_int_eq(kyl_store_delete(st, bad[i]), APR_EINVAL);
    }
    ck_assert_int_eq(kyl_store_get(st, tp, NULL, &v, &len, NULL, NULL), APR_EINVAL);
    ck_assert_int_eq(kyl_store_set(st, NULL, (const unsigned char *)"v", 1, 1, 0),
                     APR_EINVAL);
    ck_assert_int_eq(kyl_store_set(st, "k", NULL, 1, 1, 0), APR_EINVAL);
    ck_assert_int_eq(kyl_store_delete(st, NULL), APR_EINVAL);
    memset(k250, 'k', 251);
    k250[251] = '\0';
    ck_assert_int_eq(put(st, k250, "v"), APR_EINVAL);     /* 251 bytes */
    k250[250] = '\0';
    ck_assert_int_eq(put(st, k250, "v"), APR_SUCCESS);    /* 250 bytes */
    ck_assert_int_eq(get(st, k250, "v"), APR_SUCCESS);
    ck_assert_int_eq(put(st, "caf\xc3\xa9", "v"), APR_SUCCESS); /* not control */
    ck_assert_uint_eq(info_of(st, 0).errors, 0);
}
END_TEST

/* Two stores listing the servers in opposite orders place every key on
 * the same servers; the spread is not degenerate. */
START_TEST(placement_order_independent)
{
    kyl_store_t *a, *b, *a1, *b1;
    int count[MAX_MC] = { 0 }, i, k;

    for (i = 0; i < 3; i++) {
        mc_start(i, 0);
    }
    a = mc_store(3, 0, 0, MS(200), MS(1000));
    b = mc_store(3, 1, 0, MS(200), MS(1000));
    for (k = 0; k < 200; k++) {
        const char *key = apr_psprintf(tp, "place-%d", k);
        unsigned h;

        ck_assert_int_eq(put(a, key, key), APR_SUCCESS);
        ck_assert_int_eq(get(b, key, key), APR_SUCCESS);  /* b reads a's only copy */
        h = holders(3, key);
        ck_assert_msg(h == 1 || h == 2 || h == 4, "key %s on set %u", key, h);
        count[h == 1 ? 0 : h == 2 ? 1 : 2]++;
    }
    for (i = 0; i < 3; i++) {
        ck_assert_msg(count[i] >= 30, "server %d holds %d of 200 keys", i,
                      count[i]);
    }
    /* with a replica: the same two servers whichever list wrote */
    a1 = mc_store(3, 0, 1, MS(200), MS(1000));
    b1 = mc_store(3, 1, 1, MS(200), MS(1000));
    for (k = 0; k < 50; k++) {
        const char *key = apr_psprintf(tp, "place2-%d", k);
        unsigned ha, hb;

        ck_assert_int_eq(put(a1, key, "a"), APR_SUCCESS);
        ha = holders(3, key);
        ck_assert_int_eq(kyl_store_delete(a1, key), APR_SUCCESS);
        ck_assert_int_eq(holders(3, key), 0);
        ck_assert_int_eq(put(b1, key, "b"), APR_SUCCESS);
        hb = holders(3, key);
        ck_assert_uint_eq(ha, hb);
        ck_assert_msg(ha == 3 || ha == 5 || ha == 6, "two copies: %u", ha);
    }
}
END_TEST

START_TEST(replica_on_both)
{
    kyl_store_t *st;
    int k;

    mc_start(0, 0);
    mc_start(1, 0);
    st = mc_store(2, 0, 1, MS(200), MS(1000));
    for (k = 0; k < 10; k++) {
        const char *key = apr_psprintf(tp, "both-%d", k);
        ck_assert_int_eq(put(st, key, "sess"), APR_SUCCESS);
        ck_assert_int_eq(direct_get(0, key, "sess"), APR_SUCCESS);
        ck_assert_int_eq(direct_get(1, key, "sess"), APR_SUCCESS);
    }
}
END_TEST

START_TEST(cas_rules)
{
    kyl_store_t *st;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t cas = 0, cas2 = 0;
    const char *key;

    mc_start(0, 0);
    mc_start(1, 0);
    key = key_on(0, 2, "cas");          /* primary 0, replica 1 */
    st = mc_store(2, 0, 1, MS(200), MS(1000));
    ck_assert_int_eq(put(st, key, "a"), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_get(st, tp, key, &v, &len, &cas, NULL), APR_SUCCESS);
    ck_assert_uint_ne(cas, 0);
    ck_assert_int_eq(kyl_store_set(st, key, (const unsigned char *)"b", 1, 60, cas),
                     APR_SUCCESS);
    ck_assert_int_eq(kyl_store_set(st, key, (const unsigned char *)"c", 1, 60, cas),
                     APR_EEXIST);
    ck_assert_int_eq(get(st, key, "b"), APR_SUCCESS);
    ck_assert_int_eq(direct_get(1, key, "b"), APR_SUCCESS); /* untouched */
    ck_assert_int_eq(kyl_store_get(st, tp, key, &v, &len, &cas2, NULL), APR_SUCCESS);
    ck_assert_uint_ne(cas2, cas);
    /* gone since the get (a logout won): nothing is written anywhere */
    ck_assert_int_eq(kyl_store_delete(st, key), APR_SUCCESS);
    ck_assert_int_eq(kyl_store_set(st, key, (const unsigned char *)"d", 1, 60, cas2),
                     APR_EEXIST);
    ck_assert_int_eq(get(st, key, NULL), APR_NOTFOUND);
}
END_TEST

START_TEST(delete_every_copy)
{
    kyl_store_t *st;

    mc_start(0, 0);
    mc_start(1, 0);
    st = mc_store(2, 0, 1, MS(200), MS(1000));
    ck_assert_int_eq(put(st, "del", "x"), APR_SUCCESS);
    ck_assert_int_eq(holders(2, "del"), 3);
    ck_assert_int_eq(kyl_store_delete(st, "del"), APR_SUCCESS);
    ck_assert_int_eq(direct_get(0, "del", NULL), APR_NOTFOUND);
    ck_assert_int_eq(direct_get(1, "del", NULL), APR_NOTFOUND);
    ck_assert_int_eq(get(st, "del", NULL), APR_NOTFOUND);
    ck_assert_int_eq(kyl_store_delete(st, "del"), APR_SUCCESS); /* a miss is gone */
    /* one copy unreachable: the delete is reported incomplete */
    ck_assert_int_eq(put(st, "del", "x"), APR_SUCCESS);
    mc_kill(1);
    ck_assert_int_eq(kyl_store_delete(st, "del"), APR_INCOMPLETE);
    mc_kill(0);
    ck_assert_int_eq(kyl_store_delete(st, "del"), APR_EGENERAL);
}
END_TEST

START_TEST(get_rate)
{
    kyl_store_t *st;
    apr_time_t t0;
    int n = 0;
    double ms, rate;

    mc_start(0, 0);
    st = mc_store(1, 0, 0, MS(200), MS(1000));
    ck_assert_int_eq(put(st, "rate", "0123456789abcdef0123456789abcdef"), APR_SUCCESS);
    t0 = apr_time_now();
    while (n < 50000 && apr_time_now() - t0 < MS(1000)) {
        ck_assert_int_eq(get(st, "rate", NULL), APR_SUCCESS);
        n++;
    }
    ms = ms_since(t0);
    rate = n / (ms / 1000.0);
    fprintf(stderr, "[store] get loop, one local server: %d gets in %.0f ms"
            " = %.0f ops/s\n", n, ms, rate);
    ck_assert_msg(rate > 200, "only %.0f gets/s", rate);
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

START_TEST(primary_killed)
{
    kyl_store_t *st;
    const char *key;
    apr_time_t t0;
    apr_uint64_t gets0;
    double ms;
    int k;

    mc_start(0, 0);
    mc_start(1, 0);
    key = key_on(0, 2, "kill");
    st = mc_store(2, 0, 1, MS(200), apr_time_from_sec(5));
    ck_assert_int_eq(put(st, key, "v1"), APR_SUCCESS);
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);    /* warm connections */
    ck_assert_int_eq(direct_get(1, key, "v1"), APR_SUCCESS);
    mc_kill(0);

    t0 = apr_time_now();
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);
    ms = ms_since(t0);
    fprintf(stderr, "[store] failover read after primary SIGKILL: %.2f ms\n", ms);
    ck_assert_msg(ms < 500, "failover read took %.1f ms", ms);
    ck_assert_int_eq(UP(st, 0), 0);
    ck_assert_int_eq(UP(st, 1), 1);

    gets0 = info_of(st, 0).gets;
    t0 = apr_time_now();
    for (k = 0; k < 20; k++) {
        ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);
    }
    ms = ms_since(t0);
    fprintf(stderr, "[store] 20 reads skipping the dead primary: %.2f ms\n", ms);
    ck_assert_msg(ms < 100, "20 reads took %.1f ms", ms);
    ck_assert_uint_eq(info_of(st, 0).gets, gets0);        /* not even tried */
    ck_assert_int_eq(put(st, key, "v2"), APR_SUCCESS);    /* the replica takes it */
    ck_assert_int_eq(get(st, key, "v2"), APR_SUCCESS);
}
END_TEST

/* A primary restarted empty answers "miss": the replica still has it. */
START_TEST(primary_restarted_empty)
{
    kyl_store_t *st;
    const char *key;
    unsigned char *v;
    apr_size_t len;
    apr_uint64_t cas = 1, gets0;
    int repair = 0;

    mc_start(0, 0);
    mc_start(1, 0);
    key = key_on(0, 2, "restart");
    st = mc_store(2, 0, 1, MS(200), apr_time_from_sec(5));
    ck_assert_int_eq(put(st, key, "v1"), APR_SUCCESS);
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);    /* warm connections */
    mc_kill(0);
    mc_start(0, mc[0].port);
    gets0 = info_of(st, 0).gets;

    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);  /* repair unasked */
    ck_assert_int_eq(kyl_store_get(st, tp, key, &v, &len, &cas, &repair),
                     APR_SUCCESS);
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(memcmp(v, "v1", 2), 0);
    ck_assert_uint_eq(cas, 0);                  /* the primary said miss */
    ck_assert_int_eq(repair, 1);                /* ... so copy it back */
    ck_assert_uint_eq(info_of(st, 0).gets, gets0 + 2);
    ck_assert_uint_eq(info_of(st, 0).errors, 0); /* stale connection retried */
    ck_assert_int_eq(UP(st, 0), 1);
    /* a plain set repopulates the primary */
    ck_assert_int_eq(put(st, key, "v2"), APR_SUCCESS);
    ck_assert_int_eq(direct_get(0, key, "v2"), APR_SUCCESS);
}
END_TEST

START_TEST(all_dead)
{
    kyl_store_t *st;
    apr_time_t t0;
    apr_status_t rv;
    double ms;

    mc_start(0, 0);
    mc_start(1, 0);
    st = mc_store(2, 0, 1, MS(200), apr_time_from_sec(5));
    ck_assert_int_eq(put(st, "dead", "v"), APR_SUCCESS);
    mc_kill(0);
    mc_kill(1);

    t0 = apr_time_now();
    rv = get(st, "dead", NULL);
    ms = ms_since(t0);
    fprintf(stderr, "[store] get with every server dead: %.2f ms\n", ms);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_ne(rv, APR_NOTFOUND);
    ck_assert_msg(ms < 500, "all-dead get took %.1f ms", ms);

    t0 = apr_time_now();
    rv = get(st, "dead", NULL);
    ms = ms_since(t0);
    fprintf(stderr, "[store] get with every server dead, skipped: %.3f ms\n", ms);
    ck_assert_int_eq(rv, APR_EGENERAL);
    ck_assert_msg(ms < 20, "skipped get took %.1f ms", ms);
    ck_assert_int_ne(put(st, "dead", "v"), APR_SUCCESS);
    ck_assert_int_ne(kyl_store_delete(st, "dead"), APR_SUCCESS);
}
END_TEST

/* Servers come back: the same store uses them after the retry window. */
START_TEST(recovery)
{
    const apr_interval_time_t retry = MS(300);
    kyl_store_t *st;

    mc_start(0, 0);
    mc_start(1, 0);
    st = mc_store(2, 0, 1, MS(200), retry);
    ck_assert_int_eq(put(st, "rec", "v"), APR_SUCCESS);
    mc_kill(0);
    mc_kill(1);
    ck_assert_int_eq(get(st, "rec", NULL), APR_EGENERAL);
    ck_assert_int_eq(UP(st, 0) + UP(st, 1), 0);
    mc_start(0, mc[0].port);
    mc_start(1, mc[1].port);
    apr_sleep(retry + MS(100));

    ck_assert_int_eq(get(st, "rec", NULL), APR_NOTFOUND);  /* empty, answered */
    ck_assert_int_eq(put(st, "rec", "again"), APR_SUCCESS);
    ck_assert_int_eq(get(st, "rec", "again"), APR_SUCCESS);
    ck_assert_int_eq(holders(2, "rec"), 3);
    ck_assert_int_eq(UP(st, 0), 1);
    ck_assert_int_eq(UP(st, 1), 1);
}
END_TEST

/* SIGSTOP: connections open but nothing answers; reads time out once,
 * within about the timeout, and fall over. */
START_TEST(primary_frozen)
{
    kyl_store_t *st;
    const char *key;
    kyl_store_server_info_t info;
    apr_time_t t0;
    double ms;

    mc_start(0, 0);
    mc_start(1, 0);
    key = key_on(0, 2, "frozen");
    st = mc_store(2, 0, 1, MS(200), MS(500));
    ck_assert_int_eq(put(st, key, "v1"), APR_SUCCESS);
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);
    mc_freeze(0);

    t0 = apr_time_now();
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);
    ms = ms_since(t0);
    fprintf(stderr, "[store] failover read from a frozen primary: %.1f ms\n", ms);
    ck_assert_msg(ms < 500, "frozen failover took %.1f ms", ms);
    info = info_of(st, 0);
    ck_assert_int_eq(info.up, 0);
    ck_assert_ptr_nonnull(info.last_error);

    t0 = apr_time_now();
    ck_assert_int_eq(get(st, key, "v1"), APR_SUCCESS);
    ck_assert_int_eq(put(st, key, "v2"), APR_SUCCESS);
    ms = ms_since(t0);
    ck_assert_msg(ms < 50, "get+set past a skipped server took %.1f ms", ms);
    ck_assert_int_eq(get(st, key, "v2"), APR_SUCCESS);

    /* a delete still tries the frozen copy, and says it could not */
    t0 = apr_time_now();
    ck_assert_int_eq(kyl_store_delete(st, key), APR_INCOMPLETE);
    ck_assert_msg(ms_since(t0) < 500, "delete took %.1f ms", ms_since(t0));

    /* thawed: used again after the retry window, same store */
    ck_assert_int_eq(kill(mc[0].pid, SIGCONT), 0);
    apr_sleep(MS(600));
    ck_assert_int_eq(put(st, key, "v3"), APR_SUCCESS);
    ck_assert_int_eq(UP(st, 0), 1);
    ck_assert_int_eq(direct_get(0, key, "v3"), APR_SUCCESS);
}
END_TEST

/* ---- threads ------------------------------------------------------------------------ */

#define NTHREADS 8
#define NOPS 500

typedef struct {
    kyl_store_t *st;
    int id;
    int errors;
    char first_error[128];
} worker_t;

static void worker_fail(worker_t *w, const char *what, int i, apr_status_t rv)
{
    if (w->errors++ == 0) {
        snprintf(w->first_error, sizeof(w->first_error),
                 "thread %d op %d: %s rv %d", w->id, i, what, rv);
    }
}

/* 500 operations: set, get (checked), and every 10th a delete + miss. */
static void *APR_THREAD_FUNC worker_run(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    int i = 0, n;

    apr_pool_create(&p, NULL);
    for (n = 0; i < NOPS; n++) {
        const char *key = apr_psprintf(p, "thr-%d-%d", w->id, n % 25);
        const char *val = apr_psprintf(p, "value-%d-%d", w->id, n);
        unsigned char *v;
        apr_size_t len;
        apr_status_t rv;

        if ((rv = kyl_store_set(w->st, key, (const unsigned char *)val,
                                strlen(val), 60, 0)) != APR_SUCCESS) {
            worker_fail(w, "set", i, rv);
        }
        rv = kyl_store_get(w->st, p, key, &v, &len, NULL, NULL);
        if (rv != APR_SUCCESS || len != strlen(val) || memcmp(v, val, len)) {
            worker_fail(w, "get", i, rv);
        }
        i += 2;
        if (n % 10 == 9) {
            if ((rv = kyl_store_delete(w->st, key)) != APR_SUCCESS) {
                worker_fail(w, "delete", i, rv);
            }
            if ((rv = kyl_store_get(w->st, p, key, &v, &len, NULL, NULL))
                != APR_NOTFOUND) {
                worker_fail(w, "get after delete", i, rv);
            }
            i += 2;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;        /* not apr_thread_exit(): pthread_exit() trips ASan */
}

START_TEST(threads_share_store)
{
    const char *specs[2];
    apr_thread_t *th[NTHREADS];
    worker_t w[NTHREADS];
    kyl_store_t *st;
    apr_time_t t0;
    int i;

    mc_start(0, 0);
    mc_start(1, 0);
    specs[0] = mc[0].spec;
    specs[1] = mc[1].spec;
    /* one handle per server for 8 threads: every operation may have to
     * wait for the pool, and none may fail because of it */
    st = mk_store(specs, 2, 1, MS(1000), MS(1000), 1);
    t0 = apr_time_now();
    for (i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].st = st;
        w[i].id = i;
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, worker_run, &w[i], tp),
                         APR_SUCCESS);
    }
    for (i = 0; i < NTHREADS; i++) {
        apr_status_t trv;
        apr_thread_join(&trv, th[i]);
    }
    fprintf(stderr, "[store] %d threads x %d ops (2 servers, 1 replica, 1 handle each):"
            " %.0f ms\n", NTHREADS, NOPS, ms_since(t0));
    for (i = 0; i < NTHREADS; i++) {
        ck_assert_msg(w[i].errors == 0, "%d errors, first: %s", w[i].errors,
                      w[i].first_error);
    }
    for (i = 0; i < 2; i++) {
        ck_assert_uint_eq(info_of(st, i).errors, 0);
    }
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("kyl_store");
    TCase *tc = kyl_tcase("offline");
    TCase *live = tcase_create("live");
    TCase *fail = tcase_create("failures");

    tcase_add_loop_test(tc, parse_table, 0, KYL_ARRAY_LEN(parse_cases));
    tcase_add_test(tc, parse_edge);
    tcase_add_test(tc, create_invalid);
    tcase_add_test(tc, create_destroy);
    tcase_add_test(tc, unreachable_is_not_a_miss);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(live, live_setup, live_teardown);
    tcase_set_timeout(live, 30);
    tcase_add_test(live, round_trip);
    tcase_add_test(live, counters);
    tcase_add_test(live, counters_shared);
    tcase_add_test(live, values_large);
    tcase_add_test(live, keys_invalid);
    tcase_add_test(live, placement_order_independent);
    tcase_add_test(live, replica_on_both);
    tcase_add_test(live, cas_rules);
    tcase_add_test(live, delete_every_copy);
    tcase_add_test(live, get_rate);
    tcase_add_test(live, threads_share_store);
    suite_add_tcase(s, live);

    tcase_add_checked_fixture(fail, live_setup, live_teardown);
    tcase_set_timeout(fail, 30);
    tcase_add_test(fail, primary_killed);
    tcase_add_test(fail, primary_restarted_empty);
    tcase_add_test(fail, all_dead);
    tcase_add_test(fail, recovery);
    tcase_add_test(fail, primary_frozen);
    suite_add_tcase(s, fail);
    return s;
}

KYL_TEST_MAIN(store_suite)
