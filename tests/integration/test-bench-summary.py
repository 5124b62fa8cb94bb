#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run-bench's figures from made-up samples: a wave's 50 % and 90 %
times (reached and held), its end, ksmd's CPU by wave and after the
savings settled. These figures are what bench/RESULTS.md compares tuners by."""
import importlib.machinery
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ksmtest  # noqa: E402
from ksmtest import check  # noqa: E402

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))


def load_bench():
    path = os.path.join(SRCDIR, "bench", "run-bench")
    loader = importlib.machinery.SourceFileLoader("run_bench", path)
    spec = importlib.util.spec_from_loader("run_bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


rb = load_bench()


class Sc:
    """A scenario: guest 0 starts at 0 s, guest 1 at 10 s, guest 0 stops at 20 s."""
    events = [(0.0, "start", 0), (10.0, "start", 1), (20.0, "stop", 0)]


STARTS = {0: 0.0, 1: 10.0}


def rows(samples, ready=(0, 1)):
    """(t, saved, attainable, ksmd_cpu) tuples to the runner's rows."""
    return [dict(t=t, saved=s, attainable=a, ksmd_cpu=c, ready=set(ready)) for t, s, a, c in samples]


def test_wave_time(tmp):
    # (what, samples, frac, expected seconds from the wave's first start)
    cases = [
        ("reached at 12 s and held", [(11, 10, 100, 0), (12, 95, 100, 0), (15, 99, 100, 0)], 0.9, 12.0),
        ("touched at 11 s, fell, held from 14 s", [(11, 95, 100, 0), (12, 60, 100, 0), (14, 91, 100, 0),
                                                   (16, 92, 100, 0)], 0.9, 14.0),
        ("reached, then fell at the end: never", [(11, 95, 100, 0), (15, 80, 100, 0)], 0.9, None),
        ("before the wave's last start: not counted", [(9, 95, 100, 0), (11, 95, 100, 0)], 0.9, 11.0),
        ("after the next event: not counted", [(11, 10, 100, 0), (21, 95, 100, 0)], 0.9, None),
        ("exactly 90 %", [(11, 90, 100, 0)], 0.9, 11.0),
        ("50 %", [(11, 40, 100, 0), (13, 55, 100, 0), (14, 70, 100, 0)], 0.5, 13.0),
    ]
    for what, samples, frac, want in cases:
        got = rb.wave_time(rows(samples), Sc, STARTS, [0, 1], frac)
        check(got == want, f"wave_time: {what}", want, got)
    not_ready = rows([(11, 95, 100, 0), (12, 95, 100, 0)], ready=(0,))
    check(rb.wave_time(not_ready, Sc, STARTS, [0, 1], 0.9) is None, "wave_time: a guest not ready yet")


def test_wave_end_pct(tmp):
    r = rows([(11, 50, 100, 0), (19, 89, 100, 0), (19.7, 99, 100, 0), (25, 100, 100, 0)])
    # The last sample half a sample before the stop at 20 s: 89 %.
    got = rb.wave_end_pct(r, Sc, STARTS, [0, 1])
    check(abs(got - 89.0) < 1e-9, "wave_end_pct: the last sample before the next event", 89.0, got)


def test_settled_cpu(tmp):
    # Interval 10-20 s: savings settle at 14 s (within 1 % of the final
    # 100), ksmd goes on from 4.0 to 6.5 s: 2.5 s after settling. Interval
    # 0-10 s never reaches 95 %: work going on, not counted.
    r = rows([(1, 0, 100, 0.0), (9, 50, 100, 1.0),
              (11, 50, 100, 2.0), (14, 99.5, 100, 4.0), (16, 100, 100, 5.0), (19.5, 100, 100, 6.5)])
    got = rb.settled_cpu(r, Sc, STARTS)
    check(abs(got - 2.5) < 1e-9, "settled_cpu: CPU after the savings came within 1 % of their final value",
          2.5, got)


def test_wave_cpu(tmp):
    class Waves(Sc):
        waves = [("first", [0]), ("second", [1])]

    # ksmd CPU 0.5 s before guest 0 started (another tuner's leftovers, not
    # the wave's), 3.0 s by the last sample before guest 1 started at 10 s,
    # 4.5 s at the end.
    r = rows([(-1, 0, 0, 0.5), (5, 50, 100, 2.0), (9.5, 90, 100, 3.0), (10.5, 90, 100, 3.5),
              (30, 100, 100, 4.5)])
    cases = [("first wave: from its start to the next wave's", [0], 2.5),
             ("last wave: to the end", [1], 1.5)]
    for what, idx, want in cases:
        got = rb.wave_cpu(r, Waves, STARTS, idx)
        check(abs(got - want) < 1e-9, f"wave_cpu: {what}", want, got)


if __name__ == "__main__":
    ksmtest.main([test_wave_time, test_wave_end_pct, test_wave_cpu, test_settled_cpu])
