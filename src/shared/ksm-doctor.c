/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * "Why is nothing merged?": pure rules from what the host and a process
 * show to findings, each one line saying what is wrong and what to do.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "ksm-doctor.h"
#include "macro.h"

/* Below this, memory that KSM cannot merge is not worth a line: every
 * process has some heap, stack and small shared mappings. */
#define NOTABLE_KIB (16 * 1024)
/* One huge page of hugetlbfs is already a choice someone made. */
#define HUGETLB_NOTABLE_KIB 2048
/* A process is "not mergeable" when at least half its anonymous memory is
 * unmarked: qemu's own heap beside mergeable guest RAM is not a problem. */
#define UNMARKED_SHARE_PCT 50
/* Shared mappings matter when they are a tenth of the process. */
#define SHARED_SHARE_PCT 10
/* Pages that changed within one sample interval: ksmd's passes take longer,
 * so these never hold still for two checksums. */
#define VOLATILE_SHARE_PCT 10
#define VOLATILE_MIN_SAMPLED 64

static const char *const code_names[_DOCTOR_CODE_MAX] = {
        [DOCTOR_NO_KSM] = "no-ksm",
        [DOCTOR_KSM_STOPPED] = "ksm-stopped",
        [DOCTOR_NO_DAEMON] = "no-daemon",
        [DOCTOR_ADVISOR] = "advisor-owns-rate",
        [DOCTOR_CHAINS] = "page-sharing-chains",
        [DOCTOR_MERGE_ACROSS_NODES] = "merge-across-nodes",
        [DOCTOR_NOT_MERGEABLE] = "not-mergeable",
        [DOCTOR_NOSHAREPAGES] = "nosharepages",
        [DOCTOR_HUGETLB] = "hugetlb",
        [DOCTOR_THP] = "thp",
        [DOCTOR_SHARED] = "shared-mapping",
        [DOCTOR_VOLATILE] = "volatile",
        [DOCTOR_NEGATIVE_PROFIT] = "negative-profit",
        [DOCTOR_MERGING] = "merging",
};

static const char *const severity_names[_DOCTOR_SEVERITY_MAX] = {
        [DOCTOR_OK] = "ok",
        [DOCTOR_INFO] = "info",
        [DOCTOR_WARNING] = "warning",
};

const char *doctor_code_name(DoctorCode c) {
        return c >= 0 && c < _DOCTOR_CODE_MAX ? code_names[c] : "unknown";
}

const char *doctor_severity_name(DoctorSeverity s) {
        return s >= 0 && s < _DOCTOR_SEVERITY_MAX ? severity_names[s] : "unknown";
}

