/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bus-names.h"
#include "bus.h"
#include "ksm-sysfs.h"
#include "log.h"
#include "macro.h"

static int bus_connect(Bus *b);

/* Answer the coalesced Retune calls: the decision of the tick that ran for
 * them, or its error; without a bus (lost meanwhile) just forget them. */
static void answer_pending(Bus *b, int result) {
        for (size_t i = 0; i < b->n_pending; i++) {
                sd_bus_message *msg = b->pending[i];
                int r = 0;

                if (b->bus && result < 0)
                        r = sd_bus_reply_method_errnof(msg, result, "The tick failed: %m (see the daemon's log)");
                else if (b->bus)
                        r = sd_bus_reply_method_return(msg, "s", b->manager->decision.reason);
                if (r < 0)
                        log_debug_errno(r, "Cannot answer a Retune call: %m");
                sd_bus_message_unref(msg);
        }
        b->n_pending = 0;
}

int bus_retune_later(Bus *b, sd_bus_message *msg) {
        sd_bus_message **p;

        p = reallocarray(b->pending, b->n_pending + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        b->pending = p;
        b->pending[b->n_pending++] = sd_bus_message_ref(msg);
        return 1;
}

static void bus_on_retuned(Manager *m, int result, void *userdata) {
        (void) m;
        answer_pending(userdata, result);
}

static void bus_drop(Bus *b) {
        if (!b->bus)
                return;
        answer_pending(b, 0);
        (void) sd_bus_detach_event(b->bus);
        b->bus = sd_bus_flush_close_unref(b->bus);
}

static void arm_retry(Bus *b, uint64_t usec) {
        int r;

        r = sd_event_source_set_time_relative(b->retry_timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(b->retry_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Cannot arm the bus reconnect timer, staying off the bus: %m");
}

static void on_socket(void *userdata);

/* Not connected: while the bus's socket is missing, wait for it to appear
 * (a waiting daemon does not wake up for it: a retry costs some 0.2 ms of
 * CPU); where it exists, or cannot be watched, try again in BUS_RETRY_USEC. */
static void retry_later(Bus *b, int error) {
        struct stat st;
        bool watched;
        char how[sizeof(b->wait.socket) + 64];

        if (!bus_wait_active(&b->wait))
                (void) bus_wait_start(&b->wait, b->manager->event, getenv("DBUS_SYSTEM_BUS_ADDRESS"), on_socket, b);
        watched = bus_wait_active(&b->wait) && lstat(b->wait.socket, &st) < 0;
        arm_retry(b, watched ? BUS_RETRY_WATCHED_USEC : BUS_RETRY_USEC);
        /* The bus is optional (containers, early boot): say it once, not loudly. */
        if (b->warned) {
                log_debug_errno(error, "System bus still not available: %m");
                return;
        }
        if (watched)
                snprintf(how, sizeof(how), "connecting once %s appears", b->wait.socket);
        else
                snprintf(how, sizeof(how), "retrying every %u s", (unsigned) (BUS_RETRY_USEC / USEC_PER_SEC));
        log_info("System bus not available (%s), continuing without D-Bus; %s", strerror(-error), how);
        b->warned = true;
}

static void reconnect(Bus *b) {
        int r;

        /* The dead connection is dropped here, not in its own callback. */
        bus_drop(b);
        r = bus_connect(b);
        if (r < 0)
                retry_later(b, r);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s, (void) usec;
        reconnect(userdata);
        return 0;
}

/* Something appeared on the way to the socket, or the socket itself. */
static void on_socket(void *userdata) {
        Bus *b = userdata;

        if (!b->bus)
                reconnect(b);
}

/* sd-bus synthesizes this local signal when the connection goes away
 * (dbus-daemon restarted or killed). Tuning goes on; reconnect later. */
static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;

        (void) msg, (void) error;
        log_warning("Lost the system bus connection, tuning goes on; reconnecting in %u s",
                    (unsigned) (BUS_RETRY_USEC / USEC_PER_SEC));
        b->lost = true;
        b->warned = true;
        arm_retry(b, BUS_RETRY_USEC);
        return 0;
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        (void) userdata, (void) error;
        if (e) {
                /* Usually a missing or wrong bus policy file, or a second ksmtuned. */
                log_error("Cannot own the bus name " KSM_BUS_NAME ": %s", e->message ?: e->name);
                return 0;
        }
        log_debug("Acquired the bus name " KSM_BUS_NAME);
        return 0;
}

static int bus_connect(Bus *b) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                goto fail;
        (void) sd_bus_set_description(bus, "system-bus");
        /* The default for a non-default bus already, but we rely on it. */
        r = sd_bus_set_exit_on_disconnect(bus, false);
        if (r < 0)
                goto fail;
        r = sd_bus_add_object_vtable(bus, NULL, KSM_BUS_PATH, KSM_BUS_INTERFACE, bus_tuner_vtable, b);
        if (r < 0)
                goto fail;
        if (b->has_general_profit) {
                r = sd_bus_add_object_vtable(bus, NULL, KSM_BUS_PATH, KSM_BUS_INTERFACE, bus_tuner_profit_vtable, b);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                      "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, NULL, b);
        if (r < 0)
                goto fail;
        r = sd_bus_request_name_async(bus, NULL, KSM_BUS_NAME, 0, on_name_acquired, b);
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(bus, b->manager->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;

        b->bus = bus;
        /* Connected by the watch: the safety retry would drop this connection. */
        bus_wait_stop(&b->wait);
        (void) sd_event_source_set_enabled(b->retry_timer, SD_EVENT_OFF);
        if (b->lost || b->warned)
                log_info("Connected to the system bus again");
        else
                log_debug("Connected to the system bus");
        b->lost = b->warned = false;
        return 0;
fail:
        sd_bus_flush_close_unref(bus);
        return r;
}

static void bus_on_change(Manager *m, void *userdata) {
        Bus *b = userdata;
        /* Every property that can change, and the strv's terminating NULL. */
        const char *names[BUS_N_TUNER_PROPS + BUS_N_PROFIT_PROPS + 1];
        BusProps p;
        size_t n;
        int r;

        bus_props_collect(m, &p);
        n = bus_props_changed(bus_tuner_props, BUS_N_TUNER_PROPS, &b->props, &p, names);
        if (b->has_general_profit)
                n += bus_props_changed(bus_profit_props, BUS_N_PROFIT_PROPS, &b->props, &p, names + n);
        b->props = p;
        if (n == 0 || !b->bus)
                return;
        names[n] = NULL;
        r = sd_bus_emit_properties_changed_strv(b->bus, KSM_BUS_PATH, KSM_BUS_INTERFACE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Cannot emit PropertiesChanged: %m");
}

int bus_new(Manager *m, Bus **ret) {
        KsmKnobs k;
        Bus *b;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return log_error_errno(ENOMEM, "Out of memory");
        b->wait = BUS_WAIT_NULL;
        b->manager = m;
        /* Kernel features do not come and go: decide the vtables once. */
        b->has_general_profit = ksm_sysfs_read(m->ksm_fd, &k) >= 0 && ksm_has(&k, KSM_FEATURE_GENERAL_PROFIT);
        bus_props_collect(m, &b->props);

        r = sd_event_add_time_relative(m->event, &b->retry_timer, CLOCK_MONOTONIC, BUS_RETRY_USEC, 0, on_retry, b);
        if (r < 0) {
                log_error_errno(r, "Cannot create the bus reconnect timer: %m");
                bus_free(b);
                return r;
        }
        (void) sd_event_source_set_description(b->retry_timer, "bus-retry");
        (void) sd_event_source_set_enabled(b->retry_timer, SD_EVENT_OFF);

        r = bus_connect(b);
        if (r < 0)
                retry_later(b, r);
        m->on_change = bus_on_change;
        m->on_retuned = bus_on_retuned;
        m->on_change_userdata = b;
        *ret = b;
        return 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        if (b->manager->on_change_userdata == b) {
                b->manager->on_change = NULL;
                b->manager->on_retuned = NULL;
                b->manager->on_change_userdata = NULL;
        }
        bus_drop(b);
        bus_wait_stop(&b->wait);
        free(b->pending);
        sd_event_source_unref(b->retry_timer);
        free(b);
        return NULL;
}
