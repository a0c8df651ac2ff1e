/* The start every fuzz target shares: APR initialised and one pool for the
 * whole run (fuzz_pool), which a target clears after each input.  Nothing
 * could be fuzzed without them, so a failure aborts.  A target that needs
 * more at start-up defines FUZZ_OWN_INIT before including this file and
 * calls fuzz_apr_start() from its own LLVMFuzzerInitialize. */
#ifndef FUZZ_APR_H
#define FUZZ_APR_H

#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *fuzz_pool;

static void fuzz_apr_start(void)
{
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&fuzz_pool, NULL) != APR_SUCCESS) {
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef FUZZ_OWN_INIT
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_apr_start();
    return 0;
}
#endif

#endif
