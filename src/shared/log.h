/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>
#include <sys/types.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_STDERR,      /* "<N>message" lines, as a service manager's log reads them */
        LOG_TARGET_SYSLOG,      /* syslog(3), for the detached daemon */
        LOG_TARGET_JOURNAL,     /* sd_journal_send() with fields; stderr if that fails */
        LOG_TARGET_CONSOLE,     /* plain lines, for a person at a terminal */
} LogTarget;

/* Whether $JOURNAL_STREAM ("DEVICE:INODE", as systemd sets it) names the
 * file (dev, ino): standard error is connected to the journal. Pure. */
bool log_journal_stream_matches(const char *env, dev_t dev, ino_t ino);

/* Where standard error logging should go: the journal when JOURNAL_STREAM
 * matches fd 2, plain text on a terminal, else "<N>" lines. */
LogTarget log_target_for_stderr(void);

/* Choose where messages go and the most verbose priority shown (LOG_INFO, LOG_DEBUG). */
void log_setup(LogTarget target, int max_priority);

/* Most verbose priority currently shown. */
int log_get_max_priority(void);
void log_set_max_priority(int max_priority);

/* Also append every shown message, with a timestamp, to path (NULL stops).
 * Only a regular file: a FIFO or device is refused (-EBADFD) rather than
 * blocking. Returns 0 or negative errno; the previous file stays on error. */
int log_open_file(const char *path);
void log_close(void);

/* Log a message. Returns -abs(error) when error != 0, else 0, so a caller can
 * write "return log_error_errno(r, ...)". %m is replaced by strerror(error),
 * or "not a regular file" for EBADFD (see open_regular_at). */
int log_internal(int priority, int error, const char *fmt, ...) _printf_(3, 4);

/* Like log_internal, with journal fields ("KSMTUNED_REASON=...", n of them)
 * sent along when the target is the journal; other targets show the
 * message only. */
int log_struct(int priority, const char *const *fields, size_t n_fields, const char *fmt, ...) _printf_(4, 5);

#define log_full_errno(prio, error, ...) log_internal((prio), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_notice_errno(e, ...) log_internal(LOG_NOTICE, (e), __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
