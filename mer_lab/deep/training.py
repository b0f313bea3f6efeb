"""Training: one fold or many folds at once, with honest epoch selection by default.

:func:`fit_folds` trains one network per fold of a protocol, in one call. Folds can be
trained *together*: a fold-stacked model (:mod:`mer_lab.deep.models`) holds several
folds' networks (``fold_batch`` of them; the recipe's default), each training step draws
one mini-batch per fold from that fold's own training rows, and the loss is the sum of
the folds' mean losses, so every fold's weights get exactly the gradient they would get
alone. Adam works element by element, so its state stays per fold too. With the same
seed, training the folds together or one by one gives the same networks up to
floating-point rounding (exactly the same mini-batches and initial weights; dropout
masks, where a model has dropout, are drawn differently). Stacked models can also be
spread over worker processes (``n_jobs``), with identical results.

Which epoch's network predicts the test rows (``select``):

``"recipe"`` (default)
    the last epoch of a fixed recipe (:data:`RECIPES`): nothing is chosen on data.
``"inner"``
    early stopping on an inner validation split of the fold's *training subjects*
    (``val_fraction`` of them; the epoch with the lowest validation loss); the test
    subject plays no part.
``"test_fold"``
    **leaky, for measuring published practice only**: for every fold, the epoch whose
    network scores best (accuracy, later epoch on ties) on that fold's own *test*
    samples. Code behind several published composite results selects this way.

Each fold's input standardisation (per-channel mean and scale) is fitted on its
training rows only (the inner-training rows with ``"inner"``).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_choice, check_int, check_number
from . import require_torch
from .models import MODELS, build_model, tile_state

torch = require_torch()

__all__ = ["Recipe", "RECIPES", "SELECT", "FoldFit", "fit_folds", "inner_split", "threads"]

SELECT = ("recipe", "inner", "test_fold")


@dataclass(frozen=True)
class Recipe:
    """Optimiser settings of a model: Adam with ``lr`` and ``weight_decay``, ``epochs``
    passes over the training rows in mini-batches of ``batch_size`` (cross-entropy loss).
    ``fold_batch`` is how many folds :func:`fit_folds` stacks into one model by default
    (``None``: all)."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 0.0
    fold_batch: int | None = None


#: Default recipes.
#:
#: STSTNet follows its authors: Adam, learning rate 5e-5, mini-batches of 256, cross-entropy,
#: 500 epochs, the last epoch's network predicting (Liong et al., FG 2019: the MATLAB
#: ``main.m`` of github.com/christy1206/STSTNet, behind the published 0.7353 UF1; the
#: authors' PyTorch ``main.py`` keeps the optimiser, rate and batch with 800 epochs and
#: reports 0.7209 UF1). It trains fold by fold (``fold_batch=1``): for this network, at
#: batch 256, stacking folds into grouped convolutions costs more CPU per sample than
#: separate models (``benchmarks/bench_deep.py``); spread the folds over processes
#: with ``n_jobs`` instead. The others are mer_lab's CPU-sized choices.
RECIPES = {
    "ststnet": Recipe(epochs=500, lr=5e-5, batch_size=256, fold_batch=1),
    "off_apexnet": Recipe(epochs=60, lr=1e-3, batch_size=64, weight_decay=1e-4),
    "cnn3d": Recipe(epochs=60, lr=5e-3, batch_size=32),
    "cnn_lstm": Recipe(epochs=60, lr=5e-3, batch_size=32),
}


