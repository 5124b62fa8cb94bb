#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/: the Prometheus rules pass promtool's checks and unit tests."""
import os
import shutil
import subprocess

from ksmtest import check, main
from prom import need

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(SRCDIR, "contrib", "prometheus")


def test_rules_check_and_unit_tests(tmp):
    promtool = need("promtool", "prometheus")
    # A copy: promtool resolves rule_files next to the test file.
    for name in ("ksmtuned.rules.yml", "ksmtuned.rules.test.yml"):
        shutil.copy(os.path.join(RULES, name), tmp)
    p = subprocess.run([promtool, "check", "rules", "ksmtuned.rules.yml"], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 0, f"promtool check rules ({p.stdout}{p.stderr})", 0, p.returncode)
    p = subprocess.run([promtool, "test", "rules", "ksmtuned.rules.test.yml"], cwd=tmp, capture_output=True,
                       text=True)
    check(p.returncode == 0, f"promtool test rules ({p.stdout}{p.stderr})", 0, p.returncode)

    # Every alert has a firing and a quiet case in the unit tests.
    with open(os.path.join(tmp, "ksmtuned.rules.yml")) as f:
        alerts = [line.split(":", 1)[1].strip() for line in f if line.strip().startswith("- alert:")]
    with open(os.path.join(tmp, "ksmtuned.rules.test.yml")) as f:
        tests = f.read()
    for a in alerts:
        check(tests.count(f"alertname: {a}\n") >= 2, f"{a} is tested firing and not firing", ">= 2",
              tests.count(f"alertname: {a}\n"))

    # And the tests can fail: a rule that never fires breaks them.
    with open(os.path.join(tmp, "ksmtuned.rules.yml")) as f:
        text = f.read()
    with open(os.path.join(tmp, "ksmtuned.rules.yml"), "w") as f:
        f.write(text.replace("expr: ksmtuned_yielded == 1", "expr: ksmtuned_yielded == 2"))
    p = subprocess.run([promtool, "test", "rules", "ksmtuned.rules.test.yml"], cwd=tmp, capture_output=True,
                       text=True)
    check(p.returncode != 0, "promtool test rules fails on a broken rule", "non-zero", p.returncode)


main([test_rules_check_and_unit_tests])
