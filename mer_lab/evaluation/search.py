"""Hyper-parameter search under a cross-validation protocol: the thesis grid, fast.

The thesis (section 4.2.4) tunes an SVM with the polynomial kernel
:math:`K(x, y) = (\\gamma x^T y + coef)^{degree}` over degree 2..5, coef 0..3,
C in {0.1, 1, 10, 100} and gamma 0.01..1 in steps of 0.01 (0.1 for the large LBP-TOP and
Sparse MDMO features): 6,400 settings, each scored by the macro F1 of its pooled LOSO
predictions. Three ways of choosing a setting are offered:

``"nested"`` (the default)
    For every outer fold, an inner cross-validation over the training subjects only
    (leave one subject out up to 20 training subjects, grouped 5-fold above) picks the
    setting, which is then refitted on the whole training part and applied to the
    held-out fold. This is the honest estimate. On grids with more than ten gammas (the
    thesis grid has 100) the inner search is pruned coarse-to-fine by a stated rule:
    every setting at the ten coarse gammas 0.1, 0.2, ..., 1.0 (640 of 6,400), then the
    finer gammas between the best one's coarse neighbours (76 more). ``report_thesis``
    adds the ``"thesis"`` selection (one full-grid pass over the outer folds), so
    reports can show both and the gap.
``"thesis"``
    The setting with the best pooled score over the protocol's own test folds. This is
    what the thesis reports, and it is **optimistic**: the test subjects' labels choose
    the hyper-parameters (see Varanka et al. 2022, "Data leakage and evaluation issues
    in micro-expression analysis"). Use it to reproduce the thesis, next to nested.
``"none"``
    No search: the given parameters.

How the grid is made fast
-------------------------
* The Gram matrix :math:`G = Z Z^T` of the (fold-scaled) features is computed once per
  training set; every kernel of the grid is then an elementwise function of it,
  :math:`(\\gamma G + coef)^{degree}`, evaluated with the same sequence of
  multiplications libsvm uses, and given to libsvm as a precomputed kernel (the same
  library :class:`sklearn.svm.SVC` calls, with its default settings).
* Identical training sets are fitted once: in nested LOSO the inner fold "train without
  subjects j and k" occurs twice (outer k, inner j and outer j, inner k).
* The libsvm fits dominate the cost (a 430-sample fit takes about 4 ms, its kernel
  about 0.1 ms per degree), so nested search saves fits: the coarse-to-fine rule above
  evaluates 716 of the 6,400 settings, the outer folds refit only the chosen setting,
  and large corpora use 5 inner folds rather than one per subject.
* Values of C that cannot change the solution are fitted once. SMO starts at
  :math:`\\alpha = 0` and never increases the dual objective
  :math:`f(\\alpha) = \\frac12 \\alpha^T Q \\alpha - e^T \\alpha`, so every iterate has
  :math:`\\lambda_{min} \\|\\alpha\\|^2 \\le 2 e^T \\alpha`, i.e. it lies in the ball
  :math:`\\|\\alpha - e / \\lambda_{min}\\| \\le \\sqrt{l} / \\lambda_{min}` and
  :math:`\\alpha_i \\le (1 + \\sqrt{l}) / \\lambda_{min}`. When that bound is below C
  the box constraint is never touched and libsvm takes the very same steps for every
  larger C. :math:`\\lambda_{min}` of the kernel is bounded from below without an
  eigen-decomposition per setting: the kernel expands into
  :math:`\\sum_k \\binom{d}{k} coef^{d-k} \\gamma^k G^{\\circ k}` (Hadamard powers,
  each positive semi-definite by Schur's theorem), so
  :math:`\\lambda_{min} \\ge \\sum_k \\binom{d}{k} coef^{d-k} \\gamma^k \\lambda_{min}(G^{\\circ k})`
  with one small eigen-decomposition per power and training set. A margin covers
  libsvm's single-precision kernel cache and rounding. On z-scored 72-d features this
  removes about two thirds of the fits.
* Training sets are processed in parallel with joblib (threads: libsvm releases the
  GIL; processes when a fold stage such as Sparse MDMO's dictionary is fitted in every
  training set), or on a Dask cluster through joblib's ``"dask"`` backend.

Predictions are those of ``SVC(kernel="poly", degree=d, coef0=coef, gamma=g, C=C)``
fitted on the same scaled training rows (tested for exact equality on small grids).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

from .._validate import check_choice, check_int
from .classifiers import CLASSIFIERS, default_param_grid, make_classifier

__all__ = [
    "SEARCHES",
    "PREPROCESSING",
    "SELECTION_METRICS",
    "PolyGrid",
    "poly_grid",
    "thesis_gammas",
    "make_preprocessor",
    "poly_grid_predictions",
    "estimator_grid_predictions",
    "batch_scores",
    "SearchResult",
    "search_predict",
    "LongRunWarning",
    "estimate_seconds",
]

SEARCHES = ("nested", "thesis", "none")
PREPROCESSING = ("standard", "minmax", "l2", "none")
SELECTION_METRICS = ("macro_f1", "accuracy", "uar")

THESIS_DEGREES = (2, 3, 4, 5)
THESIS_COEFS = (0.0, 1.0, 2.0, 3.0)
THESIS_CS = (0.1, 1.0, 10.0, 100.0)

# libsvm defaults used by sklearn's SVC
_TOL = 1e-3
_CACHE_MB = 200.0
# Safety margins of the C-collapse bound (float32 kernel cache, rounding of the gradient).
_BOUND_SAFETY = 1.5
_FLOAT32_EPS = 2.0 ** -24


# =========================================================================== grids
def thesis_gammas(step: float = 0.01) -> np.ndarray:
    """Gamma values of the thesis grid: ``step, 2*step, ..., 1`` (0.01 -> 100 values)."""
    n = int(round(1.0 / step))
    if n < 1 or not math.isclose(n * step, 1.0, rel_tol=1e-9):
        raise ValueError(f"step must divide 1 (e.g. 0.01 or 0.1), got {step!r}")
    return np.round(np.arange(1, n + 1) * step, 12)


@dataclass(frozen=True)
class PolyGrid:
    """A grid of polynomial-kernel SVM settings (every combination of the four axes).

    Settings are ordered degree-major, then coef, gamma and C (all ascending); this order
    breaks ties between equally good settings (the first wins).
    """

    degrees: tuple = THESIS_DEGREES
    coefs: tuple = THESIS_COEFS
    gammas: tuple = tuple(thesis_gammas(0.01))
    Cs: tuple = THESIS_CS

    def __post_init__(self):
        for name in ("degrees", "coefs", "gammas", "Cs"):
            values = tuple(getattr(self, name))
            if not values:
                raise ValueError(f"PolyGrid.{name} is empty")
            object.__setattr__(self, name, values)
        for d in self.degrees:
            check_int("degree", d, low=1)
        if any(not np.isfinite(g) or g <= 0 for g in self.gammas):
            raise ValueError(f"gammas must be positive, got {self.gammas}")
        if any(not np.isfinite(c) or c <= 0 for c in self.Cs):
            raise ValueError(f"Cs must be positive, got {self.Cs}")
        if any(not np.isfinite(c) for c in self.coefs):
            raise ValueError(f"coefs must be finite, got {self.coefs}")

    @property
    def n_settings(self) -> int:
        return len(self.degrees) * len(self.coefs) * len(self.gammas) * len(self.Cs)

    def settings(self) -> pd.DataFrame:
        """One row per setting, columns degree, coef, gamma, C, in grid order."""
        d, c, g, C = np.meshgrid(self.degrees, self.coefs, self.gammas, self.Cs, indexing="ij")
        return pd.DataFrame({"degree": d.ravel().astype(int), "coef": c.ravel().astype(float),
                             "gamma": g.ravel().astype(float), "C": C.ravel().astype(float)})

    def index(self, degree, coef, gamma, C) -> int:
        """Position of a setting in grid order."""
        i = [self.degrees.index(degree), self.coefs.index(coef), self.gammas.index(gamma), self.Cs.index(C)]
        n = [len(self.degrees), len(self.coefs), len(self.gammas), len(self.Cs)]
        return ((i[0] * n[1] + i[1]) * n[2] + i[2]) * n[3] + i[3]


_NAMED_GRIDS = {
    "thesis": lambda: PolyGrid(),
    "thesis_coarse": lambda: PolyGrid(gammas=tuple(thesis_gammas(0.1))),
    "small": lambda: PolyGrid(degrees=(2, 3), coefs=(0.0, 1.0), gammas=(0.01, 0.1, 0.5, 1.0), Cs=(0.1, 1.0, 10.0)),
}


def poly_grid(grid="thesis", *, n_features: int | None = None) -> PolyGrid:
    """Resolve a grid name or mapping into a :class:`PolyGrid`.

    Parameters
    ----------
    grid : str, mapping or PolyGrid
        ``"thesis"`` (6,400 settings, gamma step 0.01), ``"thesis_coarse"`` (640
        settings, gamma step 0.1: the thesis's grid for the large LBP-TOP and Sparse
        MDMO features), ``"small"`` (48 settings, for demonstrations), ``"auto"``
        (``"thesis_coarse"`` when ``n_features`` > 1000, else ``"thesis"``), or a
        mapping with keys among degrees, coefs, gammas, Cs (missing axes take the thesis
        values).
    n_features : int, optional
        Feature dimension, used by ``"auto"``.

    Examples
    --------
    >>> poly_grid("thesis").n_settings, poly_grid("thesis_coarse").n_settings
    (6400, 640)
    """
    if isinstance(grid, PolyGrid):
        return grid
    if isinstance(grid, Mapping):
        unknown = set(grid) - {"degrees", "coefs", "gammas", "Cs"}
        if unknown:
            raise ValueError(f"grid has unknown keys {sorted(unknown)}; use degrees, coefs, gammas, Cs")
        return PolyGrid(**{k: tuple(v) for k, v in grid.items()})
    check_choice("grid", grid, ["auto", *_NAMED_GRIDS])
    if grid == "auto":
        grid = "thesis_coarse" if (n_features or 0) > 1000 else "thesis"
    return _NAMED_GRIDS[grid]()


# =========================================================================== preprocessing
def make_preprocessor(preprocessing: str = "standard", fold_transformer=None):
    """The per-fold preprocessing pipeline (fitted on training rows only).

    Parameters
    ----------
    preprocessing : {"standard", "minmax", "l2", "none"}
        ``"standard"``: z-score each feature with the training rows' mean and standard
        deviation (the default; fold-correct). ``"minmax"``: scale each feature to
        [0, 1] on the training rows. ``"l2"``: divide each sample by its Euclidean norm
        (per sample, nothing is fitted; suits histogram features). ``"none"``: raw features.
    fold_transformer : sklearn transformer, optional
        A stage that learns from the training rows (e.g. Sparse MDMO's dictionary),
        cloned and fitted in every fold before the scaling.

    Returns
    -------
    sklearn transformer or None
        ``None`` when there is nothing to do.
    """
    check_choice("preprocessing", preprocessing, PREPROCESSING)
    steps = []
    if fold_transformer is not None:
        steps.append(clone(fold_transformer))
    if preprocessing == "standard":
        steps.append(StandardScaler())
    elif preprocessing == "minmax":
        steps.append(MinMaxScaler())
    elif preprocessing == "l2":
        steps.append(Normalizer())
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else make_pipeline(*steps)


def _transform(prep, X_train, y_train, X_test):
    if prep is None:
        return X_train, X_test
    Z_train = prep.fit_transform(X_train, y_train)
    Z_test = prep.transform(X_test) if len(X_test) else np.empty((0, Z_train.shape[1]))
    return np.asarray(Z_train, dtype=np.float64), np.asarray(Z_test, dtype=np.float64)


# =========================================================================== libsvm access
def _libsvm():
    try:
        from sklearn.svm import _libsvm as lib

        lib.set_verbosity_wrap(0)
        return lib
    except Exception:  # pragma: no cover - a future scikit-learn without the module
        return None


class _PrecomputedSVM:
    """Fit/predict a C-SVC on a precomputed kernel exactly as ``SVC(kernel="precomputed")``.

    Calls libsvm through scikit-learn's low-level binding with SVC's default arguments
    (saving the estimator's validation overhead); falls back to ``SVC`` itself when the
    binding is unavailable.
    """

    def __init__(self, n_classes: int):
        self.lib = _libsvm()
        self.class_weight = np.ones(n_classes, dtype=np.float64)
        self.empty = np.empty(0, dtype=np.float64)

    def fit_predict(self, K_train, y_train_f, C, K_test) -> np.ndarray:
        if self.lib is not None:
            try:
                sup, sv, nsv, dual, intercept, pa, pb, _status, _it = self.lib.fit(
                    K_train, y_train_f, svm_type=0, kernel="precomputed", C=float(C), tol=_TOL,
                    cache_size=_CACHE_MB, class_weight=self.class_weight, sample_weight=self.empty,
                    shrinking=1, probability=0, degree=3, gamma=0.0, coef0=0.0, nu=0.5, epsilon=0.0,
                    max_iter=-1, random_seed=0)
                if len(K_test) == 0:
                    return np.empty(0, dtype=np.int64)
                pred = self.lib.predict(K_test, sup, sv, nsv, dual, intercept, pa, pb, svm_type=0,
                                        kernel="precomputed", degree=3, gamma=0.0, coef0=0.0,
                                        cache_size=_CACHE_MB)
                return pred.astype(np.int64)
            except TypeError:  # pragma: no cover - binding signature changed
                self.lib = None
        from sklearn.svm import SVC

        model = SVC(kernel="precomputed", C=float(C)).fit(K_train, y_train_f.astype(np.int64))
        if len(K_test) == 0:
            return np.empty(0, dtype=np.int64)
        return model.predict(K_test).astype(np.int64)


def _powi_chain(B: np.ndarray, degrees: Sequence[int]) -> dict[int, np.ndarray]:
    """``B ** d`` for each d, with libsvm's ``powi`` multiplication order (bitwise equal)."""
    out = {}
    for d in sorted(set(degrees)):
        tmp = B
        ret = None
        t = d
        while t > 0:
            if t % 2 == 1:
                ret = tmp if ret is None else ret * tmp
            t //= 2
            if t > 0:
                tmp = tmp * tmp
        out[d] = np.ascontiguousarray(ret if ret is not None else np.ones_like(B))
    return out


def _hadamard_eigen_floor(G: np.ndarray, max_power: int) -> np.ndarray:
    """Lower bounds of the smallest eigenvalue of the Hadamard powers G, G**2, ... (index 0: power 0)."""
    lam = np.zeros(max_power + 1)
    P = np.ones_like(G)
    for k in range(1, max_power + 1):
        P = P * G
        w = np.linalg.eigvalsh(P)
        slack = 1e-9 * max(abs(w[-1]), abs(w[0])) + 1e-300
        lam[k] = max(w[0] - slack, 0.0)  # PSD by Schur's theorem: clamp rounding noise
    return lam


def _kernel_floor(lam_powers: np.ndarray, degree: int, coef: float, gamma: float) -> float:
    """Lower bound of lambda_min((gamma G + coef) ** degree) from the Hadamard-power floors."""
    if coef < 0:
        return 0.0
    total = 0.0
    for k in range(1, degree + 1):
        total += math.comb(degree, k) * coef ** (degree - k) * gamma ** k * lam_powers[k]
    return total


def _pair_size(y_codes: np.ndarray) -> int:
    counts = np.sort(np.bincount(y_codes))[::-1]
    return int(counts[0] + (counts[1] if counts.size > 1 else 0))


def _poly_task(X, y_codes, train, test, grid: PolyGrid, preprocessing, fold_transformer,
               collapse: bool) -> tuple[np.ndarray, dict]:
    """All grid predictions for one training set: array (n_settings, len(test)) of class codes."""
    X_tr, X_te = X[train], X[test]
    y_tr = y_codes[train]
    prep = make_preprocessor(preprocessing, fold_transformer)
    Z_tr, Z_te = _transform(prep, X_tr, y_tr, X_te)
    n_set = grid.n_settings
    out = np.empty((n_set, len(test)), dtype=np.int16)
    stats = {"fits": 0, "reused": 0}
    present = np.unique(y_tr)
    if present.size < 2:  # libsvm needs two classes; every setting predicts the only one
        out[:] = present[0]
        stats["single_class"] = 1
        return out, stats
    # Encode the training labels as libsvm sees them from SVC: 0..k-1 over the classes present.
    local = np.searchsorted(present, y_tr).astype(np.float64)
    svm = _PrecomputedSVM(present.size)
    G_tr = Z_tr @ Z_tr.T
    G_te = Z_te @ Z_tr.T
    l_pair = _pair_size(np.searchsorted(present, y_tr))
    lam = _hadamard_eigen_floor(G_tr, max(grid.degrees)) if collapse else None
    max_diag_G = float(np.max(np.diag(G_tr))) if len(G_tr) else 0.0
    Cs = np.asarray(grid.Cs, dtype=float)
    order = np.argsort(Cs, kind="stable")
    n_g, n_C, n_c = len(grid.gammas), len(grid.Cs), len(grid.coefs)
    for ic, coef in enumerate(grid.coefs):
        for ig, gamma in enumerate(grid.gammas):
            B_tr = gamma * G_tr + coef
            B_te = gamma * G_te + coef
            K_trs = _powi_chain(B_tr, grid.degrees)
            K_tes = _powi_chain(B_te, grid.degrees)
            for idg, degree in enumerate(grid.degrees):
                K_tr, K_te = K_trs[degree], K_tes[degree]
                threshold = np.inf
                if collapse:
                    floor = _kernel_floor(lam, degree, coef, gamma)
                    # single-precision kernel cache: ||Q32 - Q||_2 <= eps32 * l * max|K| (K is PSD)
                    max_k = abs(gamma * max_diag_G + coef) ** degree
                    floor -= 2.0 * _FLOAT32_EPS * len(K_tr) * max_k
                    if floor > 0:
                        threshold = _BOUND_SAFETY * (1.0 + math.sqrt(l_pair)) / floor
                base = ((idg * n_c + ic) * n_g + ig) * n_C
                shared = None
                for iC in order:
                    C = Cs[iC]
                    if shared is not None:
                        out[base + iC] = shared
                        stats["reused"] += 1
                        continue
                    pred = svm.fit_predict(K_tr, local, C, K_te)
                    stats["fits"] += 1
                    out[base + iC] = present[pred]
                    if C > threshold:
                        shared = out[base + iC]
    return out, stats


def _estimator_task(X, y_codes, train, test, classifier, settings, preprocessing, fold_transformer,
                    random_state) -> tuple[np.ndarray, dict]:
    X_tr, X_te = X[train], X[test]
    y_tr = y_codes[train]
    prep = make_preprocessor(preprocessing, fold_transformer)
    Z_tr, Z_te = _transform(prep, X_tr, y_tr, X_te)
    out = np.empty((len(settings), len(test)), dtype=np.int16)
    present = np.unique(y_tr)
    for s, params in enumerate(settings):
        if present.size < 2 and classifier not in ("majority", "knn"):
            out[s] = present[0]
            continue
        est = make_classifier(classifier, random_state=random_state, **params)
        est.fit(Z_tr, y_tr)
        out[s] = est.predict(Z_te) if len(test) else np.empty(0)
    return out, {"fits": len(settings), "reused": 0}


@contextlib.contextmanager
def _single_threaded_blas(active: bool):
    if not active:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1):
        yield


def _run_tasks(fn: Callable, tasks: list[tuple], *, n_jobs: int, progress: bool, desc: str, client=None,
               prefer: str = "threads"):
    """Run ``fn(*task)`` for every task with joblib (threads, or processes when asked), or on a Dask cluster."""
    from joblib import Parallel, delayed, parallel_config

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=desc, unit="fold")
    results = []
    backend = contextlib.nullcontext()
    if client is not None:
        backend = parallel_config(backend="dask", client=client)
    # The matrices are small: multi-threaded BLAS only adds contention (and is very slow
    # on a loaded machine), so every task runs single-threaded BLAS.
    with backend, _single_threaded_blas(True):
        runner = Parallel(n_jobs=n_jobs if client is None else -1, prefer=prefer if client is None else "threads",
                          return_as="generator")
        for res in runner(delayed(fn)(*t) for t in tasks):
            results.append(res)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return results


