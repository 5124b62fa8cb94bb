# SPDX-License-Identifier: GPL-2.0-or-later
"""A real libvirtd for ksmtuned's integration tests.

`with Libvirtd(tmpdir) as lv:` starts libvirtd in the foreground with a
private configuration and stops it (and destroys the guests the test made
with lv.create()) on every exit path. libvirtd's sockets and state live under
the fixed /run/libvirt, so only one test may run one at a time: an flock
serializes them, and a libvirtd that is not ours makes the test skip.
"""
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import ksmtest  # noqa: E402
from ksmtest import KSMTUNED, SKIP, TestFailure, log, run, wait_for

LOCK_PATH = "/run/lock/ksmtuned-libvirtd-tests.lock"
TEST_URI = "test+unix:///default"
QEMU_URI = "qemu:///system"
SOCKET = "/run/libvirt/libvirt-sock"
QEMU_PID_DIR = "/run/libvirt/qemu"

# What libvirtd needs on a host without systemd as PID 1 (see RUNBOOK).
QEMU_CONF = """user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
"""


def require_libvirtd():
    """Skip unless we can run libvirtd and the daemon has libvirt built in."""
    if os.geteuid() != 0:
        ksmtest.skip("root to run libvirtd")
    for prog in ("libvirtd", "virsh", "unshare", "mount"):
        if not shutil.which(prog):
            ksmtest.skip(f"{prog} (scripts/install-deps.sh installs it)")
    # libvirtd runs in a mount namespace of its own (its /run/libvirt).
    missing = ksmtest.namespaces_missing("--mount", "--propagation", "private")
    if missing:
        ksmtest.skip(missing)
    if not daemon_has_libvirt():
        ksmtest.skip("a ksmtuned built with libvirt")


def daemon_has_libvirt():
    out = run(KSMTUNED, "--help", check_status=0).stdout
    return "KSM_LIBVIRT_URI" in out and "(not in this build)" not in out


def test_domain_xml(name, mib=16):
    return (f"<domain type='test'><name>{name}</name><memory unit='MiB'>{mib}</memory>"
            f"<os><type>hvm</type></os></domain>\n")


class Libvirtd:
    def __init__(self, tmpdir, start=True, hooks=None):
        """start=False: take the lock on entry but leave libvirtd stopped.
        hooks: {"qemu": "script text"} installed as /etc/libvirt/hooks/NAME."""
        self.start_on_enter = start
        self.dir = os.path.join(tmpdir, "etc-libvirt")
        os.makedirs(self.dir, exist_ok=True)
        self.log_path = os.path.join(tmpdir, "libvirtd.log")
        self.pid_path = os.path.join(tmpdir, "libvirtd.pid")
        with open(os.path.join(self.dir, "libvirtd.conf"), "w") as f:
            f.write(f'log_outputs = "3:file:{self.log_path}"\n')
        with open(os.path.join(self.dir, "qemu.conf"), "w") as f:
            f.write(QEMU_CONF)
        for hook, text in (hooks or {}).items():
            path = os.path.join(self.dir, "hooks", hook)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.proc = None
        self.guests = []        # (uri, name) of domains to destroy at the end
        self.lock = None

    def _take_lock(self):
        os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
        self.lock = open(LOCK_PATH, "a")
        fcntl.flock(self.lock, fcntl.LOCK_EX)

    def _release_lock(self):
        if self.lock:
            fcntl.flock(self.lock, fcntl.LOCK_UN)
            self.lock.close()
            self.lock = None

    def responding(self):
        return run("virsh", "-c", TEST_URI, "uri").returncode == 0

    def start(self):
        # libvirtd reads qemu.conf from /etc/libvirt only: in a mount
        # namespace of its own, our directory is /etc/libvirt. Nothing on
        # the host's /etc is touched.
        script = 'mount --bind "$0" /etc/libvirt && exec libvirtd --config "$0/libvirtd.conf" --pid-file "$1"'
        err = open(os.path.join(os.path.dirname(self.log_path), "libvirtd.stderr"), "a")
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                      "sh", "-c", script, self.dir, self.pid_path],
                                     stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()

        def up():
            if self.proc.poll() is not None:
                raise TestFailure(f"libvirtd exited with {self.proc.returncode}: {self.log_tail()}")
            return self.responding()
        wait_for(up, 15, "libvirtd to answer", interval=0.1)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def virsh(self, *commands, uri=TEST_URI, check=True):
        """Run one virsh invocation; several commands are joined with ';'."""
        p = run("virsh", "-q", "-c", uri, "; ".join(commands))
        if check and p.returncode != 0:
            raise TestFailure(f"virsh {'; '.join(commands)}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def define_test_domains(self, tmpdir, names):
        files = []
        for n in names:
            path = os.path.join(tmpdir, f"{n}.xml")
            with open(path, "w") as f:
                f.write(test_domain_xml(n))
            files.append(path)
        self.virsh(*[f"define {p}" for p in files])

    def create(self, xml_path, name, uri=QEMU_URI):
        """Start a transient guest; it is destroyed at the end whatever happens."""
        self.guests.append((uri, name))
        self.virsh(f"create {xml_path}", uri=uri)

    def destroy_guests(self):
        for uri, name in self.guests:
            if self.proc and self.proc.poll() is None:
                run("virsh", "-q", "-c", uri, "destroy", name)
            # Should libvirtd be gone or fail, qemu must not outlive the test.
            pid = read_pidfile(os.path.join(QEMU_PID_DIR, f"{name}.pid"))
            if pid and process_alive(pid):
                os.kill(pid, signal.SIGKILL)
            for path in (f"/var/log/libvirt/qemu/{name}.log",):
                with contextlib.suppress(OSError):
                    os.unlink(path)
        self.guests = []

    def log_tail(self, n=3000):
        try:
            with open(self.log_path) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def __enter__(self):
        self._take_lock()
        try:
            if self.responding():
                log("a libvirtd that is not ours is running")
                sys.exit(SKIP)
            if self.start_on_enter:
                self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.destroy_guests()
        finally:
            try:
                self.stop()
            finally:
                self._release_lock()


def read_pidfile(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def maps_contain(pid, name):
    with open(f"/proc/{pid}/maps") as f:
        return name in f.read()


def raw_lines(text):
    """Lines the daemon did not write through its logger ("<N>message")."""
    return [l for l in text.splitlines() if l and not re.match(r"<\d>", l)]
