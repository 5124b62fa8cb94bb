#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The daemon against a fixture root (--root): a sequence of meminfo states,
checking every write, sd_notify messages, reloads and failing writes."""
import os
import signal
import socket

import ksmtest  # noqa: E402
from ksmtest import Daemon, FakeGuest, check, main, write_config

GIB = 1048576                  # KiB
TOTAL = 16 * GIB               # thres = 3355443 KiB, sleep = 10 ms
THRES = 3355443
NOMATCH = "^ksmtuned-no-such-guest$"   # committed memory stays 0


class Fixture:
    def __init__(self, tmp):
        self.root = os.path.join(tmp, "root")
        self.ksm = os.path.join(self.root, "sys/kernel/mm/ksm")
        os.makedirs(self.ksm)
        os.makedirs(os.path.join(self.root, "proc"))
        for name, value in dict(run=0, pages_to_scan=100, sleep_millisecs=20, pages_shared=0,
                                pages_sharing=0, pages_unshared=0, pages_volatile=0, full_scans=0).items():
            self.put(name, value)
        self.meminfo(free=10 * GIB)

    def put(self, name, value):
        with open(os.path.join(self.ksm, name), "w") as f:
            f.write(f"{value}\n")

    def get(self, name):
        with open(os.path.join(self.ksm, name)) as f:
            return f.read().strip()

    def knobs(self):
        return {k: self.get(k) for k in ("run", "pages_to_scan", "sleep_millisecs")}

    def meminfo(self, free, total=TOTAL, text=None):
        # Split "free" over MemFree/Buffers/Cached as the policy sums them.
        if text is None:
            text = (f"MemTotal: {total} kB\nMemFree: {free // 2} kB\nMemAvailable: {free} kB\n"
                    f"Buffers: {free // 4} kB\nCached: {free - free // 2 - free // 4} kB\n")
        tmp = os.path.join(self.root, "proc/meminfo.tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.root, "proc/meminfo"))


class Notify:
    """A bound datagram socket standing in for the service manager."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(10)

    def until(self, prefix):
        seen = []
        while True:
            msg = self.sock.recv(4096).decode()
            seen.append(msg)
            for line in msg.split("\n"):
                if line.startswith(prefix):
                    return line, seen


def tick(d):
    """SIGUSR1 and wait for that tick to finish (its debug line)."""
    d.mark()
    d.signal(signal.SIGUSR1)
    d.wait_log(r"Tick \d+: ")


def expect(fx, what, **want):
    got = fx.knobs()
    want = {k: str(v) for k, v in want.items()}
    check(all(got[k] == v for k, v in want.items()), what, want, got)


