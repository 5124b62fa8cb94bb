/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "policy.h"

/* Retry connecting to the system bus this often while it is away. */
#define BUS_RETRY_USEC (UINT64_C(3) * 1000000)

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
        uint64_t free_kib;
        uint64_t committed_kib;
        uint64_t threshold_kib;
        uint64_t last_tick_usec;        /* CLOCK_REALTIME, 0 before the first tick */
        char last_reason[KSM_REASON_MAX];
        uint64_t pages_shared;
        uint64_t pages_sharing;
        uint64_t full_scans;
        int64_t general_profit_bytes;
} BusProps;

typedef struct Bus {
        Manager *manager;
        sd_bus *bus;                    /* NULL while the system bus is away */
        sd_event_source *retry_timer;
        BusProps props;                 /* what Get returns and PropertiesChanged announced */
        bool has_general_profit;        /* the kernel has general_profit: GeneralProfit is published */
        bool warned;                    /* "not available" logged once */
        bool lost;                      /* we were connected and lost it */
} Bus;

/* The interface's members; the vtable's userdata is the Bus. GeneralProfit
 * sits in a vtable of its own, registered only where the kernel has it. */
extern const sd_bus_vtable bus_tuner_vtable[];
extern const sd_bus_vtable bus_tuner_profit_vtable[];

/* Fill props from the manager's last tick (values after its writes). */
void bus_props_collect(const Manager *m, BusProps *ret);

/* Names of the properties in vtable flagged EMITS_CHANGE whose values differ
 * between a and b, written to names (at most max). Returns how many. */
size_t bus_props_changed(const sd_bus_vtable *vtable, const BusProps *a, const BusProps *b,
                         const char **names, size_t max);

/* Publish the manager on the system bus, or keep trying every
 * BUS_RETRY_USEC when it is not there (logged once); sets the manager's
 * on_change hook. Returns 0, or negative errno when the event loop refuses
 * (logged). */
int bus_new(Manager *m, Bus **ret);
Bus *bus_free(Bus *b);
