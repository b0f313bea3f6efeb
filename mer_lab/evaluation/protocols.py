"""Evaluation protocols: LOVO, LOSO, cross-database and the MEGC 2019 composite.

=============  ================================================================================
``"lovo"``     leave one video out: every clip is the test set once (n folds). Subjects
               appear on both sides, so personal traits leak into the score (thesis 4.1.1).
``"loso"``     leave one subject out: all clips of one subject form the test set. Subjects
               are the ``group`` column of the corpus (``"<dataset>/<subject>"``), so a
               composite never merges two datasets' "sub01".
``"cross"``    cross-database: train on whole datasets, test on another whole dataset.
               With ``train``/``test`` given, one split; otherwise leave one dataset out.
``"megc"``     the MEGC 2019 composite protocol: LOSO over all subjects of a composite of
               SMIC, CASME II and SAMM with three classes (negative, positive, surprise);
               UF1 and UAR are reported on the whole composite and on each dataset.
=============  ================================================================================

The splitters are scikit-learn cross-validators (``split(X, y, groups)``), usable with
``cross_val_predict`` or ``GridSearchCV``. :func:`protocol_folds` gives named folds for
a corpus-like set of arrays, and :func:`run_protocol` runs a classifier (with or without
a hyper-parameter search) through a protocol and returns fold-level predictions.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator, LeaveOneGroupOut

from .._validate import check_choice

__all__ = [
    "PROTOCOLS",
    "ProtocolWarning",
    "LeaveOneVideoOut",
    "LeaveOneSubjectOut",
    "CrossDatabase",
    "LeaveOneDatasetOut",
    "make_protocol",
    "protocol_folds",
    "protocol_notes",
    "ProtocolRun",
    "run_protocol",
]

PROTOCOLS = {
    "loso": "leave one subject out",
    "lovo": "leave one video (clip) out",
    "cross": "cross-database (train on whole datasets, test on another)",
    "megc": "MEGC 2019 composite: LOSO over all subjects, 3 classes, UF1/UAR overall and per dataset",
}

MEGC_CLASSES = ("negative", "positive", "surprise")


class ProtocolWarning(UserWarning):
    """The data make part of a protocol degenerate (e.g. a class never seen in training)."""


# =========================================================================== splitters
class LeaveOneVideoOut(BaseCrossValidator):
    """Leave one video (clip) out: n folds, one test sample each.

    Examples
    --------
    >>> [test.tolist() for _, test in LeaveOneVideoOut().split([[0], [1], [2]])]
    [[0], [1], [2]]
    """

    def get_n_splits(self, X=None, y=None, groups=None):
        if X is None:
            raise ValueError("LeaveOneVideoOut needs X (or any sequence of samples) to count the folds")
        return len(X)

    def _iter_test_indices(self, X=None, y=None, groups=None):
        n = len(X)
        if n < 2:
            raise ValueError(f"leave-one-video-out needs at least 2 samples, got {n}")
        yield from range(n)


class LeaveOneSubjectOut(LeaveOneGroupOut):
    """Leave one subject out: the groups are subjects (``corpus.groups``).

    Same folds as :class:`sklearn.model_selection.LeaveOneGroupOut`, with an error that
    says what ``groups`` must hold.
    """

    def split(self, X, y=None, groups=None):
        if groups is None:
            raise ValueError("LOSO needs groups: the subject of each sample (corpus.groups)")
        if np.unique(np.asarray(groups)).size < 2:
            raise ValueError("LOSO needs at least 2 subjects; all samples belong to one subject")
        return super().split(X, y, groups)


class LeaveOneDatasetOut(LeaveOneGroupOut):
    """Cross-database, leave one dataset out: the groups are dataset names."""

    def split(self, X, y=None, groups=None):
        if groups is None:
            raise ValueError("leave-one-dataset-out needs groups: the dataset of each sample")
        names = np.unique(np.asarray(groups))
        if names.size < 2:
            raise ValueError(f"cross-database evaluation needs at least two datasets; all samples come from "
                             f"{names.tolist()}")
        return super().split(X, y, groups)


class CrossDatabase(BaseCrossValidator):
    """Train on some datasets, test on others (one split); groups are dataset names.

    Parameters
    ----------
    train : str or sequence of str
        Training dataset(s).
    test : str or sequence of str, optional
        Test dataset(s); default every dataset not in ``train``.

    Examples
    --------
    >>> cv = CrossDatabase(train="casme2", test="samm")
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split([0, 0, 0], groups=["casme2", "samm", "smic"])]
    [([0], [1])]
    """

    def __init__(self, train, test=None):
        self.train = train
        self.test = test

    @staticmethod
    def _names(value):
        return [value] if isinstance(value, str) else list(value)

    def get_n_splits(self, X=None, y=None, groups=None):
        return 1

    def split(self, X, y=None, groups=None):
        if groups is None:
            raise ValueError("cross-database evaluation needs groups: the dataset of each sample")
        groups = np.asarray(groups)
        present = sorted(np.unique(groups).tolist())
        if len(present) < 2:
            raise ValueError(f"cross-database evaluation needs at least two datasets; all samples come from "
                             f"{present}")
        train = self._names(self.train)
        test = self._names(self.test) if self.test is not None else [d for d in present if d not in train]
        for name in train + test:
            if name not in present:
                raise ValueError(f"dataset {name!r} is not in the data; datasets present: {present}")
        overlap = set(train) & set(test)
        if overlap:
            raise ValueError(f"datasets {sorted(overlap)} are in both train and test")
        if not test:
            raise ValueError(f"no test dataset left: train={train} covers every dataset present ({present})")
        yield (np.flatnonzero(np.isin(groups, train)), np.flatnonzero(np.isin(groups, test)))

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover - split is overridden
        raise NotImplementedError


def make_protocol(name: str, *, train=None, test=None):
    """The scikit-learn splitter of a protocol, and what its ``groups`` must hold.

    Parameters
    ----------
    name : {"loso", "lovo", "cross", "megc"}
        See :data:`PROTOCOLS`.
    train, test : str or sequence of str, optional
        Datasets of ``"cross"``; without them ``"cross"`` is leave one dataset out.

    Returns
    -------
    splitter : sklearn cross-validator
    groups_from : {"subject", "dataset", None}
        What to pass as ``groups`` to ``split``.
    """
    check_choice("protocol", name, list(PROTOCOLS))
    if name in ("loso", "megc"):
        return LeaveOneSubjectOut(), "subject"
    if name == "lovo":
        return LeaveOneVideoOut(), None
    if train is not None:
        return CrossDatabase(train=train, test=test), "dataset"
    if test is not None:
        raise ValueError("cross-database: give train (and optionally test), not test alone")
    return LeaveOneDatasetOut(), "dataset"


def _as_arrays(y, groups, datasets, uids):
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D label vector, got shape {y.shape}")
    n = y.size

    def one(name, value, default):
        if value is None:
            return default
        arr = np.asarray(value)
        if arr.shape != (n,):
            raise ValueError(f"{name} must have one entry per sample ({n}), got shape {arr.shape}")
        return arr

    uids = one("uids", uids, np.array([str(i) for i in range(n)], dtype=object))
    groups = one("groups", groups, None)
    datasets = one("datasets", datasets, None)
    return y, groups, datasets, uids


def protocol_folds(protocol: str, *, y, groups=None, datasets=None, uids=None, train=None,
                   test=None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Named folds ``(name, train_indices, test_indices)`` of a protocol.

    Fold names are the subject group (LOSO, MEGC), the sample uid (LOVO) or the test
    dataset(s) (cross-database).

    Raises
    ------
    ValueError
        When the protocol is impossible for the data (e.g. cross-database with one
        dataset, LOSO without subjects).
    """
    check_choice("protocol", protocol, list(PROTOCOLS))
    y, groups, datasets, uids = _as_arrays(y, groups, datasets, uids)
    splitter, groups_from = make_protocol(protocol, train=train, test=test)
    if groups_from == "subject":
        if groups is None:
            raise ValueError(f"protocol {protocol!r} needs groups (the subject of each sample)")
        g = groups
    elif groups_from == "dataset":
        if datasets is None:
            raise ValueError("cross-database evaluation needs datasets (the dataset of each sample)")
        g = datasets
    else:
        g = None
    folds = []
    dummy = np.zeros((y.size, 1))
    for tr, te in splitter.split(dummy, y, g):
        if groups_from == "subject":
            name = str(g[te[0]])
        elif groups_from == "dataset":
            name = "+".join(sorted(pd.unique(g[te]).astype(str)))
        else:
            name = str(uids[te[0]])
        folds.append((name, np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64)))
    return folds