def _dedupe(requests: Sequence[tuple[np.ndarray, np.ndarray]], stage_of=None):
    """Group requests by identical training set (and fold stage, when ``stage_of`` gives one
    per request); each group predicts the union of its test rows."""
    groups: dict[tuple, dict] = {}
    for r, (train, test) in enumerate(requests):
        train = np.asarray(train, dtype=np.int64)
        key = (None if stage_of is None else id(stage_of[r]), np.sort(train).tobytes())
        g = groups.setdefault(key, {"train": np.sort(train), "tests": [], "members": []})
        g["tests"].append(np.asarray(test, dtype=np.int64))
        g["members"].append(r)
    unique = []
    for g in groups.values():
        union = np.unique(np.concatenate(g["tests"])) if g["tests"] else np.empty(0, np.int64)
        unique.append((g["train"], union, g["members"], g["tests"]))
    return unique


def _split_results(unique, results, n_requests: int):
    per_request: list[np.ndarray | None] = [None] * n_requests
    for (train, union, members, tests), (preds, _stats) in zip(unique, results):
        pos = {int(i): j for j, i in enumerate(union)}
        for r, test in zip(members, tests):
            cols = np.array([pos[int(i)] for i in test], dtype=np.int64)
            per_request[r] = preds[:, cols]
    return per_request


