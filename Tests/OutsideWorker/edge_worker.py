#!/usr/bin/env python3
"""A minimal prepull edge worker, written from docs/protocol.md alone (no prepull code read).

It is the test suite's proof that the document is enough: EndToEndTests runs the same job
against it as against `prepull edge`. Python 3 and paho-mqtt 2 (the tools venv); images are
pulled with containerd's `ctr` into the `k8s.io` namespace, where the kubelet (CRI) sees them.

    edge_worker.py --node NAME --broker HOST:PORT [--tls-ca F --tls-cert F --tls-key F]
                   --containerd SOCK --snapshotter NAME --hosts-dir DIR --state DIR
                   [--disk-path DIR] [--disk-threshold PCT] [--label k=v ...] [--topic-root ROOT]
"""
import argparse
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

VERSION = "prepull.v1"
SESSION_EXPIRY = 7 * 24 * 3600          # protocol.md 4: MQTT 5 needs a Session Expiry Interval
FORGET_AFTER_MS = 7 * 24 * 3600 * 1000  # protocol.md 4, "Forgetting"
DEFAULT_THRESHOLD = 80.0                # protocol.md 3.1: items a task does not list


def now_ms():
    return int(time.time() * 1000)


def log(*parts):
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def normalise(image):
    """protocol.md 3.1: normalise like containerd (nginx -> docker.io/library/nginx:latest)."""
    name, digest = (image.split("@", 1) + [None])[:2]
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + (name if "/" in name else "library/" + name)
    if digest is None and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name + ("@" + digest if digest else "")


def registry_host(ref):
    return ref.split("/", 1)[0]


def credential(auths, ref):
    """protocol.md 3.1: the auths key whose host equals the image's registry host."""
    host = registry_host(ref)
    for key, value in (auths or {}).items():
        k = key.replace("https://", "").replace("http://", "").rstrip("/")
        if k in ("index.docker.io", "registry-1.docker.io", "index.docker.io/v1"):
            k = "docker.io"
        if k == host or ref.startswith(k + "/"):
            if value.get("auth"):
                import base64
                return base64.b64decode(value["auth"]).decode()
            if value.get("username"):
                return value["username"] + ":" + value.get("password", "")
    return None


class Journal:
    """One JSON file per job uid under --state: the task (without credentials), its reports and
    a seq reservation, so that a restart continues above every seq used (protocol.md 2)."""

    def __init__(self, directory):
        self.directory = os.path.join(directory, "jobs")
        os.makedirs(self.directory, exist_ok=True)

    def path(self, uid):
        return os.path.join(self.directory, uid + ".json")

    def load(self):
        jobs = {}
        for name in os.listdir(self.directory):
            if name.endswith(".json"):
                with open(os.path.join(self.directory, name)) as f:
                    job = json.load(f)
                jobs[job["uid"]] = job
        return jobs

    def write(self, job):
        tmp = self.path(job["uid"]) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(job, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path(job["uid"]))

    def remove(self, uid):
        try:
            os.remove(self.path(uid))
        except FileNotFoundError:
            pass


