"""Deep models: fold-batched LOSO speed, and what test-fold epoch selection inflates.

Run: ``python benchmarks/bench_deep.py`` (the full recipe takes long on a loaded
machine; ``--quick`` times a few epochs and extrapolates). Prints

1. the machine: cores, torch threads, load average;
2. STSTNet on MEGC-composite-sized data (442 samples, 68 subjects, 3 classes with the
   composite's 250/109/83 balance; synthetic 3 x 28 x 28 maps): the 68 LOSO folds
   trained one after another versus together (fold-stacked), for a few epochs, with
   wall time, CPU time and their ratio;
3. the full 68-fold LOSO with the recipe's epochs (``RECIPES["ststnet"]``), measured, or
   with ``--quick`` extrapolated from the measured epochs;
4. on the synthetic MEGC-like composite (three synthetic databases, classes mapped to
   negative / positive / surprise, onset -> apex Farneback flow): UF1 and UAR of STSTNet
   with honest training (the recipe's last epoch; inner validation on training subjects)
   against test-fold selection (each subject's best epoch on its own test clips);
5. transfer: STSTNet pre-trained on one synthetic corpus (seed 7) and fine-tuned on
   another (seed 0), against training from scratch, LOSO UF1/UAR on the target after 3
   and 10 target epochs, three seeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mer_lab.deep.training import RECIPES, fit_folds  # noqa: E402
from mer_lab.evaluation.metrics import scores  # noqa: E402


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on {os.cpu_count()} cores"


def megc_sized(seed=0, size=28):
    """442 samples of 68 subjects, 250/109/83 classes, class-coded noisy u, v, strain maps."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], [250, 109, 83])
    rng.shuffle(y)
    groups = np.sort(rng.integers(0, 68, size=442))
    groups[:68] = np.arange(68)                       # every subject has at least one clip
    groups = np.sort(groups)
    X = rng.normal(size=(442, 3, size, size)).astype(np.float32)
    h = size // 2
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        X[i, int(c), r * h:(r + 1) * h, q * h:(q + 1) * h] += 0.6
    return X, y, groups


def loso(groups):
    return [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in np.unique(groups)]


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def speed(args):
    X, y, g = megc_sized()
    folds = loso(g)
    kw = dict(epochs=args.compare_epochs, seed=0, n_threads=args.threads)
    print(f"\n== 2. STSTNet LOSO, {len(X)} samples, {len(folds)} folds, {args.compare_epochs} epoch(s), "
          f"batch {RECIPES['ststnet'].batch_size}, {args.threads} torch thread(s)")
    print(f"   {load()}")
    _r, w1, c1 = timed(lambda: [fit_folds("ststnet", X, y, [f], fold_ids=[i], **kw) for i, f in enumerate(folds)])
    print(f"   fold by fold : {w1:8.1f} s wall, {c1:8.1f} s CPU")
    rows = [(w1, c1)]
    for fb in args.fold_batch:
        _r, w2, c2 = timed(lambda: fit_folds("ststnet", X, y, folds, fold_batch=fb or None, **kw))
        print(f"   fold-batched (fold_batch={fb or 'all'}): {w2:8.1f} s wall, {c2:8.1f} s CPU; ratio fold-by-fold "
              f"/ batched {w1 / w2:.2f} (wall), {c1 / c2:.2f} (CPU)")
        rows.append((w2, c2))
    print(f"   {load()}")
    best = min(rows, key=lambda r: r[1])
    per_epoch_cpu = best[1] / args.compare_epochs
    per_epoch_wall = best[0] / args.compare_epochs
    epochs = RECIPES["ststnet"].epochs
    print(f"\n== 3. full LOSO with the recipe ({epochs} epochs, lr {RECIPES['ststnet'].lr}, batch "
          f"{RECIPES['ststnet'].batch_size})")
    if args.quick:
        print(f"   extrapolated from the fastest run above: {per_epoch_wall * epochs / 60:.1f} min wall, "
              f"{per_epoch_cpu * epochs / 60:.1f} min CPU (one core-minute of CPU time is about what an "
              "unloaded core does in a minute)")
    else:
        fb = None
        res, w, c = timed(lambda: fit_folds("ststnet", X, y, folds, fold_batch=fb, seed=0, n_threads=args.threads,
                                            progress=True))
        pred = np.concatenate([p.argmax(1) for p in res.proba])
        truth = np.concatenate([y[te] for _tr, te in folds])
        s = scores(truth, pred)
        print(f"   measured: {w / 60:.1f} min wall, {c / 60:.1f} min CPU; UF1 {s['uf1']:.3f} UAR {s['uar']:.3f}")
        print(f"   {load()}")


