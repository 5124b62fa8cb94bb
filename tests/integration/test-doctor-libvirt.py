#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""ksmctl doctor names libvirt's <memoryBacking><nosharepages/> on a real
TCG guest started through a libvirtd of the test's own, and says nothing of
it for a guest without it. Slow (~15 s): libvirt probes the emulator first."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ksmtest as kt  # noqa: E402
from ksmtest import check  # noqa: E402
from libvirtd import QEMU_PID_DIR, Libvirtd, process_alive, read_pidfile, require_libvirtd  # noqa: E402

QEMU = shutil.which("qemu-system-x86_64")

GUEST_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  {backing}
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>{emulator}</emulator>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def doctor_ids(tmp, pid):
    p = kt.run_ksmctl("--pidfile", os.path.join(tmp, "none.pid"), "doctor", "--json", "--sample-ms=0", str(pid),
                      env={"DBUS_SYSTEM_BUS_ADDRESS": kt.NO_BUS})
    kt.expect_status(p, 0, "ksmctl doctor on the guest")
    procs = json.loads(p.stdout)["processes"]
    check(len(procs) == 1 and procs[0]["pid"] == pid, "doctor reports the guest", pid, procs)
    return {f["id"] for f in procs[0]["findings"]}, p


def test_nosharepages(tmp):
    name = f"ksmdoc-{os.getpid()}"
    guests = {}
    for suffix, backing in (("noshare", "<memoryBacking><nosharepages/></memoryBacking>"), ("plain", "")):
        path = os.path.join(tmp, f"{suffix}.xml")
        with open(path, "w") as f:
            f.write(GUEST_XML.format(name=f"{name}-{suffix}", backing=backing, emulator=QEMU))
        guests[suffix] = path
    with Libvirtd(tmp) as lv:
        pids = {}
        for suffix, path in guests.items():
            lv.create(path, f"{name}-{suffix}")
            pid = read_pidfile(os.path.join(QEMU_PID_DIR, f"{name}-{suffix}.pid"))
            check(pid and process_alive(pid), f"the {suffix} guest's qemu runs", "a live pid", pid)
            pids[suffix] = pid
        ids, _ = doctor_ids(tmp, pids["noshare"])
        check("nosharepages" in ids, "doctor names <nosharepages/>", "nosharepages", ids)
        p = kt.run_ksmctl("--pidfile", os.path.join(tmp, "none.pid"), "doctor", "--sample-ms=0", str(pids["noshare"]),
                          env={"DBUS_SYSTEM_BUS_ADDRESS": kt.NO_BUS})
        check("mem-merge=off" in p.stdout and f"guest {name}-noshare" in p.stdout,
              "the text names mem-merge=off and the guest", "mem-merge=off", p.stdout)
        ids, _ = doctor_ids(tmp, pids["plain"])
        check("nosharepages" not in ids and "not-mergeable" not in ids,
              "a guest without <nosharepages/> has its RAM mergeable", "neither", ids)


if __name__ == "__main__":
    require_libvirtd()
    if not QEMU:
        kt.skip("qemu-system-x86_64 (scripts/install-deps.sh installs it)")
    kt.main([test_nosharepages])
