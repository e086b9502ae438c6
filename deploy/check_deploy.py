"""Offline checks of deploy/ that no external tool does (run by deploy/check.sh).

    python check_deploy.py HELP_FILE RENDERED_YAML...

1. Every CLIPDB_* variable and every --flag that the Dockerfile, compose.yaml
   and the rendered Kubernetes manifests give the server is one that
   `clipdb serve --help` (HELP_FILE) lists, so a renamed flag fails here.
2. alerts.yaml: every rule has alert, expr, for, labels.severity,
   annotations.summary/description/runbook_url; every metric an expr uses is
   a documented one; every runbook_url's anchor is a heading of
   docs/operations.md.
3. optional/servicemonitor.yaml selects one rendered Service, on its port.
"""

import re
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent

# Environment variables clipdb reads that are not serve flags.
NON_FLAG_ENV = {"CLIPDB_LOG"}  # the log filter (docs/operations.md#logging)

# The metrics clipdb exports (issue 17, docs/operations.md#metrics), and the
# others an alert may use.
CLIPDB_METRICS = {
    "clipdb_grpc_requests_total", "clipdb_grpc_request_duration_seconds",
    "clipdb_collection_points", "clipdb_collection_segments",
    "clipdb_collection_dead_records", "clipdb_collection_disk_bytes",
    "clipdb_embed_items_total", "clipdb_embed_batch_size",
    "clipdb_embed_duration_seconds", "clipdb_embed_queue_depth",
    "clipdb_commit_duration_seconds", "clipdb_search_duration_seconds",
    "clipdb_compactions_total", "clipdb_seals_total",
    "clipdb_snapshot_duration_seconds", "clipdb_build_info",
    "clipdb_cluster_nodes", "clipdb_replica_applied_sequence", "clipdb_replica_lag",
    "clipdb_shard_snapshot_sequence", "clipdb_shard_snapshots_uploaded_total",
    "clipdb_replica_restores_total",
    "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
}
OTHER_METRICS = {
    "up",  # Prometheus, per scrape target
    "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# PromQL words that look like metric names.
PROMQL_WORDS = {
    "sum", "by", "without", "rate", "irate", "increase", "histogram_quantile",
    "avg_over_time", "max_over_time", "min_over_time", "and", "or", "unless",
    "on", "ignoring", "group_left", "group_right", "absent", "max", "min", "avg",
    "count", "offset", "bool", "le", "predict_linear", "deriv", "delta", "clamp_min",
}

errors = []


def fail(message):
    errors.append(message)
    print(f"  FAIL {message}")


def parse_help(text):
    flags = set(re.findall(r"(?m)^\s*(?:-\w, )?(--[a-z0-9][a-z0-9-]*)", text))
    envs = set(re.findall(r"\[env: (CLIPDB_[A-Z0-9_]+)", text))
    return flags, envs


def check_names(where, envs_used, flags_used, flags, envs):
    before = len(errors)
    for env in sorted(envs_used):
        if env not in envs and env not in NON_FLAG_ENV:
            fail(f"{where}: {env} is not a variable of `clipdb serve` (see clipdb serve --help)")
    for flag in sorted(flags_used):
        if flag not in flags:
            fail(f"{where}: {flag} is not a flag of `clipdb serve` (see clipdb serve --help)")
    if len(errors) == before:
        print(f"  ok   {where}: {len(envs_used)} variables, {len(flags_used)} flags known to clipdb serve")


def server_flags(argv):
    """--flags in a command line that runs `clipdb serve`."""
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


def is_clipdb(image):
    """The clipdb image (`clipdb`, `clipdb:TAG`, `REGISTRY/clipdb:TAG`), not nats."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0] == "clipdb"


def check_dockerfile(flags, envs):
    text = (DEPLOY / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    used_env, used_flags = set(), set()
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "ENV":
            used_env |= set(re.findall(r"\b(CLIPDB_[A-Z0-9_]+)=", line))
        if words[0] in ("CMD", "ENTRYPOINT"):
            used_flags |= server_flags(re.findall(r'"([^"]*)"', line))
    if not {"CLIPDB_LISTEN", "CLIPDB_HTTP_LISTEN", "CLIPDB_DATA_DIR"} <= used_env:
        fail("Dockerfile: must set CLIPDB_LISTEN, CLIPDB_HTTP_LISTEN and CLIPDB_DATA_DIR")
    check_names("deploy/Dockerfile", used_env, used_flags, flags, envs)


def check_compose(flags, envs):
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, svc in doc["services"].items():
        if not is_clipdb(svc.get("image", "clipdb")):
            continue  # nats servers: not clipdb's flags
        env = svc.get("environment") or {}
        keys = set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
        used_env = {k for k in keys if k.startswith("CLIPDB_")}
        command = svc.get("command") or []
        command = command.split() if isinstance(command, str) else command
        check_names(f"deploy/compose.yaml service {name}", used_env, server_flags(command), flags, envs)


def check_manifests(paths, flags, envs):
    docs = [d for p in paths for d in yaml.safe_load_all(Path(p).read_text()) if d]
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    found_container = False
    for d in docs:
        if d["kind"] not in ("StatefulSet", "Deployment", "DaemonSet", "Pod"):
            continue
        spec = d["spec"]["template"]["spec"] if d["kind"] != "Pod" else d["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            if not is_clipdb(c.get("image", "")):
                continue  # nats servers: not clipdb's flags
            found_container = True
            used_env = {e["name"] for e in c.get("env", []) if e["name"].startswith("CLIPDB_")}
            for src in c.get("envFrom", []):
                ref = src.get("configMapRef")
                if ref:
                    if ref["name"] not in configmaps:
                        fail(f"{d['kind']}/{d['metadata']['name']}: envFrom ConfigMap {ref['name']} is not rendered")
                        continue
                    for key in configmaps[ref["name"]]:
                        if not key.startswith("CLIPDB_"):
                            fail(f"ConfigMap {ref['name']}: {key} is not a CLIPDB_* variable")
                        used_env.add(key)
            argv = (c.get("command") or []) + (c.get("args") or [])
            check_names(f"{d['kind']}/{d['metadata']['name']} container {c['name']}",
                        used_env, server_flags(argv), flags, envs)
    if not found_container:
        fail("the rendered manifests hold no container")


def check_servicemonitor(paths):
    """optional/servicemonitor.yaml (a CRD: no schema here) selects exactly
    one Service of each rendered overlay, on a port that Service has."""
    sm = yaml.safe_load((DEPLOY / "kubernetes" / "optional" / "servicemonitor.yaml").read_text())
    want = sm["spec"]["selector"]["matchLabels"]
    for p in paths:
        docs = [d for d in yaml.safe_load_all(Path(p).read_text()) if d]
        services = [d for d in docs if d["kind"] == "Service"]
        chosen = [s for s in services
                  if all(s["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
        if len(chosen) != 1:
            fail(f"servicemonitor.yaml selects {len(chosen)} Services of {p}, not 1")
            continue
        ports = {port.get("name") for port in chosen[0]["spec"]["ports"]}
        bad = [ep.get("port") for ep in sm["spec"]["endpoints"] if ep.get("port") not in ports]
        if bad:
            fail(f"servicemonitor.yaml: port {bad[0]} is not a port of Service {chosen[0]['metadata']['name']} in {p}")
            continue
        print(f"  ok   deploy/kubernetes/optional/servicemonitor.yaml selects Service "
              f"{chosen[0]['metadata']['name']} of {Path(p).name}, port {sm['spec']['endpoints'][0]['port']}")


def check_cluster_identity(paths):
    """A rendered cluster (one with a nats StatefulSet) can't bootstrap a second
    cluster: every NATS server routes to the same fixed list naming each of
    its pods, and each clipdb node's id is its pod's (stable) name."""
    for p in paths:
        docs = [d for d in yaml.safe_load_all(Path(p).read_text()) if d]
        nats = [d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "nats"]
        if not nats:
            continue
        before = len(errors)
        sts = nats[0]
        replicas = sts["spec"]["replicas"]
        service = sts["spec"]["serviceName"]
        conf = next((d["data"]["nats.conf"] for d in docs
                     if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nats-config"), "")
        routes = set(re.findall(r"nats://([a-z0-9.-]+):6222", conf))
        want = {f"nats-{i}.{service}" for i in range(replicas)}
        if routes != want:
            fail(f"{Path(p).name}: NATS routes {sorted(routes)} are not the {replicas} pods {sorted(want)}")
        for d in docs:
            if d["kind"] != "StatefulSet" or d["metadata"]["name"] != "clipdb":
                continue
            c = d["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e for e in c.get("env", [])}
            pod = env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            if env.get("CLIPDB_NODE_ID", {}).get("value") != "$(POD_NAME)" or pod != "metadata.name":
                fail(f"{Path(p).name}: clipdb's CLIPDB_NODE_ID must be $(POD_NAME) from metadata.name (a stable node id)")
        if len(errors) == before:
            print(f"  ok   {Path(p).name}: NATS routes name its {replicas} pods; clipdb node ids are pod names")


def headings_slugs(markdown):
    slugs = set()
    for line in markdown.splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m:
            title = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            slugs.add(title.replace(" ", "-"))
    return slugs


def check_alerts():
    path = DEPLOY / "prometheus" / "alerts.yaml"
    slugs = headings_slugs((ROOT / "docs" / "operations.md").read_text())
    known = CLIPDB_METRICS | OTHER_METRICS
    doc = yaml.safe_load(path.read_text())
    count, before = 0, len(errors)
    for group in doc["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if not name:
                fail(f"alerts.yaml: a rule of group {group['name']} has no `alert` (recording rules do not belong here)")
                continue
            count += 1
            for key in ("expr", "for"):
                if not rule.get(key):
                    fail(f"alerts.yaml {name}: no `{key}`")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                fail(f"alerts.yaml {name}: labels.severity must be critical, warning or info")
            ann = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(f"alerts.yaml {name}: no annotations.{key}")
            anchor = ann.get("runbook_url", "").partition("#")[2]
            if anchor not in slugs:
                fail(f"alerts.yaml {name}: runbook anchor #{anchor} is not a heading of docs/operations.md")
            expr = re.sub(r'"[^"]*"', '""', str(rule.get("expr", "")))  # label values out
            expr = re.sub(r"\{[^}]*\}", "{}", expr)  # matchers out
            expr = re.sub(r"\[[^\]]*\]", "[]", expr)  # ranges out
            expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
            for word in re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", expr):
                if word in PROMQL_WORDS:
                    continue
                base = word
                for suffix in HISTOGRAM_SUFFIXES:
                    if word.endswith(suffix) and word[: -len(suffix)] in known:
                        base = word[: -len(suffix)]
                if base not in known:
                    fail(f"alerts.yaml {name}: metric {word} is not one clipdb exports (nor up/kubelet_volume_stats_*)")
    if len(errors) == before:
        print(f"  ok   deploy/prometheus/alerts.yaml: {count} alerts (fields, metric names, runbook anchors)")


def main():
    help_text = Path(sys.argv[1]).read_text()
    flags, envs = parse_help(help_text)
    if len(envs) < 10:
        fail(f"only {len(envs)} CLIPDB_* variables found in the help text: is it `clipdb serve --help`?")
    print(f"  clipdb serve --help: {len(flags)} flags, {len(envs)} variables")
    check_dockerfile(flags, envs)
    check_compose(flags, envs)
    check_manifests(sys.argv[2:], flags, envs)
    check_servicemonitor(sys.argv[2:])
    check_cluster_identity(sys.argv[2:])
    check_alerts()
    if errors:
        print(f"check_deploy.py: {len(errors)} problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
