/* mod_kylin_balancer: httpd glue shared by the module's files.
 *
 *   mod_kylin_balancer.c   module record, hooks, start-up checks
 *   kylin_config.c         directives (names in KYL_DIR_*), merge, checks
 *   kylin_shm.c            member state in shared memory
 *   kylin_route.c          lbmethod "kylin", request classification,
 *                          403/503 answers, passive learning filter
 *   kylin_probe.c          mod_watchdog callback -> core prober -> shm
 *   kylin_status.c         the kylin-balancer status handler
 */
#ifndef MOD_KYLIN_BALANCER_H
#define MOD_KYLIN_BALANCER_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_proxy.h"

#include "kyl_core.h"
#include "kyl_probe.h"
#include "kyl_crypto.h"
#include "kyl_store.h"

extern module AP_MODULE_DECLARE_DATA kylin_balancer_module;
#ifndef KYL_MODULE_FILE   /* AP_DECLARE_MODULE declares it there */
APLOG_USE_MODULE(kylin_balancer);
#endif

#define KYL_LBMETHOD "kylin"
#define KYL_HANDLER  "kylin-balancer"
#define KYL_LOG_PREFIX "kylin_balancer: "

/* Directive names: defined once, used by the command table, messages and
 * (by hand) docs/directives.md; a test checks that they stay in step. */
#define KYL_DIR_PROBE_INTERVAL  "KylinProbeInterval"
#define KYL_DIR_PROBE_TIMEOUT   "KylinProbeTimeout"
#define KYL_DIR_PROBE_CREDS     "KylinProbeCredentials"
#define KYL_DIR_PROBE_CA        "KylinProbeCAFile"
#define KYL_DIR_MEMBER_MODE     "KylinMemberMode"
#define KYL_DIR_SESSION_STORE   "KylinSessionStore"
#define KYL_DIR_SESSION_REPL    "KylinSessionReplicas"
#define KYL_DIR_SESSION_KEY     "KylinSessionKey"
#define KYL_DIR_SESSION_COOKIE  "KylinSessionCookie"
#define KYL_DIR_SESSION_TIMEOUT "KylinSessionTimeout"
#define KYL_DIR_ALLOW_INTERNAL  "KylinAllowInternal"
#define KYL_DIR_SESSION_CACHE   "KylinSessionCacheTTL"

#define KYL_UNSET (-1)

typedef struct {
    const char *url;          /* as written */
    const char *name;         /* normalised: scheme://host:port[/path] */
    kyl_mode_e mode;
    const char *where;        /* "file:line" for messages */
} kyl_member_mode_t;

typedef struct {
    apr_interval_time_t probe_interval;   /* KYL_UNSET */
    apr_interval_time_t probe_timeout;
    const char *probe_creds_file;
    const char *probe_auth;               /* "Basic ..." from the file */
    int probe_creds_set;
    const char *probe_ca;                 /* KylinProbeCAFile's PEM, or NULL */
    apr_size_t probe_ca_len;
    apr_array_header_t *member_modes;     /* of kyl_member_mode_t */
    apr_array_header_t *store_servers;    /* of const char * */
    int replicas;                         /* KYL_UNSET */
    const char *key_file;
    const char *prev_key_file;
    kyl_keyring_t *keyring;
    const char *cookie_name;
    const char *route_cookie;             /* cookie_name + "_ROUTE", at child init */
    kyl_store_t *store;                   /* this child's store, at child init */
    kyl_store_counts_t *store_counts;     /* its counters, in shared memory */
    apr_interval_time_t idle_timeout;     /* KYL_UNSET */
    apr_interval_time_t max_lifetime;
    apr_interval_time_t cache_ttl;        /* KYL_UNSET: 0, no cache */
    int allow_internal;                   /* KYL_UNSET */
} kyl_srv_conf_t;

