/* Directives of mod_kylin_balancer: parsing, validation, merge, defaults.
 * Every setter error names the directive, the bad value and what is allowed;
 * checks that need the whole configuration run in check_config, so
 * "apachectl configtest" reports them too. */
#include "apr_strings.h"
#include "apr_uri.h"
#include "apr_base64.h"
#include "apr_file_io.h"
#include "apr_lib.h"
#include "http_core.h"

#include "mod_kylin_balancer.h"
#include "kyl_duration.h"
#include "kyl_store.h"
#include "kyl_http.h"

#define KYL_MAX_SECRET_FILE 4096
#define KYL_MAX_CA_FILE     (1024 * 1024)
#define KYL_MAX_REPLICAS    16
#define KYL_MIN_INTERVAL    apr_time_from_msec(100)
#define KYL_MIN_TIMEOUT     apr_time_from_msec(10)
#define KYL_MAX_CACHE_TTL   apr_time_from_sec(10)

void *kyl_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    kyl_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->probe_interval = KYL_UNSET;
    c->probe_timeout = KYL_UNSET;
    c->replicas = KYL_UNSET;
    c->idle_timeout = KYL_UNSET;
    c->max_lifetime = KYL_UNSET;
    c->cache_ttl = KYL_UNSET;
    c->allow_internal = KYL_UNSET;
    return c;
}

#define MERGE_NUM(f) c->f = (add->f != KYL_UNSET) ? add->f : base->f
#define MERGE_PTR(f) c->f = add->f ? add->f : base->f

void *kyl_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    kyl_srv_conf_t *base = basev, *add = addv;
    kyl_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    MERGE_NUM(probe_interval);
    MERGE_NUM(probe_timeout);
    MERGE_PTR(probe_creds_file);
    MERGE_PTR(probe_auth);
    MERGE_PTR(probe_ca);
    c->probe_ca_len = add->probe_ca ? add->probe_ca_len : base->probe_ca_len;
    c->probe_creds_set = add->probe_creds_set || base->probe_creds_set;
    c->member_modes = (base->member_modes && add->member_modes)
        ? apr_array_append(p, base->member_modes, add->member_modes)
        : (add->member_modes ? add->member_modes : base->member_modes);
    MERGE_PTR(store_servers);
    MERGE_NUM(replicas);
    MERGE_PTR(key_file);
    MERGE_PTR(prev_key_file);
    MERGE_PTR(keyring);
    MERGE_PTR(cookie_name);
    MERGE_NUM(idle_timeout);
    MERGE_NUM(max_lifetime);
    MERGE_NUM(cache_ttl);
    MERGE_NUM(allow_internal);
    return c;
}

kyl_srv_conf_t *kyl_conf(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &kylin_balancer_module);
}

apr_interval_time_t kyl_conf_interval(const kyl_srv_conf_t *c)
{
    return c->probe_interval != KYL_UNSET ? c->probe_interval
                                          : KYL_DEF_PROBE_INTERVAL;
}

apr_interval_time_t kyl_conf_timeout(const kyl_srv_conf_t *c)
{
    return c->probe_timeout != KYL_UNSET ? c->probe_timeout
                                         : KYL_DEF_PROBE_TIMEOUT;
}

int kyl_conf_replicas(const kyl_srv_conf_t *c)
{
    if (c->replicas != KYL_UNSET) {
        return c->replicas;
    }
    return (c->store_servers && c->store_servers->nelts >= 2) ? 1 : 0;
}

const char *kyl_conf_cookie(const kyl_srv_conf_t *c)
{
    return c->cookie_name ? c->cookie_name : KYL_DEF_COOKIE;
}

apr_interval_time_t kyl_conf_cache_ttl(const kyl_srv_conf_t *c)
{
    return c->cache_ttl != KYL_UNSET ? c->cache_ttl : 0;
}

int kyl_conf_allow_internal(const kyl_srv_conf_t *c)
{
    return c->allow_internal == 1;
}

/* scheme://host:port[/path], lower-cased, default port made explicit and
 * trailing slashes dropped, so "HTTP://Node1:7070/" names "http://node1:7070". */