def _check_requests(X, y_codes, requests):
    n = len(X)
    for r, (train, test) in enumerate(requests):
        train = np.asarray(train)
        test = np.asarray(test)
        if train.size == 0:
            raise ValueError(f"request {r} has an empty training set")
        if np.intersect1d(train, test).size:
            raise ValueError(f"request {r} has rows in both its training and test sets")
        if train.max() >= n or (test.size and test.max() >= n):
            raise ValueError(f"request {r} indexes rows beyond the {n} samples")


def _stages_per_request(fold_transformer, n_requests: int) -> list:
    if isinstance(fold_transformer, (list, tuple)):
        if len(fold_transformer) != n_requests:
            raise ValueError(f"fold_transformer is a list of {len(fold_transformer)} stages; give one per request "
                             f"({n_requests}) or a single stage")
        return list(fold_transformer)
    return [fold_transformer] * n_requests


def _fit_stage(stage, X_train):
    return clone(stage).fit(X_train)


def _outer_stages(X, folds, fold_transformer, *, n_jobs, client):
    """One fitted fold stage per outer fold, for stages that can serve their inner folds.

    A fold stage with a ``nested_view()`` method (Sparse MDMO's dictionary) is fitted once
    on every outer training part (never on the outer test rows); the views of that fit
    then serve the fold's inner training sets and its outer refit, instead of a new fit
    per inner training set. Returns None for other stages (refitted in every training set).
    """
    if fold_transformer is None or isinstance(fold_transformer, (list, tuple)) \
            or not callable(getattr(fold_transformer, "nested_view", None)):
        return None
    tasks = [(fold_transformer, X[tr]) for _name, tr, _te in folds]
    prefer = "processes" if n_jobs != 1 and len(tasks) > 1 else "threads"
    fitted = _run_tasks(_fit_stage, tasks, n_jobs=n_jobs, progress=False, desc="fold stages", client=client,
                        prefer=prefer)
    return [f.nested_view() for f in fitted]


