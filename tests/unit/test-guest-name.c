/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "guest-name.h"
#include "macro.h"

/* Command lines are written with '|' for the NUL between arguments. */
typedef struct Row {
        const char *name;
        const char *cmdline;
        int r;
        const char *want;
} Row;

static const Row rows[] = {
        { "libvirt style", "/usr/bin/qemu-system-x86_64|-name|guest=web01,debug-threads=on|-S|", 0, "web01" },
        { "plain name", "qemu-kvm|-m|1024|-name|db|", 0, "db" },
        { "implied key with options", "qemu-kvm|-name|db,process=qemu:db|", 0, "db" },
        { "guest= after process=", "qemu|-name|process=qemu:x,guest=real|", 0, "real" },
        { "double dash", "qemu|--name|guest=dd|", 0, "dd" },
        { "escaped comma", "qemu|-name|guest=a,,b,debug-threads=on|", 0, "a,b" },
        { "escaped comma, implied", "qemu|-name|a,,b|", 0, "a,b" },
        { "no trailing NUL", "qemu|-name|guest=last", 0, "last" },
        { "UTF-8 name", "qemu|-name|guest=caf\xc3\xa9|", 0, "caf\xc3\xa9" },
        { "last guest= wins", "qemu|-name|guest=a,guest=b|", 0, "b" },
        { "no -name", "qemu-system-x86_64|-m|512|", -ENOENT, NULL },
        { "-name without value", "qemu|-name|", -ENOENT, NULL },
        { "-name at the very end", "qemu|-name", -ENOENT, NULL },
        { "empty guest=", "qemu|-name|guest=,debug-threads=on|", -ENOENT, NULL },
        { "only process=", "qemu|-name|process=foo|", -ENOENT, NULL },
        { "argv[0] is not an option", "-name|x|", -ENOENT, NULL },
        { "-name as a value of another option is still taken", "qemu|-name|n1|-device|x|", 0, "n1" },
        { "-namex is not -name", "qemu|-namex|guest=no|", -ENOENT, NULL },
        { "empty cmdline (kernel thread)", "", -ENOENT, NULL },
};

static void test_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                size_t len = strlen(rows[i].cmdline);
                _cleanup_free_ char *buf = malloc(len + 1), *name = NULL;
                int r;

                assert_non_null(buf);
                memcpy(buf, rows[i].cmdline, len + 1);
                for (size_t j = 0; j < len; j++)
                        if (buf[j] == '|')
                                buf[j] = '\0';
                r = guest_name_from_cmdline(buf, len, &name);
                if (r != rows[i].r)
                        fail_msg("row '%s': expected %d, got %d", rows[i].name, rows[i].r, r);
                if (r == 0 && strcmp(name, rows[i].want) != 0)
                        fail_msg("row '%s': expected '%s', got '%s'", rows[i].name, rows[i].want, name);
                if (r < 0)
                        assert_null(name);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
