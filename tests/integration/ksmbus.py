# SPDX-License-Identifier: GPL-2.0-or-later
"""A private system bus for integration tests: a dbus-daemon of type
"system" on a socket in the test's temp dir, with the default-deny policy of
a real system bus and the project's policy file (or the ones a test gives).
Point programs at it with the environment from `env`."""
import os
import re
import shutil
import signal
import subprocess
import time

from ksmtest import TestFailure, wait_for

DBUS_POLICY = os.environ.get("DBUS_POLICY", os.path.join(os.path.dirname(__file__), "..", "..", "dbus",
                                                         "org.ksmtuned.Tuner1.conf"))
BUS_NAME = "org.ksmtuned.Tuner1"
BUS_PATH = "/org/ksmtuned/Tuner1"
BUS_INTERFACE = "org.ksmtuned.Tuner1"

# Like Debian's /usr/share/dbus-1/system.conf: everyone connects, nobody owns
# names or calls methods unless a policy file punches a hole.
CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path={socket}</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>{policy_dir}</includedir>
</busconfig>
"""

# For testing the daemon's own uid check: a bus that lets anyone call anything.
PERMISSIVE_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy context="default">
    <allow own="org.ksmtuned.Tuner1"/>
    <allow send_destination="org.ksmtuned.Tuner1"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    def __init__(self, tmp, policies=None):
        """policies: list of (file name, text); default: the project's policy file."""
        self.dir = os.path.join(tmp, "bus")
        policy_dir = os.path.join(self.dir, "system.d")
        os.makedirs(policy_dir)
        # Other users (the access tests) must reach the socket.
        for d in (tmp, self.dir):
            os.chmod(d, 0o755)
        if policies is None:
            shutil.copy(DBUS_POLICY, policy_dir)
        else:
            for name, text in policies:
                with open(os.path.join(policy_dir, name), "w") as f:
                    f.write(text)
        self.socket = os.path.join(self.dir, "system_bus_socket")
        self.config = os.path.join(self.dir, "bus.conf")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(socket=self.socket, policy_dir=policy_dir))
        self.address = f"unix:path={self.socket}"
        self.env = {"DBUS_SYSTEM_BUS_ADDRESS": self.address}
        self.pid = None
        self.start()

    def start(self):
        p = subprocess.run(["dbus-daemon", f"--config-file={self.config}", "--fork",
                            "--print-address=1", "--print-pid=1"], capture_output=True, text=True, timeout=30)
        m = re.match(r"(\S+)\n(\d+)\n", p.stdout)
        if p.returncode != 0 or not m:
            raise TestFailure(f"dbus-daemon did not start: {p.returncode} {p.stdout!r} {p.stderr!r}")
        self.pid = int(m.group(2))

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

        def gone():
            # --fork made it init's child: a zombie until init reaps it.
            try:
                with open(f"/proc/{self.pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except FileNotFoundError:
                return True
        wait_for(gone, 10, "dbus-daemon to exit")
        self.pid = None
        # dbus-daemon removes its socket on SIGTERM; make sure for the restart.
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def busctl(self, *args, user=None, timeout=30):
        """busctl --system on this bus; user=65534 runs it unprivileged."""
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user is not None else []
        env = dict(os.environ, **self.env)
        return subprocess.run([*prefix, "busctl", "--system", *args], capture_output=True, text=True,
                              env=env, timeout=timeout)

    def get_property(self, name, user=None):
        """A property of the daemon, parsed from busctl's "t 123" / "s \"x\"" / "b true"."""
        p = self.busctl("get-property", BUS_NAME, BUS_PATH, BUS_INTERFACE, name, user=user)
        if p.returncode != 0:
            raise TestFailure(f"busctl get-property {name}: {p.stderr.strip()}")
        sig, _, value = p.stdout.strip().partition(" ")
        if sig in ("t", "x", "u", "i"):
            return int(value)
        if sig == "b":
            return value == "true"
        return value.strip('"')

    def name_owned(self):
        p = self.busctl("status", BUS_NAME)
        return p.returncode == 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        except TestFailure:
            os.kill(self.pid, signal.SIGKILL)
