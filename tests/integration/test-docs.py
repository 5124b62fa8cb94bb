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
README.md's key table, its D-Bus section and its list of metric families are
checked too, against the key table, src/ksmtuned/bus.h and bus-vtable.c, and
src/shared/metrics.c; so are the D-Bus members and types of ksmtuned(8).
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

def source_text(*path):
    """The text of a file of the source tree."""
    with open(os.path.join(SRCDIR, *path)) as f:
        return f.read()


def man_source(page):
    """The page as written (before configure's paths are put in)."""
    return source_text("man", page + ".in")


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
    m = re.search(r"static const int sigs\[\] = \{([^}]*)\}", source_text("src", "ksmtuned", "manager.c"))
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


def test_readme_keys(tmp):
    """The key table of README.md lists every key of the code, once, with its
    built-in default ("(none)" for an empty one)."""
    code = code_keys()
    rows = {}
    for m in re.finditer(r"^\| `([A-Z][A-Z0-9_]*)` \| ((?:[^|\\]|\\.)*?) \|", source_text("README.md"), re.M):
        check(m.group(1) not in rows, f"README.md lists {m.group(1)} once in its key table")
        value = m.group(2).replace("\\|", "|")
        if value == "(none)":
            value = ""
        elif len(value) >= 2 and value[0] == value[-1] == "`":
            value = value[1:-1]
        rows[m.group(1)] = value
    check(set(rows) == set(code), "keys in README.md's table (missing, extra)",
          ([], []), (sorted(set(code) - set(rows)), sorted(set(rows) - set(code))))
    diff = {k: (code[k], rows[k]) for k in code if rows[k] != code[k]}
    check(not diff, "defaults in README.md's key table ({key: (code, README)})", {}, diff)


def bus_properties():
    """{name: D-Bus type} of the daemon's properties, from src/ksmtuned/bus.h
    and the Version property of the vtable."""
    props = dict(re.findall(r'X\("([A-Za-z]+)", ([a-z]), ', source_text("src", "ksmtuned", "bus.h")))
    vtable = source_text("src", "ksmtuned", "bus-vtable.c")
    props.update(re.findall(r'SD_BUS_PROPERTY\("([A-Za-z]+)", "([a-z])"', vtable))
    methods = set(re.findall(r'SD_BUS_METHOD[A-Z_]*\("([A-Za-z]+)"', vtable))
    check(len(props) >= 10 and methods, "the properties and methods are found in bus.h and bus-vtable.c "
          "(update this test if they moved)", ">= 10 properties, methods", (props, methods))
    return props, methods


def test_bus_members_documented(tmp):
    """Every D-Bus method and property of the vtable is in ksmtuned(8)'s
    D-BUS INTERFACE section and in README.md's D-Bus section, and no other."""
    props, methods = bus_properties()
    section = man_section(man_source("ksmtuned.8"), "D-BUS INTERFACE")
    page_methods = set(re.findall(r"^\.It Fn ([A-Za-z]+)", section, re.M))
    check(page_methods == methods, "methods in ksmtuned(8)", sorted(methods), sorted(page_methods))
    m = re.search(r"^Read-only properties.*?(?=^\.Pp)", section, re.M | re.S)
    check(m, "ksmtuned(8) has its 'Read-only properties' paragraph")
    page_props = set(re.findall(r"^\.Li ([A-Z][A-Za-z]+)", m.group(0), re.M)) - {"PropertiesChanged"}
    check(page_props == set(props), "properties in ksmtuned(8) (missing, extra)",
          ([], []), (sorted(set(props) - page_props), sorted(page_props - set(props))))
    # Each documented type, "(x)" or "(all t)" after a run of names.
    pending = []
    for line in m.group(0).splitlines():
        n = re.match(r"^\.Li ([A-Z][A-Za-z]+)", line)
        t = re.match(r"^\.Pq (?:all |both )?([a-z])\b", line)
        if n and n.group(1) in props:
            pending.append(n.group(1))
        elif t and pending:
            wrong = {p: props[p] for p in pending if props[p] != t.group(1)}
            check(not wrong, f"ksmtuned(8): the type ({t.group(1)}) of {pending}", {}, wrong)
            pending = []
    readme = re.search(r"^## D-Bus\n(.*?)(?=^## )", source_text("README.md"), re.M | re.S)
    check(readme, "README.md has a '## D-Bus' section")
    named = set(re.findall(r"`([A-Z][A-Za-z]+)\b", readme.group(1)))
    missing = sorted((set(props) | methods) - named)
    check(not missing, "D-Bus members missing from README.md's D-Bus section", [], missing)


def metric_families():
    """{family: type} written by src/shared/metrics.c, with the ksmtuned_ prefix."""
    text = source_text("src", "shared", "metrics.c")
    fams = {}
    for m in re.finditer(r'\b(gauge_u64|counter_u64|family)\(f, "([a-z_]+)", (?:"([a-z]+)")?', text):
        fams["ksmtuned_" + m.group(2)] = m.group(3) or ("counter" if m.group(1) == "counter_u64" else "gauge")
    check(len(fams) >= 20, "metric families found in src/shared/metrics.c (update this test if they moved)",
          ">= 20", sorted(fams))
    return fams


