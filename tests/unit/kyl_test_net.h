/* Loopback socket helpers shared by the unit tests that run a small
 * in-test HTTP server on a thread (test_kyl_http.c, test_kyl_probe.c):
 * listen on 127.0.0.1:0, accept with a timeout, read a request head, send
 * everything, drain until the client goes away, find a closed port. */
#ifndef KYL_TEST_NET_H
#define KYL_TEST_NET_H

#include <signal.h>
#include <string.h>
#include <apr_network_io.h>
#include <apr_poll.h>
#include "kyl_test.h"

/* Listens on an ephemeral loopback port; returns the port. */
static apr_port_t kyl_test_listen(apr_pool_t *p, apr_socket_t **listener)
{
    apr_sockaddr_t *sa;

    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, p),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(listener, APR_INET, SOCK_STREAM,
                                       APR_PROTO_TCP, p), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_bind(*listener, sa), APR_SUCCESS);
    ck_assert_int_eq(apr_socket_listen(*listener, 8), APR_SUCCESS);
    apr_socket_addr_get(&sa, APR_LOCAL, *listener);
    return sa->port;
}

/* apr_socket_accept does not wait for a timeout: poll first. */
static apr_status_t kyl_test_accept(apr_socket_t *listener, apr_pool_t *p,
                                    apr_socket_t **c, apr_interval_time_t timeout)
{
    apr_pollfd_t pfd;
    apr_int32_t n;
    apr_status_t rv;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = p;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = listener;
    rv = apr_poll(&pfd, 1, &n, timeout);
    return rv != APR_SUCCESS ? rv : apr_socket_accept(c, listener, p);
}

/* Reads a request head (up to the blank line, at most cap - 1 bytes). */
static void kyl_test_read_head(apr_socket_t *c, char *buf, apr_size_t cap)
{
    apr_size_t used = 0;

    buf[0] = '\0';
    while (used < cap - 1 && !strstr(buf, "\r\n\r\n")) {
        apr_size_t n = cap - 1 - used;

        if (apr_socket_recv(c, buf + used, &n) != APR_SUCCESS) {
            break;
        }
        used += n;
        buf[used] = '\0';
    }
}

/* Sends len bytes, chunk bytes at a time (0: all at once) with pause
 * between chunks; stops quietly when the client gives up. */
static void kyl_test_send(apr_socket_t *c, const char *buf, apr_size_t len,
                          apr_size_t chunk, apr_interval_time_t pause)
{
    while (len > 0) {
        apr_size_t n = chunk && chunk < len ? chunk : len;

        if (apr_socket_send(c, buf, &n) != APR_SUCCESS) {
            return;
        }
        buf += n;
        len -= n;
        if (pause > 0 && len > 0) {
            apr_sleep(pause);
        }
    }
}

/* Reads until the client goes away (it closes at its deadline). */
static void kyl_test_drain(apr_socket_t *c)
{
    char b[64];
    apr_size_t n = sizeof(b);

    while (apr_socket_recv(c, b, &n) == APR_SUCCESS && n > 0) {
        n = sizeof(b);
    }
}

/* A loopback port that nobody listens on (bound, then closed). */
static apr_port_t kyl_test_closed_port(apr_pool_t *p)
{
    apr_sockaddr_t *sa;
    apr_socket_t *s;
    apr_port_t port;

    ck_assert_int_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, p),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, p),
                     APR_SUCCESS);
    ck_assert_int_eq(apr_socket_bind(s, sa), APR_SUCCESS);
    apr_socket_addr_get(&sa, APR_LOCAL, s);
    port = sa->port;
    apr_socket_close(s);
    return port;
}

#endif
