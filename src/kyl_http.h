/* A small, bounded HTTP/1.1 client for the prober (kyl_probe_* only: it
 * blocks, so it must never run on the request path).  One request per
 * connection ("Connection: close"), over TLS for https members; the whole
 * exchange, handshake included, is bounded by an absolute deadline and the
 * answer by KYL_HTTP_MAX_ANSWER bytes. */
#ifndef KYL_HTTP_H
#define KYL_HTTP_H

#include "kyl_core.h"
#include <apr_network_io.h>
#include <apr_tables.h>

#define KYL_HTTP_MAX_ANSWER (256 * 1024)

typedef struct {
    const char *host;        /* host name or address, as in the member URL */
    apr_port_t port;
    const char *host_header; /* "host:port" */
    int tls;                 /* https: TLS first (SNI for a host name) */
    const char *ca_pem;      /* with tls: PEM certificates the node's must
                              * chain to, its name (or address) checked too;
                              * NULL: encrypted but not verified, as
                              * mod_proxy's default SSLProxyVerify none */
    apr_size_t ca_len;
} kyl_http_target_t;

typedef struct {
    int status;              /* 0 when no answer */
    apr_table_t *headers;
    const char *body;        /* NUL-terminated copy, chunked already decoded */
    apr_size_t len;
} kyl_http_answer_t;

/* GET path (with query string) from t.  accept and auth (a full
 * "Basic ..." value) may be NULL.  On APR_SUCCESS *ans holds a parsed answer
 * of any status; otherwise *err says what failed ("connect: Connection
 * refused", "timed out after 2000 ms", "malformed status line", ...). */
apr_status_t kyl_http_get(apr_pool_t *p, const kyl_http_target_t *t,
                          const char *path, const char *accept,
                          const char *auth, apr_time_t deadline,
                          kyl_http_answer_t *ans, const char **err);

/* 1 when pem holds at least one PEM certificate (KylinProbeCAFile). */
int kyl_http_ca_ok(const char *pem, apr_size_t len);

/* Parses a complete answer held in buf (status line, headers, body); used
 * by kyl_http_get and exposed for unit tests and fuzzing. */
apr_status_t kyl_http_parse_answer(apr_pool_t *p, const char *buf,
                                   apr_size_t len, kyl_http_answer_t *ans,
                                   const char **err);

#endif
