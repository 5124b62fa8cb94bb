#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmtuned's D-Bus API and ksmctl's retune/reload on a private system bus:
introspection, Retune, Reload with a broken config, access control (bus
policy and the daemon's own uid check), bus restarts, the signal fallback
and no daemon at all."""
import os
import re
import signal
import subprocess
import time

from ksmbus import BUS_INTERFACE, BUS_NAME, BUS_PATH, PERMISSIVE_POLICY, PrivateBus
from ksmtest import (KSMTUNED, Daemon, check, expect_status, main, meminfo_kib, read_knob, real_ksm,
                     run_ksmctl as ksmctl, wait_for, write_config)

NOBODY = 65534
PROPERTIES = ["Version", "Policy", "KsmRunning", "PagesToScan", "SleepMillisecs", "MemTotalKiB", "FreeKiB",
              "CommittedKiB", "ThresholdKiB", "LastTickUSec", "LastReason", "PagesShared", "PagesSharing",
              "FullScans", "LastWriteError"]


def config(tmp, **keys):
    # Ticks happen when the test asks for them: a long interval, and no
    # libvirt (a concurrent test's libvirtd would send guest events).
    return write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=600, KSM_LIBVIRT_URI='""',
                        **keys)


def on_bus(bus, d):
    d.wait_log(r"Tick 1:")
    wait_for(bus.name_owned, 10, f"ksmtuned to own {BUS_NAME}")


def test_introspect_and_properties(tmp):
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        p = bus.busctl("introspect", BUS_NAME, BUS_PATH)
        check(p.returncode == 0, "busctl introspect works", got=p.stderr)
        check(re.search(rf"^{re.escape(BUS_INTERFACE)}\s+interface", p.stdout, re.M),
              "the interface is listed", got=p.stdout)
        has_profit = os.path.exists("/sys/kernel/mm/ksm/general_profit")
        for member in ["Retune", "Reload"] + PROPERTIES + (["GeneralProfit"] if has_profit else []):
            check(re.search(rf"^\.{member}\s", p.stdout, re.M), f"member {member} introspected", got=p.stdout)
        check(re.search(r"^\.Retune\s+method\s+-\s+s\s", p.stdout, re.M), "Retune() returns s", got=p.stdout)
        check(re.search(r"^\.LastTickUSec\s+property\s+t\s.*emits-change", p.stdout, re.M),
              "LastTickUSec emits change", got=p.stdout)

        version = subprocess.run([KSMTUNED, "--version"], capture_output=True, text=True).stdout.split()[-1]
        check(bus.get_property("Version") == version, "Version", version, bus.get_property("Version"))
        check(bus.get_property("Policy") == "compat", "Policy", "compat", bus.get_property("Policy"))
        check(bus.get_property("MemTotalKiB") == meminfo_kib("MemTotal"), "MemTotalKiB is /proc/meminfo's",
              meminfo_kib("MemTotal"), bus.get_property("MemTotalKiB"))
        tick = bus.get_property("LastTickUSec")
        check(abs(tick / 1e6 - time.time()) < 60, "LastTickUSec is the realtime clock", time.time(), tick / 1e6)
        reason = bus.get_property("LastReason")
        m = d.wait_log(r"No change: (.*)|Would set \(dry run\)[^:]*: (.*)", after=0)
        check(reason == (m.group(1) or m.group(2)), "LastReason is the logged reason", m.group(0), reason)
        if has_profit:
            check(isinstance(bus.get_property("GeneralProfit"), int), "GeneralProfit readable")
        check("not available" not in d.log_text(), "no bus complaint", got=d.log_text())
        d.stop()


def fixture_root(tmp, mem_free_kib):
    """A root with the oldest kernels' KSM files (all 0) and a 16 GiB
    meminfo without MemAvailable; returns it and its KSM directory."""
    root = os.path.join(tmp, "root")
    ksm = os.path.join(root, "sys/kernel/mm/ksm")
    os.makedirs(ksm)
    os.makedirs(os.path.join(root, "proc"))
    for name in ("run", "pages_to_scan", "sleep_millisecs", "pages_shared", "pages_sharing", "full_scans"):
        with open(os.path.join(ksm, name), "w") as f:
            f.write("0\n")
    with open(os.path.join(root, "proc/meminfo"), "w") as f:
        f.write(f"MemTotal: 16777216 kB\nMemFree: {mem_free_kib} kB\nBuffers: 0 kB\nCached: 0 kB\n")
    return root, ksm


def test_general_profit_left_out_without_kernel_support(tmp):
    # A kernel without general_profit (before 6.7): the property is not published.
    root, _ = fixture_root(tmp, mem_free_kib=8388608)
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug", "--root", root], env=bus.env) as d:
        on_bus(bus, d)
        p = bus.busctl("introspect", BUS_NAME, BUS_PATH)
        check(p.returncode == 0 and ".PagesSharing" in p.stdout, "introspection works", got=p.stdout + p.stderr)
        check(".GeneralProfit" not in p.stdout, "GeneralProfit left out", got=p.stdout)
        check(bus.get_property("MemTotalKiB") == 16777216, "read under --root", 16777216,
              bus.get_property("MemTotalKiB"))
        p = bus.busctl("call", BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s", BUS_INTERFACE)
        check(p.returncode == 0 and '"GeneralProfit"' not in p.stdout and '"LastReason"' in p.stdout,
              "GetAll works without it", got=p.stdout + p.stderr)
        d.stop()


def test_retune_ticks_and_emits(tmp):
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        before = bus.get_property("LastTickUSec")
        mon_out = open(os.path.join(tmp, "monitor.txt"), "w")
        mon = subprocess.Popen(["busctl", "--system", "monitor", BUS_NAME], stdout=mon_out,
                               stderr=subprocess.STDOUT, env=dict(os.environ, **bus.env))
        try:
            time.sleep(0.5)     # monitor attached
            d.mark()
            p = ksmctl("retune", env=bus.env)
            expect_status(p, 0, "ksmctl retune")
            d.wait_log(r"Retune requested over D-Bus")
            d.wait_log(r"Tick 2:")
            after = bus.get_property("LastTickUSec")
            check(after > before, "LastTickUSec advanced by the retune", f"> {before}", after)
            reason = bus.get_property("LastReason")
            check(p.stdout.strip() == f"Retuned over D-Bus: {reason}", "ksmctl prints the reason",
                  f"Retuned over D-Bus: {reason}", p.stdout.strip())
            time.sleep(0.5)
        finally:
            mon.terminate()
            mon.wait()
            mon_out.close()
        with open(os.path.join(tmp, "monitor.txt")) as f:
            text = f.read()
        d.stop()
        check("Member=PropertiesChanged" in text and "LastTickUSec" in text,
              "PropertiesChanged with LastTickUSec was emitted", got=text[-2000:])
        # Only what changed: Version is constant, Policy did not change.
        check('"Policy"' not in text and '"Version"' not in text, "unchanged properties not announced",
              got=text[-2000:])


def test_reload_reports_bad_line(tmp):
    total = meminfo_kib("MemTotal")
    conf = config(tmp, KSM_THRES_COEF=20)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        thres = bus.get_property("ThresholdKiB")
        check(thres == max(total * 20 // 100, 2048), "threshold with COEF=20", total * 20 // 100, thres)

        # Line 1 is the comment write_config adds; line 4 is broken.
        config(tmp, KSM_THRES_COEF="abc")
        p = ksmctl("reload", env=bus.env)
        expect_status(p, 1, "ksmctl reload with a broken config")
        check(re.search(r"keeps its old configuration: .*ksmtuned\.conf:4: KSM_THRES_COEF=abc", p.stderr),
              "the error names file, line and key", got=p.stderr)
        d.wait_log(r"Reload failed, keeping the old configuration: .*:4:")
        check(d.proc.poll() is None, "the daemon is still running")
        expect_status(ksmctl("retune", env=bus.env), 0, "retune after the failed reload")
        check(bus.get_property("ThresholdKiB") == thres, "the old config stays in force", thres,
              bus.get_property("ThresholdKiB"))

        config(tmp, KSM_THRES_COEF=30)
        p = ksmctl("reload", env=bus.env)
        expect_status(p, 0, "ksmctl reload with a good config")
        check(p.stdout.strip() == "Reloaded the configuration over D-Bus", "reload says so", got=p.stdout)
        d.wait_log(r"Reloaded ")
        check(bus.get_property("ThresholdKiB") == max(total * 30 // 100, 2048), "the new config is in force",
              total * 30 // 100, bus.get_property("ThresholdKiB"))

        # Policy follows KSM_POLICY.
        config(tmp, KSM_POLICY="adaptive")
        expect_status(ksmctl("reload", env=bus.env), 0, "reload to the adaptive policy")
        check(bus.get_property("Policy") == "adaptive", "Policy after KSM_POLICY=adaptive", "adaptive",
              bus.get_property("Policy"))
        d.stop()


def test_policy_denies_others(tmp):
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        before = bus.get_property("LastTickUSec")
        for verb in ("retune", "reload"):
            p = ksmctl(verb, env=bus.env, user=NOBODY)
            expect_status(p, 1, f"ksmctl {verb} as uid {NOBODY}")
            check(re.search(r"(Retune|Reload) denied: only root may call it", p.stderr), f"{verb}: AccessDenied",
                  got=p.stderr)
            check("Sent SIG" not in p.stdout, f"{verb}: no signal fallback after a refusal", got=p.stdout)
        check("requested over D-Bus" not in d.log_text(), "the calls never reached the daemon", got=d.log_text())
        check(bus.get_property("LastTickUSec") == before, "no tick happened")

        # Reading is for everyone.
        p = ksmctl("status", env=bus.env, user=NOBODY)
        expect_status(p, 0, f"ksmctl status as uid {NOBODY}")
        check(re.search(r"^Daemon: .*running.*policy compat$", p.stdout, re.M), "status reads the properties",
              got=p.stdout)
        check(re.search(r"^Last reason: ", p.stdout, re.M), "status shows the last reason", got=p.stdout)
        check(bus.get_property("LastReason", user=NOBODY) == bus.get_property("LastReason"),
              "properties readable by others")
        p = bus.busctl("introspect", BUS_NAME, BUS_PATH, user=NOBODY)
        check(p.returncode == 0, "introspection open to others", got=p.stderr)
        d.stop()


def test_daemon_checks_uid_itself(tmp):
    # A bus whose policy lets anyone call anything: the daemon must refuse.
    conf = config(tmp)
    with PrivateBus(tmp, policies=[("permissive.conf", PERMISSIVE_POLICY)]) as bus, \
            Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        for verb, method in (("retune", "Retune"), ("reload", "Reload")):
            p = ksmctl(verb, env=bus.env, user=NOBODY)
            expect_status(p, 1, f"ksmctl {verb} as uid {NOBODY} on a permissive bus")
            check(f"Only root may call {method} (caller's uid is {NOBODY})" in p.stderr,
                  f"{method}: the daemon's own AccessDenied", got=p.stderr)
        check("requested over D-Bus" not in d.log_text(), "nothing was done", got=d.log_text())
        expect_status(ksmctl("retune", env=bus.env), 0, "root may still retune")
        d.stop()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_bus_restart(tmp):
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug"], env=bus.env) as d:
        on_bus(bus, d)
        bus.stop()
        d.wait_log(r"Lost the system bus connection, tuning goes on")
        # Tuning goes on, and the daemon does not spin while the bus is away.
        cpu = cpu_ticks(d.proc.pid)
        d.mark()
        d.signal(signal.SIGUSR1)
        d.wait_log(r"Tick \d+:")
        time.sleep(4)
        used = cpu_ticks(d.proc.pid) - cpu
        check(used < 50, "CPU ticks used in 4 s without a bus", "< 50", used)

        bus.start()
        d.wait_log(r"Connected to the system bus again", timeout=10)
        wait_for(bus.name_owned, 10, "the name to come back")
        p = ksmctl("retune", env=bus.env)
        expect_status(p, 0, "retune over the new bus")
        check(p.stdout.startswith("Retuned over D-Bus: "), "retune used the bus", got=p.stdout)
        d.stop()


def write_pidfile(tmp, pid):
    path = os.path.join(tmp, "ksmtuned.pid")
    with open(path, "w") as f:
        f.write(f"{pid}\n")
    return path


def test_no_bus_then_bus(tmp):
    conf = config(tmp)
    socket_path = os.path.join(tmp, "bus", "system_bus_socket")     # where PrivateBus will listen
    env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket_path}"}
    with Daemon(tmp, conf, ["--dry-run", "--debug"], env=env) as d:
        d.wait_log(r"System bus not available \(No such file or directory\), continuing without D-Bus")
        d.wait_log(r"Tick 1:")
        pidfile = write_pidfile(tmp, d.proc.pid)

        d.mark()
        p = ksmctl("retune", "--pidfile", pidfile, env=env)
        expect_status(p, 0, "ksmctl retune without a bus")
        check(p.stdout.startswith(f"Sent SIGUSR1 to ksmtuned (pid {d.proc.pid}) because the system bus is not "
                                  "available"), "retune says it used SIGUSR1 and why", got=p.stdout)
        d.wait_log(r"SIGUSR1: retuning now")
        d.wait_log(r"Tick \d+:")

        p = ksmctl("reload", "--pidfile", pidfile, env=env)
        expect_status(p, 0, "ksmctl reload without a bus")
        check(p.stdout.startswith(f"Sent SIGHUP to ksmtuned (pid {d.proc.pid})"), "reload says it used SIGHUP",
              got=p.stdout)
        d.wait_log(r"Reloaded ")

        time.sleep(3.5)         # a retry would have gone by
        check(d.log_text().count("System bus not available") == 1, "the missing bus is logged once",
              got=d.log_text())
        check(f"continuing without D-Bus; connecting once {socket_path} appears" in d.log_text(),
              "says it waits for the socket", got=d.log_text())
        check("still not available" not in d.log_text(), "no retries while the socket is missing",
              got=d.log_text())

        # The bus appears later: the daemon finds it.
        with PrivateBus(tmp) as bus:
            check(bus.socket == socket_path, "bus socket where the daemon looks")
            d.wait_log(r"Connected to the system bus again", timeout=10)
            wait_for(bus.name_owned, 10, "the name to be owned")
            p = ksmctl("retune", env=env)
            expect_status(p, 0, "retune once the bus is there")
            check(p.stdout.startswith("Retuned over D-Bus: "), "retune used the bus", got=p.stdout)
            d.stop()


def test_fallback_when_not_on_bus(tmp):
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--dry-run", "--debug", "--no-bus"], env=bus.env) as d:
        d.wait_log(r"Tick 1:")
        pidfile = write_pidfile(tmp, d.proc.pid)
        d.mark()
        p = ksmctl("retune", "--pidfile", pidfile, env=bus.env)
        expect_status(p, 0, "retune of a daemon that is not on the bus")
        check(p.stdout.startswith(f"Sent SIGUSR1 to ksmtuned (pid {d.proc.pid}) because ksmtuned is not on the "
                                  "system bus"), "the fallback says why", got=p.stdout)
        d.wait_log(r"SIGUSR1: retuning now")
        check(not bus.name_owned(), "--no-bus keeps the name free")
        p = ksmctl("status", "--pidfile", pidfile, env=bus.env)
        expect_status(p, 0, "status of a daemon off the bus")
        check(re.search(rf"^Daemon: +ksmtuned running \(pid {d.proc.pid}\), not on the system bus", p.stdout,
                        re.M), "status finds it by pid file", got=p.stdout)


def test_no_daemon(tmp):
    missing = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp}/no-such-socket"}
    none = os.path.join(tmp, "none.pid")
    for verb in ("retune", "reload"):
        p = ksmctl(verb, "--pidfile", none, env=missing)
        expect_status(p, 1, f"{verb} with neither bus nor daemon")
        check("Cannot reach ksmtuned: the system bus is not available (No such file or directory), and no "
              f"running ksmtuned in {none} (No such file or directory)" in p.stderr, "a clear error", got=p.stderr)
    # A stale pid file: the process is gone.
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = write_pidfile(tmp, dead.pid)
    with PrivateBus(tmp) as bus:
        p = ksmctl("retune", "--pidfile", stale, env=bus.env)
        expect_status(p, 1, "retune with a bus but no daemon")
        check("ksmtuned is not on the system bus, and no running ksmtuned in" in p.stderr and
              "(no such process)" in p.stderr, "says both", got=p.stderr)
        p = ksmctl("status", "--pidfile", stale, env=bus.env)
        expect_status(p, 0, "status works without a daemon")
        check(re.search(r"^Daemon: +ksmtuned is not running", p.stdout, re.M), "status says not running",
              got=p.stdout)


def test_lookup_by_process_name(tmp):
    # Without --pidfile: /run/ksmtuned.pid, then processes named ksmtuned.
    # Other daemons (other test runs) may be about: ksmctl must then refuse to
    # choose, never signal someone else's.
    if os.path.exists("/run/ksmtuned.pid"):
        print("# /run/ksmtuned.pid exists: not touching that daemon")
        return
    conf = config(tmp)
    missing = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp}/no-such-socket"}
    with Daemon(tmp, conf, ["--dry-run", "--debug"], env=missing) as d:
        d.wait_log(r"Tick 1:")
        d.mark()
        p = ksmctl("retune", env=missing)
        print(f"# ksmctl retune without --pidfile: {p.returncode} {p.stdout.strip()}{p.stderr.strip()}")
        if p.returncode == 0:
            check(f"Sent SIGUSR1 to ksmtuned (pid {d.proc.pid})" in p.stdout, "found our daemon by name",
                  got=p.stdout)
            d.wait_log(r"SIGUSR1: retuning now")
        else:
            expect_status(p, 1, "retune with several daemons")
            check(re.search(rf"processes are named ksmtuned \(pids [0-9 ]*\b{d.proc.pid}\b[0-9 ]*\): choose one "
                            r"with --pidfile", p.stderr), "lists the candidates, ours among them", got=p.stderr)


def test_properties_follow_real_ksm(tmp):
    # Not a dry run: the properties show the knobs after the tick's writes.
    conf = config(tmp, KSM_THRES_COEF=100)     # threshold = all RAM: KSM engages
    with real_ksm(), PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--debug"], env=bus.env) as d:
        on_bus(bus, d)
        check(bus.get_property("KsmRunning") is True, "KsmRunning after the start", True,
              bus.get_property("KsmRunning"))
        for prop, knob in (("PagesToScan", "pages_to_scan"), ("SleepMillisecs", "sleep_millisecs")):
            check(bus.get_property(prop) == int(read_knob(knob)), f"{prop} is the written {knob}",
                  int(read_knob(knob)), bus.get_property(prop))
        # Right after a tick the request is coalesced into one 250 ms later:
        # the call still returns only once that tick has run.
        before = bus.get_property("LastTickUSec")
        expect_status(ksmctl("retune", env=bus.env), 0, "retune")
        check(bus.get_property("LastTickUSec") > before, "a coalesced Retune returns after its tick",
              f"> {before}", bus.get_property("LastTickUSec"))
        check(bus.get_property("PagesToScan") == int(read_knob("pages_to_scan")),
              "PagesToScan follows the boost", int(read_knob("pages_to_scan")), bus.get_property("PagesToScan"))
        d.stop()


def test_last_write_error(tmp):
    """A KSM knob that cannot be written shows in LastWriteError (file and
    error), in PropertiesChanged and in ksmctl status; once it can be written
    again the property is empty again."""
    import json
    from ksmtest import Skip
    if os.geteuid() != 0:
        raise Skip("root: ksmtuned writes KSM knobs, even under --root, only as root")
    # Little free memory: the policy starts KSM, so it writes run=1.
    root, ksm = fixture_root(tmp, mem_free_kib=1000)
    run = os.path.join(ksm, "run")
    os.unlink(run)
    os.symlink("/proc/sys/kernel/ngroups_max", run)      # reads as a number, refuses writes
    conf = config(tmp)
    with PrivateBus(tmp) as bus, Daemon(tmp, conf, ["--debug", "--root", root], env=bus.env) as d:
        on_bus(bus, d)
        want = f"{ksm}/run: Permission denied"
        check(bus.get_property("LastWriteError") == want, "LastWriteError names the knob and the error",
              want, bus.get_property("LastWriteError"))
        p = ksmctl("--root", root, "status", env=bus.env)
        check(f"Write error:  {want}" in p.stdout, "ksmctl status shows it", got=p.stdout + p.stderr)
        p = ksmctl("--root", root, "status", "--json", env=bus.env)
        got = json.loads(p.stdout)["daemon"].get("last_write_error")
        check(got == want, "ksmctl status --json shows it", want, got)

        mon_out = open(os.path.join(tmp, "monitor.txt"), "w")
        mon = subprocess.Popen(["busctl", "--system", "monitor", BUS_NAME], stdout=mon_out,
                               stderr=subprocess.STDOUT, env=dict(os.environ, **bus.env))
        try:
            time.sleep(0.5)     # monitor attached
            os.unlink(run)
            with open(run, "w") as f:
                f.write("0\n")
            d.mark()
            p = ksmctl("retune", env=bus.env)
            expect_status(p, 0, "ksmctl retune")
            d.wait_log(r"Tick \d+:")
            with open(run) as f:
                check(f.read().strip() == "1", "run written once it can be", "1", open(run).read().strip())
            check(bus.get_property("LastWriteError") == "", "LastWriteError empty once the write succeeds", "",
                  bus.get_property("LastWriteError"))
            time.sleep(0.5)
        finally:
            mon.terminate()
            mon.wait()
            mon_out.close()
        with open(os.path.join(tmp, "monitor.txt")) as f:
            text = f.read()
        check("Member=PropertiesChanged" in text and '"LastWriteError"' in text,
              "PropertiesChanged announced LastWriteError", got=text[-2000:])
        p = ksmctl("--root", root, "status", "--json", env=bus.env)
        got = json.loads(p.stdout)["daemon"].get("last_write_error", "missing")
        check(got is None, "ksmctl status --json: null once empty", None, got)
        p = ksmctl("--root", root, "status", env=bus.env)
        check("Write error" not in p.stdout, "ksmctl status: no line once empty", got=p.stdout)
        d.stop()


main([test_introspect_and_properties, test_general_profit_left_out_without_kernel_support,
      test_retune_ticks_and_emits, test_reload_reports_bad_line,
      test_policy_denies_others, test_daemon_checks_uid_itself, test_bus_restart, test_no_bus_then_bus,
      test_fallback_when_not_on_bus, test_no_daemon, test_lookup_by_process_name,
      test_properties_follow_real_ksm, test_last_write_error])
