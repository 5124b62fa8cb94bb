#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make install and make uninstall with DESTDIR, from the build directory.

The installed files must be exactly those of tests/data/install-files.txt,
and the configuration file must follow its rules: installed when absent,
never overwritten, removed on uninstall only while unchanged.
"""
import filecmp
import os
import re
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ksmtest  # noqa: E402
from ksmtest import check, log, run  # noqa: E402

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("abs_top_builddir")
# Exported by Makefile.am, already expanded by make.
DIRS = ["prefix", "sbindir", "sysconfdir", "datadir", "pkgdatadir", "mandir", "systemdsystemunitdir", "dbuspolicydir", "bashcompletiondir"]


def expected_files():
    paths = set()
    with open(os.path.join(SRCDIR, "tests", "data", "install-files.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("@systemdsystemunitdir@") and os.environ["systemdsystemunitdir"] in ("", "no"):
                continue
            for d in DIRS:
                line = line.replace(f"@{d}@", os.environ[d])
            check("@" not in line, "install-files.txt uses only known @placeholders@", DIRS, line)
            paths.add(os.path.normpath(line))
    return paths


def installed_files(destdir):
    """Absolute paths (without destdir) of every non-directory under destdir."""
    out = set()
    for root, dirs, files in os.walk(destdir):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            out.add("/" + os.path.relpath(os.path.join(root, name), destdir))
    return out


def make(*args):
    # Not the parent make's jobserver or flags: a plain sub-make of our own.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return run("make", "-s", "-C", BUILDDIR, *args, env=env, check_status=0)


# An absolute path naming one of the installed files, in any installed text
# (units, man pages, the libvirt hook, the bus policy...).
OWN_FILE = re.compile(r"(?<![\w.@$}-])(/[\w.+/-]*/(?:ksmctl|ksmtuned|libvirt-hook-qemu|org\.ksmtuned\.Tuner1\.conf"
                      r"|ksmtuned\.rules(?:\.test)?\.yml|ksmtuned\.conf|ksm\.service|ksmtuned\.service))(?![\w.-])")
# Paths of that form that are not installed files: the admin's links to the
# hook, D-Bus object paths, the runtime directory and the old packages' files ksmctl reads.
NOT_OURS = re.compile(r"^/(org/|etc/libvirt/|run/|var/|etc/sysconfig/|etc/default/|etc/systemd/|proc/|sys/)")


def check_references(dest, got):
    """Every installed file that names one of the installed files by its
    absolute path names it where make install put it: a /usr/local build's
    units, man pages and hook never point into /usr."""
    text_names = {}
    for path in sorted(got):
        with open(dest + path, "rb") as f:
            data = f.read()
        if b"\0" in data:
            continue
        for ref in OWN_FILE.findall(data.decode("utf-8", "replace")):
            ref = ref.rstrip(".")
            if NOT_OURS.match(ref) or ref == os.environ["sysconfdir"] + "/ksmtuned.conf" and ref in got:
                continue
            text_names.setdefault(ref, []).append(path)
    wrong = {ref: paths for ref, paths in text_names.items() if ref not in got}
    check(not wrong, "absolute paths to installed files that are not where they were installed", {}, wrong)
    sbin_line = [line for line in open(dest + os.environ["pkgdatadir"] + "/libvirt-hook-qemu")
                 if line.startswith("PATH=")]
    check(len(sbin_line) == 1 and ":" + os.environ["sbindir"] + ":" in sbin_line[0],
          "the installed libvirt hook looks for ksmctl in sbindir", os.environ["sbindir"], sbin_line)
    log(f"{len(text_names)} absolute paths to installed files, all where they were installed")


def test_install_and_uninstall(tmp):
    dest = os.path.join(tmp, "root")
    want = expected_files()
    conf = dest + os.environ["sysconfdir"] + "/ksmtuned.conf"
    shipped = os.path.join(SRCDIR, "etc", "ksmtuned.conf")

    make("install", f"DESTDIR={dest}")
    got = installed_files(dest)
    check(got == want, "installed files (missing, unexpected)", ([], []),
          (sorted(want - got), sorted(got - want)))
    for path in got:
        mode = stat.S_IMODE(os.lstat(dest + path).st_mode)
        # Programs, and the libvirt hook that libvirtd executes.
        if path.startswith(os.environ["sbindir"] + "/") or path.endswith("/libvirt-hook-qemu"):
            check(mode == 0o755, f"{path} mode", "0755", oct(mode))
        else:
            check(mode == 0o644, f"{path} mode", "0644", oct(mode))
    check(filecmp.cmp(conf, shipped, shallow=False), "the installed ksmtuned.conf is etc/ksmtuned.conf")
    check_references(dest, got)

    # An admin's edit survives a reinstall and an uninstall.
    with open(conf, "a") as f:
        f.write("KSM_NPAGES_MAX=2000\n")
    edited = open(conf).read()
    make("install", f"DESTDIR={dest}")
    check(open(conf).read() == edited, "a second make install keeps the edited ksmtuned.conf")
    make("uninstall", f"DESTDIR={dest}")
    left = installed_files(dest)
    check(left == {os.environ["sysconfdir"] + "/ksmtuned.conf"}, "make uninstall leaves only the edited config",
          [os.environ["sysconfdir"] + "/ksmtuned.conf"], sorted(left))
    check(open(conf).read() == edited, "make uninstall keeps the edited ksmtuned.conf unchanged")

    # Unchanged, it goes with the rest.
    with open(shipped) as src, open(conf, "w") as dst:
        dst.write(src.read())
    make("uninstall", f"DESTDIR={dest}")
    check(installed_files(dest) == set(), "make uninstall removes an unchanged config", [], sorted(installed_files(dest)))
    log(f"{len(want)} files installed and removed")


# Where Debian 12's dbus-daemon (system.conf) and systemd read them.
DBUS_DIRS = ["/usr/share/dbus-1/system.d", "/etc/dbus-1/system.d"]
UNIT_DIRS = ["/etc/systemd/system", "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"]


def test_paths_work_on_a_host(tmp):
    """A build for /usr or /usr/local (the README's plain ./configure) reads
    /etc/ksmtuned.conf and puts the bus policy and units where the system
    reads them; /usr/local never writes over a package's units."""
    prefix = os.environ["prefix"]
    if prefix not in ("/usr", "/usr/local"):
        log(f"prefix {prefix}: a private install, nothing to check")
        return
    p = run(os.environ["KSMTUNED"], "--help", check_status=0)
    check("read FILE instead of /etc/ksmtuned.conf" in p.stdout, "the daemon's default config is /etc/ksmtuned.conf",
          got=p.stdout)
    check(os.environ["sysconfdir"] == "/etc", "sysconfdir", "/etc", os.environ["sysconfdir"])
    check(os.environ["dbuspolicydir"] in DBUS_DIRS, "bus policy where dbus-daemon reads it", DBUS_DIRS,
          os.environ["dbuspolicydir"])
    units = os.environ["systemdsystemunitdir"]
    if units not in ("", "no"):
        check(units in UNIT_DIRS, "units where systemd reads them", UNIT_DIRS, units)
        if prefix == "/usr/local":
            check(units == "/usr/local/lib/systemd/system", "units of a /usr/local build away from the packages'",
                  "/usr/local/lib/systemd/system", units)


if __name__ == "__main__":
    missing = [v for v in ["abs_top_builddir", "KSMTUNED"] + DIRS if v not in os.environ]
    if missing:
        log(f"run from make check (needs {', '.join(missing)} from Makefile.am)")
        sys.exit(ksmtest.SKIP)
    ksmtest.main([test_install_and_uninstall, test_paths_work_on_a_host])
