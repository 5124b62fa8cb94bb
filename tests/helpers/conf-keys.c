/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prints every configuration key the parser knows as KEY=value, one a line:
 * the built-in defaults, or with FILE the values after reading it. The docs
 * test compares this with the man page and the shipped configuration file,
 * so that neither can drift from the key table in src/shared/conf.c.
 */
#include "config.h"

#include <stdio.h>

#include "conf.h"

/* An unknown key in FILE is an error here: the file is ours. */
static void on_warning(const char *msg, void *userdata) {
        fprintf(stderr, "%s\n", msg);
        *(int *) userdata = 1;
}

int main(int argc, char *argv[]) {
        int warned = 0;
        KsmConfig c;
        char err[512], value[CONF_VALUE_MAX];
        const char *k;

        if (argc > 2) {
                fprintf(stderr, "usage: %s [FILE]\n", argv[0]);
                return 2;
        }
        if (argc == 2) {
                if (conf_load(argv[1], &c, on_warning, &warned, err, sizeof(err)) < 0) {
                        fprintf(stderr, "%s\n", err);
                        return 1;
                }
        } else
                conf_init_defaults(&c);

        for (size_t i = 0; (k = conf_key_name(i)); i++) {
                if (conf_key_format(&c, i, value, sizeof(value)) < 0)
                        return 1;
                printf("%s=%s\n", k, value);
        }
        return warned;
}
