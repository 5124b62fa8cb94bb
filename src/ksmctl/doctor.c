/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ksmctl doctor [PID|NAME...]: why memory is (not) merged, host-wide and per
 * process. Collects what the host and each process show (the rules are pure,
 * in ksm-doctor.c) and prints one line per finding, or JSON.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "fileio.h"
#include "guest-name.h"
#include "guests.h"
#include "json.h"
#include "ksm-doctor.h"
#include "ksm-stat.h"
#include "ksmctl.h"
#include "macro.h"
#include "procfs.h"
#include "units.h"

/* Pages of a process read twice to see how many change: enough for a
 * percentage, few enough to cost nothing (4 MiB per process). */
#define SAMPLE_PAGES 1024
#define SAMPLE_MS_DEFAULT 1000
#define SAMPLE_MS_MAX 60000
#define CMDLINE_MAX (1024 * 1024)

typedef struct DoctorTarget {
        pid_t pid;
        char comm[16];
        char *name;                     /* qemu's -name guest, else NULL */
        DoctorProc facts;
        uint64_t *addr;                 /* sampled page addresses */
        uint64_t *hash;                 /* their first hashes */
        size_t n_addr;
        DoctorFindings findings;
        int error;                      /* reading it failed: negative errno */
} DoctorTarget;

typedef struct Doctor {
        DoctorHost host;
        DaemonInfo daemon;
        DoctorFindings host_findings;
        DoctorTarget *t;
        size_t n, alloc;
        uint64_t sample_ms;
        uint64_t page_size_bytes;
} Doctor;

static void doctor_free(Doctor *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->t[i].name);
                free(d->t[i].addr);
                free(d->t[i].hash);
        }
        free(d->t);
}

static unsigned count_numa_nodes(int root_fd) {
        _cleanup_close_ int fd = openat(root_fd, "sys/devices/system/node", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        unsigned n = 0;
        DIR *dir;

        if (fd < 0)
                return 0;
        dir = fdopendir(TAKE_FD(fd));
        if (!dir)
                return 0;
        while ((de = readdir(dir)))
                if (strncmp(de->d_name, "node", 4) == 0 && de->d_name[4] >= '0' && de->d_name[4] <= '9')
                        n++;
        closedir(dir);
        return n;
}

static int collect_host(Ctl *c, Doctor *d) {
        DoctorHost *h = &d->host;
        _cleanup_close_ int ksm_fd = -1;
        char path[4096];
        int root, r;

        root = ctl_root_fd(c);
        if (root < 0)
                return root;
        ksm_fd = ksm_sysfs_open(root);
        h->has_ksm = ksm_fd >= 0;
        if (h->has_ksm) {
                r = ksm_sysfs_read(ksm_fd, &h->ksm);
                if (r < 0)
                        return ctl_msg(r, "Cannot read %s: %m", ctl_path(c, KSM_SYSFS_DIR, path, sizeof(path))), r;
                h->has_chains = read_u64_file_at(ksm_fd, "max_page_sharing", &h->max_page_sharing) >= 0 &&
                                read_u64_file_at(ksm_fd, "stable_node_chains", &h->stable_node_chains) >= 0 &&
                                read_u64_file_at(ksm_fd, "stable_node_dups", &h->stable_node_dups) >= 0;
                h->has_merge_across_nodes = read_u64_file_at(ksm_fd, "merge_across_nodes",
                                                             &h->merge_across_nodes) >= 0;
        }
        h->numa_nodes = count_numa_nodes(root);
        daemon_query(c, &d->daemon);
        h->daemon_running = d->daemon.running;
        h->daemon_reason_known = d->daemon.on_bus && d->daemon.last_tick_usec > 0;
        h->daemon_reason = d->daemon.last_reason;
        doctor_host(h, &d->host_findings);
        return 0;
}

/* The guest's name and whether qemu runs with mem-merge=off (what libvirt
 * writes for <memoryBacking><nosharepages/>). */
static void read_cmdline(int root_fd, DoctorTarget *t) {
        _cleanup_free_ char *cmdline = NULL;
        char path[64];
        size_t size;

        snprintf(path, sizeof(path), "proc/%d/cmdline", (int) t->pid);
        if (read_full_file_at(root_fd, path, CMDLINE_MAX, &cmdline, &size) < 0)
                return;
        if (strncmp(t->comm, "qemu", 4) == 0 || strcmp(t->comm, "kvm") == 0)
                (void) guest_name_from_cmdline(cmdline, size, &t->name);
        for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1)
                if (strstr(cmdline + i, "mem-merge=off"))
                        t->facts.nosharepages = true;
}

