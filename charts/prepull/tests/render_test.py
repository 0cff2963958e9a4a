#!/usr/bin/env python3
"""Renders the chart with the real Helm engine (helm-python-sdk), lints it, and validates every
rendered object with kubernetes-validate (strict) for each Kubernetes version the chart claims
(Chart.yaml kubeVersion: 1.26 and later, up to the newest kubernetes-validate knows), with the
default values and with every optional part on (edge DaemonSet, API token, HTTPS, APIService).
Also checks what those values change, and that wrong combinations fail naming the value.

Run by the Swift test suite (Tests/CloudTests/ChartTests.swift) with the venv of
scripts/install-tools.sh:  .build/tools/venv/bin/python charts/prepull/tests/render_test.py
Exit 0 when everything holds; every failure is printed.
"""
import os
import subprocess
import sys
import tempfile

import helm_python
import yaml

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
VENV_BIN = os.path.dirname(sys.executable)
VERSIONS = [f"1.{minor}.0" for minor in range(26, 38)]
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)


def render(values):
    with helm_python.Chart.load(CHART) as chart:
        out = chart.render(values, name="edgefleet", namespace="prepull-system", is_install=True)
    objects = []
    for path, text in sorted(out.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append((path, doc))
    return objects


def validate(objects, label):
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, (path, doc) in enumerate(objects):
            name = os.path.join(tmp, f"{i:02d}-{doc['kind']}-{os.path.basename(path)}")
            with open(name, "w") as f:
                yaml.safe_dump(doc, f)
            files.append(name)
        for version in VERSIONS:
            result = subprocess.run([os.path.join(VENV_BIN, "kubernetes-validate"), "--strict", "--quiet", "-k", version, *files],
                                    capture_output=True, text=True)
            check(result.returncode == 0, f"{label}: kubernetes-validate {version}: {result.stdout}{result.stderr}")


def find(objects, kind, component=None):
    return [doc for _, doc in objects if doc["kind"] == kind
            and (component is None or doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component)]


lint = helm_python.lint(CHART)
# Helm's severities: 1 info ("icon is recommended"), 2 warning, 4 error.
check(not lint["errors"] and all(m["severity"] < 2 for m in lint["messages"]), f"helm lint: {lint}")

default = render({})
validate(default, "default values")
kinds = sorted({doc["kind"] for _, doc in default})
check(kinds == ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service"], f"default kinds: {kinds}")
check(not find(default, "APIService") and not find(default, "DaemonSet"), "default: no APIService, no DaemonSet")
cloud = find(default, "Deployment", "cloud")[0]["spec"]["template"]["spec"]["containers"][0]
check("--tls-cert-file" not in cloud["args"] and "--token-file" not in cloud["args"], f"default args: {cloud['args']}")
check(cloud["livenessProbe"]["httpGet"].get("scheme", "HTTP") == "HTTP", "default probe over HTTP")

everything = render({
    "edge": {"enabled": True, "metrics": {"enabled": True}},
    "grafana": {"dashboard": {"enabled": True}},
    "cloud": {
        "apiToken": {"existingSecret": "prepull-api-token"},
        "httpsTLS": {"existingSecret": "prepull-api-tls"},
        "apiService": {"enabled": True, "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
    },
})
validate(everything, "every option on")
services = find(everything, "APIService")
check(sorted(s["metadata"]["name"] for s in services) == ["v1alpha1.operations.kubeedge.io", "v1alpha2.operations.kubeedge.io"],
      f"APIServices: {[s['metadata']['name'] for s in services]}")
priorities = {s["spec"]["version"]: s["spec"]["versionPriority"] for s in services}
check(priorities.get("v1alpha2", 0) > priorities.get("v1alpha1", 0), f"v1alpha2 preferred: {priorities}")
check(all(s["spec"]["service"]["namespace"] == "prepull-system" for s in services), "APIService points at the release namespace")
dashboards = find(everything, "ConfigMap", "monitoring")
check(len(dashboards) == 1 and dashboards[0]["metadata"]["labels"].get("grafana_dashboard") == "1", "the Grafana dashboard ConfigMap, labelled for the sidecar")
if dashboards:
    import json
    board = json.loads(dashboards[0]["data"]["prepull.json"])
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    for metric in ("prepull_mqtt_messages_total", "prepull_mqtt_bytes_total", "prepull_job_mqtt_messages_total", "prepull_messages_dropped_total"):
        check(metric in exprs, f"the dashboard charts {metric}")
check(not find(default, "ConfigMap", "monitoring"), "default: no Grafana dashboard")
daemonsets = find(everything, "DaemonSet")
check(len(daemonsets) == 1, "edge DaemonSet")
edge = daemonsets[0]["spec"]["template"]["spec"]["containers"][0] if daemonsets else {}
check(edge.get("command") == ["prepull-edge"] and edge.get("args", [""])[0] == "--node", f"lean edge worker: {edge.get('command')} {edge.get('args', [])[:2]}")
check("--metrics-listen" in edge.get("args", []) and "0.0.0.0:9464" in edge.get("args", []), f"edge metrics listener: {edge.get('args')}")
check(daemonsets and daemonsets[0]["spec"]["template"]["metadata"].get("annotations", {}).get("prometheus.io/port") == "9464", "edge scrape annotations")
plain = find(render({"edge": {"enabled": True, "leanBinary": False}}), "DaemonSet")[0]["spec"]["template"]["spec"]["containers"][0]
check(plain.get("command") == ["prepull"] and plain["args"][0] == "edge", f"prepull edge: {plain.get('command')} {plain['args'][:2]}")
cloud = find(everything, "Deployment", "cloud")[0]["spec"]["template"]["spec"]
args = cloud["containers"][0]["args"]
check("--tls-cert-file" in args and "/api-tls/tls.crt" in args and "--token-file" in args, f"args: {args}")
check(cloud["containers"][0]["livenessProbe"]["httpGet"]["scheme"] == "HTTPS", "probes over HTTPS")
check(any(v.get("secret", {}).get("secretName") == "prepull-api-tls" for v in cloud["volumes"]), "the TLS Secret is mounted")

postgres = render({"cloud": {"store": {"postgres": {"existingSecret": "prepull-store", "key": "dsn"}}}})
validate(postgres, "PostgreSQL store")
pg_cloud = find(postgres, "Deployment", "cloud")[0]["spec"]["template"]["spec"]
pg_args = pg_cloud["containers"][0]["args"]
check("--store-file" in pg_args and "/store/url" in pg_args and "--data" not in pg_args, f"PostgreSQL store args: {pg_args}")
check(not any("postgres://" in a for a in pg_args), "the URL is not in the pod spec")
check(any(v.get("secret", {}).get("secretName") == "prepull-store" and v["secret"]["items"][0]["key"] == "dsn" for v in pg_cloud["volumes"]),
      "the store Secret's key is mounted as /store/url")
check(not find(postgres, "PersistentVolumeClaim", "cloud"), "no cloud PVC with the PostgreSQL store")
check(find(postgres, "Deployment", "cloud")[0]["spec"]["replicas"] == 1, "one replica unless asked")
check("--share-group" not in pg_args, "no shared subscription on a single broker ($hw/events)")

# Three replicas on PostgreSQL, two regional brokers bridged to the chart's broker (the core).
regional = render({
    "edge": {"enabled": True, "nodeSelector": {"prepull.io/edge": "true"}},
    "cloud": {"replicas": 3, "store": {"postgres": {"existingSecret": "prepull-store"}}},
    "regions": {"enabled": True, "list": [
        {"name": "eu", "tls": {"existingSecret": "prepull-region-eu-tls"}, "nodeSelector": {"topology.kubernetes.io/region": "eu"}},
        {"name": "us", "tls": {"existingSecret": "prepull-region-us-tls"}, "nodeSelector": {"topology.kubernetes.io/region": "us"}},
    ]},
})
validate(regional, "replicas and regions")
rc = find(regional, "Deployment", "cloud")[0]
rc_args = rc["spec"]["template"]["spec"]["containers"][0]["args"]
check(rc["spec"]["replicas"] == 3 and rc["spec"]["strategy"]["type"] == "RollingUpdate", f"3 replicas, rolling: {rc['spec'].get('replicas')} {rc['spec']['strategy']}")
check(rc_args[rc_args.index("--topic-root") + 1] == "fleet/events", f"the cloud on the core's root: {rc_args}")
check(rc_args[rc_args.index("--share-group") + 1] == "cloud" and rc_args[rc_args.index("--replica-id") + 1] == "$(POD_NAME)", f"replica args: {rc_args}")
rc_env = rc["spec"]["template"]["spec"]["containers"][0]["env"]
check(any(e["name"] == "POD_NAME" and e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name" for e in rc_env), f"POD_NAME from the downward API: {rc_env}")
core_acl = [d for d in find(regional, "ConfigMap", "broker")][0]["data"]["acl"]
for needle in ("user bridge-eu", "user bridge-us", "topic read fleet/events/node/+/prepull/+/task", "topic readwrite fleet/events/#"):
    check(needle in core_acl, f"core ACL has {needle!r}")
check("$hw/events" not in core_acl, "the core ACL speaks the core's root only")
region_maps = find(regional, "ConfigMap", "region-broker")
check(len(region_maps) == 2, f"a ConfigMap per region: {len(region_maps)}")
for cm in region_maps:
    r = cm["metadata"]["labels"]["prepull.io/region"]
    conf = cm["data"]["mosquitto.conf"]
    check("address edgefleet-prepull-broker.prepull-system.svc:8883" in conf, f"{r}: bridge to the core Service")
    check(f"remote_clientid bridge-{r}" in conf and "topic node/+/prepull/+/task in 1 $hw/events/ fleet/events/" in conf
          and "topic node/+/prepull/+/status out 1 $hw/events/ fleet/events/" in conf, f"{r}: bridge topics: {conf}")
    check("require_certificate true" in conf and "bridge_insecure false" in conf, f"{r}: mTLS on both sides")
    check("pattern read $hw/events/node/%u/prepull/+/task" in cm["data"]["acl"], f"{r}: per-node ACL")
check(len(find(regional, "Deployment", "region-broker")) == 2 and len(find(regional, "Service", "region-broker")) == 2, "a broker and a Service per region")
edges = {d["metadata"]["labels"].get("prepull.io/region"): d for d in find(regional, "DaemonSet")}
check(sorted(edges) == ["eu", "us"], f"an edge DaemonSet per region: {sorted(edges)}")
for r, d in edges.items():
    spec = d["spec"]["template"]["spec"]
    a = spec["containers"][0]["args"]
    check(a[a.index("--broker") + 1] == f"mqtts://edgefleet-prepull-broker-{r}.prepull-system.svc:8883", f"{r}: edge to its region: {a}")
    check(a[a.index("--topic-root") + 1] == "$hw/events", f"{r}: nodes keep $hw/events")
    check(spec["nodeSelector"] == {"topology.kubernetes.io/region": r, "prepull.io/edge": "true", "node-role.kubernetes.io/edge": ""}, f"{r}: nodeSelector {spec['nodeSelector']}")
    check(d["spec"]["selector"]["matchLabels"].get("prepull.io/region") == r, f"{r}: selectors kept apart")

for values, needle in [
    ({"cloud": {"replicas": 3}}, "cloud.replicas above 1 needs cloud.store.postgres.existingSecret"),
    ({"cloud": {"replicas": 0}}, "cloud.replicas must be at least 1"),
    ({"regions": {"enabled": True}}, "regions.enabled needs at least one entry in regions.list"),
    ({"regions": {"enabled": True, "list": [{"name": "EU", "tls": {"existingSecret": "x"}}]}}, "is not a DNS label"),
    ({"regions": {"enabled": True, "list": [{"name": "eu"}]}}, "regions.list[eu].tls.existingSecret is required"),
    ({"regions": {"enabled": True, "coreTopicRoot": "$core", "list": [{"name": "eu", "tls": {"existingSecret": "x"}}]}}, "regions.coreTopicRoot must not start with"),
    ({"broker": {"enabled": False}, "cloud": {"brokerURL": "mqtts://b:8883"}, "regions": {"enabled": True, "list": [{"name": "eu", "tls": {"existingSecret": "x"}}]}}, "regions.enabled needs broker.enabled"),
    ({"cloud": {"apiService": {"enabled": True, "caBundle": "eA=="}}}, "cloud.httpsTLS.existingSecret"),
    ({"cloud": {"httpsTLS": {"existingSecret": "t"}, "apiService": {"enabled": True}}}, "cloud.apiService.caBundle"),
]:
    try:
        render(values)
        check(False, f"{values}: rendered, expected a failure naming {needle}")
    except Exception as e:  # helm_python raises the engine's error
        check(needle in str(e), f"{values}: the error does not name {needle}: {e}")

# And the validator is not one that passes anything: a Deployment with a misspelt field fails.
broken = [(p, d) for p, d in default if d["kind"] == "Deployment"][:1]
broken[0][1]["spec"]["replica"] = 1
before = len(failures)
validate(broken, "broken")
check(len(failures) == before + len(VERSIONS), "kubernetes-validate --strict did not refuse spec.replica")
del failures[before:before + len(VERSIONS)]

if failures:
    print(f"{len(failures)} failure(s):")
    for f in failures:
        print(" -", f)
    sys.exit(1)
print(f"chart OK: lint; default, every-option, PostgreSQL and replicas-with-regions renders valid (strict) on Kubernetes {VERSIONS[0]} .. {VERSIONS[-1]}; failures name their value")
