#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmctl against this machine's real KSM: status shows what guest-like
processes save, stop --unmerge really unmerges, start/stop flip run."""
import json
import os
import re

from ksmtest import (NO_BUS, FakeGuest, check, expect_status, main, run_ksmctl, read_knob, real_ksm, wait_for,
                     write_knob)

PAGE = os.sysconf("SC_PAGE_SIZE")
NOBODY = 65534


def ksmctl(*args, user=None):
    return run_ksmctl(*args, user=user, env={"DBUS_SYSTEM_BUS_ADDRESS": NO_BUS}, timeout=120)

def merge_fast():
    """ksmd at full speed; the advisor (when present) must be off for pages_to_scan."""
    if os.path.exists("/sys/kernel/mm/ksm/advisor_mode"):
        write_knob("advisor_mode", "none")
    write_knob("pages_to_scan", 1000)
    write_knob("sleep_millisecs", 10)
    write_knob("run", 1)


def merged(guests, fraction=0.9):
    return all(g.ksm_stat()["ksm_merging_pages"] >= fraction * g.shared for g in guests)


def test_status_shows_guest_savings(tmp):
    pidfile = os.path.join(tmp, "none.pid")
    with real_ksm(), \
            FakeGuest(mib=32, seed=1, extra=("--", "-name", "guest=ksmctl-vm-a,debug-threads=on")) as a, \
            FakeGuest(mib=32, seed=2, extra=("--", "-name", "ksmctl-vm-b")) as b, \
            FakeGuest(mib=8, seed=5, name="ksmctl-any", extra=("--no-madvise", "--merge-any")) as c:
        merge_fast()
        wait_for(lambda: merged([a, b, c]), 30, "the fake guests to merge")

        p = ksmctl("status", "--json", "--top", "1000", "--pidfile", pidfile)
        expect_status(p, 0, "status --json")
        s = json.loads(p.stdout)
        check(s["run"] == 1 and s["pages_to_scan"] == 1000 and s["sleep_ms"] == 10, "knobs as set",
              {"run": 1, "pages_to_scan": 1000, "sleep_ms": 10},
              {k: s[k] for k in ("run", "pages_to_scan", "sleep_ms")})
        check(s["pages_sharing"] > 0 and s["saved_bytes"] >= s["pages_sharing"] * PAGE, "global savings",
              got={k: s[k] for k in ("pages_sharing", "saved_bytes")})
        check(s["page_size_bytes"] == PAGE, "page size from the system", PAGE, s["page_size_bytes"])
        check(s["daemon"]["running"] is False and s["daemon"]["last_reason"] is None,
              "no daemon (no bus, no pid file)", got=s["daemon"])
        procs = {x["pid"]: x for x in s["processes"]}
        for g, name in ((a, "ksmctl-vm-a"), (b, "ksmctl-vm-b")):
            check(g.pid in procs, f"fake guest {name} among the top processes", got=sorted(procs))
            x = procs[g.pid]
            stat = g.ksm_stat()
            check(x["name"] == name and x["guest_name"] == name and x["comm"] == "qemu-system-x86",
                  f"{name}: named by its -name", name, x)
            check(x["merging_pages"] > 0 and abs(x["merging_pages"] - stat["ksm_merging_pages"]) <= g.pages // 20,
                  f"{name}: merging_pages as ksm_stat says", stat["ksm_merging_pages"], x["merging_pages"])
            check(x["saved_bytes"] == (x["merging_pages"] + x["zero_pages"]) * PAGE, f"{name}: saved_bytes",
                  (x["merging_pages"] + x["zero_pages"]) * PAGE, x["saved_bytes"])
            check(x["mergeable"] is True, f"{name}: mergeable", True, x["mergeable"])

        # A process opted in as a whole (prctl here, KSM_MERGE_ANY_REGEX on a
        # patched kernel) is shown as such; madvise()d guests are not.
        check(c.pid in procs and procs[c.pid]["merge_any"] is True, "merge-any process flagged", True,
              procs.get(c.pid))
        check(procs[a.pid]["merge_any"] is False, "madvise()d guest not merge-any", False, procs[a.pid]["merge_any"])

        p = ksmctl("status", "--pidfile", pidfile)
        expect_status(p, 0, "status")
        check(re.search(rf"^ +{c.pid}  ksmctl-any .* yes$", p.stdout, re.M), "MERGE-ANY column says yes",
              got=p.stdout)
        for g, name in ((a, "ksmctl-vm-a"), (b, "ksmctl-vm-b")):
            check(re.search(rf"^ +{g.pid}  {name} +\d+\.\d \S+ +\d+ ", p.stdout, re.M),
                  f"{name} in the text table", got=p.stdout)
        check(re.search(r"^KSM: +running, 1000 pages every 10 ms", p.stdout, re.M), "KSM line", got=p.stdout)
        check(re.search(r"^Sharing: +\d+ pages share \d+ KSM pages, ratio \d+\.\d", p.stdout, re.M),
              "sharing ratio", got=p.stdout)

        # Anyone may look; other users' processes are not readable.
        p = ksmctl("status", "--json", "--pidfile", pidfile, user=NOBODY)
        expect_status(p, 0, f"status as uid {NOBODY}")
        s = json.loads(p.stdout)
        check(s["processes_complete"] is False and a.pid not in [x["pid"] for x in s["processes"]],
              "root's processes hidden from others, and said so", got=s["processes"])
        check(s["pages_sharing"] > 0, "global counters readable by others")


def test_unmerge_really_unmerges(tmp):
    with real_ksm(), FakeGuest(mib=16, seed=3) as a, FakeGuest(mib=16, seed=4) as b:
        merge_fast()
        wait_for(lambda: merged([a, b]), 30, "the fake guests to merge")
        p = ksmctl("stop", "--unmerge")
        expect_status(p, 0, "stop --unmerge with plenty of memory")
        check(p.stdout.startswith("Unmerging "), "says it unmerges", got=p.stdout)
        check(read_knob("run") == "2", "run=2 written", "2", read_knob("run"))
        wait_for(lambda: read_knob("pages_sharing") == "0", 10, "pages_sharing to drop to 0")
        check(a.ksm_stat()["ksm_merging_pages"] == 0 and b.ksm_stat()["ksm_merging_pages"] == 0,
              "our guests are unmerged", got=(a.ksm_stat(), b.ksm_stat()))
        write_knob("run", 0)


def test_start_stop_real(tmp):
    with real_ksm():
        expect_status(ksmctl("start"), 0, "start")
        check(read_knob("run") == "1", "start sets run=1", "1", read_knob("run"))
        expect_status(ksmctl("stop"), 0, "stop")
        check(read_knob("run") == "0", "stop sets run=0", "0", read_knob("run"))
        p = ksmctl("start", user=NOBODY)
        expect_status(p, 1, f"start as uid {NOBODY}")
        check("Cannot write 1 to /sys/kernel/mm/ksm/run: Permission denied" in p.stderr, "says why", got=p.stderr)
        check(read_knob("run") == "0", "run untouched")


main([test_status_shows_guest_savings, test_unmerge_really_unmerges, test_start_stop_real])