static bool selected(const DoctorTarget *t, const KsmProcStat *st, bool have_stat, const regex_t *guest_re,
                     char **args, size_t n_args, bool *matched) {
        bool any = false;

        if (n_args == 0)
                /* Guests by name, and whatever KSM already knows about. */
                return guest_regex_match(guest_re, t->comm) ||
                       (have_stat && (st->mergeable || st->merge_any || st->rmap_items > 0));
        for (size_t i = 0; i < n_args; i++) {
                int64_t pid;

                if (parse_int64(args[i], 1, INT32_MAX, &pid) >= 0 ? pid == t->pid :
                    strcmp(args[i], t->comm) == 0 || (t->name && strcmp(args[i], t->name) == 0)) {
                        matched[i] = true;
                        any = true;
                }
        }
        return any;
}

static int add_target(Doctor *d, const DoctorTarget *t) {
        if (ARRAY_RESERVE_ONE(d->t, d->alloc, d->n, 16) < 0)
                return -ENOMEM;
        d->t[d->n++] = *t;
        return 0;
}

static int collect_procs(Ctl *c, Doctor *d, char **args, size_t n_args, bool *matched) {
        _cleanup_close_ int fd = -1;
        ProcIter it = {};
        regex_t re;
        pid_t pid;
        int root = ctl_root_fd(c), r = 0;

        if (root < 0)
                return root;
        if (guest_regex_compile(GUEST_REGEX_DEFAULT, &re, NULL, 0) < 0)
                return -EINVAL;
        fd = proc_open(root);
        r = fd < 0 ? fd : proc_iter_start(&it, fd);
        while (r >= 0 && (r = proc_iter_next(&it, &pid)) > 0) {
                DoctorTarget t = { .pid = pid };
                KsmProcStat st;
                bool have_stat;

                r = 0;
                /* KSM merges user memory only; a kernel thread asked for by
                 * pid is named as such in verb_doctor(). */
                if (n_args > 0 && proc_is_kernel_thread(fd, t.pid) == 1)
                        continue;
                (void) proc_read_comm(fd, t.pid, t.comm);      /* "" when gone */
                read_cmdline(root, &t);
                have_stat = ksm_stat_read(root, t.pid, &st) >= 0;
                if (!selected(&t, &st, have_stat, &re, args, n_args, matched)) {
                        free(t.name);
                        continue;
                }
                t.facts.has_ksm_stat = have_stat;
                if (have_stat)
                        t.facts.stat = st;
                r = smaps_read(root, t.pid, &t.facts.smaps);
                if (r == -ENOENT || r == -ESRCH) {
                        /* Gone meanwhile. */
                        free(t.name);
                        r = 0;
                        continue;
                }
                t.facts.has_smaps = r >= 0;
                t.error = r < 0 ? r : 0;
                r = add_target(d, &t);
                if (r < 0)
                        free(t.name);
        }
        proc_iter_done(&it);
        regfree(&re);
        return r;
}

/* FNV-1a: enough to tell whether a page changed. */
static uint64_t page_hash(const unsigned char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* Hash each sampled page through proc/PID/mem; hashes[i] stays 0 for a page
 * that cannot be read. Returns 0 or negative errno (no access). */
static int read_pages(int root_fd, const DoctorTarget *t, uint64_t page, uint64_t *hashes) {
        _cleanup_free_ unsigned char *buf = malloc(page);
        _cleanup_close_ int fd = -1;
        char path[64];

        if (!buf)
                return -ENOMEM;
        snprintf(path, sizeof(path), "proc/%d/mem", (int) t->pid);
        fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        for (size_t i = 0; i < t->n_addr; i++)
                hashes[i] = pread(fd, buf, page, (off_t) t->addr[i]) == (ssize_t) page ? page_hash(buf, page) | 1 : 0;
        return 0;
}

/* Spread SAMPLE_PAGES over the mergeable mappings, by their RSS. */
static int plan_sample(DoctorTarget *t, uint64_t page) {
        const SmapsTotals *s = &t->facts.smaps;
        uint64_t total_kib = 0;

        for (size_t i = 0; i < s->n_ranges; i++)
                total_kib += s->ranges[i].rss_kib;
        if (total_kib == 0)
                return 0;
        t->addr = calloc(SAMPLE_PAGES, sizeof(uint64_t));
        t->hash = calloc(SAMPLE_PAGES, sizeof(uint64_t));
        if (!t->addr || !t->hash)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_ranges; i++) {
                const SmapsRange *rg = &s->ranges[i];
                uint64_t pages = (rg->end - rg->start) / page;
                uint64_t want = SAMPLE_PAGES * rg->rss_kib / total_kib;

                want = want < pages ? want : pages;
                for (uint64_t k = 0; k < want && t->n_addr < SAMPLE_PAGES; k++)
                        t->addr[t->n_addr++] = rg->start + (k * pages / want) * page;
        }
        return 0;
}

