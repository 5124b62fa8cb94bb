#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmtuned's command line: options, exit statuses, config checking."""
import os

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
    with open(bad, "w") as f:
        f.write("# ok\nKSM_NPAGES_MIN=2000\n")
    p = run(KSMTUNED, "--test-config", "--config", bad, check_status=1)
    check(f"{bad}:2: KSM_NPAGES_MIN=2000 is greater than KSM_NPAGES_MAX=1250" in p.stderr,
          "error names file, line, key and value", got=p.stderr)
    with open(bad, "w") as f:
        f.write("KSM_MONITOR_INTERVAL=10\n    KSM_SLEEP_MSEC=5\n")
    p = run(KSMTUNED, "--test-config", "--config", bad, check_status=1)
    check(f"{bad}:2: indented line" in p.stderr, "indented line named", got=p.stderr)
    with open(bad, "w") as f:
        f.write("KSM_FOO=1\n")
    p = run(KSMTUNED, "--test-config", "--config", bad, check_status=0)
    check(f"<4>{bad}:1: unknown key KSM_FOO, ignored" in p.stderr, "unknown key warns", got=p.stderr)
    p = run(KSMTUNED, "--test-config", "--config", os.path.join(tmp, "missing.conf"), check_status=1)
    check("missing.conf: No such file or directory" in p.stderr, "missing explicit config", got=p.stderr)


def test_not_root_or_no_ksm(tmp):
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
