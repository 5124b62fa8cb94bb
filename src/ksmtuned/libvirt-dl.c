/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "libvirt-dl.h"

#define LIBVIRT_DL_DEFINE(f) __typeof__(f) *sym_##f = NULL;
LIBVIRT_DL_SYMBOLS(LIBVIRT_DL_DEFINE)
#undef LIBVIRT_DL_DEFINE

int libvirt_dl_open(char *err, size_t err_size) {
        static bool loaded = false;
        void *dl;

        if (loaded)
                return 0;
        /* Never unloaded: libvirt keeps thread-local state and its event
         * implementation cannot be unregistered. */
        dl = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
                snprintf(err, err_size, "%s", dlerror());
                return -EOPNOTSUPP;
        }
#define LIBVIRT_DL_RESOLVE(f)                                                   \
        sym_##f = (__typeof__(f) *) dlsym(dl, #f);                              \
        if (!sym_##f) {                                                         \
                snprintf(err, err_size, "%s: no symbol %s", LIBVIRT_SONAME, #f); \
                dlclose(dl);                                                    \
                return -EOPNOTSUPP;                                             \
        }
        LIBVIRT_DL_SYMBOLS(LIBVIRT_DL_RESOLVE)
#undef LIBVIRT_DL_RESOLVE
        loaded = true;
        return 0;
}
