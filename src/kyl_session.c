/* The balancer session record: node cookie table and the binary codec
 * (format in kyl_session.h).  The decoder reads through a bounds-checked
 * cursor: every length is compared with the bytes left before anything is
 * read or allocated, so no input makes it over-read or allocate more than
 * the input's own size. */
#include <string.h>
#include <apr_strings.h>
#include "kyl_session.h"
#include "kyl_cookie.h"

#define KYL_SESSION_MAGIC0  'K'
#define KYL_SESSION_MAGIC1  'S'
#define KYL_SESSION_FORMAT  1
#define KYL_SESSION_NULL    0xFFFFu   /* u16 length of a NULL string */
#define KYL_SESSION_FIXED   (2 + 1 + 1 + 4 + 8 + 8 + 1)

kyl_session_t *kyl_session_make(apr_pool_t *p)
{
    kyl_session_t *s = apr_pcalloc(p, sizeof(*s));

    s->created = s->last_seen = apr_time_sec(apr_time_now());
    s->nodes = apr_array_make(p, 4, sizeof(kyl_node_cookie_t));
    return s;
}

/* Index of node's entry in s->nodes, or -1. */
static int node_index(const kyl_session_t *s, const char *node)
{
    const kyl_node_cookie_t *e;
    int i;

    if (s == NULL || s->nodes == NULL || node == NULL) {
        return -1;
    }
    e = (const kyl_node_cookie_t *)s->nodes->elts;
    for (i = 0; i < s->nodes->nelts; i++) {
        if (e[i].node != NULL && strcmp(e[i].node, node) == 0) {
            return i;
        }
    }
    return -1;
}

/* Removes entry i, keeping the order of the others (oldest first). */
static void node_remove(apr_array_header_t *arr, int i)
{
    kyl_node_cookie_t *e = (kyl_node_cookie_t *)arr->elts;

    memmove(e + i, e + i + 1, (size_t)(arr->nelts - i - 1) * sizeof(*e));
    arr->nelts--;
}

const kyl_node_cookie_t *kyl_session_node(const kyl_session_t *s,
                                          const char *node)
{
    int i = node_index(s, node);

    return i < 0 ? NULL : &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);
}

void kyl_session_set_node(apr_pool_t *p, kyl_session_t *s, const char *node,
                          const char *name, const char *value)
{
    kyl_node_cookie_t *e;
    int i;

    if (s == NULL || node == NULL) {
        return;
    }
    if (s->nodes == NULL) {
        s->nodes = apr_array_make(p, 4, sizeof(kyl_node_cookie_t));
    }
    /* The table is kept oldest first: a replaced entry moves to the end. */
    if ((i = node_index(s, node)) >= 0) {
        node_remove(s->nodes, i);
    }
    while (s->nodes->nelts >= KYL_SESSION_MAX_NODES) {
        node_remove(s->nodes, 0);
    }
    e = (kyl_node_cookie_t *)apr_array_push(s->nodes);
    e->node = apr_pstrdup(p, node);
    e->cookie_name = apr_pstrdup(p, name);
    e->cookie_value = apr_pstrdup(p, value);
    e->crumb = kyl_cookie_append(p, NULL, name, value);
}

void kyl_session_del_node(kyl_session_t *s, const char *node)
{
    int i;

    while ((i = node_index(s, node)) >= 0) {
        node_remove(s->nodes, i);
    }
}

/* --- encoding ----------------------------------------------------------- */

/* Bytes a string field takes, or 0 when it is too long to encode. */
static apr_size_t str_size(const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;

    return n > KYL_SESSION_MAX_STR ? 0 : 2 + n;
}

/* Total encoded size, or 0 when some field is out of bounds. */
static apr_size_t encoded_size(const kyl_session_t *s)
{
    const char *strs[4];
    apr_size_t total = KYL_SESSION_FIXED, n;
    int i, j;

    strs[0] = s->user;
    strs[1] = s->credential;
    strs[2] = s->shared_name;
    strs[3] = s->shared_value;
    for (i = 0; i < 4; i++) {
        if ((n = str_size(strs[i])) == 0) {
            return 0;
        }
        total += n;
    }
    for (i = 0; s->nodes && i < s->nodes->nelts; i++) {
        const kyl_node_cookie_t *e =
            &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);
        const char *f[3] = { e->node, e->cookie_name, e->cookie_value };

        for (j = 0; j < 3; j++) {
            if ((n = str_size(f[j])) == 0) {
                return 0;
            }
            total += n;
        }
    }
    return total;
}

static unsigned char *put_u16(unsigned char *w, apr_uint32_t v)
{
    w[0] = (unsigned char)(v >> 8);
    w[1] = (unsigned char)v;
    return w + 2;
}

