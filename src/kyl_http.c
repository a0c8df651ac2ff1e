/* A bounded HTTP/1.1 GET client for the prober, plain or over TLS. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_poll.h>
#include <apr_portable.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "kyl_http.h"

#define KYL_HTTP_READ_CHUNK 8192

static apr_interval_time_t remaining(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();
    return left > 0 ? left : 0;
}

static const char *fail(apr_pool_t *p, const char *what, apr_status_t rv)
{
    char buf[120];

    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv)) {
        return apr_psprintf(p, "%s: timed out", what);
    }
    return apr_psprintf(p, "%s: %s", what, apr_strerror(rv, buf, sizeof(buf)));
}

/* Connects to the first address of t that accepts before the deadline. */
static apr_status_t connect_to(apr_socket_t **sock, apr_pool_t *p,
                               const kyl_http_target_t *t, apr_time_t deadline,
                               const char **err)
{
    apr_sockaddr_t *sa;
    apr_status_t rv;

    rv = apr_sockaddr_info_get(&sa, t->host, APR_UNSPEC, t->port, 0, p);
    if (rv != APR_SUCCESS) {
        *err = fail(p, "resolve", rv);
        return rv;
    }
    for (; sa != NULL; sa = sa->next) {
        apr_interval_time_t left = remaining(deadline);

        if (left == 0) {        /* a zero timeout would mean non-blocking */
            rv = APR_TIMEUP;
            break;
        }
        rv = apr_socket_create(sock, sa->family, SOCK_STREAM, APR_PROTO_TCP, p);
        if (rv != APR_SUCCESS) {
            continue;           /* e.g. IPv6 disabled: try the next address */
        }
        apr_socket_opt_set(*sock, APR_TCP_NODELAY, 1);
        apr_socket_timeout_set(*sock, left);
        if ((rv = apr_socket_connect(*sock, sa)) == APR_SUCCESS) {
            return rv;
        }
        apr_socket_close(*sock);
    }
    *err = fail(p, "connect", rv);
    return rv;
}

/* One connection: the socket, and its TLS session for https. */
typedef struct {
    apr_socket_t *sock;
    apr_pool_t *p;
    SSL_CTX *ctx;
    SSL *ssl;
} kyl_conn_t;

/* TLS on a non-blocking socket: waits, until the deadline, for what
 * OpenSSL asked for after ret. */
static apr_status_t tls_wait(kyl_conn_t *c, int ret, apr_time_t deadline)
{
    int e = SSL_get_error(c->ssl, ret);
    apr_interval_time_t left = remaining(deadline);
    apr_pollfd_t pfd;
    apr_int32_t n;

    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        return e == SSL_ERROR_ZERO_RETURN ? APR_EOF
             : e == SSL_ERROR_SYSCALL ? APR_ECONNRESET : APR_EGENERAL;
    }
    if (left == 0) {
        return APR_TIMEUP;
    }
    memset(&pfd, 0, sizeof(pfd));
    pfd.p = c->p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.desc.s = c->sock;
    pfd.reqevents = e == SSL_ERROR_WANT_READ ? APR_POLLIN : APR_POLLOUT;
    return apr_poll(&pfd, 1, &n, left);
}

/* What OpenSSL says went wrong, for the status page and the log. */
static const char *tls_error(apr_pool_t *p, const kyl_conn_t *c, apr_status_t rv)
{
    char buf[256];
    unsigned long e = ERR_peek_last_error();
    long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

    ERR_clear_error();
    if (v != X509_V_OK) {
        return apr_psprintf(p, "TLS handshake: certificate verify failed: %s",
                            X509_verify_cert_error_string(v));
    }
    if (APR_STATUS_IS_EOF(rv) || APR_STATUS_IS_ECONNRESET(rv)) {
        return "TLS handshake: the node closed the connection";
    }
    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        return apr_psprintf(p, "TLS handshake: %s", buf);
    }
    return fail(p, "TLS handshake", rv == APR_SUCCESS ? APR_EGENERAL : rv);
}

static int is_address(const char *host)
{
    return strchr(host, ':') != NULL || strspn(host, "0123456789.") == strlen(host);
}

/* Every certificate of pem into the context's store; the count added. */
static int add_certs(SSL_CTX *ctx, const char *pem, apr_size_t len)
{
    X509_STORE *store = ctx ? SSL_CTX_get_cert_store(ctx) : NULL;
    BIO *bio;
    X509 *x;
    int n = 0;

    if (len > (apr_size_t)APR_INT32_MAX
        || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
        return 0;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        n += store == NULL || X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
    }
    ERR_clear_error();      /* the end of the input reads as an error */
    BIO_free(bio);
    return n;
}