def protocol_notes(protocol: str, *, y, groups=None, datasets=None, folds=None) -> list[str]:
    """Plain-language notes about what the data do to a protocol.

    * a class with a single sample: whenever it is tested, it is absent from training,
      so it can never be predicted correctly (LOVO, LOSO);
    * a class whose samples all belong to one subject: under LOSO it is never in the
      training set when tested;
    * subjects with one class only: harmless for pooled scores, but their per-fold macro
      F1 is degenerate (relevant to ``average="per_fold"``);
    * cross-database: test classes that the training datasets lack;
    * MEGC: labels other than negative/positive/surprise.
    """
    y, groups, datasets, _ = _as_arrays(y, groups, datasets, None)
    notes = []
    classes, counts = np.unique(y, return_counts=True)
    singles = classes[counts == 1].tolist()
    if singles and protocol in ("lovo", "loso", "megc"):
        notes.append(f"class(es) {singles} have a single sample: when it is tested the class is absent from "
                     "training and cannot be predicted correctly")
    if groups is not None and protocol in ("loso", "megc"):
        confined = []
        for c in classes[counts > 1]:
            subj = np.unique(groups[y == c])
            if subj.size == 1:
                confined.append(f"{c} (only {subj[0]})")
        if confined:
            notes.append("class(es) " + ", ".join(confined) + " occur in one subject only: under LOSO they are "
                         "never in the training set when tested")
        one_class = [g for g in pd.unique(groups) if np.unique(y[groups == g]).size == 1]
        if one_class:
            notes.append(f"{len(one_class)} of {len(pd.unique(groups))} subjects have a single class; fine for "
                         "pooled scores, but their per-fold macro F1 is degenerate (prefer pooled scores)")
    if protocol == "cross" and folds:
        for name, tr, te in folds:
            missing = sorted(set(np.unique(y[te]).tolist()) - set(np.unique(y[tr]).tolist()))
            if missing:
                notes.append(f"test dataset(s) {name}: classes {missing} are absent from the training datasets")
    if protocol == "megc":
        other = sorted(set(classes.tolist()) - set(MEGC_CLASSES))
        if other:
            notes.append(f"MEGC 2019 uses the classes {list(MEGC_CLASSES)}; the labels also hold {other} "
                         f"({_megc_advice(y, datasets)})")
    return notes


