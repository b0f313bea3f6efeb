"""Training: one fold or many folds at once, with honest epoch selection by default.

:func:`fit_folds` trains one network per fold of a protocol. The folds are trained
*together*: a fold-stacked model (:mod:`mer_lab.deep.models`) holds every fold's network,
each training step draws one mini-batch per fold from that fold's own training rows, and
the loss is the sum of the folds' mean losses, so every fold's weights get exactly the
gradient they would get alone. Adam works element by element, so its state stays per
fold too. With the same seed, training the folds together or one by one gives the same
networks up to floating-point rounding (exactly the same mini-batches and initial
weights; dropout masks, where a model has dropout, are drawn differently).

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
    passes over the training rows in mini-batches of ``batch_size``."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 0.0


#: Default recipes. STSTNet keeps the scale of its authors' PyTorch code (hundreds of
#: epochs, large mini-batches) with a learning rate that converges in that budget on
#: standardised input; the others are mer_lab's CPU-sized choices.
RECIPES = {
    "ststnet": Recipe(epochs=200, lr=5e-3, batch_size=128),
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
              init_state: dict | None = None, model_kwargs: dict | None = None, progress: bool = False,
              n_threads: int | None = None, fold_ids=None) -> FoldFit:
    """Train one network per fold, all folds together, and predict each fold's test rows.

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
        Override the model's :data:`RECIPES` entry.
    select : {"recipe", "inner", "test_fold"}
        Which epoch predicts (module notes). ``"test_fold"`` selects on the test fold.
    seed : int
        Initial weights (shared by every fold) and each fold's mini-batch order
        (seeded by ``(seed, fold position)``, so a fold trains the same alone or with others).
    fold_batch : int, optional
        At most this many folds in one stacked model (memory); default all.
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
    steps = [math.ceil(len(r) / batch_size) for r in fit_rows]
    size = fold_batch or len(folds)
    order = sorted(range(len(folds)), key=lambda i: steps[i])
    chunks = []
    for s in sorted(set(steps)):
        members = [i for i in order if steps[i] == s]
        chunks.extend(members[k:k + size] for k in range(0, len(members), size))
    Xt = torch.from_numpy(np.ascontiguousarray(X))
    yt = torch.from_numpy(y)
    out = FoldFit(proba=[None] * len(folds), epoch=np.zeros(len(folds), np.int64),
                  history={"loss": np.full((epochs, len(folds)), np.nan),
                           "selection": np.full((epochs, len(folds)), np.nan)},
                  test_proba=[None] * len(folds) if record_test else None, states=[None] * len(folds))
    if record_test:
        out.history["test_accuracy"] = np.full((epochs, len(folds)), np.nan)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * len(chunks), desc=f"{model} ({len(folds)} folds)", unit="epoch")
    with threads(n_threads):
        for members in chunks:
            _train_chunk(model, Xt, yt, n_classes, members, folds, fit_rows, sel_rows, rngs, steps[members[0]],
                         epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay, select=select,
                         seed=seed, record_test=record_test, init_state=init_state,
                         model_kwargs=dict(model_kwargs or {}), channels=channels, out=out, bar=bar)
    if bar is not None:
        bar.close()
    out.seconds = time.perf_counter() - t0
    return out


def _train_chunk(name, Xt, yt, n_classes, members, folds, fit_rows, sel_rows, rngs, n_steps, *, epochs, lr,
                 batch_size, weight_decay, select, seed, record_test, init_state, model_kwargs, channels, out, bar):
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
        if bar is not None:
            bar.update(1)
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
