#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The bash completion of ksmctl offers exactly the verbs and options of
"ksmctl --help" and "ksmctl VERB --help", run in a real bash."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ksmtest  # noqa: E402
from ksmtest import check, log, run  # noqa: E402

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
COMPLETION = os.path.join(SRCDIR, "shell-completion", "bash", "ksmctl")
KSMCTL = os.environ.get("KSMCTL")


def complete(*words):
    """What bash offers after 'ksmctl WORDS...' (the last word is the one completed)."""
    script = (f". {COMPLETION}\n"
              f"COMP_WORDS=({KSMCTL} \"$@\"); COMP_CWORD=$#; _ksmctl; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    p = run("bash", "--norc", "-c", script, "bash", *words, check_status=0)
    return sorted(w for w in p.stdout.splitlines() if w)


def help_verbs():
    out = run(KSMCTL, "--help", check_status=0).stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return sorted(m.group(1) for m in re.finditer(r"^  ([a-z-]+)", block, re.M))


def long_options(text):
    return sorted(set(re.findall(r"(--[a-z][a-z-]*)", text)))


def test_verbs_and_options(tmp):
    verbs = help_verbs()
    check(complete("") == verbs, "verbs offered", verbs, complete(""))
    check(complete("st") == [v for v in verbs if v.startswith("st")], "verbs offered for 'st'",
          [v for v in verbs if v.startswith("st")], complete("st"))
    top = run(KSMCTL, "--help", check_status=0).stdout.split("Options:\n", 1)[1]
    check(complete("-") == long_options(top), "global options offered", long_options(top), complete("-"))
    for verb in verbs:
        want = long_options(run(KSMCTL, verb, "--help", check_status=0).stdout)
        check(complete(verb, "-") == want, f"options of '{verb}' offered", want, complete(verb, "-"))
        check(complete("--root", "/", verb, "-") == want, f"options of '{verb}' after --root DIR", want,
              complete("--root", "/", verb, "-"))
    for verb, opt in [("status", "--top"), ("metrics", "--top"), ("doctor", "--sample-ms")]:
        check(complete(verb, opt, "") == [], f"nothing offered for the number after '{verb} {opt}'",
              [], complete(verb, opt, ""))
    dirs = complete("--root", "/")
    check("/etc" in dirs and "/etc/hostname" not in dirs, "--root completes directories", "/etc", dirs)


if __name__ == "__main__":
    if not KSMCTL or not shutil.which("bash"):
        log("needs bash and KSMCTL from make check")
        sys.exit(ksmtest.SKIP)
    ksmtest.main([test_verbs_and_options])