static unsigned char *put_u32(unsigned char *w, apr_uint32_t v)
{
    w = put_u16(w, v >> 16);
    return put_u16(w, v & 0xFFFFu);
}

static unsigned char *put_u64(unsigned char *w, apr_uint64_t v)
{
    w = put_u32(w, (apr_uint32_t)(v >> 32));
    return put_u32(w, (apr_uint32_t)(v & 0xFFFFFFFFu));
}

static unsigned char *put_str(unsigned char *w, const char *s)
{
    apr_size_t n;

    if (s == NULL) {
        return put_u16(w, KYL_SESSION_NULL);
    }
    n = strlen(s);
    w = put_u16(w, (apr_uint32_t)n);
    memcpy(w, s, n);
    return w + n;
}

apr_status_t kyl_session_encode(apr_pool_t *p, const kyl_session_t *s,
                                unsigned char **buf, apr_size_t *len)
{
    apr_size_t total;
    unsigned char *w;
    int i;

    if (s == NULL || buf == NULL || len == NULL
        || (s->nodes && (s->nodes->nelts > KYL_SESSION_MAX_NODES
                         || s->nodes->elt_size != sizeof(kyl_node_cookie_t)))
        || (total = encoded_size(s)) == 0) {
        return APR_EINVAL;
    }
    *buf = w = apr_palloc(p, total);
    *w++ = KYL_SESSION_MAGIC0;
    *w++ = KYL_SESSION_MAGIC1;
    *w++ = KYL_SESSION_FORMAT;
    *w++ = 0; /* flags: none defined in format 1 */
    w = put_u32(w, s->version);
    w = put_u64(w, (apr_uint64_t)s->created);
    w = put_u64(w, (apr_uint64_t)s->last_seen);
    w = put_str(w, s->user);
    w = put_str(w, s->credential);
    w = put_str(w, s->shared_name);
    w = put_str(w, s->shared_value);
    *w++ = (unsigned char)(s->nodes ? s->nodes->nelts : 0);
    for (i = 0; s->nodes && i < s->nodes->nelts; i++) {
        const kyl_node_cookie_t *e =
            &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);

        w = put_str(w, e->node);
        w = put_str(w, e->cookie_name);
        w = put_str(w, e->cookie_value);
    }
    *len = total;
    return APR_SUCCESS;
}

/* --- decoding ----------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    apr_size_t left;
} kyl_reader_t;

static int get_bytes(kyl_reader_t *r, apr_size_t n, const unsigned char **b)
{
    if (n > r->left) {
        return 0;
    }
    *b = r->p;
    r->p += n;
    r->left -= n;
    return 1;
}

static int get_u8(kyl_reader_t *r, apr_uint32_t *v)
{
    const unsigned char *b;

    if (!get_bytes(r, 1, &b)) {
        return 0;
    }
    *v = b[0];
    return 1;
}

static int get_u16(kyl_reader_t *r, apr_uint32_t *v)
{
    const unsigned char *b;

    if (!get_bytes(r, 2, &b)) {
        return 0;
    }
    *v = ((apr_uint32_t)b[0] << 8) | b[1];
    return 1;
}

static int get_u32(kyl_reader_t *r, apr_uint32_t *v)
{
    apr_uint32_t hi, lo;

    if (!get_u16(r, &hi) || !get_u16(r, &lo)) {
        return 0;
    }
    *v = (hi << 16) | lo;
    return 1;
}

static int get_i64(kyl_reader_t *r, apr_int64_t *v)
{
    apr_uint32_t hi, lo;
    apr_uint64_t u;

    if (!get_u32(r, &hi) || !get_u32(r, &lo)) {
        return 0;
    }
    u = ((apr_uint64_t)hi << 32) | lo;
    /* Two's complement back to signed without implementation-defined
     * conversion of out-of-range values. */
    *v = u <= (apr_uint64_t)APR_INT64_MAX
        ? (apr_int64_t)u : -(apr_int64_t)(~u) - 1;
    return 1;
}

/* A u16-prefixed string: 0xFFFF is NULL; no NUL byte may occur inside,
 * so decoding then encoding gives back the same bytes. */
static int get_str(apr_pool_t *p, kyl_reader_t *r, const char **s)
{
    const unsigned char *b;
    apr_uint32_t n;

    if (!get_u16(r, &n)) {
        return 0;
    }
    if (n == KYL_SESSION_NULL) {
        *s = NULL;
        return 1;
    }
    if (n > KYL_SESSION_MAX_STR || !get_bytes(r, n, &b)
        || memchr(b, '\0', n) != NULL) {
        return 0;
    }
    *s = apr_pstrmemdup(p, (const char *)b, n);
    return 1;
}

