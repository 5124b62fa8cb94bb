#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Logging targets: under systemd (JOURNAL_STREAM names standard error) the
daemon sends native journal messages with KSMTUNED_* fields; on a terminal
it prints plain lines; elsewhere "<N>" lines. No journald runs here: in a
private mount namespace the test binds its own datagram socket at
/run/systemd/journal/socket and parses what arrives."""
import array
import os
import pty
import select
import socket
import struct
import subprocess
import sys
import time

from ksmtest import KSMTUNED, SKIP, TestFailure, check, log, main, wait_for, write_config

JOURNAL_SOCKET = "/run/systemd/journal/socket"
INNER = "--in-namespace"


def parse_native(data):
    """The journal's native protocol: "KEY=value\\n", or "KEY\\n" + 64-bit
    little-endian size + value + "\\n" for values with newlines."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            v = data[nl + 9:nl + 9 + size]
            check(data[nl + 9 + size:nl + 10 + size] == b"\n", "binary field ends with a newline")
            i = nl + 10 + size
        fields[k.decode()] = v.decode()
    return fields


def receive(sock, timeout):
    """One datagram's fields; a large message comes as a memfd (SCM_RIGHTS)."""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return None
    fds = array.array("i")
    data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    for fd in fds:
        with os.fdopen(fd, "rb") as f:
            f.seek(0)
            data = f.read()
    return parse_native(data)


def daemon_args(tmp):
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1, KSM_THRES_COEF=100,
                        KSM_METRICS_FILE="")
    return [KSMTUNED, "--foreground", "--dry-run", "--no-bus", "--debug", "--config", conf]


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def test_journal_fields(tmp):
    if INNER not in sys.argv:
        raise TestFailure("not in the private mount namespace")
    # Our own tmpfs, seen only in this namespace, holds the journal socket.
    base = "/run/systemd" if os.path.isdir("/run/systemd") else "/run"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "ksmtuned-test", base], check=True)
    os.makedirs(os.path.dirname(JOURNAL_SOCKET), exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(JOURNAL_SOCKET)
    stream_path = os.path.join(tmp, "stream")
    with open(stream_path, "w") as stream:
        st = os.fstat(stream.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        p = subprocess.Popen(daemon_args(tmp), stdout=stream, stderr=stream, env=env)
        try:
            decision = None
            seen = []
            deadline = time.monotonic() + 15
            while decision is None and time.monotonic() < deadline:
                f = receive(sock, 1)
                if f is None:
                    continue
                seen.append(f)
                if "KSMTUNED_REASON" in f and f.get("MESSAGE", "").startswith("Would set (dry run)"):
                    decision = f
            check(decision, "a decision arrives as a journal message with KSMTUNED_REASON",
                  got=[s.get("MESSAGE") for s in seen])
        finally:
            stop(p)
    for k in ("KSMTUNED_POLICY", "KSMTUNED_MODE", "KSMTUNED_PAGES_TO_SCAN", "KSMTUNED_SLEEP_MILLISECS",
              "KSMTUNED_SAVED_BYTES", "KSMTUNED_RUN", "KSMTUNED_FREE_KIB", "KSMTUNED_THRESHOLD_KIB"):
        check(k in decision, f"the decision carries {k}", k, sorted(decision))
    check(decision["MESSAGE"].endswith(decision["KSMTUNED_REASON"]), "MESSAGE ends with the reason",
          decision["KSMTUNED_REASON"], decision["MESSAGE"])
    check(decision["PRIORITY"] == "6", "decision at info priority", "6", decision["PRIORITY"])
    check(decision["SYSLOG_IDENTIFIER"] == "ksmtuned", "SYSLOG_IDENTIFIER", "ksmtuned", decision["SYSLOG_IDENTIFIER"])
    check(decision["KSMTUNED_RUN"] == "1" and decision["KSMTUNED_POLICY"] == "compat",
          "fields of this decision: run=1 under compat", ("1", "compat"),
          (decision["KSMTUNED_RUN"], decision["KSMTUNED_POLICY"]))
    check(int(decision["KSMTUNED_PAGES_TO_SCAN"]) > 0, "pages_to_scan as decided", "> 0",
          decision["KSMTUNED_PAGES_TO_SCAN"])
    check(any(s.get("PRIORITY") == "7" and "KSMTUNED_REASON" not in s for s in seen),
          "other messages (debug) go to the journal too, without decision fields")
    with open(stream_path) as f:
        text = f.read()
    check(text == "", "nothing on the stream while the journal socket works", "", text[:500])
    sock.close()


def test_terminal_plain(tmp):
    """On a terminal: the messages without "<N>" prefixes."""
    master, slave = pty.openpty()
    p = subprocess.Popen(daemon_args(tmp), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"})
    os.close(slave)
    out = b""
    try:
        def got_decision():
            nonlocal out
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    pass
            return b"Would set (dry run)" in out
        wait_for(got_decision, 15, "the decision on the terminal")
    finally:
        stop(p)
        os.close(master)
    lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
    check(lines and not any(line.startswith("<") for line in lines), "terminal lines have no <N> prefix",
          "no '<'", lines[:5])


def test_stale_journal_stream(tmp):
    """JOURNAL_STREAM of another file (inherited, say): "<N>" lines as before."""
    path = os.path.join(tmp, "err")
    with open(path, "w") as f:
        p = subprocess.Popen(daemon_args(tmp), stdout=f, stderr=f, env=dict(os.environ, JOURNAL_STREAM="1:2"))
        try:
            wait_for(lambda: "Would set (dry run)" in open(path).read(), 15, "the decision on stderr")
        finally:
            stop(p)
    lines = [line for line in open(path).read().splitlines() if line]
    check(all(line.startswith("<") for line in lines), "every line has its <N> prefix", "<N>...", lines[:5])


if __name__ == "__main__":
    if INNER in sys.argv:
        main([test_journal_fields])
    if os.geteuid() != 0:
        log("needs root (a mount namespace for the journal socket)")
        sys.exit(SKIP)
    # The journal test in a private mount namespace (not possible in a chroot).
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        log(f"unshare --mount failed ({probe.stderr.strip()}): cannot bind a private journal socket")
        sys.exit(SKIP)
    inner = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, __file__, INNER])
    if inner.returncode != 0:
        sys.exit(inner.returncode)
    main([test_terminal_plain, test_stale_journal_stream])