@contextlib.contextmanager
def threads(n: int | None):
    """Run torch with ``n`` intra-op threads (``None``: leave torch's setting)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class FoldFit:
    """What :func:`fit_folds` returns.

    Attributes
    ----------
    proba : list of ndarray (n_test_f, n_classes)
        Each fold's test-row probabilities from the selected epoch.
    epoch : ndarray of int
        The selected epoch of each fold (1-based; ``epochs`` for ``"recipe"``).
    history : dict of ndarray (epochs, n_folds)
        ``"loss"`` (mean training loss), ``"selection"`` (the selection score of
        ``"inner"``/``"test_fold"``; NaN for ``"recipe"``) and, with ``record_test``,
        ``"test_accuracy"``.
    test_proba : list of ndarray (epochs, n_test_f, n_classes) or None
        Every epoch's test probabilities (``record_test=True``).
    states : list of dict
        Each fold's selected network as a ``folds=1`` state dict.
    seconds : float
    """

    proba: list
    epoch: np.ndarray
    history: dict
    test_proba: list | None = None
    states: list = field(default_factory=list)
    seconds: float = 0.0


def inner_split(train, groups, y, *, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Split training rows into inner-training and validation rows by *subject*
    (``groups``; by sample, stratified, when ``groups`` is None)."""
    train = np.asarray(train)
    if groups is not None:
        subjects = np.unique(np.asarray(groups)[train])
        if subjects.size >= 2:
            k = min(subjects.size - 1, max(1, int(round(fraction * subjects.size))))
            held = rng.permutation(subjects)[:k]
            mask = np.isin(np.asarray(groups)[train], held)
            return train[~mask], train[mask]
    val = []
    for c in np.unique(y[train]):
        rows = rng.permutation(train[y[train] == c])
        val.extend(rows[: int(math.floor(fraction * rows.size))].tolist())
    mask = np.isin(train, val)
    if not mask.any() or mask.all():
        raise ValueError(f"select='inner' needs enough training rows for a validation split "
                         f"(val_fraction={fraction}); got {train.size} rows")
    return train[~mask], train[mask]


class _Stream:
    """One fold's endless shuffled stream of training rows, cut into equal mini-batches."""

    def __init__(self, rows, rng):
        self.rows, self.rng, self.buf = np.asarray(rows), rng, np.empty(0, np.int64)

    def take(self, n):
        while self.buf.size < n:
            self.buf = np.concatenate([self.buf, self.rng.permutation(self.rows)])
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _fit_stats(Xt, rows, channels):
    x = Xt[rows].transpose(0, 1).reshape(channels, -1)
    mean = x.mean(dim=1)
    scale = x.std(dim=1)
    return mean, torch.where(scale > 1e-8, scale, torch.ones_like(scale))


def _pad(rows_per_fold):
    m = max(1, max(len(r) for r in rows_per_fold))
    idx = np.stack([np.resize(r, m) if len(r) else np.zeros(m, np.int64) for r in rows_per_fold])
    return idx, m


def _forward_rows(model, Xt, idx, chunk=256):
    """Logits of fold f on rows idx[f] for every fold: (m, folds, K)."""
    outs = []
    for s in range(0, idx.shape[1], chunk):
        part = torch.as_tensor(idx[:, s:s + chunk])
        outs.append(model(Xt[part].transpose(0, 1)))
    return torch.cat(outs)


def _snapshot_into(best, current, improved, folds):
    for k, v in current.items():
        if v.ndim == 0:
            continue
        best[k].view(folds, -1)[improved] = v.detach().view(folds, -1)[improved]


