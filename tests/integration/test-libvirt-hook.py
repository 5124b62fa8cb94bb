#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt/qemu-hook, called the way libvirt calls /etc/libvirt/hooks/qemu:
"ksmctl retune" in the background for started/stopped/release, nothing for
the rest; always status 0, at once, whatever stdin, ksmctl or its fate."""
import os
import signal
import subprocess
import time

from ksmtest import check, log, main, wait_for

HOOK = os.path.join(os.environ.get("abs_top_builddir", os.path.join(os.path.dirname(__file__), "..", "..")),
                    "libvirt-hook-qemu")
DOMAIN_XML = "<domain type='kvm'><name>guest1</name><uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>" + \
    "<memory unit='KiB'>262144</memory>" + "<!-- padding -->" * 8000 + "</domain>\n"   # > a pipe buffer
CALLING = ["started", "stopped", "release"]
IGNORED = ["prepare", "start", "migrate", "restore", "reconnect", "attach", ""]
# What libvirt passes as SUB-OPERATION for each operation.
SUBOP = {"prepare": "begin", "start": "begin", "started": "begin", "stopped": "end", "release": "end",
         "migrate": "begin", "restore": "begin", "reconnect": "begin", "attach": "begin", "": "-"}


def fake_ksmctl(tmp, body):
    """A ksmctl that appends its arguments and pid to tmp/calls."""
    path = os.path.join(tmp, "bin", "ksmctl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\necho "$$ $*" >> "{tmp}/calls"\n{body}\n')
    os.chmod(path, 0o755)
    return path


def calls(tmp):
    try:
        with open(os.path.join(tmp, "calls")) as f:
            return [line.split(" ", 1) for line in f.read().splitlines()]
    except FileNotFoundError:
        return []


def kill_calls(tmp):
    for pid, _ in calls(tmp):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_hook(op, env, stdin_data=DOMAIN_XML, stdin=None):
    """Run as libvirt does (stdin XML, stdout/stderr pipes read to EOF);
    returns (status, seconds until the pipes closed and it exited)."""
    t0 = time.monotonic()
    p = subprocess.Popen([HOOK, "guest1", op, SUBOP[op], "-"], env=env, text=True,
                         stdin=stdin if stdin is not None else subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(stdin_data if stdin is None else None, timeout=10)
    elapsed = time.monotonic() - t0
    check(out == "" and err == "", f"hook {op}: silent", "", out + err)
    return p.returncode, elapsed


def base_env(tmp, **extra):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(extra)
    return env


def test_operations(tmp):
    env = base_env(tmp, KSMCTL=fake_ksmctl(tmp, "exit 0"))
    try:
        for op in IGNORED:
            status, elapsed = run_hook(op, env)
            check(status == 0, f"hook {op!r}: exit status", 0, status)
        time.sleep(0.5)
        check(calls(tmp) == [], "ksmctl not called for prepare/start/migrate/restore/reconnect/attach", [],
              calls(tmp))
        for i, op in enumerate(CALLING, 1):
            status, elapsed = run_hook(op, env)
            check(status == 0, f"hook {op}: exit status", 0, status)
            check(elapsed < 1.0, f"hook {op}: returns at once", "< 1 s", f"{elapsed:.2f} s")
            wait_for(lambda: len(calls(tmp)) == i, 5, f"ksmctl called for {op}")
            check(calls(tmp)[-1][1] == "retune", f"hook {op}: ksmctl arguments", "retune", calls(tmp)[-1][1])
    finally:
        kill_calls(tmp)


def test_ksmctl_on_path(tmp):
    fake_ksmctl(tmp, "exit 0")
    env = base_env(tmp)
    env["PATH"] = os.path.join(tmp, "bin") + ":" + env["PATH"]
    try:
        status, _ = run_hook("started", env)
        check(status == 0, "exit status", 0, status)
        wait_for(lambda: calls(tmp), 5, "ksmctl from PATH called")
        check(calls(tmp)[0][1] == "retune", "arguments", "retune", calls(tmp)[0][1])
    finally:
        kill_calls(tmp)


def test_empty_environment(tmp):
    # libvirt may give hooks almost no environment: no PATH at all.
    env = {"KSMCTL": fake_ksmctl(tmp, "exit 0")}
    try:
        status, _ = run_hook("stopped", env)
        check(status == 0, "exit status", 0, status)
        wait_for(lambda: calls(tmp), 5, "ksmctl called without PATH")
    finally:
        kill_calls(tmp)


def test_ksmctl_hangs(tmp):
    env = base_env(tmp, KSMCTL=fake_ksmctl(tmp, "exec sleep 60"))
    try:
        status, elapsed = run_hook("started", env)
        check(status == 0, "exit status", 0, status)
        check(elapsed < 1.0, "returns at once although ksmctl hangs", "< 1 s", f"{elapsed:.2f} s")
        wait_for(lambda: calls(tmp), 5, "ksmctl started")
    finally:
        kill_calls(tmp)


def test_ksmctl_fails_or_missing(tmp):
    env = base_env(tmp, KSMCTL=fake_ksmctl(tmp, "echo oops >&2; exit 3"))
    try:
        status, elapsed = run_hook("release", env)
        check(status == 0, "exit status when ksmctl fails", 0, status)
        wait_for(lambda: calls(tmp), 5, "ksmctl called")
    finally:
        kill_calls(tmp)
    env = base_env(tmp, KSMCTL=os.path.join(tmp, "no-such-ksmctl"))
    status, elapsed = run_hook("started", env)
    check(status == 0, "exit status when ksmctl is missing", 0, status)
    check(elapsed < 1.0, "returns at once when ksmctl is missing", "< 1 s", f"{elapsed:.2f} s")


def test_stdin_never_closed(tmp):
    # Whatever libvirt does with stdin, the hook does not wait for it.
    env = base_env(tmp, KSMCTL=fake_ksmctl(tmp, "exit 0"))
    r, w = os.pipe()
    try:
        os.write(w, b"<domain>")
        for op in ("started", "prepare"):
            status, elapsed = run_hook(op, env, stdin=r)
            check(status == 0, f"hook {op}: exit status", 0, status)
            check(elapsed < 1.0, f"hook {op}: returns with stdin still open", "< 1 s", f"{elapsed:.2f} s")
    finally:
        os.close(r)
        os.close(w)
        kill_calls(tmp)


def test_syntax(tmp):
    p = subprocess.run(["sh", "-n", HOOK], capture_output=True, text=True)
    check(p.returncode == 0, "sh -n accepts the hook", 0, p.stderr)
    check(os.access(HOOK, os.X_OK), "hook is executable")
    log(HOOK)


if __name__ == "__main__":
    main([test_syntax, test_operations, test_ksmctl_on_path, test_empty_environment, test_ksmctl_hangs,
          test_ksmctl_fails_or_missing, test_stdin_never_closed])
