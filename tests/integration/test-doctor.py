#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmctl doctor diagnoses each condition on real processes made to show it,
on the real KSM: memory not marked mergeable, qemu's mem-merge=off, memfd
(MAP_SHARED) memory, transparent huge pages, hugetlbfs pages, pages that
change too fast, a process that KSM costs more than it saves, and the host's
run=0 with ksmtuned's last decision, no daemon, the kernel's advisor, page
sharing chains and merge_across_nodes; as text and --json."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ksmtest as kt  # noqa: E402
from ksmtest import check  # noqa: E402
from ksmbus import PrivateBus  # noqa: E402

# No daemon of another test may answer: no bus, and a pid file that does not exist.
ALONE = {"DBUS_SYSTEM_BUS_ADDRESS": kt.NO_BUS}


def doctor(tmp, *args, env=ALONE, status=0):
    p = kt.run_ksmctl("--pidfile", os.path.join(tmp, "no-such.pid"), "doctor", *args, env=env)
    kt.expect_status(p, status, f"ksmctl doctor {' '.join(args)}")
    return p


def doctor_json(tmp, *args, env=ALONE):
    p = doctor(tmp, "--json", *args, env=env)
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise kt.TestFailure(f"doctor --json printed no JSON ({e}): {p.stdout!r}")


def ids(findings):
    return {f["id"] for f in findings}


def proc_ids(report, pid):
    procs = [p for p in report["processes"] if p["pid"] == pid]
    check(len(procs) == 1, f"doctor reports pid {pid} once", 1, len(procs))
    return ids(procs[0]["findings"])


def guest(tmp, *extra, mib=64, **kw):
    return kt.FakeGuest(mib=mib, extra=list(extra), **kw)


def expect_line(text, pid, severity, words):
    lines = [ln for ln in text.splitlines() if ln.startswith(f"pid {pid} (") and f": {severity}: " in ln]
    check(any(words in ln for ln in lines), f"a {severity} line for pid {pid} saying '{words}'", words, text)


def test_process_conditions(tmp):
    """Each helper shows its condition in --json and in one text line; a
    process that merges shows as ok with no warning."""
    with kt.real_ksm(clean=True):
        kt.write_knob("pages_to_scan", 5000)
        kt.write_knob("sleep_millisecs", 10)
        with guest(tmp, "--no-madvise") as nomadv, \
                guest(tmp, "--no-madvise", "--", "-machine", "pc,mem-merge=off") as noshare, \
                guest(tmp, "--backing=memfd") as memfd, \
                guest(tmp, "--rewrite-ms=50", shared=0, volatile=100) as vol, \
                guest(tmp, shared=0) as unique, \
                guest(tmp, shared=100, seed=1) as a, guest(tmp, shared=100, seed=2) as b:
            kt.write_knob("run", 1)
            # One full pass covers every helper: rmap items exist, pairs merged.
            kt.wait_for(lambda: a.ksm_stat()["ksm_merging_pages"] >= a.pages // 2 and
                        unique.ksm_stat()["ksm_rmap_items"] >= unique.pages, 60, "KSM to merge and scan the helpers")
            pids = [nomadv.pid, noshare.pid, memfd.pid, vol.pid, unique.pid, a.pid]
            rep = doctor_json(tmp, *map(str, pids))
            want = {nomadv.pid: "not-mergeable", noshare.pid: "nosharepages", memfd.pid: "shared-mapping",
                    vol.pid: "volatile", unique.pid: "negative-profit", a.pid: "merging"}
            for pid, finding in want.items():
                got = proc_ids(rep, pid)
                check(finding in got, f"pid {pid}: finding {finding}", finding, got)
            check("not-mergeable" not in proc_ids(rep, noshare.pid),
                  "mem-merge=off is named as the cause instead of a plain not-mergeable", None, proc_ids(rep, noshare.pid))
            a_rep = [p for p in rep["processes"] if p["pid"] == a.pid][0]
            check(all(f["severity"] == "ok" for f in a_rep["findings"]), "a merging process has no warning",
                  "ok only", a_rep["findings"])
            vol_rep = [p for p in rep["processes"] if p["pid"] == vol.pid][0]
            check(vol_rep["changed_pages"] * 2 > vol_rep["sampled_pages"] > 0,
                  "most sampled pages of the volatile helper changed", "> half", vol_rep)
            text = doctor(tmp, *map(str, pids)).stdout
            expect_line(text, nomadv.pid, "warning", "not mergeable (no MADV_MERGEABLE")
            expect_line(text, noshare.pid, "warning", "mem-merge=off")
            expect_line(text, memfd.pid, "warning", "in shared mappings (memfd)")
            expect_line(text, vol.pid, "info", "changed within 1000 ms")
            expect_line(text, unique.pid, "warning", "KSM costs more than it saves")
            expect_line(text, a.pid, "ok", "MiB merged")