static int get_header(kyl_reader_t *r, kyl_session_t *s)
{
    const unsigned char *b;

    return get_bytes(r, 4, &b)
        && b[0] == KYL_SESSION_MAGIC0 && b[1] == KYL_SESSION_MAGIC1
        && b[2] == KYL_SESSION_FORMAT && b[3] == 0
        && get_u32(r, &s->version)
        && get_i64(r, &s->created)
        && get_i64(r, &s->last_seen);
}

static int get_nodes(apr_pool_t *p, kyl_reader_t *r, kyl_session_t *s)
{
    apr_uint32_t count, i;

    /* Each entry takes at least 6 bytes: a forged count cannot make us
     * allocate more than the input could describe. */
    if (!get_u8(r, &count) || count > KYL_SESSION_MAX_NODES
        || count > r->left / 6) {
        return 0;
    }
    s->nodes = apr_array_make(p, count ? (int)count : 1,
                              sizeof(kyl_node_cookie_t));
    for (i = 0; i < count; i++) {
        kyl_node_cookie_t *e = (kyl_node_cookie_t *)apr_array_push(s->nodes);

        if (!get_str(p, r, &e->node) || !get_str(p, r, &e->cookie_name)
            || !get_str(p, r, &e->cookie_value)) {
            return 0;
        }
        e->crumb = kyl_cookie_append(p, NULL, e->cookie_name, e->cookie_value);
    }
    return 1;
}

apr_status_t kyl_session_decode(apr_pool_t *p, const unsigned char *buf,
                                apr_size_t len, kyl_session_t **s)
{
    kyl_reader_t r;
    kyl_session_t *out;

    if (s == NULL) {
        return APR_EINVAL;
    }
    *s = NULL;
    if (buf == NULL || len < KYL_SESSION_FIXED + 4 * 2) {
        return APR_EINVAL;
    }
    r.p = buf;
    r.left = len;
    out = apr_pcalloc(p, sizeof(*out));
    if (!get_header(&r, out)
        || !get_str(p, &r, &out->user) || !get_str(p, &r, &out->credential)
        || !get_str(p, &r, &out->shared_name)
        || !get_str(p, &r, &out->shared_value)
        || !get_nodes(p, &r, out) || r.left != 0) {
        return APR_EINVAL;
    }
    *s = out;
    return APR_SUCCESS;
}

/* --- the in-process snapshot ---------------------------------------------- */

/* Layout: a header, then KYL_FROZEN_PER_NODE offsets per node, then every
 * string with its NUL.  Offset 0 is a NULL string (no string starts inside the
 * header).  Offsets rather than pointers: the blob is copied around. */
typedef struct {
    apr_uint32_t magic;
    apr_uint32_t nnodes;
    apr_uint32_t version;
    apr_uint32_t off[4];       /* user, credential, shared name and value */
    apr_int64_t created;
    apr_int64_t last_seen;
} kyl_frozen_t;

#define KYL_FROZEN_MAGIC 0x4b594632u    /* "KYF2" */
#define KYL_FROZEN_PER_NODE 4           /* node, cookie name, value, crumb */
#define KYL_FROZEN_NODE_SIZE (KYL_FROZEN_PER_NODE * sizeof(apr_uint32_t))

static apr_size_t frozen_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static apr_size_t frozen_str(unsigned char *base, apr_size_t at, const char *s,
                             apr_uint32_t *off)
{
    apr_size_t n = frozen_size(s);

    *off = 0;
    if (s == NULL) {
        return at;
    }
    memcpy(base + at, s, n);
    *off = (apr_uint32_t)at;
    return at + n;
}

