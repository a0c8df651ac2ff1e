/* Corpus replay without libFuzzer: links one fuzz target and feeds it every
 * regular file found (recursively) under the directories given on the
 * command line, plus files given directly.  Built with gcc and ASan/UBSan
 * by scripts/fuzz.sh --replay, it runs in the normal test suite; a crash or
 * a sanitizer report fails the run.
 *
 *   replay_<target> DIR_OR_FILE...   ->  "<n> inputs, <bytes> bytes" */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static unsigned long inputs, bytes;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    /* exactly size bytes, as libFuzzer hands them over */
    data = malloc(size ? (size_t)size : 1);
    if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    if (getenv("REPLAY_VERBOSE") != NULL) {
        fprintf(stderr, "replay: %s (%ld bytes)\n", path, size);
    }
    LLVMFuzzerTestOneInput(data, (size_t)size);
    free(data);
    inputs++;
    bytes += (unsigned long)size;
    return 0;
}

static int run_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return S_ISREG(st.st_mode) ? run_file(path) : 0;
    }
    if ((d = opendir(path)) == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char *sub;

        /* skips ".", ".." and hidden files such as .keep */
        if (e->d_name[0] == '.') {
            continue;
        }
        sub = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (sub == NULL) {
            rc = -1;
            break;
        }
        sprintf(sub, "%s/%s", path, e->d_name);
        rc |= run_path(sub);
        free(sub);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int i, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize != NULL) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (i = 1; i < argc; i++) {
        rc |= run_path(argv[i]);
    }
    printf("%lu inputs, %lu bytes\n", inputs, bytes);
    return rc != 0;
}
