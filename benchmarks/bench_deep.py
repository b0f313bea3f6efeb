"""Deep models: fold-batched LOSO speed, and what test-fold epoch selection inflates.

Run: ``python benchmarks/bench_deep.py`` (``--full`` also runs the full recipe, which takes
long; ``--skip`` leaves sections out). Prints

1. the machine: cores, torch threads, load average;
2. STSTNet on MEGC-composite-sized data (442 samples, 68 subjects, 3 classes with the
   composite's 250/109/83 balance; synthetic 3 x 28 x 28 maps), the recipe's batch, a few
   epochs: the 68 LOSO folds trained one after another in one process, stacked into
   fold-batched models, and one after another in ``--jobs`` worker processes, with wall
   time, CPU time (workers included), CPU per sample-step, GFLOP per CPU-second and the
   fold-by-fold / fold-batched ratios;
3. the full 68-fold LOSO with the recipe's epochs (``RECIPES["ststnet"]``): its arithmetic
   and memory-traffic bounds from this core's measured matrix-product rate and copy
   bandwidth, the time extrapolated from section 2, and with ``--full`` the measured run;
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
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from mer_lab.deep.training import RECIPES, fit_folds, threads  # noqa: E402
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


def _children_cpu():
    """CPU seconds of this process's live child processes (the joblib workers)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def timed(fn):
    """(result, wall seconds, CPU seconds of this process and its worker processes)."""
    w, c, k = time.perf_counter(), time.process_time(), _children_cpu()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c + max(0.0, _children_cpu() - k)


#: Floating-point operations of one STSTNet training sample-step on 3 x 28 x 28 input:
#: the 3 x 3 convolution (16 filters, 27 inputs each, 30 x 30 outputs) forward and its
#: weight gradient (the input needs no gradient), 2 x 777,600 each; the rest (batch
#: normalisation, pooling, 400 x 3 fully connected layer) is elementwise work.
CONV_FLOP = 2 * 16 * 27 * 30 * 30
STEP_FLOP = 2 * CONV_FLOP + 3 * 2 * 400 * 3
#: Bytes of one sample's full-size activation (16 x 30 x 30 float32) and how many times a
#: training step writes or reads a tensor of that size (convolution output, ReLU, batch
#: norm forward and backward, max-pool forward and backward, ReLU backward, the
#: convolution's weight gradient), from the profile of one step.
ACT_BYTES = 16 * 30 * 30 * 4
ACT_PASSES = 12


def machine_peaks(seconds=1.0):
    """Measured dense float32 matrix-product rate (GFLOP per CPU-second, one thread) and
    copy bandwidth (GB moved per CPU-second) of one core, now."""
    with threads(1):
        a = torch.randn(1024, 1024)
        torch.mm(a, a)
        n, c0 = 0, time.process_time()
        while time.process_time() - c0 < seconds:
            torch.mm(a, a)
            n += 1
        gflops = n * 2 * 1024 ** 3 / (time.process_time() - c0) / 1e9
        big = torch.randn(32 * 1024 * 1024)          # 128 MB
        dst = torch.empty_like(big)
        n, c0 = 0, time.process_time()
        while time.process_time() - c0 < seconds:
            dst.copy_(big)
            n += 1
        gbs = n * 2 * big.numel() * 4 / (time.process_time() - c0) / 1e9
    return gflops, gbs