static const char *normalise_url(apr_pool_t *p, const char *url)
{
    apr_uri_t u;
    apr_port_t port;
    apr_size_t n;
    const char *path;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme || !u.hostname
        || !*u.hostname) {
        return NULL;
    }
    port = u.port_str ? u.port : apr_uri_port_of_scheme(u.scheme);
    path = u.path ? u.path : "";
    for (n = strlen(path); n > 0 && path[n - 1] == '/'; n--) {
    }
    return apr_psprintf(p, "%s://%s:%u%s", apr_pstrdup(p, u.scheme),
                        u.hostname, (unsigned)port, apr_pstrmemdup(p, path, n));
}

kyl_mode_e kyl_conf_member_mode(const kyl_srv_conf_t *c, const char *worker_name)
{
    apr_pool_t *p;
    const char *name;
    kyl_mode_e mode = KYL_MODE_UNKNOWN;
    int i;

    if (c->member_modes == NULL || worker_name == NULL) {
        return KYL_MODE_UNKNOWN;
    }
    apr_pool_create(&p, NULL);
    name = normalise_url(p, worker_name);
    for (i = 0; name && i < c->member_modes->nelts; i++) {
        const kyl_member_mode_t *m =
            &APR_ARRAY_IDX(c->member_modes, i, kyl_member_mode_t);

        if (strcasecmp(m->name, name) == 0) {
            mode = m->mode;
        }
    }
    apr_pool_destroy(p);
    return mode;
}

static const char *where(cmd_parms *cmd)
{
    return cmd->directive
        ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                       cmd->directive->line_num)
        : "(unknown)";
}

static const char *duration_arg(cmd_parms *cmd, const char *arg,
                                apr_interval_time_t min,
                                apr_interval_time_t *out)
{
    char buf[24];

    if (kyl_duration_parse(arg, out) != APR_SUCCESS || *out < min) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid duration: "
                            "use a whole number of at least %s with an "
                            "optional unit ms, s, m or h (e.g. 500ms, 5s, 2m)",
                            cmd->cmd->name, arg,
                            kyl_duration_format(min, buf, sizeof(buf)));
    }
    return NULL;
}

static const char *set_probe_interval(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    return duration_arg(cmd, arg, KYL_MIN_INTERVAL, &c->probe_interval);
}

static const char *set_probe_timeout(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    return duration_arg(cmd, arg, KYL_MIN_TIMEOUT, &c->probe_timeout);
}

/* Reads a whole file of at most max bytes, as the user that starts httpd
 * (usually root); error messages never echo the contents (secrets). */
static const char *read_conf_file(cmd_parms *cmd, const char *arg, int max,
                                  char **data, apr_size_t *len)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char err[120];

    if (path == NULL) {
        return apr_psprintf(cmd->pool, "%s: invalid file name '%s'",
                            cmd->cmd->name, arg);
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot read '%s': %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    if (fi.size > max) {
        apr_file_close(f);
        return apr_psprintf(cmd->pool, "%s: '%s' is larger than %d bytes",
                            cmd->cmd->name, path, max);
    }
    *len = (apr_size_t)fi.size;
    *data = apr_palloc(cmd->pool, *len + 1);
    rv = apr_file_read_full(f, *data, *len, len);
    apr_file_close(f);
    (*data)[*len] = '\0';
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
        return apr_psprintf(cmd->pool, "%s: cannot read '%s'", cmd->cmd->name, path);
    }
    return NULL;
}

static const char *set_probe_creds(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    char *data, *colon, *enc;
    apr_size_t len;
    const char *err = read_conf_file(cmd, arg, KYL_MAX_SECRET_FILE, &data, &len);

    if (err) {
        return err;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
        data[--len] = '\0';
    }
    colon = strchr(data, ':');
    if (colon == NULL || colon == data || memchr(data, '\n', len)
        || strlen(data) != len) {
        return apr_psprintf(cmd->pool, "%s: '%s' must hold one line "
                            "'user:password' (a Kylin service account)",
                            cmd->cmd->name, arg);
    }
    enc = apr_palloc(cmd->pool, apr_base64_encode_len((int)len));
    apr_base64_encode(enc, data, (int)len);
    memset(data, 0, len);
    c->probe_creds_file = arg;
    c->probe_auth = apr_pstrcat(cmd->pool, "Basic ", enc, NULL);
    c->probe_creds_set = 1;
    return NULL;
}

