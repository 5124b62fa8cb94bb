/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arith.h"
#include "fileio.h"
#include "ksm-stat.h"
#include "macro.h"

static const char *const field_names[_KSM_STAT_MAX] = {
        [KSM_STAT_RMAP_ITEMS] = "ksm_rmap_items",
        [KSM_STAT_ZERO_PAGES] = "ksm_zero_pages",
        [KSM_STAT_MERGING_PAGES] = "ksm_merging_pages",
        [KSM_STAT_PROCESS_PROFIT] = "ksm_process_profit",
        [KSM_STAT_MERGE_ANY] = "ksm_merge_any",
        [KSM_STAT_MERGEABLE] = "ksm_mergeable",
};

static int parse_yes_no(const char *v, bool *ret) {
        if (strcmp(v, "yes") == 0)
                *ret = true;
        else if (strcmp(v, "no") == 0)
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

static int parse_field(KsmProcStat *s, KsmStatField f, const char *v) {
        int64_t profit;

        switch (f) {
        case KSM_STAT_RMAP_ITEMS:
                return parse_uint64(v, &s->rmap_items) < 0 ? -EBADMSG : 0;
        case KSM_STAT_ZERO_PAGES:
                return parse_uint64(v, &s->zero_pages) < 0 ? -EBADMSG : 0;
        case KSM_STAT_MERGING_PAGES:
                return parse_uint64(v, &s->merging_pages) < 0 ? -EBADMSG : 0;
        case KSM_STAT_PROCESS_PROFIT:
                if (parse_int64(v, INT64_MIN, INT64_MAX, &profit) < 0)
                        return -EBADMSG;
                s->process_profit_bytes = profit;
                return 0;
        case KSM_STAT_MERGE_ANY:
                return parse_yes_no(v, &s->merge_any);
        case KSM_STAT_MERGEABLE:
                return parse_yes_no(v, &s->mergeable);
        default:
                return -EBADMSG;
        }
}

int ksm_stat_parse(const char *text, KsmProcStat *ret) {
        KsmProcStat s = {};
        const char *p = text;

        while (*p) {
                const char *eol = strchrnul(p, '\n'), *sp;
                char value[64];

                sp = memchr(p, ' ', (size_t) (eol - p));
                if (sp && (size_t) (eol - sp - 1) < sizeof(value))
                        for (KsmStatField f = 0; f < _KSM_STAT_MAX; f++) {
                                /* 6.x prints "ksm_merge_any: no" with a colon, the counters without. */
                                size_t klen = (size_t) (sp - p) - (sp > p && sp[-1] == ':');

                                if (klen != strlen(field_names[f]) || strncmp(p, field_names[f], klen) != 0)
                                        continue;
                                memcpy(value, sp + 1, (size_t) (eol - sp - 1));
                                value[eol - sp - 1] = '\0';
                                if (parse_field(&s, f, value) < 0)
                                        return -EBADMSG;
                                s.present |= 1u << f;
                        }
                p = *eol ? eol + 1 : eol;
        }
        if (!s.present)
                return -EBADMSG;
        *ret = s;
        return 0;
}

int ksm_stat_read(int root_fd, pid_t pid, KsmProcStat *ret) {
        _cleanup_free_ char *text = NULL;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "proc/%d/ksm_stat", (int) pid);
        r = read_full_file_at(root_fd, path, 4096, &text, NULL);
        if (r < 0)
                return r;
        return ksm_stat_parse(text, ret);
}

uint64_t ksm_proc_saved_bytes(const KsmProcStat *s, uint64_t page_size_bytes) {
        return sat_mul_u64(sat_add_u64(s->merging_pages, s->zero_pages), page_size_bytes);
}
