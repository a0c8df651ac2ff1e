/* Names of the core enums and the server-mode parser. */
#include <apr_strings.h>
#include <apr_lib.h>
#include "kyl_core.h"

const char *kyl_gen_name(kyl_gen_e gen)
{
    switch (gen) {
    case KYL_GEN_2: return "2.x";
    case KYL_GEN_3: return "3.x";
    case KYL_GEN_4: return "4.x";
    case KYL_GEN_5: return "5.x";
    default:        return "unknown";
    }
}

const char *kyl_mode_name(kyl_mode_e mode)
{
    switch (mode) {
    case KYL_MODE_ALL:   return "all";
    case KYL_MODE_JOB:   return "job";
    case KYL_MODE_QUERY: return "query";
    default:             return "unknown";
    }
}

const char *kyl_class_name(kyl_class_e cls)
{
    static const char *const names[KYL_CLASS_COUNT] = {
        "read", "query", "job", "metadata-write", "auth", "internal"
    };
    return ((unsigned)cls < KYL_CLASS_COUNT) ? names[cls] : "unknown";
}

const char *kyl_leader_name(kyl_leader_e l)
{
    switch (l) {
    case KYL_LEADER_YES: return "yes";
    case KYL_LEADER_NO:  return "no";
    case KYL_LEADER_NA:  return "n/a";
    default:             return "unknown";
    }
}

apr_uint32_t kyl_hash32(const char *s)
{
    apr_uint32_t h = 2166136261u;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

/* Matches one word of a mode list against a known name. */
static int word_is(const char *w, apr_size_t n, const char *name)
{
    return strlen(name) == n && strncasecmp(w, name, n) == 0;
}

apr_status_t kyl_mode_parse(const char *s, kyl_mode_e *mode)
{
    int all = 0, job = 0, query = 0;

    if (s == NULL) {
        return APR_EINVAL;
    }
    while (*s) {
        const char *w;
        apr_size_t n;

        while (*s == ',' || apr_isspace(*s)) {
            s++;
        }
        w = s;
        while (*s && *s != ',' && !apr_isspace(*s)) {
            s++;
        }
        n = (apr_size_t)(s - w);
        all |= word_is(w, n, "all");
        job |= word_is(w, n, "job");
        query |= word_is(w, n, "query");
    }
    if (all || (job && query)) {
        *mode = KYL_MODE_ALL;
    }
    else if (job) {
        *mode = KYL_MODE_JOB;
    }
    else if (query) {
        *mode = KYL_MODE_QUERY;
    }
    else {
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
