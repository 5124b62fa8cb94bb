#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmtuned retunes on libvirt domain lifecycle events from a real libvirtd
(the shared test driver, test+unix:///default), coalesces bursts, and
survives libvirtd going away and coming back."""
import os
import re
import signal
import time

from ksmtest import Daemon, check, log, main, write_config
from libvirtd import TEST_URI, Libvirtd, raw_lines, require_libvirtd

TICK = re.compile(r"^<7>Tick (\d+):", re.M)


def config(tmp, uri=TEST_URI):
    # No timer ticks during the test: every tick comes from an event or a signal.
    return write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_LIBVIRT_URI=uri)


def start_daemon(tmp, uri=TEST_URI):
    return Daemon(tmp, config(tmp, uri), ["--debug", "--dry-run"])


def ticks_after(d, offset):
    return TICK.findall(d.log_text(), offset)


def wait_tick(d, after, timeout):
    """Seconds until a tick line appears after byte offset `after`; polled
    every 20 ms so that the measured latency means something."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        check(d.proc.poll() is None, "ksmtuned still running", None, d.proc.returncode)
        if ticks_after(d, after):
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"no tick within {timeout} s:\n{d.log_text()[after:][-2000:]}")


def check_no_raw_output(d):
    raw = raw_lines(d.log_text())
    check(not raw, "no output bypassing the logger (raw libvirt errors)", [], raw[:5])


def test_lifecycle_events_tick(tmp):
    with Libvirtd(tmp) as lv, start_daemon(tmp) as d:
        d.wait_log(r"Connected to libvirt at test\+unix:///default, watching domain events")
        d.wait_log(r"^<7>Tick 1:")
        lv.define_test_domains(tmp, ["d1"])
        d.wait_log(r"domain d1 defined")
        save = os.path.join(tmp, "d1.save")
        # (virsh command, event logged, whether it changes committed memory)
        steps = [
            ("start d1", r"started \(booted\)", True),
            ("suspend d1", r"suspended", False),
            ("resume d1", r"resumed", False),
            (f"save d1 {save}", r"stopped \(saved\)", True),
            (f"restore {save}", r"started \(restored\)", True),
            ("shutdown d1", r"stopped \(shutdown\)", True),
            ("start d1", r"started \(booted\)", True),
            ("destroy d1", r"stopped \(destroyed\)", True),
        ]
        for command, event, ticks in steps:
            mark = d.mark()
            lv.virsh(command)
            if ticks:
                latency = wait_tick(d, mark, 3)
                log(f"{command}: tick {latency * 1000:.0f} ms after virsh returned")
                check(latency <= 1.0, f"'{command}': tick within 1 s", "<= 1.0 s", f"{latency:.2f} s")
                d.wait_log(rf"domain d1 {event}", after=mark)
            else:
                d.wait_log(rf"domain d1 {event}", after=mark)
                # Longer than the coalescing window: a tick would have come.
                time.sleep(0.8)
                got = ticks_after(d, mark)
                check(not got, f"'{command}' does not change committed memory: no tick", [], got)
        d.stop()
        check_no_raw_output(d)


def test_burst_coalesces(tmp):
    names = [f"burst{i:02d}" for i in range(20)]
    with Libvirtd(tmp) as lv, start_daemon(tmp) as d:
        d.wait_log(r"Connected to libvirt at test\+unix:///default")
        d.wait_log(r"^<7>Tick 1:")
        lv.define_test_domains(tmp, names)
        d.wait_log(rf"domain {names[-1]} defined")
        mark = d.mark()
        t0 = time.monotonic()
        lv.virsh(*[f"start {n}" for n in names])
        log(f"20 starts took {(time.monotonic() - t0) * 1000:.0f} ms in virsh")
        d.wait_log(rf"domain {names[-1]} started", after=mark)
        time.sleep(1.5)
        text = d.log_text()[mark:]
        started = re.findall(r"domain (burst\d+) started", text)
        check(sorted(started) == names, "an event for each of the 20 starts", 20, len(started))
        n = len(TICK.findall(text))
        per_tick = [int(x) for x in re.findall(r"Retuning after (\d+) guest event\(s\)", text)]
        log(f"{n} tick(s) for 20 starts, events per tick {per_tick}")
        check(1 <= n <= 3, "20 starts coalesced into 1..3 ticks", "1..3", n)
        check(sum(per_tick) == 20, "every event accounted to a tick", 20, sum(per_tick))
        d.stop()


def test_libvirtd_restart(tmp):
    with Libvirtd(tmp) as lv, start_daemon(tmp) as d:
        d.wait_log(r"Connected to libvirt at test\+unix:///default")
        sources = d.wait_log(r"libvirt event sources in use: (\d+)").group(1)
        d.wait_log(r"^<7>Tick 1:")
        lost_at = d.mark()
        lv.stop()
        d.wait_log(r"^<4>Lost the connection to libvirt at test\+unix:///default \(libvirtd went away\)")

        # Tuning goes on without libvirt.
        mark = d.mark()
        d.signal(signal.SIGUSR1)
        wait_tick(d, mark, 3)
        time.sleep(2.5)         # a few failed reconnection attempts

        lv.start()
        d.wait_log(r"^<6>Connected to libvirt at test\+unix:///default", timeout=15)
        again = d.wait_log(r"libvirt event sources in use: (\d+)").group(1)
        log(f"libvirt event sources: {sources} before the restart, {again} after")
        check(again == sources, "libvirt's watches and timeouts of the lost connection released", sources, again)
        outage = d.log_text()[lost_at:d.offset]
        loud = [l for l in outage.splitlines() if re.match(r"<[0-5]>", l)]
        check(len(loud) == 1, "one warning for the whole outage", 1, loud)

        # Events are subscribed again. (The test driver forgot d1 with libvirtd.)
        lv.define_test_domains(tmp, ["after"])
        mark = d.mark()
        lv.virsh("start after")
        check(wait_tick(d, mark, 3) <= 1.0, "tick within 1 s of a start after the reconnection")
        d.wait_log(r"domain after started", after=mark)
        d.stop()
        check_no_raw_output(d)


def test_libvirtd_absent_at_start(tmp):
    with Libvirtd(tmp, start=False) as lv, start_daemon(tmp) as d:
        d.wait_log(r"^<5>Cannot connect to libvirt at test\+unix:///default \(.*\); retrying in the background")
        d.wait_log(r"^<7>Tick 1:")
        mark = d.mark()
        d.signal(signal.SIGUSR1)
        wait_tick(d, mark, 3)
        time.sleep(2)
        lv.start()
        d.wait_log(r"^<6>Connected to libvirt at test\+unix:///default", timeout=20)
        text = d.log_text()[:d.offset]
        loud = [l for l in text.splitlines() if re.match(r"<[0-5]>", l)]
        check(len(loud) == 1, "one notice while libvirtd is unreachable", 1, loud)
        lv.define_test_domains(tmp, ["late"])
        mark = d.mark()
        lv.virsh("start late")
        check(wait_tick(d, mark, 3) <= 1.0, "tick within 1 s of a start")
        d.stop()
        check_no_raw_output(d)


if __name__ == "__main__":
    require_libvirtd()
    main([test_lifecycle_events_tick, test_burst_coalesces, test_libvirtd_restart,
          test_libvirtd_absent_at_start])
