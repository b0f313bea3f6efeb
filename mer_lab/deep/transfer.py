"""Transfer learning with what is on this machine: pre-train on one corpus, fine-tune on another.

No pretrained face network can be downloaded here, so the idea is taught with the
synthetic corpus as the source: :func:`pretrain` fits a network on a source corpus's
inputs (for instance the synthetic corpus, or its twin of a real dataset), and
:func:`fine_tune` starts every fold's network of the target from those weights. The
output layer is kept when the class sets have the same size and drawn afresh otherwise;
the input standardisation is always fitted on the target's training rows.
:func:`transfer_experiment` measures fine-tuning against training from scratch under
LOSO on the target with the same recipe.

EVM-magnified input is an option of every method (``params={"evm_alpha": ...}`` of
:func:`mer_lab.evaluation.experiment.compute_features`): :func:`network_inputs` passes it on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import require_torch
from .estimators import DeepClassifier

require_torch()

__all__ = ["network_inputs", "pretrain", "fine_tune", "transfer_experiment"]


def network_inputs(corpus, method: str = "ststnet", *, engine: str = "farneback", evm_alpha: float = 0.0,
                   cache=True, progress: bool = False):
    """``(X, labels, subjects)`` of a corpus for a deep method (EVM first with ``evm_alpha > 0``)."""
    from ..evaluation.experiment import compute_features

    params = {"engine": engine} if method in ("ststnet", "off_apexnet", "cnn_lstm") else {}
    if evm_alpha:
        params["evm_alpha"] = float(evm_alpha)
    X = compute_features(corpus, method, params=params, cache=cache, progress=progress).values
    s = corpus.samples
    return X, s["label"].to_numpy(), s["group"].to_numpy()


def pretrain(X, y, *, model: str = "ststnet", **params) -> DeepClassifier:
    """A network fitted on a source corpus's inputs (``params``: :class:`DeepClassifier`'s)."""
    return DeepClassifier(model, **params).fit(X, y)


def fine_tune(source: DeepClassifier, **params) -> DeepClassifier:
    """An unfitted classifier that starts from ``source``'s trained weights (same model and
    input size; ``params`` override the recipe, e.g. fewer epochs or a lower ``lr``)."""
    if not hasattr(source, "network_"):
        raise ValueError("source must be a fitted DeepClassifier (call pretrain or fit first)")
    base = {k: v for k, v in source.get_params().items() if k in ("model", "size", "channels", "random_state",
                                                                  "n_threads")}
    state = {k: v.detach().clone() for k, v in source.network_.state_dict().items()}
    return DeepClassifier(**{**base, **params, "init_state": state})


def transfer_experiment(source, target, *, model: str = "ststnet", epochs: int = 30, pretrain_epochs: int = 60,
                        lr: float | None = None, seeds=(0,), n_threads: int | None = 1, size: int = 28,
                        batch_size: int | None = None) -> pd.DataFrame:
    """LOSO UF1/UAR on the target: from scratch versus fine-tuned from the source.

    Parameters
    ----------
    source : (X, y)
        Source inputs and labels (the whole source is used for pre-training).
    target : (X, y, groups)
        Target inputs, labels and subjects (leave one subject out).
    epochs : int
        Training epochs on the target, the same for both arms.
    pretrain_epochs : int
        Epochs on the source.
    lr, batch_size, size, n_threads
        Passed to :class:`DeepClassifier` (both arms and the pre-training).

    Returns
    -------
    DataFrame with one row per (arm, seed): ``arm``, ``seed``, ``uf1``, ``uar``, ``accuracy``.
    """
    from ..evaluation.metrics import scores

    Xs, ys = source
    Xt, yt, gt = target
    gt = np.asarray(gt)
    folds = [(np.flatnonzero(gt != g), np.flatnonzero(gt == g)) for g in pd.unique(gt)]
    truth = np.concatenate([np.asarray(yt)[te] for _tr, te in folds])
    rows = []
    for seed in seeds:
        common = dict(size=size, batch_size=batch_size, n_threads=n_threads, random_state=seed, lr=lr)
        src = pretrain(Xs, ys, model=model, epochs=pretrain_epochs, **common)
        arms = {"scratch": DeepClassifier(model, epochs=epochs, **common),
                "fine-tuned": fine_tune(src, epochs=epochs, lr=lr, batch_size=batch_size)}
        for arm, clf in arms.items():
            pred = np.concatenate(clf.fit_predict_folds(Xt, yt, folds, groups=gt))
            s = scores(truth, pred)
            rows.append({"arm": arm, "seed": seed, "uf1": s["uf1"], "uar": s["uar"], "accuracy": s["accuracy"]})
    return pd.DataFrame(rows)