def _megc_advice(y, datasets) -> str:
    """What to do about labels outside the MEGC classes, checked against what the mapping would keep."""
    from ..datasets.corpus import class_mapping

    names = [None] * len(y) if datasets is None else list(datasets)
    parts = {d: class_mapping("megc2019", d) for d in set(names)}
    mapped = [parts[d].get(str(label).lower()) for d, label in zip(names, y)]
    kept = [m for m in mapped if m is not None]
    if not kept:
        labels = sorted({str(v) for v in y})
        if all(t.lstrip("+-").isdigit() for t in labels):
            return (f"the labels are integer codes: name them when loading, e.g. load_flow_images(..., "
                    f"label_map='megc2019') for 0 negative, 1 positive, 2 surprise, or relabel with "
                    f"corpus.map_classes({{code: class}}); the 'megc2019' class mapping would keep no sample")
        return ("none of them is an emotion the 'megc2019' class mapping knows, so it would keep no sample: "
                "relabel with corpus.map_classes({label: 'negative' | 'positive' | 'surprise'})")
    counts = {c: kept.count(c) for c in MEGC_CLASSES if c in kept}
    shown = ", ".join(f"{c} {n}" for c, n in counts.items())
    return (f"corpus.map_classes('megc2019') keeps {len(kept)} of {len(mapped)} samples: {shown}"
            + ("; fewer than two classes would be left, so relabel with a dict instead" if len(counts) < 2 else ""))


# =========================================================================== running
@dataclass
class ProtocolRun:
    """Fold-level outcome of :func:`run_protocol`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        One row per (search mode, tested sample): ``uid``, ``dataset``, ``group``,
        ``fold``, ``search``, ``true``, ``predicted``.
    selected : pandas.DataFrame
        Chosen hyper-parameters per (search mode, fold), as JSON.
    search_scores : pandas.DataFrame or None
        Pooled scores of every candidate setting (what ``"thesis"`` selects on).
    notes : list of str
        :func:`protocol_notes` of the run.
    stats : dict
        Fits, reused fits, training sets, seconds.
    """

    predictions: pd.DataFrame
    selected: pd.DataFrame
    search_scores: pd.DataFrame | None
    notes: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def _check_features(X, uids) -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X must be a numeric 2-D array (samples x features): {exc}") from None
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples x features), got shape {X.shape}")
    bad = ~np.isfinite(X)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        listed = ", ".join(str(uids[i]) for i in rows[:5]) + (" ..." if rows.size > 5 else "")
        raise ValueError(f"X contains NaN or infinite values in {rows.size} sample(s) ({listed}); features must "
                         "be finite: fix or drop these samples first")
    huge = np.abs(X) > 1e150  # squaring them (scaling, kernels) overflows float64 to NaN
    if huge.any():
        rows, cols = np.nonzero(huge)
        raise ValueError(f"X holds values beyond 1e150 in {np.unique(rows).size} sample(s) (first: sample "
                         f"{str(uids[rows[0]])!r}, feature column {cols[0]}, value {X[rows[0], cols[0]]:.3g}); scaling "
                         "them overflows to NaN: rescale the features first")
    return X


