/* Request classifier (kylin-rest.md s. 6, contract.md "Routing").
 *
 * The path is normalised into a fixed stack buffer the way Tomcat and Spring
 * see it (escapes decoded, ";params" dropped, "//" and "." removed, ".."
 * resolved), split into segments and matched against one table of rules,
 * first match wins.  No allocation, no regex, no locale, O(len). */
#include <string.h>
#include "kyl_classify.h"

#define KYL_NORM_MAX  2048  /* bytes of normalised path kept */
#define KYL_NORM_PAD  2     /* room to recognise "." and ".." when full */
#define KYL_SEG_MAX   128   /* segments kept */

/* Methods the rules tell apart; anything unknown counts as POST. */
typedef enum {
    KYL_M_GET, KYL_M_HEAD, KYL_M_OPTIONS, KYL_M_POST, KYL_M_PUT, KYL_M_DELETE,
    KYL_M_PATCH
} kyl_method_e;

#define MB(m)    (1u << (m))
#define M_ANY    0u
#define M_GET    (MB(KYL_M_GET) | MB(KYL_M_HEAD))
#define M_SAFE   (M_GET | MB(KYL_M_OPTIONS))
#define M_POST   MB(KYL_M_POST)
#define M_PUT    MB(KYL_M_PUT)
#define M_DELETE MB(KYL_M_DELETE)
#define M_WRITE  (M_POST | M_PUT | M_DELETE | MB(KYL_M_PATCH))

/* The normalised path: n segments of buf, without separators. */
typedef struct {
    char buf[KYL_NORM_MAX + KYL_NORM_PAD];
    apr_uint16_t off[KYL_SEG_MAX];
    apr_uint16_t len[KYL_SEG_MAX];
    int n;
    int base;       /* index of the first segment the rules look at */
    int dotdot;     /* a ".." segment was seen */
    int underflow;  /* a ".." climbed above the root */
    int overflow;   /* too long to normalise: the tail was not kept */
    int kylin;      /* "kylin" was the first segment at some point */
} kyl_path_t;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} kyl_cursor_t;

/* A rule on the segments after /kylin/api.  A segment pattern is a list of
 * literals separated by '|'; a literal ending in '*' is a prefix; "*" alone
 * matches any one segment. */
typedef struct {
    unsigned int methods;       /* M_* mask, M_ANY for every method */
    const char *seg[5];         /* NULL-terminated unless all 5 are used */
    int below;                  /* deeper paths match too */
    int gen5;                   /* 5.x only (or generation unknown) */
    kyl_class_e cls;            /* KYL_CLASS_COUNT: class by method */
    unsigned int flags;
} kyl_rule_t;

#define BY_METHOD KYL_CLASS_COUNT

