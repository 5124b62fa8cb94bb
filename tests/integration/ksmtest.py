# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for ksmtuned's integration tests.

Tests that write the real /sys/kernel/mm/ksm must do so inside `with
real_ksm():`, which takes the project's lock, saves every writable knob and
restores it (and run=0) on every exit path, including failure.
"""
import contextlib
import fcntl
import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77       # automake's exit status for a skipped test
KSM_DIR = "/sys/kernel/mm/ksm"
LOCK_PATH = "/run/lock/ksmtuned-tests.lock"
# Knobs a test may change, restored in this order (advisor first so that
# pages_to_scan is writable again; run last and always 0).
SAVED_KNOBS = ["advisor_mode", "advisor_target_scan_time", "advisor_max_cpu",
               "advisor_min_pages_to_scan", "advisor_max_pages_to_scan",
               "pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages",
               "max_page_sharing", "stable_node_chains_prune_millisecs"]

KSMTUNED = os.environ.get("KSMTUNED", "ksmtuned")
KSMCTL = os.environ.get("KSMCTL", "ksmctl")
FAKE_GUEST = os.environ.get("FAKE_GUEST", "fake-guest")
TEST_DATA = os.environ.get("TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "data"))
# Extra command prefix for the programs under test (for example valgrind).
WRAPPER = os.environ.get("KSMTUNED_TEST_WRAPPER", "").split()


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    """Raised by a test that needs what this machine lacks: the message names it."""


def check(cond, what, expected=None, got=None):
    """Fail with 'what: expected X, got Y' unless cond holds."""
    if not cond:
        msg = what
        if expected is not None or got is not None:
            msg += f": expected {expected!r}, got {got!r}"
        raise TestFailure(msg)


def log(msg):
    print(f"# {msg}", flush=True)


def skip(what):
    """Skip the whole test program: one line naming what is missing, exit 77."""
    # Not "SKIP:", which would pose as a result line in test-suite.log.
    print(f"skip: needs {what}", flush=True)
    sys.exit(SKIP)


_namespaces_work = {}


def namespaces_missing(*flags):
    """None when "unshare FLAGS true" works here, else what is missing (in a
    chroot or an unprivileged container unshare fails with EPERM)."""
    if os.geteuid() != 0:
        return "root (for namespaces)"
    if not shutil.which("unshare"):
        return "unshare(1) (util-linux)"
    if flags not in _namespaces_work:
        p = subprocess.run(["unshare", *flags, "true"], capture_output=True, text=True)
        err = None
        if p.returncode != 0:
            lines = p.stderr.strip().splitlines()
            err = lines[-1] if lines else f"exit status {p.returncode}"
        _namespaces_work[flags] = err
    err = _namespaces_work[flags]
    return f"namespaces: unshare {' '.join(flags)} fails here ({err})" if err else None


def read_knob(name, root="/"):
    with open(os.path.join(root, KSM_DIR.lstrip("/"), name)) as f:
        value = f.read().strip()
    if name == "advisor_mode":
        return re.search(r"\[(.*?)\]", value).group(1)
    return value


def write_knob(name, value, root="/"):
    with open(os.path.join(root, KSM_DIR.lstrip("/"), name), "w") as f:
        f.write(str(value))


@contextlib.contextmanager
def ksm_lock():
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    with open(LOCK_PATH, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# A bus address with nothing behind it: keeps a running daemon out of a test.
NO_BUS = "unix:path=/nonexistent/ksmtuned-test"


def meminfo_kib(field):
    """A field of the live /proc/meminfo, in KiB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise TestFailure(f"/proc/meminfo has no {field}")


def run_ksmctl(*args, env=None, user=None, text=True, timeout=60):
    """ksmctl with the test environment; env entries set to None are removed,
    user runs it as that uid (setpriv)."""
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run([*prefix, *WRAPPER, KSMCTL, *args], capture_output=True, text=text, env=full_env,
                          timeout=timeout)


def expect_status(p, status, what):
    check(p.returncode == status, f"{what}: exit status (stdout {p.stdout!r}, stderr {p.stderr!r})",
          status, p.returncode)


def unmerge_all(timeout=60):
    """run=2: undo every merge, so that global counters start from zero
    (a process that exited while KSM ran can leave stale stable-tree pages
    counted until ksmd runs again). Only when MemAvailable covers it."""
    avail_kib = meminfo_kib("MemAvailable")
    need_kib = (int(read_knob("pages_sharing")) + int(read_knob("ksm_zero_pages") if os.path.exists(
        os.path.join(KSM_DIR, "ksm_zero_pages")) else 0)) * os.sysconf("SC_PAGESIZE") // 1024
    if need_kib + 262144 > avail_kib:
        raise TestFailure(f"not enough memory to unmerge before the test: {need_kib} KiB needed, {avail_kib} available")
    write_knob("run", 2)
    wait_for(lambda: read_knob("pages_sharing") == "0" and read_knob("pages_shared") == "0", timeout,
             "KSM to unmerge everything (run=2)")
    write_knob("run", 0)


@contextlib.contextmanager
def real_ksm(clean=False):
    """Exclusive use of the real KSM: lock, save, restore, run=0. With
    clean, start from nothing merged (unmerge_all)."""
    if os.geteuid() != 0 or not os.access(os.path.join(KSM_DIR, "run"), os.W_OK):
        skip("root and a writable /sys/kernel/mm/ksm")
    with ksm_lock():
        saved = {}
        for k in SAVED_KNOBS:
            if os.path.exists(os.path.join(KSM_DIR, k)):
                saved[k] = read_knob(k)
        try:
            write_knob("run", 0)
            if clean:
                unmerge_all()
            yield saved
        finally:
            errors = []
            for action in [lambda: write_knob("run", 0)] + \
                    [(lambda k=k, v=v: write_knob(k, v)) for k, v in saved.items()] + \
                    [lambda: write_knob("run", 0)]:
                try:
                    action()
                except OSError as e:
                    errors.append(str(e))
            if errors:
                log("could not restore KSM: " + "; ".join(errors))


