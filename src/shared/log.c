/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
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

bool log_journal_stream_matches(const char *env, dev_t dev, ino_t ino) {
        unsigned long long d, i;
        int n = 0;

        if (!env || sscanf(env, "%llu:%llu%n", &d, &i, &n) != 2 || env[n] != '\0')
                return false;
        return d == (unsigned long long) dev && i == (unsigned long long) ino;
}

LogTarget log_target_for_stderr(void) {
        struct stat st;

        if (fstat(STDERR_FILENO, &st) == 0 && log_journal_stream_matches(getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino))
                return LOG_TARGET_JOURNAL;
        if (isatty(STDERR_FILENO))
                return LOG_TARGET_CONSOLE;
        return LOG_TARGET_STDERR;
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

/* One message to the journal, with fields. Returns 0 or negative errno. */
static int send_journal(int priority, const char *msg, const char *const *fields, size_t n_fields) {
        char prio[16];
        struct iovec iov[24];
        size_t n = 0;
        _cleanup_free_ char *m = NULL;

        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return -ENOMEM;
        snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
        iov[n++] = (struct iovec) { m, strlen(m) };
        iov[n++] = (struct iovec) { prio, strlen(prio) };
        iov[n++] = (struct iovec) { (char *) "SYSLOG_IDENTIFIER=" PACKAGE_NAME, strlen("SYSLOG_IDENTIFIER=" PACKAGE_NAME) };
        for (size_t i = 0; i < n_fields && n < sizeof(iov) / sizeof(iov[0]); i++)
                iov[n++] = (struct iovec) { (char *) fields[i], strlen(fields[i]) };
        return sd_journal_sendv(iov, (int) n);
}

static int log_internalv(int priority, int error, const char *const *fields, size_t n_fields,
                         const char *fmt, va_list ap) {
        char buf[1024], fmt_buf[512];
        int saved_errno = errno;

        if (error < 0)
                error = -error;
        if (priority > log_max_priority)
                goto out;

        /* glibc's %m reads errno: make it the error we were given. */
        errno = error;
        if (error == EBADFD)
                fmt = explain_ebadfd(fmt, fmt_buf, sizeof(fmt_buf));
        vsnprintf(buf, sizeof(buf), fmt, ap);

        switch (log_target) {
        case LOG_TARGET_SYSLOG:
                syslog(priority, "%s", buf);
                break;
        case LOG_TARGET_JOURNAL:
                if (send_journal(priority, buf, fields, n_fields) >= 0)
                        break;
                /* No journal socket after all: the stream still reaches it. */
                fprintf(stderr, "<%d>%s\n", priority, buf);
                break;
        case LOG_TARGET_CONSOLE:
                fprintf(stderr, "%s\n", buf);
                break;
        case LOG_TARGET_STDERR:
        default:
                fprintf(stderr, "<%d>%s\n", priority, buf);
                break;
        }

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

int log_internal(int priority, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(priority, error, NULL, 0, fmt, ap);
        va_end(ap);
        return r;
}

int log_struct(int priority, const char *const *fields, size_t n_fields, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(priority, 0, fields, n_fields, fmt, ap);
        va_end(ap);
        return r;
}
