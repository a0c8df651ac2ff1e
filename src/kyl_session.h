/* The balancer session record and its compact binary codec.
 *
 * Wire format (before sealing), all integers big-endian:
 *   magic 'K' 'S', format version 1 (u8), flags (u8),
 *   version (u32: bumped on every write), created (i64 s), last_seen (i64 s),
 *   then length-prefixed (u16) strings: user, credential,
 *   shared_name, shared_value, then a u8 count of node entries, each
 *   node, cookie_name, cookie_value (u16-prefixed).
 * Format 1 details: flags is 0 (a decoder rejects any other value); a
 * string's length is 0..KYL_SESSION_MAX_STR and its bytes contain no NUL;
 * the length 0xFFFF marks a NULL string (so "" and NULL stay distinct);
 * the node count is at most KYL_SESSION_MAX_NODES.  NULL nodes encode as
 * count 0 and decode as an empty array (never NULL).
 * Decoding is total over arbitrary bytes: any inconsistency, including
 * trailing bytes, is APR_EINVAL; nothing is read past len and no forged
 * length makes it allocate more than a small multiple of len. */
#ifndef KYL_SESSION_H
#define KYL_SESSION_H

#include "kyl_core.h"
#include <apr_tables.h>

#define KYL_SESSION_MAX_NODES 64
#define KYL_SESSION_MAX_STR   4096   /* any one string field */

typedef struct {
    const char *node;          /* member name, e.g. "http://10.0.0.1:7070" */
    const char *cookie_name;   /* "JSESSIONID" */
    const char *cookie_value;
    const char *crumb;         /* "name=value" as a Cookie header carries it;
                                * NULL when the pair could not be sent (the
                                * name not a token, the value not cookie
                                * octets): worked out once, not per request */
} kyl_node_cookie_t;

typedef struct {
    apr_uint32_t version;      /* write counter */
    apr_int64_t created;       /* seconds since the epoch */
    apr_int64_t last_seen;     /* seconds since the epoch (refresh time) */
    const char *user;          /* Kylin user name (for the status page/logs) */
    const char *credential;    /* "Basic ..." value, to re-authenticate */
    const char *shared_name;   /* Kylin 5 shared session cookie, or NULL */
    const char *shared_value;
    apr_array_header_t *nodes; /* of kyl_node_cookie_t; may be NULL */
} kyl_session_t;

/* An empty record: version 0, created = last_seen = now, no nodes. */
kyl_session_t *kyl_session_make(apr_pool_t *p);

/* Returns the stored cookie for node, or NULL. */
const kyl_node_cookie_t *kyl_session_node(const kyl_session_t *s,
                                          const char *node);

/* Sets (adds or replaces) the node's cookie; copies into p.  The table is
 * kept oldest first (a replaced entry becomes the newest); when it is full
 * the oldest entry is dropped. */
void kyl_session_set_node(apr_pool_t *p, kyl_session_t *s, const char *node,
                          const char *name, const char *value);

/* Removes the node's cookie (e.g. after the node answered 401 to it). */
void kyl_session_del_node(kyl_session_t *s, const char *node);

/* APR_EINVAL when a string is longer than KYL_SESSION_MAX_STR or there
 * are more than KYL_SESSION_MAX_NODES nodes. */
apr_status_t kyl_session_encode(apr_pool_t *p, const kyl_session_t *s,
                                unsigned char **buf, apr_size_t *len);
apr_status_t kyl_session_decode(apr_pool_t *p, const unsigned char *buf,
                                apr_size_t len, kyl_session_t **s);

/* An in-process snapshot for the per-process session cache: freeze puts
 * the record and its strings in one block; thaw gives a session whose
 * strings point into buf (which must outlive it, as a copy in p does)
 * without copying or re-validating each string - about a tenth of what
 * decode costs.  Not a storage format: the layout is native-endian and
 * may change with any build.  freeze fails (APR_EINVAL) where encode
 * would; thaw refuses (APR_EINVAL) anything freeze did not produce in its
 * shape: a bad magic, more than KYL_SESSION_MAX_NODES nodes, an offset
 * outside the block or a block that does not end in NUL.  Strings are
 * read up to their NUL, never past the block's last byte. */
apr_status_t kyl_session_freeze(apr_pool_t *p, const kyl_session_t *s,
                                unsigned char **buf, apr_size_t *len);
apr_status_t kyl_session_thaw(apr_pool_t *p, const unsigned char *buf,
                              apr_size_t len, kyl_session_t **s);

#endif