def _check_two_classes(labels, what: str) -> None:
    """Refuse fewer than two classes: every metric is 1.0 when only one class is tested."""
    present, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
    if present.size < 2:
        held = ", ".join(f"{str(c)!r}: {int(k)}" for c, k in zip(present, counts)) or "no samples"
        raise ValueError(f"{what} hold(s) {present.size} class ({held}); recognition is evaluated on at least two "
                         "classes (with one, every metric is 1.0 whatever the method). Accepted: labels with two "
                         "or more classes, e.g. a corpus mapped to several classes or a cross-database split "
                         "whose test datasets hold several")


def run_protocol(X, y, *, groups=None, datasets=None, uids=None, protocol: str = "loso", train=None, test=None,
                 classifier: str = "svm_poly", search: str = "none", params: Mapping | None = None, grid="auto",
                 preprocessing: str = "standard", fold_transformer=None, metric: str = "macro_f1",
                 n_jobs: int = 1, progress: bool = False, client=None, seed: int = 0,
                 warn: bool = True, inner="auto", prune="auto", report_thesis: bool = False) -> ProtocolRun:
    """Run a classifier through a protocol and return fold-level predictions.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Features; NaN or infinite values are an error naming the samples.
    y : array_like, shape (n_samples,)
        Class labels.
    groups : array_like, shape (n_samples,), optional
        Subject of each sample (``corpus.groups``); required by LOSO, MEGC and nested search.
    datasets : array_like, shape (n_samples,), optional
        Dataset of each sample; required by ``"cross"``.
    uids : array_like, shape (n_samples,), optional
        Sample identifiers for the predictions table.
    protocol : {"loso", "lovo", "cross", "megc"}
    train, test : str or sequence of str, optional
        Datasets of ``"cross"``.
    classifier, search, params, grid, preprocessing, fold_transformer, metric, n_jobs, progress, client, seed
        See :func:`mer_lab.evaluation.search.search_predict`.
    inner, prune, report_thesis
        Nested search options (:func:`mer_lab.evaluation.search.search_predict`).
    warn : bool
        Emit :func:`protocol_notes` as :class:`ProtocolWarning`.

    Returns
    -------
    ProtocolRun

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 3)); y = np.repeat(["a", "b"], 6); g = np.tile(["s1", "s2", "s3"], 4)
    >>> run = run_protocol(X, y, groups=g, protocol="loso", classifier="knn", params={"n_neighbors": 1})
    >>> sorted(run.predictions["fold"].unique())
    ['s1', 's2', 's3']
    """
    from .search import search_predict

    y, groups, datasets, uids = _as_arrays(y, groups, datasets, uids)
    X = _check_features(X, uids)
    if X.shape[0] != y.size:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.size} labels")
    _check_two_classes(y, "y")
    folds = protocol_folds(protocol, y=y, groups=groups, datasets=datasets, uids=uids, train=train, test=test)
    tested_labels = np.concatenate([y[te] for _name, _tr, te in folds]) if folds else y[:0]
    _check_two_classes(tested_labels, f"the test samples of protocol {protocol!r}")
    if search == "nested" and groups is None:
        raise ValueError("search='nested' needs groups (the subject of each sample) for its inner LOSO")
    notes = protocol_notes(protocol, y=y, groups=groups, datasets=datasets, folds=folds)
    if warn:
        for note in notes:
            warnings.warn(note, ProtocolWarning, stacklevel=2)
    inner_groups = groups if groups is not None else np.arange(y.size)
    result = search_predict(X, y, groups=inner_groups, folds=folds, classifier=classifier, search=search,
                            grid=grid, params=params, preprocessing=preprocessing,
                            fold_transformer=fold_transformer, metric=metric, n_jobs=n_jobs, progress=progress,
                            client=client, seed=seed, inner=inner, prune=prune, report_thesis=report_thesis)
    fold_of = np.full(y.size, None, dtype=object)
    for name, _tr, te in folds:
        fold_of[te] = name
    tested = np.flatnonzero(fold_of != None)  # noqa: E711 (elementwise)
    frames = []
    for mode, pred in result.predictions.items():
        frames.append(pd.DataFrame({
            "uid": uids[tested],
            "dataset": datasets[tested] if datasets is not None else "",
            "group": groups[tested] if groups is not None else "",
            "fold": fold_of[tested],
            "search": mode,
            "true": y[tested],
            "predicted": pred[tested],
        }))
    predictions = pd.concat(frames, ignore_index=True)
    return ProtocolRun(predictions=predictions, selected=result.selected, search_scores=result.scores,
                       notes=notes, stats=result.stats)
