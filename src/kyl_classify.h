/* Request classifier: method + backend path -> class (kylin-rest.md s. 6).
 * Runs on every request (kyl_route_*): no allocation, no regex, O(len). */
#ifndef KYL_CLASSIFY_H
#define KYL_CLASSIFY_H

#include "kyl_core.h"

#define KYL_REQ_API        0x01  /* under /kylin/api/ */
#define KYL_REQ_LOGIN      0x02  /* /kylin/api/user/authentication */
#define KYL_REQ_LOGOUT     0x04  /* 2.x-4.x or 5.x logout path */
#define KYL_REQ_CALLBACK   0x08  /* Spark driver callback (jobs/spark, ...) */
#define KYL_REQ_NODE_LOCAL 0x10  /* node-local admin (admin/config PUT, ...) */

/* method: "GET", "POST", ... (case-sensitive, as HTTP).
 * path: the path the Kylin node will see, e.g. "/kylin/api/query", without
 *       the query string (anything from '?' on is ignored if present).
 *       It need not be NUL-terminated within len.
 * gen:  the Kylin generation of the cluster if known (KYL_GEN_UNKNOWN is
 *       fine: rules that differ by generation then take the union).
 * flags: may be NULL; receives KYL_REQ_* bits.
 *
 * Matching is done on a normalised view of the path: repeated slashes are
 * collapsed, "." segments dropped, ";param" suffixes of segments ignored
 * and %XX escapes decoded, as Tomcat/Spring would see it, so that
 * "/kylin/api//cache/x" or "/kylin/api/%63ache/x" cannot dodge the
 * internal-endpoint rule.  A ".." segment under /kylin/api/ classifies as
 * KYL_CLASS_INTERNAL (refused), never as something more permissive. */
kyl_class_e kyl_classify(const char *method, const char *path, apr_size_t len,
                         kyl_gen_e gen, unsigned int *flags);

#endif
