"""Optical flow: speed and accuracy of the engines, corpus-wide extraction, Bi-WOOF/HOOF LOSO.

Run: ``python benchmarks/bench_flow.py`` (about two minutes on 2 cores; ``--quick`` for a
shorter run). Prints

1. flow pairs per second and end-point error (EPE, px) per engine on a smooth random
   texture shifted by a known sub-pixel amount, at 128x128 and 280x340;
2. per engine on the default synthetic corpus (96x96 faces): ms per onset -> apex pair
   and EPE against the ground-truth ``flow_apex`` inside the face;
3. whole-corpus onset -> apex flows + Bi-WOOF features on the default synthetic corpus,
   cache cold (serial and 2 threads) and warm; clip rendering is timed separately;
4. LOSO (sklearn LeaveOneGroupOut, SVM) macro F1 of Bi-WOOF and HOOF against the
   majority baseline;
5. apex estimation error (frames) against the middle-frame guess.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mer_lab.cache import DiskCache  # noqa: E402
from mer_lab.features import flow as fl  # noqa: E402
from mer_lab.features.apex import estimate_apex  # noqa: E402
from mer_lab.features.biwoof import biwoof  # noqa: E402
from mer_lab.features.hoof import hoof  # noqa: E402

ENGINES = ("tvl1", "farneback", "dis", "tvl1_skimage", "ilk", "lucas_kanade")


def texture(shape, seed=0):
    img = ndi.gaussian_filter(np.random.default_rng(seed).random(shape), 2.0, mode="wrap")
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def timed(fn, repeat):
    fn()  # warm-up (imports, allocations)
    t0 = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, out


def engines_on_textures(quick):
    print("\n1. Engines on a smooth random texture shifted by (u, v) = (0.6, -0.35) px")
    print(f"{'engine':14s} {'size':>8s} {'ms/pair':>9s} {'pairs/s':>9s} {'EPE px':>8s}")
    for shape in ((128, 128), (280, 340)):
        f0 = texture(shape)
        f1 = ndi.shift(f0, (-0.35, 0.6), order=3, mode="grid-wrap")
        a8, b8 = (np.rint(f * 255).astype(np.uint8) for f in (f0, f1))
        m = 16
        for engine in ENGINES:
            repeat = 1 if quick else (2 if engine in ("tvl1", "tvl1_skimage", "ilk") else 5)
            sec, flow = timed(lambda: fl.optical_flow(a8, b8, engine=engine), repeat)
            epe = np.hypot(flow[0, m:-m, m:-m] - 0.6, flow[1, m:-m, m:-m] + 0.35).mean()
            print(f"{engine:14s} {shape[0]:>3d}x{shape[1]:<4d} {1000 * sec:9.1f} {1 / sec:9.1f} {epe:8.3f}")


def face_mask(truth, cube):
    import cv2

    onset = int(np.nonzero(truth["frame"].values == cube.attrs["onset"])[0][0])
    lm = truth["landmarks"].isel(time=onset).values
    mask = np.zeros(cube.shape[1:], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(lm).astype(np.int32)), 1)
    return mask.astype(bool)


def engines_on_synthetic(corpus, cubes, n):
    print(f"\n2. Engines on the synthetic corpus (onset -> apex of {n} clips, 96x96): EPE (px) vs ground truth")
    print("   face = inside the landmark hull; moving = where the true motion is >= 0.3 px")
    print(f"{'engine':24s} {'ms/pair':>9s} {'EPE face':>9s} {'EPE moving':>11s} {'EPE all':>8s}")
    uids = corpus.uids[:n]
    truths = [corpus.ground_truth(u)["flow_apex"].values for u in uids]
    faces = [face_mask(corpus.ground_truth(u), cubes[u]) for u in uids]
    moving = [np.hypot(*t) >= 0.3 for t in truths]

    def row(name, flows, ms):
        err = [np.hypot(*(f - t)) for f, t in zip(flows, truths)]
        face = np.mean([e[m].mean() for e, m in zip(err, faces)])
        mov = np.mean([e[m].mean() for e, m in zip(err, moving) if m.any()])
        print(f"{name:24s} {ms:9.1f} {face:9.3f} {mov:11.3f} {np.mean([e.mean() for e in err]):8.3f}")

    variants = [(e, {}) for e in ENGINES] + [("tvl1", {"epsilon": 0.05})]
    for engine, params in variants:
        t0 = time.perf_counter()
        flows = [fl.flow_pair(cubes[u], engine=engine, cache=False, **params).values for u in uids]
        ms = 1000 * (time.perf_counter() - t0) / n
        row(engine + (f" (epsilon={params['epsilon']})" if params else ""), flows, ms)
    row("zero flow (no motion)", [np.zeros_like(t) for t in truths], 0.0)


def corpus_extraction(corpus, cubes, engines, tvl1_subset):
    print("\n3. Whole corpus: onset -> apex flows + Bi-WOOF (5x5) features")
    print(f"{'engine':10s} {'clips':>5s} {'cold 1 thread':>14s} {'cold 2 threads':>15s} {'warm':>8s}")
    results = {}
    for engine in engines:
        uids = corpus.uids if engine != "tvl1" else corpus.uids[:tvl1_subset]
        row = []
        tmp = tempfile.TemporaryDirectory(prefix="bench-flow-")
        for threads in (1, 2):
            store = DiskCache(Path(tmp.name) / f"threads{threads}")

            def one(uid, store=store):
                f = fl.flow_pair(cubes[uid], engine=engine, cache=store)
                return biwoof(f, blocks=(5, 5))

            t0 = time.perf_counter()
            if threads == 1:
                feats = [one(u) for u in uids]
            else:
                with ThreadPoolExecutor(threads) as pool:
                    feats = list(pool.map(one, uids))
            row.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        feats = [one(u) for u in uids]
        row.append(time.perf_counter() - t0)
        tmp.cleanup()
        results[engine] = np.array(feats)
        note = f"  (first {len(uids)} clips; x{len(corpus) / len(uids):.0f} for the corpus)" if len(uids) < len(corpus) else ""
        print(f"{engine:10s} {len(uids):5d} {row[0]:13.2f}s {row[1]:14.2f}s {row[2]:7.2f}s{note}")
    return results


def loso(corpus, cubes, engines):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    y, groups = corpus.labels, corpus.groups
    majority = max(set(y), key=list(y).count)
    base_f1 = f1_score(y, [majority] * len(y), average="macro")
    print(f"\n4. LOSO ({len(set(groups))} subjects, {len(y)} clips, {len(set(y))} classes), StandardScaler + SVC(rbf, C=10);"
          " metrics on the pooled predictions")
    print(f"{'features':34s} {'engine':10s} {'accuracy':>9s} {'macro F1':>9s}")
    print(f"{'majority baseline':34s} {'-':10s} {np.mean(y == majority):9.3f} {base_f1:9.3f}")
    for engine in engines:
        flows = [fl.flow_pair(cubes[u], engine=engine, cache=False) for u in corpus.uids]
        for name, fn in (
            ("Bi-WOOF 5x5", lambda f: biwoof(f, blocks=(5, 5))),
            ("Bi-WOOF 5x5, affine-aligned", lambda f: biwoof(f, blocks=(5, 5), align="affine")),
            ("Bi-WOOF 8x8, affine-aligned", lambda f: biwoof(f, blocks=(8, 8), align="affine")),
            ("HOOF 8 bins, 1 block", lambda f: hoof(f)),
            ("HOOF 8 bins 4x4, affine-aligned", lambda f: hoof(f, blocks=(4, 4), align="affine")),
        ):
            X = np.array([fn(f) for f in flows])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = cross_val_predict(make_pipeline(StandardScaler(), SVC(C=10)), X, y, groups=groups,
                                         cv=LeaveOneGroupOut())
            print(f"{name:34s} {engine:10s} {accuracy_score(y, pred):9.3f} {f1_score(y, pred, average='macro'):9.3f}")


def apex_accuracy(corpus, cubes, n):
    print(f"\n5. Apex estimation on {n} clips (frames from the annotated apex)")
    uids = corpus.uids[:n]
    s = corpus.samples.loc[uids]
    mid = np.abs((s["onset"] + s["offset"]) // 2 - s["apex"]).to_numpy(float)
    print(f"{'method':56s} {'median':>7s} {'mean':>6s} {'<=3 frames':>11s}")
    print(f"{'middle of onset..offset':56s} {np.median(mid):7.1f} {mid.mean():6.1f} {np.mean(mid <= 3):11.2f}")
    for label, kw in (("flow peak, Farneback (default: onset+offset, affine)", {}),
                      ("flow peak, Farneback, from onset only, no alignment", {"reference": "onset", "align": "none"}),
                      ("flow peak, Farneback, from onset, affine, detrended", {"reference": "onset", "detrend": True}),
                      ("flow peak, DIS (onset+offset, affine)", {"engine": "dis"})):
        err = np.abs([estimate_apex(cubes[u], cache=False, **kw) - cubes[u].attrs["apex"] for u in uids]).astype(float)
        print(f"{label:56s} {np.median(err):7.1f} {err.mean():6.1f} {np.mean(err <= 3):11.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and clips")
    args = parser.parse_args()
    from mer_lab.datasets.synthetic import make_corpus

    engines_on_textures(args.quick)
    corpus = make_corpus()
    t0 = time.perf_counter()
    cubes = {u: corpus.cube(u) for u in corpus.uids}
    print(f"\n(rendering the default synthetic corpus: {len(corpus)} clips in {time.perf_counter() - t0:.1f} s;"
          " not included below)")
    engines_on_synthetic(corpus, cubes, 6 if args.quick else 12)
    corpus_extraction(corpus, cubes, ("dis", "farneback", "tvl1"), 6 if args.quick else 16)
    loso(corpus, cubes, ("farneback",) if args.quick else ("farneback", "dis"))
    apex_accuracy(corpus, cubes, 20 if args.quick else 60)


if __name__ == "__main__":
    main()