/* Defaults (contract.md). */
#define KYL_DEF_PROBE_INTERVAL  apr_time_from_sec(5)
#define KYL_DEF_PROBE_TIMEOUT   apr_time_from_sec(2)
#define KYL_DEF_COOKIE          "KYLIN_LB_SESSION"
#define KYL_DEF_IDLE            apr_time_from_sec(30 * 60)
#define KYL_DEF_MAX             apr_time_from_sec(8 * 3600)

/* Typed getters applying the defaults. */
kyl_srv_conf_t *kyl_conf(const server_rec *s);
apr_interval_time_t kyl_conf_interval(const kyl_srv_conf_t *c);
apr_interval_time_t kyl_conf_timeout(const kyl_srv_conf_t *c);
int kyl_conf_replicas(const kyl_srv_conf_t *c);
const char *kyl_conf_cookie(const kyl_srv_conf_t *c);
apr_interval_time_t kyl_conf_cache_ttl(const kyl_srv_conf_t *c);
int kyl_conf_allow_internal(const kyl_srv_conf_t *c);
kyl_mode_e kyl_conf_member_mode(const kyl_srv_conf_t *c, const char *worker_name);

extern const command_rec kyl_cmds[];
void *kyl_create_srv_conf(apr_pool_t *p, server_rec *s);
void *kyl_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);

/* Cross-directive checks for check_config (so configtest catches them). */
int kyl_config_check(apr_pool_t *pconf, server_rec *s);

/* 1 at most once every `every` seconds per process for one `last` stamp,
 * whatever the number of threads asking: rate-limits a log line. */
int kyl_log_due(volatile apr_uint32_t *last, apr_uint32_t every, apr_time_t now);

/* ---- mod_proxy access without link-time dependencies ------------------ */
proxy_server_conf *kyl_proxy_conf(const server_rec *s);
int kyl_balancer_is_kylin(const proxy_balancer *b);

/* Calls fn for every lbmethod=kylin balancer of every server, main server
 * first (a virtual host holds copies of the main server's balancers); stops
 * at the first non-zero result and returns it. */
typedef int kyl_balancer_fn(void *baton, server_rec *s, proxy_server_conf *pc,
                            proxy_balancer *b);
int kyl_each_balancer(server_rec *main_s, kyl_balancer_fn *fn, void *baton);
/* Name of a worker as BalancerMember wrote it (name_ex or name). */
const char *kyl_worker_name(const proxy_worker *w);
void kyl_sync_balancer(proxy_balancer *b, server_rec *s, proxy_server_conf *c);

/* ---- member state in shared memory ------------------------------------ */
#define KYL_SLOT_KEY_LEN 384
#define KYL_SLOT_ERR_LEN 160

/* The route word: everything the finder needs, in one 32-bit read. */
#define KYL_RW_PROBED      0x0001u
#define KYL_RW_HEALTHY     0x0002u
#define KYL_RW_MAINT       0x0004u
#define KYL_RW_MODE_SHIFT  4
#define KYL_RW_LEAD_SHIFT  6
#define KYL_RW_GEN_SHIFT   8
#define KYL_RW_SRC_SHIFT   12
#define KYL_RW_FIELD(w, shift, mask) (((w) >> (shift)) & (mask))

typedef struct {
    volatile apr_uint32_t state;      /* 0 free, 1 claimed, 2 ready */
    char key[KYL_SLOT_KEY_LEN];       /* "balancer://x http://h:p" */
    volatile apr_uint32_t route;      /* KYL_RW_* */
    volatile apr_uint32_t passive_nonquery; /* set by the request path */
    volatile apr_uint32_t probing_pid;/* prober process with a probe out */
    volatile apr_uint32_t seq;        /* seqlock over the fields below */
    apr_time_t last_probe;            /* end of the last probe */
    apr_time_t last_ok;
    apr_time_t last_change;           /* last health transition */
    apr_time_t cred_blocked_until;    /* credentials refused: wait */
    apr_interval_time_t cred_backoff; /* current wait after a refusal */
    apr_time_t next_due;
    apr_uint32_t failures;            /* consecutive failed probes */
    apr_uint32_t probes;              /* probes completed */
    apr_uint32_t probe_requests;      /* HTTP requests those sent */
    char version[KYL_PROBE_VER_LEN];
    char error[KYL_SLOT_ERR_LEN];
    char cluster_error[32];           /* 5.x KE-... seen in an answer */
    apr_time_t cluster_error_time;
    volatile apr_uint32_t counts[KYL_CLASS_COUNT];
} kyl_slot_t;

