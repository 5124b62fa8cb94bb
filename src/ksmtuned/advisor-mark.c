/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "advisor-mark.h"
#include "atomic-write.h"
#include "macro.h"

#define MARK_NAME "advisor-taken"

const char *advisor_mark_path(const char *root, char *buf, size_t size) {
        const char *dir = getenv("RUNTIME_DIRECTORY");

        /* systemd may list several directories, separated by ':'. */
        if (dir && *dir)
                snprintf(buf, size, "%.*s/" MARK_NAME, (int) strcspn(dir, ":"), dir);
        else
                snprintf(buf, size, "%s/run/ksmtuned/" MARK_NAME, strcmp(root, "/") == 0 ? "" : root);
        return buf;
}

bool advisor_mark_exists(const char *path) {
        return access(path, F_OK) == 0;
}

int advisor_mark_set(const char *path, bool taken) {
        static const char text[] = "advisor_mode=scan-time was turned off by ksmtuned; it gives it back\n";
        char dir[4096];
        char *slash;

        if (!taken)
                return unlink(path) < 0 && errno != ENOENT ? negative_errno() : 0;
        snprintf(dir, sizeof(dir), "%s", path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        return write_file_atomic(path, text, sizeof(text) - 1, 0644);
}
