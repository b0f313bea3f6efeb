"""Every registered method through ``mer-lab evaluate`` with its defaults, cache cold.

Runs ``mer-lab evaluate --dataset synthetic --method M`` (default synthetic corpus: 120
clips, 12 subjects; LOSO; polynomial SVM with nested selection on the thesis grid; default
flow engine) in a fresh process with an empty cache for every method M, and prints the
wall-clock time, the CPU time of the process and the load average before and after.
The goal: every method under 60 s on 2 cores.

    python benchmarks/bench_methods.py                       # all methods, CLI defaults
    python benchmarks/bench_methods.py --methods mdmo hoof   # some
    python benchmarks/bench_methods.py --extra --param engine=tvl1   # any further CLI options
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def run(method: str, extra: list[str]) -> tuple[float, float, int, str]:
    env = dict(os.environ)
    env["MER_LAB_CACHE"] = tempfile.mkdtemp(prefix=f"mer_lab_cold_{method}_")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "mer_lab.cli", "evaluate", "--dataset", "synthetic", "--method", method,
           "--quiet", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    f1 = ""
    for line in done.stdout.splitlines():
        if line.startswith("nested") or line.startswith("none") or line.startswith("thesis"):
            f1 = line.split()[2]
            break
    if done.returncode:
        f1 = "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]
    return wall, cpu, done.returncode, f1


def main():
    from mer_lab.methods import METHODS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="further mer-lab evaluate options")
    args = ap.parse_args()
    print(f"mer-lab evaluate --dataset synthetic --method M --quiet {' '.join(args.extra)}; cold cache each; "
          f"{os.cpu_count()} CPU(s) visible")
    print(f"{'method':<12} {'wall s':>8} {'CPU s':>8} {'macro F1':>9}  load average before -> after")
    worst = 0.0
    for m in args.methods:
        la = load()
        wall, cpu, code, f1 = run(m, args.extra)
        worst = max(worst, wall)
        print(f"{m:<12} {wall:8.1f} {cpu:8.1f} {f1:>9}  {la} -> {load()}", flush=True)
    print(f"slowest: {worst:.1f} s wall (goal: every method under 60 s)")


if __name__ == "__main__":
    main()
