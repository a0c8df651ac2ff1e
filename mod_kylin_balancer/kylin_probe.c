/* The prober: a singleton mod_watchdog callback (one child per httpd
 * instance runs it, as mod_proxy_hcheck does) that, every tick, hands each
 * member that is due to a small thread pool.  Each probe has its own pool
 * and deadline, so one hung member never delays the others; its result goes
 * to shared memory, where every child's finder reads it.
 *
 * The callback always returns APR_SUCCESS: mod_watchdog never calls a
 * callback again once it returned an error. */
#include "apr_strings.h"
#include "apr_uri.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_thread_cond.h"
#include <unistd.h>
#include "apr_thread_pool.h"
#include "mod_watchdog.h"

#include "mod_kylin_balancer.h"

#define KYL_WATCHDOG_NAME   "_kylin_balancer_"
#define KYL_PROBE_THREADS   16
#define KYL_CRED_BACKOFF    apr_time_from_sec(60)
#define KYL_CRED_MAX        apr_time_from_sec(3600)
#define KYL_CRED_GIVE_UP    2   /* refusals in a row: stop until a restart */
#define KYL_FOREVER         APR_INT64_MAX

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;

typedef struct {
    server_rec *s;
    /* httpd's wd_worker_cleanup() calls STOPPING from the thread that
     * destroys the child's pool, while the watchdog thread may be inside
     * a RUNNING call: p, tp and gates change only under this lock. */
    apr_thread_mutex_t *lock;
    apr_pool_t *p;
    apr_thread_pool_t *tp;
    apr_hash_t *gates;            /* "Basic ..." -> kyl_cred_gate_t */
} kyl_prober_t;

/* The credentials of KylinProbeCredentials, shared by every member probed
 * with them: at most one probe request carries them at a time, and after a
 * refusal none does for a while, so a wrong password costs one failed login
 * per retry, not one per member (Kylin 5 locks a user cluster-wide at the
 * third failure in a row). */
typedef struct {
    const char *auth;
    const char *file;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *turn;
    int busy;                     /* a request carries them right now */
    int refusals;                 /* in a row */
    apr_time_t blocked_until;     /* refused: not before (KYL_FOREVER) */
    int mark_pending;             /* members' slots to update (tick) */
    apr_time_t mark_until;
    apr_interval_time_t mark_backoff;
} kyl_cred_gate_t;

typedef struct {
    kyl_prober_t *prober;
    server_rec *s;
    const kyl_srv_conf_t *conf;
    proxy_worker *worker;
    kyl_slot_t *slot;
    const char *balancer;
    kyl_cred_gate_t *gate;        /* NULL without credentials */
    kyl_cred_guard_t guard;
} kyl_task_t;

/* In flight = probed by this process right now.  Marked with our pid in
 * shared memory, so a probe left "in flight" by a child that died is not
 * waited for by the child that takes the watchdog over. */
static void set_inflight(kyl_slot_t *slot, int on)
{
    apr_atomic_set32(&slot->probing_pid, on ? (apr_uint32_t)getpid() : 0);
}

static int is_inflight(kyl_slot_t *slot)
{
    return apr_atomic_read32(&slot->probing_pid) == (apr_uint32_t)getpid();
}

static const char *worker_path(apr_pool_t *p, const proxy_worker *w)
{
    apr_uri_t u;

    if (apr_uri_parse(p, kyl_worker_name(w), &u) != APR_SUCCESS || !u.path) {
        return "";
    }
    return u.path;
}

