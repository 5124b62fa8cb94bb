#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The systemd units: offline checks, and the daemon under the unit's sandbox.

systemd is not PID 1 here, so the units are checked with systemd-analyze's
offline modes, and the sandbox of ksmtuned.service is applied by hand
(tests/integration/sandbox.py) to a real ksmtuned run against real KSM.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ksmtest  # noqa: E402
import sandbox  # noqa: E402
from ksmtest import check, log, run  # noqa: E402

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("abs_top_builddir")
UNITS = ["ksm.service", "ksmtuned.service"]
# systemd-analyze security's scale is 0-100 for --threshold: 30 is 3.0.
MAX_EXPOSURE = 3.0


def unit(name):
    return os.path.join(BUILDDIR, "systemd", name)


def make_install(dest):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    run("make", "-s", "-C", BUILDDIR, "install", f"DESTDIR={dest}", env=env, check_status=0)


def test_units_verify(tmp):
    """systemd-analyze verify is silent on both units as installed.

    It checks that each Exec*= program exists, so the units are installed
    into a staging tree and their @sbindir@ paths pointed into it; the man
    pages of Documentation= are looked up in the staged tree too. Until
    ksmctl is built, the one complaint allowed is that it is missing."""
    dest = os.path.join(tmp, "root")
    make_install(dest)
    sbindir = os.environ["sbindir"]
    unitdir = os.path.join(tmp, "units")
    os.mkdir(unitdir)
    for name in UNITS:
        with open(unit(name)) as f:
            text = f.read()
        check(f"={sbindir}/" in text, f"{name} runs its programs from sbindir", sbindir, text)
        with open(os.path.join(unitdir, name), "w") as f:
            f.write(text.replace(f"={sbindir}/", f"={dest}{sbindir}/"))

    env = dict(os.environ)
    man = "no"
    if shutil.which("man"):
        man = "yes"
        env["MANPATH"] = dest + os.environ["mandir"]
    p = run("systemd-analyze", "verify", f"--man={man}", *[os.path.join(unitdir, n) for n in UNITS], env=env)
    complaints = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
    if not os.access(os.path.join(BUILDDIR, "ksmctl"), os.X_OK):
        missing = re.compile(rf"^ksm\.service: Command {re.escape(dest + sbindir)}/ksmctl is not executable")
        log("ksmctl is not built here: its absence is the one complaint allowed")
        complaints = [c for c in complaints if not missing.match(c)]
        p.returncode = 0 if not complaints else p.returncode
    check(p.returncode == 0 and not complaints, f"systemd-analyze verify --man={man} is clean", [], complaints)


def test_security_exposure(tmp):
    """Both units score at most 3.0 in systemd-analyze security."""
    for name in UNITS:
        p = run("systemd-analyze", "security", "--offline=yes", f"--threshold={int(MAX_EXPOSURE * 10)}",
                unit(name))
        m = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", p.stdout)
        check(m, "systemd-analyze security prints the exposure", "Overall exposure level", p.stdout + p.stderr)
        score = float(m.group(1))
        log(f"{name}: exposure {score}")
        check(score <= MAX_EXPOSURE and p.returncode == 0, f"exposure of {name}", f"<= {MAX_EXPOSURE}",
              f"{score} (exit {p.returncode})")


def require_sandbox():
    """The units' sandbox is rebuilt with namespaces: skip this test where
    they cannot be made (not root, a chroot, a container)."""
    missing = ksmtest.namespaces_missing("--mount", "--user", "--map-root-user", "--net", "--ipc", "--uts")
    if missing:
        raise ksmtest.Skip(f"needs {missing}")


def sandbox_workdir():
    """A directory the sandbox keeps visible (read-only): not under /tmp."""
    return tempfile.mkdtemp(prefix="ksmtuned-sandbox.", dir="/run")


PROBE = r"""
import errno, os, socket
def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return line.split()[1]
print("CapEff", status("CapEff"))
print("CapBnd", status("CapBnd"))
print("NoNewPrivs", status("NoNewPrivs"))
print("Seccomp", status("Seccomp"))
print("write-etc", attempt(lambda: open("/etc/ksmtuned-sandbox-probe", "w")))
print("write-run", attempt(lambda: open("/run/ksmtuned-sandbox-probe", "w")))
print("write-sys", attempt(lambda: open("/sys/kernel/mm/transparent_hugepage/enabled", "w")))
print("write-proc-sys", attempt(lambda: open("/proc/sys/vm/overcommit_memory", "w")))
print("open-ksm-rw", attempt(lambda: os.close(os.open("/sys/kernel/mm/ksm/pages_to_scan", os.O_WRONLY))))
print("tmp-empty", os.listdir("/tmp") == [])
print("write-tmp", attempt(lambda: open("/tmp/probe", "w")))
print("list-root-home", attempt(lambda: os.listdir("/root")))
print("dev", " ".join(sorted(os.listdir("/dev"))))
print("inet", attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)))
print("unix", attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)))
print("netdevs", " ".join(sorted(l.split(":")[0].strip() for l in open("/proc/self/net/dev").readlines()[2:])))
print("meminfo", attempt(lambda: open("/proc/meminfo").read()))
print("guest-stat", attempt(lambda: open("/proc/1/stat").read()))
"""


