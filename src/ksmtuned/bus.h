/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-wait.h"
#include "manager.h"
#include "policy.h"
#include "units.h"

/* Retry connecting to the system bus this often while it is away. */
#define BUS_RETRY_USEC (3 * USEC_PER_SEC)
/* While the socket is missing and watched (bus-wait.h): a retry this often
 * all the same, should the watch miss it. */
#define BUS_RETRY_WATCHED_USEC (60 * USEC_PER_SEC)

/* The properties as the bus shows them, refreshed after every tick. The
 * vtable points sd-bus at these fields by offset, so the types follow sd-bus:
 * "b" is an int, strings are char arrays read by one getter. */
typedef struct BusProps {
        char version[32];
        char policy[32];
        int ksm_running;
        uint64_t pages_to_scan;
        uint64_t sleep_millisecs;
        uint64_t mem_total_kib;
        uint64_t free_kib;              /* what the policy judged as free: compat
                                         * MemFree + Buffers + Cached, adaptive
                                         * MemAvailable (the same sum without it) */
        uint64_t committed_kib;
        uint64_t threshold_kib;
        uint64_t last_tick_usec;        /* CLOCK_REALTIME, 0 before the first tick */
        char last_reason[KSM_REASON_MAX];
        uint64_t pages_shared;
        uint64_t pages_sharing;
        uint64_t full_scans;
        int64_t general_profit_bytes;
        char last_write_error[MANAGER_WRITE_ERROR_MAX]; /* "FILE: error; ...", "" when the last tick
                                                         * wrote all it had to */
} BusProps;

typedef struct Bus {
        Manager *manager;
        sd_bus *bus;                    /* NULL while the system bus is away */
        sd_event_source *retry_timer;
        BusWait wait;                   /* for the socket, while it is missing */
        BusProps props;                 /* what Get returns and PropertiesChanged announced */
        bool has_general_profit;        /* the kernel has general_profit: GeneralProfit is published */
        bool warned;                    /* "not available" logged once */
        bool lost;                      /* we were connected and lost it */
        sd_bus_message **pending;       /* Retune calls whose coalesced tick is to come */
        size_t n_pending;
} Bus;

/* The properties a tick may change, each once: D-Bus name, type (s, b, t,
 * x) and BusProps field. The vtables and the PropertiesChanged comparison
 * are both made from these lists. */
#define BUS_TUNER_PROPERTIES(X) \
        X("Policy", s, policy) \
        X("KsmRunning", b, ksm_running) \
        X("PagesToScan", t, pages_to_scan) \
        X("SleepMillisecs", t, sleep_millisecs) \
        X("MemTotalKiB", t, mem_total_kib) \
        X("FreeKiB", t, free_kib) \
        X("CommittedKiB", t, committed_kib) \
        X("ThresholdKiB", t, threshold_kib) \
        X("LastTickUSec", t, last_tick_usec) \
        X("LastReason", s, last_reason) \
        X("PagesShared", t, pages_shared) \
        X("PagesSharing", t, pages_sharing) \
        X("FullScans", t, full_scans) \
        X("LastWriteError", s, last_write_error)
/* Only where the kernel has general_profit: registered as a vtable of its own. */
#define BUS_PROFIT_PROPERTIES(X) \
        X("GeneralProfit", x, general_profit_bytes)

#define BUS_PROPERTY_COUNT_(name, type, field) + 1
enum {
        BUS_N_TUNER_PROPS = 0 BUS_TUNER_PROPERTIES(BUS_PROPERTY_COUNT_),
        BUS_N_PROFIT_PROPS = 0 BUS_PROFIT_PROPERTIES(BUS_PROPERTY_COUNT_),
};

/* One changing property: where its value sits in BusProps. */
typedef struct BusPropInfo {
        const char *name;
        char type;                      /* 's': a NUL-terminated char array; else compared by bytes */
        size_t offset;                  /* into BusProps */
        size_t size;
} BusPropInfo;

extern const BusPropInfo bus_tuner_props[BUS_N_TUNER_PROPS];
extern const BusPropInfo bus_profit_props[BUS_N_PROFIT_PROPS];

/* The interface's members; the vtable's userdata is the Bus. GeneralProfit
 * sits in a vtable of its own, registered only where the kernel has it. */
extern const sd_bus_vtable bus_tuner_vtable[];
extern const sd_bus_vtable bus_tuner_profit_vtable[];

/* Fill props from the manager's last tick (values after its writes). */
void bus_props_collect(const Manager *m, BusProps *ret);

/* Names of the n properties of props whose values differ between a and b,
 * written to names (room for n). Returns how many. */
size_t bus_props_changed(const BusPropInfo *props, size_t n, const BusProps *a, const BusProps *b,
                         const char **names);

/* Publish the manager on the system bus, or keep trying every
 * BUS_RETRY_USEC when it is not there (logged once); sets the manager's
 * on_change hook. Returns 0, or negative errno when the event loop refuses
 * (logged). */
int bus_new(Manager *m, Bus **ret);

/* Answer msg, a Retune call coalesced into a later tick, after that tick.
 * Returns 1 (the reply is on its way), or negative errno. */
int bus_retune_later(Bus *b, sd_bus_message *msg);
Bus *bus_free(Bus *b);
