#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Unattended reliability against a fixture root: nothing the daemon reads
or writes can block it (FIFOs, devices in place of files)."""
import os
import signal
import subprocess
import sys
import time

import json
import re

import ksmtest  # noqa: E402
from ksmtest import KSMTUNED, NO_BUS, Daemon, check, main, run_ksmctl, write_config

GIB = 1048576
NOMATCH = "'^ksmtuned-no-such-guest$'"


class Root:
    """A fixture root with KSM knobs and a meminfo at 16 GiB, 1000 KiB free."""

    def __init__(self, tmp):
        self.root = os.path.join(tmp, "root")
        self.ksm = os.path.join(self.root, "sys/kernel/mm/ksm")
        os.makedirs(os.path.join(self.root, "proc"))
        self.knobs()
        self.meminfo(free=1000)

    def knobs(self):
        os.makedirs(self.ksm)
        for name, value in dict(run=0, pages_to_scan=100, sleep_millisecs=20, pages_shared=0,
                                pages_sharing=0, pages_unshared=0, pages_volatile=0, full_scans=0).items():
            self.put(name, value)

    def put(self, name, value):
        with open(os.path.join(self.ksm, name), "w") as f:
            f.write(f"{value}\n")

    def get(self, name):
        with open(os.path.join(self.ksm, name)) as f:
            return f.read().strip()

    def meminfo(self, free, total=16 * GIB):
        with open(os.path.join(self.root, "proc/meminfo"), "w") as f:
            f.write(f"MemTotal: {total} kB\nMemFree: {free} kB\nMemAvailable: {free} kB\n"
                    f"Buffers: 0 kB\nCached: 0 kB\n")

    def process(self, pid, comm, **files):
        """A fake process: stat (with comm, started at boot) and other files."""
        d = os.path.join(self.root, "proc", str(pid))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "stat"), "wb") as f:
            f.write(f"{pid} (".encode() + comm + b") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 1000 0\n")
        with open(os.path.join(d, "comm"), "wb") as f:
            f.write(comm + b"\n")
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)

    def fifo(self, rel):
        path = os.path.join(self.root, rel)
        os.unlink(path)
        os.mkfifo(path)
        return path


def tick(d, pattern):
    d.mark()
    d.signal(signal.SIGUSR1)
    return d.wait_log(pattern)


def test_fifo_meminfo(tmp):
    r = Root(tmp)
    r.fifo("proc/meminfo")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"<3>Cannot read .*/proc/meminfo: not a regular file")
        check(r.get("run") == "0", "nothing written without meminfo", "0", r.get("run"))
        # The loop is alive: a regular file again, the next tick tunes.
        os.unlink(os.path.join(r.root, "proc/meminfo"))
        r.meminfo(free=1000)
        tick(d, r"Tick \d+: ")
        check(r.get("run") == "1", "tunes once meminfo is a file again", "1", r.get("run"))
        d.stop()


def test_fifo_knob(tmp):
    r = Root(tmp)
    r.fifo("sys/kernel/mm/ksm/pages_to_scan")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"pages_to_scan.*not a regular file|not a regular file.*pages_to_scan|"
                   r"Cannot read .*/sys/kernel/mm/ksm.*not a regular file")
        tick(d, r"Tick \d+: |Cannot read")
        d.stop()            # SIGTERM is honoured: the loop never blocked


def test_fifo_logfile(tmp):
    r = Root(tmp)
    fifo = os.path.join(tmp, "log.fifo")
    os.mkfifo(fifo)
    # With a reader that never reads, the old daemon opened it and then
    # blocked once the pipe was full; without one, its open() blocked.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH,
                        LOGFILE=fifo)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"<4>Cannot open LOGFILE .*log\.fifo, logging to stderr only: not a regular file")
        d.wait_log(r"Tick 1: ", after=0)
        check(r.get("run") == "1", "tunes with a FIFO as LOGFILE", "1", r.get("run"))
        d.stop()
    os.close(reader)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"<4>Cannot open LOGFILE .*log\.fifo, logging to stderr only: No such device or address")
        d.wait_log(r"Tick 1: ", after=0)
        d.stop()


def test_fifo_config(tmp):
    conf = os.path.join(tmp, "ksmtuned.conf")
    os.mkfifo(conf)
    try:
        p = subprocess.run([KSMTUNED, "--test-config", "--config", conf], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        check(False, "--test-config on a FIFO returns at once (it blocked)")
    check(p.returncode == 1, "--test-config on a FIFO fails", 1, p.returncode)
    check(f"{conf}: not a regular file" in p.stderr, "names the file and why", got=p.stderr)


# Run a command, then print its peak RSS (KiB) on stderr.
MAXRSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]).returncode; "
          "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r)")


def test_regex_bomb(tmp):
    """Each stacked '+' doubled regcomp's memory: refused before compiling."""
    for key in ("KSM_GUEST_REGEX", "KSM_MERGE_ANY_REGEX"):
        conf = write_config(os.path.join(tmp, "bomb.conf"), **{key: "'a" + "+" * 22 + "'"})
        p = subprocess.run([sys.executable, "-c", MAXRSS, KSMTUNED, "--test-config", "--config", conf],
                           capture_output=True, text=True, timeout=30)
        maxrss_kib = int(p.stderr.strip().splitlines()[-1])
        check(p.returncode == 1, f"{key} bomb refused", 1, p.returncode)
        check(f"{key}='a++++" in p.stderr and "too complex" in p.stderr, "names the key and why", got=p.stderr)
        check(maxrss_kib < 65536, "refused before compiling (max RSS in KiB)", "< 65536", maxrss_kib)
    conf = write_config(os.path.join(tmp, "ok.conf"), KSM_GUEST_REGEX="'(a?){1,81}'")
    p = subprocess.run([KSMTUNED, "--test-config", "--config", conf], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "a pattern at the limit is accepted", 0, p.returncode)


