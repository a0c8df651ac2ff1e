/* Unit tests: kyl_http.c (the prober's bounded HTTP/1.1 GET client).
 *
 * kyl_http_parse_answer is table-driven; kyl_http_get talks to a tiny
 * server on 127.0.0.1:0, an APR thread that accepts one connection and
 * plays a canned script (answer, close, hang, trickle). */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_portable.h>
#include "kyl_test.h"
#include "kyl_test_net.h"
#include "kyl_http.h"
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define OK APR_SUCCESS
#define NO APR_EINVAL

/* A string with an explicit length (answers may contain NUL bytes). */
#define B(s) s, sizeof(s) - 1

#define H200 "HTTP/1.1 200 OK\r\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"
#define HEALTH "{\"status\":\"UP\"}"
#define TOMCAT_401 "HTTP/1.1 401 Unauthorized\r\nServer: Apache-Coyote/1.1\r\n" \
    "Content-Type: text/html;charset=utf-8\r\nContent-Language: en\r\n" \
    "Content-Length: 56\r\nDate: Tue, 02 Jan 2024 10:00:00 GMT\r\n\r\n" \
    "<html><body>HTTP Status 401 - Unauthorized</body></html>"

/* ---- kyl_http_parse_answer ------------------------------------------------- */

static const struct {
    const char *in;
    apr_size_t len;
    apr_status_t rv;
    int status;
    const char *body;           /* expected body, or NULL for none */
    apr_size_t blen;
    const char *hname;          /* a header to look up, or NULL */
    const char *hval;
    const char *err;
} answer_cases[] = {
    /* status lines */
    { B(H200 "Content-Type: application/json\r\nContent-Length: 15\r\n\r\n" HEALTH),
      OK, 200, B(HEALTH), "content-type", "application/json", NULL },
    { B(H200 "\r\n"), OK, 200, B(""), NULL, NULL, NULL },
    { B("HTTP/1.1 200\r\n\r\nx"), OK, 200, B("x"), NULL, NULL, NULL },
    { B("HTTP/1.1 503 \r\n\r\n"), OK, 503, B(""), NULL, NULL, NULL },
    { B("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\nignored"), OK, 404,
      B(""), NULL, NULL, NULL },
    { B("HTTP/1.1 100 Continue\r\n\r\n"), OK, 100, B(""), NULL, NULL, NULL },
    { B("HTTP/1.1 599 Whatever it is\r\n\r\n"), OK, 599, B(""), NULL, NULL, NULL },
    { B(TOMCAT_401), OK, 401,
      B("<html><body>HTTP Status 401 - Unauthorized</body></html>"), "Server",
      "Apache-Coyote/1.1", NULL },
    /* Content-Length and bodies */
    { B(H200 "Content-Length: 2\r\n\r\nokAND MORE"), OK, 200, B("ok"), NULL, NULL,
      NULL },
    { B(H200 "Content-Length: 0002\r\n\r\nok"), OK, 200, B("ok"), NULL, NULL, NULL },
    { B(H200 "Content-Length:3   \r\n\r\nabc"), OK, 200, B("abc"), "Content-Length",
      "3", NULL },
    { B(H200 "Connection: close\r\n\r\nread to the end"), OK, 200,
      B("read to the end"), "connection", "close", NULL },
    { B(H200 "Content-Length: 3\r\n\r\na\0b"), OK, 200, B("a\0b"), NULL, NULL, NULL },
    /* headers */
    { B(H200 "X-A:   v  \t\r\nX-Empty:\r\n\r\n"), OK, 200, B(""), "x-a", "v", NULL },
    { B(H200 "X-Empty:\r\n\r\n"), OK, 200, B(""), "X-Empty", "", NULL },
    { B(H200 "X-Colon: a:b: c\r\n\r\n"), OK, 200, B(""), "X-Colon", "a:b: c", NULL },
    { B(H200 "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"), OK, 200, B(""),
      "Set-Cookie", "a=1", NULL },
    /* bare LF, mixed line ends */
    { B("HTTP/1.1 200 OK\nContent-Length: 2\n\nok"), OK, 200, B("ok"), NULL, NULL,
      NULL },
    { B("HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok"), OK, 200, B("ok"), NULL, NULL,
      NULL },
    /* non-ASCII reason phrase, header value and body */
    { B("HTTP/1.1 200 \xc3\x9c\xff\r\nX-N: \xe4\xb8\xad\xe6\x96\x87\r\n\r\n\xff\xfe\x00"),
      OK, 200, B("\xff\xfe\x00"), "X-N", "\xe4\xb8\xad\xe6\x96\x87", NULL },
    /* chunked */
    { B(H200 CHUNKED "\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"), OK, 200,
      B("Wikipedia"), NULL, NULL, NULL },
    { B(H200 CHUNKED "\r\n4;name=val\r\nWiki\r\n5 ; x=\"y\"\r\npedia\r\n0;last\r\n\r\n"),
      OK, 200, B("Wikipedia"), NULL, NULL, NULL },
    { B(H200 CHUNKED "\r\n4\r\nWiki\r\n0\r\nX-Trailer: v\r\nOther: w\r\n\r\n"), OK,
      200, B("Wiki"), NULL, NULL, NULL },
    { B(H200 CHUNKED "\r\nA\r\n0123456789\r\n000a\r\nabcdefghij\r\n0\r\n\r\n"), OK,
      200, B("0123456789abcdefghij"), NULL, NULL, NULL },
    { B("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n"), OK, 200,
      B("ok"), NULL, NULL, NULL },
    { B(H200 "Transfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n"), OK, 200, B("ok"),
      NULL, NULL, NULL },
    { B(H200 "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n\x1f\x8b\r\n0\r\n\r\n"), OK,
      200, B("\x1f\x8b"), NULL, NULL, NULL },
    { B(H200 CHUNKED "Content-Length: 99\r\n\r\n2\r\nok\r\n0\r\n\r\n"), OK, 200,
      B("ok"), NULL, NULL, NULL },
    { B(H200 CHUNKED "\r\n0\r\n\r\n"), OK, 200, B(""), NULL, NULL, NULL },
    { B(H200 CHUNKED "\r\n3\r\na\0b\r\n0\r\n\r\n"), OK, 200, B("a\0b"), NULL, NULL,
      NULL },
    /* another coding than chunked: the body runs to the close */
    { B(H200 "Transfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nabc"), OK, 200,
      B("abc"), NULL, NULL, NULL },
    { B(H200 "Transfer-Encoding: notchunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), OK, 200,
      B("2\r\nok\r\n0\r\n\r\n"), NULL, NULL, NULL },

    /* empty, garbage, malformed status lines */
    { B(""), NO, 0, NULL, 0, NULL, NULL, "empty answer" },
    { B("HTTP/1.1 200 OK"), NO, 0, NULL, 0, NULL, NULL, "malformed status line" },
    { B("HTTP/1.1 20 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed status line" },
    { B("HTTP/1.1 2000 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/1.1 099 Low\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/1.1  200 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/1.1 2a0 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/1.x 200 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/2 200\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed status line" },
    { B("http/1.1 200 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B(" HTTP/1.1 200 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("HTTP/1.1 200 OK\r\n" "\0"), NO, 0, NULL, 0, NULL, NULL, "malformed headers" },
    { B("\0HTTP/1.1 200 OK\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("<html><body>It works!</body></html>\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("\xff\xfe\x00\x01garbage\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed status line" },
    { B("\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed status line" },
    /* headers: missing colon, empty or odd names, truncated */
    { B(H200 "Content-Length 5\r\n\r\nhello"), NO, 0, NULL, 0, NULL, NULL,
      "malformed headers" },
    { B(H200 ": no name\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed headers" },
    { B(H200 "Content-Length : 5\r\n\r\nhello"), NO, 0, NULL, 0, NULL, NULL,
      "malformed headers" },
    { B(H200 " Folded: x\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed headers" },
    { B(H200 "X-\xc3\xa9: v\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed headers" },
    { B(H200 "Content-Length: 5\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed headers" },
    { B(H200 "Content-Length: 5"), NO, 0, NULL, 0, NULL, NULL, "malformed headers" },
    /* Content-Length */
    { B(H200 "Content-Length: 10\r\n\r\nshort"), NO, 0, NULL, 0, NULL, NULL,
      "truncated body" },
    { B(H200 "Content-Length: 1\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "truncated body" },
    { B(H200 "Content-Length: -1\r\n\r\nx"), NO, 0, NULL, 0, NULL, NULL,
      "malformed Content-Length" },
    { B(H200 "Content-Length: +1\r\n\r\nx"), NO, 0, NULL, 0, NULL, NULL,
      "malformed Content-Length" },
    { B(H200 "Content-Length: abc\r\n\r\nx"), NO, 0, NULL, 0, NULL, NULL,
      "malformed Content-Length" },
    { B(H200 "Content-Length: 1x\r\n\r\nx"), NO, 0, NULL, 0, NULL, NULL,
      "malformed Content-Length" },
    { B(H200 "Content-Length:\r\n\r\nx"), NO, 0, NULL, 0, NULL, NULL,
      "malformed Content-Length" },
    { B(H200 "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx"), NO, 0, NULL, 0,
      NULL, NULL, "malformed Content-Length" },
    { B(H200 "Content-Length: 99999999999999999999999999\r\n\r\nx"), NO, 0, NULL, 0,
      NULL, NULL, "malformed Content-Length" },
    { B(H200 "Content-Length: 4294967296\r\n\r\nx"), NO, 0, NULL, 0,
      NULL, NULL, "truncated body" },
    /* chunked: truncated, oversized, garbage */
    { B(H200 CHUNKED "\r\n4\r\nWi"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n4\r\nWiki\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n4\r\nWiki"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n"), NO, 0, NULL, 0, NULL, NULL, "malformed chunked body" },
    { B(H200 CHUNKED "\r\n4\r\nWikiX\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0,
      NULL, NULL, "malformed chunked body" },
    { B(H200 CHUNKED "\r\n10000000000000001\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0,
      NULL, NULL, "malformed chunked body" },
    { B(H200 CHUNKED "\r\n40001\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n5\r\nabc\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\ng\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n4x\r\nWiki\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n-1\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n 4\r\nWiki\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n\r\nWiki\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
    { B(H200 CHUNKED "\r\n\xc3\xa9\r\nx\r\n0\r\n\r\n"), NO, 0, NULL, 0, NULL, NULL,
      "malformed chunked body" },
};

START_TEST(answer_table)
{
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_status_t rv = kyl_http_parse_answer(tp, answer_cases[_i].in,
                                            answer_cases[_i].len, &ans, &err);

    ck_assert_msg(rv == answer_cases[_i].rv, "case %d: rv %d (%s)", _i, rv,
                  err ? err : "-");
    ck_assert_int_eq(ans.status, answer_cases[_i].status);
    if (rv != APR_SUCCESS) {
        ck_assert_str_eq(err, answer_cases[_i].err);
        ck_assert_ptr_null(ans.body);
        return;
    }
    ck_assert_uint_eq(ans.len, answer_cases[_i].blen);
    ck_assert_int_eq(memcmp(ans.body, answer_cases[_i].body, ans.len), 0);
    ck_assert_int_eq(ans.body[ans.len], '\0');
    ck_assert_ptr_nonnull(ans.headers);
    if (answer_cases[_i].hname != NULL) {
        const char *v = apr_table_get(ans.headers, answer_cases[_i].hname);

        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v, answer_cases[_i].hval);
    }
}
END_TEST

/* An answer of n bytes: status line, Content-Length, 'x' up to n. */
static char *sized_answer(apr_size_t n)
{
    char *a = apr_palloc(tp, n + 1);
    apr_size_t head = (apr_size_t)apr_snprintf(a, n, H200 "Content-Length: %06u\r\n\r\n",
                                               0u);

    apr_snprintf(a, n, H200 "Content-Length: %06u\r\n\r\n", (unsigned)(n - head));
    memset(a + head, 'x', n - head);
    return a;
}

START_TEST(answer_null_and_large)
{
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_size_t n = 2 * KYL_HTTP_MAX_ANSWER;

    ck_assert_int_eq(kyl_http_parse_answer(tp, NULL, 0, &ans, &err), APR_EINVAL);
    ck_assert_str_eq(err, "empty answer");
    ck_assert_int_eq(kyl_http_parse_answer(tp, sized_answer(n), n, &ans, &err),
                     APR_SUCCESS);
    ck_assert_uint_eq(ans.len, n - strlen(H200 "Content-Length: 000000\r\n\r\n"));
}
END_TEST

/* The parser reads only len bytes: answers cut at every length fail or
 * succeed without reading past the cut (ASan in the sanitizer build). */
START_TEST(answer_every_prefix)
{
    static const char full[] = H200 CHUNKED "X-A: b\r\n\r\n4;e=1\r\nWiki\r\n"
                               "5\r\npedia\r\n0\r\nT: v\r\n\r\n";
    apr_size_t n;

    for (n = 0; n <= sizeof(full) - 1; n++) {
        char *cut = malloc(n ? n : 1);
        kyl_http_answer_t ans;
        const char *err = NULL;
        apr_status_t rv;

        memcpy(cut, full, n);
        rv = kyl_http_parse_answer(tp, cut, n, &ans, &err);
        /* the last chunk is complete once "0\r\n" came */
        if (n >= sizeof(full) - 1 - strlen("T: v\r\n\r\n")) {
            ck_assert_msg(rv == APR_SUCCESS, "length %u: %s", (unsigned)n, err);
            ck_assert_str_eq(ans.body, "Wikipedia");
        }
        else {
            ck_assert_msg(rv != APR_SUCCESS, "length %u accepted", (unsigned)n);
            ck_assert_ptr_nonnull(err);
        }
        free(cut);
    }
}
END_TEST

/* ---- kyl_http_get against a scripted server --------------------------------- */

typedef enum {
    SRV_ANSWER,         /* send the canned bytes, close */
    SRV_CLOSE,          /* close without answering */
    SRV_HANG,           /* read the request, never answer */
    SRV_TRICKLE,        /* one byte of the answer every 20 ms */
    SRV_TLS,            /* TLS handshake (srv_t.tls), then as SRV_ANSWER */
    SRV_BLURT,          /* send the canned bytes at once, unasked, close */
    SRV_SHUT            /* close at once */
} srv_act_e;

typedef struct {
    srv_act_e act;
    const char *answer;
    apr_size_t len;
    apr_pool_t *pool;               /* the server thread's own */
    apr_socket_t *listener;
    apr_port_t port;
    apr_thread_t *thread;
    SSL_CTX *tls;                   /* SRV_TLS: the server's certificate */
    char request[2048];             /* what the client sent */
} srv_t;

/* SRV_TLS: a blocking TLS exchange on the accepted socket. */
static void srv_tls(srv_t *s, apr_socket_t *c)
{
    apr_os_sock_t fd;
    SSL *ssl = SSL_new(s->tls);
    size_t n, used = 0;

    apr_socket_timeout_set(c, -1);
    apr_os_sock_get(&fd, c);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        while (used < sizeof(s->request) - 1 && !strstr(s->request, "\r\n\r\n")
               && SSL_read_ex(ssl, s->request + used, sizeof(s->request) - 1 - used, &n)) {
            used += n;
            s->request[used] = '\0';
        }
        SSL_write_ex(ssl, s->answer, s->len, &n);
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
}

static void *APR_THREAD_FUNC srv_run(apr_thread_t *t, void *data)
{
    srv_t *s = data;
    apr_socket_t *c;

    (void)t;
    if (kyl_test_accept(s->listener, s->pool, &c, apr_time_from_sec(3)) != APR_SUCCESS) {
        return NULL;
    }
    apr_socket_timeout_set(c, apr_time_from_sec(3));
    if (s->act == SRV_TLS) {
        srv_tls(s, c);
    }
    else if (s->act == SRV_BLURT) {
        kyl_test_send(c, s->answer, s->len, 0, 0);
        kyl_test_drain(c);      /* a close with unread bytes would be a reset */
    }
    if (s->act == SRV_TLS || s->act == SRV_BLURT || s->act == SRV_SHUT) {
        apr_socket_close(c);
        return NULL;
    }
    kyl_test_read_head(c, s->request, sizeof(s->request));
    if (s->act == SRV_HANG) {
        kyl_test_drain(c);
    }
    else if (s->act == SRV_TRICKLE) {
        kyl_test_send(c, s->answer, s->len, 1, apr_time_from_msec(20));
    }
    else if (s->act != SRV_CLOSE) {
        kyl_test_send(c, s->answer, s->len, 0, 0);
    }
    apr_socket_close(c);
    return NULL;            /* not apr_thread_exit(): pthread_exit() trips ASan */
}

static SSL_CTX *next_tls;           /* the next SRV_TLS server's context */

static void srv_start(srv_t *s, srv_act_e act, const char *answer, apr_size_t len)
{
    memset(s, 0, sizeof(*s));
    s->tls = next_tls;
    s->act = act;
    s->answer = answer;
    s->len = len;
    ck_assert_int_eq(apr_pool_create(&s->pool, NULL), APR_SUCCESS);
    s->port = kyl_test_listen(s->pool, &s->listener);
    ck_assert_int_eq(apr_thread_create(&s->thread, NULL, srv_run, s, s->pool),
                     APR_SUCCESS);
}

static void srv_stop(srv_t *s)
{
    apr_status_t trv;

    apr_thread_join(&trv, s->thread);
    apr_pool_destroy(s->pool);
}

static kyl_http_target_t target(apr_port_t port)
{
    kyl_http_target_t t;

    memset(&t, 0, sizeof(t));
    t.host = "127.0.0.1";
    t.port = port;
    t.host_header = apr_psprintf(tp, "127.0.0.1:%u", (unsigned)port);
    return t;
}


static const struct {
    srv_act_e act;
    const char *answer;
    apr_size_t len;
    int deadline_ms;
    apr_status_t rv;            /* APR_SUCCESS, or any failure (-1) */
    int status;
    const char *body;
    const char *err;            /* expected prefix of err */
    int tls;                    /* the member is https */
} get_cases[] = {
    { SRV_ANSWER, B(H200 "Content-Type: application/json\r\nContent-Length: 15\r\n"
                    "Connection: close\r\n\r\n" HEALTH), 2000, OK, 200, HEALTH, NULL,
      0 },
    { SRV_ANSWER, B(H200 CHUNKED "\r\n7\r\n{\"statu\r\n8\r\ns\":\"UP\"}\r\n0\r\n\r\n"),
      2000, OK, 200, HEALTH, NULL, 0 },
    { SRV_ANSWER, B(TOMCAT_401), 2000, OK, 401,
      "<html><body>HTTP Status 401 - Unauthorized</body></html>", NULL, 0 },
    { SRV_ANSWER, B("HTTP/1.1 404 Not Found\r\n\r\n"), 2000, OK, 404, "", NULL, 0 },
    { SRV_TRICKLE, B(H200 "Content-Length: 2\r\n\r\nok"), 2000, OK, 200, "ok", NULL,
      0 },
    { SRV_CLOSE, NULL, 0, 2000, -1, 0, NULL, "empty answer", 0 },
    { SRV_ANSWER, B("garbage\r\n\r\n"), 2000, -1, 0, NULL, "malformed status line",
      0 },
    { SRV_ANSWER, B(H200 "Content-Length: 100\r\n\r\ncut short"), 2000, -1, 0, NULL,
      "truncated body", 0 },
    { SRV_ANSWER, B(H200 CHUNKED "\r\n100\r\ncut short"), 2000, -1, 0, NULL,
      "malformed chunked body", 0 },
    { SRV_HANG, NULL, 0, 200, -1, 0, NULL, "receive: timed out", 0 },
    /* an answer in progress does not extend the deadline */
    { SRV_TRICKLE, B(H200 "Content-Length: 200\r\n\r\n"
                     "0123456789012345678901234567890123456789"
                     "0123456789012345678901234567890123456789"), 200, -1, 0, NULL,
      "receive: timed out", 0 },
    /* https to a plain-HTTP port, one that closes at once, a silent one:
     * the handshake fails with the reason, within the deadline */
    { SRV_BLURT, B("HTTP/1.1 400 Bad Request\r\n\r\n"), 500, -1, 0, NULL,
      "TLS handshake: error:", 1 },
    { SRV_SHUT, NULL, 0, 500, -1, 0, NULL, "TLS handshake: the node closed", 1 },
    { SRV_HANG, NULL, 0, 200, -1, 0, NULL, "TLS handshake: timed out", 1 },
};

START_TEST(get_table)
{
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_time_t start;
    apr_interval_time_t took;
    apr_status_t rv;

    srv_start(&s, get_cases[_i].act, get_cases[_i].answer, get_cases[_i].len);
    t = target(s.port);
    t.tls = get_cases[_i].tls;
    start = apr_time_now();
    rv = kyl_http_get(tp, &t, "/kylin/api/health", "application/json", NULL,
                      start + apr_time_from_msec(get_cases[_i].deadline_ms), &ans,
                      &err);
    took = apr_time_now() - start;
    srv_stop(&s);
    if (get_cases[_i].rv == APR_SUCCESS) {
        ck_assert_msg(rv == APR_SUCCESS, "case %d: %s", _i, err ? err : "-");
        ck_assert_int_eq(ans.status, get_cases[_i].status);
        ck_assert_str_eq(ans.body, get_cases[_i].body);
        ck_assert_ptr_null(err);
    }
    else {
        ck_assert_msg(rv != APR_SUCCESS, "case %d succeeded", _i);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strncmp(err, get_cases[_i].err, strlen(get_cases[_i].err)) == 0,
                      "case %d: err '%s'", _i, err);
        ck_assert_int_eq(ans.status, 0);
    }
    /* the deadline holds, with a little slack for scheduling */
    ck_assert_msg(took < apr_time_from_msec(get_cases[_i].deadline_ms + 100),
                  "case %d took %d ms", _i, (int)apr_time_as_msec(took));
}
END_TEST

START_TEST(get_deadline_200ms)
{
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_time_t start;
    apr_interval_time_t took;

    srv_start(&s, SRV_HANG, NULL, 0);
    t = target(s.port);
    start = apr_time_now();
    ck_assert_int_ne(kyl_http_get(tp, &t, "/", NULL, NULL,
                                  start + apr_time_from_msec(200), &ans, &err),
                     APR_SUCCESS);
    took = apr_time_now() - start;
    srv_stop(&s);
    ck_assert_str_eq(err, "receive: timed out");
    ck_assert_msg(took >= apr_time_from_msec(190) && took < apr_time_from_msec(300),
                  "200 ms deadline took %d ms", (int)apr_time_as_msec(took));
}
END_TEST

/* What goes on the wire: one GET, Host, Connection: close, and Accept and
 * Authorization only when given. */
START_TEST(get_request_headers)
{
    static const char answer[] = H200 "Content-Length: 2\r\n\r\nok";
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;
    char want[128];

    srv_start(&s, SRV_ANSWER, B(answer));
    t = target(s.port);
    ck_assert_int_eq(kyl_http_get(tp, &t, "/kylin/api/system/servers?ext=true",
                                  "application/vnd.apache.kylin-v4-public+json",
                                  "Basic QURNSU46S1lMSU4=", apr_time_now()
                                  + apr_time_from_sec(2), &ans, &err), APR_SUCCESS);
    srv_stop(&s);
    ck_assert_ptr_eq(strstr(s.request, "GET /kylin/api/system/servers?ext=true "
                            "HTTP/1.1\r\n"), s.request);
    apr_snprintf(want, sizeof(want), "\r\nHost: 127.0.0.1:%u\r\n", (unsigned)s.port);
    ck_assert_ptr_nonnull(strstr(s.request, want));
    ck_assert_ptr_nonnull(strstr(s.request, "\r\nConnection: close\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "\r\nAccept: application/vnd.apache."
                                 "kylin-v4-public+json\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "\r\nAuthorization: Basic "
                                 "QURNSU46S1lMSU4=\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "\r\nUser-Agent: "));

    srv_start(&s, SRV_ANSWER, B(answer));
    t = target(s.port);
    ck_assert_int_eq(kyl_http_get(tp, &t, "/kylin/api/health", NULL, NULL,
                                  apr_time_now() + apr_time_from_sec(2), &ans, &err),
                     APR_SUCCESS);
    srv_stop(&s);
    ck_assert_ptr_null(strstr(s.request, "Accept:"));
    ck_assert_ptr_null(strstr(s.request, "Authorization:"));
    ck_assert_str_eq(s.request + strlen(s.request) - 4, "\r\n\r\n");
}
END_TEST

static const struct {
    apr_size_t size;
    apr_status_t rv;
} size_cases[] = {
    { 8191, APR_SUCCESS },
    { 8192, APR_SUCCESS },
    { 8193, APR_SUCCESS },
    { KYL_HTTP_MAX_ANSWER - 1, APR_SUCCESS },
    { KYL_HTTP_MAX_ANSWER, APR_SUCCESS },
    { KYL_HTTP_MAX_ANSWER + 1, APR_ENOSPC },
    { KYL_HTTP_MAX_ANSWER + 300 * 1024, APR_ENOSPC },
};

START_TEST(get_size_limit)
{
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_status_t rv;

    srv_start(&s, SRV_ANSWER, sized_answer(size_cases[_i].size), size_cases[_i].size);
    t = target(s.port);
    rv = kyl_http_get(tp, &t, "/", NULL, NULL, apr_time_now() + apr_time_from_sec(3),
                      &ans, &err);
    srv_stop(&s);
    ck_assert_msg(rv == size_cases[_i].rv, "%u bytes: rv %d (%s)",
                  (unsigned)size_cases[_i].size, rv, err ? err : "-");
    if (rv == APR_SUCCESS) {
        ck_assert_int_eq(ans.status, 200);
        ck_assert_int_eq(ans.body[0], 'x');
    }
    else {
        ck_assert_str_eq(err, "answer too large");
    }
}
END_TEST

START_TEST(get_connect_errors)
{
    kyl_http_target_t t = target(kyl_test_closed_port(tp));
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_time_t start = apr_time_now();

    ck_assert_int_ne(kyl_http_get(tp, &t, "/", NULL, NULL,
                                  start + apr_time_from_sec(2), &ans, &err),
                     APR_SUCCESS);
    ck_assert_msg(strncmp(err, "connect: ", 9) == 0, "err '%s'", err);
    ck_assert_ptr_nonnull(strstr(err, "refused"));
    ck_assert_int_eq(ans.status, 0);

    /* a deadline already past: no attempt, no blocking */
    err = NULL;
    ck_assert_int_ne(kyl_http_get(tp, &t, "/", NULL, NULL, start - 1, &ans, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(err, "connect: timed out");
    ck_assert_msg(apr_time_now() - start < apr_time_from_msec(100), "took too long");
}
END_TEST

/* "localhost" may resolve to ::1 first while the server listens on
 * 127.0.0.1 only: every address is tried in turn. */
START_TEST(get_tries_every_address)
{
    static const char answer[] = H200 "Content-Length: 2\r\n\r\nok";
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;

    srv_start(&s, SRV_ANSWER, B(answer));
    t = target(s.port);
    t.host = "localhost";
    ck_assert_msg(kyl_http_get(tp, &t, "/", NULL, NULL,
                               apr_time_now() + apr_time_from_sec(2), &ans, &err)
                  == APR_SUCCESS, "err '%s'", err ? err : "-");
    srv_stop(&s);
    ck_assert_str_eq(ans.body, "ok");
}
END_TEST

/* ---- over TLS (https members) ------------------------------------------------ */

/* A self-signed certificate for 127.0.0.1 (its own CA), and its PEM. */
static X509 *make_cert(EVP_PKEY **key, const char **pem)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long len;

    *key = EVP_EC_gen("P-256");
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, *key);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               (const unsigned char *)"kylin node", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, *key, EVP_sha256()), 0);
    PEM_write_bio_X509(bio, x);
    len = BIO_get_mem_data(bio, &data);
    *pem = apr_pstrmemdup(tp, data, (apr_size_t)len);
    BIO_free(bio);
    return x;
}

typedef enum { CA_NONE, CA_RIGHT, CA_OTHER } ca_e;

static const struct {
    ca_e ca;
    const char *host;           /* what the member URL names */
    apr_status_t rv;            /* APR_SUCCESS, or any failure (-1) */
    const char *err;            /* expected prefix of err */
} tls_cases[] = {
    { CA_NONE, "127.0.0.1", OK, NULL },     /* encrypted, not verified */
    { CA_RIGHT, "127.0.0.1", OK, NULL },
    { CA_OTHER, "127.0.0.1", -1, "TLS handshake: certificate verify failed" },
    { CA_RIGHT, "localhost", -1, "TLS handshake: certificate verify failed" },
};

START_TEST(get_over_tls)
{
    static const char answer[] = H200 "Content-Length: 15\r\n\r\n" HEALTH;
    EVP_PKEY *key, *other_key;
    X509 *cert, *other;
    const char *pem, *other_pem;
    srv_t s;
    kyl_http_target_t t;
    kyl_http_answer_t ans;
    const char *err = NULL;
    apr_status_t rv;

    cert = make_cert(&key, &pem);
    other = make_cert(&other_key, &other_pem);
    next_tls = SSL_CTX_new(TLS_server_method());
    ck_assert_int_eq(SSL_CTX_use_certificate(next_tls, cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(next_tls, key), 1);
    srv_start(&s, SRV_TLS, B(answer));
    next_tls = NULL;
    t = target(s.port);
    t.host = tls_cases[_i].host;
    t.tls = 1;
    t.ca_pem = tls_cases[_i].ca == CA_RIGHT ? pem
             : tls_cases[_i].ca == CA_OTHER ? other_pem : NULL;
    t.ca_len = t.ca_pem ? strlen(t.ca_pem) : 0;
    rv = kyl_http_get(tp, &t, "/kylin/api/health", NULL, NULL,
                      apr_time_now() + apr_time_from_sec(2), &ans, &err);
    srv_stop(&s);
    SSL_CTX_free(s.tls);
    X509_free(cert);
    X509_free(other);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
    if (tls_cases[_i].rv == OK) {
        ck_assert_msg(rv == APR_SUCCESS, "err '%s'", err ? err : "-");
        ck_assert_int_eq(ans.status, 200);
        ck_assert_str_eq(ans.body, HEALTH);
        ck_assert_ptr_nonnull(strstr(s.request, "GET /kylin/api/health HTTP/1.1"));
    }
    else {
        ck_assert_int_ne(rv, APR_SUCCESS);
        ck_assert_msg(err && strncmp(err, tls_cases[_i].err, strlen(tls_cases[_i].err)) == 0,
                      "err '%s'", err ? err : "-");
    }
}
END_TEST

START_TEST(ca_file_contents)
{
    EVP_PKEY *key;
    const char *pem;
    X509 *cert = make_cert(&key, &pem);

    ck_assert_int_eq(kyl_http_ca_ok(pem, strlen(pem)), 1);
    ck_assert_int_eq(kyl_http_ca_ok(apr_pstrcat(tp, "junk\n", pem, NULL),
                                    strlen(pem) + 5), 1);
    ck_assert_int_eq(kyl_http_ca_ok("not a certificate\n", 18), 0);
    ck_assert_int_eq(kyl_http_ca_ok(pem, 20), 0);
    ck_assert_int_eq(kyl_http_ca_ok(NULL, 0), 0);
    X509_free(cert);
    EVP_PKEY_free(key);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("kyl_http");
    TCase *parse = kyl_tcase("parse");
    TCase *get = kyl_tcase("get");

    tcase_add_loop_test(parse, answer_table, 0, KYL_ARRAY_LEN(answer_cases));
    tcase_add_test(parse, answer_every_prefix);
    tcase_add_test(parse, answer_null_and_large);
    suite_add_tcase(s, parse);

    tcase_add_loop_test(get, get_table, 0, KYL_ARRAY_LEN(get_cases));
    tcase_add_test(get, get_deadline_200ms);
    tcase_add_test(get, get_request_headers);
    tcase_add_loop_test(get, get_size_limit, 0, KYL_ARRAY_LEN(size_cases));
    tcase_add_test(get, get_connect_errors);
    tcase_add_test(get, get_tries_every_address);
    tcase_add_loop_test(get, get_over_tls, 0, KYL_ARRAY_LEN(tls_cases));
    tcase_add_test(get, ca_file_contents);
    suite_add_tcase(s, get);
    return s;
}

KYL_TEST_MAIN(http_suite)
