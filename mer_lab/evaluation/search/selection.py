"""Selection of the hyper-parameter search: which setting each fold uses, and how it is scored.

Owns :func:`search_predict` (the ``"nested"``, ``"thesis"`` and ``"none"`` modes), the nested
search's inner folds (:func:`_inner_requests`) and its coarse-to-fine pruning rule
(:func:`_nested_poly`), the pooled scores every choice is made on (:func:`batch_scores`,
ties: accuracy, then grid order), the result type (:class:`SearchResult`) and the duration
estimate announced before a long search (:func:`estimate_seconds`, :class:`LongRunWarning`).
The fits themselves are :mod:`mer_lab.evaluation.search.backend`'s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..._validate import check_choice, check_int
from ..classifiers import CLASSIFIERS
from .backend import (PREPROCESSING, _dedupe, _fit_seconds, _outer_stages, estimator_grid_predictions,
                      poly_grid_predictions)
from .grids import PolyGrid, _settings_for, params_json, poly_grid

__all__ = ["SEARCHES", "SELECTION_METRICS", "batch_scores", "SearchResult", "search_predict", "LongRunWarning",
           "estimate_seconds", "INNER_LOSO_MAX_SUBJECTS", "INNER_FOLDS", "LONG_RUN_SECONDS"]

SEARCHES = ("nested", "thesis", "none")
SELECTION_METRICS = ("macro_f1", "accuracy", "uar")


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
                                  "params": params_json(rows[0]),
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
                                  "params": params_json(rows[b]), "selection_score": s})
        predictions["nested"] = labels_of(nested.astype(np.int16))
    if want_thesis:
        best = _best(pooled, metric)
        predictions["thesis"] = labels_of(outer_pred[best])
        for name, _tr, _te in folds:
            selected_rows.append({"search": "thesis", "fold": name, "setting": best,
                                  "params": params_json(rows[best]),
                                  "selection_score": float(pooled[metric].iloc[best])})
    stats = {**stats, "seconds": time.perf_counter() - t0, "engine": engine}
    return SearchResult(classes=classes, settings=settings, predictions=predictions,
                        selected=pd.DataFrame(selected_rows), scores=scores, stats=stats)
