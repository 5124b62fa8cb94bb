/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_STDERR,      /* "<N>message" lines, as journald expects */
        LOG_TARGET_SYSLOG,      /* syslog(3), for the detached daemon */
} LogTarget;

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

#define log_full_errno(prio, error, ...) log_internal((prio), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
