#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmtuned's command line: options, exit statuses, config checking."""
import os

import ksmtest  # noqa: E402
from ksmtest import KSMTUNED, TEST_DATA, check, main, run, write_config

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_help_and_version(tmp):
    p = run(KSMTUNED, "--help", check_status=0)
    for opt in ("--config", "--foreground", "--once", "--dry-run", "--root", "--test-config",
                "--debug", "--version", "--help", "SIGUSR1", "SIGHUP"):
        check(opt in p.stdout, f"--help mentions {opt}", got=p.stdout)
    p = run(KSMTUNED, "--version", check_status=0)
    check(p.stdout.startswith("ksmtuned "), "--version output", got=p.stdout)


def test_usage_errors(tmp):
    p = run(KSMTUNED, "--bogus", check_status=2)
    check("--help" in p.stderr, "hint on a bad option", got=p.stderr)
    run(KSMTUNED, "extra-argument", check_status=2)
    run(KSMTUNED, "--root", "", check_status=2)


def test_test_config(tmp):
    p = run(KSMTUNED, "--test-config", "--config", os.path.join(TEST_DATA, "ksmtuned.conf.debian-old"),
            check_status=0)
    check("configuration OK" in p.stdout, "configuration OK", got=p.stdout)
    bad = os.path.join(tmp, "bad.conf")
    # What the old script ran with starts, with a warning naming file:line.
    with open(bad, "w") as f:
        f.write("# ok\nDEBUG=foo\nKSM_THRES_COEF=150\nKSM_NPAGES_DECAY=5\n")
    p = run(KSMTUNED, "--test-config", "--config", bad, check_status=0)
    check("configuration OK" in p.stdout, "an old script's file is OK", got=p.stdout)
    for line, what in [(2, "DEBUG=foo: not a boolean"), (3, "KSM_THRES_COEF=150: outside 0..100"),
                       (4, "KSM_NPAGES_DECAY=5: outside -10000000..0")]:
        check(f"<4>{bad}:{line}: {what}" in p.stderr, f"warning for line {line}", got=p.stderr)
    # What the shell read differently is an error naming file, line and value.
    for text, line, what in [
            ("# ok\nKSM_NPAGES_BOOST = 500\n", 2, "KSM_NPAGES_BOOST = 500: blanks around '='"),
            ("KSM_SLEEP_MSEC=020\n", 1, "KSM_SLEEP_MSEC=020: leading zero: the old script's shell arithmetic read it as octal 16"),
            ("KSM_MONITOR_INTERVAL=10\r\n", 1, "carriage return"),
            ("\0" * 4096, 1, "NUL byte"),
            ("\ufeffLOGFILE=/" + "x" * 190 + "\n", 1, "UTF-8 byte order mark")]:
        with open(bad, "w") as f:
            f.write(text)
        p = run(KSMTUNED, "--test-config", "--config", bad, check_status=1)
        check(f"{bad}:{line}: {what}" in p.stderr, f"error for {text[:30]!r}", got=p.stderr)
        check("configuration OK" not in p.stdout, "no 'configuration OK' after an error", got=p.stdout)
    # A FIFO is refused at once: a blocking open would hang (run() times out).
    fifo = os.path.join(tmp, "fifo.conf")
    os.mkfifo(fifo)
    p = run(KSMTUNED, "--test-config", "--config", fifo, check_status=1, timeout=20)
    check(f"{fifo}: not a regular file" in p.stderr, "FIFO refused", got=p.stderr)
    with open(bad, "w") as f:
        f.write("KSM_FOO=1\n")
    p = run(KSMTUNED, "--test-config", "--config", bad, check_status=0)
    check(f"<4>{bad}:1: unknown key KSM_FOO, ignored" in p.stderr, "unknown key warns", got=p.stderr)
    p = run(KSMTUNED, "--test-config", "--config", os.path.join(tmp, "missing.conf"), check_status=1)
    check("missing.conf: No such file or directory" in p.stderr, "missing explicit config", got=p.stderr)


def test_not_root_or_no_ksm(tmp):
    if os.geteuid() != 0:
        raise ksmtest.Skip("needs root (to run ksmtuned as nobody with setpriv)")
    conf = write_config(os.path.join(tmp, "k.conf"))
    os.chmod(tmp, 0o755)
    p = run(*NOBODY, KSMTUNED, "--once", "--config", conf, check_status=1)
    check("Must run as root" in p.stderr, "non-root refused", got=p.stderr)
    # --dry-run needs no privileges.
    p = run(*NOBODY, KSMTUNED, "--once", "--dry-run", "--config", conf, check_status=0)
    check("reason:" in p.stdout, "dry run as nobody prints a decision", got=p.stdout)

    empty = os.path.join(tmp, "empty-root")
    os.makedirs(os.path.join(empty, "proc"))
    p = run(KSMTUNED, "--once", "--root", empty, "--config", conf, check_status=1)
    check(f"Cannot open {empty}/sys/kernel/mm/ksm" in p.stderr, "missing KSM sysfs named", got=p.stderr)


def test_once_prints_decision(tmp):
    conf = write_config(os.path.join(tmp, "k.conf"), KSM_GUEST_REGEX="'^ksmtuned-no-such-guest$'")
    p = run(KSMTUNED, "--once", "--dry-run", "--config", conf, check_status=0)
    lines = p.stdout.splitlines()
    check(lines[-1].startswith("reason: "), "last line is the reason", got=p.stdout)
    check(any(l.startswith("run=") for l in lines), "run target printed", got=p.stdout)


main([test_help_and_version, test_usage_errors, test_test_config, test_not_root_or_no_ksm,
      test_once_prints_decision])
