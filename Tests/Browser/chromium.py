"""Debian's headless Chromium through its chromium-driver, for the dashboard's test
(Tests/Browser/dashboard.py) and benchmark (bench/dashboard/page.py). Never downloads a driver."""
import os
import statistics
import time

os.environ.setdefault("SE_OFFLINE", "true")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402


def start(width=1600, height=1200):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def stats(values):
    """count, median, p95 and max of the numbers (None if there are none)."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return {"count": len(values), "median": statistics.median(values), "p95": values[max(0, int(len(values) * 0.95) - 1)], "max": values[-1]}


def wait(driver, what, condition, timeout=30):
    """The first truthy value of condition() within timeout seconds (errors count as not yet);
    exits naming `what` and the page's status otherwise."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception:
            pass
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}; page status {driver.execute_script('return window.prepull && window.prepull.status')}")