def test_sequence_of_states(tmp):
    fx = Fixture(tmp)
    notify = Notify(tmp)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_GUEST_REGEX=f"'{NOMATCH}'")
    with Daemon(tmp, conf, ["--root", fx.root, "--debug"], env={"NOTIFY_SOCKET": notify.path}) as d:
        # First tick at start: plenty free, no guests -> stop; run was 0: no writes.
        d.wait_log(r"Tick 1: committed 0 KiB in 0 guest\(s\), free 10485760 KiB, threshold 3355443 KiB")
        notify.until("READY=1")
        expect(fx, "start with plenty free: nothing written", run=0, pages_to_scan=100, sleep_millisecs=20)

        fx.meminfo(free=1000)
        tick(d)
        expect(fx, "low free: boost from 0", run=1, pages_to_scan=300, sleep_millisecs=10)
        line, _ = notify.until("STATUS=")
        check(line.startswith("STATUS=KSM running: 300 pages every 10 ms"), "STATUS after boost", got=line)
        d.wait_log(r"<6>Set pages_to_scan=300 sleep_millisecs=10 run=1: .*boost to 300 pages", after=0)

        tick(d)
        expect(fx, "still low: boost again", run=1, pages_to_scan=600, sleep_millisecs=10)

        fx.meminfo(free=THRES)
        tick(d)
        expect(fx, "free == threshold: keeps running and decays", run=1, pages_to_scan=550, sleep_millisecs=10)

        fx.meminfo(free=THRES + 1)
        tick(d)
        expect(fx, "free just above threshold: stop, only run written", run=0, pages_to_scan=550, sleep_millisecs=10)

        # Changed behind the daemon's back: corrected at the next tick.
        fx.put("pages_to_scan", 5)
        fx.put("sleep_millisecs", 999)
        fx.meminfo(free=1000)
        tick(d)
        expect(fx, "restart continues from npages 550 and corrects both knobs",
               run=1, pages_to_scan=850, sleep_millisecs=10)

        # Unchanged knobs are not rewritten: their mtime stays.
        sleep_path = os.path.join(fx.ksm, "sleep_millisecs")
        run_path = os.path.join(fx.ksm, "run")
        os.utime(sleep_path, (1000000000, 1000000000))
        os.utime(run_path, (1000000000, 1000000000))
        tick(d)
        expect(fx, "boost to 1150", run=1, pages_to_scan=1150)
        check(os.stat(sleep_path).st_mtime == 1000000000, "sleep_millisecs rewritten needlessly")
        check(os.stat(run_path).st_mtime == 1000000000, "run rewritten needlessly")

        tick(d)
        expect(fx, "boost clamps at KSM_NPAGES_MAX", run=1, pages_to_scan=1250)

        # Garbage /proc/meminfo: logged, KSM left alone, the daemon goes on.
        fx.meminfo(free=0, text="garbage\n")
        d.mark()
        d.signal(signal.SIGUSR1)
        d.wait_log(r"<3>Cannot read .*/proc/meminfo: Bad message")
        expect(fx, "garbage meminfo changes nothing", run=1, pages_to_scan=1250, sleep_millisecs=10)
        fx.meminfo(free=10 * GIB)
        tick(d)
        expect(fx, "recovers after garbage", run=0)
        d.stop()
    check("STOPPING=1" in "".join(notify.until("STOPPING=1")[1]), "STOPPING=1 sent")


def test_failing_write_logged_once(tmp):
    fx = Fixture(tmp)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_GUEST_REGEX=f"'{NOMATCH}'")
    # A knob that reads as a number but refuses writes, even from root: a
    # read-only sysctl.
    knob = os.path.join(fx.ksm, "pages_to_scan")
    os.unlink(knob)
    os.symlink("/proc/sys/kernel/ngroups_max", knob)
    fx.meminfo(free=1000)
    with Daemon(tmp, conf, ["--root", fx.root, "--debug"]) as d:
        d.wait_log(r"Tick 1:")
        expect(fx, "the other knobs are written", run=1, sleep_millisecs=10)
        tick(d)
        tick(d)
        text = d.log_text()
        n = text.count("Cannot write")
        check(n == 1, "failed write logged once over three ticks", 1, n)
        check("<4>Cannot write 900 to " in text or "<4>Cannot write 300 to " in text, "warning names value", got=text)
        check("/sys/kernel/mm/ksm/pages_to_scan: Permission denied" in text, "warning names path and errno", got=text)
        # Writable again: written, and a later failure would be logged anew.
        os.unlink(knob)
        fx.put("pages_to_scan", 100)
        tick(d)
        expect(fx, "written once writable", run=1, pages_to_scan=1200)
        d.stop()


def test_advisor_leaves_pages_to_scan(tmp):
    fx = Fixture(tmp)
    fx.put("advisor_mode", "none [scan-time]")
    fx.meminfo(free=1000)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_GUEST_REGEX=f"'{NOMATCH}'")
    with Daemon(tmp, conf, ["--root", fx.root, "--debug"]) as d:
        d.wait_log(r"Tick 1:")
        tick(d)
        expect(fx, "advisor on: pages_to_scan untouched", run=1, pages_to_scan=100, sleep_millisecs=10)
        n = d.log_text().count("advisor is on")
        check(n == 1, "advisor notice logged once", 1, n)
        d.stop()