static void fill_target(kyl_probe_target_t *t, const kyl_task_t *task,
                        apr_pool_t *p)
{
    const proxy_worker_shared *ws = task->worker->s;
    kyl_route_view_t old;

    kyl_route_unpack(task->slot->route, &old);
    memset(t, 0, sizeof(*t));
    t->http.host = apr_pstrdup(p, ws->hostname_ex[0] ? ws->hostname_ex
                                                    : ws->hostname);
    t->http.port = ws->port;
    t->http.host_header = apr_psprintf(p, "%s:%u", t->http.host,
                                       (unsigned)ws->port);
    t->http.tls = strcasecmp(ws->scheme, "https") == 0;
    t->http.ca_pem = task->conf->probe_ca;
    t->http.ca_len = task->conf->probe_ca_len;
    t->base = kyl_probe_base(p, worker_path(p, task->worker));
    if (task->gate) {
        t->auth = task->gate->auth;
        t->guard = &task->guard;
    }
    t->static_mode = kyl_conf_member_mode(task->conf,
                                          kyl_worker_name(task->worker));
    t->known_gen = old.probed ? old.gen : KYL_GEN_UNKNOWN;
    t->timeout = kyl_conf_timeout(task->conf);
}

static void log_transitions(const kyl_task_t *task, const kyl_route_view_t *o,
                            const kyl_route_view_t *n,
                            const kyl_probe_result_t *res)
{
    server_rec *s = task->s;
    const char *name = kyl_worker_name(task->worker);

    if (o->healthy && !n->healthy) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KYL_LOG_PREFIX
                     "%s %s left rotation: %s", task->balancer, name, res->error);
    }
    else if (!o->probed && !n->healthy) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, KYL_LOG_PREFIX
                     "%s %s is not usable: %s", task->balancer, name, res->error);
    }
    else if (n->healthy && (!o->healthy || !o->probed)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, KYL_LOG_PREFIX
                     "%s %s in rotation: Kylin %s, mode %s, leader %s",
                     task->balancer, name, res->version, kyl_mode_name(n->mode),
                     kyl_leader_name(n->leader));
    }
    else if (n->healthy && (o->mode != n->mode || o->leader != n->leader)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, KYL_LOG_PREFIX
                     "%s %s now mode %s (was %s), leader %s (was %s)",
                     task->balancer, name, kyl_mode_name(n->mode),
                     kyl_mode_name(o->mode), kyl_leader_name(n->leader),
                     kyl_leader_name(o->leader));
    }
}

/* ---- the credentials gate ----------------------------------------------- */

typedef struct {
    const kyl_cred_gate_t *g;
    apr_time_t until;
    apr_interval_time_t backoff;
} kyl_mark_t;

static int mark_balancer(void *baton, server_rec *s, proxy_server_conf *pc,
                         proxy_balancer *b)
{
    const kyl_mark_t *m = baton;
    const char *auth = kyl_conf(s)->probe_auth;
    int j;

    for (j = 0; auth && strcmp(auth, m->g->auth) == 0 && j < b->workers->nelts;
         j++) {
        kyl_slot_t *slot = kyl_slot_for(b, APR_ARRAY_IDX(b->workers, j,
                                                         proxy_worker *));
        if (slot) {
            kyl_slot_write_begin(slot);
            slot->cred_blocked_until = m->until;
            slot->cred_backoff = m->backoff;
            kyl_slot_write_end(slot);
        }
    }
    return 0;
}

/* Marks every member probed with these credentials as refused until
 * `until` in shared memory: the status page shows it, and the prober of the
 * next generation (graceful restart) keeps to it.  Watchdog thread only
 * (it walks the balancers that it also syncs). */
static void mark_members(kyl_prober_t *pr, const kyl_cred_gate_t *g,
                         apr_time_t until, apr_interval_time_t backoff)
{
    kyl_mark_t m;

    m.g = g;
    m.until = until;
    m.backoff = backoff;
    kyl_each_balancer(pr->s, mark_balancer, &m);
}

/* Asks the watchdog thread to mark the members (next tick). */
static void gate_mark(kyl_cred_gate_t *g, apr_time_t until,
                      apr_interval_time_t backoff)
{
    g->mark_pending = 1;
    g->mark_until = until;
    g->mark_backoff = backoff;
}

