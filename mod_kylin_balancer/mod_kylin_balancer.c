/* mod_kylin_balancer: a Kylin-aware lbmethod for mod_proxy_balancer, with a
 * background prober and shared sessions.  This file holds the module record,
 * the hook registration and the start-up checks; see mod_kylin_balancer.h
 * for the map of the other files. */
#include <dlfcn.h>
#include "apr_strings.h"
#include "apr_atomic.h"
#include "http_core.h"
#include "ap_provider.h"

#define KYL_MODULE_FILE
#include "mod_kylin_balancer.h"

typedef apr_status_t kyl_sync_fn(proxy_balancer *, server_rec *,
                                 proxy_server_conf *);

static module *proxy_mod;          /* mod_proxy, found by name */
static kyl_sync_fn *sync_balancer; /* ap_proxy_sync_balancer, if exported */

/* mod_proxy is reached without link-time symbols, so that a configuration
 * without it fails with a message naming it (check_config), rather than
 * with a loader error about an undefined symbol. */
proxy_server_conf *kyl_proxy_conf(const server_rec *s)
{
    if (proxy_mod == NULL) {
        proxy_mod = ap_find_linked_module("mod_proxy.c");
    }
    return proxy_mod ? ap_get_module_config(s->module_config, proxy_mod) : NULL;
}

int kyl_log_due(volatile apr_uint32_t *last, apr_uint32_t every, apr_time_t now)
{
    apr_uint32_t sec = (apr_uint32_t)apr_time_sec(now);
    apr_uint32_t seen = apr_atomic_read32(last);

    return sec - seen >= every && apr_atomic_cas32(last, sec, seen) == seen;
}

int kyl_balancer_is_kylin(const proxy_balancer *b)
{
    return b->lbmethod && b->lbmethod->name
        && strcmp(b->lbmethod->name, KYL_LBMETHOD) == 0;
}

const char *kyl_worker_name(const proxy_worker *w)
{
    return w->s->name_ex[0] ? w->s->name_ex : w->s->name;
}

void kyl_sync_balancer(proxy_balancer *b, server_rec *s, proxy_server_conf *c)
{
    if (sync_balancer && b->s && b->wslot) {
        sync_balancer(b, s, c);
    }
}

static int kyl_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    return kyl_config_check(pconf, s);
}

int kyl_each_balancer(server_rec *main_s, kyl_balancer_fn *fn, void *baton)
{
    server_rec *s;
    int i, rv;

    for (s = main_s; s; s = s->next) {
        proxy_server_conf *pc = kyl_proxy_conf(s);

        for (i = 0; pc && i < pc->balancers->nelts; i++) {
            proxy_balancer *b = &APR_ARRAY_IDX(pc->balancers, i, proxy_balancer);

            if (kyl_balancer_is_kylin(b) && (rv = fn(baton, s, pc, b)) != 0) {
                return rv;
            }
        }
    }
    return 0;
}

static int count_members(void *baton, server_rec *s, proxy_server_conf *pc,
                         proxy_balancer *b)
{
    *(int *)baton += b->workers->nelts + (b->growth > 0 ? b->growth : 0);
    return 0;
}

/* Gives every configured member its state slot in the parent, so children
 * inherit worker->context already set. */
static int bind_members(void *baton, server_rec *s, proxy_server_conf *pc,
                        proxy_balancer *b)
{
    int j;

    for (j = 0; j < b->workers->nelts; j++) {
        kyl_slot_for(b, APR_ARRAY_IDX(b->workers, j, proxy_worker *));
    }
    return 0;
}

static int kyl_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    int members = 0;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    sync_balancer = (kyl_sync_fn *)dlsym(RTLD_DEFAULT, "ap_proxy_sync_balancer");
    kyl_each_balancer(s, count_members, &members);
    if (kyl_route_post_config(s) != APR_SUCCESS
        || kyl_shm_init(pconf, s, members) != APR_SUCCESS
        || kyl_probe_post_config(pconf, s) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    kyl_each_balancer(s, bind_members, NULL);
    return OK;
}

static void kyl_register_hooks(apr_pool_t *p)
{
    /* After mod_proxy_balancer has set up the balancers; before
     * mod_watchdog's post_config (APR_HOOK_LAST), which only starts the
     * watchdogs that have callbacks registered by then. */
    static const char *const after_proxy[] = { "mod_proxy.c",
        "mod_proxy_balancer.c", NULL };

    ap_hook_check_config(kyl_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(kyl_post_config, after_proxy, NULL, APR_HOOK_MIDDLE);
    kyl_route_register_hooks(p);
    kyl_status_register_hooks(p);
    kyl_session_register_hooks(p);
}

AP_DECLARE_MODULE(kylin_balancer) = {
    STANDARD20_MODULE_STUFF,
    NULL,                  /* per-directory config */
    NULL,                  /* merge per-directory */
    kyl_create_srv_conf,   /* per-server config */
    kyl_merge_srv_conf,    /* merge per-server */
    kyl_cmds,              /* directives */
    kyl_register_hooks
};