def wait_for(pred, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def terminate(proc, timeout=10):
    """SIGTERM, then SIGKILL after timeout seconds; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class FakeGuest:
    """A guest-like process (tests/helpers/fake-guest)."""

    def __init__(self, mib=64, shared=100, zero=0, volatile=0, name="qemu-system-x86", seed=1, extra=(),
                 wait=True):
        """With wait=False the process starts filling its memory and
        wait_ready() reads its "ready" line later (starts close together)."""
        args = [FAKE_GUEST, f"--mib={mib}", f"--shared={shared}", f"--zero={zero}",
                f"--volatile={volatile}", f"--name={name}", f"--seed={seed}", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        if wait:
            self.wait_ready()

    def wait_ready(self):
        line = self.proc.stdout.readline()
        m = re.match(r"ready pid=(\d+) pages=(\d+) shared=(\d+) zero=(\d+) volatile=(\d+) unique=(\d+)", line)
        if not m:
            self.stop()
            raise TestFailure(f"fake-guest did not start: {line!r}")
        self.pid, self.pages, self.shared, self.zero, self.volatile, self.unique = map(int, m.groups())

    def ksm_stat(self):
        """/proc/PID/ksm_stat as a dict of ints."""
        out = {}
        with open(f"/proc/{self.pid}/ksm_stat") as f:
            for line in f:
                k, _, v = line.partition(" ")
                try:
                    out[k] = int(v)
                except ValueError:
                    out[k] = v.strip()
        return out

    def stop(self):
        terminate(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def write_config(path, **keys):
    """A config file of KEY=value lines. KSM_LIBVIRT_URI is empty and
    KSM_PROC_EVENTS 0 unless given: a libvirtd or a guest-named process
    started by another test must not feed this daemon extra ticks.
    KSM_METRICS_FILE is empty unless given: the default writes the host's
    node_exporter directory where prometheus-node-exporter is installed."""
    keys.setdefault("KSM_LIBVIRT_URI", "")
    keys.setdefault("KSM_PROC_EVENTS", 0)
    keys.setdefault("KSM_METRICS_FILE", "")
    with open(path, "w") as f:
        f.write("# written by the test\n")
        for k, v in keys.items():
            f.write(f"{k}={v}\n")
    return path


class Daemon:
    """ksmtuned in the foreground; stderr goes to a log file we can search."""

    def __init__(self, tmpdir, config, args=(), env=None):
        self.log_path = os.path.join(tmpdir, f"ksmtuned-{time.monotonic_ns()}.log")
        self.log_file = open(self.log_path, "w")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([*WRAPPER, KSMTUNED, "--foreground", "--config", config, *args],
                                     stdout=self.log_file, stderr=subprocess.STDOUT, env=full_env)
        self.offset = 0

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, pattern, timeout=10, after=None):
        """Wait for a log line matching pattern, after byte offset `after`
        (default: after the last match). Returns the match."""
        start = self.offset if after is None else after
        rx = re.compile(pattern, re.M)

        def find():
            if self.proc.poll() is not None:
                raise TestFailure(f"ksmtuned exited ({self.proc.returncode}) while waiting for /{pattern}/:\n"
                                  + self.log_text()[-3000:])
            text = self.log_text()
            return rx.search(text, start)
        try:
            m = wait_for(find, timeout, f"log line /{pattern}/")
        except TestFailure as e:
            raise TestFailure(f"{e}; the log ends with:\n{self.log_text()[-3000:]}") from None
        self.offset = m.end()
        return m

    def mark(self):
        """Byte offset of the end of the log now (search after it)."""
        self.offset = len(self.log_text())
        return self.offset

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, expect_status=0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("ksmtuned did not exit on SIGTERM")
        self.log_file.close()
        if expect_status is not None:
            check(self.proc.returncode == expect_status, "ksmtuned exit status", expect_status, self.proc.returncode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log_file.close()


def run(*args, check_status=None, **kw):
    """Run a command, capture text output; optionally check its exit status."""
    p = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check_status is not None and p.returncode != check_status:
        raise TestFailure(f"{' '.join(map(str, args))}: expected exit {check_status}, got {p.returncode}\n"
                          f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def main(tests):
    """Run test functions (each gets a fresh temp dir); print one line each."""
    failed = skipped = 0
    for t in tests:
        with tempfile.TemporaryDirectory(prefix="ksmtuned-test.") as tmp:
            start = time.monotonic()
            try:
                t(tmp)
                print(f"ok - {t.__name__} ({time.monotonic() - start:.1f} s)", flush=True)
            except Skip as e:
                skipped += 1
                print(f"skip - {t.__name__}: {e}", flush=True)
            except Exception:
                failed += 1
                print(f"not ok - {t.__name__}", flush=True)
                traceback.print_exc(file=sys.stdout)
    print(f"{len(tests) - failed - skipped} passed, {failed} failed, {skipped} skipped")
    # One skipped test makes the program a skip: scripts/run-tests.sh, as root
    # on a real machine, counts skips as failures, so none may hide in a pass.
    sys.exit(1 if failed else SKIP if skipped else 0)
