/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon's D-Bus names, shared by ksmtuned and ksmctl. */
#define KSM_BUS_NAME            "org.ksmtuned.Tuner1"
#define KSM_BUS_PATH            "/org/ksmtuned/Tuner1"
#define KSM_BUS_INTERFACE       "org.ksmtuned.Tuner1"

/* Reload found the new configuration invalid; the message names the line. */
#define KSM_BUS_ERROR_INVALID_CONFIG "org.ksmtuned.Tuner1.Error.InvalidConfig"

/* Where the detached daemon writes its pid (ksmctl's signal fallback reads it). */
#define KSMTUNED_PIDFILE        "/run/ksmtuned.pid"
