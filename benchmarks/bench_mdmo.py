"""How fast MDMO and Sparse MDMO are.

Times, on random textures and MDMO-like features (no real data):

1. ``mdmo`` from precomputed flows (alignment on, 36 ROIs, 8 bins) for clips of 10, 30
   and 60 frames at 96x96 (the synthetic corpus) and 280x340 (cropped CASME II faces):
   clips per second;
2. the same including the optical flow (first frame -> every frame) with the DIS,
   Farneback and TV-L1 engines on a 10-frame 280x340 clip;
3. Sparse MDMO dictionary learning (GraphSC, default settings) on a CASME II-sized
   training set: 240 clips x 9 per-frame MDMO vectors (TIM to 10 frames);
4. a full LOSO run of Sparse MDMO + StandardScaler + SVC over 247 clips of 26 subjects
   with the per-frame MDMO matrices cached (features given), and the same for MDMO.

CPU seconds are printed next to wall seconds: on a busy machine wall time grows while
CPU time stays put. GraphSC limits BLAS to one thread, so ``--jobs 2`` runs two LOSO
folds at once on a 2-core machine.

Run: ``python benchmarks/bench_mdmo.py [--quick] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage as ndi


def timed(fn, repeat=1):
    best_wall, best_cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, out


def face_landmarks(h, w):
    from mer_lab.features.rois import template_landmarks

    size = min(h, w)
    return template_landmarks(size) + [(w - size) / 2, (h - size) / 2]


def random_flows(t, h, w, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([ndi.gaussian_filter(rng.standard_normal((2, h, w)), (0, 4, 4)) for _ in range(t)]).astype(np.float32)


def mdmo_like(n_clips, t, n_classes=5, seed=0):
    """Per-frame MDMO matrices with class structure (rise-and-fall magnitudes, class directions)."""
    rng = np.random.default_rng(seed)
    protos = np.stack([rng.random((n_classes, 36)), rng.random((n_classes, 36)) * 2 * np.pi], -1)
    y = rng.integers(0, n_classes, n_clips)
    X = np.empty((n_clips, t, 36, 2))
    ramp = np.sin(np.linspace(0.2, np.pi - 0.2, t))[:, None]
    for i in range(n_clips):
        X[i, ..., 0] = ramp * protos[y[i], :, 0] * (0.5 + rng.random()) + 0.05 * rng.random((t, 36))
        X[i, ..., 1] = np.mod(protos[y[i], :, 1] + rng.normal(0, 0.5, (t, 36)), 2 * np.pi)
    return X, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--jobs", type=int, default=1,
                        help="LOSO folds run in parallel (CPU time is only measured with 1)")
    args = parser.parse_args()

    from mer_lab.cube import make_cube
    from mer_lab.features.mdmo import MDMOFromFrames, mdmo, mdmo_frames
    from mer_lab.features.sparse_mdmo import SparseMDMOFromFrames

    print("1. MDMO from precomputed flows (align=\"affine\")")
    lengths = (10, 30) if args.quick else (10, 30, 60)
    for h, w in ((96, 96), (340, 280)):
        lm = face_landmarks(h, w)
        for t in lengths:
            flows = random_flows(t, h, w)
            wall, cpu, _ = timed(lambda: mdmo(flows, landmarks=lm), repeat=3)
            print(f"   {w}x{h}, {t:2d} frames: {wall * 1e3:7.1f} ms per clip ({1 / wall:6.1f} clips/s, "
                  f"{wall / t * 1e3:5.2f} ms per frame; cpu {cpu * 1e3:.1f} ms)")

    print("2. MDMO including the flow (10-frame 280x340 clip, first frame -> every frame)")
    rng = np.random.default_rng(1)
    tex = ndi.gaussian_filter(rng.random((340, 280)), 1.5)
    tex = (255 * (tex - tex.min()) / np.ptp(tex)).astype(np.uint8)
    frames = np.stack([ndi.shift(tex, (0.15 * i, 0.1 * i), mode="nearest") for i in range(10)])
    cube = make_cube(frames, fps=200)
    lm = face_landmarks(340, 280)
    for engine in (("dis", "farneback") if args.quick else ("dis", "farneback", "tvl1")):
        wall, cpu, _ = timed(lambda: mdmo_frames(cube, landmarks=lm, engine=engine, cache=False))
        print(f"   {engine:9s}: {wall:6.2f} s per clip ({wall / 9 * 1e3:6.1f} ms per frame; cpu {cpu:.2f} s)")

    n_train = 60 if args.quick else 240
    print(f"3. Sparse MDMO dictionary learning: {n_train} clips x 9 frames = {n_train * 9} atoms, "
          "K=128, alpha=1, beta=1, k=5, 20 iterations")
    X, _ = mdmo_like(n_train, 9)
    est = SparseMDMOFromFrames()
    wall, cpu, _ = timed(lambda: est.fit(X))
    print(f"   fit: {wall:6.2f} s (cpu {cpu:.2f} s), {est.n_iter_} iterations, objective "
          f"{est.history_[0]:.0f} -> {est.history_[-1]:.0f}, {100 * est.sparsity_:.0f} % non-zero codes")
    wall, cpu, _ = timed(lambda: est.transform(X[:10]))
    print(f"   transform of 10 new clips (90 frames): {wall:6.2f} s (cpu {cpu:.2f} s)")

    from sklearn.metrics import f1_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    n_clips, n_subj = (60, 6) if args.quick else (247, 26)
    X, y = mdmo_like(n_clips, 9, seed=2)
    groups = np.arange(n_clips) % n_subj
    print(f"4. LOSO over {n_clips} clips, {n_subj} subjects, cached per-frame MDMO (9 frames), "
          f"{args.jobs} parallel fold(s)")
    for name, make in (("MDMO", MDMOFromFrames), ("Sparse MDMO", SparseMDMOFromFrames)):
        pipe = make_pipeline(make(), StandardScaler(), SVC())
        wall, cpu, pred = timed(lambda: cross_val_predict(pipe, X, y, groups=groups, cv=LeaveOneGroupOut(),
                                                          n_jobs=args.jobs))
        cpu_text = (f"cpu {cpu:.1f} s, i.e. about {cpu / 2:.0f} s on 2 idle cores with --jobs 2"
                    if args.jobs == 1 else "cpu in worker processes")
        print(f"   {name:11s}: {wall:6.1f} s wall ({cpu_text}); "
              f"macro F1 on the toy features {f1_score(y, pred, average='macro'):.2f}")
    print("   goal: Sparse MDMO LOSO on a CASME II-sized corpus under 300 s on 2 cores")


if __name__ == "__main__":
    main()
