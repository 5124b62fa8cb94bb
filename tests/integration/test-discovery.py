#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Guests found without libvirt: a process that becomes a guest (by name or
cgroup) or a guest that exits causes a retune within a second through the
kernel's process events; Proxmox VE's kvm and pid files, and cgroups, count
at each tick. Each test process is the test's own: other processes may carry
guest names, so only our pids are asserted on."""
import os
import re
import signal
import subprocess
import sys
import time

from ksmtest import SKIP, Daemon, FakeGuest, Skip, TestFailure, check, log, main, run, write_config

LONG = 3600     # KSM_MONITOR_INTERVAL: no tick by the timer during a test


def events_daemon(tmp, **keys):
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=LONG, KSM_PROC_EVENTS=1, **keys)
    d = Daemon(tmp, conf, ["--debug", "--dry-run", "--no-bus"])
    m = d.wait_log(r"(Watching process events|Guests are found at each tick only: .*)")
    if m.group(1).startswith("Guests are found"):
        d.stop()
        raise Skip(m.group(1))
    d.wait_log(r"Tick 1:")
    return d


STORM = "More than 128 process events in a second"
TICK = r"Tick (\d+): committed (\d+) KiB in (\d+) guest"


def retune_within(d, what, start, pid, pattern):
    """Wait for the line naming pid, then the next tick; both within a second
    of start. During an exec storm elsewhere on the machine the daemon stops
    reading process events for a few seconds, as it should: then a retune
    (SIGUSR1) is the tick, and the caller's checks of the scan still hold."""
    try:
        d.wait_log(pattern.format(pid=pid), timeout=3)
    except TestFailure:
        if STORM not in d.log_text():
            raise
        log(f"{what}: an exec storm on the machine stopped process events; retuning by SIGUSR1")
        d.signal(signal.SIGUSR1)
        return d.wait_log(TICK, timeout=3)
    m = d.wait_log(TICK, timeout=3)
    took = time.monotonic() - start
    check(took < 1.0, f"{what}: a retune within a second", "< 1.0 s", f"{took:.2f} s")
    return m


def test_exec_and_exit_retune(tmp):
    """A guest-named process started by hand (no libvirt) and its exit each
    retune within a second, with a one-hour interval."""
    with events_daemon(tmp) as d:
        t0 = time.monotonic()
        with FakeGuest(mib=8, name=f"qemu:disc{os.getpid() % 100000}") as g:
            retune_within(d, "a new guest", t0, g.pid, r"Process {pid} is a guest: retuning")
            t1 = time.monotonic()
            g.stop()
            retune_within(d, "a guest that exits", t1, g.pid, r"Guest process {pid} exited: retuning")
        # Processes that are not guests cause no check that says they are.
        mark = d.mark()
        pids = [subprocess.Popen(["sleep", "0.05"]).pid for _ in range(20)]
        time.sleep(1.0)
        text = d.log_text()[mark:]
        named = [p for p in pids if re.search(rf"Process {p} is a guest", text)]
        check(not named, "plain processes are not taken for guests", [], named)
        d.stop()


def test_kvm_and_pidfile_counted(tmp):
    """Proxmox VE: a process named kvm counts, and so does a process of
    another name whose pid is in a pid file of KSM_GUEST_PIDFILES."""
    pidfiles = os.path.join(tmp, "qemu-server")
    os.makedirs(pidfiles)
    with FakeGuest(mib=16, name="kvm") as kvm, FakeGuest(mib=16, name=f"vmr{os.getpid() % 100000}") as other:
        with open(os.path.join(pidfiles, "100.pid"), "w") as f:
            f.write(f"{other.pid}\n")
        with open(os.path.join(pidfiles, "101.pid"), "w") as f:
            f.write(f"{kvm.pid}\n")     # found by name and by pid file: once
        conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_GUEST_PIDFILES=f"{pidfiles}/*.pid")
        p = run(os.environ.get("KSMTUNED", "ksmtuned"), "--once", "--dry-run", "--debug", "--no-bus",
                "--config", conf, check_status=0)
        out = p.stdout + p.stderr
        for g, name in ((kvm, "kvm"), (other, f"vmr{os.getpid() % 100000}")):
            lines = re.findall(rf"Guest pid {g.pid} \({re.escape(name)}\): (\d+) KiB", out)
            check(len(lines) == 1, f"{name} counted once", 1, len(lines))
            check(int(lines[0]) >= 16 * 1024, f"{name}'s RSS", ">= 16384 KiB", lines[0])

        # A pid file older than its process (a reused pid) is stale.
        os.utime(os.path.join(pidfiles, "100.pid"), (time.time() - 3600, time.time() - 3600))
        p = run(os.environ.get("KSMTUNED", "ksmtuned"), "--once", "--dry-run", "--debug", "--no-bus",
                "--config", conf, check_status=0)
        check(f"Guest pid {other.pid} " not in p.stdout + p.stderr, "a stale pid file is ignored",
              got=p.stdout + p.stderr)