/* A finding is one line: longer texts are cut on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
_printf_(4, 5)
static void add(DoctorFindings *fs, DoctorCode code, DoctorSeverity sev, const char *fmt, ...) {
        va_list ap;
        DoctorFinding *f;

        if (fs->n == DOCTOR_FINDINGS_MAX)
                return;
        f = &fs->f[fs->n++];
        f->code = code;
        f->severity = sev;
        va_start(ap, fmt);
        vsnprintf(f->text, sizeof(f->text), fmt, ap);
        va_end(ap);
}
#pragma GCC diagnostic pop

static uint64_t mib(uint64_t kib) {
        return (kib + 512) / 1024;
}

static void host_run(const DoctorHost *h, DoctorFindings *fs) {
        if (h->ksm.run == 1)
                return;
        if (h->ksm.run == 2) {
                add(fs, DOCTOR_KSM_STOPPED, DOCTOR_WARNING,
                    "KSM is unmerging every page (run=2) and merges nothing; 'ksmctl start' (run=1) when it is done");
                return;
        }
        if (h->daemon_running && h->daemon_reason_known)
                add(fs, DOCTOR_KSM_STOPPED, DOCTOR_INFO,
                    "KSM is stopped (run=0); ksmtuned's last decision: %s", h->daemon_reason);
        else if (h->daemon_running)
                add(fs, DOCTOR_KSM_STOPPED, DOCTOR_INFO,
                    "KSM is stopped (run=0) by ksmtuned (its reason is on D-Bus: 'ksmctl status' on the system bus)");
        else
                add(fs, DOCTOR_KSM_STOPPED, DOCTOR_WARNING,
                    "KSM is stopped (run=0): nothing is merged; 'ksmctl start', or start ksmtuned to run it when memory is short");
}

void doctor_host(const DoctorHost *h, DoctorFindings *ret) {
        DoctorFindings fs = {};
        const KsmKnobs *k = &h->ksm;

        if (!h->has_ksm) {
                add(&fs, DOCTOR_NO_KSM, DOCTOR_WARNING,
                    "no /sys/kernel/mm/ksm: this kernel is built without KSM (CONFIG_KSM=y is needed)");
                *ret = fs;
                return;
        }
        host_run(h, &fs);
        if (!h->daemon_running)
                add(&fs, DOCTOR_NO_DAEMON, DOCTOR_WARNING,
                    "ksmtuned is not running: nobody starts KSM when memory gets short or sets its rate "
                    "('systemctl start ksmtuned')");
        if (ksm_advisor_sets_rate(k))
                add(&fs, DOCTOR_ADVISOR, DOCTOR_INFO,
                    "the kernel's advisor sets pages_to_scan (advisor_mode=scan-time; writing pages_to_scan fails): "
                    "ksmtuned's adaptive policy turns it off while it runs, compat cannot set the rate");
        if (h->has_chains && h->stable_node_chains > 0)
                add(&fs, DOCTOR_CHAINS, DOCTOR_INFO,
                    "%" PRIu64 " contents have more than max_page_sharing=%" PRIu64 " sharers "
                    "(stable_node_chains=%" PRIu64 ", stable_node_dups=%" PRIu64 "): each %" PRIu64 " sharers "
                    "keep one more copy%s",
                    h->stable_node_chains, h->max_page_sharing, h->stable_node_chains, h->stable_node_dups,
                    h->max_page_sharing,
                    ksm_has(k, KSM_FEATURE_USE_ZERO_PAGES) && k->use_zero_pages == 0 ?
                    "; if they are zero pages, use_zero_pages=1 maps them to the zero page without a limit" :
                    "; raising max_page_sharing (only while nothing is merged) saves them at some CPU cost");
        if (h->has_merge_across_nodes) {
                if (h->numa_nodes <= 1)
                        add(&fs, DOCTOR_MERGE_ACROSS_NODES, DOCTOR_OK,
                            "merge_across_nodes=%" PRIu64 ": one NUMA node, no effect", h->merge_across_nodes);
                else if (h->merge_across_nodes)
                        add(&fs, DOCTOR_MERGE_ACROSS_NODES, DOCTOR_INFO,
                            "merge_across_nodes=1 on %u NUMA nodes: a merged page lives on one node and guests on "
                            "the others read it remotely; 0 merges within each node (writable only while nothing "
                            "is merged)", h->numa_nodes);
                else
                        add(&fs, DOCTOR_MERGE_ACROSS_NODES, DOCTOR_INFO,
                            "merge_across_nodes=0 on %u NUMA nodes: identical pages on different nodes stay "
                            "separate copies; 1 saves more at the cost of remote accesses", h->numa_nodes);
        }
        *ret = fs;
}

static bool stat_has(const DoctorProc *p, KsmStatField f) {
        return p->has_ksm_stat && (p->stat.present & (1u << f));
}

static void proc_mergeable(const DoctorProc *p, DoctorFindings *fs) {
        const SmapsTotals *s = &p->smaps;
        uint64_t unmarked = s->anon_kib - s->mergeable_kib;

        if (p->nosharepages) {
                add(fs, DOCTOR_NOSHAREPAGES, DOCTOR_WARNING,
                    "qemu runs with mem-merge=off (libvirt <memoryBacking><nosharepages/>): guest RAM is never "
                    "offered to KSM; remove <nosharepages/> from the domain and restart the guest");
                return;
        }
        if (stat_has(p, KSM_STAT_MERGE_ANY) && p->stat.merge_any)
                return;
        if (unmarked >= NOTABLE_KIB && unmarked * 100 >= s->anon_kib * UNMARKED_SHARE_PCT)
                add(fs, DOCTOR_NOT_MERGEABLE, DOCTOR_WARNING,
                    "%" PRIu64 " MiB of %" PRIu64 " MiB anonymous memory is not mergeable (no MADV_MERGEABLE, not "
                    "merge-any): qemu needs -machine mem-merge=on (its default); other programs "
                    "madvise(MADV_MERGEABLE) or prctl(PR_SET_MEMORY_MERGE), or KSM_MERGE_ANY_REGEX on a patched kernel",
                    mib(unmarked), mib(s->anon_kib));
}

static void proc_backing(const DoctorProc *p, DoctorFindings *fs) {
        const SmapsTotals *s = &p->smaps;

        if (s->hugetlb_kib >= HUGETLB_NOTABLE_KIB)
                add(fs, DOCTOR_HUGETLB, DOCTOR_WARNING,
                    "%" PRIu64 " MiB in hugetlbfs pages: KSM never merges them; back guests that should merge with "
                    "normal pages (no <hugepages/> in the domain)", mib(s->hugetlb_kib));
        if (s->thp_kib >= NOTABLE_KIB)
                add(fs, DOCTOR_THP, DOCTOR_INFO,
                    "%" PRIu64 " MiB of mergeable memory is in transparent huge pages: KSM splits a huge page to "
                    "merge it, losing its benefit, and khugepaged may collapse it again; choose THP or KSM for "
                    "this guest", mib(s->thp_kib));
        if (s->shared_kib >= NOTABLE_KIB && s->shared_kib * 100 >= s->rss_kib * SHARED_SHARE_PCT)
                add(fs, DOCTOR_SHARED, DOCTOR_WARNING,
                    "%" PRIu64 " MiB in shared mappings (%s): KSM merges only private anonymous memory; "
                    "use private guest RAM (share=off, no vhost-user) where it should merge",
                    mib(s->shared_kib), s->memfd_kib * 2 >= s->shared_kib ? "memfd" : "MAP_SHARED");
}

static void proc_results(const DoctorProc *p, DoctorFindings *fs) {
        if (p->sampled_pages >= VOLATILE_MIN_SAMPLED &&
            p->changed_pages * 100 >= p->sampled_pages * VOLATILE_SHARE_PCT)
                add(fs, DOCTOR_VOLATILE, DOCTOR_INFO,
                    "%" PRIu64 " %% of its mergeable pages changed within %" PRIu64 " ms (%" PRIu64 " of %" PRIu64
                    " sampled; pages_volatile=%" PRIu64 " host-wide): pages rewritten between two of ksmd's "
                    "passes cannot merge, and scanning them costs CPU",
                    p->changed_pages * 100 / p->sampled_pages, p->sample_ms, p->changed_pages, p->sampled_pages,
                    p->pages_volatile);
        if (stat_has(p, KSM_STAT_PROCESS_PROFIT) && p->stat.process_profit_bytes < 0)
                add(fs, DOCTOR_NEGATIVE_PROFIT, DOCTOR_WARNING,
                    "KSM costs more than it saves here (ksm_process_profit %" PRId64 " KiB: %" PRIu64
                    " rmap items, %" PRIu64 " pages merged): its memory has few duplicates; stop marking it "
                    "mergeable", p->stat.process_profit_bytes / 1024, p->stat.rmap_items, p->stat.merging_pages);
}

void doctor_proc(const DoctorProc *p, DoctorFindings *ret) {
        DoctorFindings fs = {};
        uint64_t page_kib = p->page_size_bytes >= 1024 ? p->page_size_bytes / 1024 : 4;

        if (p->has_smaps) {
                proc_mergeable(p, &fs);
                proc_backing(p, &fs);
        }
        proc_results(p, &fs);
        if (p->has_ksm_stat && p->stat.merging_pages + p->stat.zero_pages > 0)
                add(&fs, DOCTOR_MERGING, DOCTOR_OK, "%" PRIu64 " MiB merged (%" PRIu64 " pages, %" PRIu64
                    " of them zero pages)", mib((p->stat.merging_pages + p->stat.zero_pages) * page_kib),
                    p->stat.merging_pages + p->stat.zero_pages, p->stat.zero_pages);
        else if (fs.n == 0)
                add(&fs, DOCTOR_MERGING, DOCTOR_INFO,
                    "%" PRIu64 " MiB mergeable, nothing merged yet: ksmd has not been through it (see the host "
                    "lines) or it has no duplicates", mib(p->smaps.mergeable_kib));
        *ret = fs;
}
