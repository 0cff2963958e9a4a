#!/usr/bin/env python3
"""One dashboard page in headless Chromium, following one job: what the page received and how
long its frames took. Used by bench/dashboard/dashboard.sh.

  page.py --url http://127.0.0.1:PORT --job NAME --ready FILE [--timeout 600]

Opens /dashboard?job=NAME before the job exists (the fleet map shows until it does), writes FILE
when the stream is live, and from the moment the job's map arrives until the job ends (and 1 s
more) counts the bytes the stream carried and the animation frames. Prints one JSON object:
seconds, bytes, bytesPerSecond, frameIntervalMs and drawMs (count, median, p95, max).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Browser"))
from chromium import start, stats, wait  # noqa: E402


a = argparse.ArgumentParser()
a.add_argument("--url", required=True)
a.add_argument("--job", required=True)
a.add_argument("--ready", required=True)
a.add_argument("--timeout", type=float, default=600)
args = a.parse_args()
driver = start()
try:
    driver.get(f"{args.url}/dashboard?job={args.job}")
    wait(driver, "the stream to be live", lambda: driver.execute_script("return window.prepull.status === 'live' && window.prepull.frames > 0"), 60)
    open(args.ready, "w").write("ready\n")
    deadline = time.time() + args.timeout
    wait(driver, "the job's map", lambda: driver.execute_script("return (window.prepull.key || '').startsWith('job/')"), args.timeout)
    driver.execute_script("window.prepull.frameIntervals.length = 0; window.prepull.drawTimes.length = 0")
    b0, t0 = driver.execute_script("return [window.prepull.bytesReceived, performance.now()]")
    wait(driver, "the job's end", lambda: driver.execute_script(
        "const j = window.prepull.jobs.find(j => j.name === arguments[0]); return j && (j.phase === 'Completed' || j.phase === 'Failure')", args.job),
        deadline - time.time())
    time.sleep(1)
    b1, t1, timing = driver.execute_script(
        "return [window.prepull.bytesReceived, performance.now(), {i: window.prepull.frameIntervals, d: window.prepull.drawTimes}]")
    seconds = (t1 - t0) / 1000
    print(json.dumps({"seconds": seconds, "bytes": b1 - b0, "bytesPerSecond": (b1 - b0) / seconds,
                      "frameIntervalMs": stats(timing["i"]), "drawMs": stats(timing["d"])}))
finally:
    driver.quit()
