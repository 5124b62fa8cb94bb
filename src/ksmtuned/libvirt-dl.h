/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libvirt is loaded with dlopen() only when KSM_LIBVIRT_URI is set: linking
 * it would map glib, gnutls, libxml2 and friends into every ksmtuned, about
 * 11 MB of RSS, on hosts that never use it (see docs/libvirt-rss.md). The
 * headers give the prototypes; the sym_ pointers are filled in by
 * libvirt_dl_open(). */

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define LIBVIRT_DL_SYMBOLS(X)                   \
        X(virInitialize)                        \
        X(virEventRegisterImpl)                 \
        X(virSetErrorFunc)                      \
        X(virConnSetErrorFunc)                  \
        X(virGetLastErrorMessage)               \
        X(virResetLastError)                    \
        X(virConnectOpenReadOnly)               \
        X(virConnectClose)                      \
        X(virConnectGetURI)                     \
        X(virConnectSetKeepAlive)               \
        X(virConnectRegisterCloseCallback)      \
        X(virConnectUnregisterCloseCallback)    \
        X(virConnectDomainEventRegisterAny)     \
        X(virConnectDomainEventDeregisterAny)   \
        X(virConnectListAllDomains)             \
        X(virDomainGetName)                     \
        X(virDomainFree)

#define LIBVIRT_DL_DECLARE(f) extern __typeof__(f) *sym_##f;
LIBVIRT_DL_SYMBOLS(LIBVIRT_DL_DECLARE)
#undef LIBVIRT_DL_DECLARE

/* Load libvirt's client library once per process and resolve every sym_
 * pointer. Returns 0, or -EOPNOTSUPP with the reason (dlerror()) in err. */
int libvirt_dl_open(char *err, size_t err_size);
