#!/usr/bin/env python3
"""Drives the prepull dashboard in a real headless Chromium (Debian's chromium + chromium-driver,
through Selenium) during a job, and writes what it saw as JSON for the Swift test that runs it
(Tests/FleetTests/DashboardTests.swift), which compares it with the job's status.

  dashboard.py --url http://127.0.0.1:PORT --token T --job NAME --nodes N --out result.json
               --ready ready-file --screenshots DIR [--timeout 120]

1. A wrong token is refused (the page says so, and shows no data).
2. With the right token it writes the ready file and waits for the job, then selects it.
3. It follows the job's progress to the end without a reload.
4. It records the map (each cell's state and the colour drawn at its centre), the failures, the
   tooltip of a failed node, the bytes received and the frame times, and saves screenshots.
"""
import argparse
import json
import os
import sys
import time

from chromium import start, stats, wait  # beside this file
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--url", required=True)
    a.add_argument("--token", required=True)
    a.add_argument("--job", required=True)
    a.add_argument("--nodes", type=int, required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--ready", required=True)
    a.add_argument("--screenshots", required=True)
    a.add_argument("--timeout", type=float, default=120)
    args = a.parse_args()

    driver = start()
    result = {}
    try:
        driver.get(args.url + "/dashboard")
        driver.execute_script("window.__sameDocument = 42")

        # 1. A wrong token.
        box = driver.find_element(By.ID, "token")
        box.send_keys("wrong-" + args.token)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait(driver, "the wrong token to be refused", lambda: driver.execute_script("return window.prepull.refused"))
        error = driver.find_element(By.ID, "error")
        result["wrongToken"] = {"error": error.text, "visible": error.is_displayed(),
                                "frames": driver.execute_script("return window.prepull.frames")}

        # 2. The right one.
        box.clear()
        box.send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait(driver, "the stream to be live", lambda: driver.execute_script("return window.prepull.status === 'live' && window.prepull.frames > 0"))
        result["fleetCells"] = driver.execute_script("return window.prepull.names.length")
        open(args.ready, "w").write("ready\n")
        wait(driver, f"job {args.job} in the list", lambda: driver.find_elements(By.CSS_SELECTOR, f"#jobs li[data-job='{args.job}']"), timeout=args.timeout)
        driver.find_element(By.CSS_SELECTOR, f"#jobs li[data-job='{args.job}']").click()
        wait(driver, "the job's map", lambda: driver.execute_script(
            "return window.prepull.key && window.prepull.key.startsWith('job/') && window.prepull.names.length") == args.nodes)
        bytes_at_start, time_at_start = driver.execute_script("return [window.prepull.bytesReceived, performance.now()]")

        # 3. Progress to the end, without a reload.
        progress = []
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            percent, phase = driver.execute_script(
                "return [Number(document.getElementById('progress').dataset.percent), document.getElementById('phase').textContent]")
            if not progress or progress[-1] != [percent, phase]:
                progress.append([percent, phase])
            if phase in ("Completed", "Failure") and percent == 100:
                break
            time.sleep(0.1)
        time.sleep(2)  # the final frames (events, last cells)
        bytes_at_end, time_at_end = driver.execute_script("return [window.prepull.bytesReceived, performance.now()]")
        result["progress"] = progress
        result["sameDocument"] = driver.execute_script("return window.__sameDocument") == 42

        # 4. The map, the failures, a failed node's tooltip.
        page = driver.execute_script("""
            const S = window.prepull;
            return {names: S.names, states: Array.from(S.st), colors: S.cellColors(), layout: S.layout,
                    reasons: Array.from(S.reasons.entries()), events: S.events.map(e => e.reason),
                    failures: Array.from(document.querySelectorAll('#failures li')).map(li => li.textContent)};""")
        result.update({k: page[k] for k in ("names", "states", "colors", "reasons", "events", "failures")})
        if page["reasons"]:
            index = page["reasons"][0][0]
            center = driver.execute_script(f"return window.prepull.cellCenter({index})")
            canvas = driver.find_element(By.ID, "map")
            size = canvas.size
            ActionChains(driver).move_to_element_with_offset(canvas, int(center["x"] - size["width"] / 2), int(center["y"] - size["height"] / 2)).perform()
            result["tooltip"] = {"node": page["names"][index],
                                 "text": wait(driver, "the tooltip", lambda: driver.find_element(By.ID, "tooltip").text)}
        driver.save_screenshot(os.path.join(args.screenshots, "dashboard-job.png"))
        seconds = (time_at_end - time_at_start) / 1000
        timing = driver.execute_script("return {intervals: window.prepull.frameIntervals, draws: window.prepull.drawTimes}")
        result["measured"] = {
            "seconds": seconds, "bytes": bytes_at_end - bytes_at_start,
            "bytesPerSecond": (bytes_at_end - bytes_at_start) / seconds if seconds > 0 else None,
            "frameIntervalMs": stats(timing["intervals"]), "drawMs": stats(timing["draws"]),
        }
        driver.find_element(By.ID, "fleet-view").click()
        wait(driver, "the fleet map", lambda: driver.execute_script("return window.prepull.key === 'fleet'"))
        time.sleep(0.5)
        driver.save_screenshot(os.path.join(args.screenshots, "dashboard-fleet.png"))
    finally:
        driver.quit()
        with open(args.out, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    sys.exit(main())