/* Certificates an https member's must chain to: read now, as root, so the
 * children need no access to the file. */
static const char *set_probe_ca(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    char *data;
    apr_size_t len;
    const char *err = read_conf_file(cmd, arg, KYL_MAX_CA_FILE, &data, &len);

    if (err) {
        return err;
    }
    if (!kyl_http_ca_ok(data, len)) {
        return apr_psprintf(cmd->pool, "%s: '%s' holds no PEM certificate "
                            "(-----BEGIN CERTIFICATE-----)", cmd->cmd->name, arg);
    }
    c->probe_ca = data;
    c->probe_ca_len = len;
    return NULL;
}

static const char *set_member_mode(cmd_parms *cmd, void *d, const char *url,
                                   const char *mode)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    kyl_member_mode_t *m;
    kyl_mode_e parsed;
    const char *name = normalise_url(cmd->pool, url);

    if (name == NULL) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a member URL: use the "
                            "URL of a BalancerMember, e.g. http://10.0.0.1:7070",
                            cmd->cmd->name, url);
    }
    if (strcasecmp(mode, "all") && strcasecmp(mode, "job")
        && strcasecmp(mode, "query")) {
        return apr_psprintf(cmd->pool, "%s: mode '%s' for %s is not allowed: "
                            "use all, job or query", cmd->cmd->name, mode, url);
    }
    kyl_mode_parse(mode, &parsed);
    if (c->member_modes == NULL) {
        c->member_modes = apr_array_make(cmd->pool, 4, sizeof(kyl_member_mode_t));
    }
    m = apr_array_push(c->member_modes);
    m->url = url;
    m->name = name;
    m->mode = parsed;
    m->where = where(cmd);
    return NULL;
}

static const char *set_store(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    const char *host;
    apr_port_t port;

    if (kyl_store_parse_server(cmd->temp_pool, arg, &host, &port) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a memcached server: use "
                            "host:port, e.g. 127.0.0.1:11211 or [::1]:11211",
                            cmd->cmd->name, arg);
    }
    if (c->store_servers == NULL) {
        c->store_servers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->store_servers, const char *) = arg;
    return NULL;
}

static const char *set_replicas(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (!apr_isdigit(*arg) || *end || n < 0 || n > KYL_MAX_REPLICAS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not allowed: use a whole "
                            "number from 0 to %d", cmd->cmd->name, arg,
                            KYL_MAX_REPLICAS);
    }
    c->replicas = (int)n;
    return NULL;
}

static const char *derive_key(cmd_parms *cmd, const char *file, kyl_key_t *key)
{
    char *data;
    apr_size_t len;
    const char *err = read_conf_file(cmd, file, KYL_MAX_SECRET_FILE, &data, &len);

    if (err) {
        return err;
    }
    if (len < KYL_SECRET_MIN) {
        return apr_psprintf(cmd->pool, "%s: '%s' holds %" APR_SIZE_T_FMT
                            " bytes: a session key needs at least %d (e.g. "
                            "openssl rand -base64 48 > %s)", cmd->cmd->name,
                            file, len, KYL_SECRET_MIN, file);
    }
    if (kyl_key_derive(key, (const unsigned char *)data, len) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: key derivation failed for '%s'",
                            cmd->cmd->name, file);
    }
    memset(data, 0, len);
    return NULL;
}

static const char *set_key(cmd_parms *cmd, void *d, const char *file,
                           const char *prev)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    kyl_keyring_t *ring = apr_pcalloc(cmd->pool, sizeof(*ring));
    const char *err = derive_key(cmd, file, &ring->cur);

    if (err == NULL && prev != NULL) {
        err = derive_key(cmd, prev, &ring->prev);
        ring->has_prev = 1;
    }
    if (err) {
        return err;
    }
    c->key_file = file;
    c->prev_key_file = prev;
    c->keyring = ring;
    return NULL;
}

/* RFC 6265 cookie-name: an RFC 7230 token. */
static int is_token(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s <= 32 || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s)) {
            return 0;
        }
    }
    return 1;
}

