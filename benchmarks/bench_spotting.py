"""Micro-expression spotting: MEGC scores on synthetic long videos, apex error, speed.

Run: ``python benchmarks/bench_spotting.py`` (about two minutes on 2 cores; ``--quick``
for a shorter run). Prints

1. for N synthetic long videos per difficulty (easy / default / hard; 100 fps, 96x96,
   three micro-expressions each, no macro-expression): TP, FP, FN, precision, recall, F1
   (IoU >= 0.5, counts summed over the videos) and the apex error of the hits, for the
   feature-difference spotter (plain, and with a 1.5 px pre-blur) and the 3-D FFT
   energy spotter, at p = 0.5 and at the best p of a 0.1-step grid (the best p is chosen
   on the very videos it is scored on: an optimistic ceiling, not a result);
2. F1 at the default difficulty's micro-expression amplitudes with one distractor at a
   time (sensor noise, head drift and rotation, blinks, illumination flicker, one
   macro-expression per video whose spots count as false positives);
3. the apex of synthetic micro-expression clips by 3-D FFT energy within onset..offset,
   against the middle frame of onset..offset, in frames;
4. frames per second of each spotter on a 100 fps 96x96 and a 200 fps 128x128 video.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mer_lab.datasets.synthetic import difficulty_knobs, make_corpus, make_long_video  # noqa: E402
from mer_lab.spotting import (  # noqa: E402
    feature_difference,
    fft_apex,
    fft_energy,
    intervals_from_curve,
    spotting_scores,
)

SPOTTERS = {
    "feature_difference": lambda cube: feature_difference(cube),
    "feature_difference smooth=1.5": lambda cube: feature_difference(cube, smooth=1.5),
    "fft_apex": lambda cube: fft_energy(cube),
}
P_GRID = np.round(np.arange(0.1, 1.0, 0.1), 1)


def videos(n, difficulty, *, fps=100, macro=0, seed=0, **knobs):
    out = []
    for subject in range(1, n + 1):
        cube, truth = make_long_video(n_expressions=3, n_macro=macro, fps=fps, seed=seed, subject=subject,
                                      difficulty=difficulty, **knobs)
        out.append((cube.attrs["sample"], cube, truth))
    return out


def score(curves, vids, p):
    spots = pd.concat([intervals_from_curve(c, p=p).assign(video=name) for c, (name, _, _) in zip(curves, vids)])
    truth = pd.concat([t[t["type"] == "micro"].assign(video=name, fps=cube.attrs["fps"]) for name, cube, t in vids])
    return spotting_scores(spots, truth)


def row(label, s):
    apex = s.get("apex_mae_frames", np.nan)
    return (f"{label:40s} {s['tp']:>4d} {s['fp']:>4d} {s['fn']:>4d} {s['precision']:>6.2f} {s['recall']:>6.2f} "
            f"{s['f1']:>6.2f} {apex:>8.2f}")


def header():
    return f"{'spotter (p)':40s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'prec':>6s} {'rec':>6s} {'F1':>6s} {'apex fr':>8s}"


def spotting_table(n, difficulty, *, macro=0):
    vids = videos(n, difficulty, macro=macro)
    n_me = sum(int((t["type"] == "micro").sum()) for _, _, t in vids)
    print(f"\n{difficulty}: {n} videos, {n_me} micro-expressions"
          + (f", {macro} macro-expression per video" if macro else "")
          + f" ({vids[0][1].sizes['time']} frames each)")
    print(header())
    for name, fn in SPOTTERS.items():
        curves = [fn(cube) for _, cube, _ in vids]
        at_default = score(curves, vids, 0.5)
        results = {p: score(curves, vids, p) for p in P_GRID}
        best_p = max(results, key=lambda p: (results[p]["f1"], -p))
        print(row(f"{name} (0.5)", at_default))
        print(row(f"{name} (best {best_p:.1f})", results[best_p]))


NONE = dict(noise=0, drift=0, rotation=0, blink=0, flicker=0)
DEFAULT_KNOBS = difficulty_knobs("default")
CONDITIONS = {
    "no distractor": dict(NONE),
    f"sensor noise {DEFAULT_KNOBS['noise']:g}": {**NONE, "noise": DEFAULT_KNOBS["noise"]},
    f"head drift {DEFAULT_KNOBS['drift']:g} px, rotation {DEFAULT_KNOBS['rotation']:g} deg":
        {**NONE, "drift": DEFAULT_KNOBS["drift"], "rotation": DEFAULT_KNOBS["rotation"]},
    f"blinks {DEFAULT_KNOBS['blink']:g}/s": {**NONE, "blink": DEFAULT_KNOBS["blink"]},
    f"flicker {DEFAULT_KNOBS['flicker']:g}": {**NONE, "flicker": DEFAULT_KNOBS["flicker"]},
    "one macro-expression": dict(NONE, macro=1),
    "all of the default difficulty": dict(macro=0),
}
SHORT = {"feature_difference": "FD", "fft_apex": "FFT"}


def distractor_table(n):
    print(f"\n2. One distractor at a time (default ME amplitudes, {n} videos each): F1 at p = 0.5 / best p")
    print(f"{'condition':44s} {'FD 0.5':>7s} {'FD best':>8s} {'FFT 0.5':>8s} {'FFT best':>9s}")
    for label, knobs in CONDITIONS.items():
        knobs = dict(knobs)
        macro = knobs.pop("macro", 0)
        vids = videos(n, "default", macro=macro, **knobs)
        cells = []
        for name in SHORT:
            curves = [SPOTTERS[name](cube) for _, cube, _ in vids]
            results = {p: score(curves, vids, p)["f1"] for p in P_GRID}
            cells += [score(curves, vids, 0.5)["f1"], max(results.values())]
        print(f"{label:44s} {cells[0]:>7.2f} {cells[1]:>8.2f} {cells[2]:>8.2f} {cells[3]:>9.2f}")


def apex_table(n_subjects, clips):
    print("\n3. Apex of synthetic ME clips (100 fps), mean |error| in frames within onset..offset")
    print(f"{'difficulty':10s} {'clips':>6s} {'fft_apex':>9s} {'middle':>7s}")
    for difficulty in ("easy", "default", "hard"):
        corpus = make_corpus(n_subjects=n_subjects, clips_per_subject=clips, seed=0, difficulty=difficulty)
        fft_err, mid_err = [], []
        for uid, cube in corpus.cubes():
            r = corpus.row(uid)
            fft_err.append(abs(fft_apex(cube)[0] - int(r["apex"])))
            mid_err.append(abs((int(r["onset"]) + int(r["offset"])) // 2 - int(r["apex"])))
        print(f"{difficulty:10s} {len(fft_err):>6d} {np.mean(fft_err):>9.2f} {np.mean(mid_err):>7.2f}")


def speed_table(quick):
    print("\n4. Speed (frames per second of video processed; one process)")
    print(f"{'spotter':34s} {'100 fps 96x96':>14s} {'200 fps 128x128':>16s}")
    small, _ = make_long_video(n_expressions=3, n_macro=0, fps=100, size=96, seed=5, difficulty="default")
    large, _ = make_long_video(n_expressions=3, n_macro=0, fps=200, size=128, seed=5, difficulty="default",
                               duration_s=3.0 if quick else 6.0)
    runs = {
        "feature_difference": lambda c: feature_difference(c),
        "fft_apex (energy, Gram kernel)": lambda c: fft_energy(c),
        "fft_apex (amplitude, direct FFT)": lambda c: fft_energy(c, measure="amplitude"),
    }
    for name, fn in runs.items():
        rates = []
        for cube in (small, large):
            if quick and "direct" in name and cube is large:
                rates.append(float("nan"))
                continue
            t0 = time.perf_counter()
            fn(cube)
            rates.append(cube.sizes["time"] / (time.perf_counter() - t0))
        print(f"{name:34s} {rates[0]:>14.0f} {rates[1]:>16.0f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=3, help="synthetic long videos per condition (default 3)")
    ap.add_argument("--quick", action="store_true", help="2 videos per difficulty, fewer clips, shorter timing")
    args = ap.parse_args(argv)
    n = 2 if args.quick else args.videos
    t0 = time.perf_counter()
    print("1. Spotting micro-expressions in synthetic long videos (MEGC: IoU >= 0.5, counts summed)")
    for difficulty in ("easy", "default", "hard"):
        spotting_table(n, difficulty)
    distractor_table(n)
    apex_table(2 if args.quick else 4, 3 if args.quick else 5)
    speed_table(args.quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