def test_bad_optional_counter(tmp):
    r = Root(tmp)
    r.put("pages_volatile", "garbage")
    r.put("general_profit", "")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Tick 1: ")
        check(r.get("run") == "1", "a garbage optional counter does not stop tuning", "1", r.get("run"))
        tick(d, r"Tick \d+: ")
        tick(d, r"Tick \d+: ")
        text = d.log_text()
        n = text.count("tuning without it")
        check(n == 1, "the skipped file is warned about once over three ticks", 1, n)
        check("<4>Cannot read " + r.ksm + "/pages_volatile, tuning without it: Invalid argument" in text,
              "the warning names the file", got=text)
        d.stop()


def test_bad_required_counter(tmp):
    r = Root(tmp)
    r.put("pages_sharing", "lots")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"<3>Cannot read .*/sys/kernel/mm/ksm/pages_sharing: Invalid argument")
        tick(d, r"<7>Cannot read .*/pages_sharing")
        tick(d, r"<7>Cannot read .*/pages_sharing")
        n = d.log_text().count("<3>Cannot read")
        check(n == 1, "an unreadable required file is an error once, then debug", 1, n)
        r.put("pages_sharing", 0)
        tick(d, r"Tick \d+: ")
        check("pages_sharing is readable again" in d.log_text(), "recovery is logged", got=d.log_text())
        check(r.get("run") == "1", "tunes once the file reads again", "1", r.get("run"))
        d.stop()


def test_forged_log_line(tmp):
    """A process named to forge a log line ("x\\n<3>..."): one line, '?' for the newline."""
    r = Root(tmp)
    r.process(200, b"evil\n<3>forged", status="Name:\tevil\nTgid:\t200\n")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600,
                        KSM_GUEST_REGEX="'^evil'")
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Guest pid 200 \(evil\?<3>forged\)")
        text = d.log_text()
        check("\n<3>forged" not in text, "no log line starts with the forged priority", got=text)
        d.stop()


