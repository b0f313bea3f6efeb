"""Browser tests: Debian's chromium driven by Playwright against `panel serve`.

The app is served as a subprocess on a free localhost port and always stopped, even
when a test fails. Chromium is the system browser (Playwright never downloads one).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it) or apt-get install chromium")
    return {"executable_path": CHROMIUM, "headless": True, "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def served_app(tmp_path_factory):
    """Serve dashboards/compare.py; yields its URL; the server is killed at the end."""
    port = _free_port()
    env = dict(os.environ, MER_LAB_CACHE=str(tmp_path_factory.mktemp("cache")))
    log = tmp_path_factory.mktemp("server") / "panel.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", str(ROOT / "dashboards" / "compare.py"),
             "--address", "127.0.0.1", "--port", str(port), "--allow-websocket-origin", f"127.0.0.1:{port}",
             "--args", "--subjects", "4", "--clips", "5", "--size", "64", "--methods", "baseline,hoof,biwoof"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
    url = f"http://127.0.0.1:{port}/compare"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"panel serve did not come up:\n{log.read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
