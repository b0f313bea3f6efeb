"""Speed of the thesis's SVM grid search (6,400 settings) under LOSO.

Data: 247 random 72-d feature vectors (the size of CASME II with MDMO features), 5 classes
in CASME II's proportions (99/63/33/27/25), 26 subjects of uneven size, a weak class
signal. Prints the wall-clock time of the full grid in "thesis" mode (26 LOSO folds x
6,400 settings = 166,400 SVM trainings), how many libsvm fits ran and how many the exact C
shortcut answered, and an estimate of the same search done naively with
``SVC(kernel="poly")`` per setting and fold (timed on a random sample of settings).

    python benchmarks/bench_search.py                 # z-scored features, 2 workers
    python benchmarks/bench_search.py --features mdmo # MDMO-like raw features, no scaling
    python benchmarks/bench_search.py --nested        # also nested LOSO on the coarse grid
    python benchmarks/bench_search.py --composite     # nested, full thesis grid, 442-clip composite only
    python benchmarks/bench_search.py --no-collapse   # every setting fitted (the exact C shortcut off)

``--composite``: a synthetic feature matrix shaped like the MEGC 2019 composite (442
samples, 68 subjects of SMIC, CASME II and SAMM sizes, 3 classes 250/109/83, 72-d
z-scored features with a weak class signal) run through the default nested search on the
full 6,400-setting thesis grid (grouped 5-fold inner folds, coarse-to-fine pruning). The
goal: under 10 minutes on 2 cores. The load average is printed beside the timings.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def make_data(kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    counts = [99, 63, 33, 27, 25]
    y = np.repeat(np.arange(5), counts)
    rng.shuffle(y)
    sizes = rng.multinomial(247 - 26 * 3, np.full(26, 1 / 26)) + 3      # uneven subjects, >= 3 clips
    groups = np.repeat([f"sub{i + 1:02d}" for i in range(26)], sizes)
    if kind == "zscore":
        X = rng.normal(size=(247, 72)) + 0.15 * rng.normal(size=(5, 72))[y]
        prep = "standard"
    else:  # MDMO-like: 36 weighted magnitudes in [0, 0.9] and 36 weighted angles in [0, 0.63)
        rho = 0.2 * rng.uniform(0, 1, (5, 36))[y] + 0.8 * rng.uniform(0, 1, (247, 36))
        theta = rng.uniform(0, 2 * np.pi, (5, 36))[y] + rng.normal(0, 2.5, (247, 36))
        X = np.concatenate([0.9 * rho, 0.1 * np.mod(theta, 2 * np.pi)], axis=1)
        prep = "none"
    labels = np.array(["others", "disgust", "happiness", "repression", "surprise"])[y]
    return X, labels, groups, prep


def make_composite(seed: int = 0, d: int = 72):
    """442 samples, 68 subjects (16 SMIC-sized, 24 CASME II-sized, 28 SAMM-sized), 3 classes."""
    rng = np.random.default_rng(seed)
    parts = [(16, 164), (24, 145), (28, 133)]
    groups = []
    for p, (n_subj, n_clips) in enumerate(parts):
        sizes = rng.multinomial(n_clips - n_subj, np.full(n_subj, 1 / n_subj)) + 1
        groups += [f"part{p}/sub{i + 1:02d}" for i, k in enumerate(sizes) for _ in range(k)]
    groups = np.array(groups)
    y = np.repeat(np.arange(3), [250, 109, 83])
    rng.shuffle(y)
    X = rng.normal(size=(442, d)) + 0.25 * rng.normal(size=(3, d))[y] + 0.3 * rng.normal(size=(68, d))[
        np.unique(groups, return_inverse=True)[1]]
    labels = np.array(["negative", "positive", "surprise"])[y]
    return X, labels, groups


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "load average unknown"


def composite_nested(jobs: int, collapse: bool = True) -> None:
    from mer_lab.evaluation.protocols import protocol_folds
    from mer_lab.evaluation.search import poly_grid, search_predict

    X, y, groups = make_composite()
    folds = protocol_folds("loso", y=y, groups=groups)
    grid = poly_grid("thesis")
    print(f"composite: {X.shape[0]} x {X.shape[1]} z-scored features, {len(set(groups))} subjects, "
          f"{len(set(y))} classes, {len(folds)} LOSO folds, grid thesis = {grid.n_settings} settings, "
          f"{jobs} worker(s); {load_average()} before")
    t0, c0 = time.perf_counter(), time.process_time()
    res = search_predict(X, y, groups=groups, folds=folds, grid=grid, search="nested", preprocessing="standard",
                         n_jobs=jobs, progress=True, collapse=collapse)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    st = res.stats
    from mer_lab.evaluation.metrics import macro_f1

    ok = res.predictions["nested"] != None  # noqa: E711
    f1 = macro_f1(y[ok], res.predictions["nested"][ok])
    print(f"nested, full thesis grid (pruned {st['prune']}: {st['evaluated_settings']} of {st['settings']} "
          f"settings scored over all folds, at most 716 per fold): {wall:.1f} s wall, {cpu:.1f} s CPU over all threads; "
          f"{st['training_sets']} training sets, {st['fits']} libsvm fits, {st['reused']} by the C shortcut; "
          f"macro F1 {f1:.4f}; {load_average()} after")
    print(f"  goal: under 600 s on 2 cores -> {'met' if wall < 600 else 'NOT met'} in wall time here; "
          f"CPU / {jobs} = {cpu / jobs:.1f} s (the wall time on {jobs} otherwise idle cores)")


def naive_estimate(X, y, folds, grid, prep, n_sample: int, seed: int = 0) -> float:
    """CPU seconds (one core) of SVC(kernel='poly') over the whole grid, from a random sample of settings."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    settings = grid.settings()
    pick = np.random.default_rng(seed).choice(len(settings), size=min(n_sample, len(settings)), replace=False)
    scaled = []
    for _n, tr, te in folds:
        A, B = X[tr], X[te]
        if prep == "standard":
            sc = StandardScaler().fit(A)
            A, B = sc.transform(A), sc.transform(B)
        scaled.append((A, y[tr], B))
    t0 = time.process_time()
    for s in pick:
        r = settings.iloc[s]
        for A, yt, B in scaled:
            SVC(kernel="poly", degree=int(r.degree), coef0=r.coef, gamma=r.gamma, C=r.C).fit(A, yt).predict(B)
    return (time.process_time() - t0) / len(pick) * len(settings)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", choices=["zscore", "mdmo"], default="zscore")
    ap.add_argument("--jobs", type=int, default=2, help="parallel workers (threads)")
    ap.add_argument("--grid", default="thesis", choices=["thesis", "thesis_coarse", "small"])
    ap.add_argument("--naive-sample", type=int, default=100, help="settings timed for the naive estimate (0: skip)")
    ap.add_argument("--nested", action="store_true", help="also time nested LOSO on the thesis_coarse grid")
    ap.add_argument("--composite", action="store_true",
                    help="only the nested full-grid run on a 442-sample, 68-subject, 3-class composite")
    ap.add_argument("--no-collapse", dest="collapse", action="store_false",
                    help="fit every value of C (the exact C shortcut off), to measure what the shortcut saves")
    args = ap.parse_args()
    if args.composite:
        composite_nested(args.jobs, args.collapse)
        return

    from mer_lab.evaluation.protocols import protocol_folds
    from mer_lab.evaluation.search import poly_grid, search_predict

    X, y, groups, prep = make_data(args.features)
    folds = protocol_folds("loso", y=y, groups=groups)
    grid = poly_grid(args.grid)
    print(f"features: {args.features} ({X.shape[0]} x {X.shape[1]}), preprocessing {prep!r}, "
          f"{len(folds)} LOSO folds, grid {args.grid!r} = {grid.n_settings} settings, "
          f"{args.jobs} worker(s), {os.cpu_count()} CPU(s) visible, C shortcut {'on' if args.collapse else 'off'}; "
          f"{load_average()} before")

    t0, c0 = time.perf_counter(), time.process_time()
    res = search_predict(X, y, groups=groups, folds=folds, grid=grid, search="thesis", preprocessing=prep,
                         n_jobs=args.jobs, collapse=args.collapse)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    st = res.stats
    total = st["fits"] + st["reused"]
    best = res.selected.iloc[0]
    print(f"thesis mode, full grid: {wall:.1f} s wall, {cpu:.1f} s CPU over all threads "
          f"({total} settings x folds; {st['fits']} libsvm fits run, {st['reused']} answered by the exact C "
          f"shortcut = {st['reused'] / total:.0%}; {total / wall:.0f} setting-folds/s); {load_average()} after")
    print(f"  best setting {best['params']} with pooled macro F1 {best['selection_score']:.4f}")
    print(f"  target: under 60 s on 2 cores -> {'met' if wall < 60 else 'NOT met'} on this machine "
          f"(CPU / {args.jobs} = {cpu / args.jobs:.1f} s: the wall time on {args.jobs} otherwise idle cores)")

    if args.naive_sample:
        est = naive_estimate(X, y, folds, grid, prep, args.naive_sample)
        print(f"naive SVC(kernel='poly') per setting and fold (estimated from {args.naive_sample} settings): "
              f"{est:.0f} s on one core, {est / args.jobs:.0f} s if perfectly split over {args.jobs} "
              f"-> speed-up x{est / cpu:.1f} in CPU time")

    if args.nested:
        coarse = poly_grid("thesis_coarse")
        t0, c0 = time.perf_counter(), time.process_time()
        res = search_predict(X, y, groups=groups, folds=folds, grid=coarse, search="nested", preprocessing=prep,
                             n_jobs=args.jobs, inner="loso", prune="none", collapse=args.collapse)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        st = res.stats
        print(f"nested LOSO, thesis_coarse grid ({coarse.n_settings} settings): {wall:.1f} s wall, {cpu:.1f} s CPU, "
              f"{st['training_sets']} distinct training sets, {st['fits']} fits, {st['reused']} reused")


if __name__ == "__main__":
    main()
