/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run a fuzz target over its stored corpus, so that "make check" replays
 * every seed and every crash reproducer with the normal compiler and the
 * sanitizer build. Arguments: files or directories; none means
 * $abs_top_srcdir/tests/fuzz/corpus/NAME for the program fuzz-NAME. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        size_t size = 0, alloc = 0;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        for (;;) {
                if (size == alloc) {
                        alloc = alloc ? alloc * 2 : 4096;
                        buf = realloc(buf, alloc);
                        if (!buf)
                                abort();
                }
                size_t k = fread(buf + size, 1, alloc - size, f);
                if (k == 0)
                        break;
                size += k;
        }
        fclose(f);
        /* A copy of the exact size, so ASan catches reads past the input. */
        uint8_t *exact = malloc(size ? size : 1);
        if (!exact)
                abort();
        memcpy(exact, buf, size);
        free(buf);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int replay(const char *path, unsigned *n) {
        struct stat st;
        struct dirent *de;
        char **names = NULL;
        size_t n_names = 0;
        DIR *d;
        int r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*n)++;
                return replay_file(path);
        }
        d = opendir(path);
        if (!d)
                return -1;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                names = realloc(names, (n_names + 1) * sizeof(char *));
                if (!names || !(names[n_names++] = strdup(de->d_name)))
                        abort();
        }
        closedir(d);
        if (n_names)
                qsort(names, n_names, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n_names; i++) {
                char p[PATH_MAX];

                snprintf(p, sizeof(p), "%s/%s", path, names[i]);
                if (r == 0 && replay(p, n) < 0)
                        r = -1;
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv) {
        char def[PATH_MAX];
        const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
        const char *top = getenv("abs_top_srcdir");
        unsigned n = 0;

        if (argc < 2) {
                if (strncmp(base, "fuzz-", 5) != 0 || !top) {
                        fprintf(stderr, "usage: %s FILE|DIR... (or abs_top_srcdir set, named fuzz-NAME)\n", argv[0]);
                        return 2;
                }
                /* libtool may prefix "lt-" to the name: it does not here (no shared libs). */
                snprintf(def, sizeof(def), "%s/tests/fuzz/corpus/%s", top, base + 5);
                argv[1] = def;
                argc = 2;
        }
        for (int i = 1; i < argc; i++)
                if (replay(argv[i], &n) < 0)
                        return 1;
        if (n == 0) {
                fprintf(stderr, "%s: no inputs found: the corpus is missing\n", base);
                return 1;
        }
        printf("%s: %u inputs replayed\n", base, n);
        return 0;
}
