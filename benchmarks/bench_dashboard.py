"""The dashboard as a user meets it: serve, open, first comparison, a widget change.

Starts ``panel serve dashboards/compare.py`` on a free localhost port with an empty
cache, drives Debian's chromium with Playwright, and prints how long each step took:
the server answering, the page's Bokeh document existing, the first comparison
(default methods, cold caches) shown, and a class-mapping change shown.

    .venv/bin/python benchmarks/bench_dashboard.py
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def main():
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MER_LAB_CACHE=tempfile.mkdtemp(prefix="mer_lab_bench_"))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(ROOT / "dashboards" / "compare.py"),
                             "--address", "127.0.0.1", "--port", str(port),
                             "--allow-websocket-origin", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}/compare"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=30).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"server answering:                {time.perf_counter() - t0:6.1f} s after start")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            t1 = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=120_000)
            print(f"page ready (widgets shown):      {time.perf_counter() - t1:6.1f} s after opening it")
            row = page.locator(".tabulator-row", has_text="majority baseline")
            row.wait_for(timeout=900_000)
            print(f"first comparison shown (cold):   {time.perf_counter() - t1:6.1f} s after opening it")
            before = row.inner_text()
            t2 = time.perf_counter()
            page.locator("select:has(option[value='megc2019'])").select_option("megc2019")
            while row.inner_text() == before:
                page.wait_for_timeout(50)
            print(f"class mapping change shown:      {time.perf_counter() - t2:6.1f} s (features cached)")
            t3 = time.perf_counter()
            page.locator("select:has(option[value='megc2019'])").select_option("native")
            while row.inner_text() != before:
                page.wait_for_timeout(50)
            print(f"back to the first setting shown: {time.perf_counter() - t3:6.1f} s (result memoised)")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
