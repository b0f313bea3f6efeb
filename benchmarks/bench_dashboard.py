"""The dashboard as a user meets it: serve, open, first comparison, widget changes, several sessions.

Starts ``panel serve dashboards/compare.py`` on a free localhost port with an empty
cache, drives Debian's chromium with Playwright, and prints how long each step took:

- the server answering, the page's Bokeh document existing (the page shows at once,
  before any result);
- the first comparison (default methods, cold caches) shown;
- widget changes to updated scores shown in the browser, warm: a classifier change
  (features in memory, the classifier runs), going back to a memoised setting, and the
  chart's metric (no computation: the plot's data is patched in place);
- while a second session computes a cold corpus (TV-L1 flow), how long three other
  sessions take to acknowledge a settings change (the server writes it back into their URL).

    .venv/bin/python benchmarks/bench_dashboard.py            # the default corpus (120 clips)
    .venv/bin/python benchmarks/bench_dashboard.py --small    # 4 subjects x 5 clips, 64 px
    .venv/bin/python benchmarks/bench_dashboard.py --cache DIR  # reuse a disk cache (first comparison not cold)
"""

import argparse
import os
import re
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
CLASSIFIER = "select:has(option[value='k nearest neighbours'])"
ENGINE = "select:has(option[value='TV-L1 (papers, slow)'])"


def _cpu(pid: int) -> float:
    """CPU seconds of a process and its waited-for children so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = sum(int(v) for v in fields[11:15])            # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _row(page, text):
    row = page.locator(".tabulator-row", has_text=text).first
    row.wait_for(timeout=1_800_000)
    return row.inner_text()


def _wait_change(page, text, before):
    t = time.perf_counter()
    while _row(page, text) == before:
        page.wait_for_timeout(20)
    return time.perf_counter() - t


def main(argv=None):
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small synthetic corpus (quick run)")
    parser.add_argument("--cache", metavar="DIR",
                        help="use this MER_LAB_CACHE (e.g. filled by an earlier run) instead of an empty one")
    args = parser.parse_args(argv)
    extra = ["--args", "--subjects", "4", "--clips", "5", "--size", "64", "--methods", "baseline,hoof,biwoof"] \
        if args.small else []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MER_LAB_CACHE=args.cache or tempfile.mkdtemp(prefix="mer_lab_bench_"))
    cold = "cold" if args.cache is None else "disk cache given"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(ROOT / "dashboards" / "compare.py"),
                             "--address", "127.0.0.1", "--port", str(port),
                             "--allow-websocket-origin", f"127.0.0.1:{port}", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/compare"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=60).close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"server answering:                      {time.perf_counter() - t0:6.2f} s after start")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            t1 = time.perf_counter()
            c1 = _cpu(proc.pid)
            page.goto(url, timeout=300_000)
            page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=300_000)
            print(f"page shown (widgets, progress):        {time.perf_counter() - t1:6.2f} s after opening it")
            _row(page, "majority baseline")
            print(f"first comparison shown ({cold}): {time.perf_counter() - t1:6.2f} s after opening it; "
                  f"server CPU {_cpu(proc.pid) - c1:.1f} s; load {os.getloadavg()[0]:.2f}")
            method = "hoof" if args.small else "lbp_top"
            before = _row(page, method)
            page.wait_for_timeout(2000)                       # let the first result's drawing settle
            c2 = _cpu(proc.pid)
            page.locator(CLASSIFIER).select_option("k nearest neighbours")
            print(f"classifier change shown (warm):        {_wait_change(page, method, before):6.2f} s "
                  f"(features in memory; server CPU {_cpu(proc.pid) - c2:.2f} s; load {os.getloadavg()[0]:.2f})")
            knn = _row(page, method)
            page.wait_for_timeout(2000)
            c3 = _cpu(proc.pid)
            page.locator(CLASSIFIER).select_option("SVM, linear kernel")
            print(f"back to the first setting shown:       {_wait_change(page, method, knn):6.2f} s (memoised; "
                  f"server CPU {_cpu(proc.pid) - c3:.2f} s)")
            page.locator(CLASSIFIER).select_option("k nearest neighbours")
            _wait_change(page, method, before)
            spans = """() => { for (const d of Bokeh.documents) for (const m of d._all_models.values())
              if (String(m.type || m.constructor.name).includes('Span') && m.line_color === '#d62728')
                return m.location; return null; }"""
            first = page.evaluate(spans)
            t3 = time.perf_counter()
            page.locator(".bk-btn", has_text="accuracy").first.click()
            page.wait_for_function(f"() => ({spans})() !== {first}", timeout=60_000, polling=10)
            print(f"chart metric change drawn:             {time.perf_counter() - t3:6.2f} s (data patched in place)")

            # load: one session computes a cold corpus, three others change a setting
            others = [browser.new_page() for _ in range(3)]
            for other in others:
                other.goto(url, timeout=300_000)
                _row(other, "majority baseline")
            page.locator(ENGINE).select_option("TV-L1 (papers, slow)")
            page.get_by_text("Computing").first.wait_for(timeout=60_000)
            times = []
            for other in others:
                t4 = time.perf_counter()
                other.locator(CLASSIFIER).select_option("k nearest neighbours")
                other.wait_for_function("() => window.location.search.includes('classifier=knn')", timeout=120_000,
                                        polling=10)
                times.append(time.perf_counter() - t4)
                other.get_by_text(re.compile("^Computing")).first.wait_for(state="hidden", timeout=600_000)
            still = page.get_by_text(re.compile("^Computing")).count() > 0
            print("setting acknowledged in 3 sessions:    " + ", ".join(f"{t:.2f}" for t in times)
                  + f" s while a 4th computes a cold TV-L1 corpus{'' if still else ' (it finished first)'}")
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a worker thread still computing (the cold TV-L1 corpus)
            proc.kill()
            proc.wait()
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
