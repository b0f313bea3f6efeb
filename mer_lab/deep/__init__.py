"""Deep models on onset-apex optical flow (thesis 3.2.3), on the CPU with PyTorch.

Needs the optional extra ``deep`` (``pip install "mer_lab[deep]"``, which pins the CPU
build of PyTorch); without it, importing this package raises
:class:`DeepLearningUnavailable` (an ImportError) saying how to install it, and the rest
of mer_lab works as before.

Submodules
----------
inputs
    Network inputs from clips (onset -> apex flow of any engine, resized, with strain)
    or from precomputed flow images: :func:`~mer_lab.deep.inputs.flow_maps`.
models
    STSTNet, OFF-ApexNet, a small 3D CNN and a CNN + LSTM, written "fold-stacked": one
    module holds the independent networks of several cross-validation folds.
training
    The training loop (one fold or many folds at once), the recipes, epoch selection.
estimators
    scikit-learn classifiers (:class:`DeepClassifier` and one per model) used by the
    methods registry and the protocols.
transfer
    Pre-training on a source corpus and fine-tuning on a target.
"""

from __future__ import annotations

import importlib

INSTALL_HINT = 'pip install "mer_lab[deep]"'


class DeepLearningUnavailable(ImportError):
    """PyTorch is not installed: the deep models need the optional extra ``deep``."""


def require_torch():
    """Import and return :mod:`torch`, or raise :class:`DeepLearningUnavailable`."""
    try:
        import torch
    except ImportError as exc:
        raise DeepLearningUnavailable(
            f"mer_lab's deep models need PyTorch, which is not installed ({exc}); install the optional "
            f"extra with: {INSTALL_HINT}") from None
    return torch


require_torch()

__all__ = ["DeepLearningUnavailable", "INSTALL_HINT", "require_torch", "inputs", "models", "training",
           "estimators", "transfer", "DeepClassifier", "MODELS", "build_model", "count_parameters"]

_LAZY = {"DeepClassifier": "estimators", "MODELS": "models", "build_model": "models",
         "count_parameters": "models"}
_SUBMODULES = {"inputs", "models", "training", "estimators", "transfer"}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
