# SPDX-License-Identifier: GPL-2.0-or-later
"""Prometheus' tools for the tests: promtool and a private node_exporter on
a free loopback port (never any other address)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from ksmtest import SKIP, TestFailure, check, log, terminate, wait_for

NODE_EXPORTER = "prometheus-node-exporter"


def need(tool, package):
    path = shutil.which(tool)
    if not path:
        log(f"{tool} is missing (Debian package {package}; scripts/install-deps.sh installs it)")
        sys.exit(SKIP)
    return path


def promtool_check_metrics(text, what):
    promtool = need("promtool", "prometheus")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    check(p.returncode == 0, f"promtool check metrics accepts {what} (output: {p.stdout}{p.stderr})", 0, p.returncode)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text):
    """{(name, frozenset(labels.items())): float} of an exposition."""
    out = {}
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = rx.match(line)
        if not m:
            raise TestFailure(f"unparsable exposition line {line!r}")
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def series(parsed, name, **labels):
    """Values of name whose labels include those given."""
    want = set(labels.items())
    return [v for (n, ls), v in parsed.items() if n == name and want <= set(ls)]


class NodeExporter:
    """prometheus-node-exporter with only the textfile collector, on
    127.0.0.1 and a free port."""

    def __init__(self, tmpdir, textfile_dir):
        binary = need(NODE_EXPORTER, "prometheus-node-exporter")
        self.log_path = os.path.join(tmpdir, "node-exporter.log")
        for _ in range(5):
            self.port = free_port()
            self.log_file = open(self.log_path, "w")
            self.proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{self.port}",
                                          "--collector.disable-defaults", "--collector.textfile",
                                          f"--collector.textfile.directory={textfile_dir}"],
                                         stdout=self.log_file, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda: self.proc.poll() is not None or self._up(), 10, "node_exporter to listen")
            except TestFailure:
                self.stop()
                raise
            if self.proc.poll() is None:
                return
            self.log_file.close()   # the port was taken meanwhile: another one
        raise TestFailure("node_exporter did not start: " + open(self.log_path).read()[-2000:])

    def _up(self):
        try:
            self.scrape()
            return True
        except OSError:
            return False

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return r.read().decode()

    def stop(self):
        terminate(self.proc)
        self.log_file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
