"""Backend of the hyper-parameter search: the fits, on precomputed Gram matrices.

Owns the per-fold preprocessing (:func:`make_preprocessor`), the polynomial grid's fast
path (:func:`poly_grid_predictions`), the one-fit-per-setting path of every other
classifier (:func:`estimator_grid_predictions`), and how training sets are run: identical
training sets fitted once, tasks spread over joblib threads, processes or a Dask cluster,
BLAS held to one thread per task. It returns predictions; choosing a setting is
:mod:`mer_lab.evaluation.search.selection`'s job.

How the polynomial grid is made fast
------------------------------------
* The Gram matrix :math:`G = Z Z^T` of the (fold-scaled) features is computed once per
  training set; every kernel of the grid is then an elementwise function of it,
  :math:`(\\gamma G + coef)^{degree}`, evaluated with the same sequence of
  multiplications libsvm uses, and fitted with ``SVC(kernel="precomputed")`` (public
  scikit-learn, its default settings). Its predictions take the test rows' kernel against
  every training row: the public ``predict`` accepts nothing narrower.
* Identical training sets are fitted once: in nested LOSO the inner fold "train without
  subjects j and k" occurs twice (outer k, inner j and outer j, inner k).
* The libsvm fits dominate the cost (a 430-sample fit takes about 4 ms, its kernel
  about 0.1 ms per degree), so nested search saves fits: the coarse-to-fine rule
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
  removes about two thirds of the fits. It is kept because it is measured to be needed:
  ``benchmarks/bench_search.py --grid thesis_coarse`` (247 x 72 z-scored, 26 LOSO folds,
  640 settings, 2 threads, load average about 30) ran 4,654 fits in 21.4 s of CPU with
  it and 16,640 fits in 69.9 s without (3.3 times as much), with the same predictions;
  on the full thesis grid it answers 116,663 of 166,400 setting-folds.
* Training sets are processed in parallel with joblib (threads: libsvm releases the
  GIL; processes when a fold stage such as Sparse MDMO's dictionary is fitted in every
  training set), or on a Dask cluster through joblib's ``"dask"`` backend.

Predictions are those of ``SVC(kernel="poly", degree=d, coef0=coef, gamma=g, C=C)``
fitted on the same scaled training rows (tested for exact equality on small grids).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

from ..._validate import check_choice
from ..classifiers import make_classifier
from .grids import PolyGrid, poly_grid

__all__ = ["PREPROCESSING", "make_preprocessor", "poly_grid_predictions", "estimator_grid_predictions"]

PREPROCESSING = ("standard", "minmax", "l2", "none")

# Safety margins of the C-collapse bound (float32 kernel cache, rounding of the gradient).
_BOUND_SAFETY = 1.5
_FLOAT32_EPS = 2.0 ** -24


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


# =========================================================================== SVC on Gram matrices
class _GramSVC:
    """``SVC(kernel="precomputed")`` with scikit-learn's defaults, fitted on one training set's
    kernel matrices, one value of C at a time.

    The kernel given to libsvm is the training rows' kernel and the test rows' kernel against
    every training row, as scikit-learn's public API asks; each fit then runs the same libsvm
    calls as ``SVC(kernel="poly")`` on the features. The input checks that cannot fail here
    (finite values: the kernels come from finite features; parameter types: fixed here) are
    skipped through :func:`sklearn.config_context`.
    """

    def __init__(self, y_train: np.ndarray):
        self.y = np.asarray(y_train)

    def fit_predict(self, K_train: np.ndarray, C: float, K_test: np.ndarray) -> np.ndarray:
        """Labels (those of ``y_train``) predicted for the rows of ``K_test``."""
        import sklearn
        from sklearn.svm import SVC

        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            model = SVC(kernel="precomputed", C=float(C)).fit(K_train, self.y)
            if len(K_test) == 0:
                return np.empty(0, dtype=self.y.dtype)
            return model.predict(K_test)


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
    """Lower bound of lambda_min((gamma G + coef) ** degree) from the Hadamard-power floors.

    Part of the exact C shortcut (module notes), which saves about 70 % of the polynomial
    grid's CPU time on z-scored features (3.3 times fewer fits; see the module notes for
    the benchmark)."""
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
    svm = _GramSVC(y_tr)
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
                    out[base + iC] = svm.fit_predict(K_tr, C, K_te)
                    stats["fits"] += 1
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



def _fit_seconds(X, y_codes, train, preprocessing, fold_transformer, grid: PolyGrid, repeats: int = 3) -> float:
    """CPU seconds of one SVM fit on a training set of this size (timed on a few settings)."""
    import time

    prep = make_preprocessor(preprocessing, fold_transformer)
    Z, _ = _transform(prep, X[train], y_codes[train], X[train[:1]])
    if np.unique(y_codes[train]).size < 2:
        return 0.0
    G = Z @ Z.T
    svm = _GramSVC(y_codes[train])
    picks = [(grid.degrees[i % len(grid.degrees)], grid.coefs[-1], grid.gammas[len(grid.gammas) // 2],
              grid.Cs[i % len(grid.Cs)]) for i in range(repeats)]
    t0 = time.process_time()
    for d, c, g, C in picks:
        K = _powi_chain(g * G + c, [d])[d]
        svm.fit_predict(K, C, K[:1])
    return (time.process_time() - t0) / repeats