apr_status_t kyl_session_freeze(apr_pool_t *p, const kyl_session_t *s,
                                unsigned char **buf, apr_size_t *len)
{
    const char *strs[4];
    int i, j, n;
    apr_size_t size, at;
    kyl_frozen_t h;
    unsigned char *b;

    if (s == NULL || buf == NULL || len == NULL || encoded_size(s) == 0) {
        return APR_EINVAL;
    }
    n = s->nodes ? s->nodes->nelts : 0;
    strs[0] = s->user;
    strs[1] = s->credential;
    strs[2] = s->shared_name;
    strs[3] = s->shared_value;
    size = sizeof(h) + KYL_FROZEN_NODE_SIZE * (apr_size_t)n;
    for (i = 0; i < 4; i++) {
        size += frozen_size(strs[i]);
    }
    for (i = 0; i < n; i++) {
        const kyl_node_cookie_t *e = &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);

        size += frozen_size(e->node) + frozen_size(e->cookie_name)
              + frozen_size(e->cookie_value) + frozen_size(e->crumb);
    }
    size += 1;      /* the block always ends in NUL, even without strings */
    b = apr_palloc(p, size);
    memset(&h, 0, sizeof(h));
    h.magic = KYL_FROZEN_MAGIC;
    h.nnodes = (apr_uint32_t)n;
    h.version = s->version;
    h.created = s->created;
    h.last_seen = s->last_seen;
    at = sizeof(h) + KYL_FROZEN_NODE_SIZE * (apr_size_t)n;
    for (i = 0; i < 4; i++) {
        at = frozen_str(b, at, strs[i], &h.off[i]);
    }
    for (i = 0; i < n; i++) {
        const kyl_node_cookie_t *e = &APR_ARRAY_IDX(s->nodes, i, kyl_node_cookie_t);
        const char *f[KYL_FROZEN_PER_NODE] = { e->node, e->cookie_name,
                                               e->cookie_value, e->crumb };
        apr_uint32_t off[KYL_FROZEN_PER_NODE];

        for (j = 0; j < KYL_FROZEN_PER_NODE; j++) {
            at = frozen_str(b, at, f[j], &off[j]);
        }
        memcpy(b + sizeof(h) + KYL_FROZEN_NODE_SIZE * (apr_size_t)i, off,
               sizeof(off));
    }
    b[at] = '\0';
    memcpy(b, &h, sizeof(h));
    *buf = b;
    *len = size;
    return APR_SUCCESS;
}

/* The string at off, or NULL; 0 when off is not a string of the blob. */
static int thawed_str(const unsigned char *b, apr_size_t first, apr_size_t len,
                      apr_uint32_t off, const char **s)
{
    if (off == 0) {
        *s = NULL;
        return 1;
    }
    *s = (const char *)b + off;
    return off >= first && off < len;
}

apr_status_t kyl_session_thaw(apr_pool_t *p, const unsigned char *buf,
                              apr_size_t len, kyl_session_t **s)
{
    kyl_frozen_t h;
    kyl_session_t *out;
    apr_array_header_t *arr;
    kyl_node_cookie_t *e;
    apr_size_t first;
    apr_uint32_t i;

    if (s == NULL) {
        return APR_EINVAL;
    }
    *s = NULL;
    if (buf == NULL || len < sizeof(h) + 1 || buf[len - 1] != '\0') {
        return APR_EINVAL;
    }
    memcpy(&h, buf, sizeof(h));
    if (h.magic != KYL_FROZEN_MAGIC || h.nnodes > KYL_SESSION_MAX_NODES
        || len < sizeof(h) + KYL_FROZEN_NODE_SIZE * h.nnodes + 1) {
        return APR_EINVAL;
    }
    first = sizeof(h) + KYL_FROZEN_NODE_SIZE * h.nnodes;
    /* one allocation: the session, its node array and one spare entry (an
     * array APR can grow like any other) */
    out = apr_palloc(p, sizeof(*out) + sizeof(*arr)
                        + (h.nnodes + 1) * sizeof(kyl_node_cookie_t));
    arr = (apr_array_header_t *)(out + 1);
    e = (kyl_node_cookie_t *)(arr + 1);
    arr->pool = p;
    arr->elt_size = (int)sizeof(kyl_node_cookie_t);
    arr->nelts = (int)h.nnodes;
    arr->nalloc = (int)h.nnodes + 1;
    arr->elts = (char *)e;
    out->nodes = arr;
    out->version = h.version;
    out->created = h.created;
    out->last_seen = h.last_seen;
    if (!thawed_str(buf, first, len, h.off[0], &out->user)
        || !thawed_str(buf, first, len, h.off[1], &out->credential)
        || !thawed_str(buf, first, len, h.off[2], &out->shared_name)
        || !thawed_str(buf, first, len, h.off[3], &out->shared_value)) {
        return APR_EINVAL;
    }
    for (i = 0; i < h.nnodes; i++, e++) {
        apr_uint32_t off[KYL_FROZEN_PER_NODE];

        memcpy(off, buf + sizeof(h) + KYL_FROZEN_NODE_SIZE * i, sizeof(off));
        if (!thawed_str(buf, first, len, off[0], &e->node)
            || !thawed_str(buf, first, len, off[1], &e->cookie_name)
            || !thawed_str(buf, first, len, off[2], &e->cookie_value)
            || !thawed_str(buf, first, len, off[3], &e->crumb)) {
            return APR_EINVAL;
        }
    }
    *s = out;
    return APR_SUCCESS;
}