def fit_folds(model: str, X, y, folds, *, n_classes: int | None = None, groups=None, epochs=None, lr=None,
              batch_size=None, weight_decay=None, select: str = "recipe", val_fraction: float = 0.2,
              seed: int = 0, fold_batch: int | None = None, record_test: bool = False,
              init_state: dict | None = None, model_kwargs: dict | None = None, progress=False,
              n_threads: int | None = None, fold_ids=None, n_jobs: int | None = None) -> FoldFit:
    """Train one network per fold, folds stacked together, and predict each fold's test rows.

    Parameters
    ----------
    model : str
        A name of :data:`mer_lab.deep.models.MODELS`.
    X : ndarray, shape (n_samples, channels, [time,] size, size)
        Network inputs (finite).
    y : ndarray of int, shape (n_samples,)
        Class codes ``0..n_classes-1``.
    folds : sequence of (train_rows, test_rows)
        The protocol's folds; each fold's network sees only its training rows (and
        its test rows only to predict them, or to select the epoch with
        ``select="test_fold"``).
    groups : array_like, optional
        Subject of each sample: the inner validation split of ``select="inner"`` holds
        out whole training subjects.
    epochs, lr, batch_size, weight_decay : optional
        Override the model's :data:`RECIPES` entry. A fold with fewer training rows
        than ``batch_size`` trains on all of them at every step (one step an epoch).
    select : {"recipe", "inner", "test_fold"}
        Which epoch predicts (module notes). ``"test_fold"`` selects on the test fold.
    seed : int
        Initial weights (shared by every fold) and each fold's mini-batch order
        (seeded by ``(seed, fold position)``, so a fold trains the same alone or with others).
    fold_batch : int, optional
        At most this many folds in one stacked model; default the recipe's
        (:attr:`Recipe.fold_batch`; ``None`` there: all folds). ``1`` trains fold by fold.
    record_test : bool
        Keep every epoch's test probabilities (for learning curves and for measuring
        test-fold selection from one run).
    init_state : dict, optional
        A ``folds=1`` state dict to start every fold from (transfer learning). Tensors
        whose shape differs (an output layer for another number of classes) keep their
        fresh initial values; the input standardisation is fitted on the fold's own rows.
    fold_ids : sequence of int, optional
        The numbers seeding each fold's mini-batch order (default its position); give
        fold i alone ``fold_ids=[i]`` to retrain it exactly as in a joint run.
    progress : bool or callable
        ``True``: a progress bar. A callable is called as ``progress(done, total)`` after
        every training epoch of every stacked model (``total`` = epochs x stacked
        models; with ``n_jobs`` > 1, ``epochs`` at a time as each stacked model returns).
    n_threads : int, optional
        torch intra-op threads (default: torch's setting; 1 in each ``n_jobs`` worker).
    n_jobs : int, optional
        Train the stacked models in this many worker processes (joblib); ``None`` or 1:
        in this process. The results are the same either way.

    Returns
    -------
    FoldFit
    """
    t0 = time.perf_counter()
    check_choice("model", model, list(MODELS))
    check_choice("select", select, SELECT)
    recipe = RECIPES[model]
    epochs = check_int("epochs", recipe.epochs if epochs is None else epochs, low=1)
    lr = check_number("lr", recipe.lr if lr is None else lr, low=0, low_open=True)
    batch_size = check_int("batch_size", recipe.batch_size if batch_size is None else batch_size, low=1)
    weight_decay = check_number("weight_decay", recipe.weight_decay if weight_decay is None else weight_decay,
                                low=0)
    val_fraction = check_number("val_fraction", val_fraction, low=0, high=1, low_open=True, high_open=True)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    folds = [(np.asarray(tr, np.int64), np.asarray(te, np.int64)) for tr, te in folds]
    for i, (tr, te) in enumerate(folds):
        if tr.size == 0:
            raise ValueError(f"fold {i} has no training rows")
        if np.intersect1d(tr, te).size:
            raise ValueError(f"fold {i} has rows in both its training and test sets")
        if np.unique(y[tr]).size < 2:
            raise ValueError(f"fold {i}: its training rows hold a single class ({int(y[tr][0])}); a classifier "
                             "needs at least two")
    channels = X.shape[1]
    ids = list(range(len(folds))) if fold_ids is None else [int(i) for i in fold_ids]
    if len(ids) != len(folds):
        raise ValueError(f"fold_ids must give one number per fold ({len(folds)}), got {len(ids)}")
    rngs = [np.random.default_rng([int(seed), i]) for i in ids]
    fit_rows, sel_rows = [], []
    for i, (tr, te) in enumerate(folds):
        if select == "inner":
            a, b = inner_split(tr, groups, y, fraction=val_fraction, rng=rngs[i])
            fit_rows.append(a)
            sel_rows.append(b)
        else:
            fit_rows.append(tr)
            sel_rows.append(te if select == "test_fold" else np.empty(0, np.int64))
    batches = [min(batch_size, len(r)) for r in fit_rows]
    steps = [math.ceil(len(r) / b) for r, b in zip(fit_rows, batches)]
    size = fold_batch if fold_batch is not None else recipe.fold_batch
    size = len(folds) if size is None else check_int("fold_batch", size, low=1)
    key = [(steps[i], batches[i]) for i in range(len(folds))]
    order = sorted(range(len(folds)), key=lambda i: key[i])
    chunks = []
    for k in sorted(set(key)):
        members = [i for i in order if key[i] == k]
        chunks.extend(members[j:j + size] for j in range(0, len(members), size))
    n_jobs = 1 if n_jobs is None else check_int("n_jobs", n_jobs, low=1)
    if progress is not True and progress is not False and not callable(progress):
        raise ValueError(f"progress must be True, False or a callable progress(done, total), got {progress!r}")
    out = FoldFit(proba=[None] * len(folds), epoch=np.zeros(len(folds), np.int64),
                  history={"loss": np.full((epochs, len(folds)), np.nan),
                           "selection": np.full((epochs, len(folds)), np.nan)},
                  test_proba=[None] * len(folds) if record_test else None, states=[None] * len(folds))
    if record_test:
        out.history["test_accuracy"] = np.full((epochs, len(folds)), np.nan)
    total = epochs * len(chunks)
    bar, done = None, [0]
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=f"{model} ({len(folds)} folds)", unit="epoch")

    def tick(n=1):
        done[0] += n
        if bar is not None:
            bar.update(n)
        elif callable(progress):
            progress(done[0], total)

    args = dict(epochs=epochs, lr=lr, weight_decay=weight_decay, select=select, seed=seed, record_test=record_test,
                init_state=init_state, model_kwargs=dict(model_kwargs or {}), channels=channels)
    try:
        if n_jobs == 1 or len(chunks) == 1:
            Xt = torch.from_numpy(np.ascontiguousarray(X))
            yt = torch.from_numpy(y)
            with threads(n_threads):
                for members in chunks:
                    _train_chunk(model, Xt, yt, n_classes, members, folds, fit_rows, sel_rows, rngs,
                                 steps[members[0]], batch_size=batches[members[0]], out=out, tick=tick, **args)
        else:
            from joblib import Parallel, delayed

            jobs = (delayed(_chunk_worker)(model, X, y, n_classes, members, folds, fit_rows, sel_rows,
                                           [rngs[i] for i in members], steps[members[0]], batches[members[0]],
                                           n_threads or 1, args) for members in chunks)
            for members, part in Parallel(n_jobs=min(n_jobs, len(chunks)), return_as="generator_unordered")(jobs):
                _merge(out, part, members)
                tick(epochs)
    finally:
        if bar is not None:
            bar.close()
    out.seconds = time.perf_counter() - t0
    return out