def inflation(args):
    from mer_lab.compare import synthetic_composite
    from mer_lab.evaluation.experiment import compute_features

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the "others" clips leave under the MEGC mapping (counted below)
        corpus = synthetic_composite(n_subjects=args.subjects, clips_per_subject=10,
                                     difficulty=args.difficulty).map_classes("megc2019")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = compute_features(corpus, "ststnet", params={"engine": "farneback"}, progress=False).values
    s = corpus.samples
    classes, y = np.unique(s["label"].to_numpy(), return_inverse=True)
    g = s["group"].to_numpy()
    folds = loso(g)
    X = X.reshape(len(X), 3, 28, 28)
    epochs = args.inflation_epochs
    print(f"\n== 4. synthetic MEGC-like composite ({args.difficulty}): {len(X)} clips, {len(folds)} subjects, "
          f"classes "
          f"{dict(zip(classes.tolist(), np.bincount(y).tolist()))}; STSTNet, {epochs} epochs, seeds {args.seeds}")
    truth = np.concatenate([y[te] for _tr, te in folds])
    table = {k: [] for k in ("recipe (last epoch)", "inner validation", "test-fold selection")}
    for seed in range(args.seeds):
        run = fit_folds("ststnet", X, y, folds, epochs=epochs, seed=seed, record_test=True, n_threads=args.threads)
        last = np.concatenate([p.argmax(1) for p in run.proba])
        acc = run.history["test_accuracy"]
        # test-fold selection from the same run: each subject's best epoch on its own clips (later on ties)
        best = [int(len(a) - 1 - np.argmax(a[::-1])) for a in acc.T]
        leak = np.concatenate([tp[e].argmax(1) for tp, e in zip(run.test_proba, best)])
        inner = fit_folds("ststnet", X, y, folds, epochs=epochs, seed=seed, select="inner", groups=g,
                          n_threads=args.threads)
        inner_pred = np.concatenate([p.argmax(1) for p in inner.proba])
        for key, pred in zip(table, (last, inner_pred, leak)):
            sc = scores(truth, pred)
            table[key].append((sc["uf1"], sc["uar"]))
    for key, vals in table.items():
        v = np.asarray(vals)
        print(f"   {key:22s} UF1 {v[:, 0].mean():.4f} (+- {v[:, 0].std():.4f})  UAR {v[:, 1].mean():.4f} "
              f"(+- {v[:, 1].std():.4f})")
    honest = np.asarray(table["recipe (last epoch)"]).mean(0)
    leaky = np.asarray(table["test-fold selection"]).mean(0)
    print(f"   inflation of test-fold selection over the recipe: UF1 +{leaky[0] - honest[0]:.4f}, "
          f"UAR +{leaky[1] - honest[1]:.4f}")
    print(f"   {load()}")


def transfer(args):
    from mer_lab.datasets.synthetic import make_corpus
    from mer_lab.deep.transfer import network_inputs, transfer_experiment

    classes = ["happiness", "surprise", "disgust"]
    src = make_corpus(n_subjects=8, clips_per_subject=6, size=64, classes=classes, seed=7)
    tgt = make_corpus(n_subjects=8, clips_per_subject=6, size=64, classes=classes, seed=0)
    Xs, ls, _ = network_inputs(src, "ststnet")
    Xt, lt, gt = network_inputs(tgt, "ststnet")
    names = np.unique(lt)
    ys, yt = np.searchsorted(names, ls), np.searchsorted(names, lt)
    print(f"\n== 5. transfer: source {len(Xs)} clips (seed 7), target {len(Xt)} clips / 8 subjects (seed 0); "
          "STSTNet pre-trained 60 epochs, batch 32")
    for epochs in (3, 10):
        tab = transfer_experiment((Xs, ys), (Xt, yt, gt), epochs=epochs, pretrain_epochs=60, seeds=(0, 1, 2),
                                  batch_size=32, n_threads=args.threads)
        for arm, part in tab.groupby("arm", sort=False):
            print(f"   {epochs:2d} target epochs, {arm:10s}: UF1 {part['uf1'].mean():.3f} (+- {part['uf1'].std():.3f})"
                  f"  UAR {part['uar'].mean():.3f}")
    print(f"   {load()}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="extrapolate the full LOSO from a few epochs")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--compare-epochs", type=int, default=2)
    p.add_argument("--fold-batch", type=int, nargs="*", default=[0, 17], help="0 = all folds at once")
    p.add_argument("--subjects", type=int, default=6, help="subjects per synthetic database (section 4)")
    p.add_argument("--inflation-epochs", type=int, default=100)
    p.add_argument("--difficulty", default="default", help="synthetic difficulty of section 4 (easy/default/hard)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--skip", nargs="*", default=[], choices=["speed", "inflation", "transfer"])
    args = p.parse_args(argv)
    print(f"== 1. torch {torch.__version__}, {args.threads} thread(s); {load()}")
    if "speed" not in args.skip:
        speed(args)
    if "inflation" not in args.skip:
        inflation(args)
    if "transfer" not in args.skip:
        transfer(args)


if __name__ == "__main__":
    main()