def test_metrics_documented(tmp):
    """README.md's list of metric families is the set the metrics writer
    writes ("ksmtuned_ksm_run, _pages_to_scan" abbreviates a shared prefix),
    counters and only counters end in _total, and each family ksmtuned(8)
    or ksmtuned.conf(5) names exists."""
    fams = metric_families()
    for name, kind in fams.items():
        check(name.endswith("_total") == (kind == "counter"),
              f"{name}: _total on counters only", "counter" if name.endswith("_total") else "gauge", kind)
    section = re.search(r"^Every family has .*?(?=\n\n)", source_text("README.md"), re.M | re.S)
    check(section, "README.md has its 'Every family has' paragraph")
    named = set()
    prefix = None
    for tok in re.findall(r"`(_?[a-z][a-z_]*)(?:\{[^}]*\})?`", section.group(0)):
        if tok == "ksmtuned_":
            continue  # the prefix itself, named before the list
        if tok.startswith("ksmtuned_"):
            named.add(tok)
            prefix = tok
        elif tok.startswith("_") and prefix:
            # "_pages_to_scan" after "ksmtuned_ksm_run": the prefix up to the last word of the first name.
            cands = [prefix[:i] + tok for i in range(len(prefix)) if prefix[i] == "_"]
            hit = [c for c in cands if c in fams]
            named.add(hit[-1] if hit else prefix + tok)
    check(named == set(fams), "metric families in README.md (missing, not written)",
          ([], []), (sorted(set(fams) - named), sorted(named - set(fams))))
    for page in MAN_PAGES:
        for name in set(re.findall(r"\bksmtuned_[a-z_]+", man_source(page))):
            check(name in fams, f"{page} names the metric {name}, which the code writes", True, False)


def test_readme_paths(tmp):
    """Every file of the source tree that README.md names in backquotes exists
    (a program built from FILE.c counts, a glob must match)."""
    import glob
    tops = {e for e in os.listdir(SRCDIR) if os.path.isdir(os.path.join(SRCDIR, e)) and not e.startswith(".")}
    missing = []
    for path in sorted(set(re.findall(r"`([a-z][A-Za-z0-9_.*-]*/[A-Za-z0-9_./*-]*)`", source_text("README.md")))):
        if path.split("/")[0] not in tops or path.split("/")[0].startswith("build"):
            continue  # an installed path (share/...), not the source tree's
        full = os.path.join(SRCDIR, path)
        if not (glob.glob(full) or os.path.exists(full + ".c")):
            missing.append(path)
    check(not missing, "paths of the source tree named by README.md exist", [], missing)


# configure's directories with no option on Debian 12, as docs/packaging.md shows them.
DEFAULT_DIRS = {"sbindir": "/usr/local/sbin", "sysconfdir": "/etc", "dbuspolicydir": "/etc/dbus-1/system.d",
                "mandir": "/usr/local/share/man", "pkgdatadir": "/usr/local/share/ksmtuned",
                "systemdsystemunitdir": "/usr/local/lib/systemd/system",
                "bashcompletiondir": "/usr/local/share/bash-completion/completions"}


def test_packaging_file_list(tmp):
    """docs/packaging.md's list of installed files is tests/data/install-files.txt
    (which test-install.py checks against make install) for a plain ./configure."""
    want = {re.sub(r"@([a-z]+)@", lambda m: DEFAULT_DIRS[m.group(1)], line.strip())
            for line in source_text("tests", "data", "install-files.txt").splitlines()
            if line.strip() and not line.startswith("#")}
    m = re.search(r"^## Installed files\n.*?\n\n((?:    /[^\n]*\n)+)", source_text("docs", "packaging.md"),
                  re.M | re.S)
    check(m, "docs/packaging.md has its indented list under '## Installed files'")
    listed = {line.strip() for line in m.group(1).splitlines()}
    check(listed == want, "files in docs/packaging.md (missing, extra)",
          ([], []), (sorted(want - listed), sorted(listed - want)))


def test_journal_fields_documented(tmp):
    """The journal fields of a decision (src/ksmtuned/decision-log.c) are those
    ksmtuned(8) and README.md list."""
    code = set(re.findall(r'"(KSMTUNED_[A-Z_]+)=', source_text("src", "ksmtuned", "decision-log.c")))
    check(len(code) >= 5, "journal fields found in decision-log.c (update this test if they moved)", ">= 5", code)
    page = set(re.findall(r"^\.Li (KSMTUNED_[A-Z_]+)", man_section(man_source("ksmtuned.8"), "DESCRIPTION"), re.M))
    check(page == code, "journal fields in ksmtuned(8) (missing, extra)",
          ([], []), (sorted(code - page), sorted(page - code)))
    readme = set(re.findall(r"`(KSMTUNED_[A-Z_]+)`", source_text("README.md"))) - {"KSMTUNED_KERNEL_TESTS"}
    check(readme == code, "journal fields in README.md (missing, extra)",
          ([], []), (sorted(code - readme), sorted(readme - code)))


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
                  test_daemon_options, test_daemon_signals, test_client_page, test_readme_keys,
                  test_bus_members_documented, test_metrics_documented, test_readme_paths,
                  test_packaging_file_list, test_journal_fields_documented,
                  test_pages_lint_clean])
