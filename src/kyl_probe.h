/* The probe of one member: which Kylin generation it runs, whether it is
 * alive, its server mode, job-engine leadership and maintenance state
 * (kylin-rest.md sections 3, 4.1, 8 and 10).  Runs on the watchdog's probe
 * threads, never on the request path. */
#ifndef KYL_PROBE_H
#define KYL_PROBE_H

#include "kyl_core.h"
#include "kyl_http.h"

#define KYL_PROBE_ERR_LEN 160
#define KYL_PROBE_VER_LEN 32

typedef enum {
    KYL_MODE_FROM_NONE = 0,  /* nothing known: routed as "all" */
    KYL_MODE_FROM_CONFIG,    /* KylinMemberMode */
    KYL_MODE_FROM_PROBE      /* public_config, admin/config, system/servers */
} kyl_mode_source_e;

/* How the one request of a probe that carried the credentials went. */
typedef enum {
    KYL_CRED_NO_VERDICT = 0,       /* no answer, or neither of the below */
    KYL_CRED_ACCEPTED,             /* 2xx */
    KYL_CRED_REFUSED               /* 401/403 */
} kyl_cred_outcome_e;

/* Optional guard of the credentials, shared by the probes of every member
 * that uses them: begin() is asked before the request that would carry
 * them (at most once per probe) and may wait until deadline; 0 = probe
 * without them.  After a 1, end() gets the outcome, exactly once. */
typedef struct {
    int (*begin)(void *baton, apr_time_t deadline);
    void (*end)(void *baton, kyl_cred_outcome_e outcome);
    void *baton;
} kyl_cred_guard_t;

typedef struct {
    kyl_http_target_t http;
    const char *base;              /* Kylin context path, "/kylin" */
    const char *auth;              /* "Basic ..." or NULL: no credentials */
    const kyl_cred_guard_t *guard; /* NULL: auth is always usable */
    kyl_mode_e static_mode;        /* KylinMemberMode, or KYL_MODE_UNKNOWN */
    kyl_gen_e known_gen;           /* last detected generation, a hint */
    apr_interval_time_t timeout;   /* for the whole probe */
} kyl_probe_target_t;

typedef struct {
    int healthy;
    kyl_gen_e gen;
    char version[KYL_PROBE_VER_LEN];
    kyl_mode_e mode;
    kyl_mode_source_e mode_source;
    kyl_leader_e leader;
    int maintenance;               /* 5.x maintenance mode */
    int auth_rejected;             /* credentials answered 401/403 */
    int requests;                  /* HTTP requests this probe sent */
    char error[KYL_PROBE_ERR_LEN]; /* empty when all went well */
} kyl_probe_result_t;

/* Probes t; never fails as a call: the outcome is in *res. */
void kyl_probe_run(kyl_probe_result_t *res, const kyl_probe_target_t *t,
                   apr_pool_t *p);

/* The Kylin context path for a member URL path: "" or "/" -> "/kylin",
 * "/kylin" or "/kylin/" -> "/kylin", "/x" -> "/x/kylin". */
const char *kyl_probe_base(apr_pool_t *p, const char *member_path);

#endif
