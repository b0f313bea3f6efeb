"""Recognition metrics: accuracy, per-class precision/recall/F1, macro F1, UF1, UAR.

Every score is computed from two label vectors. In a cross-validation protocol the
predictions of all folds are **pooled** first and the metric is computed once on the
pooled vectors (the convention of the thesis and of MEGC: true positives, false
positives and false negatives are summed over the folds). The mean of per-fold scores is
available as an option (``average="per_fold"``) and is always labelled as such; it is
a different number, usually lower and noisier under LOSO, where a fold is one subject
with a handful of clips.

Definitions, for a class :math:`c` with true positives :math:`TP_c`, false positives
:math:`FP_c` and false negatives :math:`FN_c` (thesis eqs. 3-5):

* precision :math:`P_c = TP_c / (TP_c + FP_c)` (0 when the class is never predicted),
* recall :math:`R_c = TP_c / (TP_c + FN_c)`,
* :math:`F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)`,
* macro F1 :math:`= \\frac{1}{N} \\sum_c F1_c`; weighted macro F1 weights each
  :math:`F1_c` by the class's share of the true labels,
* UF1 (unweighted F1, MEGC) is the macro F1 of the pooled predictions,
* UAR (unweighted average recall, MEGC) :math:`= \\frac{1}{N} \\sum_c R_c` over the
  classes present in the true labels.

The class set :math:`N` of F1 scores is the union of the true and predicted labels unless
``labels`` is given (the scikit-learn convention); UAR averages over the classes of the
true labels.

The majority-class baseline of the thesis (Table 3, "Baseline") follows from class counts
alone: see :func:`baseline_scores`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.utils.validation import check_is_fitted

from .._validate import check_choice

__all__ = [
    "METRICS",
    "confusion_matrix",
    "per_class_scores",
    "accuracy",
    "macro_f1",
    "weighted_f1",
    "uf1",
    "uar",
    "scores",
    "baseline_scores",
    "MajorityClassifier",
]

#: The metrics reported by :func:`scores`, in report order.
METRICS = ("accuracy", "macro_f1", "weighted_f1", "uf1", "uar")


def _labels_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D label vectors, got shapes {t.shape} and {p.shape}")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.size} and {p.size}")
    if t.size == 0:
        raise ValueError("y_true and y_pred are empty; there is nothing to score")
    return t, p


def _class_set(t: np.ndarray, p: np.ndarray, labels) -> np.ndarray:
    if labels is not None:
        labels = np.asarray(list(labels))
        if labels.size == 0:
            raise ValueError("labels is empty; give at least one class")
        return labels
    return np.unique(np.concatenate([t, p]))


def _counts(t, p, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN and support per class of ``labels``."""
    tp = np.array([np.sum((t == c) & (p == c)) for c in labels], dtype=np.int64)
    fp = np.array([np.sum((t != c) & (p == c)) for c in labels], dtype=np.int64)
    fn = np.array([np.sum((t == c) & (p != c)) for c in labels], dtype=np.int64)
    support = tp + fn
    return tp, fp, fn, support