def test_thp(tmp):
    """Mergeable memory in transparent huge pages is named."""
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        if "[never]" in f.read():
            kt.log("skipped: transparent huge pages are disabled (never)")
            return
    with guest(tmp, "--backing=thp") as g:
        with open(f"/proc/{g.pid}/smaps_rollup") as f:
            huge = [int(ln.split()[1]) for ln in f if ln.startswith("AnonHugePages:")]
        if not huge or huge[0] < 16384:
            kt.log(f"skipped: the kernel gave no transparent huge pages (AnonHugePages {huge})")
            return
        check("thp" in proc_ids(doctor_json(tmp, "--sample-ms=0", str(g.pid)), g.pid), "finding thp")
        expect_line(doctor(tmp, "--sample-ms=0", str(g.pid)).stdout, g.pid, "info", "transparent huge pages")


def test_hugetlb(tmp):
    """hugetlbfs memory is named (needs 32 huge pages reserved for a moment)."""
    path = "/proc/sys/vm/nr_hugepages"
    with open(path) as f:
        saved = f.read().strip()
    try:
        with open(path, "w") as f:
            f.write(str(int(saved) + 32))
        with open("/proc/meminfo") as f:
            free = [int(ln.split()[1]) for ln in f if ln.startswith("HugePages_Free:")]
        if not free or free[0] < 32:
            kt.log(f"skipped: could not reserve 32 huge pages (HugePages_Free {free})")
            return
        with guest(tmp, "--backing=hugetlb", mib=32) as g:
            check("hugetlb" in proc_ids(doctor_json(tmp, "--sample-ms=0", str(g.pid)), g.pid), "finding hugetlb")
            expect_line(doctor(tmp, "--sample-ms=0", str(g.pid)).stdout, g.pid, "warning", "hugetlbfs pages")
    finally:
        with open(path, "w") as f:
            f.write(saved)


def test_host_conditions(tmp):
    """run=0 without a daemon, the advisor, chains of more than
    max_page_sharing sharers, merge_across_nodes."""
    with kt.real_ksm(clean=True):
        kt.write_knob("use_zero_pages", 0)
        kt.write_knob("max_page_sharing", 256)

        rep = doctor_json(tmp, "--sample-ms=0")
        host = ids(rep["host"]["findings"])
        for want in ("ksm-stopped", "no-daemon", "merge-across-nodes"):
            check(want in host, f"host finding {want}", want, host)
        check("page-sharing-chains" not in host, "no chains before anything is merged", None, host)
        # 16 MiB of zero pages: 4096 identical pages, 16 KSM pages of 256 sharers.
        with guest(tmp, shared=0, zero=100, mib=16):
            kt.write_knob("pages_to_scan", 5000)
            kt.write_knob("sleep_millisecs", 10)
            kt.write_knob("run", 1)
            kt.wait_for(lambda: int(kt.read_knob("stable_node_chains")) > 0, 60, "a stable node chain")
            if os.path.exists(os.path.join(kt.KSM_DIR, "advisor_mode")):
                kt.write_knob("advisor_mode", "scan-time")
            host = ids(doctor_json(tmp, "--sample-ms=0")["host"]["findings"])
            check("page-sharing-chains" in host, "host finding page-sharing-chains", "present", host)
            check("ksm-stopped" not in host, "no ksm-stopped while run=1", None, host)
            if os.path.exists(os.path.join(kt.KSM_DIR, "advisor_mode")):
                check("advisor-owns-rate" in host, "host finding advisor-owns-rate", "present", host)
                kt.write_knob("advisor_mode", "none")
            text = doctor(tmp, "--sample-ms=0").stdout
            check("host: info: " in text and "stable_node_chains=" in text, "the chains line", "present", text)


