#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The adaptive policy on the real KSM: it engages for guest-like processes,
scans fast for a new guest, stops ksmd (idle, keeping merged pages) when
nothing is left to merge, looks again after KSM_TRICKLE_SECS, stops when
memory is plentiful, and gives the kernel's advisor back on exit. Behaviour, not speed: small guests, short passes."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ksmtest as kt  # noqa: E402


def saved():
    return int(kt.read_knob("pages_sharing")) + int(kt.read_knob("ksm_zero_pages"))


def test_adaptive_lifecycle(tmp):
    # KSM_THRES_COEF=99: "memory is short" on any host, so the policy engages.
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2,
                           KSM_THRES_COEF=99, KSM_BURST_SECS=1, KSM_TRICKLE_SECS=10, DEBUG=1)
    # It judges global savings: start with none left over from before.
    with kt.real_ksm(clean=True):
        has_advisor = os.path.exists(os.path.join(kt.KSM_DIR, "advisor_mode"))
        if has_advisor:
            kt.write_knob("advisor_mode", "scan-time")       # the admin's choice, to be given back
        with kt.FakeGuest(mib=96, shared=60, zero=10, seed=1) as a, \
                kt.Daemon(tmp, conf) as d:
            d.wait_log(r"burst: (guests changed|start)", timeout=15)
            kt.check(kt.read_knob("run") == "1", "run after the first burst", "1", kt.read_knob("run"))
            if has_advisor:
                kt.check(kt.read_knob("advisor_mode") == "none", "advisor while adaptive sets the rate",
                         "none", kt.read_knob("advisor_mode"))
            kt.check(kt.read_knob("use_zero_pages") == "1", "use_zero_pages", "1", kt.read_knob("use_zero_pages"))

            # One guest alone: its zero pages merge, then there is nothing
            # new to merge: ksmd stops, merged pages stay.
            idle = r"idle: (the planned passes (merged all they could|are done)|the last pass saved nothing new|" \
                   r"scanning saves nothing new); next look in \d+ s"
            d.wait_log(idle, timeout=60)
            # A batch larger than 100 pages is cut first: run=0 a tick later.
            kt.wait_for(lambda: kt.read_knob("run") == "0", 5, "run=0 while idle")
            kt.log(f"idle, saved {saved()} pages")

            # A second guest: a burst until merged.
            with kt.FakeGuest(mib=96, shared=60, zero=10, seed=2) as b:
                want = a.shared + a.zero + b.zero
                since = d.mark()
                d.wait_log(r"burst: guests changed", timeout=10)
                kt.check(kt.read_knob("run") == "1", "run in the burst", "1", kt.read_knob("run"))
                kt.wait_for(lambda: saved() >= 0.95 * want, 60, f"95 % of {want} attainable pages merged")
                # Passes shorter than a tick: the burst looks at the first
                # guest's long-unmatched pages, which smart_scan skips.
                kt.check("smart_scan=0" in d.log_text()[since:], "smart_scan off while bursting",
                         "smart_scan=0 in the log", None)
                kt.log(f"saved {saved()} of {want} pages")

                # Nothing left to merge: idle again, then a look after
                # KSM_TRICKLE_SECS, with smart_scan on.
                d.mark()
                d.wait_log(idle, timeout=60)
                merged = saved()
                kt.wait_for(lambda: kt.read_knob("run") == "0", 5, "run=0 while idle")
                d.mark()
                d.wait_log(r"look: a pass for memory that changed", timeout=20)
                kt.check(kt.read_knob("run") == "1", "run in a look", "1", kt.read_knob("run"))
                kt.check(kt.read_knob("smart_scan") == "1", "smart_scan in a look", "1", kt.read_knob("smart_scan"))
                kt.check(saved() >= 0.95 * merged, "merged pages kept while idle", f">= {0.95 * merged:.0f}", saved())

                # Plenty of memory (reload): stop, keep what is merged.
                kt.write_config(conf, KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2, KSM_THRES_COEF=1,
                                KSM_PSI_THRES=100, DEBUG=1)
                merged = saved()
                d.mark()
                d.signal(signal.SIGHUP)
                d.wait_log(r"stop: available without KSM's savings \d+ MiB >= threshold \d+ MiB", timeout=15)
                kt.check(kt.read_knob("run") == "0", "run when memory is plentiful", "0", kt.read_knob("run"))
                kt.check(saved() >= 0.95 * merged, "merged pages kept after stopping", f">= {0.95 * merged:.0f}", saved())

                d.stop()
                text = d.log_text()
                kt.check(not re.search(r"run=2", text), "never run=2", None, None)
                kt.check(kt.read_knob("smart_scan") == "1", "smart_scan on after exit", "1", kt.read_knob("smart_scan"))
                if has_advisor:
                    kt.check(kt.read_knob("advisor_mode") == "scan-time", "advisor given back on exit",
                             "scan-time", kt.read_knob("advisor_mode"))
                    kt.check("Restored the kernel's KSM advisor" in text, "advisor restore logged")