def _ratio(num, den) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def confusion_matrix(y_true, y_pred, *, labels=None) -> pd.DataFrame:
    """Counts of (true, predicted) label pairs.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_samples,)
        True and predicted class labels.
    labels : sequence, optional
        Class order; default the sorted union of the two vectors.

    Returns
    -------
    pandas.DataFrame
        Rows are true classes (index name ``"true"``), columns predicted classes
        (``"predicted"``); entry (i, j) counts samples of class i predicted as j.

    Examples
    --------
    >>> confusion_matrix(["a", "a", "b"], ["a", "b", "b"]).values.tolist()
    [[1, 1], [0, 1]]
    """
    t, p = _labels_pair(y_true, y_pred)
    labels = _class_set(t, p, labels)
    index = {c: i for i, c in enumerate(labels.tolist())}
    m = np.zeros((labels.size, labels.size), dtype=np.int64)
    for a, b in zip(t.tolist(), p.tolist()):
        if a in index and b in index:
            m[index[a], index[b]] += 1
    return pd.DataFrame(m, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted"))


def per_class_scores(y_true, y_pred, *, labels=None) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_samples,)
    labels : sequence, optional
        Classes to report; default the sorted union of the two vectors.

    Returns
    -------
    pandas.DataFrame
        Index: class; columns ``precision``, ``recall``, ``f1``, ``support``, ``tp``,
        ``fp``, ``fn``. A class never predicted has precision 0; a class absent from
        ``y_true`` has recall 0.
    """
    t, p = _labels_pair(y_true, y_pred)
    labels = _class_set(t, p, labels)
    tp, fp, fn, support = _counts(t, p, labels)
    return pd.DataFrame({
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "support": support,
        "tp": tp, "fp": fp, "fn": fn,
    }, index=pd.Index(labels, name="class"))


def accuracy(y_true, y_pred) -> float:
    """Share of samples whose predicted label equals the true one."""
    t, p = _labels_pair(y_true, y_pred)
    return float(np.mean(t == p))


def macro_f1(y_true, y_pred, *, labels=None) -> float:
    """Mean of the per-class F1 scores (thesis eq. 5, macro-averaged)."""
    return float(per_class_scores(y_true, y_pred, labels=labels)["f1"].mean())


def weighted_f1(y_true, y_pred, *, labels=None) -> float:
    """Per-class F1 weighted by each class's share of the true labels."""
    table = per_class_scores(y_true, y_pred, labels=labels)
    total = table["support"].sum()
    if total == 0:
        return 0.0
    return float((table["f1"] * table["support"]).sum() / total)


def uf1(y_true, y_pred, *, labels=None) -> float:
    """Unweighted F1 of MEGC: the macro F1 of the pooled predictions."""
    return macro_f1(y_true, y_pred, labels=labels)


def uar(y_true, y_pred, *, labels=None) -> float:
    """Unweighted average recall of MEGC: the mean recall over the true classes.

    ``labels`` defaults to the classes present in ``y_true`` (a class that is only
    predicted has no recall).
    """
    t, p = _labels_pair(y_true, y_pred)
    labels = np.unique(t) if labels is None else labels
    return float(per_class_scores(t, p, labels=labels)["recall"].mean())


def _score_all(t, p, labels) -> dict[str, float]:
    # UAR averages over true classes only: restrict given labels to those present in t.
    recall_labels = None if labels is None else [c for c in labels if np.any(t == c)] or None
    return {
        "accuracy": accuracy(t, p),
        "macro_f1": macro_f1(t, p, labels=labels),
        "weighted_f1": weighted_f1(t, p, labels=labels),
        "uf1": uf1(t, p, labels=labels),
        "uar": uar(t, p, labels=recall_labels),
    }


def scores(y_true, y_pred, *, labels=None, folds=None, average: str = "pooled") -> dict[str, float]:
    """All metrics of :data:`METRICS` in one dictionary.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_samples,)
    labels : sequence, optional
        Class set for the macro averages (default: union of true and predicted labels;
        per fold, the union within the fold).
    folds : array_like, shape (n_samples,), optional
        Fold of each prediction; needed for ``average="per_fold"``.
    average : {"pooled", "per_fold"}
        ``"pooled"`` (default): one computation on the predictions of all folds
        together. ``"per_fold"``: the metric of each fold, then their mean. Under LOSO
        a fold is one subject, often with a single class, where macro F1 is degenerate;
        prefer the pooled scores for comparisons.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``weighted_f1``, ``uf1``, ``uar``, and
        ``average`` (which of the two averages was used), plus ``n_folds`` for
        ``"per_fold"``.

    Examples
    --------
    >>> s = scores(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> round(s["accuracy"], 2), round(s["macro_f1"], 4)
    (0.75, 0.7333)
    """
    check_choice("average", average, ["pooled", "per_fold"])
    t, p = _labels_pair(y_true, y_pred)
    if average == "pooled":
        out = _score_all(t, p, labels)
        out["average"] = "pooled"
        return out
    if folds is None:
        raise ValueError("average='per_fold' needs folds (the fold of each prediction)")
    f = np.asarray(folds)
    if f.shape != t.shape:
        raise ValueError(f"folds must have one entry per prediction ({t.size}), got shape {f.shape}")
    per = [_score_all(t[f == k], p[f == k], labels) for k in pd.unique(f)]
    out = {m: float(np.mean([s[m] for s in per])) for m in METRICS}
    out["average"] = "per_fold"
    out["n_folds"] = len(per)
    return out


