#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Prometheus metrics: ksmctl metrics and the daemon's KSM_METRICS_FILE,
checked by promtool and served by a real node_exporter, with fake guests
merged on the real KSM."""
import os
import time

from ksmtest import (KSMCTL, Daemon, FakeGuest, check, expect_status, main, read_knob, real_ksm, run_ksmctl,
                     wait_for, write_config, write_knob)
from prom import NodeExporter, parse, promtool_check_metrics, series

PAGE = os.sysconf("SC_PAGESIZE")


def test_ksmctl_metrics(tmp):
    p = run_ksmctl("metrics")
    expect_status(p, 0, "ksmctl metrics")
    promtool_check_metrics(p.stdout, "ksmctl metrics")
    m = parse(p.stdout)
    check(series(m, "ksmtuned_ksm_full_scans_total") == [float(read_knob("full_scans"))] or
          series(m, "ksmtuned_ksm_full_scans_total")[0] <= float(read_knob("full_scans")),
          "full_scans as a counter", read_knob("full_scans"), series(m, "ksmtuned_ksm_full_scans_total"))
    check(len(series(m, "ksmtuned_build_info")) == 1, "one build_info series", 1, series(m, "ksmtuned_build_info"))
    check("# TYPE ksmtuned_guest_merged_bytes gauge" in p.stdout, "the per-guest family is announced", got=p.stdout)
    check(not series(m, "ksmtuned_ticks_total"), "no daemon counters without the daemon")
    p = run_ksmctl("metrics", "--top", "x")
    expect_status(p, 2, "ksmctl metrics --top x")
    check("--top" in p.stderr and "'x'" in p.stderr, "the usage error names the option and the value", got=p.stderr)


def test_node_exporter_serves_guests(tmp):
    textfile = os.path.join(tmp, "textfile")
    os.mkdir(textfile)
    prom_file = os.path.join(textfile, "ksmtuned.prom")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1, KSM_THRES_COEF=100,
                        KSM_METRICS_FILE=prom_file, KSM_POLICY="adaptive")
    with real_ksm(), NodeExporter(tmp, textfile) as ne, \
            FakeGuest(mib=32, seed=1, extra=("--", "-name", "guest=metrics-vm-a,debug-threads=on")) as a, \
            FakeGuest(mib=32, seed=2, extra=("--", "-name", "metrics-vm-b")) as b:
        with Daemon(tmp, conf, ["--debug", "--no-bus"]) as d:
            d.wait_log(r"Tick 1:")
            want = 0.9 * (a.shared + b.shared)
            wait_for(lambda: a.ksm_stat()["ksm_merging_pages"] + b.ksm_stat()["ksm_merging_pages"] >= want,
                     60, f"{int(want)} merged pages in the fake guests")

            def scraped():
                # Merged as the guests' own ksm_stat says, once the next tick wrote it.
                m = parse(ne.scrape())
                ok = all(series(m, "ksmtuned_guest_merged_bytes", guest=name, pid=str(g.pid)) and
                         series(m, "ksmtuned_guest_merged_bytes", guest=name, pid=str(g.pid))[0] >=
                         0.9 * g.shared * PAGE
                         for g, name in ((a, "metrics-vm-a"), (b, "metrics-vm-b")))
                return m if ok and series(m, "ksmtuned_saved_bytes")[0] > 0 else None
            m = wait_for(scraped, 20, "node_exporter to serve both guests' merged bytes")
            check(series(m, "node_textfile_scrape_error") == [0.0], "node_textfile_scrape_error 0", [0.0],
                  series(m, "node_textfile_scrape_error"))
            for g, name in ((a, "metrics-vm-a"), (b, "metrics-vm-b")):
                got = series(m, "ksmtuned_guest_merged_bytes", guest=name, pid=str(g.pid))[0]
                check(got >= 0.9 * g.shared * PAGE, f"{name}: merged bytes from its ksm_stat",
                      f">= {0.9 * g.shared * PAGE}", got)
                check(series(m, "ksmtuned_guest_profit_bytes", guest=name, pid=str(g.pid)),
                      f"{name}: profit series", got=sorted(k for k in m if k[0].startswith("ksmtuned_guest")))
            check(series(m, "ksmtuned_ticks_total")[0] >= 1, "ticks_total from the daemon", ">= 1",
                  series(m, "ksmtuned_ticks_total"))
            check(sum(series(m, "ksmtuned_adaptive_mode")) == 1.0, "exactly one adaptive mode is 1",
                  1, series(m, "ksmtuned_adaptive_mode"))
            check(abs(series(m, "ksmtuned_last_tick_timestamp_seconds")[0] - time.time()) < 30,
                  "last tick timestamp is now", time.time(), series(m, "ksmtuned_last_tick_timestamp_seconds"))
            # run as this tick wrote it: 1 while scanning; once merged, idle
            # stops ksmd (0), after a tick that cuts its batch (still 1).
            scanning = any(series(m, "ksmtuned_adaptive_mode", mode=x) == [1.0] for x in ("burst", "steady", "look"))
            run = series(m, "ksmtuned_ksm_run")
            check(run == [1.0] if scanning else run in ([0.0], [1.0]), "run as written", "1 while scanning", run)
            check(series(m, "ksmtuned_build_info", policy="adaptive"), "build_info names the policy",
                  got=series(m, "ksmtuned_build_info"))
            with open(prom_file) as f:
                promtool_check_metrics(f.read(), "the daemon's metrics file")
            check(not [n for n in os.listdir(textfile) if n != "ksmtuned.prom"], "no temporary file left",
                  ["ksmtuned.prom"], os.listdir(textfile))
            d.stop()


def test_write_failure_logged_once(tmp):
    """A missing directory: one warning, tuning goes on, the write is
    retried and succeeds once the directory exists."""
    target_dir = os.path.join(tmp, "later")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1,
                        KSM_METRICS_FILE=os.path.join(target_dir, "k.prom"))
    with Daemon(tmp, conf, ["--debug", "--dry-run", "--no-bus"]) as d:
        d.wait_log(r"Tick 3:", timeout=15)
        text = d.log_text()
        check(text.count("Cannot write the metrics") == 1, "the failure is logged once in three ticks", 1,
              text.count("Cannot write the metrics"))
        check(f"Cannot write the metrics to {target_dir}/k.prom" in text, "the warning names the file", got=text)
        os.mkdir(target_dir)
        d.wait_log(r"Wrote the metrics to .* again", timeout=5)
        wait_for(lambda: os.path.exists(os.path.join(target_dir, "k.prom")), 5, "the metrics file")
        d.stop()


def test_yields_to_another_tuner(tmp):
    """Another program changing the knobs back three times: the daemon stops
    writing, says so once, and the metrics show it; a reload resumes."""
    prom_file = os.path.join(tmp, "k.prom")
    conf = write_config(os.path.join(tmp, "ksmtuned.conf"), KSM_MONITOR_INTERVAL=1, KSM_THRES_COEF=100,
                        KSM_METRICS_FILE=prom_file)
    with real_ksm():
        with Daemon(tmp, conf, ["--debug", "--no-bus"]) as d:
            for i in range(3):
                d.wait_log(r"Set .*pages_to_scan=")
                write_knob("pages_to_scan", 17)      # the other tuner
            d.wait_log(r"changed the KSM knobs back 3 times within 15 minutes", timeout=10)
            d.wait_log(r"Tick \d+:")
            mark = d.mark()
            d.wait_log(r"Tick \d+:")
            d.wait_log(r"Tick \d+:")
            check(read_knob("pages_to_scan") == "17", "the other tuner's value stays", "17",
                  read_knob("pages_to_scan"))
            check("Set " not in d.log_text()[mark:], "no write after yielding", got=d.log_text()[mark:])
            text = d.log_text()
            check(text.count("not writing them any more") == 1, "said once", 1, text.count("not writing them any more"))
            with open(prom_file) as f:
                m = parse(f.read())
            check(series(m, "ksmtuned_yielded") == [1.0], "ksmtuned_yielded 1", [1.0], series(m, "ksmtuned_yielded"))
            check(series(m, "ksmtuned_knob_reversals_total")[0] >= 3, "reversals counted", ">= 3",
                  series(m, "ksmtuned_knob_reversals_total"))
            import signal
            d.signal(signal.SIGHUP)
            d.wait_log(r"Writing the KSM knobs again after the reload")
            d.wait_log(r"Set .*pages_to_scan=")
            d.stop()


main([test_ksmctl_metrics, test_node_exporter_serves_guests, test_write_failure_logged_once,
      test_yields_to_another_tuner])
