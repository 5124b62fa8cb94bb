#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A real TCG guest started through qemu:///system under a process name the
guest regex does not match ("vmm-x86"): ksmtuned counts its memory because
libvirt says it runs, and only then. Slow (~15 s): libvirt probes the
emulator's capabilities first."""
import os
import re
import shutil
import signal
import sys

from ksmtest import KSMTUNED, SKIP, Daemon, check, log, main, run, wait_for, write_config
from libvirtd import QEMU_PID_DIR, QEMU_URI, Libvirtd, process_alive, read_pidfile, require_libvirtd, vm_rss_kib

QEMU = shutil.which("qemu-system-x86_64")
HOOK = os.path.join(os.environ.get("abs_top_builddir", os.path.join(os.path.dirname(__file__), "..", "..")),
                    "libvirt-hook-qemu")

GUEST_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>{emulator}</emulator>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def guest_lines(text, pid):
    """KiB of every 'Guest pid PID (...)' debug line in text."""
    return [int(kib) for kib in re.findall(rf"^<7>Guest pid {pid} \(\S+\): (\d+) KiB", text, re.M)]


def last_tick(text):
    m = list(re.finditer(r"^<7>Tick (\d+): committed (\d+) KiB in (\d+) guest\(s\)", text, re.M))
    check(m, "a tick line")
    return int(m[-1].group(2)), int(m[-1].group(3))


def once(tmp, uri):
    conf = write_config(os.path.join(tmp, "once.conf"), KSM_LIBVIRT_URI=f'"{uri}"')
    p = run(KSMTUNED, "--once", "--debug", "--dry-run", "--config", conf, check_status=0)
    return p.stderr


def test_guest_with_foreign_name_counted(tmp):
    name = f"ksmtuned-test-{os.getpid()}"
    # An emulator under a name the default pattern does not match (Proxmox VE's
    # "kvm" matches now), as on hosts where qemu is installed another way.
    emulator = os.path.join(tmp, "vmm-x86")
    os.symlink(QEMU, emulator)
    xml = os.path.join(tmp, "guest.xml")
    with open(xml, "w") as f:
        f.write(GUEST_XML.format(name=name, emulator=emulator))
    # And one the regex matches too (comm "qemu-system-x86"): counted once.
    name2 = name + "-both"
    xml2 = os.path.join(tmp, "guest2.xml")
    with open(xml2, "w") as f:
        f.write(GUEST_XML.format(name=name2, emulator=QEMU))
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_LIBVIRT_URI=QEMU_URI)
    # The shipped hook, called by libvirtd itself; libvirt gives hooks a clean
    # environment, so a wrapper points it at a fake ksmctl.
    hook_calls, ksmctl_calls = os.path.join(tmp, "hook-calls"), os.path.join(tmp, "ksmctl-calls")
    fake_ksmctl = os.path.join(tmp, "fake-ksmctl")
    with open(fake_ksmctl, "w") as f:
        f.write(f'#!/bin/sh\necho "$*" >> {ksmctl_calls}\n')
    os.chmod(fake_ksmctl, 0o755)
    hooks = {"qemu": f'#!/bin/sh\necho "$1 $2 $3" >> {hook_calls}\nKSMCTL={fake_ksmctl} exec {HOOK} "$@"\n'}

    with Libvirtd(tmp, hooks=hooks) as lv, Daemon(tmp, conf, ["--debug", "--dry-run"]) as d:
        d.wait_log(r"Connected to libvirt at qemu:///system, watching domain events", timeout=30)
        d.wait_log(r"^<7>Tick 1:")
        mark = d.mark()
        lv.create(xml, name)
        pid = read_pidfile(os.path.join(QEMU_PID_DIR, f"{name}.pid"))
        check(pid and process_alive(pid), "the guest's qemu runs", "a live pid", pid)
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        check(comm == "vmm-x86", "guest process name", "vmm-x86", comm)

        # The STARTED event ticks, and that tick already counts the guest.
        d.wait_log(rf"domain {name} started \(booted\)", after=mark)
        d.wait_log(rf"^<7>Guest pid {pid} \(vmm-x86\): \d+ KiB", after=mark, timeout=3)
        d.wait_log(r"^<7>Tick \d+:", timeout=3)

        lv.create(xml2, name2)
        pid2 = read_pidfile(os.path.join(QEMU_PID_DIR, f"{name2}.pid"))
        d.wait_log(rf"domain {name2} started", after=mark)

        # A tick on demand: what it counts matches the guest's VmRSS.
        mark = d.mark()
        rss_before = vm_rss_kib(pid)
        d.signal(signal.SIGUSR1)
        tick = d.wait_log(r"^<7>Tick \d+:.*$")
        rss_after = vm_rss_kib(pid)
        # Just that tick: the second guest's event may cause another soon after.
        text = d.log_text()[mark:tick.end()]
        counted = guest_lines(text, pid)
        committed, n_guests = last_tick(text)
        n_listed = len(re.findall(r"^<7>Guest pid \d+ ", text, re.M))
        log(f"guest VmRSS {rss_before}..{rss_after} KiB, counted {counted} KiB; tick: {committed} KiB in {n_guests} guest(s)")
        check(len(counted) == 1, "the guest counted once", 1, len(counted))
        check(0.9 * min(rss_before, rss_after) <= counted[0] <= 1.1 * max(rss_before, rss_after),
              "counted RSS is the guest's VmRSS", f"{rss_before}..{rss_after}", counted[0])
        check(committed >= counted[0], "committed memory includes the guest", f">= {counted[0]}", committed)
        check(n_guests == n_listed, "guest count matches the guests listed", n_listed, n_guests)
        check(len(guest_lines(text, pid2)) == 1, "a guest found both by name and through libvirt counted once",
              1, len(guest_lines(text, pid2)))

        # Found through libvirt only: a daemon without it does not see "vmm-x86".
        check(guest_lines(once(tmp, ""), pid) == [], "not found by name without libvirt")
        check(len(guest_lines(once(tmp, QEMU_URI), pid)) == 1, "found by --once through libvirt")

        # Stopping it ticks, and it is gone from the count.
        lv.virsh(f"destroy {name2}", uri=QEMU_URI)
        mark = d.mark()
        lv.virsh(f"destroy {name}", uri=QEMU_URI)
        d.wait_log(rf"domain {name} stopped \(destroyed\)", after=mark)
        d.wait_log(r"^<7>Tick \d+:", timeout=3)
        check(guest_lines(d.log_text()[mark:], pid) == [], "destroyed guest no longer counted")
        check(not process_alive(pid), "qemu gone after destroy")

        # libvirtd ran the hook for every operation of both guests; ksmctl
        # was called for started, stopped and release only.
        def lines(path):
            try:
                with open(path) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []
        want_ops = [(n, op) for n in (name, name2) for op in ("started", "stopped", "release")]
        wait_for(lambda: set(want_ops) <= {tuple(l.split()[:2]) for l in lines(hook_calls)}, 5,
                 "libvirtd to run the hook")
        wait_for(lambda: len(lines(ksmctl_calls)) == len(want_ops), 5, "ksmctl calls from the hook")
        log(f"hook calls: {lines(hook_calls)}")
        check(lines(ksmctl_calls) == ["retune"] * len(want_ops), "ksmctl retune per started/stopped/release",
              ["retune"] * len(want_ops), lines(ksmctl_calls))
        d.stop()


if __name__ == "__main__":
    if not QEMU:
        log("qemu-system-x86_64 not installed")
        sys.exit(SKIP)
    require_libvirtd()
    main([test_guest_with_foreign_name_counted])