typedef struct {
    int probed, healthy, maintenance;
    kyl_mode_e mode;
    kyl_leader_e leader;
    kyl_gen_e gen;
    kyl_mode_source_e source;
} kyl_route_view_t;

apr_status_t kyl_shm_init(apr_pool_t *pconf, server_rec *s, int needed);
kyl_slot_t *kyl_slot_for(proxy_balancer *b, proxy_worker *w);
kyl_slot_t *kyl_slot_by_names(const char *balancer, const char *worker);
void kyl_route_unpack(apr_uint32_t word, kyl_route_view_t *v);
apr_uint32_t kyl_route_pack(const kyl_route_view_t *v);
void kyl_slot_write_begin(kyl_slot_t *slot);
void kyl_slot_write_end(kyl_slot_t *slot);
/* Copies the slot consistently (retries while a write is under way). */
void kyl_slot_snapshot(const kyl_slot_t *slot, kyl_slot_t *copy);

/* ---- per-request state -------------------------------------------------- */
typedef struct kyl_sreq kyl_sreq_t;      /* session state, kylin_session.c */

typedef struct {
    proxy_balancer *balancer;
    kyl_class_e cls;
    unsigned int flags;                  /* KYL_REQ_* */
    kyl_sreq_t *sreq;                    /* NULL: sessions off or not ours */
} kyl_req_t;

/* ---- routing ----------------------------------------------------------- */
extern const proxy_balancer_method kyl_lbmethod;
apr_status_t kyl_route_post_config(server_rec *s);
void kyl_route_register_hooks(apr_pool_t *p);

/* Effective view of a member for routing: probe state, passive learning and
 * staleness folded together (shared by the finder and the status page). */
void kyl_member_view(const kyl_slot_t *slot, apr_time_t now,
                     const kyl_srv_conf_t *conf, kyl_route_view_t *v,
                     int *passive_nonquery);

/* Tier of a member for a class: 0 best, higher worse, -1 never. */
int kyl_member_tier(kyl_class_e cls, const kyl_route_view_t *v,
                    int passive_nonquery, int leader_known);

/* ---- sessions ---------------------------------------------------------- */
void kyl_session_register_hooks(apr_pool_t *p);
/* fixups: reads the balancer cookie, loads the session (one get), handles
 * login/logout bookkeeping; strips our cookies from what the node sees. */
void kyl_session_fixups(request_rec *r, kyl_req_t *req);
/* finder: authenticates the request for the chosen member. */
void kyl_session_route(request_rec *r, kyl_req_t *req, proxy_worker *w);
/* finder: whether a route cookie may pin this request (stickiness while
 * memcached is down), and whether it names member w. */
int kyl_session_sticky(const kyl_req_t *req);
int kyl_session_sticks_to(const kyl_req_t *req, const proxy_worker *w);
/* status page: the store's servers as this process sees them. */
void kyl_session_status(request_rec *r, apr_array_header_t *out /* of
                        kyl_store_server_info_t */);

/* ---- prober ------------------------------------------------------------ */
apr_status_t kyl_probe_post_config(apr_pool_t *pconf, server_rec *s);

/* ---- status page ------------------------------------------------------- */
void kyl_status_register_hooks(apr_pool_t *p);

#endif
