#!/usr/bin/env python3
"""What the worst request bodies under the API's size limit cost the controller.

For each body (aliases, nesting, many keys, many list items, as YAML and JSON) a fresh
`prepull cloud` (with its own mosquitto, on random loopback ports) is sent the body once; the
figures are the answer's status and time, and the controller's peak RSS (VmHWM) above its RSS
before the request. The baseline, measured in the same run the same way, is the KubeEdge sample
job (a normal apply). Then one body is sent REPEAT times in a row to one controller, its RSS
sampled every 100 requests: it must stay flat.

    bench/hostile/bodies.py [PREPULL_BIN] [REPEAT]      (defaults: .build/release/prepull, 1000)
"""
import http.client, json, os, shutil, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build/release/prepull")
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
LIMIT = 1024 * 1024  # HTTPAPI.maxBody
JOBS = "/apis/operations.kubeedge.io/v1alpha2/imageprepulljobs"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Cloud:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="prepull-bodies-")
        self.mqtt_port, self.http_port = free_port(), free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.mqtt_port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n")
        self.broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        self.log = open(os.path.join(self.dir, "cloud.log"), "w")
        self.proc = subprocess.Popen([BIN, "cloud", "--broker", f"mqtt://127.0.0.1:{self.mqtt_port}", "--data", os.path.join(self.dir, "data"),
                                      "--listen", f"127.0.0.1:{self.http_port}", "--log-level", "warning"], stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("cloud did not start")

    def request(self, method, path, body=None, content_type="application/yaml"):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=120)
        c.request(method, path, body=body, headers={"Content-Type": content_type} if body is not None else {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def send(self, body, content_type):
        before = rss_kib(self.proc.pid, "VmRSS")
        start = time.perf_counter()
        status, data = self.request("POST", JOBS, body, content_type)
        took = time.perf_counter() - start
        return status, took, (rss_kib(self.proc.pid, "VmHWM") - before) / 1024, data

    def stop(self):
        for p in (self.proc, self.broker):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def fill(prefix, unit, suffix, limit=LIMIT):
    n = (limit - len(prefix) - len(suffix)) // len(unit)
    return (prefix + unit * n + suffix).encode()


def bodies():
    big = "x" * (LIMIT // 2)
    yield "aliases (YAML: one 2 MiB string, aliased)", ("a: &a \"" + big + "\"\nb: [" + ",".join(["*a"] * 1000) + "]\n").encode()[:LIMIT], "application/yaml"
    yield "aliases (billion laughs)", ("a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9))).encode(), "application/yaml"
    yield "nesting (flow, 999 deep)", b"[" * 999 + b"]" * 999, "application/yaml"
    yield "nesting (JSON, 100,000 deep)", b"[" * 100_000 + b"]" * 100_000, "application/json"
    yield "many keys (JSON object)", fill("{", '"k%07d":0,' % 0, '"z":0}'), "application/json"
    keys = "".join(f'"k{i:07d}":0,' for i in range((LIMIT - 10) // 13))
    yield "many distinct keys (JSON)", ("{" + keys + '"z":0}').encode(), "application/json"
    yield "many list items (JSON)", fill("[", "0,", "0]"), "application/json"
    yield "many list items (YAML flow)", fill("a: [", "0,", "0]\n"), "application/yaml"
    yield "many list items (YAML block)", fill("a:\n", "- 0\n", "- 0\n"), "application/yaml"
    yield "many keys (YAML block)", "".join(f"k{i:07d}: 0\n" for i in range((LIMIT - 10) // 12)).encode(), "application/yaml"
    # The largest shapes that pass every bound before parsing (100,000 nodes): parsed in full.
    yield "49,990 keys, under the node bound (YAML)", "".join(f"k{i:07d}: 0\n" for i in range(49_990)).encode(), "application/yaml"
    yield "49,990 keys, under the node bound (JSON)", ("{" + ",".join(f'"k{i:07d}":0' for i in range(49_990)) + "}").encode(), "application/json"
    names = ",".join(f'"edge-{i:05d}"' for i in range(50_000))
    yield "largest valid job (50,000 nodeNames, JSON)", ('{"apiVersion":"operations.kubeedge.io/v1alpha2","kind":"ImagePrePullJob",'
        '"metadata":{"name":"big"},"spec":{"imagePrePullTemplate":{"images":["busybox"],"nodeNames":[' + names + ']}}}').encode(), "application/json"
    yield "one long string (YAML)", ("a: \"" + "y" * (LIMIT - 10) + "\"\n").encode(), "application/yaml"


def main():
    sample = open(os.path.join(ROOT, "examples/kubeedge-sample.yaml"), "rb").read()
    print(f"prepull cloud: {BIN}; body limit {LIMIT} bytes; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'body':44} {'bytes':>9} {'status':>6} {'time s':>8} {'peak MiB':>9}")
    rows = [("baseline: KubeEdge sample job", sample, "application/yaml")] + list(bodies())
    worst_time, worst_mem = 0.0, 0.0
    costs = {}
    for name, body, ctype in rows:
        cloud = Cloud()
        try:
            status, took, mib, _ = cloud.send(body, ctype)
        finally:
            cloud.stop()
        print(f"{name:44} {len(body):9d} {status:6d} {took:8.3f} {mib:9.1f}")
        # The baseline and the largest valid job are references, not hostile bodies.
        if not name.startswith(("baseline", "largest valid")):
            worst_time, worst_mem = max(worst_time, took), max(worst_mem, mib)
            costs[name] = took
    print(f"worst hostile body: {worst_time:.3f} s, {worst_mem:.1f} MiB above the controller's RSS before the request")
    # The costliest body (by time) many times in a row: memory flat.
    name, body, ctype = max([r for r in bodies() if r[0] in costs], key=lambda r: costs[r[0]])
    cloud = Cloud()
    try:
        samples = []
        start = time.perf_counter()
        for i in range(REPEAT):
            status, _, _, _ = cloud.send(body, ctype)
            assert 400 <= status < 500, status
            if i % 100 == 0 or i == REPEAT - 1:
                samples.append(rss_kib(cloud.proc.pid, "VmRSS") / 1024)
        took = time.perf_counter() - start
        print(f"'{name}' {REPEAT} times: {took:.1f} s ({took / REPEAT * 1000:.1f} ms each); RSS MiB every 100: "
              + ", ".join(f"{s:.0f}" for s in samples))
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
