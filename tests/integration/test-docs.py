#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The man pages and the shipped configuration file against the code.

Everything is discovered, not listed here: the keys and their defaults from
the key table (through tests/helpers/conf-keys), options from each program's
--help, signals from the daemon's handler table. A key, option, verb or
signal that exists on one side only fails the test, and so does a default
or a range that the documentation states wrongly.

Regular forms the pages keep (see the comment at the top of each page):
  ksmtuned.conf(5)  ".It Cm KEY Ns = Ns Ar unit" items in KEYS, each with
                    "from MIN to MAX" for integers and "Default:" followed
                    by a ".Ql VALUE" line;
  ksmtuned(8)       ".It Fl x Ar arg , Fl -long Ar arg" items in OPTIONS,
                    ".It Dv SIGNAL" items in SIGNALS;
  ksmctl(8)         ".It Cm verb" items in COMMANDS, ".It Fl" items anywhere.
"""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ksmtest  # noqa: E402
from ksmtest import check, log, run  # noqa: E402

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("abs_top_builddir", SRCDIR)
CONF_KEYS = os.environ.get("CONF_KEYS", os.path.join(BUILDDIR, "tests", "helpers", "conf-keys"))
MAN_PAGES = ["ksmtuned.8", "ksmctl.8", "ksmtuned.conf.5"]
SHIPPED_CONF = os.path.join(SRCDIR, "etc", "ksmtuned.conf")


# ---------------------------------------------------------------- parsing

def man_source(page):
    """The page as written (before configure's paths are put in)."""
    with open(os.path.join(SRCDIR, "man", page + ".in")) as f:
        return f.read()


def man_section(text, name):
    """Lines of the .Sh NAME section."""
    m = re.search(rf"^\.Sh {re.escape(name)}\n(.*?)(?=^\.Sh |\Z)", text, re.M | re.S)
    check(m, f"section {name} exists")
    return m.group(1)


def unroff(s):
    """The few escapes our pages use, undone."""
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1]
    return s.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "")


def man_flags(line):
    """Flags named by Fl macros on one mdoc line: 'Fl c' -> -c, 'Fl -root' -> --root."""
    return ["-" + m for m in re.findall(r"\bFl (\S+)", line)]


def man_options(text):
    """{flag: argument or None} from the .It Fl items of a page."""
    opts = {}
    for line in re.findall(r"^\.It (.*Fl .*)$", text, re.M):
        for m in re.finditer(r"\bFl (\S+)(?: Ar (\S+))?", line):
            opts["-" + m.group(1)] = m.group(2)
    return opts


def help_options(text):
    """{flag: METAVAR lowercased or None} from --help output."""
    opts = {}
    for m in re.finditer(r"(?:^|[\s\[,|])(--?[A-Za-z0-9][A-Za-z0-9-]*)(?:[ =]([A-Z][A-Z_]*)\b)?", text, re.M):
        opts[m.group(1)] = m.group(2).lower() if m.group(2) else None
    # "-c, --config FILE": the argument belongs to both spellings.
    for m in re.finditer(r"(-[A-Za-z0-9]), (--[A-Za-z0-9-]+)[ =]([A-Z][A-Z_]*)\b", text):
        opts[m.group(1)] = opts[m.group(2)] = m.group(3).lower()
    return opts


def help_verbs(text):
    """Verbs listed under a 'Commands:' or 'Verbs:' line of --help."""
    m = re.search(r"^(?:Commands|Verbs):?\s*\n(.*?)(?:\n\s*\n|\Z)", text, re.M | re.S | re.I)
    if not m:
        return set()
    return set(re.findall(r"^\s+([a-z][a-z-]*)\b", m.group(1), re.M))


def code_keys():
    """{KEY: default} from the key table."""
    p = run(CONF_KEYS, check_status=0)
    return dict(line.split("=", 1) for line in p.stdout.splitlines())


def key_blocks(text):
    """{KEY: (unit, text of its item)} from the KEYS section of ksmtuned.conf(5)."""
    keys = man_section(text, "KEYS")
    blocks = {}
    for m in re.finditer(r"^\.It Cm ([A-Z][A-Z0-9_]*)(?: Ns = Ns Ar (\S+))?\n(.*?)(?=^\.It |^\.El)", keys, re.M | re.S):
        check(m.group(1) not in blocks, f"ksmtuned.conf(5) describes {m.group(1)} once")
        blocks[m.group(1)] = (m.group(2), m.group(3))
    return blocks


# ---------------------------------------------------------------- tests

def test_keys_in_config_page(tmp):
    """Every key of the code has an item in ksmtuned.conf(5), and no other key."""
    code = code_keys()
    check(len(code) >= 11, "the key table has at least the old script's keys", ">= 11", len(code))
    page = set(key_blocks(man_source("ksmtuned.conf.5")))
    check(page == set(code), "keys in ksmtuned.conf(5) (missing, extra)",
          ([], []), (sorted(set(code) - page), sorted(page - set(code))))


