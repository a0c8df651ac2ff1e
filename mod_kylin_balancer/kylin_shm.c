/* Member state in shared memory.
 *
 * One anonymous shared segment, allocated from the process pool by the
 * parent, inherited by every child and kept across graceful restarts (the
 * process pool lives as long as the parent), so a restart does not forget
 * what the prober learned.  Slots are keyed by "balancer member" names, so
 * members added through balancer-manager get a slot on first use and a
 * reordered configuration keeps its state.  The finder reads one 32-bit
 * route word per member; the detail fields are guarded by a seqlock. */
#include "apr_shm.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "mod_kylin_balancer.h"

#define KYL_SHM_MAGIC     0x4b594c31u /* "KYL1" */
#define KYL_SHM_USERDATA  "mod_kylin_balancer_shm"
#define KYL_SHM_MIN_SLOTS 64

enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_READY = 2 };

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t capacity;
    kyl_slot_t slots[1];
} kyl_table_t;

static kyl_table_t *table;   /* this generation's view (same in children) */

static kyl_table_t *table_create(apr_pool_t *pp, apr_uint32_t capacity,
                                 server_rec *s)
{
    apr_shm_t *shm;
    apr_size_t size = sizeof(kyl_table_t) + (capacity - 1) * sizeof(kyl_slot_t);
    apr_status_t rv = apr_shm_create(&shm, size, NULL, pp);
    kyl_table_t *t;

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, KYL_LOG_PREFIX
                     "cannot create %" APR_SIZE_T_FMT " bytes of anonymous "
                     "shared memory for member state", size);
        return NULL;
    }
    t = apr_shm_baseaddr_get(shm);
    memset(t, 0, size);
    t->magic = KYL_SHM_MAGIC;
    t->capacity = capacity;
    return t;
}

apr_status_t kyl_shm_init(apr_pool_t *pconf, server_rec *s, int needed)
{
    apr_pool_t *pp = s->process->pool;
    kyl_table_t *old = NULL, *t;
    apr_uint32_t cap, i;

    apr_pool_userdata_get((void **)&old, KYL_SHM_USERDATA, pp);
    if (old && old->magic == KYL_SHM_MAGIC && old->capacity >= (apr_uint32_t)needed) {
        table = old;
        return APR_SUCCESS;
    }
    cap = (apr_uint32_t)needed * 2;
    if (cap < KYL_SHM_MIN_SLOTS) {
        cap = KYL_SHM_MIN_SLOTS;
    }
    if ((t = table_create(pp, cap, s)) == NULL) {
        return APR_ENOMEM;
    }
    for (i = 0; old && i < old->capacity; i++) {
        if (old->slots[i].state == SLOT_READY) {
            t->slots[i] = old->slots[i];   /* grown: keep what we knew */
        }
    }
    apr_pool_userdata_set(t, KYL_SHM_USERDATA, apr_pool_cleanup_null, pp);
    table = t;
    return APR_SUCCESS;
}

static kyl_slot_t *find(const char *key)
{
    apr_uint32_t i;

    for (i = 0; table && i < table->capacity; i++) {
        kyl_slot_t *slot = &table->slots[i];

        if (slot->state == SLOT_READY && strcmp(slot->key, key) == 0) {
            return slot;
        }
    }
    return NULL;
}

static kyl_slot_t *claim(const char *key)
{
    apr_uint32_t i;

    for (i = 0; table && i < table->capacity; i++) {
        kyl_slot_t *slot = &table->slots[i];

        if (apr_atomic_cas32(&slot->state, SLOT_CLAIMED, SLOT_FREE) == SLOT_FREE) {
            apr_cpystrn(slot->key, key, sizeof(slot->key));
            slot->route = 0;
            apr_atomic_set32(&slot->state, SLOT_READY);
            return slot;
        }
    }
    return NULL;
}

kyl_slot_t *kyl_slot_by_names(const char *balancer, const char *worker)
{
    char key[KYL_SLOT_KEY_LEN];
    kyl_slot_t *slot;

    apr_snprintf(key, sizeof(key), "%s %s", balancer, worker);
    slot = find(key);
    return slot ? slot : claim(key);
}

kyl_slot_t *kyl_slot_for(proxy_balancer *b, proxy_worker *w)
{
    kyl_slot_t *slot = w->context;

    if (slot == NULL) {
        slot = kyl_slot_by_names(b->s->name, kyl_worker_name(w));
        w->context = slot;   /* same value from every thread: benign race */
    }
    return slot;
}

void kyl_route_unpack(apr_uint32_t w, kyl_route_view_t *v)
{
    v->probed = (w & KYL_RW_PROBED) != 0;
    v->healthy = (w & KYL_RW_HEALTHY) != 0;
    v->maintenance = (w & KYL_RW_MAINT) != 0;
    v->mode = (kyl_mode_e)KYL_RW_FIELD(w, KYL_RW_MODE_SHIFT, 3u);
    v->leader = (kyl_leader_e)KYL_RW_FIELD(w, KYL_RW_LEAD_SHIFT, 3u);
    v->gen = (kyl_gen_e)KYL_RW_FIELD(w, KYL_RW_GEN_SHIFT, 7u);
    v->source = (kyl_mode_source_e)KYL_RW_FIELD(w, KYL_RW_SRC_SHIFT, 3u);
}

apr_uint32_t kyl_route_pack(const kyl_route_view_t *v)
{
    return (v->probed ? KYL_RW_PROBED : 0) | (v->healthy ? KYL_RW_HEALTHY : 0)
         | (v->maintenance ? KYL_RW_MAINT : 0)
         | ((apr_uint32_t)v->mode & 3u) << KYL_RW_MODE_SHIFT
         | ((apr_uint32_t)v->leader & 3u) << KYL_RW_LEAD_SHIFT
         | ((apr_uint32_t)v->gen & 7u) << KYL_RW_GEN_SHIFT
         | ((apr_uint32_t)v->source & 3u) << KYL_RW_SRC_SHIFT;
}

void kyl_slot_write_begin(kyl_slot_t *slot)
{
    apr_atomic_inc32(&slot->seq);     /* odd: write in progress */
}

void kyl_slot_write_end(kyl_slot_t *slot)
{
    apr_atomic_inc32(&slot->seq);     /* even again */
}

void kyl_slot_snapshot(const kyl_slot_t *slot, kyl_slot_t *copy)
{
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        apr_uint32_t before = apr_atomic_read32((volatile apr_uint32_t *)&slot->seq);

        if (before & 1u) {
            continue;
        }
        __sync_synchronize();
        memcpy(copy, slot, sizeof(*copy));
        __sync_synchronize();
        if (apr_atomic_read32((volatile apr_uint32_t *)&slot->seq) == before) {
            break;
        }
    }
    copy->version[sizeof(copy->version) - 1] = '\0';
    copy->error[sizeof(copy->error) - 1] = '\0';
    copy->cluster_error[sizeof(copy->cluster_error) - 1] = '\0';
}
