/* Request classifier (kylin-rest.md s. 6, contract.md "Routing").
 *
 * The path is split into segments the way Tomcat and Spring see it (escapes
 * decoded, ";params" dropped, "//" and "." removed, ".." resolved).  Most
 * real paths contain none of that, and one scan splits them in place; the
 * others are normalised into a fixed stack buffer.  The first segment after
 * /kylin/api/ then selects the few rules that can apply (first match wins).
 * No allocation, no regex, no locale, O(len). */
#include <string.h>
#include "kyl_classify.h"

#define KYL_NORM_MAX  2048  /* bytes of normalised path kept */
#define KYL_NORM_PAD  2     /* room to recognise "." and ".." when full */
#define KYL_SEG_MAX   128   /* segments kept */

#define KYL_LEN(a)    (sizeof(a) / sizeof((a)[0]))

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

/* The path as segments: segment i is len[i] bytes at text + off[i], without
 * separators.  text is the caller's path when it needed no normalisation,
 * buf otherwise. */
typedef struct {
    const char *text;
    char buf[KYL_NORM_MAX + KYL_NORM_PAD];
    apr_uint16_t off[KYL_SEG_MAX];
    apr_uint16_t len[KYL_SEG_MAX];
    int n;
    int dotdot;     /* a ".." segment was seen */
    int underflow;  /* a ".." climbed above the root */
    int overflow;   /* too long to normalise: the tail was not kept */
    int kylin;      /* "kylin" was the first segment at some point
                     * (only read when dotdot: plain paths leave it 0) */
} kyl_path_t;

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} kyl_cursor_t;

/* ---- rules -------------------------------------------------------------- */

/* A rule on the segments after /kylin/api/<group>.  A segment pattern is a
 * list of literals separated by '|'; a literal ending in '*' is a prefix;
 * "*" alone matches any one segment. */
typedef struct {
    unsigned int methods;       /* M_* mask, M_ANY for every method */
    const char *seg[4];         /* NULL-terminated unless all 4 are used */
    int below;                  /* deeper paths match too */
    int gen5;                   /* 5.x only (or generation unknown) */
    kyl_class_e cls;            /* KYL_CLASS_COUNT: class by method */
    unsigned int flags;
} kyl_rule_t;

#define BY_METHOD KYL_CLASS_COUNT
#define NONE      { NULL }      /* the group's segment alone */
#define EXACT     0
#define BELOW     1

/* Every rule names the first segment after /kylin/api/, so the rules are
 * grouped by it (kyl_groups[] below): one lookup finds the only rules that
 * can apply, tried in order, first match wins.  No segment matches two group
 * keys, so this is the same as trying one flat list in order. */

/* node-to-node endpoints (s. 4.5, 6.1, 6.2, 10) */
static const kyl_rule_t rules_internal[] = {
    { M_ANY, NONE, BELOW, 0, KYL_CLASS_INTERNAL, 0 },
};

static const kyl_rule_t rules_service_discovery[] = {
    { M_ANY, { "state", "is_active_job_node" }, BELOW, 0, KYL_CLASS_INTERNAL, 0 },
};

static const kyl_rule_t rules_kg[] = {
    { M_ANY, { "health" }, BELOW, 0, KYL_CLASS_INTERNAL, 0 },
};

/* user: 5.x user sync is internal; authentication (s. 4.2) */
static const kyl_rule_t rules_user[] = {
    { M_ANY, { "update_user" }, BELOW, 0, KYL_CLASS_INTERNAL, 0 },
    { M_ANY, { "authentication*" }, BELOW, 0, KYL_CLASS_AUTH, KYL_REQ_LOGIN },
};

/* 5.x logout (s. 4.2) */
static const kyl_rule_t rules_logout[] = {
    { M_ANY, NONE, EXACT, 0, KYL_CLASS_AUTH, KYL_REQ_LOGOUT },
};

