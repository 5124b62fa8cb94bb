#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/: the Prometheus rules pass promtool's checks and unit tests;
the Kubernetes manifest has the structure the container run needs and a
configuration ksmtuned accepts; the Containerfile uses what exists."""
import os
import re
import shutil
import subprocess
import sys

from ksmtest import KSMTUNED, SKIP, check, log, main
from prom import need

SRCDIR = os.environ.get("abs_top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(SRCDIR, "contrib", "prometheus")
KUBE = os.path.join(SRCDIR, "contrib", "kubernetes")


def test_rules_check_and_unit_tests(tmp):
    promtool = need("promtool", "prometheus")
    # A copy: promtool resolves rule_files next to the test file.
    for name in ("ksmtuned.rules.yml", "ksmtuned.rules.test.yml"):
        shutil.copy(os.path.join(RULES, name), tmp)
    p = subprocess.run([promtool, "check", "rules", "ksmtuned.rules.yml"], cwd=tmp, capture_output=True, text=True)
    check(p.returncode == 0, f"promtool check rules ({p.stdout}{p.stderr})", 0, p.returncode)
    p = subprocess.run([promtool, "test", "rules", "ksmtuned.rules.test.yml"], cwd=tmp, capture_output=True,
                       text=True)
    check(p.returncode == 0, f"promtool test rules ({p.stdout}{p.stderr})", 0, p.returncode)

    # Every alert has a firing and a quiet case in the unit tests.
    with open(os.path.join(tmp, "ksmtuned.rules.yml")) as f:
        alerts = [line.split(":", 1)[1].strip() for line in f if line.strip().startswith("- alert:")]
    with open(os.path.join(tmp, "ksmtuned.rules.test.yml")) as f:
        tests = f.read()
    for a in alerts:
        check(tests.count(f"alertname: {a}\n") >= 2, f"{a} is tested firing and not firing", ">= 2",
              tests.count(f"alertname: {a}\n"))

    # And the tests can fail: a rule that never fires breaks them.
    with open(os.path.join(tmp, "ksmtuned.rules.yml")) as f:
        text = f.read()
    with open(os.path.join(tmp, "ksmtuned.rules.yml"), "w") as f:
        f.write(text.replace("expr: ksmtuned_yielded == 1", "expr: ksmtuned_yielded == 2"))
    p = subprocess.run([promtool, "test", "rules", "ksmtuned.rules.test.yml"], cwd=tmp, capture_output=True,
                       text=True)
    check(p.returncode != 0, "promtool test rules fails on a broken rule", "non-zero", p.returncode)


def load_manifest():
    try:
        import yaml
    except ImportError:
        log("python3-yaml is missing (scripts/install-deps.sh installs it): the manifest is not checked")
        sys.exit(SKIP)
    with open(os.path.join(KUBE, "daemonset.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    return {d["kind"]: d for d in docs}


def typed(obj, path, kind):
    """obj at a dotted path, which must exist and be of kind."""
    for part in path.split("."):
        check(isinstance(obj, dict) and part in obj, f"daemonset.yaml: {path} is present", part, obj)
        obj = obj[part]
    check(isinstance(obj, kind), f"daemonset.yaml: {path} is a {kind.__name__}", kind.__name__, type(obj).__name__)
    return obj


def conf_lines(text):
    return sorted(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def test_kubernetes_manifest(tmp):
    kinds = load_manifest()
    check(set(kinds) == {"Namespace", "ConfigMap", "DaemonSet"}, "daemonset.yaml: its objects",
          ["ConfigMap", "DaemonSet", "Namespace"], sorted(kinds))
    ds = kinds["DaemonSet"]
    check(ds["apiVersion"] == "apps/v1", "DaemonSet apiVersion", "apps/v1", ds["apiVersion"])
    ns = kinds["Namespace"]["metadata"]["name"]
    for k in ("ConfigMap", "DaemonSet"):
        check(typed(kinds[k], "metadata.namespace", str) == ns, f"{k} in the namespace", ns,
              kinds[k]["metadata"].get("namespace"))
    match = typed(ds, "spec.selector.matchLabels", dict)
    labels = typed(ds, "spec.template.metadata.labels", dict)
    check(match.items() <= labels.items(), "the selector matches the pod template's labels", match, labels)

    pod = typed(ds, "spec.template.spec", dict)
    check(pod.get("automountServiceAccountToken") is False, "no service account token", False,
          pod.get("automountServiceAccountToken"))
    for k in ("hostPID", "hostNetwork", "hostIPC"):
        check(not pod.get(k), f"no {k}", False, pod.get(k))
    terms = typed(pod, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
                  list)
    exprs = [e for t in terms for e in t["matchExpressions"]]
    check({"key": "kubevirt.io/ksm-enabled", "operator": "NotIn", "values": ["true"]} in exprs,
          "not on nodes where KubeVirt's KSM handler is enabled", got=exprs)

    containers = typed(pod, "containers", list)
    check(len(containers) == 1, "one container", 1, len(containers))
    c = containers[0]
    args = typed(c, "args", list)
    check(args[:4] == ["--foreground", "--no-bus", "--root", "/host"], "args: foreground, no bus, --root /host",
          ["--foreground", "--no-bus", "--root", "/host"], args[:4])
    sc = typed(c, "securityContext", dict)
    want = {"runAsUser": 0, "privileged": False, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}
    check({k: sc.get(k) for k in want} == want, "securityContext", want, sc)
    check(sc["capabilities"] == {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]}, "capabilities: only DAC_READ_SEARCH",
          {"drop": ["ALL"], "add": ["DAC_READ_SEARCH"]}, sc.get("capabilities"))

    volumes = {v["name"]: v for v in typed(pod, "volumes", list)}
    mounts = {m["mountPath"]: m for m in typed(c, "volumeMounts", list)}
    for m in mounts.values():
        check(m["name"] in volumes, f"volumeMount {m['name']} has a volume", got=sorted(volumes))
    want_host = {"/host/proc": ("/proc", True), "/host/sys": ("/sys", True),
                 "/host/sys/kernel/mm/ksm": ("/sys/kernel/mm/ksm", False)}
    for path, (host_path, ro) in want_host.items():
        check(path in mounts, f"{path} is mounted", got=sorted(mounts))
        v = volumes[mounts[path]["name"]]
        check(v.get("hostPath", {}).get("path") == host_path, f"{path} is the host's {host_path}", host_path, v)
        check(bool(mounts[path].get("readOnly")) == ro, f"{path} {'read-only' if ro else 'writable'}", ro,
              mounts[path].get("readOnly"))
    writable_host = [p for p, m in mounts.items() if not m.get("readOnly") and "hostPath" in volumes[m["name"]]]

    # The configuration: what ksmtuned accepts, and the same in the image.
    cm_name = next(v["configMap"]["name"] for v in volumes.values() if "configMap" in v)
    check(cm_name == kinds["ConfigMap"]["metadata"]["name"], "the ConfigMap volume names the ConfigMap")
    conf_text = typed(kinds["ConfigMap"], "data", dict).get("ksmtuned.conf")
    check(isinstance(conf_text, str), "the ConfigMap holds ksmtuned.conf", got=kinds["ConfigMap"]["data"])
    conf_dir = next(p for p, m in mounts.items() if "configMap" in volumes[m["name"]])
    check(args[4:] == ["--config", f"{conf_dir}/ksmtuned.conf"], "--config is the ConfigMap's file",
          ["--config", f"{conf_dir}/ksmtuned.conf"], args[4:])
    path = os.path.join(tmp, "ksmtuned.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    p = subprocess.run([KSMTUNED, "--test-config", "--config", path], capture_output=True, text=True)
    check(p.returncode == 0, f"ksmtuned --test-config accepts the ConfigMap ({p.stdout}{p.stderr})", 0, p.returncode)
    with open(os.path.join(KUBE, "ksmtuned.conf")) as f:
        check(conf_lines(f.read()) == conf_lines(conf_text), "the image's ksmtuned.conf is the ConfigMap's",
              conf_lines(conf_text))
    metrics = re.search(r"^KSM_METRICS_FILE=(.*)$", conf_text, re.M).group(1)
    check(os.path.dirname(metrics) in writable_host, "KSM_METRICS_FILE is in a writable hostPath",
          writable_host, metrics)
    check(set(writable_host) == {"/host/sys/kernel/mm/ksm", os.path.dirname(metrics)},
          "no other writable host path", ["/host/sys/kernel/mm/ksm", os.path.dirname(metrics)], writable_host)


def test_containerfile(tmp):
    """The recipe copies files that exist and uses configure options that exist."""
    with open(os.path.join(KUBE, "Containerfile")) as f:
        text = f.read()
    for src in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        if src != ".":
            check(os.path.exists(os.path.join(SRCDIR, src)), f"Containerfile copies {src}, which exists")
    with open(os.path.join(SRCDIR, "configure.ac")) as f:
        configure_ac = f.read()
    for opt in re.findall(r"--(?:with|without|enable|disable)-([a-z-]+)", text):
        check(re.search(rf"AC_ARG_(WITH|ENABLE)\(\[{re.escape(opt)}\]", configure_ac),
              f"configure knows --*-{opt}", got=opt)
    check(re.search(r'^ENTRYPOINT \["/usr/sbin/ksmtuned", "--foreground", "--no-bus", "--root", "/host"\]', text,
                    re.M), "ENTRYPOINT runs ksmtuned --root /host", got=text)


main([test_rules_check_and_unit_tests, test_kubernetes_manifest, test_containerfile])