def cgroup2_root():
    """The writable cgroup2 mount under /sys/fs/cgroup: the whole of it, or
    its "unified" part on a hybrid host."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split()[1] for line in f if line.split()[2] == "cgroup2"]
    for path in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if path in mounts:
            if not os.access(path, os.W_OK):
                raise Skip(f"{path} (cgroup2) is not writable")
            return path
    raise Skip("no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified")


class Cgroup:
    """A cgroup made by the test, removed (with its processes killed) on exit."""

    def __init__(self, root, name):
        self.path = os.path.join(root, name)
        os.mkdir(self.path)
        self.procs = []

    def spawn(self, *argv):
        """Start argv inside the cgroup: the shell moves itself in, then execs."""
        p = subprocess.Popen(["sh", "-c", f'echo $$ > "{self.path}/cgroup.procs" && exec "$@"', "sh", *argv])
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(self.path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def test_cgroup_guest(tmp):
    """A process that moves into a cgroup named in KSM_GUEST_CGROUPS and execs
    is a guest whatever its name: found through process events within a
    second, and counted by the scan."""
    root = cgroup2_root()
    name = f"ksmtuned-test-{os.getpid()}"
    with Cgroup(root, name) as cg, events_daemon(tmp, KSM_GUEST_CGROUPS=f"'machine.slice {name}'") as d:
        t0 = time.monotonic()
        p = cg.spawn("sleep", "30")
        retune_within(d, "a process in a guest cgroup", t0, p.pid, r"Process {pid} is a guest: retuning")
        d.wait_log(rf"Guest pid {p.pid} \(sleep\): \d+ KiB", after=0)
        d.stop()


def test_storm(tmp):
    """An exec storm (more process events in a second than the budget): the
    daemon stops following them for a few seconds, not until its next tick
    an hour away; it says so once while storms follow each other; a guest
    started during a pause is found by the scan at its end, and a retune
    follows without a signal."""
    with events_daemon(tmp) as d:
        storm = subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"])
        try:
            pause = (r"More than \d+ process events in a second: following them again in (\d+) s, "
                     r"finding guests started meanwhile by a scan then")
            secs = int(d.wait_log("<6>" + pause, timeout=60).group(1))
            for _ in range(2):
                # The pause ends by itself; the storm goes on: not news.
                d.wait_log(r"Following process events again", timeout=secs + 30)
                d.wait_log("<7>" + pause, timeout=60)
            said = re.findall(r"<6>More than \d+ process events", d.log_text())
            check(len(said) == 1, "storms that follow each other are said once", 1, len(said))
            check(len(re.findall(TICK, d.log_text())) == 1, "no tick while no guest came", 1,
                  len(re.findall(TICK, d.log_text())))
            # Just paused: the guest starts while nobody listens.
            with FakeGuest(mib=8, name=f"qemu:storm{os.getpid() % 100000}") as g:
                time.sleep(0.5)
                check(f"Process {g.pid} is a guest" not in d.log_text(), "no event read during the pause",
                      got=d.log_text())
                d.wait_log(r"Guests came or went during the storm: retuning", timeout=secs + 30)
                d.wait_log(rf"Guest pid {g.pid} \(qemu:storm\d+\): \d+ KiB", timeout=30)
        finally:
            storm.kill()
            storm.wait()
        d.stop()


if os.geteuid() != 0:
    print("SKIP: needs root (process events and cgroups)")
    sys.exit(SKIP)
def test_events_off(tmp):
    """KSM_PROC_EVENTS=0: no subscription, a new guest waits for the tick;
    a reload that turns it on subscribes."""
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=LONG, KSM_PROC_EVENTS=0)
    with Daemon(tmp, conf, ["--debug", "--dry-run", "--no-bus"]) as d:
        d.wait_log(r"Tick 1:")
        check("Watching process events" not in d.log_text(), "not subscribed with KSM_PROC_EVENTS=0",
              got=d.log_text())
        with FakeGuest(mib=8, name=f"qemu:off{os.getpid() % 100000}") as g:
            time.sleep(1.0)
            check(f"Process {g.pid} is a guest" not in d.log_text(), "no event handled", got=d.log_text())
        write_config(conf, KSM_MONITOR_INTERVAL=LONG, KSM_PROC_EVENTS=1)
        d.signal(signal.SIGHUP)
        m = d.wait_log(r"(Watching process events|Guests are found at each tick only: .*)")
        check(m.group(1) == "Watching process events", "subscribed after the reload", got=m.group(1))
        d.stop()


main([test_exec_and_exit_retune, test_kvm_and_pidfile_counted, test_cgroup_guest, test_storm, test_events_off])
