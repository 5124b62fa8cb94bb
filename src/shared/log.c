/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_STDERR;
static int log_max_priority = LOG_INFO;
static FILE *log_file;

void log_setup(LogTarget target, int max_priority) {
        log_target = target;
        log_max_priority = max_priority;
        if (target == LOG_TARGET_SYSLOG)
                openlog(PACKAGE_NAME, LOG_PID, LOG_DAEMON);
}

int log_get_max_priority(void) {
        return log_max_priority;
}

void log_set_max_priority(int max_priority) {
        log_max_priority = max_priority;
}

int log_open_file(const char *path) {
        FILE *f = NULL;

        if (path) {
                int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
                if (fd < 0)
                        return negative_errno();
                f = fdopen(fd, "a");
                if (!f) {
                        int r = negative_errno();
                        close(fd);
                        return r;
                }
                setvbuf(f, NULL, _IOLBF, 0);
        }
        if (log_file)
                fclose(log_file);
        log_file = f;
        return 0;
}

void log_close(void) {
        (void) log_open_file(NULL);
        if (log_target == LOG_TARGET_SYSLOG)
                closelog();
}

int log_internal(int priority, int error, const char *fmt, ...) {
        char buf[1024];
        int saved_errno = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        if (priority > log_max_priority)
                goto out;

        /* glibc's %m reads errno: make it the error we were given. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (log_target == LOG_TARGET_SYSLOG)
                syslog(priority, "%s", buf);
        else
                fprintf(stderr, "<%d>%s\n", priority, buf);

        if (log_file) {
                char stamp[64];
                time_t now = time(NULL);
                struct tm tm;

                /* Same shape as the old script's `date` prefix, sortable. */
                strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
                fprintf(log_file, "%s: %s\n", stamp, buf);
        }
out:
        errno = saved_errno;
        return error ? -error : 0;
}