def test_defaults_and_ranges_in_config_page(tmp):
    """Each key's documented default is the built-in one; each documented
    integer range is the one the parser enforces, at both ends."""
    code = code_keys()
    for key, (unit, body) in key_blocks(man_source("ksmtuned.conf.5")).items():
        m = re.search(r"^Default:\n\.Ql (.*?)(?: [.,;])?$", body, re.M)
        check(m, f"ksmtuned.conf(5): {key} has 'Default:' and a .Ql line")
        check(unroff(m.group(1)) == code[key], f"ksmtuned.conf(5): default of {key}", code[key], unroff(m.group(1)))

        r = re.search(r"from (-?\d+) to (-?\d+)", body)
        if unit != "boolean" and re.fullmatch(r"-?\d+", code[key]):
            check(r, f"ksmtuned.conf(5): integer key {key} states its range 'from MIN to MAX'")
        if not r:
            continue
        lo, hi = int(r.group(1)), int(r.group(2))
        path = os.path.join(tmp, "range.conf")
        # KSM_NPAGES_MIN may not exceed KSM_NPAGES_MAX: open the room up.
        extra = {"KSM_NPAGES_MIN": "0", "KSM_NPAGES_MAX": "10000000"}
        extra.pop(key, None)
        for value, good in [(lo, True), (hi, True), (lo - 1, False), (hi + 1, False)]:
            ksmtest.write_config(path, **extra, **{key: value})
            p = run(CONF_KEYS, path)
            check((p.returncode == 0) == good,
                  f"{key}={value} is {'accepted' if good else 'refused'} as ksmtuned.conf(5) says",
                  "exit 0" if good else "an error", f"exit {p.returncode}: {p.stderr.strip()}")


# What the shipped file sets on purpose (issue: new installs get adaptive).
SHIPPED_SETTINGS = {"KSM_POLICY": "adaptive"}