# --------------------------------------------------------------------------- baseline
def _as_counts(class_counts) -> tuple[list, np.ndarray]:
    if isinstance(class_counts, pd.Series):
        names, counts = list(class_counts.index), class_counts.to_numpy()
    elif isinstance(class_counts, Mapping):
        names, counts = list(class_counts.keys()), np.asarray(list(class_counts.values()))
    elif isinstance(class_counts, Sequence) or isinstance(class_counts, np.ndarray):
        counts = np.asarray(class_counts)
        names = list(range(counts.size))
    else:
        raise TypeError(f"class_counts must be a mapping class -> count, a pandas Series or a sequence of counts, "
                        f"got {type(class_counts).__name__}")
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("class_counts must hold one count per class (at least one class)")
    if not np.issubdtype(counts.dtype, np.number) or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError(f"class_counts must be non-negative integers, got {counts.tolist()}")
    counts = counts.astype(np.int64)
    if counts.sum() == 0:
        raise ValueError("class_counts sum to zero; there are no samples")
    return names, counts


def baseline_scores(class_counts) -> dict:
    """Scores of the majority-class dummy classifier, from class counts alone.

    Every sample is predicted as the most frequent class :math:`m`. With :math:`n`
    samples, :math:`n_m` of them in the majority class and :math:`N` classes:

    * accuracy :math:`= n_m / n`,
    * :math:`F1_m = 2 n_m / (n_m + n)` and :math:`F1_c = 0` for the other classes, so
      macro F1 (= UF1) :math:`= F1_m / N`,
    * weighted macro F1 :math:`= (n_m / n) F1_m`,
    * UAR :math:`= 1 / N` (recall 1 for the majority class, 0 elsewhere).

    Classes with a zero count are not counted in :math:`N`.

    Parameters
    ----------
    class_counts : mapping, pandas.Series or sequence of int
        Samples per class. Ties for the majority go to the first class in sorted order
        (as :class:`sklearn.dummy.DummyClassifier` does).

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``weighted_f1``, ``uf1``, ``uar``, ``majority``
        (the predicted class), ``n_samples``, ``n_classes``.

    Examples
    --------
    SMIC-HS (thesis Table 2): the baseline row of thesis Table 3.

    >>> s = baseline_scores({"negative": 70, "positive": 51, "surprise": 43})
    >>> round(s["accuracy"], 4), round(s["macro_f1"], 4)
    (0.4268, 0.1994)
    """
    names, counts = _as_counts(class_counts)
    present = counts > 0
    try:
        order = sorted(range(len(names)), key=lambda i: names[i])
    except TypeError:
        order = list(range(len(names)))
    top = max(counts[i] for i in order)
    majority_pos = next(i for i in order if counts[i] == top)
    n = int(counts.sum())
    n_m = int(counts[majority_pos])
    n_classes = int(present.sum())
    f1_m = 2 * n_m / (n_m + n)
    return {
        "accuracy": n_m / n,
        "macro_f1": f1_m / n_classes,
        "weighted_f1": n_m / n * f1_m,
        "uf1": f1_m / n_classes,
        "uar": 1.0 / n_classes,
        "majority": names[majority_pos],
        "n_samples": n,
        "n_classes": n_classes,
    }


class MajorityClassifier(DummyClassifier):
    """The majority-class dummy classifier (the thesis's Table 3 baseline).

    scikit-learn's :class:`~sklearn.dummy.DummyClassifier` with
    ``strategy="most_frequent"``, under the thesis's name and without parameters:
    ``fit`` remembers the most frequent training label (ties: first in sorted order);
    ``predict`` returns it for every sample. Features are ignored.

    Examples
    --------
    >>> clf = MajorityClassifier().fit([[0], [0], [0]], ["a", "b", "b"])
    >>> clf.predict([[1], [2]]).tolist()
    ['b', 'b']
    """

    # DummyClassifier's parameters, fixed: set on the class so that the estimator has
    # no parameters of its own (get_params() is empty; clone works)
    strategy = "most_frequent"
    constant = None
    random_state = None

    def __init__(self):
        pass

    @property
    def majority_(self):
        """The predicted (most frequent) training label."""
        check_is_fitted(self, "classes_")
        return self.classes_[int(np.argmax(self.class_prior_))]