def poly_grid_predictions(X, y_codes, requests, *, grid="thesis", preprocessing: str = "standard",
                          fold_transformer=None, n_jobs: int = 1, progress: bool = False, client=None,
                          collapse: bool = True) -> tuple[list[np.ndarray], dict]:
    """Predictions of every polynomial-SVM setting of a grid for a list of train/test requests.

    Parameters
    ----------
    X : ndarray, shape (n_samples, n_features)
        Finite features.
    y_codes : ndarray of int, shape (n_samples,)
        Class codes 0..n_classes-1.
    requests : sequence of (train_indices, test_indices)
        Each request trains on its training rows and predicts its test rows; requests
        with the same training set share their fits.
    grid : str, mapping or PolyGrid
        See :func:`poly_grid`.
    preprocessing, fold_transformer
        See :func:`make_preprocessor` (fitted on each training set). ``fold_transformer``
        may also be a list with one stage per request (the nested search passes each
        outer fold's :meth:`nested_view` to its inner folds).
    n_jobs : int
        Parallel training sets (joblib threads; -1 for all cores).
    progress : bool
        Show a progress bar over training sets.
    client : dask.distributed.Client, optional
        Run the training sets on this Dask cluster (joblib's ``"dask"`` backend).
    collapse : bool
        Fit values of C that provably give identical solutions only once (see the
        module notes); ``False`` fits every setting.

    Returns
    -------
    predictions : list of ndarray, shape (n_settings, len(test)) per request
        Class codes.
    stats : dict
        ``fits`` (libsvm trainings run), ``reused`` (settings answered by the C bound),
        ``training_sets`` (unique training sets), ``settings``.
    """
    grid = poly_grid(grid, n_features=np.shape(X)[1])
    X = np.asarray(X, dtype=np.float64)
    y_codes = np.asarray(y_codes, dtype=np.int64)
    _check_requests(X, y_codes, requests)
    stage_of = _stages_per_request(fold_transformer, len(requests))
    unique = _dedupe(requests, stage_of)
    tasks = [(X, y_codes, train, test, grid, preprocessing, stage_of[m[0]], collapse)
             for train, test, m, _t in unique]
    # a fold stage (e.g. Sparse MDMO's dictionary) is Python-heavy: processes run it in parallel
    has_stage = any(t is not None for t in stage_of)
    prefer = "processes" if has_stage and n_jobs != 1 and len(tasks) > 1 else "threads"
    results = _run_tasks(_poly_task, tasks, n_jobs=n_jobs, progress=progress, desc="SVM grid", client=client,
                         prefer=prefer)
    stats = {"fits": sum(s["fits"] for _p, s in results), "reused": sum(s["reused"] for _p, s in results),
             "training_sets": len(unique), "settings": grid.n_settings}
    return _split_results(unique, results, len(requests)), stats


