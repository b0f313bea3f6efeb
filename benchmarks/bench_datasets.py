"""How fast the real-dataset loaders build their tables and read cubes.

Builds a CASME II-sized fixture tree (255 clips, 26 subjects, ``--frames`` frames each,
64x64 JPEGs; no real data) in a temporary folder, then times:

* ``load_casme2`` (reading the coding sheet, listing every clip folder, checking that no
  frame in the expression is an empty file): the table-building cost a user pays once;
* ``corpus.cube`` for every clip (decoding the onset..offset frames).

Run: ``python benchmarks/bench_datasets.py [--clips 255] [--frames 60]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=255)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location(
        "dataset_fixtures", Path(__file__).resolve().parents[1] / "tests" / "datasets" / "fixtures.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    from mer_lab.datasets import load_casme2

    emotions = ["happiness", "disgust", "repression", "surprise", "others"]
    rows = []
    for i in range(args.clips):
        first = 10 + 7 * i
        rows.append(dict(subject=1 + i % 26, filename=f"EP{i:03d}_01", onset=first + 5, apex=first + args.frames // 2,
                         offset=first + args.frames - 6, aus="4", emotion=emotions[i % 5],
                         frames=range(first, first + args.frames)))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tree = fx.make_casme2(Path(tmp), rows=rows, raw=False, unlisted=(), frame_size=(64, 64))
        t_build = time.perf_counter() - t0
        n_files = args.clips * args.frames
        print(f"fixture: {args.clips} clips x {args.frames} frames = {n_files} JPEG files (built in {t_build:.1f} s)")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                corpus = load_casme2(tree.root)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(f"load_casme2 (table): best of 3 {best * 1000:.0f} ms = {best / args.clips * 1e3:.2f} ms per clip "
              f"({len(corpus)} samples)")
        t0 = time.perf_counter()
        n_frames = 0
        for _, cube in corpus.cubes():
            n_frames += cube.sizes["time"]
        t_cubes = time.perf_counter() - t0
        print(f"reading every cube: {t_cubes:.2f} s for {n_frames} frames = {t_cubes / n_frames * 1e6:.0f} us per frame")


if __name__ == "__main__":
    main()