static const char *set_cookie(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);

    if (!is_token(arg) || strlen(arg) > 64 || strcmp(arg, "JSESSIONID") == 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not allowed: use a cookie "
                            "name of 1-64 letters, digits or !#$%%&'*+-.^_`|~, "
                            "other than Kylin's JSESSIONID", cmd->cmd->name, arg);
    }
    c->cookie_name = arg;
    return NULL;
}

static const char *set_session_timeout(cmd_parms *cmd, void *d,
                                       const char *idle, const char *max)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    const char *err = duration_arg(cmd, idle, apr_time_from_sec(1), &c->idle_timeout);

    if (err == NULL && max) {
        err = duration_arg(cmd, max, apr_time_from_sec(1), &c->max_lifetime);
    }
    if (err) {
        return err;
    }
    if (max == NULL) {
        c->max_lifetime = c->idle_timeout > KYL_DEF_MAX ? c->idle_timeout
                                                        : KYL_DEF_MAX;
    }
    if (c->max_lifetime < c->idle_timeout) {
        return apr_psprintf(cmd->pool, "%s: maximum lifetime '%s' is shorter "
                            "than the idle timeout '%s': the maximum must be at "
                            "least the idle timeout", cmd->cmd->name, max, idle);
    }
    return NULL;
}

static const char *set_cache_ttl(cmd_parms *cmd, void *d, const char *arg)
{
    kyl_srv_conf_t *c = kyl_conf(cmd->server);
    const char *err = duration_arg(cmd, arg, 0, &c->cache_ttl);

    if (err == NULL && c->cache_ttl > KYL_MAX_CACHE_TTL) {
        return apr_psprintf(cmd->pool, "%s: '%s' is too long: every logout waits "
                            "this long for cached copies to expire; use at most "
                            "10s (0 turns the cache off)", cmd->cmd->name, arg);
    }
    return err;
}

static const char *set_allow_internal(cmd_parms *cmd, void *d, int on)
{
    kyl_conf(cmd->server)->allow_internal = on ? 1 : 0;
    return NULL;
}

const command_rec kyl_cmds[] = {
    AP_INIT_TAKE1(KYL_DIR_PROBE_INTERVAL, set_probe_interval, NULL, RSRC_CONF,
                  "How often each member is probed (default 5s)"),
    AP_INIT_TAKE1(KYL_DIR_PROBE_TIMEOUT, set_probe_timeout, NULL, RSRC_CONF,
                  "Connect + response limit for one probe (default 2s)"),
    AP_INIT_TAKE1(KYL_DIR_PROBE_CREDS, set_probe_creds, NULL, RSRC_CONF,
                  "File holding user:password of a Kylin service account"),
    AP_INIT_TAKE1(KYL_DIR_PROBE_CA, set_probe_ca, NULL, RSRC_CONF,
                  "PEM certificates https members' must chain to (default: "
                  "probes encrypt without verifying)"),
    AP_INIT_TAKE2(KYL_DIR_MEMBER_MODE, set_member_mode, NULL, RSRC_CONF,
                  "Static mode of a member: <member-url> all|job|query"),
    AP_INIT_ITERATE(KYL_DIR_SESSION_STORE, set_store, NULL, RSRC_CONF,
                    "memcached servers (host:port ...) for shared sessions"),
    AP_INIT_TAKE1(KYL_DIR_SESSION_REPL, set_replicas, NULL, RSRC_CONF,
                  "Extra copies of each session on other memcached servers"),
    AP_INIT_TAKE12(KYL_DIR_SESSION_KEY, set_key, NULL, RSRC_CONF,
                   "Secret file (>= 32 bytes) for sessions [previous file]"),
    AP_INIT_TAKE1(KYL_DIR_SESSION_COOKIE, set_cookie, NULL, RSRC_CONF,
                  "Name of the balancer's session cookie"),
    AP_INIT_TAKE12(KYL_DIR_SESSION_TIMEOUT, set_session_timeout, NULL, RSRC_CONF,
                   "Idle and absolute session lifetime (default 30m 8h)"),
    AP_INIT_TAKE1(KYL_DIR_SESSION_CACHE, set_cache_ttl, NULL, RSRC_CONF,
                  "How long a process may reuse a session it read (default 0: "
                  "never)"),
    AP_INIT_FLAG(KYL_DIR_ALLOW_INTERNAL, set_allow_internal, NULL, RSRC_CONF,
                 "Let clients reach Kylin's node-to-node endpoints (default Off)"),
    { NULL }
};