def estimator_grid_predictions(X, y_codes, requests, *, classifier: str, settings: Sequence[Mapping],
                               preprocessing: str = "standard", fold_transformer=None, n_jobs: int = 1,
                               progress: bool = False, client=None, random_state=0, groups=None):
    """Like :func:`poly_grid_predictions` for any classifier of :func:`make_classifier`
    and a list of parameter settings (one fit per setting and training set).

    A classifier with ``fit_predict_folds`` (the networks of :mod:`mer_lab.deep`) trains
    all requests together in one call when there is one setting, no preprocessing and
    no fold stage; ``groups`` (subjects) reach its inner validation split."""
    X = np.asarray(X, dtype=np.float64)
    y_codes = np.asarray(y_codes, dtype=np.int64)
    _check_requests(X, y_codes, requests)
    stage_of = _stages_per_request(fold_transformer, len(requests))
    if len(settings) == 1 and fold_transformer is None and preprocessing == "none":
        est = make_classifier(classifier, random_state=random_state, **dict(settings[0]))
        if hasattr(est, "fit_predict_folds"):
            if progress and hasattr(est, "progress"):
                est.set_params(progress=True)
            preds = est.fit_predict_folds(X, y_codes, [(np.asarray(tr), np.asarray(te)) for tr, te in requests],
                                          groups=groups)
            stats = {"fits": len(requests), "reused": 0, "training_sets": len(requests), "settings": 1,
                     "fold_batched": 1}
            return [np.asarray(p, dtype=np.int16)[None, :] for p in preds], stats
    unique = _dedupe(requests, stage_of)
    tasks = [(X, y_codes, train, test, classifier, list(settings), preprocessing, stage_of[m[0]], random_state)
             for train, test, m, _t in unique]
    has_stage = any(t is not None for t in stage_of)
    prefer = "processes" if has_stage and n_jobs != 1 and len(tasks) > 1 else "threads"
    results = _run_tasks(_estimator_task, tasks, n_jobs=n_jobs, progress=progress, desc=f"{classifier} grid",
                         client=client, prefer=prefer)
    stats = {"fits": sum(s["fits"] for _p, s in results), "reused": 0, "training_sets": len(unique),
             "settings": len(settings)}
    return _split_results(unique, results, len(requests)), stats


# =========================================================================== scoring
def batch_scores(y_codes, predictions, n_classes: int) -> pd.DataFrame:
    """Accuracy, macro F1 and UAR of many prediction vectors at once.

    Parameters
    ----------
    y_codes : ndarray of int, shape (n,)
        True class codes.
    predictions : ndarray of int, shape (n_settings, n)
        Predicted class codes, one row per setting.
    n_classes : int

    Returns
    -------
    pandas.DataFrame
        Columns ``accuracy``, ``macro_f1``, ``uar``, one row per setting; macro F1
        averages over the union of true and predicted classes (as
        :func:`mer_lab.evaluation.metrics.macro_f1`), UAR over the true classes.
    """
    y = np.asarray(y_codes)
    P = np.asarray(predictions)
    if P.ndim == 1:
        P = P[None, :]
    n_set = P.shape[0]
    if y.size == 0:
        return pd.DataFrame({"accuracy": np.zeros(n_set), "macro_f1": np.zeros(n_set), "uar": np.zeros(n_set)})
    true_count = np.bincount(y, minlength=n_classes).astype(float)
    f1_sum = np.zeros(n_set)
    n_used = np.zeros(n_set)
    recall_sum = np.zeros(n_set)
    for c in range(n_classes):
        is_c = P == c
        pred_c = is_c.sum(axis=1).astype(float)
        tp = (is_c & (y == c)[None, :]).sum(axis=1).astype(float)
        den = pred_c + true_count[c]
        used = den > 0
        f1_sum += np.where(used, 2 * tp / np.where(used, den, 1.0), 0.0)
        n_used += used
        if true_count[c] > 0:
            recall_sum += tp / true_count[c]
    acc = (P == y[None, :]).mean(axis=1)
    return pd.DataFrame({"accuracy": acc, "macro_f1": f1_sum / np.maximum(n_used, 1),
                         "uar": recall_sum / max(int((true_count > 0).sum()), 1)})


def _best(score_table: pd.DataFrame, metric: str) -> int:
    """Index of the best setting: highest metric, then accuracy, then the first in grid order."""
    primary = score_table[metric].to_numpy()
    secondary = score_table["accuracy"].to_numpy()
    idx = np.arange(len(score_table))
    order = np.lexsort((idx, -secondary, -primary))
    return int(order[0])


# =========================================================================== search
@dataclass
class SearchResult:
    """What :func:`search_predict` returns.

    Attributes
    ----------
    classes : ndarray
        Class labels; codes index into it.
    settings : pandas.DataFrame
        The candidate settings (one row each, in grid order).
    predictions : dict
        Mode (``"thesis"``, ``"nested"``, ``"none"``) -> predicted labels, shape
        (n_samples,); samples outside every test fold hold ``None``.
    selected : pandas.DataFrame
        One row per (mode, fold): the chosen setting's index and parameters, and the
        score it was chosen on (for ``"thesis"`` the same row repeats for every fold).
    scores : pandas.DataFrame or None
        Pooled scores of every setting over the outer test folds (what ``"thesis"``
        selects on), joined to ``settings``.
    stats : dict
        Fits run, fits saved, training sets, settings, wall-clock seconds.
    """

    classes: np.ndarray
    settings: pd.DataFrame
    predictions: dict
    selected: pd.DataFrame
    scores: pd.DataFrame | None
    stats: dict = field(default_factory=dict)


def _settings_for(classifier, grid, params, search, n_features):
    """(parameter dicts, settings table, engine) for a classifier/grid/search combination."""
    if search == "none":
        rows = [dict(params or {})]
        return rows, _table(rows), "estimator"
    if classifier == "svm_poly":
        if params:
            raise ValueError("params fixes the parameters of search='none'; for a search give grid instead")
        table = poly_grid(grid, n_features=n_features).settings()
        rows = [{"degree": int(r.degree), "coef": float(r.coef), "gamma": float(r.gamma), "C": float(r.C)}
                for r in table.itertuples(index=False)]
        return rows, table, "poly"
    if isinstance(grid, Mapping):
        param_grid = {k: list(v) for k, v in grid.items()}
    elif grid in (None, "auto"):
        param_grid = default_param_grid(classifier)
    else:
        raise ValueError(f"grid for classifier {classifier!r} must be 'auto' or a mapping "
                         f"parameter -> list of values, got {grid!r}")
    fixed = dict(params or {})
    rows = [{**fixed, **p} for p in ParameterGrid(param_grid)] if param_grid else [fixed]
    return rows, _table(rows), "estimator"


def _table(rows: list[dict]) -> pd.DataFrame:
    """Settings as a table for display (values that are not plain numbers/strings as JSON)."""
    def plain(v):
        return v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else json.dumps(v)

    return pd.DataFrame([{k: plain(v) for k, v in r.items()} for r in rows], index=range(len(rows)))


#: Inner cross-validation of ``"nested"``: leave one training subject out up to this many
#: training subjects, grouped k-fold (k = :data:`INNER_FOLDS`) above it.
INNER_LOSO_MAX_SUBJECTS = 20
INNER_FOLDS = 5
#: A search estimated to run longer than this (seconds) warns before it starts.
LONG_RUN_SECONDS = 180.0


class LongRunWarning(UserWarning):
    """A hyper-parameter search is estimated to take more than a few minutes."""