def test_sandbox_is_applied(tmp):
    """The hand-made sandbox really confines: a probe inside it sees only
    CAP_NET_ADMIN (for process events), a seccomp filter, a read-only system
    with only the KSM knobs writable, a private /tmp and /dev, no IP sockets
    (the host's network namespace: process events are delivered there)."""
    require_sandbox()
    box = sandbox.Sandbox(unit("ksmtuned.service"))
    work = sandbox_workdir()
    try:
        p = run(*box.command([sandbox.PYTHON, "-c", PROBE], work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    check(p.returncode == 0, "the probe runs in the sandbox", 0, f"{p.returncode}: {p.stderr}")
    got = dict(line.split(" ", 1) for line in p.stdout.splitlines())
    want = {
        "CapEff": "0000000000001000", "CapBnd": "0000000000001000", "NoNewPrivs": "1", "Seccomp": "2",
        "write-etc": "EROFS", "write-run": "EROFS", "write-sys": "EROFS", "write-proc-sys": "EROFS",
        "open-ksm-rw": "ok", "tmp-empty": "True", "write-tmp": "ok", "list-root-home": "EACCES",
        "dev": "fd full null random shm stderr stdin stdout tty urandom zero",
        "inet": "EPERM", "unix": "ok", "meminfo": "ok", "guest-stat": "ok",
    }
    diff = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
    check(not diff, "what the probe saw {what: (expected, got)}", {}, diff)


class NotifySocket:
    """A datagram socket standing in for the service manager's."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.messages = []

    def wait_for(self, field, timeout=10, proc=None):
        def got():
            if proc and proc.poll() is not None:
                raise ksmtest.TestFailure(f"ksmtuned exited ({proc.returncode}) while waiting for {field}:\n"
                                          + proc.stdout.read())
            self.sock.settimeout(0.1)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
            for i, msg in enumerate(self.messages):
                if field in msg.split("\n"):
                    del self.messages[:i + 1]
                    return msg
            return None
        return ksmtest.wait_for(got, timeout, f"sd_notify {field}")

    def close(self):
        self.sock.close()


GUEST_NAME = "ksmsbx-guest"


def start_guest_as_nobody():
    """A fake guest owned by another user, as QEMU runs under libvirt: the
    sandbox holds no capability to read it (CAP_NET_ADMIN only), so this
    proves the scan still sees it."""
    p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ksmtest.FAKE_GUEST,
                          "--mib=16", "--shared=100", f"--name={GUEST_NAME}"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    check(line.startswith("ready pid="), "fake guest started as uid 65534", "ready pid=...", line)
    return p


def test_ksmctl_in_sandbox(tmp):
    """ksm.service's sandbox still lets "ksmctl start" and "ksmctl stop" set
    /sys/kernel/mm/ksm/run on real KSM."""
    if not os.access(os.path.join(BUILDDIR, "ksmctl"), os.X_OK):
        log("ksmctl is not built")
        sys.exit(ksmtest.SKIP)
    require_sandbox()
    box = sandbox.Sandbox(unit("ksm.service"))
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))

    def ksmctl(verb):
        # A sandbox is built once per work directory.
        work = sandbox_workdir()
        try:
            binary = os.path.join(work, "ksmctl")
            shutil.copy(os.path.join(BUILDDIR, "ksmctl"), binary)
            p = run(*box.command([binary, verb], work), env=env)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        check(p.returncode == 0, f"ksmctl {verb} in the sandbox", 0, f"{p.returncode}: {p.stdout}{p.stderr}")

    with ksmtest.real_ksm():
        ksmctl("start")
        check(ksmtest.read_knob("run") == "1", "run after ksmctl start", "1", ksmtest.read_knob("run"))
        ksmctl("stop")
        check(ksmtest.read_knob("run") == "0", "run after ksmctl stop", "0", ksmtest.read_knob("run"))


def test_daemon_in_sandbox(tmp):
    """ksmtuned --foreground under the unit's sandbox counts a guest of
    another user, tunes real KSM, reloads on SIGHUP with RELOADING=1 and
    READY=1, pings the watchdog, and exits 0."""
    require_sandbox()
    box = sandbox.Sandbox(unit("ksmtuned.service"))
    with ksmtest.real_ksm():
        if os.path.exists(os.path.join(ksmtest.KSM_DIR, "advisor_mode")):
            ksmtest.write_knob("advisor_mode", "none")      # pages_to_scan is ours
        ksmtest.write_knob("pages_to_scan", 100)
        work = sandbox_workdir()
        notify = daemon = guest = None
        try:
            guest = start_guest_as_nobody()
            # The binary is copied: the build tree may be under /tmp or /home.
            binary = os.path.join(work, "ksmtuned")
            shutil.copy(ksmtest.KSMTUNED, binary)
            conf = os.path.join(work, "ksmtuned.conf")
            # THRES_COEF=100: free memory is always short, so KSM runs and
            # pages_to_scan grows by BOOST from 0 at each tuning.
            # KSM_LIBVIRT_URI empty: a libvirtd of a concurrent test would
            # otherwise send lifecycle events that add ticks.
            keys = dict(KSM_MONITOR_INTERVAL=3600, KSM_THRES_COEF=100, KSM_NPAGES_BOOST=123,
                        KSM_NPAGES_MIN=64, KSM_NPAGES_MAX=1250, KSM_GUEST_REGEX=f"^{GUEST_NAME}$",
                        KSM_LIBVIRT_URI='""', KSM_PROC_EVENTS=1, DEBUG=1)
            ksmtest.write_config(conf, **keys)
            notify = NotifySocket(os.path.join(work, "notify"))
            env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="1000000")
            env.pop("WATCHDOG_PID", None)
            # In a sanitizer build: LeakSanitizer stops the process with
            # ptrace, which the unit's system call filter denies, as it should.
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
            daemon = subprocess.Popen(box.command([binary, "--foreground", "--config", conf], work),
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            notify.wait_for("READY=1", proc=daemon)
            check(ksmtest.read_knob("run") == "1", "run after the first tuning", "1", ksmtest.read_knob("run"))
            check(ksmtest.read_knob("pages_to_scan") == "123", "pages_to_scan after the first tuning",
                  "123", ksmtest.read_knob("pages_to_scan"))
            notify.wait_for("WATCHDOG=1", timeout=5, proc=daemon)

            keys["KSM_NPAGES_BOOST"] = 200
            ksmtest.write_config(conf, **keys)
            daemon.send_signal(signal.SIGHUP)
            notify.wait_for("RELOADING=1", proc=daemon)
            notify.wait_for("READY=1", proc=daemon)
            check(ksmtest.read_knob("pages_to_scan") == "323", "pages_to_scan after reload (123 + BOOST=200)",
                  "323", ksmtest.read_knob("pages_to_scan"))

            daemon.send_signal(signal.SIGTERM)
            out, _ = daemon.communicate(timeout=15)
            check(daemon.returncode == 0, "exit status after SIGTERM", 0, f"{daemon.returncode}\n{out}")
            # (Not any "Cannot": without a system bus the daemon may say so.)
            check("Reloaded" in out and not re.search(r"Cannot (write|open|read)", out),
                  "the daemon's log: reloaded, no failed read or write", "Reloaded, no 'Cannot write/open/read'", out)
            check("Watching process events" in out, "process events work under the unit's sandbox",
                  "Watching process events", out)
            ticks = re.findall(r"committed (\d+) KiB in (\d+) guest", out)
            check(len(ticks) == 2, "two tunings logged at debug", 2, out)
            for kib, n in ticks:
                check(n == "1" and int(kib) >= 15 * 1024, "the guest of uid 65534 is counted, with its 16 MiB",
                      "1 guest, >= 15360 KiB", f"{n} guest(s), {kib} KiB")
            notify.wait_for("STOPPING=1", timeout=2)
        finally:
            for p in (daemon, guest):
                if p and p.poll() is None:
                    p.kill()
                    p.wait()
            if guest:
                guest.stdout.close()
            if notify:
                notify.close()
            shutil.rmtree(work, ignore_errors=True)


def report_not_reproduced():
    for k, why in sandbox.Sandbox(unit("ksmtuned.service")).skipped.items():
        log(f"not reproduced: {k}= ({why})")


if __name__ == "__main__":
    missing = [v for v in ["abs_top_builddir", "sbindir", "mandir"] if v not in os.environ]
    if missing:
        log(f"run from make check (needs {', '.join(missing)} from Makefile.am)")
        sys.exit(ksmtest.SKIP)
    if not shutil.which("systemd-analyze"):
        log("systemd-analyze not found (scripts/install-deps.sh installs systemd)")
        sys.exit(ksmtest.SKIP)
    report_not_reproduced()
    ksmtest.main([test_units_verify, test_security_exposure, test_sandbox_is_applied, test_ksmctl_in_sandbox, test_daemon_in_sandbox])
