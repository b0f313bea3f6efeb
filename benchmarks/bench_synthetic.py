"""Speed and calibration of the built-in synthetic corpus.

Run: ``python benchmarks/bench_synthetic.py`` (about a minute on one core).

Prints
* the time to build the default corpus's samples table and to render all of its clips
  (clips/s and frames/s), with and without the in-memory cache;
* the time to build the ground truth of every clip;
* calibration: a simple stand-in recognition method under leave-one-subject-out, for
  the difficulties "easy", "default" and "hard" (plus a few numeric levels): macro F1,
  accuracy and the majority-class baseline;
* with ``--twins``: the render time of each dataset twin at scale=1 (timed on its first
  ``--render-clips`` clips, scaled by frames), and thesis Table 3 on the default corpus
  and on each twin (``--scale``, ``--size``): majority baseline, LBP-TOP (TIM 10, 8x8x1
  blocks), MDMO and Sparse MDMO (Farneback flow), polynomial SVM with nested LOSO
  selection on the thesis grid with gamma steps of 0.1, beside the thesis's numbers.
  ``--seed`` picks the corpora (the reported figures use seed 0; the knobs' defaults
  were chosen on seed 1).

The stand-in method (written here, not taken from the library, so that the corpus is
calibrated independently of the methods it checks): Farneback optical flow from the
onset to the apex frame (OpenCV), the face area cut into 6 x 6 blocks, per block an
8-bin orientation histogram weighted by flow magnitude plus the mean u and v,
StandardScaler + linear SVM, LeaveOneGroupOut over subjects, metrics on the pooled
predictions.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from mer_lab.datasets.synthetic import TWINS, make_corpus

TABLE3_METHODS = ("baseline", "lbp_top", "mdmo", "sparse_mdmo")
# the reported figures use this seed; defaults of the appearance and idiosyncrasy knobs
# were chosen on CALIBRATION_SEED, never on the corpora whose figures are reported
REPORT_SEED, CALIBRATION_SEED = 0, 1


def flow_features(cube, *, blocks: int = 6, bins: int = 8) -> np.ndarray:
    """Onset->apex Farneback flow summarised per block (orientation histogram + mean)."""
    frames = cube.values
    frame_numbers = cube["frame"].values
    on = int(np.searchsorted(frame_numbers, cube.attrs["onset"]))
    ap = int(np.searchsorted(frame_numbers, cube.attrs["apex"]))
    flow = cv2.calcOpticalFlowFarneback(frames[on], frames[ap], None, pyr_scale=0.5, levels=3, winsize=9,
                                        iterations=3, poly_n=5, poly_sigma=1.1, flags=0)
    u, v = flow[..., 0], flow[..., 1]
    mag = np.hypot(u, v)
    ang = np.mod(np.arctan2(v, u), 2 * np.pi)
    b = np.minimum((ang / (2 * np.pi) * bins).astype(int), bins - 1)
    h, w = u.shape
    ys = np.linspace(0, h, blocks + 1).astype(int)
    xs = np.linspace(0, w, blocks + 1).astype(int)
    feats = []
    for i in range(blocks):
        for j in range(blocks):
            sl = (slice(ys[i], ys[i + 1]), slice(xs[j], xs[j + 1]))
            hist = np.bincount(b[sl].ravel(), weights=mag[sl].ravel(), minlength=bins)
            feats.append(hist / (hist.sum() + 1e-6))
            feats.append([u[sl].mean(), v[sl].mean(), mag[sl].mean()])
    return np.concatenate([np.ravel(f) for f in feats])


def calibrate(difficulty, *, seed: int = 0, **kwargs) -> dict:
    corpus = make_corpus(difficulty=difficulty, seed=seed, cache_clips=0, **kwargs)
    X = np.array([flow_features(cube) for _, cube in corpus.cubes()])
    y = corpus.labels
    groups = corpus.groups
    model = make_pipeline(StandardScaler(), SVC(kernel="linear", C=0.1))
    pred = cross_val_predict(model, X, y, groups=groups, cv=LeaveOneGroupOut())
    values, counts = np.unique(y, return_counts=True)
    majority = values[np.argmax(counts)]
    base = np.full_like(y, majority)
    return {
        "macro_f1": f1_score(y, pred, average="macro"),
        "accuracy": accuracy_score(y, pred),
        "baseline_f1": f1_score(y, base, average="macro"),
        "baseline_acc": accuracy_score(y, base),
        "n": len(y),
    }


def speed() -> None:
    t0 = time.perf_counter()
    corpus = make_corpus()
    t_table = time.perf_counter() - t0
    print(f"samples table of the default corpus ({len(corpus)} clips): {t_table * 1000:.1f} ms")
    frames = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for _, cube in corpus.cubes():
        frames += cube.sizes["time"]
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(f"render the whole default corpus ({frames} frames of 96x96): {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"-> {len(corpus) / wall:.0f} clips/s, {frames / wall:.0f} frames/s")
    t0 = time.perf_counter()
    for uid in corpus.uids[-corpus._loader.cache_clips:]:
        corpus.cube(uid)
    cached = time.perf_counter() - t0
    print(f"cached clips: {cached / corpus._loader.cache_clips * 1000:.2f} ms per clip")
    t0 = time.perf_counter()
    for uid in corpus.uids:
        corpus.ground_truth(uid)
    print(f"ground truth of every clip: {(time.perf_counter() - t0) / len(corpus) * 1000:.1f} ms per clip")


def twin_render_times(n_clips: int = 10) -> None:
    """Render time of each twin at scale=1, from its first n_clips clips scaled by frames."""
    print(f"render time of each twin at scale=1 (CPU, timed on {n_clips} clips, scaled by frame count):")
    for like, twin in TWINS.items():
        corpus = make_corpus(like=like, cache_clips=0, seed=REPORT_SEED)
        frames = corpus.samples["n_frames"]
        t0 = time.process_time()
        for uid in corpus.uids[:n_clips]:
            corpus.cube(uid)
        cpu = time.process_time() - t0
        per_frame = cpu / frames.iloc[:n_clips].sum()
        total = per_frame * frames.sum()
        print(f"  {like:>7} ({twin.title}: {len(corpus)} clips, {frames.sum()} frames of {twin.size}x{twin.size} "
              f"at {twin.fps:g} fps): {total:.0f} s CPU for the whole twin, {total / len(corpus):.2f} s per clip")


def table3_row(corpus) -> dict:
    from mer_lab.evaluation.experiment import run_experiment

    out = {}
    for method in TABLE3_METHODS:
        params = {"engine": "farneback"} if method in ("mdmo", "sparse_mdmo") else None
        res = run_experiment(corpus, method, search="nested", grid="thesis_coarse", params=params, progress=False)
        out[method] = res.baseline() if method == "baseline" else res.scores("nested")
    return out


def twin_scale(like: str, scale: float) -> float:
    """``scale``, raised to the smallest one that keeps every class and subject of the twin
    (CASME's fear class has 2 clips: 0.352)."""
    from mer_lab.datasets.synthetic import _smallest_scale

    return max(scale, round(_smallest_scale(TWINS[like]) + 0.004, 2))


def shape_holds(f1: dict) -> bool:
    """Thesis Table 3's shape: baseline < LBP-TOP < MDMO and Sparse MDMO, LBP-TOP at least
    twice the baseline, nothing above 0.90 (macro F1)."""
    return bool(f1["baseline"] < f1["lbp_top"] < min(f1["mdmo"], f1["sparse_mdmo"])
                and f1["lbp_top"] >= 2 * f1["baseline"] and max(f1.values()) <= 0.90)


def twins_table3(*, seed: int, scale: float, size: int | None, which) -> None:
    import os

    from mer_lab.evaluation.experiment import PUBLISHED

    print(f"Table 3 on the synthetic corpora (seed {seed}; twins at scale {scale:g} or the smallest that keeps "
          f"every class, frames of {size or 'the real face'} px); nested LOSO macro F1 (accuracy), thesis's "
          f"number beside")
    corpora = {"default": lambda: make_corpus(seed=seed)}
    for like in which:
        corpora[like] = lambda like=like: make_corpus(like=like, scale=twin_scale(like, scale), size=size, seed=seed)
    table = []
    for name, build in corpora.items():
        corpus = build()
        t0, c0 = time.perf_counter(), time.process_time()
        row = table3_row(corpus)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        scale_used = corpus.info.get("scale", 1.0)
        print(f"{name} (scale {scale_used:g}: {len(corpus)} clips, {corpus.samples['subject'].nunique()} subjects; "
              f"{wall:.0f} s wall, {cpu:.0f} s CPU, load average {os.getloadavg()[0]:.1f})")
        for method, sc in row.items():
            pub = PUBLISHED.get((name, method))
            thesis = f"{pub[1]:.3f} ({pub[0]:.3f})" if pub else "-"
            print(f"  {method:>12}: {sc['macro_f1']:.3f} ({sc['accuracy']:.3f})   thesis {thesis}")
        f1 = {m: row[m]["macro_f1"] for m in row}
        print(f"  thesis shape (baseline < LBP-TOP < MDMO, Sparse MDMO; LBP-TOP >= 2x baseline; all <= 0.90): "
              f"{'yes' if shape_holds(f1) else 'NO'}")
        table.append((name, scale_used, len(corpus), f1))
    print()
    print("macro F1, synthetic | thesis (seed %d)" % seed)
    print(f"{'corpus':>8} {'scale':>5} {'clips':>5} " + " ".join(f"{m:>19}" for m in TABLE3_METHODS) + "  shape")
    for name, sc_used, n, f1 in table:
        cells = []
        for m in TABLE3_METHODS:
            pub = PUBLISHED.get((name, m))
            cells.append(f"{f1[m]:.3f} | {pub[1]:.3f}" if pub else f"{f1[m]:.3f} |     -")
        print(f"{name:>8} {sc_used:5.2f} {n:5d} " + " ".join(f"{c:>19}" for c in cells)
              + f"  {'yes' if shape_holds(f1) else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="corpora (seeds) averaged per difficulty")
    parser.add_argument("--quick", action="store_true", help="speed figures only")
    parser.add_argument("--twins", action="store_true", help="twin render times and Table 3 on the twins")
    parser.add_argument("--seed", type=int, default=REPORT_SEED, help="seed of the Table 3 corpora")
    parser.add_argument("--scale", type=float, default=0.25,
                        help="twin scale for Table 3 (raised where a class would be empty: CASME 0.36)")
    parser.add_argument("--size", type=int, default=96, help="twin frame size for Table 3 (0: the real face size)")
    parser.add_argument("--render-clips", type=int, default=10, help="clips timed per twin")
    parser.add_argument("--like", nargs="*", default=list(TWINS), help="twins for Table 3")
    args = parser.parse_args()
    if args.twins:
        twin_render_times(args.render_clips)
        twins_table3(seed=args.seed, scale=args.scale, size=args.size or None, which=args.like)
        return
    speed()
    if args.quick:
        return
    print()
    print("calibration: Farneback onset->apex, 6x6 block orientation histograms, linear SVM, LOSO "
          "(12 subjects x 10 clips, 5 balanced classes)")
    print(f"(mean over {args.seeds} corpora (seeds); macro F1 range over seeds in brackets)")
    print(f"{'difficulty':>10} {'macro F1':>9} {'(min-max)':>13} {'accuracy':>9} {'baseline F1':>12} {'baseline acc':>13}")
    for difficulty in ("easy", "default", "hard", 0.0, 0.75):
        rows = [calibrate(difficulty, seed=s) for s in range(args.seeds)]
        mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        f1s = [r["macro_f1"] for r in rows]
        print(f"{difficulty!s:>10} {mean['macro_f1']:9.3f} {f'({min(f1s):.2f}-{max(f1s):.2f})':>13} "
              f"{mean['accuracy']:9.3f} {mean['baseline_f1']:12.3f} {mean['baseline_acc']:13.3f}")
    rows = calibrate("default", balance="casme2")
    print(f"{'default, casme2 balance':>10}: macro F1 {rows['macro_f1']:.3f}, accuracy {rows['accuracy']:.3f}, "
          f"baseline F1 {rows['baseline_f1']:.3f}, baseline accuracy {rows['baseline_acc']:.3f}")


if __name__ == "__main__":
    main()