def _inner_requests(groups, train, inner="auto"):
    """Inner (train, test) splits of one outer training part, over its subjects only.

    ``inner="loso"``: leave one training subject out. An int k: grouped k-fold, subjects
    dealt largest first to the fold with the fewest samples so far (deterministic; ties
    by subject name). ``"auto"``: LOSO up to :data:`INNER_LOSO_MAX_SUBJECTS` training
    subjects, grouped :data:`INNER_FOLDS`-fold above.
    """
    g_train = groups[train]
    subjects = pd.unique(g_train)
    if inner == "auto":
        inner = "loso" if len(subjects) <= INNER_LOSO_MAX_SUBJECTS else INNER_FOLDS
    out = []
    if inner == "loso" or int(inner) >= len(subjects):
        for h in subjects:
            mask = g_train == h
            out.append((train[~mask], train[mask]))
        return out
    k = check_int("inner", inner, low=2)
    sizes = {h: int((g_train == h).sum()) for h in subjects}
    order = sorted(subjects, key=lambda h: (-sizes[h], str(h)))
    load = np.zeros(k, dtype=np.int64)
    fold_of = {}
    for h in order:
        f = int(np.argmin(load))
        fold_of[h] = f
        load[f] += sizes[h]
    assigned = np.array([fold_of[h] for h in g_train])
    for f in range(k):
        mask = assigned == f
        out.append((train[~mask], train[mask]))
    return out


def _coarse_gammas(grid: PolyGrid) -> tuple[list[int], int]:
    """Indices of the first-pass gammas of the coarse-to-fine rule, and the stride."""
    n = len(grid.gammas)
    stride = max(1, math.ceil(n / 10))
    return list(range(stride - 1, n, stride)), stride


def _prune_mode(prune, grid: PolyGrid) -> str:
    check_choice("prune", prune, ["auto", "coarse_to_fine", "none"])
    if prune == "auto":
        return "coarse_to_fine" if len(grid.gammas) > 10 else "none"
    return prune


def _fit_seconds(X, y_codes, train, preprocessing, fold_transformer, grid: PolyGrid, repeats: int = 3) -> float:
    """CPU seconds of one libsvm fit on a training set of this size (timed on a few settings)."""
    import time

    prep = make_preprocessor(preprocessing, fold_transformer)
    Z, _ = _transform(prep, X[train], y_codes[train], X[train[:1]])
    present, local = np.unique(y_codes[train], return_inverse=True)
    if present.size < 2:
        return 0.0
    G = Z @ Z.T
    svm = _PrecomputedSVM(present.size)
    picks = [(grid.degrees[i % len(grid.degrees)], grid.coefs[-1], grid.gammas[len(grid.gammas) // 2],
              grid.Cs[i % len(grid.Cs)]) for i in range(repeats)]
    t0 = time.process_time()
    for d, c, g, C in picks:
        K = _powi_chain(g * G + c, [d])[d]
        svm.fit_predict(K, local.astype(np.float64), C, K[:1])
    return (time.process_time() - t0) / repeats


def estimate_seconds(n_fits: int, seconds_per_fit: float, n_jobs: int) -> float:
    """Wall-clock estimate of ``n_fits`` fits spread over ``n_jobs`` workers (no C shortcut counted)."""
    import os

    workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
    return n_fits * seconds_per_fit / workers


def _announce(plan: list[tuple[int, int, int]], X, y_codes, preprocessing, fold_transformer, grid, n_jobs,
              progress, client, label: str) -> float | None:
    """Estimate a poly-grid search from ``plan`` = [(training sets, settings, typical training size)];
    print the estimate when ``progress``, warn when it exceeds :data:`LONG_RUN_SECONDS`."""
    import sys
    import warnings

    n_fits = sum(s * k for s, k, _n in plan)
    if n_fits < 20_000:
        return None
    n_train = max(n for _s, _k, n in plan)
    rng = np.random.default_rng(0)
    train = np.sort(rng.choice(len(X), size=min(n_train, len(X)), replace=False))
    per_fit = _fit_seconds(X, y_codes, train, preprocessing, fold_transformer, grid)
    import os

    workers = ((os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))) if client is None \
        else max(1, sum(client.nthreads().values()))
    est = estimate_seconds(n_fits, per_fit, workers)
    text = (f"{label}: {n_fits:,} SVM fits of about {n_train} samples, {1000 * per_fit:.1f} ms each -> "
            f"up to {est / 60:.1f} min on {workers} worker(s) (the exact C shortcut can save part of it)")
    if progress:
        print(text, file=sys.stderr, flush=True)
    if est > LONG_RUN_SECONDS:
        hint = "; use --jobs/n_jobs for more workers" if workers < (os.cpu_count() or 1) else ""
        warnings.warn(f"a long search: {text}{hint}", LongRunWarning, stacklevel=3)
    return est


def _select_rows(scores_by_setting: dict[int, tuple[float, float]]) -> int:
    """Best setting of {grid index: (metric, accuracy)}: highest metric, then accuracy, then grid order."""
    return min(scores_by_setting, key=lambda s: (-scores_by_setting[s][0], -scores_by_setting[s][1], s))


def _inner_scores(tags, requests, preds, i, y_codes, n_classes, n_set, n, metric):
    inner_pred = np.full((n_set, n), -1, dtype=np.int16)
    inner_tests = []
    for r, ((kind, k, _j), P) in enumerate(zip(tags, preds)):
        if kind == "inner" and k == i:
            inner_test = requests[r][1]
            inner_pred[:, inner_test] = P
            inner_tests.append(inner_test)
    scored = np.concatenate(inner_tests)
    return batch_scores(y_codes[scored], inner_pred[:, scored], n_classes)


