#!/usr/bin/env python3
"""Writes the seed inputs of the libFuzzer corpora (fuzz/corpus/<target>/seed-*): the protocol
document's example messages, the hostile cases of issue 17 built from them, the example jobs,
and a few selectors. libFuzzer's own finds are merged next to them by scripts/fuzz.sh --merge."""
import hashlib, json, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"
protocol = (root / "docs" / "protocol.md").read_text()
examples = []
for block in re.findall(r"```json\n(.*?)```", protocol, re.S):
    try:
        value = json.loads(block)
    except ValueError:
        continue
    if isinstance(value, dict) and "header" in value and "route" in value:
        examples.append(value)

topic_byte = {"taskCreate": 0, "taskCancel": 0, "presence": 2, "jobSummary": 3}

def write(target, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)

def compact(v):
    return json.dumps(v, separators=(",", ":")).encode()

def variants(e):
    yield e
    h = json.loads(json.dumps(e)); h["header"]["timestamp"] = 9223372036854775806; yield h
    body = e["content"].get("body", {})
    for key, value in [("finishTimeMs", 9223372036854775807), ("timeoutSeconds", 10000000000000000),
                       ("retryTimes", 9223372036854775807), ("timeMs", -1), ("freeDiskBytes", -5)]:
        if key in body:
            v = json.loads(json.dumps(e)); v["content"]["body"][key] = value; yield v

for e in examples:
    op = e["route"]["operation"]
    for v in variants(e):
        payload = compact(v)
        write("wire", bytes([topic_byte.get(op, 1)]) + payload)
        if op in ("taskCreate", "taskCancel"):
            write("task-intake", payload)
    # A duplicate key (last-wins on JSONDecoder alone).
    text = compact(e).decode()
    write("wire", bytes([topic_byte.get(op, 1)]) + text.replace('"seq":', '"seq":1,"seq":', 1).encode())

for path in sorted((root / "examples").glob("*.yaml")):
    write("manifest", path.read_bytes())
write("manifest", b'a: &a "xxxxxxxxxxxxxxxx"\nb: [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*a,*a,*a]\n')
write("manifest", b'apiVersion: v1\nkind: Secret\nmetadata: {name: reg}\ntype: kubernetes.io/dockerconfigjson\n'
      b'stringData:\n  .dockerconfigjson: {"auths": {"r.example.com": {"password": "FUZZ-SECRET"}}\n')
write("manifest", b'{"apiVersion":"operations.kubeedge.io/v1alpha2","kind":"ImagePrePullJob","metadata":{"name":"j","namespace":"../../x",'
      b'"labels":{"!!!":"x"}},"spec":{"imagePrePullTemplate":{"images":["nginx"],"nodeNames":["n"],"timeoutSeconds":9223372036854775807}}}')
write("manifest", b"[" * 200 + b"]" * 200)
for s in ["site=a,tier!=db", "zone in (eu-1,eu-2),!gpu", "ssd", "env==prod, x notin (a)", "a in (b", "!!!=a",
          "example.com/role=edge"]:
    write("selector", s.encode())