static void sample_volatility(Ctl *c, Doctor *d) {
        int root = ctl_root_fd(c);
        bool any = false;

        if (d->sample_ms == 0 || root < 0)
                return;
        for (size_t i = 0; i < d->n; i++) {
                DoctorTarget *t = &d->t[i];

                if (t->facts.has_smaps && plan_sample(t, d->page_size_bytes) >= 0 && t->n_addr > 0 &&
                    read_pages(root, t, d->page_size_bytes, t->hash) >= 0)
                        any = true;
                else
                        t->n_addr = 0;
        }
        if (!any)
                return;
        struct timespec ts = { (time_t) (d->sample_ms / 1000), (long) (d->sample_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        for (size_t i = 0; i < d->n; i++) {
                DoctorTarget *t = &d->t[i];
                _cleanup_free_ uint64_t *again = t->n_addr ? calloc(t->n_addr, sizeof(uint64_t)) : NULL;

                if (!again || read_pages(root, t, d->page_size_bytes, again) < 0)
                        continue;
                for (size_t k = 0; k < t->n_addr; k++)
                        if (t->hash[k] && again[k]) {
                                t->facts.sampled_pages++;
                                t->facts.changed_pages += t->hash[k] != again[k];
                        }
                t->facts.sample_ms = d->sample_ms;
        }
}

static const char *subject(const DoctorTarget *t, char *buf, size_t size) {
        if (t->name)
                snprintf(buf, size, "pid %d (%s, guest %s)", (int) t->pid, t->comm, t->name);
        else
                snprintf(buf, size, "pid %d (%s)", (int) t->pid, t->comm);
        return buf;
}

static void print_text(const Doctor *d) {
        char subj[128];

        for (size_t i = 0; i < d->host_findings.n; i++)
                printf("host: %s: %s\n", doctor_severity_name(d->host_findings.f[i].severity),
                       d->host_findings.f[i].text);
        for (size_t i = 0; i < d->n; i++) {
                const DoctorTarget *t = &d->t[i];

                subject(t, subj, sizeof(subj));
                if (t->error < 0) {
                        printf("%s: info: cannot read its memory map (%s)%s\n", subj, strerror(-t->error),
                               t->error == -EACCES || t->error == -EPERM ? ": run as root" : "");
                        continue;
                }
                for (size_t k = 0; k < t->findings.n; k++)
                        printf("%s: %s: %s\n", subj, doctor_severity_name(t->findings.f[k].severity),
                               t->findings.f[k].text);
        }
}

static void json_findings(JsonWriter *w, const DoctorFindings *fs) {
        json_key(w, "findings");
        json_array_begin(w);
        for (size_t i = 0; i < fs->n; i++) {
                json_object_begin(w);
                json_key(w, "id");
                json_string(w, doctor_code_name(fs->f[i].code));
                json_key(w, "severity");
                json_string(w, doctor_severity_name(fs->f[i].severity));
                json_key(w, "text");
                json_string(w, fs->f[i].text);
                json_object_end(w);
        }
        json_array_end(w);
}

static void print_json(const Doctor *d) {
        JsonWriter w;

        json_init(&w, stdout);
        json_object_begin(&w);
        json_key(&w, "host");
        json_object_begin(&w);
        json_findings(&w, &d->host_findings);
        json_object_end(&w);
        json_key(&w, "processes");
        json_array_begin(&w);
        for (size_t i = 0; i < d->n; i++) {
                const DoctorTarget *t = &d->t[i];
                const SmapsTotals *s = &t->facts.smaps;

                json_object_begin(&w);
                json_key(&w, "pid");
                json_uint(&w, (uint64_t) t->pid);
                json_key(&w, "comm");
                json_string(&w, t->comm);
                json_key(&w, "name");
                json_string(&w, t->name);
                json_key(&w, "error");
                json_string(&w, t->error < 0 ? strerror(-t->error) : NULL);
                json_key(&w, "anon_kib");
                json_uint(&w, s->anon_kib);
                json_key(&w, "mergeable_kib");
                json_uint(&w, s->mergeable_kib);
                json_key(&w, "sampled_pages");
                json_uint(&w, t->facts.sampled_pages);
                json_key(&w, "changed_pages");
                json_uint(&w, t->facts.changed_pages);
                json_findings(&w, &t->findings);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_object_end(&w);
        fputc('\n', stdout);
}

static int parse_options(Ctl *c, int argc, char *argv[], bool *json, uint64_t *sample_ms) {
        enum { ARG_JSON = ARG_FIRST_VERB_OPTION, ARG_SAMPLE_MS };
        static const struct option options[] = {
                CTL_COMMON_OPTIONS,
                { "json",      no_argument,       NULL, ARG_JSON },
                { "sample-ms", required_argument, NULL, ARG_SAMPLE_MS },
                {}
        };
        int opt, r;

        while ((opt = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, options, NULL)) >= 0)
                switch (opt) {
                case ARG_JSON:
                        *json = true;
                        break;
                case ARG_SAMPLE_MS: {
                        int64_t v;

                        if (parse_int64(optarg, 0, SAMPLE_MS_MAX, &v) < 0)
                                return ctl_usage_error("doctor", "--sample-ms needs a number from 0 to %d, not '%s'",
                                                       SAMPLE_MS_MAX, optarg);
                        *sample_ms = (uint64_t) v;
                        break;
                }
                default:
                        r = ctl_common_option(c, opt, "doctor");
                        if (r >= 0)
                                return r;
                }
        return -1;
}

/* Whether arg is the pid of a kernel thread. */
static bool is_kernel_thread_arg(Ctl *c, const char *arg) {
        _cleanup_close_ int fd = -1;
        int64_t pid;
        int root = ctl_root_fd(c);

        if (root < 0 || parse_int64(arg, 1, INT32_MAX, &pid) < 0)
                return false;
        fd = proc_open(root);
        return fd >= 0 && proc_is_kernel_thread(fd, (pid_t) pid) == 1;
}

int verb_doctor(Ctl *c, int argc, char *argv[]) {
        Doctor d = { .sample_ms = SAMPLE_MS_DEFAULT, .page_size_bytes = page_size() };
        _cleanup_free_ bool *matched = NULL;
        bool json = false;
        size_t n_args;
        int r, status = CTL_EXIT_OK;

        r = parse_options(c, argc, argv, &json, &d.sample_ms);
        if (r >= 0)
                return r;
        n_args = (size_t) (argc - optind);
        for (int i = optind; i < argc; i++)
                if (!*argv[i])
                        return ctl_usage_error("doctor", "an empty PID or NAME matches no process");
        matched = calloc(n_args + 1, sizeof(bool));
        if (!matched)
                return ctl_fail(-ENOMEM, "Out of memory");
        if (collect_host(c, &d) < 0)
                return CTL_EXIT_FAILURE;
        r = collect_procs(c, &d, argv + optind, n_args, matched);
        if (r < 0) {
                char path[4096];

                doctor_free(&d);
                return ctl_fail(r, "Cannot list %s: %m", ctl_path(c, "proc", path, sizeof(path)));
        }
        sample_volatility(c, &d);
        for (size_t i = 0; i < d.n; i++) {
                d.t[i].facts.has_smaps = d.t[i].facts.has_smaps && d.t[i].error == 0;
                d.t[i].facts.pages_volatile = d.host.ksm.pages_volatile;
                d.t[i].facts.page_size_bytes = d.page_size_bytes;
                doctor_proc(&d.t[i].facts, &d.t[i].findings);
        }
        for (size_t i = 0; i < n_args; i++)
                if (!matched[i]) {
                        if (is_kernel_thread_arg(c, argv[optind + i]))
                                ctl_msg(0, "'%s' is a kernel thread: KSM merges the memory of user processes only",
                                        argv[optind + i]);
                        else
                                ctl_msg(0, "No process matches '%s' (a pid, a process name or a qemu guest name; "
                                        "kernel threads are left out)", argv[optind + i]);
                        status = CTL_EXIT_FAILURE;
                }
        if (json)
                print_json(&d);
        else
                print_text(&d);
        doctor_free(&d);
        if (fflush(stdout) != 0)
                return ctl_fail(errno, "Cannot write the findings: %m");
        return status;
}