static void flush_marks(kyl_prober_t *pr)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(NULL, pr->gates); hi; hi = apr_hash_next(hi)) {
        kyl_cred_gate_t *g = apr_hash_this_val(hi);
        apr_time_t until;
        apr_interval_time_t backoff;
        int pending;

        apr_thread_mutex_lock(g->lock);
        pending = g->mark_pending;
        until = g->mark_until;
        backoff = g->mark_backoff;
        g->mark_pending = 0;
        apr_thread_mutex_unlock(g->lock);
        if (pending) {
            mark_members(pr, g, until, backoff);
        }
    }
}

static void gate_refused(kyl_task_t *task, kyl_cred_gate_t *g, apr_time_t now)
{
    const char *name = kyl_worker_name(task->worker);

    if (++g->refusals >= KYL_CRED_GIVE_UP) {
        g->blocked_until = KYL_FOREVER;
        gate_mark(g, now + KYL_CRED_MAX, KYL_CRED_MAX);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, task->s, KYL_LOG_PREFIX
                     "%s refused the credentials in %s (%s) again: the "
                     "prober no longer sends them, until httpd is restarted "
                     "(at least %d s from now)", name, g->file,
                     KYL_DIR_PROBE_CREDS, (int)apr_time_sec(KYL_CRED_MAX));
        return;
    }
    g->blocked_until = now + KYL_CRED_BACKOFF;
    gate_mark(g, g->blocked_until, KYL_CRED_BACKOFF);
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, task->s, KYL_LOG_PREFIX
                 "%s refused the credentials in %s (%s): probing every member "
                 "without them; they will be tried once more in %d s",
                 name, g->file, KYL_DIR_PROBE_CREDS,
                 (int)apr_time_sec(KYL_CRED_BACKOFF));
}

/* kyl_cred_guard_t.begin: waits for our turn, until the probe's deadline. */
static int gate_begin(void *baton, apr_time_t deadline)
{
    kyl_task_t *task = baton;
    kyl_cred_gate_t *g = task->gate;
    int granted = 0;

    apr_thread_mutex_lock(g->lock);
    for (;;) {
        apr_time_t now = apr_time_now();

        if (g->blocked_until > now || now >= deadline) {
            break;
        }
        if (!g->busy) {
            g->busy = granted = 1;
            break;
        }
        apr_thread_cond_timedwait(g->turn, g->lock, deadline - now);
    }
    apr_thread_mutex_unlock(g->lock);
    return granted;
}

static void gate_end(void *baton, kyl_cred_outcome_e outcome)
{
    kyl_task_t *task = baton;
    kyl_cred_gate_t *g = task->gate;

    apr_thread_mutex_lock(g->lock);
    g->busy = 0;
    if (outcome == KYL_CRED_REFUSED) {
        gate_refused(task, g, apr_time_now());
    }
    else if (outcome == KYL_CRED_ACCEPTED && g->refusals > 0) {
        g->refusals = 0;
        g->blocked_until = 0;
        gate_mark(g, 0, 0);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, task->s, KYL_LOG_PREFIX
                     "%s accepts the credentials in %s again",
                     kyl_worker_name(task->worker), g->file);
    }
    apr_thread_cond_broadcast(g->turn);
    apr_thread_mutex_unlock(g->lock);
}

/* The gate of a member's credentials, created on first use by the
 * watchdog thread (the only one that touches pr->gates).  A refusal that a
 * previous generation recorded in shared memory still holds. */
static kyl_cred_gate_t *gate_for(kyl_prober_t *pr, const kyl_srv_conf_t *conf,
                                 const kyl_slot_t *slot)
{
    kyl_cred_gate_t *g = apr_hash_get(pr->gates, conf->probe_auth,
                                      APR_HASH_KEY_STRING);

    if (g == NULL) {
        g = apr_pcalloc(pr->p, sizeof(*g));
        g->auth = apr_pstrdup(pr->p, conf->probe_auth);
        g->file = apr_pstrdup(pr->p, conf->probe_creds_file);
        if (apr_thread_mutex_create(&g->lock, APR_THREAD_MUTEX_DEFAULT, pr->p)
                != APR_SUCCESS
            || apr_thread_cond_create(&g->turn, pr->p) != APR_SUCCESS) {
            return NULL;          /* probe without credentials */
        }
        apr_hash_set(pr->gates, g->auth, APR_HASH_KEY_STRING, g);
    }
    apr_thread_mutex_lock(g->lock);
    if (slot->cred_blocked_until > apr_time_now()
        && slot->cred_blocked_until > g->blocked_until) {
        g->blocked_until = slot->cred_blocked_until;
        g->refusals = slot->cred_backoff >= KYL_CRED_MAX ? KYL_CRED_GIVE_UP - 1
                                                         : 1;
    }
    apr_thread_mutex_unlock(g->lock);
    return g;
}