def test_shipped_config(tmp):
    """etc/ksmtuned.conf names every key once, commented out at its default,
    but for the settings it makes on purpose."""
    code = code_keys()
    with open(SHIPPED_CONF) as f:
        lines = f.read().splitlines()
    seen = []
    uncommented = []
    for line in lines:
        m = re.match(r"^(#?) ?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if not m:
            continue
        seen.append(m.group(2))
        if m.group(2) in SHIPPED_SETTINGS:
            check(m.group(1) == "" and m.group(3) == SHIPPED_SETTINGS[m.group(2)],
                  f"etc/ksmtuned.conf sets {m.group(2)}", f"{m.group(2)}={SHIPPED_SETTINGS[m.group(2)]}", line)
            continue
        check(m.group(1) == "#", "every other key in etc/ksmtuned.conf is commented out", "# " + m.group(2), line)
        uncommented.append(f"{m.group(2)}={m.group(3)}")
    check(len(seen) == len(set(seen)), "each key once in etc/ksmtuned.conf",
          sorted(set(seen)), sorted(seen))
    check(set(seen) == set(code), "keys in etc/ksmtuned.conf (missing, extra)",
          ([], []), (sorted(set(code) - set(seen)), sorted(set(seen) - set(code))))
    # The commented values, read by the real parser, are the defaults.
    path = os.path.join(tmp, "uncommented.conf")
    with open(path, "w") as f:
        f.write("\n".join(uncommented) + "\n")
    p = run(CONF_KEYS, path)
    check(p.returncode == 0, "the commented values of etc/ksmtuned.conf parse", 0, p.stderr)
    got = dict(line.split("=", 1) for line in p.stdout.splitlines())
    diff = {k: (code[k], got[k]) for k in code if k not in SHIPPED_SETTINGS and got[k] != code[k]}
    check(not diff, "values in etc/ksmtuned.conf are the defaults ({key: (default, shipped)})", {}, diff)


def test_daemon_options(tmp):
    """Every option of ksmtuned --help is in ksmtuned(8) with the same
    argument, and the other way round; every short option in the SYNOPSIS."""
    p = run(ksmtest.KSMTUNED, "--help", check_status=0)
    helped = help_options(p.stdout)
    check("--help" in helped and "-c" in helped, "ksmtuned --help lists its options", "--help, -c ...", p.stdout)
    text = man_source("ksmtuned.8")
    documented = man_options(man_section(text, "OPTIONS"))
    check(set(helped) == set(documented), "ksmtuned options in --help vs ksmtuned(8) OPTIONS (only in help, only in page)",
          ([], []), (sorted(set(helped) - set(documented)), sorted(set(documented) - set(helped))))
    for flag, arg in helped.items():
        check(documented[flag] == arg, f"ksmtuned(8): argument of {flag}", arg, documented[flag])
    synopsis = man_section(text, "SYNOPSIS")
    letters = set()
    for f in re.findall(r"\bFl ([A-Za-z0-9]+)\b", synopsis):
        letters.update(f)
    for m in re.finditer(r"\bFl [A-Za-z0-9]+ \| ([A-Za-z0-9])\b", synopsis):
        letters.add(m.group(1))
    missing = sorted(f for f in helped if re.fullmatch(r"-\w", f) and f[1] not in letters)
    check(not missing, "every short option in the SYNOPSIS of ksmtuned(8)", [], missing)


def test_daemon_signals(tmp):
    """The signals the daemon handles are those --help and ksmtuned(8) name."""
    with open(os.path.join(SRCDIR, "src", "ksmtuned", "manager.c")) as f:
        m = re.search(r"static const int sigs\[\] = \{([^}]*)\}", f.read())
    check(m, "src/ksmtuned/manager.c has its 'static const int sigs[]' table (update this test if it moved)")
    code = set(re.findall(r"SIG[A-Z0-9]+", m.group(1)))
    helped = set(re.findall(r"\bSIG[A-Z0-9]+", run(ksmtest.KSMTUNED, "--help", check_status=0).stdout))
    page = set()
    for line in re.findall(r"^\.It Dv (.*)$", man_section(man_source("ksmtuned.8"), "SIGNALS"), re.M):
        page.update(re.findall(r"SIG[A-Z0-9]+", line))
    check(helped == code, "signals named by ksmtuned --help", sorted(code), sorted(helped))
    check(page == code, "signals in ksmtuned(8) SIGNALS", sorted(code), sorted(page))


def test_client_page(tmp):
    """ksmctl(8) against ksmctl --help: verbs and options. Until ksmctl is
    built, only that the page lists the verbs ksm.service runs."""
    text = man_source("ksmctl.8")
    verbs = set(re.findall(r"^\.It Cm ([a-z][a-z-]*)", man_section(text, "COMMANDS"), re.M))
    check({"start", "stop"} <= verbs, "ksmctl(8) documents start and stop (ksm.service runs them)",
          ["start", "stop"], sorted(verbs))
    ksmctl = os.path.join(BUILDDIR, "ksmctl")
    if not os.access(ksmctl, os.X_OK):
        log(f"ksmctl is not built here: its --help is not compared with ksmctl(8) (page verbs: {sorted(verbs)})")
        return
    p = run(ksmctl, "--help", check_status=0)
    helped_verbs = help_verbs(p.stdout)
    check(helped_verbs, "ksmctl --help lists its verbs under a 'Commands:' line", "Commands:", p.stdout)
    check(helped_verbs == verbs, "ksmctl verbs in --help vs ksmctl(8) COMMANDS (only in help, only in page)",
          ([], []), (sorted(helped_verbs - verbs), sorted(verbs - helped_verbs)))
    helped = help_options(p.stdout)
    documented = man_options(text)
    check(set(helped) == set(documented), "ksmctl options in --help vs ksmctl(8) (only in help, only in page)",
          ([], []), (sorted(set(helped) - set(documented)), sorted(set(documented) - set(helped))))
    for flag, arg in helped.items():
        check(documented[flag] == arg, f"ksmctl(8): argument of {flag}", arg, documented[flag])


def test_pages_lint_clean(tmp):
    """The generated pages have no mandoc warning (or groff's, without mandoc)."""
    pages = [os.path.join(BUILDDIR, "man", p) for p in MAN_PAGES]
    for page in pages:
        check(os.path.exists(page), f"{page} was generated by make")
        with open(page) as f:
            leftover = re.findall(r"@[a-zA-Z_]+@", f.read())
        check(not leftover, f"{page}: every @placeholder@ substituted", [], leftover)
    if shutil.which("mandoc"):
        p = run("mandoc", "-Tlint", "-W", "warning", *pages)
        check(p.returncode == 0 and not (p.stdout + p.stderr).strip(), "mandoc -Tlint -W warning is silent",
              "", p.stdout + p.stderr)
    elif shutil.which("groff"):
        log("mandoc not found (scripts/install-deps.sh installs it): using groff -ww -z")
        p = run("groff", "-mdoc", "-ww", "-z", *pages)
        check(p.returncode == 0 and not p.stderr.strip(), "groff -ww -z is silent", "", p.stderr)
    else:
        check(False, "mandoc or groff is installed to lint the man pages")


if __name__ == "__main__":
    ksmtest.main([test_keys_in_config_page, test_defaults_and_ranges_in_config_page, test_shipped_config,
                  test_daemon_options, test_daemon_signals, test_client_page, test_pages_lint_clean])
