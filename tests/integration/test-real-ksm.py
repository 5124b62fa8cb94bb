#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon against this machine's real KSM with guest-like processes."""
import os
import signal
import time

from ksmtest import (Daemon, FakeGuest, check, log, main, meminfo_kib, read_knob, real_ksm, wait_for,
                     write_config)

def test_engages_merges_and_stops(tmp):
    total = meminfo_kib("MemTotal")
    want_sleep = max(10, 10 * 16777216 // total)
    conf = os.path.join(tmp, "ksmtuned.conf")
    # COEF 100: the threshold is all of RAM, so "committed + thres < total"
    # fails and free < thres boosts: KSM engages on any host.
    write_config(conf, KSM_MONITOR_INTERVAL=3, KSM_THRES_COEF=100)
    with real_ksm(), FakeGuest(mib=64, seed=1) as g1, FakeGuest(mib=64, seed=2) as g2:
        with Daemon(tmp, conf, ["--debug"]) as d:
            d.wait_log(r"Tick 1: committed \d+ KiB in \d+ guest")
            check(read_knob("run") == "1", "run after the first tick", "1", read_knob("run"))
            check(read_knob("pages_to_scan") == "300", "pages_to_scan boosted from 0", "300",
                  read_knob("pages_to_scan"))
            check(read_knob("sleep_millisecs") == str(want_sleep), "sleep_millisecs scaled to MemTotal",
                  str(want_sleep), read_knob("sleep_millisecs"))
            m = d.wait_log(r"Tick 1: committed (\d+) KiB in (\d+) guest", after=0)
            check(int(m.group(1)) >= 2 * 60 * 1024, "both fake guests' RSS committed", ">= 122880", m.group(1))

            # SIGUSR1: a tick now, well before the 3 s interval.
            t0 = time.monotonic()
            d.signal(signal.SIGUSR1)
            d.wait_log(r"Tick 2:", timeout=2)
            check(time.monotonic() - t0 < 1.5, "SIGUSR1 ticks at once")
            check(read_knob("pages_to_scan") == "600", "second boost", "600", read_knob("pages_to_scan"))
            # And the timer keeps ticking.
            d.wait_log(r"Tick 3:", timeout=6)

            # Real merging of our own guests' identical pages.
            want = 0.9 * (g1.shared + g2.shared)
            wait_for(lambda: g1.ksm_stat()["ksm_merging_pages"] + g2.ksm_stat()["ksm_merging_pages"] >= want,
                     30, f"{int(want)} merged pages in the fake guests")
            check(int(read_knob("pages_sharing")) > 0, "pages_sharing grew")

            # A broken config on SIGHUP: the daemon stays up on the old one.
            with open(conf, "a") as f:
                f.write("KSM_NPAGES_MIN=abc\n")
            with open(conf) as f:
                bad_line = len(f.readlines())
            d.signal(signal.SIGHUP)
            d.wait_log(rf"Reload failed, keeping the old configuration: .*:{bad_line}: KSM_NPAGES_MIN=abc")
            d.signal(signal.SIGUSR1)
            d.wait_log(r"Tick \d+:")
            check(read_knob("run") == "1", "still running on the old config")

            # Guests gone, default thresholds: plenty free, so KSM stops.
            g1.stop()
            g2.stop()
            write_config(conf, KSM_MONITOR_INTERVAL=3)
            d.signal(signal.SIGHUP)
            d.wait_log(r"Reloaded ")
            d.wait_log(r"Set run=0: .*: stop")
            check(read_knob("run") == "0", "run back to 0", "0", read_knob("run"))
            d.stop()
        log(f"pages_sharing at the end: {read_knob('pages_sharing')}")


def test_sigterm_leaves_ksm_as_it_is(tmp):
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=60, KSM_THRES_COEF=100)
    with real_ksm():
        with Daemon(tmp, conf, ["--debug"]) as d:
            d.wait_log(r"Tick 1:")
            before = {k: read_knob(k) for k in ("run", "pages_to_scan", "sleep_millisecs")}
            d.stop()
            after = {k: read_knob(k) for k in ("run", "pages_to_scan", "sleep_millisecs")}
            check(before == after and after["run"] == "1", "SIGTERM leaves KSM running as it was", before, after)
            check("Received Terminated, exiting" in d.log_text(), "exit logged", got=d.log_text())


main([test_engages_merges_and_stops, test_sigterm_leaves_ksm_as_it_is])