/* Folds a probe result into the member's shared state and logs transitions
 * once (not per probe). */
static void apply(const kyl_task_t *task, const kyl_probe_result_t *res,
                  apr_time_t now)
{
    kyl_slot_t *slot = task->slot;
    kyl_route_view_t old, nv;
    const char *name = kyl_worker_name(task->worker);

    kyl_route_unpack(slot->route, &old);
    memset(&nv, 0, sizeof(nv));
    nv.probed = 1;
    nv.healthy = res->healthy;
    nv.gen = res->gen != KYL_GEN_UNKNOWN ? res->gen : old.gen;
    nv.maintenance = res->maintenance;
    nv.leader = res->healthy ? res->leader : KYL_LEADER_UNKNOWN;
    if (res->mode_source != KYL_MODE_FROM_NONE) {
        nv.mode = res->mode;
        nv.source = res->mode_source;
    }
    else if (old.source == KYL_MODE_FROM_PROBE) {
        nv.mode = old.mode;       /* an unreadable answer is not a new mode */
        nv.source = old.source;
    }

    kyl_slot_write_begin(slot);
    slot->last_probe = now;
    slot->probes++;
    slot->probe_requests += (apr_uint32_t)res->requests;
    if (res->healthy) {
        slot->last_ok = now;
        slot->failures = 0;
        if (res->version[0]) {
            apr_cpystrn(slot->version, res->version, sizeof(slot->version));
        }
    }
    else {
        slot->failures++;
    }
    if (nv.healthy != old.healthy || !old.probed) {
        slot->last_change = now;
    }
    apr_cpystrn(slot->error, res->error, sizeof(slot->error));
    kyl_slot_write_end(slot);
    apr_atomic_set32(&slot->route, kyl_route_pack(&nv));

    if (res->healthy && nv.source == KYL_MODE_FROM_PROBE
        && nv.mode != KYL_MODE_JOB) {
        apr_atomic_set32(&slot->passive_nonquery, 0);
    }
    if (res->healthy && (task->worker->s->status & PROXY_WORKER_IN_ERROR)) {
        task->worker->s->status &= ~PROXY_WORKER_IN_ERROR;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, task->s, KYL_LOG_PREFIX
                     "%s answers probes again: cleared its error state", name);
    }
    log_transitions(task, &old, &nv, res);
}

static void *APR_THREAD_FUNC probe_task(apr_thread_t *thd, void *data)
{
    kyl_task_t *task = data;
    kyl_probe_target_t t;
    kyl_probe_result_t res;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    fill_target(&t, task, p);
    kyl_probe_run(&res, &t, p);
    apply(task, &res, apr_time_now());
    apr_pool_destroy(p);
    set_inflight(task->slot, 0);
    free(task);
    return NULL;
}

static void schedule(kyl_prober_t *pr, server_rec *s, proxy_balancer *b,
                     proxy_worker *w, apr_time_t now)
{
    const kyl_srv_conf_t *conf = kyl_conf(s);
    kyl_slot_t *slot = kyl_slot_for(b, w);
    kyl_task_t *task;

    if (slot == NULL || slot->next_due > now || is_inflight(slot)
        || (w->s->status & PROXY_WORKER_STOPPED)) {
        return;
    }
    slot->next_due = now + kyl_conf_interval(conf);
    task = malloc(sizeof(*task));
    if (task == NULL) {
        return;
    }
    task->prober = pr;
    task->s = s;
    task->conf = conf;
    task->worker = w;
    task->slot = slot;
    task->balancer = b->s->name;
    task->gate = conf->probe_auth ? gate_for(pr, conf, slot) : NULL;
    task->guard.begin = gate_begin;
    task->guard.end = gate_end;
    task->guard.baton = task;
    set_inflight(slot, 1);
    if (apr_thread_pool_push(pr->tp, probe_task, task,
                             APR_THREAD_TASK_PRIORITY_NORMAL, pr) != APR_SUCCESS) {
        set_inflight(slot, 0);
        free(task);
    }
}