def test_twin_further_on(tmp):
    """A second guest of an OS image that so far ran alone merges with the
    first within its burst, wherever ksmd's list holds the two. A guest
    goes in right behind ksmd's cursor: here the first guest (A) sits
    behind 1.5 GiB of guests of another image, so the new one (B) may land
    before them, and A's pages then find B's in the unstable tree only when
    ksmd gets to A, far on in the pass that gives B's pages their second
    look. (A last pass that ended once KSM's counters stood still over a
    sixteenth of the memory left them unmerged until the next look, 10
    minutes here, in 2 of 5 runs: when the burst before had stopped ksmd
    in front of A.)"""
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2,
                           KSM_THRES_COEF=99, KSM_BURST_SECS=2, KSM_TRICKLE_SECS=600, DEBUG=1)
    idle = r"idle: [^\n]*next look in \d+ s"
    with kt.real_ksm(clean=True):
        # Registered in this order while ksmd is stopped at the head of its list.
        with kt.FakeGuest(mib=768, shared=60, seed=11, extra=["--image=2"]), \
                kt.FakeGuest(mib=768, shared=60, seed=12, extra=["--image=2"]), \
                kt.FakeGuest(mib=256, shared=90, seed=21, extra=["--image=1"]) as a, \
                kt.Daemon(tmp, conf) as d:
            d.wait_log(idle, timeout=120)
            kt.wait_for(lambda: kt.read_knob("run") == "0", 5, "run=0 while idle")
            base = saved()
            with kt.FakeGuest(mib=256, shared=90, seed=22, extra=["--image=1"]):
                since = d.mark()
                d.wait_log(r"burst: guests changed", timeout=10)
                d.wait_log(idle, timeout=120)
                want = base + a.shared
                got = saved()
                kt.log(f"the burst ended with {got} pages saved, {want} attainable")
                least = base + 0.95 * a.shared
                kt.check(got >= least, "the twins merged in the burst", f">= {least:.0f}",
                         f"{got}; {d.log_text()[since:][-3000:]}")


def test_guest_filling_slowly(tmp):
    """A guest that fills its memory over many ticks after it started (as
    real guests do while they boot) merges with its twin soon after it is
    filled. Here B starts 15 s after its arrival's burst went idle and
    fills 256 MiB over 16 s: 32 MiB a 2 s tick, never a growth step (64
    MiB) from one tick to the next, but the growth adds up from the last
    tick of the burst; and each pass that saw B's pages for the first time
    plans one more, their second look. (With growth counted from one tick
    to the next B's pages waited for the next look, 10 minutes here.)"""
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2,
                           KSM_THRES_COEF=99, KSM_BURST_SECS=2, KSM_TRICKLE_SECS=600, DEBUG=1)
    idle = r"idle: [^\n]*next look in \d+ s"
    with kt.real_ksm(clean=True):
        with kt.FakeGuest(mib=256, shared=90, seed=31, extra=["--image=3"]), kt.Daemon(tmp, conf) as d:
            d.wait_log(idle, timeout=120)
            kt.wait_for(lambda: kt.read_knob("run") == "0", 5, "run=0 while idle")
            base = saved()
            with kt.FakeGuest(mib=256, shared=90, seed=32, extra=["--image=3", "--fill-after-ms=15000", "--fill-ms=16000"],
                              wait=False) as b:
                since = d.mark()
                d.wait_log(r"burst: guests changed", timeout=10)
                d.wait_log(idle, timeout=60)
                d.wait_log(r"burst: guest memory grew", timeout=40)
                b.wait_ready()
                least = base + 0.95 * b.shared
                kt.log(f"B filled, {saved()} pages saved, {base + b.shared} attainable")
                kt.wait_for(lambda: saved() >= least, 60, f"{least:.0f} pages saved (B's twins merged)")
                d.wait_log(idle, timeout=60)
                kt.log(f"idle again with {saved()} pages saved; the passes:\n"
                       + "\n".join(re.findall(r"burst: [a-z ]+", d.log_text()[since:])[-12:]))


def test_compat_is_default(tmp):
    """An old configuration without KSM_POLICY keeps the classic decisions."""
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_THRES_COEF=99)
    p = kt.run(kt.KSMTUNED, "--once", "--dry-run", "--config", conf, check_status=0)
    kt.check(re.search(r"reason: (committed|free) ", p.stdout), "compat's reason", "committed/free ...", p.stdout)
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_POLICY="adaptive", KSM_THRES_COEF=1,
                           KSM_PSI_THRES=100)
    p = kt.run(kt.KSMTUNED, "--once", "--dry-run", "--config", conf, check_status=0)
    kt.check(re.search(r"reason: stop: ", p.stdout), "adaptive's reason", "stop: ...", p.stdout)


if __name__ == "__main__":
    kt.main([test_compat_is_default, test_adaptive_lifecycle, test_twin_further_on, test_guest_filling_slowly])
