/* libFuzzer target: kyl_classify() on arbitrary method/path bytes.
 *
 * Input layout: byte 0 picks the generation, then the method up to the
 * first '\n' (at most 15 bytes), then the path (not NUL-terminated: it is
 * copied into a buffer of exactly its length so that ASan catches any read
 * past len). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "kyl_classify.h"
#include "fuzz_apr.h"

static const kyl_gen_e gens[] = {
    KYL_GEN_UNKNOWN, KYL_GEN_2, KYL_GEN_3, KYL_GEN_4, KYL_GEN_5
};

/* Splits data into a method (before the first '\n', NULL when there is
 * none) and the path after it. */
static const char *split(const uint8_t *data, size_t size, char *method,
                         size_t mcap, const uint8_t **path, size_t *plen)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t mlen;

    if (nl == NULL) {
        *path = data;
        *plen = size;
        return NULL;
    }
    mlen = (size_t)(nl - data);
    mlen = mlen < mcap ? mlen : mcap - 1;
    memcpy(method, data, mlen);
    method[mlen] = '\0';
    *path = nl + 1;
    *plen = size - (size_t)(nl - data) - 1;
    return method;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char mbuf[16], *path;
    const char *method;
    const uint8_t *raw;
    size_t plen;
    unsigned int flags = 0;
    kyl_class_e cls;
    kyl_gen_e gen;

    if (size == 0) {
        return 0;
    }
    gen = gens[data[0] % (sizeof(gens) / sizeof(gens[0]))];
    method = split(data + 1, size - 1, mbuf, sizeof(mbuf), &raw, &plen);
    path = malloc(plen ? plen : 1);
    if (path == NULL) {
        return 0;
    }
    if (plen) {
        memcpy(path, raw, plen);
    }
    cls = kyl_classify(method, path, plen, gen, &flags);
    if ((unsigned)cls >= KYL_CLASS_COUNT || (flags & ~0x1fu) != 0) {
        abort();
    }
    if (kyl_classify(method, path, plen, gen, NULL) != cls) {
        abort();                        /* must be deterministic */
    }
    free(path);
    return 0;
}
