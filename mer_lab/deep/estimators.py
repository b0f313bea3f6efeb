"""scikit-learn classifiers around the networks of :mod:`mer_lab.deep.models`.

:class:`DeepClassifier` takes network inputs either shaped ``(n, channels, [time,]
size, size)`` or flattened (``(n, features)``, as the registered methods ``ststnet``,
``off_apexnet``, ``cnn3d`` and ``cnn_lstm`` produce them), and has ``fit``, ``predict``,
``predict_proba`` and ``get_params``. Training is seeded (``random_state``) and
deterministic on the CPU for a given number of threads (``n_threads``); the input
standardisation is fitted on the training rows only.

:meth:`DeepClassifier.fit_predict_folds` trains every fold of a protocol in one call
(:func:`mer_lab.deep.training.fit_folds`); the protocols of
:mod:`mer_lab.evaluation` use it whenever the classifier has it, so
``run_experiment(corpus, "ststnet")`` trains its 68 LOSO folds in one call (``fold_batch`` of them
stacked in one model, ``n_jobs`` worker processes).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from .._validate import check_choice, check_int, describe
from . import require_torch
from .models import MODELS, build_model
from .training import SELECT, fit_folds, threads

torch = require_torch()

__all__ = ["DeepClassifier", "DEFAULT_CHANNELS", "DESCRIPTIONS"]

#: Input channels each model expects by default.
DEFAULT_CHANNELS = {"ststnet": 3, "off_apexnet": 2, "cnn3d": 1, "cnn_lstm": 2}
#: What each model's input holds (for error messages).
DESCRIPTIONS = {"ststnet": "u, v and strain maps", "off_apexnet": "u and v maps",
                "cnn3d": "a sequence of maps (frames: 1 channel, flow: 2)", "cnn_lstm": "per-frame flow maps"}


class DeepClassifier(ClassifierMixin, BaseEstimator):
    """A network of :mod:`mer_lab.deep.models` as a scikit-learn classifier.

    Parameters
    ----------
    model : {"ststnet", "off_apexnet", "cnn3d", "cnn_lstm"}
    size : int
        Side of the square input maps (28 for the published models).
    channels : int, optional
        Input channels (default :data:`DEFAULT_CHANNELS`); with flattened input the
        number of time steps of the sequence models is ``features / (channels*size*size)``.
    epochs, lr, batch_size, weight_decay : optional
        Override the model's recipe (:data:`mer_lab.deep.training.RECIPES`).
    select : {"recipe", "inner", "test_fold"}
        Epoch selection (:mod:`mer_lab.deep.training`). ``"test_fold"`` looks at the
        test labels and exists only to measure that practice: :meth:`fit` refuses it.
    val_fraction : float
        Share of training subjects held out by ``select="inner"``.
    fold_batch : int, optional
        Folds stacked into one model by :meth:`fit_predict_folds` (default the recipe's:
        1 for STSTNet, all for the others).
    random_state : int
        Seed of the initial weights and of the mini-batch order.
    n_threads : int, optional
        torch intra-op threads while training and predicting (default: torch's setting).
    progress : bool or callable
        ``True``: a progress bar over epochs. A callable is called as
        ``progress(done, total)`` after each training epoch (``total`` = epochs x stacked
        models of the run; with ``n_jobs`` > 1, ``epochs`` at a time as each stacked model
        finishes), e.g. to drive a dashboard's progress indicator.
    n_jobs : int, optional
        Worker processes for :meth:`fit_predict_folds` (each with ``n_threads`` threads,
        default 1); ``None``: train in this process. Same results either way.
    init_state : dict, optional
        A ``folds=1`` state dict to start from (see :mod:`mer_lab.deep.transfer`).
    """

    def __init__(self, model: str = "ststnet", *, size: int = 28, channels=None, epochs=None, lr=None,
                 batch_size=None, weight_decay=None, select: str = "recipe", val_fraction: float = 0.2,
                 fold_batch=None, random_state: int = 0, n_threads=None, progress=False,
                 init_state=None, n_jobs=None):
        self.model = model
        self.size = size
        self.channels = channels
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.select = select
        self.val_fraction = val_fraction
        self.fold_batch = fold_batch
        self.random_state = random_state
        self.n_threads = n_threads
        self.progress = progress
        self.init_state = init_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ input
    def _check_params(self):
        check_choice("model", self.model, list(MODELS))
        check_choice("select", self.select, SELECT)
        check_int("size", self.size, low=4, high=512)
        ch = DEFAULT_CHANNELS[self.model] if self.channels is None else check_int("channels", self.channels, low=1)
        return ch

    def _shape(self, X, name="X") -> np.ndarray:
        ch = self._check_params()
        rank = MODELS[self.model].input_rank
        s = int(self.size)
        try:
            X = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array, got {describe(X)}: {exc}") from None
        want = f"{DESCRIPTIONS[self.model]}, {ch} channel(s) of {s} x {s}"
        if X.ndim == 2:
            per = ch * s * s
            if X.shape[1] == 0 or X.shape[1] % per:
                raise ValueError(f"{name} has {X.shape[1]} features per row; model {self.model!r} takes {want}"
                                 f"{'' if rank == 4 else f' = {per} features'} (set channels= and size= to "
                                 "match the input)")
            t = X.shape[1] // per
            if rank == 3 and t != 1:
                raise ValueError(f"{name} has {X.shape[1]} features per row; model {self.model!r} takes {want} = "
                                 f"{per} features (set channels= and size= to match the input)")
            X = X.reshape(len(X), ch, s, s) if rank == 3 else X.reshape(len(X), ch, t, s, s)
        elif X.ndim != rank + 1 or X.shape[1] != ch or X.shape[-2:] != (s, s):
            raise ValueError(f"{name} must have shape (n, {ch}, {'T, ' if rank == 4 else ''}{s}, {s}) for model "
                             f"{self.model!r} ({want}), or be flattened to 2-D; got shape {X.shape}")
        bad = ~np.isfinite(X.reshape(len(X), -1)).all(axis=1)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValueError(f"{name} contains NaN or infinite values in {rows.size} row(s) "
                             f"({rows[:5].tolist()}{' ...' if rows.size > 5 else ''}); the network inputs must be "
                             "finite")
        return X

    def _train_args(self):
        return dict(epochs=self.epochs, lr=self.lr, batch_size=self.batch_size, weight_decay=self.weight_decay,
                    select=self.select, val_fraction=self.val_fraction, seed=int(self.random_state or 0),
                    init_state=self.init_state, model_kwargs={"size": int(self.size)}, progress=self.progress,
                    n_threads=self.n_threads)

    # ------------------------------------------------------------------ scikit-learn API
    def fit(self, X, y, groups=None):
        """Train on all rows of ``X`` (``groups``: subjects, for ``select="inner"``)."""
        if self.select == "test_fold":
            raise ValueError("select='test_fold' picks the epoch on the test fold's own labels, which fit() "
                             "never sees; it exists to measure that practice with fit_predict_folds (the "
                             "protocols call it). Use select='recipe' or 'inner'")
        X = self._shape(X)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must hold one label per row of X ({len(X)}), got shape {y.shape}")
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        if self.classes_.size < 2:
            raise ValueError(f"y holds a single class ({self.classes_[0]!r}); a classifier needs at least two")
        codes = self._encoder.transform(y)
        res = fit_folds(self.model, X, codes, [(np.arange(len(X)), np.empty(0, np.int64))],
                        n_classes=self.classes_.size, groups=groups, **self._train_args())
        self.network_ = build_model(self.model, self.classes_.size, channels=X.shape[1], folds=1,
                                    seed=int(self.random_state or 0), size=int(self.size))
        self.network_.load_state_dict(res.states[0])
        self.network_.eval()
        self.history_ = res.history
        self.epoch_ = int(res.epoch[0])
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = self._shape(X)
        out = []
        with threads(self.n_threads), torch.no_grad():
            for s in range(0, len(X), 256):
                xb = torch.from_numpy(np.ascontiguousarray(X[s:s + 256]))[:, None]
                out.append(torch.softmax(self.network_(xb)[:, 0], -1).numpy())
        return np.concatenate(out) if out else np.empty((0, self.classes_.size))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def fit_predict_folds(self, X, y, folds, *, groups=None, return_fit: bool = False):
        """Train one network per fold, in one call, and predict each fold's test rows.

        Parameters
        ----------
        X : array_like
            Inputs of every sample (flattened or shaped).
        y : array_like, shape (n_samples,)
            Labels of every sample. Only the training rows of a fold train its network;
            the test rows' labels are read only with ``select="test_fold"``.
        folds : sequence of (train_rows, test_rows)
        groups : array_like, optional
            Subjects (the inner split of ``select="inner"``).
        return_fit : bool
            Also return the :class:`~mer_lab.deep.training.FoldFit` (histories, epochs).

        Returns
        -------
        list of ndarray
            Each fold's predicted labels for its test rows. A fold whose training rows
            hold one class predicts that class (as the protocols do for every classifier).
        """
        self._check_params()
        X = self._shape(X)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must hold one label per row of X ({len(X)}), got shape {y.shape}")
        classes, codes = np.unique(y, return_inverse=True)
        folds = [(np.asarray(tr, np.int64), np.asarray(te, np.int64)) for tr, te in folds]
        trainable = [i for i, (tr, _te) in enumerate(folds) if np.unique(codes[tr]).size >= 2]
        preds = [np.full(te.size, classes[codes[tr][0]] if tr.size else classes[0], dtype=classes.dtype)
                 for tr, te in folds]
        res = None
        if trainable:
            args = self._train_args()
            res = fit_folds(self.model, X, codes, [folds[i] for i in trainable], n_classes=classes.size,
                            groups=groups, fold_batch=self.fold_batch, n_jobs=self.n_jobs, **args)
            for k, i in enumerate(trainable):
                preds[i] = classes[res.proba[k].argmax(axis=1)] if len(folds[i][1]) else preds[i][:0]
        self.classes_ = classes
        return (preds, res) if return_fit else preds