def test_bidi_name_in_status(tmp):
    """A right-to-left override in a process name: '?' in the table, escaped in JSON."""
    r = Root(tmp)
    rlo = "\u202e".encode()
    stat = "ksm_rmap_items 10\nksm_zero_pages 0\nksm_merging_pages 100\nksm_process_profit 409600\n"
    r.process(300, b"evil" + rlo + b"gpj.exe", ksm_stat=stat)
    env = {"DBUS_SYSTEM_BUS_ADDRESS": NO_BUS}
    p = run_ksmctl("--root", r.root, "status", env=env, text=False)
    out = p.stdout.decode()
    check(p.returncode == 0, "ksmctl status on the fixture", 0, p.returncode)
    check("evil?gpj.exe" in out and "\u202e" not in out, "the override shows as '?'", got=out)
    p = run_ksmctl("--root", r.root, "status", "--json", env=env, text=False)
    out = p.stdout.decode()
    check("\u202e" not in out and "evil\\u202egpj.exe" in out, "JSON escapes the override", got=out)
    procs = json.loads(out).get("processes", [])
    names = [x.get("comm") or x.get("name") for x in procs]
    check("evil\u202egpj.exe" in names, "JSON keeps the exact name", got=names)
    # This ksm_stat has no ksm_merge_any or ksm_mergeable line: unknown, not false.
    check(procs and procs[0].get("merge_any", False) is None and procs[0].get("mergeable", False) is None,
          "merge_any and mergeable are null when the kernel does not report them", got=procs)


def test_ksmctl_root_daemon_lookup(tmp):
    """ksmctl --root DIR looks for the daemon in DIR/proc, not the host's /proc:
    a daemon running on the host is not signalled for a fixture root."""
    r = Root(tmp)
    other = Root(os.path.join(tmp, "other"))
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", other.root, "--debug", "--no-bus"]) as d:
        d.wait_log(r"Tick 1: ")
        p = run_ksmctl("--root", r.root, "retune", env={"DBUS_SYSTEM_BUS_ADDRESS": NO_BUS})
        check(p.returncode != 0, "no daemon under the fixture root", "!= 0", p.returncode)
        check(f"pids {d.proc.pid}" not in p.stderr and f"({d.proc.pid})" not in p.stderr,
              "the host's daemon is not named", got=p.stderr)
        time.sleep(0.5)
        check("SIGUSR1" not in d.log_text(), "the host's daemon got no SIGUSR1", got=d.log_text())
        d.stop()


def test_replaced_directories(tmp):
    """The KSM directory and /proc, opened once, replaced under the daemon."""
    r = Root(tmp)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Tick 1: committed 0 KiB in 0 guest")
        check(r.get("run") == "1", "tunes the first directory", "1", r.get("run"))
        os.rename(r.ksm, r.ksm + ".old")
        r.knobs()
        tick(d, r"Tick \d+: ")
        check("sys/kernel/mm/ksm was replaced: reopened it" in d.log_text(), "says it reopened", got=d.log_text())
        check("sys/kernel/mm/ksm/full_scans was replaced" in d.log_text(), "follows full_scans too (scan watch)",
              got=d.log_text())
        check(r.get("run") == "1", "writes the new directory", "1", r.get("run"))

        proc = os.path.join(r.root, "proc")
        os.rename(proc, proc + ".old")
        os.makedirs(proc)
        r.meminfo(free=1000)
        r.process(500, b"qemu-kvm")
        tick(d, r"Tick \d+: committed \d+ KiB in 1 guest")
        check("/proc was replaced: reopened it" in d.log_text(), "says it reopened /proc", got=d.log_text())
        d.stop()


def test_replaced_while_bursting(tmp):
    """The policy's quick follow-up ticks check for replaced directories
    only every few seconds, and still follow a replaced KSM directory."""
    r = Root(tmp)
    r.process(500, b"qemu-kvm")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_POLICY="adaptive")
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Tick 1: committed \d+ KiB in 1 guest")
        d.wait_log(r"Tick 3: ", timeout=10)        # one-second ticks: a burst, not the hour
        check(r.get("run") == "1", "bursts", "1", r.get("run"))
        os.rename(r.ksm, r.ksm + ".old")
        r.knobs()
        start = d.mark()
        d.wait_log(r"sys/kernel/mm/ksm was replaced: reopened it", timeout=15)
        ticks = len(re.findall(r"Tick \d+: ", d.log_text()[start:]))
        check(ticks >= 1, "reopened at a quick tick, without a signal", ">= 1", ticks)
        d.wait_log(r"Tick \d+: ", timeout=10)
        check(r.get("run") == "1", "writes the new directory", "1", r.get("run"))
        d.stop()


