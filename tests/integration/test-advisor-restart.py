#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel's advisor survives an unclean exit: advisor_mode=scan-time, the
adaptive policy takes it (none), the daemon is SIGKILLed, a new daemon
starts, and a clean stop gives scan-time back. On the real KSM."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import ksmtest as kt  # noqa: E402


def test_advisor_after_sigkill(tmp):
    runtime = os.path.join(tmp, "run-ksmtuned")
    mark = os.path.join(runtime, "advisor-taken")
    env = {"RUNTIME_DIRECTORY": runtime}
    conf = kt.write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2,
                           KSM_THRES_COEF=99, DEBUG=1)
    with kt.real_ksm():
        if not os.path.exists(os.path.join(kt.KSM_DIR, "advisor_mode")):
            kt.log("needs a kernel with the KSM advisor (6.9+): advisor_mode is missing")
            sys.exit(kt.SKIP)
        kt.write_knob("advisor_mode", "scan-time")           # the admin's choice
        with kt.FakeGuest(mib=32, shared=20, seed=1), kt.Daemon(tmp, conf, env=env) as d:
            d.wait_log(r"Turned the kernel's KSM advisor off", timeout=15)
            kt.check(kt.read_knob("advisor_mode") == "none", "adaptive took the advisor", "none",
                     kt.read_knob("advisor_mode"))
            kt.check(os.path.exists(mark), "the mark is on disk while the advisor is taken", mark)
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
        kt.check(kt.read_knob("advisor_mode") == "none", "SIGKILL left the advisor off", "none",
                 kt.read_knob("advisor_mode"))

        # The next daemon knows the "none" is not the admin's: it keeps the
        # advisor while adaptive sets the rate and gives scan-time back on a
        # clean stop.
        conf2 = kt.write_config(os.path.join(tmp, "ksmtuned2.conf"), KSM_POLICY="adaptive", KSM_MONITOR_INTERVAL=2,
                                KSM_THRES_COEF=99, DEBUG=1)
        with kt.Daemon(tmp, conf2, env=env) as d:
            d.wait_log(r"A previous ksmtuned turned the kernel's KSM advisor off", timeout=15)
            d.wait_log(r"Tick 1:|Tick \d+:", after=0, timeout=15)
            d.stop()
            text = d.log_text()
        kt.check(kt.read_knob("advisor_mode") == "scan-time", "scan-time is back after a clean stop", "scan-time",
                 kt.read_knob("advisor_mode"))
        kt.check("Restored the kernel's KSM advisor" in text, "the restore is logged", got=text)
        kt.check(not os.path.exists(mark), "the mark is gone once the advisor is given back", mark)

        # The admin's own "none" is left alone: no mark, no restore.
        kt.write_knob("advisor_mode", "none")
        with kt.Daemon(tmp, conf2, env=env) as d:
            d.wait_log(r"Tick \d+:", timeout=15)
            d.stop()
        kt.check(kt.read_knob("advisor_mode") == "none", "an admin's none stays", "none", kt.read_knob("advisor_mode"))


if __name__ == "__main__":
    kt.main([test_advisor_after_sigkill])