/* ---- checks over the whole configuration ------------------------------ */

typedef struct {
    apr_pool_t *p;
    const char *name;
} kyl_find_member_t;

static int has_member(void *baton, server_rec *s, proxy_server_conf *pc,
                      proxy_balancer *b)
{
    const kyl_find_member_t *f = baton;
    int j;

    for (j = 0; j < b->workers->nelts; j++) {
        const char *wn = normalise_url(f->p, kyl_worker_name(
            APR_ARRAY_IDX(b->workers, j, proxy_worker *)));

        if (wn && strcasecmp(wn, f->name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int member_exists(apr_pool_t *p, server_rec *main_s, const char *name)
{
    kyl_find_member_t f;

    f.p = p;
    f.name = name;
    return kyl_each_balancer(main_s, has_member, &f);
}

static int check_member_modes(apr_pool_t *p, server_rec *main_s,
                              const kyl_srv_conf_t *c)
{
    int i;

    for (i = 0; c->member_modes && i < c->member_modes->nelts; i++) {
        const kyl_member_mode_t *m =
            &APR_ARRAY_IDX(c->member_modes, i, kyl_member_mode_t);

        if (!member_exists(p, main_s, m->name)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s, KYL_LOG_PREFIX
                         "%s: '%s' (%s) matches no BalancerMember of a "
                         "balancer with lbmethod=" KYL_LBMETHOD,
                         KYL_DIR_MEMBER_MODE, m->url, m->where);
            return 0;
        }
    }
    return 1;
}

static int check_sessions(server_rec *s, const kyl_srv_conf_t *c)
{
    int n = c->store_servers ? c->store_servers->nelts : 0;

    if (n && c->keyring == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KYL_LOG_PREFIX
                     "%s is set for %s but %s is missing: sessions must be "
                     "encrypted; add %s <file> with at least %d random bytes",
                     KYL_DIR_SESSION_STORE, s->server_hostname
                     ? s->server_hostname : "the server",
                     KYL_DIR_SESSION_KEY, KYL_DIR_SESSION_KEY, KYL_SECRET_MIN);
        return 0;
    }
    if (n && kyl_conf_replicas(c) > n - 1) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KYL_LOG_PREFIX
                     "%s %d needs at least %d %s servers (%d given)",
                     KYL_DIR_SESSION_REPL, kyl_conf_replicas(c),
                     kyl_conf_replicas(c) + 1, KYL_DIR_SESSION_STORE, n);
        return 0;
    }
    return 1;
}

static int check_modules(server_rec *s)
{
    static const char *const needed[][2] = {
        { "mod_proxy.c", "proxy_module" },
        { "mod_proxy_http.c", "proxy_http_module" },
        { "mod_proxy_balancer.c", "proxy_balancer_module" },
        { "mod_slotmem_shm.c", "slotmem_shm_module" },
        { "mod_watchdog.c", "watchdog_module" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (ap_find_linked_module(needed[i][0]) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KYL_LOG_PREFIX
                         "%s is not loaded: mod_kylin_balancer needs it; add "
                         "\"LoadModule %s\" before kylin_balancer_module",
                         needed[i][0], needed[i][1]);
            return 0;
        }
    }
    return 1;
}

int kyl_config_check(apr_pool_t *pconf, server_rec *main_s)
{
    server_rec *s;

    if (!check_modules(main_s)) {
        return !OK;
    }
    for (s = main_s; s; s = s->next) {
        const kyl_srv_conf_t *c = kyl_conf(s);

        if (!check_sessions(s, c) || !check_member_modes(pconf, main_s, c)) {
            return !OK;
        }
        if (kyl_conf_timeout(c) > kyl_conf_interval(c)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KYL_LOG_PREFIX
                         "%s is longer than %s: a hung member is then seen "
                         "only every timeout", KYL_DIR_PROBE_TIMEOUT,
                         KYL_DIR_PROBE_INTERVAL);
        }
    }
    return OK;
}