static int tick_balancer(void *baton, server_rec *s, proxy_server_conf *pc,
                         proxy_balancer *b)
{
    kyl_prober_t *pr = baton;
    apr_time_t now = apr_time_now();
    int j;

    kyl_sync_balancer(b, s, pc);
    for (j = 0; j < b->workers->nelts; j++) {
        schedule(pr, s, b, APR_ARRAY_IDX(b->workers, j, proxy_worker *), now);
    }
    return 0;
}

static void tick(kyl_prober_t *pr)
{
    flush_marks(pr);
    kyl_each_balancer(pr->s, tick_balancer, pr);
}

static apr_status_t watchdog_cb(int state, void *data, apr_pool_t *pool)
{
    kyl_prober_t *pr = data;
    apr_status_t rv;

    apr_thread_mutex_lock(pr->lock);
    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        /* mod_watchdog clears the pool it passes after each call: the
         * prober's state lives in a pool of its own until STOPPING. */
        if (pr->p != NULL) {
            break;
        }
        apr_pool_create(&pr->p, NULL);
        apr_pool_tag(pr->p, "kylin_prober");
        pr->gates = apr_hash_make(pr->p);
        rv = apr_thread_pool_create(&pr->tp, 0, KYL_PROBE_THREADS, pr->p);
        if (rv != APR_SUCCESS) {
            pr->tp = NULL;
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, pr->s, KYL_LOG_PREFIX
                         "cannot start the probe threads: members will not "
                         "be probed");
        }
        break;
    case AP_WATCHDOG_STATE_RUNNING:
        if (pr->tp) {
            tick(pr);
        }
        break;
    case AP_WATCHDOG_STATE_STOPPING:
        if (pr->tp) {
            apr_thread_pool_destroy(pr->tp);
            pr->tp = NULL;
        }
        if (pr->p) {
            apr_pool_destroy(pr->p);
            pr->p = NULL;
            pr->gates = NULL;
        }
        break;
    }
    apr_thread_mutex_unlock(pr->lock);
    return APR_SUCCESS;     /* an error return would stop the callback */
}

static int found(void *baton, server_rec *s, proxy_server_conf *pc,
                 proxy_balancer *b)
{
    return 1;
}

apr_status_t kyl_probe_post_config(apr_pool_t *pconf, server_rec *s)
{
    ap_watchdog_t *wd;
    kyl_prober_t *pr;
    apr_status_t rv;

    if (!kyl_each_balancer(s, found, NULL)) {
        return APR_SUCCESS;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, KYL_LOG_PREFIX
                     "mod_watchdog is not loaded: the prober needs it");
        return APR_EGENERAL;
    }
    rv = wd_get_instance(&wd, KYL_WATCHDOG_NAME, 0 /* child */, 1 /* singleton */,
                         pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, KYL_LOG_PREFIX
                     "cannot create the prober's watchdog");
        return rv;
    }
    pr = apr_pcalloc(pconf, sizeof(*pr));
    pr->s = s;
    rv = apr_thread_mutex_create(&pr->lock, APR_THREAD_MUTEX_DEFAULT, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, KYL_LOG_PREFIX
                     "cannot create the prober's lock");
        return rv;
    }
    rv = wd_register(wd, AP_WD_TM_SLICE, pr, watchdog_cb);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, KYL_LOG_PREFIX
                     "cannot register the prober with mod_watchdog");
    }
    return rv;
}