/* jobs: Spark driver callbacks (s. 4.4, 6.2), job control (s. 4.4) */
static const kyl_rule_t rules_jobs[] = {
    { M_WRITE, { "spark|error|wait_and_run_time" }, EXACT, 0, KYL_CLASS_JOB,
      KYL_REQ_CALLBACK },
    { M_WRITE, { "stage", "status" }, EXACT, 0, KYL_CLASS_JOB, KYL_REQ_CALLBACK },
    { M_PUT, { "*", "resume|resubmit|cancel|pause" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "*", "steps", "*", "rollback" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_DELETE, { "*", "drop" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "status" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_DELETE, NONE, EXACT, 0, KYL_CLASS_JOB, 0 },
};

/* SQL (s. 4.3, 6.1, 6.2) and the node-local query admin (s. 6.1) */
static const kyl_rule_t rules_query[] = {
    { M_POST, NONE, EXACT, 0, KYL_CLASS_QUERY, 0 },
    { M_ANY, { "prestate|tables_and_columns" }, EXACT, 0, KYL_CLASS_QUERY, 0 },
    { M_GET | M_POST, { "format", "*" }, EXACT, 0, KYL_CLASS_QUERY, 0 },
    { M_GET, { "runningQueries" }, EXACT, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { M_PUT, { "*", "stop" }, EXACT, 0, KYL_CLASS_QUERY, KYL_REQ_NODE_LOCAL },
    { M_DELETE, { "*" }, EXACT, 1, KYL_CLASS_QUERY, 0 },     /* 5.x stop (s. 4.3) */
};

static const kyl_rule_t rules_tables_and_columns[] = {
    { M_ANY, NONE, EXACT, 0, KYL_CLASS_QUERY, 0 },
};

static const kyl_rule_t rules_async_query[] = {
    { M_ANY, NONE, BELOW, 0, KYL_CLASS_QUERY, 0 },
};

/* cubes: 2.x-4.x builds and segments (s. 4.4, 6.1), v2 API in 5.x (s. 6.2) */
static const kyl_rule_t rules_cubes[] = {
    { M_PUT, { "*", "build|rebuild|build2|rebuild2|automerge|optimize|"
               "optimize2|refresh_lookup|holes|init_start_offsets|segments" },
      EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "*", "recover_segment_optimize", "*" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "*", "segs", "*", "refresh_lookup" }, EXACT, 0, KYL_CLASS_JOB, 0 },
};

/* tables: cardinality job (s. 6.1), 5.x node-local catalog cache (s. 6.2);
 * the snapshotLocalCache check comes first (kyl_group_t.snapshot) */
static const kyl_rule_t rules_tables[] = {
    { M_PUT, { "*", "*", "cardinality" }, EXACT, 0, KYL_CLASS_JOB, 0 },
    { M_PUT, { "catalog_cache" }, EXACT, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
};

/* models: 5.x segment and index builds (s. 6.2) */
static const kyl_rule_t rules_models[] = {
    { M_POST | M_PUT | M_DELETE, { "*", "segments" }, BELOW, 0, KYL_CLASS_JOB, 0 },
    { M_POST, { "*", "indexes" }, EXACT, 0, KYL_CLASS_JOB, 0 },
};

/* admin: node-local administration, 2.x-4.x (s. 6.1) */
static const kyl_rule_t rules_admin[] = {
    { M_PUT, { "config" }, EXACT, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
    { M_DELETE, { "storage" }, EXACT, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
};

/* system: 5.x metadata backup is internal (s. 6.2, 10), the rest node-local
 * (s. 6.2) */
static const kyl_rule_t rules_system[] = {
    { M_ANY, { "broadcast_metadata_backup|metadata_backup_tmp_file" }, BELOW, 0,
      KYL_CLASS_INTERNAL, 0 },
    { M_POST, { "metadata", "reload" }, EXACT, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { M_ANY, { "diag*" }, BELOW, 0, BY_METHOD, KYL_REQ_NODE_LOCAL },
    { M_WRITE, { "maintenance_mode" }, EXACT, 0, KYL_CLASS_WRITE,
      KYL_REQ_NODE_LOCAL },
    { M_PUT, { "roll_event_log" }, EXACT, 0, KYL_CLASS_WRITE, KYL_REQ_NODE_LOCAL },
};

/* The first segment after /kylin/api/ and the rules it selects. */
typedef struct {
    const char *key;
    apr_size_t len;             /* of key */
    int prefix;                 /* key* rather than key */
    int snapshot;               /* .../snapshotLocalCache/... is internal */
    const kyl_rule_t *rules;
    apr_size_t nrules;
} kyl_group_t;

#define GROUP(key, prefix, snapshot, rules) \
    { key, sizeof(key) - 1, prefix, snapshot, rules, KYL_LEN(rules) }

enum {
    G_ADMIN, G_ASYNC_QUERY, G_BROADCAST, G_CACHE, G_CUBES, G_EPOCH, G_LOGOUT,
    G_JOBS, G_KG, G_MODELS, G_QUERY, G_SERVICE_DISCOVERY, G_STREAMING,
    G_SYSTEM, G_TABLES, G_TABLES_AND_COLUMNS, G_USER
};

/* Sorted by key, so that the groups of one first byte are adjacent;
 * kyl_group_at[] points at the first of them (a new first byte needs an
 * entry there too). */
static const kyl_group_t kyl_groups[] = {
    [G_ADMIN] = GROUP("admin", 0, 0, rules_admin),
    [G_ASYNC_QUERY] = GROUP("async_query", 0, 0, rules_async_query),
    [G_BROADCAST] = GROUP("broadcast", 0, 0, rules_internal),          /* 5.x */
    [G_CACHE] = GROUP("cache", 1, 0, rules_internal),                  /* cache* */
    [G_CUBES] = GROUP("cubes", 0, 0, rules_cubes),
    [G_EPOCH] = GROUP("epoch", 1, 0, rules_internal),           /* 5.x, epoch* */
    [G_LOGOUT] = GROUP("j_spring_security_logout", 0, 0, rules_logout),
    [G_JOBS] = GROUP("jobs", 0, 0, rules_jobs),
    [G_KG] = GROUP("kg", 0, 0, rules_kg),
    [G_MODELS] = GROUP("models", 0, 0, rules_models),
    [G_QUERY] = GROUP("query", 0, 0, rules_query),
    [G_SERVICE_DISCOVERY] = GROUP("service_discovery", 0, 0,
                                  rules_service_discovery),
    [G_STREAMING] = GROUP("streaming_coordinator", 0, 0, rules_internal),
    [G_SYSTEM] = GROUP("system", 0, 0, rules_system),
    [G_TABLES] = GROUP("tables", 0, 1, rules_tables),
    [G_TABLES_AND_COLUMNS] = GROUP("tables_and_columns", 1, 0,
                                   rules_tables_and_columns),
    [G_USER] = GROUP("user", 0, 0, rules_user),
};

/* 1 + the first group whose key starts with this byte; 0: none does. */
static const unsigned char kyl_group_at[256] = {
    ['a'] = 1 + G_ADMIN, ['b'] = 1 + G_BROADCAST, ['c'] = 1 + G_CACHE,
    ['e'] = 1 + G_EPOCH, ['j'] = 1 + G_LOGOUT, ['k'] = 1 + G_KG,
    ['m'] = 1 + G_MODELS, ['q'] = 1 + G_QUERY, ['s'] = 1 + G_SERVICE_DISCOVERY,
    ['t'] = 1 + G_TABLES, ['u'] = 1 + G_USER,
};

/* ---- methods ------------------------------------------------------------ */

/* s equals the literal lit (both NUL-terminated). */
static int str_is(const char *s, const char *lit)
{
    while (*lit != '\0' && *s == *lit) {
        s++;
        lit++;
    }
    return *s == *lit;
}

static kyl_method_e method_of(const char *method)
{
    if (method == NULL) {
        return KYL_M_POST;
    }
    switch (method[0]) {
    case 'G':
        return str_is(method, "GET") ? KYL_M_GET : KYL_M_POST;
    case 'H':
        return str_is(method, "HEAD") ? KYL_M_HEAD : KYL_M_POST;
    case 'O':
        return str_is(method, "OPTIONS") ? KYL_M_OPTIONS : KYL_M_POST;
    case 'P':
        if (str_is(method, "PUT")) {
            return KYL_M_PUT;
        }
        return str_is(method, "PATCH") ? KYL_M_PATCH : KYL_M_POST;
    case 'D':
        return str_is(method, "DELETE") ? KYL_M_DELETE : KYL_M_POST;
    default:
        return KYL_M_POST;
    }
}

static kyl_class_e by_method(kyl_method_e m)
{
    return (MB(m) & M_SAFE) ? KYL_CLASS_READ : KYL_CLASS_WRITE;
}

/* ---- splitting plain paths ---------------------------------------------- */

/* Bytes the one-scan split stops at. */
enum {
    B_PLAIN = 0,
    B_SLASH,        /* segment separator */
    B_QUERY,        /* '?': the path ends */
    B_SLOW          /* needs path_normalise(): escape, ";param", '\\', blank */
};

static const unsigned char kyl_byte[256] = {
    ['/'] = B_SLASH, ['?'] = B_QUERY,
    ['%'] = B_SLOW, [';'] = B_SLOW, ['\\'] = B_SLOW,
    [' '] = B_SLOW, ['\t'] = B_SLOW, ['\n'] = B_SLOW, ['\r'] = B_SLOW,
    ['\f'] = B_SLOW, ['\v'] = B_SLOW,
};

/* Splits a path that normalisation would not change but for dropping empty
 * segments: no escape, ';', '\\' or blank, no "." or ".." segment, at most
 * KYL_NORM_MAX bytes before the '?' and KYL_SEG_MAX segments (so that it
 * cannot overflow and the offsets fit).  The segments point into the path
 * itself.  Returns 0, having set nothing, for any other path. */
static int path_split_plain(kyl_path_t *v, const char *path, apr_size_t len)
{
    const unsigned char *p = (const unsigned char *)path, *seg = p;
    const unsigned char *end = p + (len < KYL_NORM_MAX ? len : KYL_NORM_MAX);
    int k = 0;

    for (;; p++) {
        unsigned int b;
        apr_size_t n;

        while (p < end && kyl_byte[*p] == B_PLAIN) {
            p++;
        }
        if (p == end && len > KYL_NORM_MAX) {
            return 0;                           /* too long to be sure */
        }
        b = p < end ? kyl_byte[*p] : B_QUERY;
        if (b == B_SLOW) {
            return 0;
        }
        n = (apr_size_t)(p - seg);
        if (n > 0) {
            if (n <= 2 && seg[0] == '.' && seg[n - 1] == '.') {
                return 0;                       /* "." or ".." */
            }
            if (k == KYL_SEG_MAX) {
                return 0;                       /* overflows: path_push() */
            }
            v->off[k] = (apr_uint16_t)(seg - (const unsigned char *)path);
            v->len[k] = (apr_uint16_t)n;
            k++;
        }
        if (b == B_QUERY) {
            break;
        }
        seg = p + 1;
    }
    v->text = path;
    v->n = k;
    v->dotdot = v->underflow = v->overflow = v->kylin = 0;
    return 1;
}

/* ---- normalising the others ------------------------------------------- */

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

    v->text = v->buf;
    v->n = v->dotdot = v->underflow = v->overflow = v->kylin = 0;
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

/* Bytes that end a literal in a segment pattern. */
static const unsigned char kyl_pattern_end[256] = {
    ['\0'] = 1, ['|'] = 1, ['*'] = 1,
};

static int is_pattern_end(char c)
{
    return kyl_pattern_end[(unsigned char)c];
}

/* Does the segment s (n bytes) match one literal of pat ("a|b*|c")? */
static int seg_match(const char *s, apr_size_t n, const char *pat)
{
    for (;;) {
        apr_size_t i = 0;

        while (i < n && pat[i] == s[i] && !is_pattern_end(pat[i])) {
            i++;
        }
        if (pat[i] == '*' || (i == n && is_pattern_end(pat[i]))) {
            return 1;                   /* a prefix, or the whole literal */
        }
        while (!is_pattern_end(pat[i])) {
            i++;
        }
        i += pat[i] == '*';
        if (pat[i] == '\0') {
            return 0;
        }
        pat += i + 1;                   /* past the '|' */
    }
}

/* Segment i equals the literal lit. */
static int seg_is(const kyl_path_t *v, int i, const char *lit, apr_size_t len)
{
    return i < v->n && v->len[i] == len
           && memcmp(v->text + v->off[i], lit, len) == 0;
}

#define SEG_IS(v, i, lit) seg_is((v), (i), lit, sizeof(lit) - 1)

/* Segments from first on (k of them) against r. */
static int rule_match(const kyl_path_t *v, int first, const kyl_rule_t *r,
                      kyl_method_e m, kyl_gen_e gen)
{
    int k = v->n - first, i;

    if ((r->methods && !(r->methods & MB(m)))
        || (r->gen5 && gen != KYL_GEN_5 && gen != KYL_GEN_UNKNOWN)) {
        return 0;
    }
    for (i = 0; i < (int)KYL_LEN(r->seg) && r->seg[i] != NULL; i++) {
        if (i >= k || !seg_match(v->text + v->off[first + i], v->len[first + i],
                                 r->seg[i])) {
            return 0;
        }
    }
    return r->below ? k >= i : k == i;
}

/* s starts with the literal lit (s has at least strlen(lit) bytes).  Keys
 * mostly differ early: a byte loop beats a call to memcmp(). */
static int has_prefix(const char *s, const char *lit)
{
    while (*lit != '\0' && *s == *lit) {
        s++;
        lit++;
    }
    return *lit == '\0';
}

/* The group of the first segment after /kylin/api/ (s, n bytes), if any. */
static const kyl_group_t *group_of(const char *s, apr_size_t n)
{
    unsigned int at = kyl_group_at[(unsigned char)s[0]];
    const kyl_group_t *g, *end = kyl_groups + KYL_LEN(kyl_groups);

    if (at == 0) {
        return NULL;
    }
    for (g = &kyl_groups[at - 1]; g < end && g->key[0] == s[0]; g++) {
        if ((g->prefix ? n >= g->len : n == g->len) && has_prefix(s, g->key)) {
            return g;
        }
    }
    return NULL;
}

/* /kylin/api/tables/ ** /snapshotLocalCache/ ** (2.x-4.x lookup snapshots,
 * s. 6.1): any segment after "tables". */
static int is_snapshot_cache(const kyl_path_t *v, int first)
{
    int i;

    for (i = first; i < v->n; i++) {
        if (SEG_IS(v, i, "snapshotLocalCache")) {
            return 1;
        }
    }
    return 0;
}

/* Under /kylin/api/: segment 2 picks the group, its rules see the rest. */
static kyl_class_e classify_api(const kyl_path_t *v, kyl_method_e m,
                                kyl_gen_e gen, unsigned int *flags)
{
    const kyl_group_t *g;
    apr_size_t i;

    if (v->n < 3
        || (g = group_of(v->text + v->off[2], v->len[2])) == NULL) {
        return by_method(m);            /* no rule: GET reads, the rest write */
    }
    if (g->snapshot && is_snapshot_cache(v, 3)) {
        return KYL_CLASS_INTERNAL;
    }
    for (i = 0; i < g->nrules; i++) {
        const kyl_rule_t *r = &g->rules[i];

        if (rule_match(v, 3, r, m, gen)) {
            *flags |= r->flags;
            return r->cls == BY_METHOD ? by_method(m) : r->cls;
        }
    }
    return by_method(m);
}

kyl_class_e kyl_classify(const char *method, const char *path, apr_size_t len,
                         kyl_gen_e gen, unsigned int *flags)
{
    kyl_path_t v;
    kyl_method_e m = method_of(method);
    unsigned int f = 0;
    int kylin;
    kyl_class_e cls;

    if (path == NULL) {
        path = "";
        len = 0;
    }
    if (!path_split_plain(&v, path, len)) {
        path_normalise(&v, path, len);  /* escapes, ";", "..": the slow way */
    }
    kylin = SEG_IS(&v, 0, "kylin");
    if (kylin && SEG_IS(&v, 1, "api")) {
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
    else if (v.n == 2 && kylin && SEG_IS(&v, 1, "j_spring_security_logout")) {
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
