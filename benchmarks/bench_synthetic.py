"""Speed and calibration of the built-in synthetic corpus.

Run: ``python benchmarks/bench_synthetic.py`` (about a minute on one core).

Prints
* the time to build the default corpus's samples table and to render all of its clips
  (clips/s and frames/s), with and without the in-memory cache;
* the time to build the ground truth of every clip;
* calibration: a simple stand-in recognition method under leave-one-subject-out, for
  the difficulties "easy", "default" and "hard" (plus a few numeric levels): macro F1,
  accuracy and the majority-class baseline.

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

from mer_lab.datasets.synthetic import make_corpus


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="corpora (seeds) averaged per difficulty")
    parser.add_argument("--quick", action="store_true", help="speed figures only")
    args = parser.parse_args()
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
