/* Durations in httpd's forms: "500ms", "5s", "2m", "1h", plain seconds. */
#ifndef KYL_DURATION_H
#define KYL_DURATION_H

#include "kyl_core.h"

/* Parses s into *out.  Accepts a non-negative integer followed by an optional
 * unit: ms, s, m (minutes), h.  No unit means seconds, as httpd's Timeout.
 * Returns APR_EINVAL for empty strings, signs, fractions, unknown units,
 * trailing garbage and values that overflow. */
apr_status_t kyl_duration_parse(const char *s, apr_interval_time_t *out);

/* Formats d compactly ("500ms", "5s", "2m", "1h30m" is not used: "90m").
 * buf must hold at least 24 bytes. */
const char *kyl_duration_format(apr_interval_time_t d, char *buf, apr_size_t len);

#endif
