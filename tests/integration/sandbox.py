# SPDX-License-Identifier: GPL-2.0-or-later
"""Run a command under the sandbox of a systemd service unit, without systemd.

systemd is not PID 1 on the build machines, so the unit cannot be started.
This applies the [Service] sandboxing settings by hand, the way systemd
does, with the same kernel mechanisms:

  namespaces   unshare(1): mount, user (PrivateUsers: root mapped to root),
               network, IPC, UTS
  mounts       done here, as root in those namespaces: every mount made
               read-only (ProtectSystem=strict) except the ReadWritePaths,
               which are bind-mounted on themselves first, as systemd does;
               /sys and /proc/sys read-only (ProtectKernelTunables,
               ProtectControlGroups); tmpfs on /tmp and /var/tmp; an empty
               /dev with the pseudo devices; empty, unreadable /home, /root,
               /run/user; /proc/kmsg unreadable
  credentials  setpriv(1): NoNewPrivileges, CapabilityBoundingSet,
               AmbientCapabilities, and UMask
  seccomp      libseccomp through ctypes: SystemCallFilter (groups expanded
               by "systemd-analyze syscall-filter", @default added to an
               allow list as systemd does), SystemCallErrorNumber,
               SystemCallArchitectures=native, RestrictAddressFamilies and
               MemoryDenyWriteExecute

Settings in NOT_REPRODUCED are reported and not applied; a setting that is in
neither list makes Sandbox() fail, so that a new one gets classified.

Usage: Sandbox(unit_path).command(argv, workdir) gives the argv to run.
"""
import ctypes
import ctypes.util
import errno
import json
import os
import re
import shutil
import subprocess
import sys

# The system's Python: one under /root or /home (pyenv, venv) is hidden inside.
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
# Settings that are not about confinement.
SERVICE_SETTINGS = {"Type", "ExecStart", "ExecStop", "ExecReload", "WatchdogSec", "Restart", "RestartSec",
                    "RemainAfterExit", "EnvironmentFile", "TimeoutStopSec", "NotifyAccess"}
REPRODUCED = {"ProtectSystem", "ReadWritePaths", "ProtectKernelTunables", "ProtectControlGroups",
              "ProtectKernelLogs", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateNetwork",
              "PrivateIPC", "ProtectHostname", "PrivateUsers", "PrivateMounts", "CapabilityBoundingSet",
              "AmbientCapabilities", "NoNewPrivileges", "UMask", "SystemCallFilter", "SystemCallErrorNumber",
              "SystemCallArchitectures", "RestrictAddressFamilies", "MemoryDenyWriteExecute"}
NOT_REPRODUCED = {
    "IPAddressDeny": "a BPF program on the unit's cgroup; the private network namespace has no route anyway",
    "DevicePolicy": "the cgroup device controller; the private /dev holds only pseudo devices anyway",
    "KeyringMode": "a session keyring of the service's own; the daemon uses no keys",
    "LockPersonality": "seccomp on personality(2), which the daemon does not call",
    "RestrictRealtime": "seccomp on sched_setscheduler(2), which the daemon does not call",
    "RestrictNamespaces": "seccomp on unshare/setns/clone flags; the daemon makes no namespace",
    "RestrictSUIDSGID": "seccomp on chmod with set-id bits; the file system is read-only anyway",
    "ProtectClock": "a device rule for the RTC; its system calls are in @clock, denied with @privileged",
    "ProtectKernelModules": "its system calls are in @module, denied with @privileged; /usr/lib/modules is read-only",
    "RuntimeDirectory": "systemd creates /run/ksmtuned writable; the daemons of these tests do not take the advisor",
    "RuntimeDirectoryPreserve": "keeps /run/ksmtuned across restarts; nothing to confine",
    "MemoryMax": "the cgroup memory controller; a resource limit, not confinement (the peak is measured in the unit)",
}

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 21, 1 << 24
ATIME_FLAGS = {"noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
LOCKED_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, **ATIME_FLAGS}
PSEUDO_DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]
# What ProtectKernelTunables= makes read-only under /proc (besides /sys).
PROC_TUNABLES = ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi",
                 "/proc/latency_stats", "/proc/mtrr", "/proc/timer_list", "/proc/asound"]
