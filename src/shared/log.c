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

#include "fileio.h"
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
                /* A FIFO or device as LOGFILE would block every message. */
                int fd = open_regular_at(AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT, 0640);
                if (fd < 0)
                        return fd;
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

/* fileio refuses a FIFO or device with -EBADFD, whose strerror() ("File
 * descriptor in bad state") would mislead: say what it means. The fixed text
 * has no '%', so the result is as safe a format as fmt. */
static const char *explain_ebadfd(const char *fmt, char *buf, size_t size) {
        const char *m = strstr(fmt, "%m");
        int n;

        if (!m)
                return fmt;
        n = snprintf(buf, size, "%.*snot a regular file%s", (int) (m - fmt), fmt, m + 2);
        return n < 0 || (size_t) n >= size ? fmt : buf;
}

int log_internal(int priority, int error, const char *fmt, ...) {
        char buf[1024], fmt_buf[512];
        int saved_errno = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        if (priority > log_max_priority)
                goto out;

        /* glibc's %m reads errno: make it the error we were given. */
        errno = error;
        if (error == EBADFD)
                fmt = explain_ebadfd(fmt, fmt_buf, sizeof(fmt_buf));
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