def _chunk_worker(model, X, y, n_classes, members, folds, fit_rows, sel_rows, member_rngs, n_steps, batch_size,
                  n_threads, args):
    """One stacked model in a worker process: its members' results in a FoldFit of their own."""
    rngs = [None] * len(folds)
    for i, r in zip(members, member_rngs):
        rngs[i] = r
    part = FoldFit(proba=[None] * len(folds), epoch=np.zeros(len(folds), np.int64),
                   history={k: np.full((args["epochs"], len(folds)), np.nan)
                            for k in ("loss", "selection") + (("test_accuracy",) if args["record_test"] else ())},
                   test_proba=[None] * len(folds) if args["record_test"] else None, states=[None] * len(folds))
    with threads(n_threads):
        _train_chunk(model, torch.from_numpy(np.array(X)), torch.from_numpy(np.array(y)), n_classes, members,
                     folds, fit_rows, sel_rows, rngs, n_steps, batch_size=batch_size, out=part, tick=None, **args)
    return members, part


def _merge(out, part, members):
    for i in members:
        out.proba[i], out.epoch[i], out.states[i] = part.proba[i], part.epoch[i], part.states[i]
        if out.test_proba is not None:
            out.test_proba[i] = part.test_proba[i]
        for k, v in part.history.items():
            out.history[k][:, i] = v[:, i]