PROT_WRITE, PROT_EXEC, SHM_EXEC = 2, 4, 0o100000
SCMP_ACT_ALLOW, SCMP_ACT_KILL_PROCESS = 0x7FFF0000, 0x80000000
SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ = 4, 7
AF_FAMILIES = {"AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}


def parse_service(unit_path):
    """{setting: [values]} of the [Service] section; an empty value resets."""
    settings, section = {}, None
    with open(unit_path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]":
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def yes(settings, key):
    return settings.get(key, ["no"])[-1].lower() in ("yes", "true", "1", "on")


class Sandbox:
    def __init__(self, unit_path):
        self.unit = unit_path
        self.settings = parse_service(unit_path)
        unknown = set(self.settings) - SERVICE_SETTINGS - REPRODUCED - set(NOT_REPRODUCED)
        if unknown:
            raise ValueError(f"{unit_path}: classify {sorted(unknown)} in tests/integration/sandbox.py")
        self.skipped = {k: why for k, why in NOT_REPRODUCED.items() if k in self.settings}

    def spec(self, workdir):
        s = self.settings
        return {
            "workdir": workdir,
            "protect_system": s.get("ProtectSystem", ["no"])[-1],
            "rw_paths": [p.lstrip("-") for v in s.get("ReadWritePaths", []) for p in v.split()],
            "kernel_tunables": yes(s, "ProtectKernelTunables"),
            "control_groups": yes(s, "ProtectControlGroups"),
            "kernel_logs": yes(s, "ProtectKernelLogs"),
            "protect_home": yes(s, "ProtectHome"),
            "private_tmp": yes(s, "PrivateTmp"),
            "private_devices": yes(s, "PrivateDevices"),
            "bounding_set": s["CapabilityBoundingSet"][-1].split() if "CapabilityBoundingSet" in s else None,
            "no_new_privs": yes(s, "NoNewPrivileges") or "SystemCallFilter" in s,
            "umask": int(s.get("UMask", ["0022"])[-1], 8),
            "syscall_filter": s.get("SystemCallFilter", []),
            "syscall_errno": s.get("SystemCallErrorNumber", [""])[-1],
            "address_families": " ".join(s.get("RestrictAddressFamilies", [])).split(),
            "mdwe": yes(s, "MemoryDenyWriteExecute"),
        }

    def command(self, argv, workdir):
        """argv wrapped to run under the unit's sandbox; workdir must be
        outside /tmp, /home and /root (it is mounted read-only)."""
        s = self.settings
        ns = ["--mount", "--propagation", "private"]
        if yes(s, "PrivateUsers"):
            ns += ["--user", "--map-root-user"]
        if yes(s, "PrivateNetwork"):
            ns.append("--net")
        if yes(s, "PrivateIPC"):
            ns.append("--ipc")
        if yes(s, "ProtectHostname"):
            ns.append("--uts")
        # This file and Python run from places the sandbox keeps visible.
        me = os.path.join(workdir, "sandbox.py")
        shutil.copy(os.path.abspath(__file__), me)
        return ["unshare", *ns, "--", PYTHON, me, "mounts", json.dumps(self.spec(workdir)), "--", *argv]


# ---------------------------------------------------------------- inside the namespaces

_libc = ctypes.CDLL(None, use_errno=True)


def mount(src, target, fstype, flags, data=None):
    if _libc.mount(src.encode() if src else None, target.encode(), fstype.encode() if fstype else None,
                   ctypes.c_ulong(flags), data.encode() if data else None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount {src} on {target} ({fstype}, flags {flags:#x}): {os.strerror(e)}")


def mountinfo():
    """[(mount point, per-mount options)] in mount order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            out.append((mp, fields[5].split(",")))
    return out


def remount_ro(mp, opts):
    # In a user namespace the flags locked by the parent must be kept as they are.
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for o in opts:
        flags |= LOCKED_FLAGS.get(o, 0)
    if not any(o in ATIME_FLAGS for o in opts):
        flags |= MS_STRICTATIME
    mount(None, mp, None, flags)


def under(path, prefix):
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def setup_mounts(spec):
    work = spec["workdir"]
    keep_rw, ro = [], []

    for p in spec["rw_paths"]:
        if os.path.exists(p):
            mount(p, p, None, MS_BIND | MS_REC)
            keep_rw.append(p)
    if spec["kernel_tunables"]:
        for p in PROC_TUNABLES:
            if os.path.exists(p):
                mount(p, p, None, MS_BIND | MS_REC)
                ro.append(p)
    if spec["kernel_logs"] and os.path.exists("/proc/kmsg"):
        blocked = os.path.join(work, "inaccessible")
        open(blocked, "w").close()
        os.chmod(blocked, 0)
        mount(blocked, "/proc/kmsg", None, MS_BIND)

    private = []
    if spec["private_devices"]:
        # Bind the pseudo devices aside, then cover /dev and bind them back.
        stage = os.path.join(work, "devnodes")
        os.mkdir(stage)
        for d in PSEUDO_DEVICES:
            open(os.path.join(stage, d), "w").close()
            mount("/dev/" + d, os.path.join(stage, d), None, MS_BIND)
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
        for d in PSEUDO_DEVICES:
            open("/dev/" + d, "w").close()
            mount(os.path.join(stage, d), "/dev/" + d, None, MS_BIND)
        for name, target in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]:
            os.symlink(target, "/dev/" + name)
        os.mkdir("/dev/shm", 0o1777)
        private.append("/dev")
    if spec["private_tmp"]:
        for p in ["/tmp", "/var/tmp"]:
            if os.path.isdir(p):
                mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
                private.append(p)
    if spec["protect_home"]:
        for p in ["/home", "/root", "/run/user"]:
            if os.path.isdir(p) and not os.path.islink(p):
                mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=000")
                private.append(p)

    strict = spec["protect_system"] == "strict"
    for mp, opts in mountinfo():
        if any(under(mp, p) for p in keep_rw + private) or "ro" in opts:
            continue
        if under(mp, "/proc"):
            wanted = any(under(mp, p) for p in ro)
        elif under(mp, "/sys"):
            wanted = spec["kernel_tunables"] or (spec["control_groups"] and under(mp, "/sys/fs/cgroup"))
        elif under(mp, "/dev"):
            wanted = False
        else:
            wanted = strict
        if not wanted:
            continue
        try:
            remount_ro(mp, opts)
        except OSError as e:
            # A mount point hidden under a later mount cannot be reached by
            # its path; the mount on top of it is in the list too.
            if e.errno not in (errno.ENOENT, errno.EINVAL):
                raise


def load_seccomp(spec):
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]

    class Cmp(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]

    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(Cmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]

    groups = syscall_groups()

    def expand(name, seen=None):
        seen = seen or set()
        if not name.startswith("@"):
            return {name}
        if name in seen:
            return set()
        seen.add(name)
        out = set()
        for member in groups[name]:
            out |= expand(member, seen)
        return out

    allowed = None
    for entry in spec["syscall_filter"]:
        invert = entry.startswith("~")
        names = set()
        for n in entry.lstrip("~").split():
            names |= expand(n)
        if allowed is None:
            if invert:
                raise ValueError("a deny list first is not supported here")
            allowed = expand("@default")    # systemd adds it to an allow list
        allowed = allowed - names if invert else allowed | names

    err = spec["syscall_errno"]
    default = (0x00050000 | getattr(errno, err)) if err else SCMP_ACT_KILL_PROCESS
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise OSError("seccomp_init failed")

    def rule(name, *cmps):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return      # not a system call on this architecture
        arr = (Cmp * max(1, len(cmps)))(*[Cmp(*c) for c in cmps])
        r = lib.seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, len(cmps), arr)
        if r < 0:
            raise OSError(-r, f"seccomp rule for {name}: {os.strerror(-r)}")

    conditional = set()
    families = [AF_FAMILIES[f] for f in spec["address_families"]]
    if families:
        conditional.add("socket")
        for fam in families:
            rule("socket", (0, SCMP_CMP_EQ, fam, 0))
    if spec["mdwe"]:
        conditional |= {"mmap", "mprotect", "pkey_mprotect", "shmat"}
        wx = PROT_WRITE | PROT_EXEC
        for prot in (0, PROT_WRITE, PROT_EXEC):
            rule("mmap", (2, SCMP_CMP_MASKED_EQ, wx, prot))
        rule("mprotect", (2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))
        rule("pkey_mprotect", (2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))
        rule("shmat", (2, SCMP_CMP_MASKED_EQ, SHM_EXEC, 0))
    for name in sorted(allowed - conditional):
        rule(name)
    r = lib.seccomp_load(ctx)
    if r < 0:
        raise OSError(-r, f"seccomp_load: {os.strerror(-r)}")


def syscall_groups():
    """{@group: [members]} from systemd-analyze, which knows this systemd's sets."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if re.match(r"^@[\w-]+$", line):
            cur = groups.setdefault(line, [])
        elif cur is not None and re.match(r"^\s+[@\w-]+$", line):
            cur.append(line.strip())
        elif not line.strip():
            cur = None
    return groups


def main():
    stage, spec_json, sep, *argv = sys.argv[1:]
    assert sep == "--" and argv
    spec = json.loads(spec_json)
    if stage == "mounts":
        setup_mounts(spec)
        os.umask(spec["umask"])
        priv = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all"]
        if spec["no_new_privs"]:
            priv.append("--no-new-privs")
        if spec["bounding_set"] is not None:
            keep = [c.lower().removeprefix("cap_") for c in spec["bounding_set"]]
            priv.append("--bounding-set=" + ",".join(["-all"] + ["+" + c for c in keep]))
        seccomp = ["--", PYTHON, os.path.abspath(__file__), "seccomp", spec_json, "--"] \
            if spec["syscall_filter"] or spec["address_families"] or spec["mdwe"] else ["--"]
        os.execvp("setpriv", priv + seccomp + argv)
    elif stage == "seccomp":
        load_seccomp(spec)
        os.execv(argv[0], argv)
    sys.exit(f"sandbox.py: unknown stage {stage}")


if __name__ == "__main__":
    main()
