/* httpd-style durations: "500ms", "5s", "2m", "1h" or plain seconds. */
#include <apr_strings.h>
#include <apr_lib.h>
#include "kyl_duration.h"

#define KYL_DURATION_MAX_DIGITS 12   /* keeps every unit below overflow */

apr_status_t kyl_duration_parse(const char *s, apr_interval_time_t *out)
{
    apr_int64_t n = 0, unit;
    int digits = 0;

    if (s == NULL) {
        return APR_EINVAL;
    }
    for (; apr_isdigit(*s); s++) {
        if (++digits > KYL_DURATION_MAX_DIGITS) {
            return APR_EINVAL;
        }
        n = n * 10 + (*s - '0');
    }
    if (digits == 0) {
        return APR_EINVAL;
    }
    if (*s == '\0' || strcasecmp(s, "s") == 0) {
        unit = APR_USEC_PER_SEC;
    }
    else if (strcasecmp(s, "ms") == 0) {
        unit = 1000;
    }
    else if (strcasecmp(s, "m") == 0 || strcasecmp(s, "min") == 0) {
        unit = 60 * APR_USEC_PER_SEC;
    }
    else if (strcasecmp(s, "h") == 0) {
        unit = 3600 * APR_USEC_PER_SEC;
    }
    else {
        return APR_EINVAL;
    }
    *out = (apr_interval_time_t)(n * unit);
    return APR_SUCCESS;
}

const char *kyl_duration_format(apr_interval_time_t d, char *buf, apr_size_t len)
{
    apr_int64_t ms = d / 1000;

    if (ms % 1000) {
        apr_snprintf(buf, len, "%" APR_INT64_T_FMT "ms", ms);
    }
    else if ((ms / 1000) % 60 || ms == 0) {
        apr_snprintf(buf, len, "%" APR_INT64_T_FMT "s", ms / 1000);
    }
    else if ((ms / 60000) % 60) {
        apr_snprintf(buf, len, "%" APR_INT64_T_FMT "m", ms / 60000);
    }
    else {
        apr_snprintf(buf, len, "%" APR_INT64_T_FMT "h", ms / 3600000);
    }
    return buf;
}