def _train_chunk(name, Xt, yt, n_classes, members, folds, fit_rows, sel_rows, rngs, n_steps, *, epochs, lr,
                 batch_size, weight_decay, select, seed, record_test, init_state, model_kwargs, channels, out, tick):
    F = len(members)
    torch.manual_seed(int(seed))
    net = build_model(name, n_classes, channels=channels, folds=F, seed=seed, **model_kwargs)
    with torch.no_grad():
        for j, i in enumerate(members):
            net.standardise.mean[j], net.standardise.scale[j] = _fit_stats(Xt, torch.as_tensor(fit_rows[i]),
                                                                            channels)
    if init_state is not None:  # transfer: start from these weights; standardise on this fold's rows
        own = net.state_dict()
        start = {k: v for k, v in tile_state(init_state, F).items()
                 if not k.startswith("standardise.") and k in own and own[k].shape == v.shape}
        net.load_state_dict(start, strict=False)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    streams = [_Stream(fit_rows[i], rngs[i]) for i in members]
    test_idx, _m = _pad([folds[i][1] for i in members])
    n_test = [len(folds[i][1]) for i in members]
    sel_idx = None
    if select != "recipe":
        sel_idx, _ = _pad([sel_rows[i] for i in members])
        n_sel = [len(sel_rows[i]) for i in members]
        best_score = np.full(F, -np.inf)
        best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        best_epoch = np.ones(F, np.int64)
    cols = np.asarray(members)
    test_hist = [[] for _ in members] if record_test else None
    for epoch in range(epochs):
        net.train()
        losses = torch.zeros(F)
        for _s in range(n_steps):
            idx = torch.as_tensor(np.stack([st.take(batch_size) for st in streams]))   # (F, B)
            xb = Xt[idx].transpose(0, 1)                                                # (B, F, ...)
            logits = net(xb)                                                            # (B, F, K)
            per = torch.nn.functional.cross_entropy(logits.permute(0, 2, 1), yt[idx].T, reduction="none")
            fold_loss = per.mean(dim=0)                                                 # (F,)
            opt.zero_grad(set_to_none=True)
            fold_loss.sum().backward()
            opt.step()
            losses += fold_loss.detach()
        out.history["loss"][epoch, cols] = (losses / n_steps).numpy()
        if select != "recipe" or record_test:
            net.eval()
            with torch.no_grad():
                if record_test:
                    p = torch.softmax(_forward_rows(net, Xt, test_idx), -1).numpy()     # (m, F, K)
                    for j, i in enumerate(members):
                        pj = p[: n_test[j], j]
                        test_hist[j].append(pj)
                        out.history["test_accuracy"][epoch, i] = (
                            float((pj.argmax(1) == yt[folds[i][1]].numpy()).mean()) if n_test[j] else np.nan)
                if select != "recipe":
                    logits = _forward_rows(net, Xt, sel_idx)                            # (m, F, K)
                    score = np.empty(F)
                    for j, i in enumerate(members):
                        lj = logits[: n_sel[j], j]
                        truth = yt[sel_rows[i]]
                        if select == "inner":
                            score[j] = -float(torch.nn.functional.cross_entropy(lj, truth))
                        else:
                            score[j] = float((lj.argmax(1) == truth).float().mean())
                    out.history["selection"][epoch, cols] = score
                    better = score > best_score if select == "inner" else score >= best_score
                    if better.any():
                        best_score[better] = score[better]
                        best_epoch[better] = epoch + 1
                        _snapshot_into(best_state, net.state_dict(), torch.as_tensor(better), F)
        if tick is not None:
            tick()
    if select != "recipe":
        net.load_state_dict(best_state)
        chosen = best_epoch
    else:
        chosen = np.full(F, epochs)
    net.eval()
    with torch.no_grad():
        p = torch.softmax(_forward_rows(net, Xt, test_idx), -1).numpy()
        state = net.state_dict()
    for j, i in enumerate(members):
        out.proba[i] = p[: n_test[j], j]
        out.epoch[i] = chosen[j]
        out.states[i] = {k: (v.view(F, -1)[j].reshape(-1, *v.shape[1:]).clone() if v.ndim else v.clone())
                         for k, v in state.items()}
        if record_test:
            out.test_proba[i] = np.stack(test_hist[j])
