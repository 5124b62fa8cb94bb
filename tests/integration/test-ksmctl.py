#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmctl against fixture roots (--root): usage and exit statuses, the exact
writes of start/stop (old ksmctl compatible, KSM_MAX_KERNEL_PAGES), the
unmerge guard, and status in text and JSON."""
import json
import os
import re

from ksmtest import NO_BUS, check, expect_status, main, run_ksmctl

PAGE = os.sysconf("SC_PAGE_SIZE")


def format_bytes(b):
    """units.c's format_bytes()."""
    suffix = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    i, s = 0, b
    while s >= 1024 and i < 6:
        s //= 1024
        i += 1
    if i == 0:
        return f"{b} B"
    div = 1 << (10 * i)
    return f"{b // div}.{(b % div) * 10 // div} {suffix[i]}"


class Root:
    """A fixture root: sys/kernel/mm/ksm, proc/meminfo, proc/PID/*, etc/."""

    def __init__(self, tmp, name="root", mem_total_kib=4194304, mem_available_kib=3145728, **knobs):
        self.path = os.path.join(tmp, name)
        self.ksm = os.path.join(self.path, "sys/kernel/mm/ksm")
        os.makedirs(self.ksm)
        os.makedirs(os.path.join(self.path, "proc"))
        values = dict(run=0, pages_to_scan=100, sleep_millisecs=20, pages_shared=0, pages_sharing=0,
                      pages_unshared=0, pages_volatile=0, full_scans=0)
        values.update(knobs)
        for k, v in values.items():
            self.put(k, v)
        self.meminfo(mem_total_kib, mem_available_kib)

    def put(self, name, value):
        with open(os.path.join(self.ksm, name), "w") as f:
            f.write(f"{value}\n")

    def raw(self, name):
        with open(os.path.join(self.ksm, name)) as f:
            return f.read()

    def meminfo(self, total, available, with_available=True):
        with open(os.path.join(self.path, "proc/meminfo"), "w") as f:
            f.write(f"MemTotal: {total} kB\nMemFree: {available // 2} kB\n")
            if with_available:
                f.write(f"MemAvailable: {available} kB\n")
            f.write(f"Buffers: {available // 4} kB\nCached: {available - available // 2 - available // 4} kB\n")

    def etc(self, rel, text):
        path = os.path.join(self.path, "etc", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def proc(self, pid, comm, cmdline, ksm_stat):
        d = os.path.join(self.path, "proc", str(pid))
        os.makedirs(d)
        with open(os.path.join(d, "comm"), "wb") as f:
            f.write(comm + b"\n")
        with open(os.path.join(d, "cmdline"), "wb") as f:
            f.write(b"\0".join(cmdline) + b"\0")
        if ksm_stat is not None:
            with open(os.path.join(d, "ksm_stat"), "w") as f:
                f.write(ksm_stat)

    def snapshot(self):
        return {n: self.raw(n) for n in sorted(os.listdir(self.ksm))}


def ksmctl(*args, env=None, text=True):
    # Keep the daemon and the caller's KSM_MAX_KERNEL_PAGES out of fixture tests.
    return run_ksmctl(*args, env={"KSM_MAX_KERNEL_PAGES": None, "DBUS_SYSTEM_BUS_ADDRESS": NO_BUS, **(env or {})},
                      text=text)

def test_help_and_usage(tmp):
    p = ksmctl("--help")
    expect_status(p, 0, "--help")
    check(re.search(r"^  stop \[--unmerge \[--force\]\] +stop KSM", p.stdout, re.M), "--help shows verb options",
          got=p.stdout)
    for verb in ("start", "stop", "retune", "reload", "status"):
        check(re.search(rf"^  {verb} ", p.stdout, re.M), f"--help lists {verb}", got=p.stdout)
        v = ksmctl(verb, "--help")
        expect_status(v, 0, f"{verb} --help")
        check(v.stdout.startswith(f"Usage: ksmctl [OPTION]... {verb}"), f"{verb} --help is about {verb}",
              got=v.stdout)
        check("Exit status: 0 on success, 1 on failure, 2 on a usage error." in v.stdout,
              f"{verb} --help documents exit statuses", got=v.stdout)
    check("Exit status: 0 on success, 1 on failure, 2 on a usage error." in p.stdout, "exit statuses documented")
    for flag in ("--unmerge", "--force"):
        check(flag in ksmctl("stop", "--help").stdout, f"stop --help documents {flag}")
    for flag in ("--json", "--top N"):
        check(flag in ksmctl("status", "--help").stdout, f"status --help documents {flag}")
    p = ksmctl("--version")
    expect_status(p, 0, "--version")
    check(re.match(r"ksmtuned \d+\.\d+", p.stdout), "--version prints the version", got=p.stdout)

    for args, what in ((), "no verb"), (("frobnicate",), "unknown verb"), (("status", "--top", "x"), "bad --top"), \
            (("stop", "--force"), "--force without --unmerge"), (("start", "extra"), "stray argument"), \
            (("status", "--bogus"), "unknown option"), (("--bogus",), "unknown global option"):
        p = ksmctl(*args)
        expect_status(p, 2, what)
        check("--help' for more information" in p.stderr, f"{what}: points at --help", got=p.stderr)


def test_missing_ksm(tmp):
    root = os.path.join(tmp, "empty")
    os.makedirs(root)
    for verb in ("start", "stop", "status"):
        p = ksmctl("--root", root, verb)
        expect_status(p, 1, f"{verb} without KSM")
        check(f"Cannot open {root}/sys/kernel/mm/ksm: No such file or directory (is this kernel built with "
              "CONFIG_KSM?)" in p.stderr, f"{verb}: says what is missing", got=p.stderr)


def test_start_stop_exact_writes(tmp):
    r = Root(tmp)
    before = r.snapshot()
    p = ksmctl("--root", r.path, "start")
    expect_status(p, 0, "start")
    check(p.stdout == "" and p.stderr == "", "start is silent, as the old ksmctl", "", p.stdout + p.stderr)
    check(r.snapshot() == dict(before, run="1\n"), "start wrote exactly run=1", dict(before, run="1\n"),
          r.snapshot())
    p = ksmctl("start", "--root", r.path)        # common options after the verb too
    expect_status(p, 0, "start again")
    p = ksmctl("--root", r.path, "stop")
    expect_status(p, 0, "stop")
    check(r.snapshot() == dict(before, run="0\n"), "stop wrote exactly run=0", dict(before, run="0\n"),
          r.snapshot())

    # KSM_MAX_KERNEL_PAGES on a kernel without max_kernel_pages: a notice, no file.
    p = ksmctl("--root", r.path, "start", env={"KSM_MAX_KERNEL_PAGES": "5000"})
    expect_status(p, 0, "start with KSM_MAX_KERNEL_PAGES, no max_kernel_pages")
    check("Notice: KSM_MAX_KERNEL_PAGES=5000 (from the environment) ignored: this kernel has no max_kernel_pages"
          in p.stderr, "the notice", got=p.stderr)
    check(r.snapshot() == dict(before, run="1\n"), "nothing but run written", dict(before, run="1\n"),
          r.snapshot())
    conf = r.etc("default/ksm", "# KSM settings\nKSM_MAX_KERNEL_PAGES=777\n")
    p = ksmctl("--root", r.path, "start")
    check(f"Notice: KSM_MAX_KERNEL_PAGES=777 (from {conf}:2) ignored" in p.stderr,
          "the notice names the file and line", got=p.stderr)


def test_start_max_kernel_pages(tmp):
    total_kib = 4194304
    half = total_kib // (PAGE // 1024) // 2
    cases = [
        # (what, files {rel: text}, env, expected max_kernel_pages, stderr pattern)
        ("default: half of RAM", {}, {}, half, None),
        ("Debian /etc/default/ksm", {"default/ksm": "KSM_MAX_KERNEL_PAGES=1234\n"}, {}, 1234, None),
        ("Fedora /etc/sysconfig/ksm", {"sysconfig/ksm": "# x\nKSM_MAX_KERNEL_PAGES=\"4321\"\n"}, {}, 4321, None),
        ("Debian's file wins", {"default/ksm": "KSM_MAX_KERNEL_PAGES=1\n",
                                "sysconfig/ksm": "KSM_MAX_KERNEL_PAGES=2\n"}, {}, 1, None),
        ("the environment wins, base 0 like strtoll", {"default/ksm": "KSM_MAX_KERNEL_PAGES=1\n"},
         {"KSM_MAX_KERNEL_PAGES": "0x10"}, 16, None),
        ("empty means unset", {"default/ksm": "KSM_MAX_KERNEL_PAGES=\n"}, {}, half, None),
        ("0 is unlimited", {"default/ksm": "KSM_MAX_KERNEL_PAGES=0\n"}, {}, 0, None),
        ("garbage: warning and the default", {"default/ksm": "KSM_MAX_KERNEL_PAGES=lots\n"}, {}, half,
         r"Warning: KSM_MAX_KERNEL_PAGES=lots \(from .*/etc/default/ksm:1\) is not a number of pages; "
         rf"using half of RAM, {half} pages"),
    ]
    for i, (what, files, env, want, err) in enumerate(cases):
        r = Root(tmp, name=f"root{i}", mem_total_kib=total_kib, max_kernel_pages=2048)
        for rel, text in files.items():
            r.etc(rel, text)
        before = r.snapshot()
        p = ksmctl("--root", r.path, "start", env=env)
        expect_status(p, 0, what)
        want_files = dict(before, run="1\n", max_kernel_pages=f"{want}\n")
        check(r.snapshot() == want_files, f"{what}: exactly max_kernel_pages and run written", want_files,
              r.snapshot())
        if err:
            check(re.search(err, p.stderr), f"{what}: message", err, p.stderr)
        else:
            check(p.stderr == "", f"{what}: silent", "", p.stderr)
        p = ksmctl("--root", r.path, "stop")
        check(r.snapshot() == dict(want_files, run="0\n"), f"{what}: stop writes run=0 only")


def test_unmerge_guard(tmp):
    total, avail = 4194304, 307200             # 4 GiB, 300 MiB available
    sharing, zero = 100000, 1000
    r = Root(tmp, mem_total_kib=total, mem_available_kib=avail, run=1, pages_shared=400,
             pages_sharing=sharing, ksm_zero_pages=zero)
    before = r.snapshot()
    need = (sharing + zero) * PAGE
    margin = max(total * 1024 * 5 // 100, 64 << 20)
    missing = need + margin - avail * 1024
    p = ksmctl("--root", r.path, "stop", "--unmerge")
    expect_status(p, 1, "unmerge with memory short")
    want = (f"Refusing to unmerge: it allocates {format_bytes(need)} ({sharing} pages_sharing + {zero} "
            f"ksm_zero_pages) and needs {format_bytes(margin)} spare besides, but only "
            f"{format_bytes(avail * 1024)} is available: {format_bytes(missing)} missing. Free memory first, "
            "or use --force.")
    check(want in p.stderr, "the refusal says how much is missing", want, p.stderr)
    check(r.snapshot() == before, "run was NOT written", before, r.snapshot())

    p = ksmctl("--root", r.path, "stop", "--unmerge", "--force")
    expect_status(p, 0, "unmerge --force")
    check(f"Warning: unmerging anyway (--force) with {format_bytes(missing)} missing" in p.stderr,
          "--force warns", got=p.stderr)
    check(r.snapshot() == dict(before, run="2\n"), "--force writes run=2")

    # Enough memory: exactly the margin over what unmerging allocates.
    r2 = Root(tmp, name="enough", mem_total_kib=total, mem_available_kib=(need + margin + 1023) // 1024, run=1,
              pages_sharing=sharing, ksm_zero_pages=zero)
    before = r2.snapshot()
    p = ksmctl("--root", r2.path, "stop", "--unmerge")
    expect_status(p, 0, "unmerge with enough memory")
    check(p.stdout.startswith(f"Unmerging {format_bytes(need)} ({sharing} pages_sharing + {zero} ksm_zero_pages)"),
          "says what it unmerges", got=p.stdout)
    check(r2.snapshot() == dict(before, run="2\n"), "run=2 written", dict(before, run="2\n"), r2.snapshot())

    # A kernel before 3.14: no MemAvailable, free + buffers + cached instead.
    r3 = Root(tmp, name="old", mem_total_kib=total, run=1, pages_sharing=sharing)
    r3.meminfo(total, 2097152, with_available=False)
    p = ksmctl("--root", r3.path, "stop", "--unmerge")
    expect_status(p, 0, "unmerge without MemAvailable")
    check(r3.raw("run") == "2\n", "run=2 written")


def test_status_fixture(tmp):
    r = Root(tmp, run=1, pages_to_scan=1000, sleep_millisecs=10, pages_shared=40, pages_sharing=10000,
             full_scans=7, ksm_zero_pages=50, general_profit=-12345, advisor_mode="[none] scan-time",
             smart_scan=1, use_zero_pages=0, pages_unshared=30000, pages_volatile=5, merge_across_nodes=0)
    stat = "ksm_rmap_items {r}\nksm_zero_pages {z}\nksm_merging_pages {m}\nksm_process_profit {p}\n" \
           "ksm_merge_any: no\nksm_mergeable: yes\n"
    r.proc(100, b"qemu-system-x86", [b"/usr/bin/qemu-system-x86_64", b"-name", b"guest=vm-a,debug-threads=on"],
           stat.format(r=1100, z=0, m=1000, p=4000000))
    r.proc(200, b"qemu-kvm", [b"qemu-kvm", b"-m", b"512", b"-name", b"vm,,b"], stat.format(r=6000, z=0, m=5000, p=1))
    weird = b'we"i\\rd\x01\xe9'
    r.proc(300, weird, [b"x"], stat.format(r=20, z=5, m=10, p=-64))
    r.proc(400, b"idle", [b"idle"], stat.format(r=100, z=0, m=0, p=0))
    r.proc(500, b"kthread", [], None)
    # ksmd: 150 + 50 clock ticks of CPU (2 s at USER_HZ 100) over 1000 s up.
    r.proc(2, b"ksmd", [], None)
    with open(os.path.join(r.path, "proc/2/stat"), "w") as f:
        f.write("2 (ksmd) S 0 0 0 0 -1 2129984 0 0 0 0 150 50 0 0 25 5 1 0 30 0 0 18446744073709551615\n")
    with open(os.path.join(r.path, "proc/uptime"), "w") as f:
        f.write("1000.00 1900.00\n")
    pidfile = os.path.join(tmp, "none.pid")

    p = ksmctl("--root", r.path, "status", "--json", "--pidfile", pidfile)
    expect_status(p, 0, "status --json")
    s = json.loads(p.stdout)
    want = {"run": 1, "ksm_running": True, "pages_to_scan": 1000, "sleep_ms": 10, "advisor_mode": "none",
            "smart_scan": 1, "use_zero_pages": 0, "max_kernel_pages": None, "page_size_bytes": PAGE,
            "pages_shared": 40, "pages_sharing": 10000, "ksm_zero_pages": 50, "full_scans": 7,
            "saved_bytes": 10050 * PAGE, "general_profit_bytes": -12345, "sharing_ratio": 250.0,
            "mem_total_kib": 4194304, "mem_available_kib": 3145728, "processes_saving": 3,
            "processes_complete": True, "merge_across_nodes": 0, "pages_unshared": 30000, "pages_volatile": 5,
            "ksmd_cpu_usec": 2000000}
    got = {k: s.get(k) for k in want}
    check(got == want, "status --json fields", want, got)
    check(s["daemon"]["running"] is False and s["daemon"]["bus"] is False and s["daemon"]["pid"] is None,
          "no daemon", got=s["daemon"])
    procs = [(x["pid"], x["name"], x["merging_pages"], x["saved_bytes"]) for x in s["processes"]]
    want_procs = [(200, "vm,b", 5000, 5000 * PAGE), (100, "vm-a", 1000, 1000 * PAGE),
                  (300, 'we"i\\rd\x01\u00e9', 10, 15 * PAGE)]
    check(procs == want_procs, "top processes, most saved first, guests by name", want_procs, procs)
    check(s["processes"][2]["comm"] == s["processes"][2]["name"] and s["processes"][2]["guest_name"] is None,
          "a non-qemu process keeps its comm", got=s["processes"][2])
    check(s["processes"][0]["comm"] == "qemu-kvm" and s["processes"][0]["profit_bytes"] == 1,
          "comm and profit kept", got=s["processes"][0])
    check(s["processes"][2]["profit_bytes"] == -64, "negative profit", got=s["processes"][2])
    check(b"\\u00e9" in p.stdout.encode() and b"\\u0001" in p.stdout.encode(), "bytes escaped in the JSON text")

    p = ksmctl("--root", r.path, "status", "--json", "--top", "1", "--pidfile", pidfile)
    s = json.loads(p.stdout)
    check([x["pid"] for x in s["processes"]] == [200] and s["processes_saving"] == 3, "--top 1",
          got=s["processes"])

    p = ksmctl("--root", r.path, "status", "--pidfile", pidfile, text=False)
    expect_status(p, 0, "status")
    out = p.stdout.decode("utf-8", "surrogateescape")
    for pattern in (r"^KSM: +running, 1000 pages every 10 ms \(run=1\)$",
                    r"^Knobs: +advisor_mode=none smart_scan=1 use_zero_pages=0 merge_across_nodes=0$",
                    r"^Unshared: +30000 pages_unshared, 5 pages_volatile; 3\.00 unshared per sharing page$",
                    r"^ksmd: +2\.00 s of CPU since boot, 0\.200% of a CPU on average$",
                    rf"^Saved: +{re.escape(format_bytes(10050 * PAGE))} \(10000 pages_sharing \+ 50 ksm_zero_pages "
                    rf"of {PAGE} bytes\), general_profit -12\.0 KiB$",
                    r"^Sharing: +10000 pages share 40 KSM pages, ratio 250\.0; 7 full scans$",
                    r"^Memory: +4\.0 GiB total, 3\.0 GiB available$",
                    r"^Daemon: +ksmtuned is not running",
                    r"^Top processes by KSM savings \(3 of 3\):",
                    r"^ +200  vm,b +\S+ \S+ +5000 +0 +1 B +no$",
                    r"^ +100  vm-a ",
                    r'^ +300  we"i\\rd\?\? +\S+ KiB +10 +5 +-64 B +no$'):
        check(re.search(pattern, out, re.M), f"status shows /{pattern}/", got=out)
    p = ksmctl("--root", r.path, "status", "--top", "0", "--pidfile", pidfile)
    check("Top processes" not in p.stdout, "--top 0 shows none", got=p.stdout)

    # ksmctl metrics on the same tree: the same processes, as labelled series.
    p = ksmctl("--root", r.path, "--pidfile", pidfile, "metrics", "--top", "2", text=False)
    expect_status(p, 0, "metrics")
    out = p.stdout.decode("utf-8", "surrogateescape")
    for line in (f'ksmtuned_guest_merged_bytes{{guest="vm,b",pid="200"}} {5000 * PAGE}',
                 f'ksmtuned_guest_merged_bytes{{guest="vm-a",pid="100"}} {1000 * PAGE}',
                 'ksmtuned_guest_profit_bytes{guest="vm-a",pid="100"} 4000000',
                 "ksmtuned_ksm_pages_unshared 30000", "ksmtuned_ksm_merge_across_nodes 0",
                 "ksmtuned_ksm_general_profit_bytes -12345", f"ksmtuned_saved_bytes {10050 * PAGE}",
                 "ksmtuned_ksmd_cpu_seconds_total 2", "ksmtuned_ksm_sleep_seconds 0.010",
                 "ksmtuned_memory_total_bytes 4294967296"):
        check(re.search(rf"^{re.escape(line)}$", out, re.M), f"metrics: {line}", got=out)
    check('pid="300"' not in out, "--top 2 bounds the guests", got=out)
    p = ksmctl("--root", r.path, "--pidfile", pidfile, "metrics", text=False)
    check('ksmtuned_guest_merged_bytes{guest="we\\"i\\\\rd??",pid="300"}' in
          p.stdout.decode("utf-8", "surrogateescape"), "a label value escaped, bad bytes replaced",
          got=p.stdout.decode("utf-8", "surrogateescape"))


def test_status_proxmox_names(tmp):
    """Proxmox VE guests (kvm, /var/run/qemu-server/VMID.pid) are named from
    the name: line of /etc/pve/qemu-server/VMID.conf, else from -name."""
    r = Root(tmp, run=1, pages_sharing=100)
    stat = "ksm_rmap_items 10\nksm_zero_pages 0\nksm_merging_pages {m}\nksm_process_profit 0\n"
    r.proc(600, b"kvm", [b"/usr/bin/kvm", b"-id", b"100", b"-name", b"from-cmdline,debug-threads=on"], stat.format(m=300))
    r.proc(700, b"kvm", [b"/usr/bin/kvm", b"-id", b"101", b"-name", b"vm101,debug-threads=on"], stat.format(m=200))
    r.proc(800, b"kvm", [b"/usr/bin/kvm", b"-id", b"102"], stat.format(m=100))
    os.makedirs(os.path.join(r.path, "var/run/qemu-server"))
    for vmid, pid in ((100, 600), (101, 700), (102, 800)):
        with open(os.path.join(r.path, f"var/run/qemu-server/{vmid}.pid"), "w") as f:
            f.write(f"{pid}\n")
    r.etc("pve/qemu-server/100.conf", "boot: order=scsi0\nname: web01 \nmemory: 4096\n\n[snap1]\nname: old\n")
    r.etc("pve/qemu-server/102.conf", "memory: 1024\n")      # no name: line
    p = ksmctl("--root", r.path, "status", "--json", "--pidfile", os.path.join(tmp, "none.pid"))
    expect_status(p, 0, "status --json")
    got = [(x["pid"], x["name"]) for x in json.loads(p.stdout)["processes"]]
    want = [(600, "web01"), (700, "vm101"), (800, "kvm")]
    check(got == want, "Proxmox guests named from their qemu-server configuration, else -name, else comm", want, got)


main([test_help_and_usage, test_missing_ksm, test_start_stop_exact_writes, test_start_max_kernel_pages,
      test_unmerge_guard, test_status_fixture, test_status_proxmox_names])
