"""How the cold time grows with corpus size and with workers.

For each corpus size (synthetic corpora of 120, 247 and 1,000 clips: 12 x 10, 19 x 13 and
100 x 10 subjects x clips) and each way of running (1 process; 2 worker processes on this
machine; a Dask ``LocalCluster`` of 2 worker processes), a fresh Python process with an
empty cache renders the clips, computes one method's features and evaluates them under
LOSO with nested selection of a linear SVM's C. Printed per run: wall-clock seconds of the
features and of the evaluation, CPU seconds (the process and its finished worker
processes), the load average, macro F1 and a digest of the feature matrix, which must be
the same for every way of running a size.

    python benchmarks/bench_scale.py                          # biwoof, all sizes and ways
    python benchmarks/bench_scale.py --sizes 120 247 --ways 1 2
    python benchmarks/bench_scale.py --method lbp_top
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {120: (12, 10), 247: (19, 13), 1000: (100, 10)}
WAYS = {"1": "1 process", "2": "2 processes", "dask2": "Dask LocalCluster, 2 workers"}


def one(size: int, way: str, method: str) -> dict:
    """Run inside a fresh process: time one corpus size and way of running."""
    import warnings

    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.evaluation.experiment import as_feature_matrix, compute_features, run_experiment

    warnings.simplefilter("ignore")
    n_subjects, per = SHAPES[size]
    corpus = make_corpus(n_subjects=n_subjects, clips_per_subject=per)
    client = cluster = None
    if way == "dask2":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    jobs = 2 if way == "2" else 1
    t0 = time.perf_counter()
    X, names = as_feature_matrix(compute_features(corpus, method, progress=False, n_jobs=jobs, client=client,
                                                   backend="processes"))
    t1 = time.perf_counter()
    res = run_experiment(corpus, method, features=(X, names), classifier="svm_linear", search="nested",
                         progress=False, cache=False, n_jobs=jobs, client=client)
    t2 = time.perf_counter()
    if client is not None:
        client.close()
        cluster.close()
    else:
        try:
            from joblib.externals.loky import get_reusable_executor

            get_reusable_executor().shutdown(wait=True)
        except Exception:  # pragma: no cover
            pass
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return {"features_s": t1 - t0, "evaluation_s": t2 - t1, "cpu_s": cpu, "macro_f1": res.scores()["macro_f1"],
            "digest": hashlib.sha256(X.tobytes()).hexdigest()[:12], "shape": list(X.shape)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=int, default=[120, 247, 1000], choices=sorted(SHAPES))
    ap.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS))
    ap.add_argument("--method", default="biwoof")
    ap.add_argument("--one", nargs=2, metavar=("SIZE", "WAY"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.method)))
        return
    print(f"method {args.method}, default parameters; evaluation: LOSO, linear SVM, nested choice of C; "
          f"{os.cpu_count()} CPU(s) visible; every run in a fresh process with an empty cache")
    print(f"{'clips':>6} {'way':<30} {'features s':>11} {'evaluation s':>13} {'CPU s':>8} {'macro F1':>9} "
          f"{'X digest':>13}  load average before -> after")
    for size in args.sizes:
        for way in args.ways:
            env = dict(os.environ, MER_LAB_CACHE=tempfile.mkdtemp(prefix="mer_lab_scale_"),
                       PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            before = " ".join(f"{v:.1f}" for v in os.getloadavg())
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--method", args.method, "--one", str(size), way],
                                  env=env, capture_output=True, text=True)
            total = time.perf_counter() - t0
            after = " ".join(f"{v:.1f}" for v in os.getloadavg())
            if done.returncode:
                print(f"{size:>6} {WAYS[way]:<30} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{size:>6} {WAYS[way]:<30} {r['features_s']:11.1f} {r['evaluation_s']:13.1f} {r['cpu_s']:8.1f} "
                  f"{r['macro_f1']:9.4f} {r['digest']:>13}  {before} -> {after} (process total {total:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
