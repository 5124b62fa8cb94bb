/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "bus.h"
#include "log.h"
#include "macro.h"

#define FLAGS_CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

/* Methods that change anything: root only. The bus policy says so too; this
 * holds when the policy file is missing or too lax. The daemon's own user
 * may call them as well (a --dry-run daemon run by a user). */
static int check_privileged(sd_bus_message *msg, const char *method, sd_bus_error *error) {
        sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0) {
                r = sd_bus_creds_get_euid(creds, &euid);
                sd_bus_creds_unref(creds);
        }
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller of %s: %m", method);
        if (euid != 0 && euid != geteuid())
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may call %s (caller's uid is %u)", method, (unsigned) euid);
        return 1;
}

static int method_retune(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        int r;

        r = check_privileged(msg, "Retune", error);
        if (r <= 0)
                return r;
        log_debug("Retune requested over D-Bus");
        r = manager_retune_request(b->manager);
        if (r > 0)
                return bus_retune_later(b, msg);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "The tick failed: %m (see the daemon's log)");
        return sd_bus_reply_method_return(msg, "s", b->manager->decision.reason);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        char err[512] = "";
        int r;

        r = check_privileged(msg, "Reload", error);
        if (r <= 0)
                return r;
        log_debug("Reload requested over D-Bus");
        r = manager_reload_notify(b->manager, err, sizeof(err));
        if (r == -EINVAL)
                return sd_bus_error_setf(error, KSM_BUS_ERROR_INVALID_CONFIG, "%s", err);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "%s", err);
        return sd_bus_reply_method_return(msg, NULL);
}

/* The strings in BusProps are arrays, which sd-bus's built-in getter does not read. */
static int property_get_chars(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) error;
        return sd_bus_message_append_basic(reply, 's', userdata);
}

#define P(field) offsetof(Bus, props.field)
/* sd-bus reads b, t and x fields itself; the strings need property_get_chars. */
#define GETTER_s property_get_chars
#define GETTER_b NULL
#define GETTER_t NULL
#define GETTER_x NULL
#define VTABLE_PROPERTY(name, type, field) SD_BUS_PROPERTY(name, #type, GETTER_##type, P(field), FLAGS_CHANGE),

const sd_bus_vtable bus_tuner_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_chars, P(version), SD_BUS_VTABLE_PROPERTY_CONST),
        BUS_TUNER_PROPERTIES(VTABLE_PROPERTY)
        SD_BUS_METHOD_WITH_ARGS("Retune", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", reason),
                                method_retune, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

const sd_bus_vtable bus_tuner_profit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        BUS_PROFIT_PROPERTIES(VTABLE_PROPERTY)
        SD_BUS_VTABLE_END
};

#define PROP_INFO(name, type, field) \
        { name, #type[0], offsetof(BusProps, field), sizeof(((BusProps *) NULL)->field) },

const BusPropInfo bus_tuner_props[BUS_N_TUNER_PROPS] = { BUS_TUNER_PROPERTIES(PROP_INFO) };
const BusPropInfo bus_profit_props[BUS_N_PROFIT_PROPS] = { BUS_PROFIT_PROPERTIES(PROP_INFO) };

void bus_props_collect(const Manager *m, BusProps *ret) {
        BusProps p = {};

        snprintf(p.version, sizeof(p.version), "%s", PACKAGE_VERSION);
        snprintf(p.policy, sizeof(p.policy), "%s", manager_policy_name(m));
        if (m->have_tick) {
                p.ksm_running = manager_knob_value(m, KSM_KNOB_RUN) == 1;
                p.pages_to_scan = manager_knob_value(m, KSM_KNOB_PAGES_TO_SCAN);
                p.sleep_millisecs = manager_knob_value(m, KSM_KNOB_SLEEP_MILLISECS);
                p.mem_total_kib = m->sample.mem.mem_total_kib;
                p.free_kib = m->decision.free_kib;
                p.committed_kib = m->sample.committed_kib;
                p.threshold_kib = m->decision.thres_kib;
                p.last_tick_usec = m->last_tick_realtime_usec;
                snprintf(p.last_reason, sizeof(p.last_reason), "%s", m->decision.reason);
                p.pages_shared = m->sample.ksm.pages_shared;
                p.pages_sharing = m->sample.ksm.pages_sharing;
                p.full_scans = m->sample.ksm.full_scans;
                p.general_profit_bytes = m->sample.ksm.general_profit;
                snprintf(p.last_write_error, sizeof(p.last_write_error), "%s", m->last_write_error);
        }
        *ret = p;
}

size_t bus_props_changed(const BusPropInfo *props, size_t n, const BusProps *a, const BusProps *b,
                         const char **names) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                const char *x = (const char *) a + props[i].offset, *y = (const char *) b + props[i].offset;
                bool same = props[i].type == 's' ? strncmp(x, y, props[i].size) == 0 :
                                                   memcmp(x, y, props[i].size) == 0;

                if (!same)
                        names[k++] = props[i].name;
        }
        return k;
}