def test_reload(tmp):
    fx = Fixture(tmp)
    notify = Notify(tmp)
    conf = os.path.join(tmp, "ksmtuned.conf")
    write_config(conf, KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=f"'{NOMATCH}'")
    fx.meminfo(free=5 * GIB)           # above 20 % of 16 GiB: stopped
    with Daemon(tmp, conf, ["--root", fx.root, "--debug"], env={"NOTIFY_SOCKET": notify.path}) as d:
        d.wait_log(r"Tick 1:")
        notify.until("READY=1")
        expect(fx, "stopped at 20 %", run=0)

        # A broken file: the old config stays, and the daemon says why.
        with open(conf, "a") as f:
            f.write("KSM_THRES_COEF=50\nKSM_NPAGES_MAX=abc\n")
        with open(conf) as f:
            bad_line = len(f.readlines())
        d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(rf"<3>Reload failed, keeping the old configuration: .*ksmtuned.conf:{bad_line}: KSM_NPAGES_MAX=abc: "
                   "not an integer")
        notify.until("RELOADING=1")
        notify.until("READY=1")
        tick(d)
        expect(fx, "old threshold still in force", run=0)

        # A good file: COEF 50 makes 5 GiB free "low": boost.
        write_config(conf, KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=f"'{NOMATCH}'", KSM_THRES_COEF=50)
        d.mark()
        d.signal(signal.SIGHUP)
        d.wait_log(r"Reloaded ")
        d.wait_log(r"Tick \d+:")
        expect(fx, "new threshold applied by the reload's tick", run=1, pages_to_scan=300)
        d.stop()


def test_dry_run_writes_nothing(tmp):
    fx = Fixture(tmp)
    fx.meminfo(free=1000)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_GUEST_REGEX=f"'{NOMATCH}'")
    with Daemon(tmp, conf, ["--root", fx.root, "--dry-run"]) as d:
        d.wait_log(r"<6>Would set \(dry run\) pages_to_scan=300 sleep_millisecs=10 run=1: ")
        expect(fx, "dry run", run=0, pages_to_scan=100, sleep_millisecs=20)
        d.stop()


def test_merge_any_opt_in(tmp):
    """KSM_MERGE_ANY_REGEX on a kernel without process_madvise(MADV_MERGE_ANY)
    (kernel-patches/ 0001): one notice, however many ticks, and the daemon
    keeps tuning. The opt-in itself needs the patched kernel: the qemu
    pipeline tests it (tests/kernel/guest/init, ksmtuned-merge-any-...)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(434, os.getpid(), 0)           # pidfd_open (same number on all but alpha and mips)
    on = libc.prctl(68, 0, 0, 0, 0)                      # PR_GET_MEMORY_MERGE
    r = libc.syscall(440, pidfd, None, 0, 26 if on == 1 else 27, 0)  # process_madvise, a no-op
    err = ctypes.get_errno()
    os.close(pidfd)
    if r == 0:
        print("SKIP: this kernel has process_madvise(MADV_MERGE_ANY); the qemu pipeline tests the opt-in")
        return
    check(err == 22, "kernel without the interface says EINVAL", 22, err)

    fx = Fixture(tmp)
    proc = os.path.join(fx.root, "proc")

    def add_process(pid):
        # The scan reads ROOT/proc: give the fixture the process's real stat
        # line (name, start time, RSS).
        os.makedirs(os.path.join(proc, str(pid)), exist_ok=True)
        with open(f"/proc/{pid}/stat") as src, open(os.path.join(proc, str(pid), "stat"), "w") as dst:
            dst.write(src.read())

    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_GUEST_REGEX=f"'{NOMATCH}'", KSM_MERGE_ANY_REGEX="'^ksm-victim$'")
    with FakeGuest(mib=4, name="ksm-victim", extra=["--no-madvise"]) as v1:
        add_process(v1.pid)
        with Daemon(tmp, conf, ["--root", fx.root, "--debug"]) as d:
            d.wait_log(r"Tick 1:")
            tick(d)
            tick(d)
            n = d.log_text().count("lacks process_madvise(MADV_MERGE_ANY)")
            check(n == 1, "missing kernel interface noted once", 1, n)
            check("Opted " not in d.log_text(), "nothing opted in", got=d.log_text())
            d.stop()


if os.geteuid() != 0:
    ksmtest.skip("root: ksmtuned writes KSM knobs, even under --root, only as root")
main([test_merge_any_opt_in, test_sequence_of_states, test_failing_write_logged_once, test_advisor_leaves_pages_to_scan,
      test_reload, test_dry_run_writes_nothing])
