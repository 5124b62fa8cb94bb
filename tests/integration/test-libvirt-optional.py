#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt stays optional: with KSM_LIBVIRT_URI empty the daemon neither
loads libvirt nor connects; a build without libvirt says once that the key
is ignored; an unreachable libvirt costs one log line and no raw stderr.
Needs no libvirtd."""
import os
import re
import signal
import time

from ksmtest import KSMTUNED, Daemon, check, log, main, run, write_config
from libvirtd import daemon_has_libvirt, maps_contain, raw_lines, vm_rss_kib

BUILT_IN = daemon_has_libvirt()
# Sanitizer builds link libvirt up front (see configure.ac): what is mapped
# then says nothing about when it is loaded.
LINKED = "libvirt.so" in run("ldd", KSMTUNED).stdout


def loaded_lazily(pid):
    """Whether libvirt is mapped, or None in a build that links it."""
    return None if LINKED else maps_contain(pid, "libvirt.so")
# A libvirt URI whose socket cannot exist: connecting fails at once.
UNREACHABLE = "test+unix:///default?socket=/nonexistent/ksmtuned-test-sock"


def start(tmp, uri, name="ksmtuned.conf"):
    conf = write_config(os.path.join(tmp, name), KSM_MONITOR_INTERVAL=3600, KSM_LIBVIRT_URI=f'"{uri}"')
    return Daemon(tmp, conf, ["--debug", "--dry-run"]), conf


def test_empty_uri_loads_nothing(tmp):
    d, _ = start(tmp, "")
    with d:
        d.wait_log(r"^<7>Tick 1:")
        rss = vm_rss_kib(d.proc.pid)
        log(f"VmRSS after the first tick, KSM_LIBVIRT_URI empty ({'with' if BUILT_IN else 'without'} libvirt): {rss} KiB")
        if LINKED:
            log("libvirt is linked into this (sanitizer) build: not checking what is mapped")
        else:
            check(not maps_contain(d.proc.pid, "libvirt.so"), "libvirt not mapped when KSM_LIBVIRT_URI is empty")
            # The whole dependency tree stays out too.
            for lib in ("libglib-2.0.so", "libgnutls.so", "libxml2.so"):
                check(not maps_contain(d.proc.pid, lib), f"{lib} not mapped when KSM_LIBVIRT_URI is empty")
        d.mark()
        d.signal(signal.SIGUSR1)
        d.wait_log(r"^<7>Tick 2:")
        d.stop()
        text = d.log_text()
        check("libvirt" not in text.replace("KSM_LIBVIRT_URI is empty: not connecting to libvirt", ""),
              "nothing about libvirt logged", None, [l for l in text.splitlines() if "libvirt" in l])


def test_set_uri(tmp):
    d, conf = start(tmp, UNREACHABLE)
    with d:
        if BUILT_IN:
            d.wait_log(r"^<5>Cannot connect to libvirt at test\+unix:///default\?socket=/nonexistent/ksmtuned-test-sock "
                       r"\(.*\); retrying in the background")
        else:
            d.wait_log(r'^<5>KSM_LIBVIRT_URI="test\+unix:///default\?socket=/nonexistent/ksmtuned-test-sock" is ignored: '
                       r"this ksmtuned is built without libvirt support")
        d.wait_log(r"^<7>Tick 1:")
        rss = vm_rss_kib(d.proc.pid)
        log(f"VmRSS after the first tick, KSM_LIBVIRT_URI set ({'with' if BUILT_IN else 'without'} libvirt): {rss} KiB")
        check(loaded_lazily(d.proc.pid) in (BUILT_IN, None), "libvirt loaded only when built in and set", BUILT_IN,
              loaded_lazily(d.proc.pid))
        # Tuning goes on; a reload with the same list says nothing new.
        d.signal(signal.SIGUSR1)
        d.wait_log(r"^<7>Tick 2:")
        d.signal(signal.SIGHUP)
        d.wait_log(r"Reloaded")
        d.wait_log(r"^<7>Tick 3:")
        d.stop()
        text = d.log_text()
        loud = [l for l in text.splitlines() if re.match(r"<[0-5]>", l)]
        check(len(loud) == 1, "exactly one notice about libvirt", 1, loud)
        raw = raw_lines(text)
        check(not raw, "no raw libvirt output on stderr", [], raw)


def test_reload_enables_and_disables(tmp):
    if not BUILT_IN:
        log("built without libvirt: the key only logs a notice (test_set_uri)")
    d, conf = start(tmp, "")
    with d:
        d.wait_log(r"^<7>Tick 1:")
        check(loaded_lazily(d.proc.pid) in (False, None), "not loaded before the reload")
        write_config(conf, KSM_MONITOR_INTERVAL=3600, KSM_LIBVIRT_URI=f'"{UNREACHABLE}"')
        d.signal(signal.SIGHUP)
        d.wait_log(r"Reloaded")
        d.wait_log(r"^<5>(Cannot connect to libvirt at|KSM_LIBVIRT_URI=.* is ignored)")
        check(loaded_lazily(d.proc.pid) in (BUILT_IN, None), "loaded after the reload when built in")
        write_config(conf, KSM_MONITOR_INTERVAL=3600, KSM_LIBVIRT_URI='""')
        d.signal(signal.SIGHUP)
        d.wait_log(r"Reloaded")
        d.wait_log(r"^<7>Tick \d+:")
        if BUILT_IN:
            # Once disabled, no more reconnection attempts (they come every
            # 1, 2, 4 s while enabled).
            mark = d.mark()
            time.sleep(2.5)
            later = d.log_text()[mark:]
            check("unreachable" not in later, "no reconnection attempts after disabling", "", later)
        d.stop()


if __name__ == "__main__":
    main([test_empty_uri_loads_nothing, test_set_uri, test_reload_enables_and_disables])
