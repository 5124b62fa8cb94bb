/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "json.h"
#include "status.h"

/* An optional kernel counter: null where the kernel lacks it. */
static void opt_uint(JsonWriter *w, const char *key, bool present, uint64_t v) {
        json_key(w, key);
        if (present)
                json_uint(w, v);
        else
                json_null(w);
}

static void print_ksm(JsonWriter *w, const Status *s) {
        const KsmKnobs *k = &s->ksm;

        json_key(w, "run");
        json_uint(w, k->run);
        json_key(w, "ksm_running");
        json_bool(w, k->run == 1);
        json_key(w, "pages_to_scan");
        json_uint(w, k->pages_to_scan);
        json_key(w, "sleep_ms");
        json_uint(w, k->sleep_millisecs);
        json_key(w, "advisor_mode");
        if (ksm_has(k, KSM_FEATURE_ADVISOR))
                json_string(w, k->advisor_mode == KSM_ADVISOR_SCAN_TIME ? "scan-time" : "none");
        else
                json_null(w);
        opt_uint(w, "smart_scan", ksm_has(k, KSM_FEATURE_SMART_SCAN), k->smart_scan);
        opt_uint(w, "use_zero_pages", ksm_has(k, KSM_FEATURE_USE_ZERO_PAGES), k->use_zero_pages);
        opt_uint(w, "max_kernel_pages", ksm_has(k, KSM_FEATURE_MAX_KERNEL_PAGES), k->max_kernel_pages);
        opt_uint(w, "merge_across_nodes", ksm_has(k, KSM_FEATURE_MERGE_ACROSS_NODES), k->merge_across_nodes);
        json_key(w, "page_size_bytes");
        json_uint(w, s->page_size_bytes);
        json_key(w, "pages_shared");
        json_uint(w, k->pages_shared);
        json_key(w, "pages_sharing");
        json_uint(w, k->pages_sharing);
        json_key(w, "pages_unshared");
        json_uint(w, k->pages_unshared);
        json_key(w, "pages_volatile");
        json_uint(w, k->pages_volatile);
        opt_uint(w, "ksm_zero_pages", ksm_has(k, KSM_FEATURE_ZERO_PAGES), k->ksm_zero_pages);
        json_key(w, "full_scans");
        json_uint(w, k->full_scans);
        opt_uint(w, "pages_scanned", ksm_has(k, KSM_FEATURE_PAGES_SCANNED), k->pages_scanned);
        opt_uint(w, "pages_skipped", ksm_has(k, KSM_FEATURE_PAGES_SKIPPED), k->pages_skipped);
        opt_uint(w, "ksmd_cpu_usec", s->have_ksmd_cpu, s->ksmd_cpu_usec);
        json_key(w, "saved_bytes");
        json_uint(w, s->saved_bytes);
        json_key(w, "general_profit_bytes");
        if (ksm_has(k, KSM_FEATURE_GENERAL_PROFIT))
                json_int(w, k->general_profit);
        else
                json_null(w);
        json_key(w, "sharing_ratio");
        if (k->pages_shared > 0)
                json_fixed(w, (double) k->pages_sharing / (double) k->pages_shared, 2);
        else
                json_null(w);
        opt_uint(w, "mem_total_kib", s->have_mem, s->mem.mem_total_kib);
        opt_uint(w, "mem_available_kib", s->have_mem && s->mem.has_mem_available, s->mem.mem_available_kib);
}

static void print_daemon(JsonWriter *w, const DaemonInfo *d) {
        json_key(w, "daemon");
        json_object_begin(w);
        json_key(w, "running");
        json_bool(w, d->running);
        opt_uint(w, "pid", d->pid > 0, (uint64_t) d->pid);
        json_key(w, "bus");
        json_bool(w, d->on_bus);
        json_key(w, "version");
        json_string(w, d->on_bus ? d->version : NULL);
        json_key(w, "policy");
        json_string(w, d->on_bus ? d->policy : NULL);
        json_key(w, "last_reason");
        json_string(w, d->on_bus && d->last_tick_usec ? d->last_reason : NULL);
        opt_uint(w, "last_tick_usec", d->on_bus && d->last_tick_usec, d->last_tick_usec);
        opt_uint(w, "committed_kib", d->on_bus && d->last_tick_usec, d->committed_kib);
        opt_uint(w, "threshold_kib", d->on_bus && d->last_tick_usec, d->threshold_kib);
        opt_uint(w, "free_kib", d->on_bus && d->last_tick_usec, d->free_kib);
        json_key(w, "last_write_error");
        json_string(w, d->on_bus && d->last_write_error[0] ? d->last_write_error : NULL);
        json_key(w, "not_on_bus_reason");
        json_string(w, d->running && !d->on_bus ? d->why_not_bus : NULL);
        json_object_end(w);
}

static void print_procs(JsonWriter *w, const ProcList *l) {
        json_key(w, "processes_saving");
        json_uint(w, l->n_saving);
        json_key(w, "processes_complete");
        json_bool(w, !l->incomplete);
        json_key(w, "processes");
        json_array_begin(w);
        for (size_t i = 0; i < l->n; i++) {
                const ProcEntry *p = &l->procs[i];

                json_object_begin(w);
                json_key(w, "pid");
                json_uint(w, (uint64_t) p->pid);
                json_key(w, "name");
                json_string(w, p->name ?: p->comm);
                json_key(w, "comm");
                json_string(w, p->comm);
                json_key(w, "guest_name");
                json_string(w, p->name);
                json_key(w, "merging_pages");
                json_uint(w, p->stat.merging_pages);
                json_key(w, "zero_pages");
                json_uint(w, p->stat.zero_pages);
                json_key(w, "rmap_items");
                json_uint(w, p->stat.rmap_items);
                json_key(w, "saved_bytes");
                json_uint(w, p->saved_bytes);
                json_key(w, "profit_bytes");
                if (p->stat.present & (1u << KSM_STAT_PROCESS_PROFIT))
                        json_int(w, p->stat.process_profit_bytes);
                else
                        json_null(w);
                json_key(w, "merge_any");
                /* Unknown where the kernel does not report it, not false. */
                if (p->stat.present & (1u << KSM_STAT_MERGE_ANY))
                        json_bool(w, p->stat.merge_any);
                else
                        json_null(w);
                json_key(w, "mergeable");
                if (p->stat.present & (1u << KSM_STAT_MERGEABLE))
                        json_bool(w, p->stat.mergeable);
                else
                        json_null(w);
                json_object_end(w);
        }
        json_array_end(w);
}

void status_print_json(const Status *s, FILE *f) {
        JsonWriter w;

        json_init(&w, f);
        json_object_begin(&w);
        print_ksm(&w, s);
        print_daemon(&w, &s->daemon);
        print_procs(&w, &s->procs);
        json_object_end(&w);
        fputc('\n', f);
}
