"""Recognition evaluation: metrics, protocols, classifiers, the thesis's grid search, experiments.

Submodules
----------
metrics
    Accuracy, per-class precision/recall/F1, macro and weighted F1, UF1, UAR, confusion
    matrices, the majority baseline (pooled over folds by default).
protocols
    LOVO, LOSO, cross-database and MEGC 2019 splitters and :func:`run_protocol`.
classifiers
    SVMs, AdaBoost, random forest, k-NN and an extreme learning machine behind
    :func:`make_classifier`.
search
    The thesis's polynomial-SVM grid (fast, exact), "thesis" and nested selection.
experiment
    :func:`compute_features` (cached), :func:`run_experiment`, :func:`table3`.

Submodules are imported on first use, so ``import mer_lab.evaluation`` stays light.
"""

from __future__ import annotations

import importlib

__all__ = [
    "metrics", "protocols", "classifiers", "search", "experiment",
    "scores", "baseline_scores", "run_protocol", "make_classifier", "search_predict",
    "compute_features", "run_experiment", "table3", "Results",
]

_LAZY = {
    "scores": "metrics", "baseline_scores": "metrics", "run_protocol": "protocols",
    "make_classifier": "classifiers", "search_predict": "search", "compute_features": "experiment",
    "run_experiment": "experiment", "table3": "experiment", "Results": "experiment",
}
_SUBMODULES = {"metrics", "protocols", "classifiers", "search", "experiment"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