def test_retune_storm(tmp):
    """A root client calling Retune in a loop, and a SIGUSR1 storm: a few ticks
    a second at most, each caller still answered with the current decision."""
    from ksmbus import BUS_INTERFACE, BUS_NAME, BUS_PATH, PrivateBus
    import time

    r = Root(tmp)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--root", r.root, "--debug"], env=bus.env) as d:
        d.wait_log(r"Tick 1: ")
        from ksmtest import wait_for
        wait_for(bus.name_owned, 10, "the daemon on the bus")
        n = 150
        start = time.monotonic()
        for _ in range(n):
            p = bus.busctl("call", BUS_NAME, BUS_PATH, BUS_INTERFACE, "Retune")
            check(p.returncode == 0 and p.stdout.startswith('s "') and len(p.stdout) > 10,
                  "each Retune answers with the decision", got=p.stdout + p.stderr)
        time.sleep(0.6)         # the last coalesced tick
        elapsed = time.monotonic() - start
        ticks = len(re.findall(r"Tick \d+: ", d.log_text())) - 1
        check(ticks <= 4 * elapsed + 2, f"{n} Retune calls in {elapsed:.1f} s coalesced to at most 4 ticks a second",
              f"<= {4 * elapsed + 2:.0f}", ticks)
        check(ticks >= 2, "Retune still ticks", ">= 2", ticks)

        before = len(re.findall(r"Tick \d+: ", d.log_text()))
        start = time.monotonic()
        for _ in range(500):
            d.signal(signal.SIGUSR1)
        time.sleep(0.6)
        elapsed = time.monotonic() - start
        ticks = len(re.findall(r"Tick \d+: ", d.log_text())) - before
        check(1 <= ticks <= 4 * elapsed + 2, f"500 SIGUSR1 in {elapsed:.1f} s: a few ticks", f"<= {4 * elapsed + 2:.0f}",
              ticks)
        d.stop()


def test_run_write_fails(tmp):
    """run cannot be written: pages_to_scan is not raised tick after tick while
    KSM stays stopped, and the reason (STATUS=, LastReason, the log) says so."""
    r = Root(tmp)
    run = os.path.join(r.ksm, "run")
    os.unlink(run)
    os.symlink("/proc/sys/kernel/ngroups_max", run)      # reads as a number, refuses writes
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=3600, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Tick 1: ")
        first = r.get("pages_to_scan")
        for _ in range(3):
            time.sleep(0.3)     # past the retune coalescing
            tick(d, r"Tick \d+: ")
        check(r.get("pages_to_scan") == first, "pages_to_scan not raised while run cannot be written",
              first, r.get("pages_to_scan"))
        check("(not applied: cannot write run: Permission denied)" in d.log_text(), "the reason says it failed",
              got=d.log_text())
        d.stop()


def test_one_second_interval(tmp):
    """KSM_MONITOR_INTERVAL=1 ticks once a second (sd-event's default timer
    accuracy of 250 ms made it 1.24 s)."""
    r = Root(tmp)
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1, KSM_GUEST_REGEX=NOMATCH)
    with Daemon(tmp, conf, ["--root", r.root, "--debug"]) as d:
        d.wait_log(r"Tick 2: ")
        start = time.monotonic()
        d.wait_log(r"Tick 8: ", timeout=20)
        per_tick = (time.monotonic() - start) / 6
        check(per_tick < 1.12, "seconds per tick at KSM_MONITOR_INTERVAL=1", "< 1.12", round(per_tick, 3))
        d.stop()


if __name__ == "__main__":
    if os.geteuid() != 0:
        ksmtest.skip("root: ksmtuned writes KSM knobs, even under --root, only as root")
    main([test_fifo_meminfo, test_fifo_knob, test_fifo_logfile, test_fifo_config,
          test_bad_optional_counter, test_bad_required_counter, test_forged_log_line, test_bidi_name_in_status,
          test_regex_bomb, test_replaced_directories, test_replaced_while_bursting, test_retune_storm,
          test_run_write_fails, test_one_second_interval, test_ksmctl_root_daemon_lookup])