def speed(args):
    X, y, g = megc_sized()
    folds = loso(g)
    rec = RECIPES["ststnet"]
    E = args.compare_epochs
    per_epoch = sum(math.ceil(len(tr) / min(rec.batch_size, len(tr))) * min(rec.batch_size, len(tr))
                    for tr, _te in folds)                  # sample-steps of one epoch over all folds
    kw = dict(epochs=E, seed=0, n_threads=args.threads)
    print(f"\n== 2. STSTNet LOSO, {len(X)} samples, {len(folds)} folds, {E} epoch(s), recipe batch "
          f"{rec.batch_size} ({per_epoch} sample-steps an epoch over all folds), {args.threads} torch thread(s) "
          "a process")
    print(f"   {load()}")
    runs = {}

    def report(name, w, c):
        runs[name] = (w, c)
        print(f"   {name:38s}: {w:7.1f} s wall, {c:7.1f} s CPU, {c / (E * per_epoch) * 1e6:6.1f} us CPU a "
              f"sample-step, {STEP_FLOP * E * per_epoch / c / 1e9:5.2f} GFLOP per CPU-s", flush=True)

    _r, w, c = timed(lambda: fit_folds("ststnet", X, y, folds, fold_batch=1, **kw))
    report("fold by fold, one process", w, c)
    for fb in args.fold_batch:
        fb = fb or len(folds)
        _r, w, c = timed(lambda: fit_folds("ststnet", X, y, folds, fold_batch=fb, **kw))
        report(f"fold-batched, {fb} folds a stacked model", w, c)
    if args.jobs > 1:
        _r, w, c = timed(lambda: fit_folds("ststnet", X, y, folds, fold_batch=1, n_jobs=args.jobs, **kw))
        report(f"fold by fold, {args.jobs} worker processes", w, c)
    base_w, base_c = runs["fold by fold, one process"]
    for name, (w, c) in runs.items():
        if name != "fold by fold, one process":
            print(f"   ratio fold by fold / {name}: {base_w / w:.2f} (wall), {base_c / c:.2f} (CPU)")
    print(f"   {load()}")
    gflops, gbs = machine_peaks()
    steps_full = rec.epochs * per_epoch
    flop = STEP_FLOP * steps_full
    best = min(runs.values(), key=lambda r: r[1])
    print(f"\n== 3. full LOSO with the recipe ({rec.epochs} epochs, Adam lr {rec.lr:g}, batch {rec.batch_size}): "
          f"{steps_full / 1e6:.1f} million sample-steps")
    print(f"   this core now: {gflops:.0f} GFLOP per CPU-second on a 1024 x 1024 float32 matrix product, "
          f"{gbs:.1f} GB per CPU-second copying 128 MB")
    print(f"   arithmetic bound: {flop / 1e12:.1f} TFLOP at that rate = {flop / gflops / 1e9:.0f} CPU-s = "
          f"{flop / gflops / 1e9 / 2:.0f} s on 2 idle cores")
    traffic = ACT_PASSES * ACT_BYTES * steps_full
    print(f"   memory bound: about {ACT_PASSES} passes over {ACT_BYTES // 1024} kB of activations a sample-step = "
          f"{traffic / 1e12:.1f} TB at that bandwidth = {traffic / gbs / 1e9:.0f} CPU-s = "
          f"{traffic / gbs / 1e9 / 2:.0f} s on 2 idle cores")
    cpu_full = best[1] / E * rec.epochs
    print(f"   extrapolated from the least CPU above: {cpu_full / 60:.1f} CPU-min = {cpu_full / 2 / 60:.1f} min on "
          f"2 idle cores (with 2 workers), against a goal of 5 min")
    if args.full:
        res, w, c = timed(lambda: fit_folds("ststnet", X, y, folds, seed=0, n_threads=args.threads,
                                            n_jobs=args.jobs, progress=True))
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
    epochs = args.inflation_epochs or RECIPES["ststnet"].epochs
    lr = args.inflation_lr or RECIPES["ststnet"].lr
    print(f"\n== 4. synthetic MEGC-like composite ({args.difficulty}): {len(X)} clips, {len(folds)} subjects, "
          f"classes {dict(zip(classes.tolist(), np.bincount(y).tolist()))}; STSTNet, {epochs} epochs, lr {lr:g}, "
          f"batch {RECIPES['ststnet'].batch_size} (at most a fold's training rows), {args.seeds} seed(s)")
    print(f"   {load()}")
    w0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
    truth = np.concatenate([y[te] for _tr, te in folds])
    table = {k: [] for k in ("recipe (last epoch)", "inner validation", "test-fold selection")}
    for seed in range(args.seeds):
        run = fit_folds("ststnet", X, y, folds, epochs=epochs, lr=lr, seed=seed, record_test=True,
                        n_threads=args.threads, n_jobs=args.jobs)
        last = np.concatenate([p.argmax(1) for p in run.proba])
        acc = run.history["test_accuracy"]
        # test-fold selection from the same run: each subject's best epoch on its own clips (later on ties)
        best = [int(len(a) - 1 - np.argmax(a[::-1])) for a in acc.T]
        leak = np.concatenate([tp[e].argmax(1) for tp, e in zip(run.test_proba, best)])
        preds = {"recipe (last epoch)": last, "test-fold selection": leak}
        if not args.no_inner:
            inner = fit_folds("ststnet", X, y, folds, epochs=epochs, lr=lr, seed=seed, select="inner", groups=g,
                              n_threads=args.threads, n_jobs=args.jobs)
            preds["inner validation"] = np.concatenate([p.argmax(1) for p in inner.proba])
        for key, pred in preds.items():
            sc = scores(truth, pred)
            table[key].append((sc["uf1"], sc["uar"]))
    for key, vals in table.items():
        if not vals:
            continue
        v = np.asarray(vals)
        print(f"   {key:22s} UF1 {v[:, 0].mean():.4f} (+- {v[:, 0].std():.4f})  UAR {v[:, 1].mean():.4f} "
              f"(+- {v[:, 1].std():.4f})")
    honest = np.asarray(table["recipe (last epoch)"]).mean(0)
    leaky = np.asarray(table["test-fold selection"]).mean(0)
    print(f"   inflation of test-fold selection over the recipe: UF1 +{leaky[0] - honest[0]:.4f}, "
          f"UAR +{leaky[1] - honest[1]:.4f}")
    print(f"   {time.perf_counter() - w0:.0f} s wall, {time.process_time() - c0 + _children_cpu() - k0:.0f} s CPU "
          f"({1 if args.no_inner else 2} training run(s) a seed); {load()}")


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
          "STSTNet pre-trained 60 epochs, batch 32, lr 5e-3 (a teaching-sized budget, not the recipe)")
    for epochs in (3, 10):
        tab = transfer_experiment((Xs, ys), (Xt, yt, gt), epochs=epochs, pretrain_epochs=60, seeds=(0, 1, 2),
                                  batch_size=32, lr=5e-3, n_threads=args.threads)
        for arm, part in tab.groupby("arm", sort=False):
            print(f"   {epochs:2d} target epochs, {arm:10s}: UF1 {part['uf1'].mean():.3f} (+- {part['uf1'].std():.3f})"
                  f"  UAR {part['uar'].mean():.3f}")
    print(f"   {load()}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also run the full LOSO with the recipe's epochs (long)")
    p.add_argument("--threads", type=int, default=1, help="torch threads a process (default 1)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes of the fold-by-fold run (default 2)")
    p.add_argument("--compare-epochs", type=int, default=2)
    p.add_argument("--fold-batch", type=int, nargs="*", default=[0, 17], help="0 = all folds at once")
    p.add_argument("--subjects", type=int, default=6, help="subjects per synthetic database (section 4)")
    p.add_argument("--inflation-epochs", type=int, default=0, help="section 4 epochs (0: the recipe's)")
    p.add_argument("--inflation-lr", type=float, default=0, help="section 4 learning rate (0: the recipe's)")
    p.add_argument("--difficulty", default="default", help="synthetic difficulty of section 4 (easy/default/hard)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--no-inner", action="store_true", help="section 4 without the inner-validation runs")
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
