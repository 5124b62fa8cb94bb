#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The container run of contrib/kubernetes/, without a cluster: in a new
mount namespace the host's root, /proc and /sys are bind-mounted read-only
at HOST, except HOST/sys/kernel/mm/ksm; the daemon runs with --root HOST
and must find the guest processes under HOST/proc, tune the real KSM and
write its metrics (to a directory outside HOST, the pod's hostPath)."""
import errno
import os
import subprocess
import sys

from ksmtest import (KSMTUNED, SKIP, Daemon, FakeGuest, TestFailure, check, log, main, read_knob, real_ksm,
                     wait_for, write_config)
from prom import parse, series

INNER = "--in-namespace"


def mount(*args):
    subprocess.run(["mount", *args], check=True)


def make_host_view(host):
    """What the DaemonSet mounts: / at /host read-only, /proc and /sys
    read-only, the KSM directory writable."""
    os.makedirs(host)
    mount("--bind", "/", host)
    mount("-o", "remount,bind,ro", host)
    for sub in ("proc", "sys"):
        mount("--bind", f"/{sub}", f"{host}/{sub}")
        mount("-o", "remount,bind,ro", f"{host}/{sub}")
    mount("--bind", "/sys/kernel/mm/ksm", f"{host}/sys/kernel/mm/ksm")


def test_container_view(tmp):
    if INNER not in sys.argv:
        raise TestFailure("not in the private mount namespace")
    host = os.path.join(tmp, "host")
    try:
        make_host_view(host)
        run_in_view(tmp, host)
    finally:
        # Before the temporary directory is removed: never through the view.
        subprocess.run(["umount", "-R", host], capture_output=True)
        check(not os.path.ismount(host), f"{host} unmounted")


def run_in_view(tmp, host):
    # The view is as the manifest promises: read-only but for KSM.
    for path in (f"{host}/etc/ksmtuned-container-test", f"{host}/sys/kernel/mm/transparent_hugepage/enabled"):
        try:
            with open(path, "w") as f:
                f.write("x")
            raise TestFailure(f"{path} is writable in the container view")
        except OSError as e:
            check(e.errno in (errno.EROFS, errno.EACCES), f"{path} read-only", "EROFS", errno.errorcode[e.errno])
    textfile = os.path.join(tmp, "textfile")
    os.mkdir(textfile)
    prom_file = os.path.join(textfile, "ksmtuned.prom")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1, KSM_THRES_COEF=100,
                        KSM_METRICS_FILE=prom_file)
    with real_ksm(), FakeGuest(mib=32, seed=1, extra=("--", "-name", "container-vm-a")) as a, \
            FakeGuest(mib=32, seed=2, extra=("--", "-name", "container-vm-b")) as b:
        with Daemon(tmp, conf, ["--debug", "--no-bus", "--root", host]) as d:
            m = d.wait_log(r"Tick 1: committed (\d+) KiB in (\d+) guest", timeout=15)
            check(int(m.group(2)) >= 2, "the fake guests found under HOST/proc", ">= 2", m.group(2))
            for g in (a, b):
                check(f"Guest pid {g.pid} " in d.log_text(), f"guest pid {g.pid} found by the scan of HOST/proc",
                      got=d.log_text()[-2000:])
            # Tuned the real KSM through HOST/sys/kernel/mm/ksm.
            check(read_knob("run") == "1", "real KSM runs after the first tick", "1", read_knob("run"))
            want = 0.9 * (a.shared + b.shared)
            wait_for(lambda: a.ksm_stat()["ksm_merging_pages"] + b.ksm_stat()["ksm_merging_pages"] >= want,
                     60, f"{int(want)} merged pages in the fake guests")

            def metrics():
                if not os.path.exists(prom_file):
                    return None
                with open(prom_file) as f:
                    m = parse(f.read())
                ok = all(series(m, "ksmtuned_guest_merged_bytes", guest=n, pid=str(g.pid)) and
                         series(m, "ksmtuned_guest_merged_bytes", guest=n, pid=str(g.pid))[0] > 0
                         for g, n in ((a, "container-vm-a"), (b, "container-vm-b")))
                return m if ok else None
            m = wait_for(metrics, 20, "the metrics file with both guests' merged bytes")
            check(series(m, "ksmtuned_ksm_run") == [1.0], "metrics: run=1", [1.0], series(m, "ksmtuned_ksm_run"))
            check(sum(series(m, "ksmtuned_knob_write_failures_total")) == 0, "no failed knob write",
                  0, series(m, "ksmtuned_knob_write_failures_total"))
            check(series(m, "ksmtuned_ksmd_cpu_seconds_total"), "ksmd found under HOST/proc")
            d.stop()


if __name__ == "__main__":
    if INNER in sys.argv:
        main([test_container_view])
    if os.geteuid() != 0 or not os.access("/sys/kernel/mm/ksm/run", os.W_OK):
        log("needs root and a writable /sys/kernel/mm/ksm")
        sys.exit(SKIP)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        log(f"unshare --mount failed ({probe.stderr.strip()}): cannot build the container's view of the host")
        sys.exit(SKIP)
    sys.exit(subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, __file__,
                             INNER]).returncode)