def _nested_poly(X, y_codes, groups, folds, grid: PolyGrid, *, inner, prune, metric, collapse, common):
    """Nested selection over the polynomial grid, pruned coarse-to-fine when asked.

    Returns (chosen grid index per fold, its inner score per fold, outer predictions per fold,
    stats). With ``prune="coarse_to_fine"`` the inner folds first score every setting whose
    gamma is one of the ten coarse values (every ``stride``-th gamma), then, for the best of
    those, every gamma strictly between its coarse neighbours (same degree and coef, every
    C); the best of both passes is chosen.
    """
    n = len(y_codes)
    n_classes = int(y_codes.max()) + 1
    stats = {"fits": 0, "reused": 0, "training_sets": 0, "settings": grid.n_settings, "evaluated_settings": 0}

    def add(st):
        for k in ("fits", "reused", "training_sets"):
            stats[k] += st[k]

    inner_per_fold = [_inner_requests(groups, tr, inner) for _name, tr, _te in folds]
    for (name, _tr, _te), inner_reqs in zip(folds, inner_per_fold):
        if len(inner_reqs) < 2:
            raise ValueError(f"nested search needs at least two subjects in the training part of fold "
                             f"{name!r}; it has {len(inner_reqs)}")
    stages = _outer_stages(X, folds, common["fold_transformer"], n_jobs=common["n_jobs"], client=common["client"])

    def with_stages(tags_of_requests):
        """``common`` with each request's outer-fold stage, when the stage serves its inner folds."""
        if stages is None:
            return common
        return {**common, "fold_transformer": [stages[k] for _kind, k, _j in tags_of_requests]}

    mode = _prune_mode(prune, grid)
    if mode == "coarse_to_fine":
        coarse_idx, stride = _coarse_gammas(grid)
        first = PolyGrid(degrees=grid.degrees, coefs=grid.coefs, gammas=tuple(grid.gammas[i] for i in coarse_idx),
                         Cs=grid.Cs)
    else:
        coarse_idx, stride, first = list(range(len(grid.gammas))), 1, grid
    requests, tags = [], []
    for i, inner_reqs in enumerate(inner_per_fold):
        requests.extend(inner_reqs)
        tags.extend(("inner", i, j) for j in range(len(inner_reqs)))
    first_set = first.settings()
    first_full = [grid.index(int(r.degree), float(r.coef), float(r.gamma), float(r.C))
                  for r in first_set.itertuples(index=False)]
    plan = [(len(_dedupe(requests)), first.n_settings, max(len(tr) for tr, _te in requests))]
    if mode == "coarse_to_fine":
        plan.append((len(requests), (2 * stride - 1) * len(grid.Cs), plan[0][2]))
    _announce(plan, X, y_codes, common["preprocessing"], common["fold_transformer"] if stages is None else None,
              grid, common["n_jobs"], common["progress"], common["client"], "nested search")
    preds, st = poly_grid_predictions(X, y_codes, requests, grid=first, collapse=collapse, **with_stages(tags))
    add(st)
    evaluated = set(first_full)
    table = []  # per fold: {grid index: (metric, accuracy)}
    for i in range(len(folds)):
        sc = _inner_scores(tags, requests, preds, i, y_codes, n_classes, first.n_settings, n, metric)
        table.append({first_full[s]: (float(sc[metric].iloc[s]), float(sc["accuracy"].iloc[s]))
                      for s in range(first.n_settings)})
    if mode == "coarse_to_fine":
        settings = grid.settings()
        second: dict[PolyGrid, list[int]] = {}
        for i in range(len(folds)):
            best = settings.iloc[_select_rows(table[i])]
            g = grid.gammas.index(float(best.gamma))
            near = [j for j in range(max(0, g - stride + 1), min(len(grid.gammas), g + stride)) if j not in coarse_idx]
            if near:
                sub = PolyGrid(degrees=(int(best.degree),), coefs=(float(best.coef),),
                               gammas=tuple(grid.gammas[j] for j in near), Cs=grid.Cs)
                second.setdefault(sub, []).append(i)
        for sub, members in second.items():
            reqs, tg = [], []
            for i in members:
                reqs.extend(inner_per_fold[i])
                tg.extend(("inner", i, j) for j in range(len(inner_per_fold[i])))
            p2, st = poly_grid_predictions(X, y_codes, reqs, grid=sub, collapse=collapse,
                                           **{**with_stages(tg), "progress": False})
            add(st)
            full = [grid.index(int(r.degree), float(r.coef), float(r.gamma), float(r.C))
                    for r in sub.settings().itertuples(index=False)]
            evaluated.update(full)
            for i in members:
                sc = _inner_scores(tg, reqs, p2, i, y_codes, n_classes, sub.n_settings, n, metric)
                table[i].update({full[s]: (float(sc[metric].iloc[s]), float(sc["accuracy"].iloc[s]))
                                 for s in range(sub.n_settings)})
    chosen = [_select_rows(t) for t in table]
    chosen_scores = [t[c][0] for t, c in zip(table, chosen)]
    # refit each fold's choice on its whole training part (one setting per group of folds)
    settings = grid.settings()
    outer: list[np.ndarray | None] = [None] * len(folds)
    by_choice: dict[int, list[int]] = {}
    for i, c in enumerate(chosen):
        by_choice.setdefault(c, []).append(i)
    for c, members in by_choice.items():
        r = settings.iloc[c]
        one = PolyGrid(degrees=(int(r.degree),), coefs=(float(r.coef),), gammas=(float(r.gamma),), Cs=(float(r.C),))
        p, st = poly_grid_predictions(X, y_codes, [(folds[i][1], folds[i][2]) for i in members], grid=one,
                                      collapse=False,
                                      **{**with_stages([("outer", i, None) for i in members]), "progress": False})
        add(st)
        for i, P in zip(members, p):
            outer[i] = P[0]
    stats["evaluated_settings"] = len(evaluated)
    stats["prune"] = mode
    return chosen, chosen_scores, outer, stats