int kyl_http_ca_ok(const char *pem, apr_size_t len)
{
    return pem != NULL && add_certs(NULL, pem, len) > 0;
}

/* Ends the connection: a TLS close_notify when the handshake was done
 * (one try, no wait), then the socket.  OpenSSL's error queue is per
 * thread: emptied here, so the next probe's errors are its own. */
static void conn_close(kyl_conn_t *c)
{
    if (c->ssl) {
        if (SSL_is_init_finished(c->ssl)) {
            SSL_shutdown(c->ssl);
        }
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    ERR_clear_error();
    apr_socket_close(c->sock);
}

/* The TLS handshake, with the checks t asks for. */
static apr_status_t tls_start(kyl_conn_t *c, const kyl_http_target_t *t,
                              apr_time_t deadline, const char **err)
{
    apr_os_sock_t fd;
    apr_status_t rv = APR_EGENERAL;
    int ret, address = is_address(t->host);

    if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL
        || (c->ssl = SSL_new(c->ctx)) == NULL
        || apr_os_sock_get(&fd, c->sock) != APR_SUCCESS
        || SSL_set_fd(c->ssl, fd) != 1) {
        *err = tls_error(c->p, c, rv);
        return rv;
    }
    SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!address) {
        SSL_set_tlsext_host_name(c->ssl, t->host);
    }
    if (t->ca_pem) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

        if (add_certs(c->ctx, t->ca_pem, t->ca_len) == 0
            || (address ? X509_VERIFY_PARAM_set1_ip_asc(vp, t->host)
                        : X509_VERIFY_PARAM_set1_host(vp, t->host, 0)) != 1) {
            *err = "TLS: no usable certificate in KylinProbeCAFile";
            return APR_EGENERAL;
        }
        SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    }
    apr_socket_opt_set(c->sock, APR_SO_NONBLOCK, 1);
    while ((ret = SSL_connect(c->ssl)) != 1) {
        if ((rv = tls_wait(c, ret, deadline)) != APR_SUCCESS) {
            *err = APR_STATUS_IS_TIMEUP(rv) ? fail(c->p, "TLS handshake", rv)
                                            : tls_error(c->p, c, rv);
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* One send (out) or receive of up to *n bytes, plain or TLS, within the
 * deadline; a receive gives APR_EOF (or 0 bytes) when the peer is done. */
static apr_status_t conn_io(kyl_conn_t *c, int out, char *buf, apr_size_t *n,
                           apr_time_t deadline)
{
    size_t done = 0;
    int ret;
    apr_status_t rv;

    if (c->ssl == NULL) {
        apr_socket_timeout_set(c->sock, remaining(deadline));
        return out ? apr_socket_send(c->sock, buf, n)
                   : apr_socket_recv(c->sock, buf, n);
    }
    while ((ret = out ? SSL_write_ex(c->ssl, buf, *n, &done)
                      : SSL_read_ex(c->ssl, buf, *n, &done)) != 1) {
        if ((rv = tls_wait(c, ret, deadline)) != APR_SUCCESS) {
            *n = 0;
            return rv;
        }
    }
    *n = done;
    return APR_SUCCESS;
}

static apr_status_t send_all(kyl_conn_t *c, const char *buf, apr_size_t len,
                             apr_time_t deadline)
{
    while (len > 0) {
        apr_size_t n = len;
        apr_status_t rv;

        if (remaining(deadline) == 0) {
            return APR_TIMEUP;
        }
        rv = conn_io(c, 1, (char *)buf, &n, deadline);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        buf += n;
        len -= n;
    }
    return APR_SUCCESS;
}

/* Reads until the peer closes (we asked for Connection: close); an answer
 * of more than KYL_HTTP_MAX_ANSWER bytes is APR_ENOSPC. */
static apr_status_t recv_all(kyl_conn_t *c, apr_time_t deadline, char **out,
                             apr_size_t *len)
{
    apr_size_t cap = KYL_HTTP_READ_CHUNK, used = 0;
    char *buf = apr_palloc(c->p, cap + 1);

    for (;;) {
        apr_size_t n;
        apr_status_t rv;

        if (remaining(deadline) == 0) {
            return APR_TIMEUP;
        }
        if (used == cap) {
            char *bigger;

            if (cap > KYL_HTTP_MAX_ANSWER) {
                return APR_ENOSPC;
            }
            /* one byte more than the limit tells "too large" from "full" */
            cap = cap * 2 > KYL_HTTP_MAX_ANSWER ? KYL_HTTP_MAX_ANSWER + 1
                                                : cap * 2;
            bigger = apr_palloc(c->p, cap + 1);
            memcpy(bigger, buf, used);
            buf = bigger;
        }
        n = cap - used;
        rv = conn_io(c, 0, buf + used, &n, deadline);
        used += n;
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && n == 0)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return APR_SUCCESS;
}

apr_status_t kyl_http_get(apr_pool_t *p, const kyl_http_target_t *t,
                          const char *path, const char *accept,
                          const char *auth, apr_time_t deadline,
                          kyl_http_answer_t *ans, const char **err)
{
    kyl_conn_t c;
    apr_status_t rv;
    char *req, *buf = NULL;
    apr_size_t len = 0;

    memset(ans, 0, sizeof(*ans));
    memset(&c, 0, sizeof(c));
    c.p = p;
    *err = NULL;
    rv = connect_to(&c.sock, p, t, deadline, err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (t->tls && (rv = tls_start(&c, t, deadline, err)) != APR_SUCCESS) {
        conn_close(&c);
        return rv;
    }
    req = apr_pstrcat(p, "GET ", path, " HTTP/1.1\r\nHost: ", t->host_header,
                      "\r\nUser-Agent: mod_kylin_balancer-probe"
                      "\r\nConnection: close\r\n",
                      accept ? "Accept: " : "", accept ? accept : "",
                      accept ? "\r\n" : "",
                      auth ? "Authorization: " : "", auth ? auth : "",
                      auth ? "\r\n" : "", "\r\n", NULL);
    rv = send_all(&c, req, strlen(req), deadline);
    if (rv != APR_SUCCESS) {
        *err = fail(p, "send", rv);
    }
    else if ((rv = recv_all(&c, deadline, &buf, &len)) != APR_SUCCESS) {
        *err = rv == APR_ENOSPC ? "answer too large"
                                : fail(p, "receive", rv);
    }
    conn_close(&c);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return kyl_http_parse_answer(p, buf, len, ans, err);
}

/* Finds the end of the line starting at s (CRLF or bare LF). */
static const char *line_end(const char *s, const char *end, const char **next)
{
    const char *nl = memchr(s, '\n', (apr_size_t)(end - s));

    if (nl == NULL) {
        return NULL;
    }
    *next = nl + 1;
    return (nl > s && nl[-1] == '\r') ? nl - 1 : nl;
}

static apr_status_t parse_status(const char *s, const char *e, int *status)
{
    int code = 0, i;

    if (e - s < 12 || strncmp(s, "HTTP/1.", 7) != 0 || !apr_isdigit(s[7])
        || s[8] != ' ') {
        return APR_EINVAL;
    }
    for (i = 9; i < 12; i++) {
        if (!apr_isdigit(s[i])) {
            return APR_EINVAL;
        }
        code = code * 10 + (s[i] - '0');
    }
    if (code < 100 || (e - s > 12 && s[12] != ' ')) {
        return APR_EINVAL;
    }
    *status = code;
    return APR_SUCCESS;
}

/* A field name: visible ASCII, no separator that a parser could confuse
 * ("Content-Length : 5" must not slip past the Content-Length check). */
static int field_name_ok(const char *s, const char *e)
{
    for (; s < e; s++) {
        unsigned char c = (unsigned char)*s;

        if (c <= 0x20 || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

static apr_status_t parse_headers(apr_pool_t *p, const char **pos,
                                  const char *end, apr_table_t *h)
{
    const char *s = *pos, *next, *e;

    while ((e = line_end(s, end, &next)) != NULL) {
        const char *colon, *v;

        if (e == s) {
            *pos = next;
            return APR_SUCCESS;
        }
        colon = memchr(s, ':', (apr_size_t)(e - s));
        if (colon == NULL || colon == s || !field_name_ok(s, colon)) {
            return APR_EINVAL;
        }
        for (v = colon + 1; v < e && (*v == ' ' || *v == '\t'); v++) {
        }
        while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        apr_table_addn(h, apr_pstrmemdup(p, s, (apr_size_t)(colon - s)),
                       apr_pstrmemdup(p, v, (apr_size_t)(e - v)));
        s = next;
    }
    return APR_EINVAL;
}

/* The size of the chunk-size line s..e ("1a", "1a;ext=v", "1a ; ext"). */
static apr_status_t chunk_size(const char *s, const char *e, apr_size_t *size)
{
    const char *d;
    apr_size_t n = 0;

    for (d = s; d < e && apr_isxdigit(*d); d++) {
        if (n > KYL_HTTP_MAX_ANSWER) {
            return APR_EINVAL;
        }
        n = n * 16 + (apr_size_t)(apr_isdigit(*d) ? *d - '0'
                                  : apr_tolower(*d) - 'a' + 10);
    }
    while (d < e && (*d == ' ' || *d == '\t')) {
        d++;
    }
    if (d == s || (d < e && *d != ';')) {
        return APR_EINVAL;
    }
    *size = n;
    return APR_SUCCESS;
}

/* Decodes a chunked body into a new buffer; trailers are ignored. */
static apr_status_t dechunk(apr_pool_t *p, const char *s, const char *end,
                            char **out, apr_size_t *outlen)
{
    char *buf = apr_palloc(p, (apr_size_t)(end - s) + 1);
    apr_size_t used = 0, size;

    for (;;) {
        const char *next, *e = line_end(s, end, &next);

        if (e == NULL || chunk_size(s, e, &size) != APR_SUCCESS
            || size > (apr_size_t)(end - next)) {
            return APR_EINVAL;
        }
        if (size == 0) {
            break;
        }
        memcpy(buf + used, next, size);
        used += size;
        s = next + size;
        if (s < end && *s == '\r') {
            s++;
        }
        if (s == end || *s != '\n') {
            return APR_EINVAL;          /* chunk data must end with CRLF */
        }
        s++;
    }
    buf[used] = '\0';
    *out = buf;
    *outlen = used;
    return APR_SUCCESS;
}

/* 1 when the last transfer coding of te is "chunked". */
static int is_chunked(const char *te)
{
    const char *last = strrchr(te, ',');

    last = last ? last + 1 : te;
    while (*last == ' ' || *last == '\t') {
        last++;
    }
    return strcasecmp(last, "chunked") == 0;
}

/* Content-Length: digits only.  Several headers are refused too, even
 * equal ones: apr_table_getm joins them with ", ". */
static apr_status_t content_length(const char *cl, apr_size_t *n)
{
    apr_size_t v = 0;

    if (*cl == '\0') {
        return APR_EINVAL;
    }
    for (; *cl; cl++) {
        if (!apr_isdigit(*cl) || v > (APR_SIZE_MAX - 9) / 10) {
            return APR_EINVAL;
        }
        v = v * 10 + (apr_size_t)(*cl - '0');
    }
    *n = v;
    return APR_SUCCESS;
}

static apr_status_t take_body(apr_pool_t *p, const char *s, const char *end,
                              kyl_http_answer_t *ans, const char **err)
{
    const char *te = apr_table_getm(p, ans->headers, "Transfer-Encoding");
    const char *cl = apr_table_getm(p, ans->headers, "Content-Length");
    char *body;
    apr_size_t len = (apr_size_t)(end - s), n;

    if (te && is_chunked(te)) {
        if (dechunk(p, s, end, &body, &len) != APR_SUCCESS) {
            *err = "malformed chunked body";
            return APR_EINVAL;
        }
        ans->body = body;
        ans->len = len;
        return APR_SUCCESS;
    }
    if (cl && !te) {            /* another coding: the body runs to close */
        if (content_length(cl, &n) != APR_SUCCESS) {
            *err = "malformed Content-Length";
            return APR_EINVAL;
        }
        if (n > len) {
            *err = "truncated body";
            return APR_EINVAL;
        }
        len = n;
    }
    ans->body = apr_pstrmemdup(p, s, len);
    ans->len = len;
    return APR_SUCCESS;
}

apr_status_t kyl_http_parse_answer(apr_pool_t *p, const char *buf,
                                   apr_size_t len, kyl_http_answer_t *ans,
                                   const char **err)
{
    const char *end, *next, *e;
    apr_status_t rv;

    memset(ans, 0, sizeof(*ans));
    if (buf == NULL || len == 0) {
        *err = "empty answer";
        return APR_EINVAL;
    }
    end = buf + len;
    e = line_end(buf, end, &next);
    if (e == NULL || parse_status(buf, e, &ans->status) != APR_SUCCESS) {
        *err = "malformed status line";
        ans->status = 0;
        return APR_EINVAL;
    }
    ans->headers = apr_table_make(p, 8);
    if (parse_headers(p, &next, end, ans->headers) != APR_SUCCESS) {
        *err = "malformed headers";
        rv = APR_EINVAL;
    }
    else {
        rv = take_body(p, next, end, ans, err);
    }
    if (rv != APR_SUCCESS) {
        memset(ans, 0, sizeof(*ans));       /* status 0: no answer */
    }
    return rv;
}