def test_daemon_reason(tmp):
    """run=0 with ksmtuned on the bus: its last decision is quoted."""
    conf = kt.write_config(os.path.join(tmp, "k.conf"), KSM_POLICY="compat", KSM_THRES_COEF=0,
                           KSM_THRES_CONST=0, KSM_MONITOR_INTERVAL=60, KSM_GUEST_REGEX="^no-guest-here$")
    with kt.real_ksm(), PrivateBus(tmp) as bus, kt.Daemon(tmp, conf, ["--debug"], env=bus.env) as d:
        kt.wait_for(lambda: bus.name_owned(), 10, "ksmtuned on the private bus")
        kt.wait_for(lambda: "ksmtuned's last decision" in doctor(tmp, "--sample-ms=0", env=bus.env).stdout, 20,
                    "doctor to quote ksmtuned's decision")
        rep = doctor_json(tmp, "--sample-ms=0", env=bus.env)
        stopped = [f for f in rep["host"]["findings"] if f["id"] == "ksm-stopped"]
        check(stopped and "ksmtuned's last decision: " in stopped[0]["text"], "the daemon's reason is quoted",
              "ksmtuned's last decision: ...", rep["host"]["findings"])
        check("no-daemon" not in ids(rep["host"]["findings"]), "no no-daemon finding with ksmtuned running")
        d.stop()


def test_no_ksm_and_selection(tmp):
    """A kernel without KSM (a root without sys/kernel/mm/ksm); names select
    processes, an unknown name fails naming it."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "proc"))
    p = kt.run_ksmctl("--root", root, "--pidfile", os.path.join(tmp, "none.pid"), "doctor", "--json", env=ALONE)
    kt.expect_status(p, 0, "doctor on a root without KSM")
    host = ids(json.loads(p.stdout)["host"]["findings"])
    check(host == {"no-ksm"}, "findings without KSM: that line only", {"no-ksm"}, host)
    with guest(tmp, "--no-madvise", name="ksmdoc-nomadv") as g:
        rep = doctor_json(tmp, "--sample-ms=0", "ksmdoc-nomadv")
        check([x["pid"] for x in rep["processes"]] == [g.pid], "selected by name", [g.pid],
              [x["pid"] for x in rep["processes"]])
    p = doctor(tmp, "--sample-ms=0", "ksmdoc-none", status=1)
    check("No process matches 'ksmdoc-none'" in p.stderr, "unknown name named", "No process matches", p.stderr)
    p = kt.run_ksmctl("doctor", "--sample-ms=x")
    kt.expect_status(p, 2, "a bad --sample-ms")
    # An empty argument is a usage error, not a match for every process whose
    # name could not be read.
    p = doctor(tmp, "--sample-ms=0", "", status=2)
    check("an empty PID or NAME" in p.stderr, "empty argument named", "an empty PID or NAME", p.stderr)
    kthread = kernel_thread_pid()
    if kthread is None:
        kt.log("no kernel thread visible in /proc: its case not checked")
        return
    p = doctor(tmp, "--json", "--sample-ms=0", str(kthread), status=1)
    check(f"'{kthread}' is a kernel thread" in p.stderr, "a kernel thread's pid is refused naming it",
          f"'{kthread}' is a kernel thread", p.stderr)
    check(json.loads(p.stdout)["processes"] == [], "no findings for a kernel thread", [], p.stdout)


def kernel_thread_pid():
    """A kernel thread's pid (PF_KTHREAD in /proc/PID/stat), or None."""
    for pid in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:
            return pid
    return None


if __name__ == "__main__":
    if os.geteuid() != 0 or not os.access(os.path.join(kt.KSM_DIR, "run"), os.W_OK):
        print("# needs root and a writable /sys/kernel/mm/ksm")
        sys.exit(kt.SKIP)
    kt.main([test_no_ksm_and_selection, test_thp, test_hugetlb, test_host_conditions, test_daemon_reason,
             test_process_conditions])