static const kyl_rule_t kyl_rules[] = {
    /* node-to-node endpoints (s. 4.5, 6.1, 6.2, 10) */
    { M_ANY, { "cache*" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "broadcast" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "epoch*" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "streaming_coordinator" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "service_discovery", "state", "is_active_job_node" }, 1, 0,
      KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "user", "update_user" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "system", "broadcast_metadata_backup|metadata_backup_tmp_file" },
      1, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "kg", "health" }, 1, 0, KYL_CLASS_INTERNAL, 0 },
    /* authentication (s. 4.2) */
    { M_ANY, { "user", "authentication*" }, 1, 0, KYL_CLASS_AUTH, KYL_REQ_LOGIN },
    { M_ANY, { "j_spring_security_logout" }, 0, 0, KYL_CLASS_AUTH, KYL_REQ_LOGOUT },
    /* Spark driver callbacks (s. 4.4) */
    { M_WRITE, { "jobs", "spark|error|wait_and_run_time" }, 0, 0, KYL_CLASS_JOB,
      KYL_REQ_CALLBACK },
    { M_WRITE, { "jobs", "stage", "status" }, 0, 0, KYL_CLASS_JOB, KYL_REQ_CALLBACK },
    /* SQL (s. 4.3) */
    { M_POST, { "query" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { M_ANY, { "query", "prestate|tables_and_columns" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { M_GET | M_POST, { "query", "format", "*" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { M_ANY, { "tables_and_columns*" }, 0, 0, KYL_CLASS_QUERY, 0 },
    { M_ANY, { "async_query" }, 1, 0, KYL_CLASS_QUERY, 0 },
    { M_GET, { "query", "runningQueries" }, 0, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { M_PUT, { "query", "*", "stop" }, 0, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { M_DELETE, { "query", "*" }, 0, 1, KYL_CLASS_QUERY, 0 },
    /* builds, segments and job control (s. 4.4) */
    { M_PUT, { "cubes", "*", "build|rebuild|build2|rebuild2|automerge|optimize|"
               "optimize2|refresh_lookup|holes|init_start_offsets|segments" },
      0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "cubes", "*", "recover_segment_optimize", "*" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "cubes", "*", "segs", "*", "refresh_lookup" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "jobs", "*", "resume|resubmit|cancel|pause" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "jobs", "*", "steps", "*", "rollback" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_DELETE, { "jobs", "*", "drop" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "jobs", "status" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_DELETE, { "jobs" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "tables", "*", "*", "cardinality" }, 0, 0, KYL_CLASS_JOB, 0 },
    { M_POST | M_PUT | M_DELETE, { "models", "*", "segments" }, 1, 0, KYL_CLASS_JOB, 0 },
    { M_POST, { "models", "*", "indexes" }, 0, 0, KYL_CLASS_JOB, 0 },
    /* node-local administration (s. 6.1, 6.2) */
    { M_PUT, { "admin", "config" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { M_DELETE, { "admin", "storage" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { M_POST, { "system", "metadata", "reload" }, 0, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { M_PUT, { "tables", "catalog_cache" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { M_ANY, { "system", "diag*" }, 1, 0, BY_METHOD, KYL_REQ_NODE_LOCAL },
    { M_WRITE, { "system", "maintenance_mode" }, 0, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { M_PUT, { "system", "roll_event_log" }, 0, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
};

static kyl_method_e method_of(const char *method)
{
    static const struct {
        const char *name;
        kyl_method_e m;
    } known[] = {
        { "GET", KYL_M_GET }, { "HEAD", KYL_M_HEAD }, { "OPTIONS", KYL_M_OPTIONS },
        { "POST", KYL_M_POST }, { "PUT", KYL_M_PUT }, { "DELETE", KYL_M_DELETE },
        { "PATCH", KYL_M_PATCH },
    };
    size_t i;

    for (i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(method, known[i].name) == 0) {
            return known[i].m;
        }
    }
    return KYL_M_POST;
}

static kyl_class_e by_method(kyl_method_e m)
{
    return (MB(m) & M_SAFE) ? KYL_CLASS_READ : KYL_CLASS_WRITE;
}

/* ---- normalisation ---------------------------------------------------- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The next byte with %XX decoded (invalid escapes stay literal); -1 at end. */
static int next_byte(kyl_cursor_t *c)
{
    int hi, lo;

    if (c->p >= c->end) {
        return -1;
    }
    if (*c->p == '%' && c->end - c->p >= 3
        && (hi = hexval(c->p[1])) >= 0 && (lo = hexval(c->p[2])) >= 0) {
        c->p += 3;
        return hi * 16 + lo;
    }
    return *c->p++;
}

static int is_separator(int ch)
{
    return ch == '/' || ch == '\\';
}

static int is_blank(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f'
           || ch == '\v';
}

/* Reads one segment up to the next separator into out (at most cap bytes),
 * without its ";params" and surrounding blanks.  Returns its full length,
 * which may exceed cap. */
static apr_size_t next_segment(kyl_cursor_t *c, char *out, apr_size_t cap)
{
    apr_size_t n = 0, keep = 0;
    int ch, param = 0;

    while ((ch = next_byte(c)) >= 0 && !is_separator(ch)) {
        if (ch == ';') {
            param = 1;
        }
        if (param || (n == 0 && is_blank(ch))) {
            continue;
        }
        if (n < cap) {
            out[n] = (char)ch;
        }
        n++;
        if (!is_blank(ch)) {
            keep = n;
        }
    }
    return keep;
}

static void path_pop(kyl_path_t *v, apr_size_t *pos)
{
    v->dotdot = 1;
    if (v->overflow) {
        return;
    }
    if (v->n == 0) {
        v->underflow = 1;
        return;
    }
    v->n--;
    *pos = v->off[v->n];
}

static void path_push(kyl_path_t *v, apr_size_t *pos, apr_size_t n)
{
    if (v->overflow || *pos + n > KYL_NORM_MAX || v->n == KYL_SEG_MAX) {
        v->overflow = 1;
        return;
    }
    if (v->n == 0 && n == 5 && memcmp(v->buf + *pos, "kylin", 5) == 0) {
        v->kylin = 1;
    }
    v->off[v->n] = (apr_uint16_t)*pos;
    v->len[v->n] = (apr_uint16_t)n;
    v->n++;
    *pos += n;
}

static void path_normalise(kyl_path_t *v, const char *path, apr_size_t len)
{
    const char *q = path != NULL ? memchr(path, '?', len) : NULL;
    apr_size_t pos = 0;
    kyl_cursor_t c;

    v->n = v->base = v->dotdot = v->underflow = v->overflow = v->kylin = 0;
    c.p = (const unsigned char *)path;
    c.end = c.p + (q != NULL ? (apr_size_t)(q - path) : (path != NULL ? len : 0));
    while (c.p < c.end) {
        /* once full, segments land at the end of buf only to spot ".." */
        apr_size_t at = v->overflow ? KYL_NORM_MAX : pos;
        char *out = v->buf + at;
        apr_size_t n = next_segment(&c, out, sizeof(v->buf) - at);

        if (n == 0 || (n == 1 && out[0] == '.')) {
            continue;
        }
        if (n == 2 && out[0] == '.' && out[1] == '.') {
            path_pop(v, &pos);
        }
        else {
            path_push(v, &pos, n);
        }
    }
}

/* ---- matching ---------------------------------------------------------- */

/* Does segment i (absolute) match one literal of pat ("a|b*|c")? */
static int seg_match(const kyl_path_t *v, int i, const char *pat)
{
    const char *s = v->buf + v->off[i];
    apr_size_t n = v->len[i];

    if (strcmp(pat, "*") == 0) {
        return 1;
    }
    while (*pat) {
        apr_size_t l = strcspn(pat, "|");
        int prefix = l > 0 && pat[l - 1] == '*';
        apr_size_t lit = prefix ? l - 1 : l;

        if ((prefix ? n >= lit : n == lit) && memcmp(s, pat, lit) == 0) {
            return 1;
        }
        pat += l + (pat[l] == '|');
    }
    return 0;
}

static int rule_match(const kyl_path_t *v, const kyl_rule_t *r, kyl_method_e m,
                      kyl_gen_e gen)
{
    int k = v->n - v->base, i;

    if ((r->methods && !(r->methods & MB(m)))
        || (r->gen5 && gen != KYL_GEN_5 && gen != KYL_GEN_UNKNOWN)) {
        return 0;
    }
    for (i = 0; i < 5 && r->seg[i] != NULL; i++) {
        if (i >= k || !seg_match(v, v->base + i, r->seg[i])) {
            return 0;
        }
    }
    return r->below ? k >= i : k == i;
}

/* /kylin/api/tables/ ** /snapshotLocalCache/ ** (2.x-4.x lookup snapshots). */
static int is_snapshot_cache(const kyl_path_t *v)
{
    int i;

    if (v->n - v->base < 2 || !seg_match(v, v->base, "tables")) {
        return 0;
    }
    for (i = v->base + 1; i < v->n; i++) {
        if (seg_match(v, i, "snapshotLocalCache")) {
            return 1;
        }
    }
    return 0;
}

static kyl_class_e classify_api(kyl_path_t *v, kyl_method_e m, kyl_gen_e gen,
                                unsigned int *flags)
{
    size_t i;

    v->base = 2;
    if (is_snapshot_cache(v)) {
        return KYL_CLASS_INTERNAL;
    }
    for (i = 0; i < sizeof(kyl_rules) / sizeof(kyl_rules[0]); i++) {
        const kyl_rule_t *r = &kyl_rules[i];

        if (rule_match(v, r, m, gen)) {
            *flags |= r->flags;
            return r->cls == BY_METHOD ? by_method(m) : r->cls;
        }
    }
    return by_method(m);
}

static int path_is(const kyl_path_t *v, int i, const char *lit)
{
    return i < v->n && seg_match(v, i, lit);
}

kyl_class_e kyl_classify(const char *method, const char *path, apr_size_t len,
                         kyl_gen_e gen, unsigned int *flags)
{
    kyl_path_t v;
    kyl_method_e m = method_of(method);
    unsigned int f = 0;
    kyl_class_e cls;

    path_normalise(&v, path, len);
    if (path_is(&v, 0, "kylin") && path_is(&v, 1, "api")) {
        f |= KYL_REQ_API;
    }
    if (v.dotdot && (v.kylin || v.underflow || v.overflow)) {
        cls = KYL_CLASS_INTERNAL;       /* "..": refuse, never guess */
    }
    else if (v.overflow) {
        cls = (f & KYL_REQ_API) ? KYL_CLASS_INTERNAL : by_method(m);
    }
    else if (f & KYL_REQ_API) {
        cls = classify_api(&v, m, gen, &f);
    }
    else if (v.n == 2 && path_is(&v, 0, "kylin")
             && path_is(&v, 1, "j_spring_security_logout")) {
        cls = KYL_CLASS_AUTH;           /* 2.x-4.x logout, outside /api */
        f |= KYL_REQ_LOGOUT;
    }
    else {
        cls = by_method(m);
    }
    if (flags != NULL) {
        *flags = f;
    }
    return cls;
}