def search_predict(X, y, *, groups, folds, classifier: str = "svm_poly", search: str = "nested",
                   grid="auto", params: Mapping | None = None, preprocessing: str = "standard",
                   fold_transformer=None, metric: str = "macro_f1", n_jobs: int = 1, progress: bool = False,
                   client=None, seed: int = 0, collapse: bool = True, inner="auto", prune="auto",
                   report_thesis: bool = False) -> SearchResult:
    """Predict every test fold of a protocol, choosing hyper-parameters as asked.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Features (finite).
    y : array_like, shape (n_samples,)
        Class labels.
    groups : array_like, shape (n_samples,)
        Subject of each sample (the inner folds of ``"nested"`` split subjects).
    folds : sequence of (name, train_indices, test_indices)
        The protocol's outer folds (see :func:`mer_lab.evaluation.protocols.protocol_folds`).
    classifier : str
        A name of :data:`mer_lab.evaluation.classifiers.CLASSIFIERS`.
    search : {"nested", "thesis", "none"}
        How to choose the setting (module notes). ``"nested"`` (the default) chooses on
        the training subjects only; ``"thesis"`` on the pooled test folds (optimistic).
    grid : str, mapping or PolyGrid
        For ``"svm_poly"`` see :func:`poly_grid`; for other classifiers ``"auto"``
        (:func:`~mer_lab.evaluation.classifiers.default_param_grid`) or a mapping of
        parameter -> values.
    params : mapping, optional
        Parameters of ``search="none"`` (or fixed parameters added to every setting of
        another classifier's grid).
    preprocessing, fold_transformer
        Fitted inside every training set (:func:`make_preprocessor`).
    metric : {"macro_f1", "accuracy", "uar"}
        Selection score, computed on pooled predictions; ties go to the higher accuracy,
        then to the first setting in grid order.
    n_jobs, progress, client
        Parallelism (joblib threads or a Dask client) and a progress bar. Searches of
        more than 20,000 fits print an estimate of their duration first (with
        ``progress``) and warn (:class:`LongRunWarning`) when it exceeds three minutes.
    seed : int
        ``random_state`` of random classifiers.
    collapse : bool
        Use the exact C shortcut of the polynomial grid (see module notes).
    inner : "auto", "loso" or int
        Inner cross-validation of ``"nested"``: leave one training subject out, or
        grouped k-fold over the training subjects; ``"auto"`` is LOSO up to 20 training
        subjects and grouped 5-fold above (see :func:`_inner_requests`).
    prune : {"auto", "coarse_to_fine", "none"}
        Nested polynomial-grid search only. ``"coarse_to_fine"``: the inner folds score
        the settings at ten evenly spaced gammas (the thesis grid's 0.1, 0.2, ..., 1.0:
        640 of 6,400 settings), then every finer gamma strictly between the best one's
        neighbours (same degree and coef, every C: 76 more); ``"none"``: every setting.
        ``"auto"``: coarse-to-fine when the grid has more than ten gammas.
    report_thesis : bool
        With ``"nested"``: also run the full grid on the outer folds and report the
        ``"thesis"`` selection beside it (the optimism gap). It costs one full-grid pass.

    Returns
    -------
    SearchResult
    """
    import time

    t0 = time.perf_counter()
    check_choice("search", search, SEARCHES)
    check_choice("classifier", classifier, list(CLASSIFIERS))
    check_choice("metric", metric, SELECTION_METRICS)
    check_choice("preprocessing", preprocessing, PREPROCESSING)
    if inner not in ("auto", "loso"):
        check_int("inner", inner, low=2)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.isfinite(X).all():
        raise ValueError(f"X must be a finite 2-D array (samples x features); got shape {X.shape} "
                         f"with {int((~np.isfinite(X)).sum())} NaN or infinite values")
    y = np.asarray(y)
    groups = np.asarray(groups)
    if y.shape != (X.shape[0],) or groups.shape != (X.shape[0],):
        raise ValueError(f"y and groups must have one entry per row of X ({X.shape[0]}), got shapes "
                         f"{y.shape} and {groups.shape}")
    classes, y_codes = np.unique(y, return_inverse=True)
    n_classes = classes.size
    rows, settings, engine = _settings_for(classifier, grid, params, search, X.shape[1])
    folds = [(str(name), np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64)) for name, tr, te in folds]
    if not folds:
        raise ValueError("the protocol produced no folds")
    want_thesis = search == "thesis" or (search == "nested" and report_thesis)
    common = dict(preprocessing=preprocessing, fold_transformer=fold_transformer, n_jobs=n_jobs,
                  progress=progress, client=client)
    n = len(y)
    n_set = len(rows)

    covered = np.zeros(n, dtype=bool)
    for _name, _tr, te in folds:
        covered[te] = True
    cov = np.flatnonzero(covered)

    def labels_of(codes):
        out = np.full(n, None, dtype=object)
        out[cov] = classes[codes[cov]]
        return out

    predictions = {}
    selected_rows = []
    stats: dict = {}
    scores = None
    nested_poly = engine == "poly" and search == "nested"

    # ---- full-grid outer predictions (thesis selection, fixed parameters, cheap classifiers' nested)
    requests = [(tr, te) for _n, tr, te in folds] if (want_thesis or not nested_poly) else []
    tags = [("outer", i, None) for i in range(len(requests))]
    # with a single setting there is nothing to select: the inner folds would only repeat the work
    if search == "nested" and not nested_poly and n_set > 1:
        for i, (name, tr, _te) in enumerate(folds):
            inner_reqs = _inner_requests(groups, tr, inner)
            if len(inner_reqs) < 2:
                raise ValueError(f"nested search needs at least two subjects in the training part of fold "
                                 f"{name!r}; it has {len(inner_reqs)}")
            requests.extend(inner_reqs)
            tags.extend(("inner", i, j) for j in range(len(inner_reqs)))
    outer_pred = None
    if requests:
        if engine == "poly":
            pg = poly_grid(grid, n_features=X.shape[1])
            _announce([(len(_dedupe(requests)), pg.n_settings, max(len(tr) for tr, _te in requests))], X, y_codes,
                      preprocessing, fold_transformer, pg, n_jobs, progress, client, "thesis-mode grid")
            preds, stats = poly_grid_predictions(X, y_codes, requests, grid=pg, collapse=collapse, **common)
        else:
            est_common = common
            if search == "nested" and n_set > 1:
                stages = _outer_stages(X, folds, fold_transformer, n_jobs=n_jobs, client=client)
                if stages is not None:
                    est_common = {**common, "fold_transformer": [stages[k] for _kind, k, _j in tags]}
            preds, stats = estimator_grid_predictions(X, y_codes, requests, classifier=classifier, settings=rows,
                                                      random_state=seed, groups=groups, **est_common)
        outer_pred = np.full((n_set, n), -1, dtype=np.int16)
        for (kind, i, _j), P in zip(tags, preds):
            if kind == "outer":
                outer_pred[:, folds[i][2]] = P
        pooled = batch_scores(y_codes[cov], outer_pred[:, cov], n_classes)
        if search != "none":
            scores = pd.concat([settings.reset_index(drop=True), pooled], axis=1)

    if search == "none":
        predictions["none"] = labels_of(outer_pred[0])
        for name, _tr, _te in folds:
            selected_rows.append({"search": "none", "fold": name, "setting": 0,
                                  "params": json.dumps(rows[0], sort_keys=True),
                                  "selection_score": float("nan")})
    if search == "nested":
        nested = np.full(n, -1, dtype=np.int64)
        if nested_poly:
            chosen, chosen_scores, outer, st = _nested_poly(
                X, y_codes, groups, folds, poly_grid(grid, n_features=X.shape[1]), inner=inner, prune=prune,
                metric=metric, collapse=collapse, common=common)
            for k in ("fits", "reused", "training_sets"):
                stats[k] = stats.get(k, 0) + st[k]
            stats.update({k: st[k] for k in ("settings", "evaluated_settings", "prune")})
            for i, (_name, _tr, te) in enumerate(folds):
                nested[te] = outer[i]
        elif n_set == 1:
            chosen, chosen_scores = [0] * len(folds), [float("nan")] * len(folds)
            nested[:] = outer_pred[0]
        else:
            chosen, chosen_scores = [], []
            for i, (_name, _tr, te) in enumerate(folds):
                sc = _inner_scores(tags, requests, preds, i, y_codes, n_classes, n_set, n, metric)
                b = _best(sc, metric)
                chosen.append(b)
                chosen_scores.append(float(sc[metric].iloc[b]))
                nested[te] = outer_pred[b, te]
        for (name, _tr, _te), b, s in zip(folds, chosen, chosen_scores):
            selected_rows.append({"search": "nested", "fold": name, "setting": int(b),
                                  "params": json.dumps(rows[b], sort_keys=True), "selection_score": s})
        predictions["nested"] = labels_of(nested.astype(np.int16))
    if want_thesis:
        best = _best(pooled, metric)
        predictions["thesis"] = labels_of(outer_pred[best])
        for name, _tr, _te in folds:
            selected_rows.append({"search": "thesis", "fold": name, "setting": best,
                                  "params": json.dumps(rows[best], sort_keys=True),
                                  "selection_score": float(pooled[metric].iloc[best])})
    stats = {**stats, "seconds": time.perf_counter() - t0, "engine": engine}
    return SearchResult(classes=classes, settings=settings, predictions=predictions,
                        selected=pd.DataFrame(selected_rows), scores=scores, stats=stats)