class Worker:
    def __init__(self, args):
        self.args = args
        self.root = args.topic_root
        self.node = args.node
        self.lock = threading.RLock()
        self.journal = Journal(args.state)
        self.jobs = self.journal.load()
        for job in self.jobs.values():
            job["seq"] = job.get("reserved", 0)  # continue above every seq that may have been used
            job["chain"] = 0                      # a restart starts a new report chain
            job["running"] = False
        self.presence_seq = 0
        self.labels = dict(kv.split("=", 1) for kv in args.label)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.node, protocol=mqtt.MQTTv5)
        if args.tls_ca:
            self.client.tls_set(ca_certs=args.tls_ca, certfile=args.tls_cert, keyfile=args.tls_key,
                                cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message
        self.client.on_pre_connect = lambda client, userdata: self.set_will()
        self.client.reconnect_delay_set(1, 10)
        self.forget_expired()

    # -- presence (protocol.md 3.8) ---------------------------------------------------------

    def reserve_presence(self):
        with self.lock:
            self.presence_seq = max(self.presence_seq + 2, 2 * now_ms())
            return self.presence_seq

    def presence_envelope(self, state, seq):
        body = {"state": state, "labels": self.labels, "versions": {"prepull": "outside-python", "runtime": "containerd"}}
        if state == "online":
            usage = shutil.disk_usage(self.args.disk_path)
            body["freeDiskBytes"] = usage.free
        return {
            "header": {"id": str(uuid.uuid4()), "timestamp": now_ms(), "version": VERSION},
            "route": {"source": "edge", "group": "prepull", "operation": "presence", "resource": f"node/{self.node}"},
            "content": {"nodeName": self.node, "seq": seq, "body": body},
        }

    def set_will(self):
        """Before every connection attempt: reserve N, N + 1; the will is `offline` with N + 1."""
        n = self.reserve_presence()
        self.connection_online_seq = n
        will = json.dumps(self.presence_envelope("offline", n + 1))
        self.client.will_set(f"{self.root}/node/{self.node}/presence", will, qos=1, retain=True)

    def connect(self):
        host, port = self.args.broker.rsplit(":", 1)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY
        self.set_will()
        self.client.connect(host, int(port), keepalive=30, clean_start=False, properties=props)

    def on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            log("connect refused:", reason)
            return
        # protocol.md 4 step 2: subscribe first, then announce online on the same connection.
        client.subscribe(f"{self.root}/node/{self.node}/prepull/+/task", qos=1)
        client.publish(f"{self.root}/node/{self.node}/presence",
                       json.dumps(self.presence_envelope("online", self.connection_online_seq)), qos=1, retain=True)
        log("connected; online presence", self.connection_online_seq)
        # Finished results the broker may not have taken: re-report them (new seqs, new chain).
        with self.lock:
            unreported = [uid for uid, job in self.jobs.items() if job.get("nodeResult") and not job.get("reported")]
            unfinished = [uid for uid, job in self.jobs.items() if not job.get("nodeResult") and not job.get("running")]
        for uid in unreported:
            self.re_report(uid, accepted=False)
        for uid in unfinished:
            self.start_run(uid)

    # -- messages --------------------------------------------------------------------------

    def on_message(self, client, userdata, message):
        try:
            env = json.loads(message.payload)
            parts = message.topic.split("/")
            node, job_name = parts[-4], parts[-2]
            content = env["content"]
            if env["header"]["version"] != VERSION or content.get("nodeName") != node or content.get("jobName") != job_name \
                    or node != self.node or "jobUID" not in content:
                raise ValueError("envelope does not match its topic or version")
            operation = env["route"]["operation"]
        except Exception as error:  # protocol.md 2: dropped, logged, never answered
            log("dropped a message on", message.topic, ":", error)
            return
        if operation == "taskCreate":
            self.on_task(env, content, job_name)
        elif operation == "taskCancel":
            self.on_cancel(content["jobUID"], content["body"].get("reason") or "the job was cancelled")
        else:
            log("dropped", operation, "on a task topic")

    def on_task(self, env, content, job_name):
        uid = content["jobUID"]
        task = dict(content["body"])
        credentials = task.pop("credentials", None)  # never written to disk (protocol.md 3.1)
        self.forget_expired()
        with self.lock:
            held = uid in self.jobs
            if not held:
                self.jobs[uid] = {"uid": uid, "name": job_name, "task": task, "taskId": env["header"]["id"],
                                  "receivedMs": now_ms(), "seq": 0, "reserved": 0, "chain": 0}
            job = self.jobs[uid]
            job["credentials"] = credentials
        if held:  # protocol.md 3.1: answer a task already held with its latest reports
            self.re_report(uid, accepted=True, parent=env["header"]["id"])
            return
        self.publish(uid, "accepted", {"alreadyHeld": False}, parent=env["header"]["id"])
        self.save(self.jobs[uid])
        self.start_run(uid)

    def on_cancel(self, uid, reason):
        with self.lock:
            job = self.jobs.get(uid)
            if job is None:
                return
            job["cancelled"] = "cancelled: " + reason
            finished = job.get("nodeResult") is not None
        if finished:
            self.forget(uid)  # protocol.md 3.2: a finished task is forgotten at once, nothing sent
        # a running task notices `cancelled` between images, reports, then forgets

    # -- one task --------------------------------------------------------------------------

    def start_run(self, uid):
        with self.lock:
            self.jobs[uid]["running"] = True
        threading.Thread(target=self.run, args=(uid,), daemon=True).start()

    def run(self, uid):
        job = self.jobs[uid]
        task = job["task"]
        start = job["receivedMs"]
        check = self.check(task)
        self.record(uid, "checkResult", check)
        self.publish(uid, "checkResult", check)
        if not check["succeeded"]:
            self.finish(uid, "Failure", check.get("reason", "check failed"), start)
            return
        results = []
        seen = set()
        for image in task["images"]:
            if image in seen:
                continue  # an image written twice is pulled and reported once (protocol.md 3.6)
            seen.add(image)
            if job.get("cancelled"):
                results.append({"image": image, "succeeded": False, "attempts": 0, "durationMs": 0,
                                "finishTimeMs": now_ms(), "reason": job["cancelled"], "alreadyPresent": False})
                continue
            results.append(self.pull(uid, image, task.get("retryTimes", 0)))
        failed = [r for r in results if not r["succeeded"]]
        pull = {"succeeded": not failed, "timeMs": now_ms(), "images": results}
        if failed:
            pull["reason"] = f"{len(failed)} of {len(results)} images failed"
        self.record(uid, "pullResult", pull)
        self.publish(uid, "pullResult", pull)
        if job.get("cancelled"):
            self.finish(uid, "Failure", job["cancelled"], start)
            self.forget(uid)
        elif failed:
            self.finish(uid, "Failure", "pull failed: " + "; ".join(f"{r['image']}: {r.get('reason', 'failed')}" for r in failed), start)
        else:
            self.finish(uid, "Successful", None, start)

    def check(self, task):
        thresholds = task.get("checkThresholds") or {}
        items = []
        for item in task.get("checkItems", []):
            threshold = float(thresholds.get(item, self.args.disk_threshold if item == "disk" else DEFAULT_THRESHOLD))
            if item == "disk":
                usage = shutil.disk_usage(self.args.disk_path)
                measured = 100.0 * (usage.total - usage.free) / usage.total
            elif item == "mem":
                info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
                total, available = (int(info[k].split()[0]) for k in ("MemTotal", "MemAvailable"))
                measured = 100.0 * (total - available) / total
            else:  # cpu: busy share over 100 ms
                def sample():
                    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
                    return sum(fields), fields[3] + fields[4]
                t0, i0 = sample()
                time.sleep(0.1)
                t1, i1 = sample()
                measured = 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))
            items.append({"item": item, "succeeded": measured <= threshold, "measuredPercent": round(measured, 1),
                          "thresholdPercent": threshold})
        result = {"succeeded": all(i["succeeded"] for i in items), "timeMs": now_ms(), "items": items}
        if not result["succeeded"]:
            result["reason"] = "; ".join(f"{i['item']} {i['measuredPercent']}% used > {i['thresholdPercent']}%" for i in items if not i["succeeded"])
        return result

    def ctr(self, *args):
        return subprocess.run(["ctr", "--address", self.args.containerd, "--namespace", "k8s.io", *args],
                              capture_output=True, text=True, timeout=600)

    def present(self, ref):
        """(digest, size) of an image in containerd, or None."""
        listed = self.ctr("images", "ls", f"name=={ref}")
        lines = listed.stdout.strip().splitlines()[1:]
        if listed.returncode != 0 or not lines:
            return None
        digest = lines[0].split()[2]
        manifest = self.ctr("content", "get", digest)
        size = None
        if manifest.returncode == 0:
            try:
                m = json.loads(manifest.stdout)
                if "layers" in m:
                    size = m["config"]["size"] + sum(layer["size"] for layer in m["layers"])
            except (ValueError, KeyError):
                pass
        return digest, size

    def pull(self, uid, image, retries):
        ref = normalise(image)
        started = now_ms()
        found = self.present(ref)
        if found:
            digest, size = found
            result = {"image": image, "succeeded": True, "digest": digest, "attempts": 0, "startTimeMs": started,
                      "finishTimeMs": now_ms(), "durationMs": now_ms() - started, "alreadyPresent": True}
            if size is not None:
                result["sizeBytes"] = size
            return result
        self.publish(uid, "progress", {"images": [{"image": image, "bytesDone": 0}]}, qos=0)
        user = credential(self.jobs[uid].get("credentials"), ref)
        reason = "not pulled"
        for attempt in range(1, retries + 2):
            args = ["images", "pull", "--snapshotter", self.args.snapshotter, "--hosts-dir", self.args.hosts_dir]
            if user:
                args += ["--user", user]
            done = self.ctr(*args, ref)
            if done.returncode == 0 and (found := self.present(ref)):
                digest, size = found
                result = {"image": image, "succeeded": True, "digest": digest, "attempts": attempt, "startTimeMs": started,
                          "finishTimeMs": now_ms(), "durationMs": now_ms() - started, "alreadyPresent": False}
                if size is not None:
                    result["sizeBytes"] = size
                return result
            reason = (done.stderr.strip().splitlines() or ["ctr failed"])[-1][:4000]
            if user:
                reason = reason.replace(user, "***")  # never log credentials
            if attempt <= retries:
                time.sleep(min(30, 2 ** (attempt - 1)))
        return {"image": image, "succeeded": False, "attempts": retries + 1, "startTimeMs": started,
                "finishTimeMs": now_ms(), "durationMs": now_ms() - started, "reason": reason, "alreadyPresent": False}

    def finish(self, uid, phase, reason, start):
        result = {"phase": phase, "startTimeMs": start, "finishTimeMs": now_ms()}
        if reason:
            result["reason"] = reason
        self.record(uid, "nodeResult", result)
        info = self.publish(uid, "nodeResult", result)
        with self.lock:
            if uid in self.jobs:
                self.jobs[uid]["running"] = False
        if info is not None:
            info.wait_for_publish(30)
            if info.is_published():
                self.record(uid, "reported", True)
        log("task", uid, phase, reason or "")

    # -- reports ---------------------------------------------------------------------------

    def record(self, uid, key, value):
        with self.lock:
            job = self.jobs.get(uid)
            if job is None:
                return
            job[key] = value
            self.save(job)

    def save(self, job):
        self.journal.write({k: v for k, v in job.items() if k != "credentials"})

    def publish(self, uid, operation, body, parent=None, qos=1):
        """The next message of a job: its next seq (reserved in the journal in blocks of 100), and
        for QoS 1 reports the chain link `prevSeq` (protocol.md 2: 0 on an accepted)."""
        with self.lock:
            job = self.jobs.get(uid)
            if job is None:
                return None
            job["seq"] += 1
            seq = job["seq"]
            if seq >= job.get("reserved", 0):
                job["reserved"] = seq + 100
                self.save(job)
            content = {"jobName": job["name"], "jobUID": uid, "nodeName": self.node, "seq": seq, "body": body}
            if qos == 1:
                content["prevSeq"] = 0 if operation == "accepted" else job["chain"]
                job["chain"] = seq
            header = {"id": str(uuid.uuid4()), "timestamp": now_ms(), "version": VERSION}
            if parent:
                header["parentId"] = parent
            envelope = {"header": header,
                        "route": {"source": "edge", "group": "prepull", "operation": operation,
                                  "resource": f"node/{self.node}/prepull/{job['name']}"},
                        "content": content}
            topic = f"{self.root}/node/{self.node}/prepull/{job['name']}/status"
            return self.client.publish(topic, json.dumps(envelope), qos=qos)

    def re_report(self, uid, accepted, parent=None):
        if accepted:
            self.publish(uid, "accepted", {"alreadyHeld": True}, parent=parent)
        job = self.jobs.get(uid)
        if job is None:
            return
        for key in ("checkResult", "pullResult"):
            if job.get(key):
                self.publish(uid, key, job[key])
        if job.get("nodeResult"):
            info = self.publish(uid, "nodeResult", job["nodeResult"])
            if info is not None and not job.get("reported"):
                threading.Thread(target=lambda: (info.wait_for_publish(30), info.is_published() and self.record(uid, "reported", True)),
                                 daemon=True).start()

    # -- forgetting (protocol.md 4) --------------------------------------------------------

    def forget(self, uid):
        with self.lock:
            self.jobs.pop(uid, None)
            self.journal.remove(uid)
        log("forgot", uid)

    def forget_expired(self):
        cutoff = now_ms() - FORGET_AFTER_MS
        with self.lock:
            old = [uid for uid, job in self.jobs.items()
                   if job.get("reported") and job.get("nodeResult", {}).get("finishTimeMs", now_ms()) < cutoff]
        for uid in old:
            self.forget(uid)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", required=True)
    p.add_argument("--broker", required=True, help="HOST:PORT")
    p.add_argument("--tls-ca")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--containerd", required=True, help="containerd socket")
    p.add_argument("--snapshotter", default="overlayfs")
    p.add_argument("--hosts-dir", required=True, help="containerd's registry hosts directory (certs.d)")
    p.add_argument("--state", required=True)
    p.add_argument("--disk-path", default="/")
    p.add_argument("--disk-threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--topic-root", default="$hw/events")
    args = p.parse_args()
    worker = Worker(args)
    worker.connect()
    worker.client.loop_forever(retry_first_connection=True)


if __name__ == "__main__":
    main()
