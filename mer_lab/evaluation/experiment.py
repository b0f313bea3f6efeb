"""Experiments: a method on a corpus under a protocol -> a tidy results table.

:func:`compute_features` turns every clip of a corpus into a feature vector with a named
method (:mod:`mer_lab.methods`), caching each clip's vector on disk so that a second run
with other classifier settings costs nothing; :func:`run_experiment` adds the classifier,
the protocol and the hyper-parameter search and returns :class:`Results`;
:func:`table3` lays several methods and datasets out as the thesis's Table 3, with the
published numbers alongside.

Scale: ``n_jobs`` runs clips (and search folds) in parallel on this machine; a Dask
``client`` (``dask.distributed.Client``) spreads clips over a cluster with
``client.map`` and the search through joblib's ``"dask"`` backend.
"""

from __future__ import annotations

import json
import math
import platform
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from .._validate import check_choice, describe
from ..cache import DiskCache, flow_cache, resolve_cache
from ..methods import Method
from .metrics import METRICS, baseline_scores, confusion_matrix, scores
from .protocols import PROTOCOLS, run_protocol
from .search import PREPROCESSING, SEARCHES, PolyGrid, poly_grid, thesis_gammas

__all__ = [
    "EvaluationWarning",
    "PUBLISHED",
    "PUBLISHED_MEGC",
    "EXTERNAL_METHOD",
    "THESIS_MAPPINGS",
    "Results",
    "compute_features",
    "feature_array",
    "as_feature_matrix",
    "clip_steps",
    "fold_steps",
    "SAMPLE_COORDS",
    "run_experiment",
    "table3",
    "versions",
]

#: Thesis Table 3 (LOSO, grid-searched SVM): (dataset, method) -> (accuracy, macro F1).
PUBLISHED: dict[tuple[str, str], tuple[float, float]] = {
    ("smic", "baseline"): (0.4268, 0.1994), ("smic", "lbp_top"): (0.4756, 0.4173),
    ("smic", "mdmo"): (0.5366, 0.4736), ("smic", "sparse_mdmo"): (0.6098, 0.5547),
    ("casme", "baseline"): (0.3651, 0.0669), ("casme", "lbp_top"): (0.3968, 0.2573),
    ("casme", "mdmo"): (0.4233, 0.2799), ("casme", "sparse_mdmo"): (0.4709, 0.3258),
    ("casme2", "baseline"): (0.4008, 0.1145), ("casme2", "lbp_top"): (0.3644, 0.2565),
    ("casme2", "mdmo"): (0.5223, 0.4699), ("casme2", "sparse_mdmo"): (0.4939, 0.4481),
    ("samm", "baseline"): (0.3585, 0.0660), ("samm", "lbp_top"): (0.3333, 0.1989),
    ("samm", "mdmo"): (0.4654, 0.2837), ("samm", "sparse_mdmo"): (0.4528, 0.3261),
}
#: What ``run_experiment(method=None, features=...)`` records: features made elsewhere.
#: Their scale is unknown, so its default per-fold scaling standardises them.
EXTERNAL_METHOD = Method(name="external", title="external features", features=None,
                         preprocessing="standard", reference="features computed outside mer_lab")
#: MEGC 2019 composite (UF1, UAR) of published baselines.
PUBLISHED_MEGC: dict[str, tuple[float, float]] = {"lbp_top": (0.5882, 0.5785), "biwoof": (0.6296, 0.6227)}

#: Class sets of thesis Table 3: CASME II without its fear and sadness clips (5 classes);
#: SMIC, CASME and SAMM with their own classes.
THESIS_MAPPINGS = {"casme2": "casme2_5"}

_ALIASES = {"smichs": "smic", "smic": "smic", "casme": "casme", "casmei": "casme", "casme2": "casme2",
            "casmeii": "casme2", "samm": "samm"}


def _canonical(name: str) -> str:
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    return _ALIASES.get(key, str(name).lower())


def versions() -> dict[str, str]:
    """Versions of mer_lab, Python and the numerical packages (recorded in results files)."""
    import scipy
    import sklearn

    return {"mer_lab": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "pandas": pd.__version__}


# =========================================================================== features
def _resolve_cache(cache) -> DiskCache:
    return resolve_cache(cache) or DiskCache(enabled=False)


def _plain_json(value) -> str:
    def default(v):
        if isinstance(v, (np.integer, np.floating, np.bool_)):
            return v.item()
        if isinstance(v, (set, frozenset)):
            return sorted(v)
        return str(v)

    return json.dumps(value, sort_keys=True, default=default)


def _resolve_corpus(corpus):
    if isinstance(corpus, str):
        from ..datasets.registry import load

        return load(corpus)
    if not hasattr(corpus, "samples") or not hasattr(corpus, "cube"):
        raise TypeError(f"corpus must be a mer_lab Corpus or a dataset name, got {describe(corpus)}")
    return corpus


def _dataset_key(corpus, protocol: str | None) -> str | None:
    if protocol == "megc":
        return "megc"
    names = corpus.datasets
    return names[0] if len(names) == 1 else None


def _pipeline_of(method, *, dataset, params):
    """(label, pipeline, Method or None) of what run_experiment / compute_features were given."""
    from sklearn.pipeline import Pipeline

    from ..methods import get_method, make_pipeline

    if isinstance(method, Pipeline):
        if params:
            raise ValueError(f"params {sorted(params)} apply to a named method; set a pipeline's parameters with "
                             "pipe.set_params(...)")
        return "pipeline", method, None
    from sklearn.dummy import DummyClassifier

    m = get_method(method)
    # only the clip steps run here: any classifier will do (a network's would load PyTorch)
    return m.name, make_pipeline(m, dataset=dataset, classifier=DummyClassifier(), **dict(params or {})), m


def clip_steps(pipe) -> list[tuple[str, object]]:
    """The steps of a pipeline that are computed once per clip: everything up to its
    ``features`` step (cube steps and the feature transformer), passthrough steps left out."""
    names = [n for n, _ in pipe.steps]
    if "features" not in names:
        raise ValueError(f"the experiment layer needs a pipeline with a step named 'features' (the per-clip "
                         f"feature transformer); its steps are {names}")
    end = names.index("features") + 1
    return [(n, e) for n, e in pipe.steps[:end] if e is not None and not (isinstance(e, str) and e == "passthrough")]


def fold_steps(pipe) -> list[tuple[str, object]]:
    """The steps fitted in every training fold: those after ``features``."""
    names = [n for n, _ in pipe.steps]
    return list(pipe.steps[names.index("features") + 1:])


def _scale_name(step) -> str:
    """The preprocessing name of a pipeline's ``scale`` step."""
    from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return "none"
    for name, cls in (("standard", StandardScaler), ("minmax", MinMaxScaler), ("l2", Normalizer)):
        if type(step) is cls and step.get_params() == cls().get_params():
            return name
    raise ValueError(f"the experiment layer fits a pipeline's 'scale' step per fold as StandardScaler(), "
                     f"MinMaxScaler(), Normalizer() or 'passthrough', got {describe(step)}")


def _classifier_spec(est) -> tuple[str, dict]:
    """(name of :data:`~mer_lab.evaluation.classifiers.CLASSIFIERS`, parameters) of a pipeline's
    classifier, so that the protocol's search can rebuild it in every fold."""
    from .classifiers import CLASSIFIERS, DEEP_CLASSIFIERS, make_classifier

    if type(est).__name__ == "DeepClassifier":
        name = str(est.model)
        ref = make_classifier(name)
    else:
        name = ref = None
        for candidate in CLASSIFIERS:
            if candidate in DEEP_CLASSIFIERS:
                continue
            made = make_classifier(candidate)
            if type(made) is type(est) and all(est.get_params(deep=False).get(k) == v for k, v in
                                               made.get_params(deep=False).items()
                                               if k in ("kernel", "strategy")):
                name, ref = candidate, made
                break
        if name is None:
            raise ValueError(f"the experiment layer runs the classifiers of mer_lab.evaluation.classifiers "
                             f"(SVC, k-NN, random forest, AdaBoost, ELM, majority, the deep networks); got "
                             f"{describe(est)}")
    default = ref.get_params(deep=False)
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in default or default[k] != v}
    return name, params


def _flat_params(m, pipe) -> dict:
    """A named method's settings under their flat names (``tim``, ``blocks``, ...)."""
    from ..methods import param_aliases

    given = pipe.get_params()
    out = {}
    for flat, target in param_aliases(m).items():
        if target in given:
            out[flat] = given[target]
        elif flat == "tim":
            out[flat] = None
    return out


def _pipeline_params(pipe) -> dict:
    """A user pipeline's clip-step and stage settings as ``step__param``."""
    out = {}
    for name, est in [*clip_steps(pipe), *fold_steps(pipe)[:-1]]:
        if isinstance(est, str):
            continue
        out[f"{name}__class"] = f"{type(est).__module__}.{type(est).__qualname__}"
        out.update({f"{name}__{k}": v for k, v in est.get_params(deep=False).items()})
    return json.loads(_plain_json(out))


def _steps_key(steps) -> str:
    return _plain_json([[name, f"{type(est).__module__}.{type(est).__qualname__}", est.get_params(deep=False)]
                        for name, est in steps])


def _sample_key(corpus, row, label, steps_key, version) -> dict:
    from ..cache import file_signature

    path = row.get("path")
    files = file_signature(path) if isinstance(path, str) and path else None
    return {
        "dataset": str(row["dataset"]), "sample": str(row["sample"]),
        "frames": [str(row.get(k)) for k in ("onset", "apex", "offset", "n_frames")], "files": files,
        "corpus": _plain_json(corpus.info), "method": label, "steps": steps_key, "version": version,
        "mer_lab": __version__,
    }


def _run_steps(steps, cube) -> np.ndarray:
    from ..features.base import as_cube_array

    X = as_cube_array([cube])
    for _name, est in steps:
        X = est.transform(X)
    return np.asarray(X[0], dtype=np.float64).ravel()


def _some_samples(corpus, uids, args):
    """Feature vectors of several clips (one Dask task)."""
    return [_one_sample(corpus, uid, *args) for uid in uids]


def _one_sample(corpus, uid, label, steps, steps_key, version, cache_root, cache_enabled):
    """Feature vector of one clip (cached). Runs in threads, processes or Dask workers."""
    cache = DiskCache(cache_root, enabled=cache_enabled)
    key = _sample_key(corpus, corpus.row(uid), label, steps_key, version)

    def compute():
        try:
            # the flow cache is switched on here, in the worker: a context does not travel to
            # threads or processes, and the feature functions themselves write nothing by default
            with flow_cache(cache):
                vec = _run_steps(steps, corpus.cube(uid))
        except Exception as exc:
            exc.add_note(f"while computing {label} features of sample {uid!r}")
            raise
        return {"x": vec}

    return cache.get_or_compute(f"features/{label}", key, compute, names=("x",))["x"]


#: Below this many clips to compute, ``backend="auto"`` uses threads (starting processes costs
#: a second or two).
PROCESS_MIN_CLIPS = 32


def _cached_sample(corpus, uid, label, steps_key, version, store):
    if not store.enabled:
        return None
    key = _sample_key(corpus, corpus.row(uid), label, steps_key, version)
    found = store.load(f"features/{label}", key)
    return None if found is None else found["x"]


def _feature_names(steps, corpus, n_features: int, label: str) -> list[str]:
    """The feature transformer's names for the columns (generic ``<label>_<i>`` when it
    cannot say, or says a different number)."""
    names = None
    try:
        from ..features.base import as_cube_array

        X = as_cube_array([corpus.cube(corpus.uids[0])])
        feats = steps[-1][1]
        if hasattr(feats, "_names"):
            # most names do not depend on the clip: try the raw clip before running the cube steps
            names = [str(n) for n in feats._names(X[0])]
            if len(names) != n_features and len(steps) > 1:
                for _name, est in steps[:-1]:
                    X = est.transform(X)
                names = [str(n) for n in feats._names(X[0])]
        else:
            for _name, est in steps[:-1]:
                X = est.transform(X)
            names = [str(n) for n in feats.fit(X).get_feature_names_out()]
    except Exception:  # names are a convenience: never fail the extraction for them
        names = None
    if names is None or len(names) != n_features:
        names = [f"{label}_{i}" for i in range(n_features)]
    return names


#: Columns of ``corpus.samples`` that label the ``sample`` dimension of
#: :func:`compute_features` (``sample`` is renamed ``clip``: the dimension holds the uids).
SAMPLE_COORDS = ("dataset", "subject", "sample", "group", "emotion", "label", "onset", "apex", "offset",
                 "n_frames", "fps")


def feature_array(X, names, corpus, *, name: str = "features", attrs: Mapping | None = None):
    """A ``(sample, feature)`` DataArray of a corpus's feature rows, with the samples'
    metadata (:data:`SAMPLE_COORDS`) as coordinates of the ``sample`` dimension."""
    import xarray as xr

    s = corpus.samples
    coords = {"sample": ("sample", np.asarray(corpus.uids, dtype=str)),
              "feature": ("feature", np.asarray(list(names), dtype=str))}
    for col in SAMPLE_COORDS:
        if col in s.columns:
            values = s[col].to_numpy()
            if values.dtype == object:
                values = values.astype(str)
            coords["clip" if col == "sample" else col] = ("sample", values)
    return xr.DataArray(np.asarray(X, dtype=np.float64), dims=("sample", "feature"), coords=coords, name=name,
                        attrs=dict(attrs or {}))


def as_feature_matrix(features) -> tuple[np.ndarray, list[str]]:
    """``(X, names)`` of features given as a ``(sample, feature)`` DataArray or a pair."""
    import xarray as xr

    if isinstance(features, xr.DataArray):
        if features.dims != ("sample", "feature"):
            raise ValueError(f"features must have dims ('sample', 'feature'), got {features.dims}")
        return np.asarray(features.values, dtype=np.float64), [str(n) for n in features["feature"].values]
    if isinstance(features, tuple) and len(features) == 2:
        return np.asarray(features[0], dtype=np.float64), [str(n) for n in features[1]]
    raise TypeError(f"features must be a (sample, feature) DataArray (as compute_features returns) or a pair "
                    f"(X, names), got {describe(features)}")


def compute_features(corpus, method, *, params: Mapping | None = None, cache=True, progress: bool = True,
                     n_jobs: int = 1, client=None, dataset: str | None = "auto", backend: str = "auto"):
    """Every clip's feature vector for a method: a labelled ``(sample, feature)`` DataArray.

    The clip steps of the method's pipeline (:func:`mer_lab.methods.make_pipeline`: EVM,
    TIM and the feature transformer, which learn nothing) run once per clip; each clip's
    row is cached on disk.

    Parameters
    ----------
    corpus : Corpus or str
        The clips (a dataset name is loaded with :func:`mer_lab.datasets.registry.load`).
    method : str, mer_lab.methods.Method or sklearn.pipeline.Pipeline
        A name of :data:`mer_lab.methods.METHODS`, or a pipeline whose steps up to one
        named ``features`` turn a sequence of cubes into rows.
    params : mapping, optional
        Parameters of a named method (flat names such as ``blocks`` or ``step__param``,
        see :func:`mer_lab.methods.make_pipeline`).
    cache : bool or DiskCache
        Per-clip disk cache keyed by dataset, sample, key frames, the clip files' names,
        sizes and modification times, corpus settings, the clip steps' classes and
        ``get_params()``, and the method's version (``True``: :func:`mer_lab.cache.default_cache`).
        The same cache holds the clips' optical flows: every clip is computed inside
        :func:`mer_lab.cache.flow_cache`, so methods share flows; ``False`` caches
        neither features nor flows.
    progress : bool
        A progress bar over clips.
    n_jobs : int
        Clips computed in parallel on this machine (-1 = all cores). Clips already in the
        cache are read first, in this process; only the missing ones are computed in
        parallel. For several machines use a Dask ``client``.
    client : dask.distributed.Client, optional
        Compute clips on a Dask cluster with ``client.map`` instead.
    dataset : str, None or "auto"
        Which dataset defaults of the method apply (``"auto"``: the corpus's dataset when
        it holds one dataset).
    backend : {"auto", "processes", "threads"}
        How ``n_jobs`` workers run: processes (joblib's loky; the clips' Python work runs
        truly in parallel) or threads (no start-up cost; only the numpy and OpenCV kernels
        release the GIL). ``"auto"``: processes from :data:`PROCESS_MIN_CLIPS` clips to
        compute, threads below.

    Returns
    -------
    xarray.DataArray, dims (sample, feature), float64
        Rows in the order of ``corpus.samples``; ``sample`` holds the uids, with the
        samples' metadata (:data:`SAMPLE_COORDS`: dataset, subject, clip, group, emotion,
        label, key frames, fps) as coordinates; ``feature`` holds the feature names.
        ``attrs``: ``method`` and ``steps`` (the clip steps and their parameters, JSON).

    Examples
    --------
    >>> from mer_lab.datasets.synthetic import make_corpus
    >>> corpus = make_corpus(n_subjects=2, clips_per_subject=2, size=48)
    >>> F = compute_features(corpus, "hog_top", params={"blocks": (2, 2, 1)}, cache=False, progress=False)
    >>> F.shape, str(F["feature"][0].values), str(F["subject"][0].values)
    ((4, 96), 'hogtop_r0c0t0_XY_0', 'S01')
    """
    from ..methods import check_input, input_kind

    corpus = _resolve_corpus(corpus)
    if dataset == "auto":
        dataset = _dataset_key(corpus, None)
    label, pipe, m = _pipeline_of(method, dataset=dataset, params=params)
    if m is not None:
        check_input(m, input_kind(corpus), params)
    if m is not None and m.features is None:  # the majority baseline: one constant column, no clip loaded
        return feature_array(np.zeros((len(corpus), 1)), ["constant"], corpus, name=label,
                             attrs={"method": label, "steps": "[]"})
    steps = clip_steps(pipe)
    steps_key = _steps_key(steps)
    version = m.version if m is not None else "pipeline"
    store = _resolve_cache(cache)
    uids = corpus.uids
    args = (label, steps, steps_key, version, str(store.root), store.enabled)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(uids), desc=f"{label} features", unit="clip")
    check_choice("backend", backend, ["auto", "processes", "threads"])
    rows: list = [None] * len(uids)
    todo = list(range(len(uids)))
    if n_jobs != 1 and client is None:  # cached clips are read here; workers get the rest
        todo = []
        for i, uid in enumerate(uids):
            rows[i] = _cached_sample(corpus, uid, label, steps_key, version, store)
            if rows[i] is None:
                todo.append(i)
            elif bar is not None:
                bar.update(1)
    if client is not None:
        from distributed import as_completed

        # the corpus travels inside a few tasks (a table and a loader: small) rather than as
        # scattered data, whose replicas a busy cluster could lose between scatter and use
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = [c.tolist() for c in np.array_split(np.arange(len(uids)), min(len(uids), 4 * n_workers)) if len(c)]
        futures = [client.submit(_some_samples, corpus, [uids[i] for i in chunk], args, pure=False)
                   for chunk in chunks]
        index = {f.key: chunk for f, chunk in zip(futures, chunks)}
        try:
            for fut in as_completed(futures):
                for i, vec in zip(index[fut.key], fut.result()):
                    rows[i] = vec
                if bar is not None:
                    bar.update(len(index[fut.key]))
        finally:
            for fut in futures:
                fut.release()
    elif n_jobs == 1:
        for i, uid in enumerate(uids):
            rows[i] = _one_sample(corpus, uid, *args)
            if bar is not None:
                bar.update(1)
    elif todo:
        from joblib import Parallel, delayed

        if backend == "auto":
            backend = "processes" if len(todo) >= PROCESS_MIN_CLIPS else "threads"
        runner = Parallel(n_jobs=n_jobs, prefer=backend, return_as="generator")
        jobs = (delayed(_one_sample)(corpus, uids[i], *args) for i in todo)
        for i, vec in zip(todo, runner(jobs)):
            rows[i] = vec
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    sizes = sorted({r.size for r in rows})
    if len(sizes) != 1:
        raise ValueError(f"{label} gave feature vectors of different lengths {sizes} across clips; clips must "
                         "share one size (a fixed crop, and TIM for frame counts)")
    X = np.vstack(rows)
    names = _feature_names(steps, corpus, X.shape[1], label)
    _check_feature_values(X, uids, names, label)
    return feature_array(X, names, corpus, name=label, attrs={"method": label, "steps": steps_key})


#: Feature magnitudes from which scaling overflows float64 (squares pass 1e308).
MAX_FEATURE_MAGNITUDE = 1e150


def _check_feature_values(X, uids, names, method: str) -> None:
    """A clear error naming the sample and feature when a method's values are NaN, infinite or
    so large that scaling them overflows (which would surface later as NaN scores)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(X) | (np.abs(X) > MAX_FEATURE_MAGNITUDE)
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    i, j = int(rows[0]), int(cols[0])
    name = names[j] if j < len(names) else f"#{j}"
    kind = "not finite" if not np.isfinite(X[i, j]) else f"too large to scale (|x| > {MAX_FEATURE_MAGNITUDE:g})"
    raise ValueError(
        f"{method} gave {int(bad.sum())} feature value(s) that are NaN, infinite or beyond "
        f"{MAX_FEATURE_MAGNITUDE:g} in {np.unique(rows).size} sample(s); first: sample {uids[i]!r}, feature "
        f"{name!r} = {X[i, j]!r} ({kind}). Check the method's parameters and that clip's frames; features must "
        f"be finite numbers of moderate size")


# =========================================================================== results
class EvaluationWarning(UserWarning):
    """A result that needs a second look: predictions collapsed to one class, or
    hyper-parameters chosen on the edge of their search grid."""


def _collapsed(predictions: pd.DataFrame) -> dict:
    """Search mode -> the one class it predicted, for modes whose predictions collapsed."""
    out = {}
    for mode in pd.unique(predictions["search"]):
        p = predictions[predictions["search"] == mode]
        predicted = pd.unique(p["predicted"].dropna())
        if len(predicted) == 1 and p["true"].nunique() > 1:
            out[str(mode)] = str(predicted[0])
    return out


def _edge_optima(selected: pd.DataFrame, search_scores: pd.DataFrame | None) -> list[dict]:
    """Hyper-parameters chosen at the smallest or largest value of their grid axis.

    One record per (search mode, parameter, edge) holding the number of folds whose
    choice sat there. Only numeric axes with at least three values are considered
    (with two values every choice is an edge).
    """
    if search_scores is None or selected.empty:
        return []
    out = []
    for mode in pd.unique(selected["search"]):
        if mode == "none":
            continue
        part = selected[selected["search"] == mode]
        chosen = [json.loads(p) for p in part["params"]]
        keys = sorted({k for c in chosen for k in c})
        for key in keys:
            if key not in search_scores.columns:
                continue
            axis = pd.unique(search_scores[key])
            if len(axis) < 3 or not all(isinstance(v, (int, float, np.integer, np.floating)) and not
                                        isinstance(v, bool) for v in axis):
                continue
            lo, hi = float(np.min(axis)), float(np.max(axis))
            for edge, value in (("min", lo), ("max", hi)):
                n = sum(1 for c in chosen if key in c and isinstance(c[key], (int, float))
                        and math.isclose(float(c[key]), value, rel_tol=1e-12, abs_tol=1e-12))
                if n:
                    out.append({"search": str(mode), "param": key, "edge": edge, "value": value, "folds": n,
                                "of": len(chosen)})
    return out


def _flag_notes(flags: dict) -> list[str]:
    notes = []
    for mode, label in flags.get("collapsed", {}).items():
        notes.append(f"search {mode!r}: every prediction is {label!r}; the classifier collapsed to one class and "
                     "its scores equal a constant guess (try preprocessing='standard', another classifier or "
                     "its parameters)")
    for e in flags.get("edge_optima", []):
        if 2 * e["folds"] > e["of"]:
            where = "largest" if e["edge"] == "max" else "smallest"
            notes.append(f"search {e['search']!r}: {e['param']} = {e['value']:g}, the {where} value of its grid, "
                         f"was chosen in {e['folds']} of {e['of']} fold(s); the optimum may lie outside the grid "
                         "(widen it with grid=...)")
    return notes


@dataclass
class Results:
    """The outcome of :func:`run_experiment`.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy scores: ``dataset``, ``method``, ``protocol``, ``search``, ``classifier``,
        ``metric``, ``value``, ``average`` (``"pooled"`` over folds, or ``"per_fold"``
        means), ``parameters`` (JSON). Rows with ``method="baseline"`` hold the
        majority-class baseline from the tested samples' class counts (``search="counts"``,
        :func:`mer_lab.evaluation.metrics.baseline_scores`). ``dataset`` is
        ``"all"`` for the whole corpus, otherwise one dataset of a composite.
    predictions : pandas.DataFrame
        Fold-level predictions: ``uid``, ``dataset``, ``group``, ``fold``, ``search``,
        ``true``, ``predicted``.
    selected : pandas.DataFrame
        Chosen hyper-parameters per (search mode, fold), as JSON.
    config : dict
        Everything needed to rerun: method and its parameters, protocol, classifier,
        search, grid, preprocessing, metric, seed, corpus, package versions.
        ``config["features"]`` records what produced the features: ``{"source":
        "computed", "method", "params"}`` when :func:`run_experiment` computed them,
        ``{"source": "external"}`` for precomputed ones of unknown origin (then
        ``method_params`` is None: the method's feature parameters produced nothing), or
        the ``feature_source`` the caller gave.
    search_scores : pandas.DataFrame or None
        Pooled score of every candidate setting (what the thesis mode selects on).
    notes : list of str
        Protocol notes (see :func:`mer_lab.evaluation.protocols.protocol_notes`) and the
        warnings below, in words.
    flags : dict
        Results that need a second look (each also raised as an
        :class:`EvaluationWarning` and written to ``notes``): ``"collapsed"``, search
        mode -> the single class its predictions collapsed to; ``"edge_optima"``, one
        record per (search, param, edge) of hyper-parameters chosen at the smallest or
        largest value of their grid axis, with the number of folds (``folds`` of ``of``).
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    selected: pd.DataFrame
    config: dict
    search_scores: pd.DataFrame | None = None
    notes: list = field(default_factory=list)
    flags: dict = field(default_factory=dict)

    @property
    def collapsed(self) -> bool:
        """True when some search mode predicted a single class for every sample."""
        return bool(self.flags.get("collapsed"))

    @property
    def edge_optima(self) -> pd.DataFrame:
        """Hyper-parameters chosen on the edge of their grid (one row per search, param, edge)."""
        return pd.DataFrame(self.flags.get("edge_optima", []),
                            columns=["search", "param", "edge", "value", "folds", "of"])

    @property
    def searches(self) -> list[str]:
        return list(pd.unique(self.predictions["search"]))

    def scores(self, search: str | None = None, *, dataset: str = "all", average: str = "pooled") -> dict:
        """Metric -> value for one search mode (default: the experiment's own)."""
        search = search or self.config["search"]
        t = self.table
        sel = t[(t["search"] == search) & (t["dataset"] == dataset) & (t["average"] == average)]
        if sel.empty:
            raise ValueError(f"no scores for search={search!r}, dataset={dataset!r}, average={average!r}; "
                             f"searches: {self.searches}")
        return dict(zip(sel["metric"], sel["value"]))

    def baseline(self, *, dataset: str = "all") -> dict:
        """The majority-class baseline from the tested samples' class counts (thesis Table 3)."""
        t = self.table
        sel = t[(t["search"] == "counts") & (t["dataset"] == dataset)]
        return dict(zip(sel["metric"], sel["value"]))

    def summary(self) -> pd.DataFrame:
        """Pooled scores on the whole corpus: one row per search mode plus the baseline."""
        rows = {s: self.scores(s) for s in self.searches}
        rows["baseline"] = self.baseline()
        out = pd.DataFrame(rows).T[list(METRICS)]
        if {"thesis", "nested"} <= set(rows):
            out.loc["gap (thesis - nested)"] = out.loc["thesis"] - out.loc["nested"]
        return out

    def confusion(self, search: str | None = None) -> pd.DataFrame:
        search = search or self.config["search"]
        p = self.predictions[self.predictions["search"] == search]
        return confusion_matrix(p["true"].to_numpy(), p["predicted"].to_numpy())

    def __repr__(self) -> str:
        c = self.config
        try:
            s = self.scores()
            text = ", ".join(f"{k} {s[k]:.4f}" for k in ("accuracy", "macro_f1", "uar"))
        except ValueError:
            text = "no scores"
        return f"<Results {c.get('method')} on {c.get('corpus')} ({c.get('protocol')}, {c.get('search')}): {text}>"

    # -- files -------------------------------------------------------------------------
    def to_csv(self, path, *, what: str = "table") -> Path:
        """Write the scores (``what="table"``) or the predictions (``"predictions"``) as CSV.

        The first lines are ``#`` comments holding the configuration as JSON (seed and
        package versions included); read back with ``pandas.read_csv(path, comment="#")``.
        """
        check_choice("what", what, ["table", "predictions", "selected"])
        frame = {"table": self.table, "predictions": self.predictions, "selected": self.selected}[what]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as fh:
            fh.write(f"# mer_lab results ({what})\n")
            fh.write("# config: " + _plain_json(self.config) + "\n")
            frame.to_csv(fh, index=False)
        return path

    def to_json(self, path) -> Path:
        """Write everything (config, table, predictions, selected, notes) as one JSON file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"config": self.config, "notes": self.notes, "flags": self.flags,
               "table": json.loads(self.table.to_json(orient="records")),
               "predictions": json.loads(self.predictions.to_json(orient="records")),
               "selected": json.loads(self.selected.to_json(orient="records"))}
        path.write_text(_plain_json(doc))
        return path

    @classmethod
    def from_json(cls, path) -> Results:
        doc = json.loads(Path(path).read_text())
        return cls(table=pd.DataFrame(doc["table"]), predictions=pd.DataFrame(doc["predictions"]),
                   selected=pd.DataFrame(doc["selected"]), config=doc["config"], notes=doc.get("notes", []),
                   flags=doc.get("flags", {}))


def _score_rows(pred: pd.DataFrame, *, by_dataset: bool) -> list[dict]:
    rows = []
    parts = [("all", pred)]
    if by_dataset and pred["dataset"].nunique() > 1:
        parts += [(str(d), p) for d, p in pred.groupby("dataset", sort=True)]
    for name, p in parts:
        t, y = p["true"].to_numpy(), p["predicted"].to_numpy()
        pooled = scores(t, y)
        for m in METRICS:
            rows.append({"dataset": name, "metric": m, "value": pooled[m], "average": "pooled"})
        if p["fold"].nunique() > 1:
            per = scores(t, y, folds=p["fold"].to_numpy(), average="per_fold")
            for m in METRICS:
                rows.append({"dataset": name, "metric": m, "value": per[m], "average": "per_fold"})
    return rows


def _baseline_rows(pred: pd.DataFrame, *, by_dataset: bool) -> list[dict]:
    rows = []
    parts = [("all", pred)]
    if by_dataset and pred["dataset"].nunique() > 1:
        parts += [(str(d), p) for d, p in pred.groupby("dataset", sort=True)]
    for name, p in parts:
        b = baseline_scores(p["true"].value_counts())
        for m in METRICS:
            rows.append({"dataset": name, "metric": m, "value": b[m], "average": "pooled"})
    return rows


def _auto_grid(grid, classifier, gamma_step, n_features):
    if classifier != "svm_poly":
        return grid
    if isinstance(grid, str) and grid == "auto":
        if n_features > 1000 or gamma_step >= 0.1:
            return PolyGrid(gammas=tuple(thesis_gammas(0.1)))
        return poly_grid("thesis")
    return poly_grid(grid, n_features=n_features)


def _grid_repr(grid):
    if isinstance(grid, PolyGrid):
        return {"degrees": list(grid.degrees), "coefs": list(grid.coefs), "Cs": list(grid.Cs),
                "gammas": [grid.gammas[0], grid.gammas[-1], len(grid.gammas)], "settings": grid.n_settings}
    return grid


def run_experiment(corpus, method, *, protocol: str = "loso", classifier: str = "svm_poly",
                   search: str = "nested", params: Mapping | None = None, classifier_params: Mapping | None = None,
                   grid="auto", preprocessing: str = "auto", metric: str = "macro_f1", train=None, test=None,
                   seed: int = 0, progress: bool = True, cache=True, n_jobs: int = 1, client=None,
                   features: tuple[np.ndarray, Sequence[str]] | None = None,
                   feature_source: str | Mapping | None = None, report_thesis: bool = False,
                   inner="auto", prune="auto") -> Results:
    """Evaluate a method on a corpus under a protocol.

    Parameters
    ----------
    corpus : Corpus or str
        The samples (a dataset name is loaded by :func:`mer_lab.datasets.registry.load`).
        Labels come from ``corpus.samples["label"]``; subjects from ``corpus.groups``.
    method : str, sklearn.pipeline.Pipeline or None
        A method of :mod:`mer_lab.methods` (``"baseline"`` is the majority class): its
        pipeline (:func:`mer_lab.methods.make_pipeline`) runs, the steps up to
        ``features`` once per clip (cached), ``stage``, ``scale`` and the classifier in
        every training fold. Or a pipeline of your own with the same step names (its
        classifier one of :data:`~mer_lab.evaluation.classifiers.CLASSIFIERS`' estimators;
        ``classifier`` and ``classifier_params`` then come from it). Or ``None`` with
        ``features``: features made elsewhere, recorded as ``"external"`` (no method
        parameters; ``preprocessing="auto"`` standardises them).
    protocol : {"loso", "lovo", "cross", "megc"}
        See :mod:`mer_lab.evaluation.protocols`; ``train``/``test`` name the datasets
        of ``"cross"``.
    classifier : str
        A name of :data:`mer_lab.evaluation.classifiers.CLASSIFIERS` (default the thesis's
        polynomial SVM).
    search : {"nested", "thesis", "none"}
        Hyper-parameter choice (:mod:`mer_lab.evaluation.search`). ``"nested"`` (the
        default) chooses on the training subjects only; ``"thesis"`` on the pooled test
        folds, as the thesis did (optimistic).
    report_thesis : bool
        With ``"nested"``: also report the ``"thesis"`` selection, so that
        :meth:`Results.summary` shows both and the gap (one more full-grid pass).
    inner, prune
        Nested search's inner folds and grid pruning (:func:`mer_lab.evaluation.search.search_predict`).
    params : mapping, optional
        Overrides of a named method's parameters: flat names (``tim``, ``blocks``,
        ``engine``, ...) or ``step__param`` (see :func:`mer_lab.methods.make_pipeline`).
    classifier_params : mapping, optional
        Classifier parameters for ``search="none"`` (e.g. ``{"degree": 2, "coef": 1,
        "gamma": 0.01, "C": 0.1}``).
    grid : "auto", str, mapping or PolyGrid
        Search grid; ``"auto"`` is the thesis grid with the method's gamma step (0.1 for
        LBP-TOP and Sparse MDMO, or for any feature set over 1000-d).
    preprocessing : {"auto", "standard", "minmax", "l2", "none"}
        Per-fold scaling (the pipeline's ``scale`` step); ``"auto"`` takes the method's
        default (``"none"`` for the histogram and MDMO features the thesis fed to the SVM
        directly).
    metric : {"macro_f1", "accuracy", "uar"}
        Selection score of the search.
    seed : int
        Seed of random classifiers (recorded in the results).
    progress, cache, n_jobs, client
        Progress bars, feature cache, local parallelism and a Dask client.
    features : (sample, feature) DataArray or (X, names), optional
        Precomputed features in corpus order (skips :func:`compute_features`, whose
        output is accepted as it is). With
        ``method=None`` they are evaluated as external features (no method, no fold
        stage); with a method name, its fold stage and default preprocessing apply.
    feature_source : None, "method", str or mapping
        What produced ``features``, recorded in the results instead of the method's
        feature parameters (which did not produce them): ``None`` records
        ``"external"``; ``"method"`` states that they are this method's features with
        ``params`` (as :func:`compute_features` gives them), so its parameters are
        recorded; any other string or mapping is recorded as given (e.g. ``{"tool":
        "matlab", "file": "feats.csv"}``). A method's fold stage (Sparse MDMO's
        dictionary) runs on the given features either way and its parameters are kept.

    Returns
    -------
    Results

    Examples
    --------
    >>> from mer_lab.datasets.synthetic import make_corpus
    >>> corpus = make_corpus(n_subjects=4, clips_per_subject=4, size=48, classes=["happiness", "surprise"])
    >>> res = run_experiment(corpus, "hog_top", params={"blocks": (2, 2, 1)}, classifier="knn",
    ...                      search="none", classifier_params={"n_neighbors": 1}, progress=False, cache=False)
    >>> sorted(res.scores())[:2]
    ['accuracy', 'macro_f1']
    """
    from sklearn.pipeline import Pipeline

    from ..methods import get_method, make_pipeline, own_classifier

    t0 = time.perf_counter()
    corpus = _resolve_corpus(corpus)
    external = method is None
    user_pipe = isinstance(method, Pipeline)
    if external and features is None:
        raise ValueError("method=None evaluates features made elsewhere: pass features=(X, names) or a "
                         "(sample, feature) DataArray")
    if (external or user_pipe) and params:
        what = "external features (method=None)" if external else "a pipeline (set them with pipe.set_params)"
        raise ValueError(f"params {sorted(params)} have no meaning for {what}")
    m = EXTERNAL_METHOD if external else (None if user_pipe else get_method(method))
    label = "pipeline" if user_pipe else m.name
    check_choice("protocol", protocol, list(PROTOCOLS))
    check_choice("search", search, SEARCHES)
    check_choice("preprocessing", preprocessing, ["auto", *PREPROCESSING])
    if len(corpus) == 0:
        raise ValueError(f"corpus {corpus.name!r} holds no samples")
    counts = corpus.class_counts()
    if len(counts) < 2:
        held = ", ".join(f"{k!r}: {int(v)}" for k, v in counts.items()) or "no labels"
        raise ValueError(f"corpus {corpus.name!r} holds {len(counts)} class ({held}); run_experiment evaluates "
                         "recognition on at least two classes (with one, every metric is 1.0 whatever the "
                         "method). Accepted: a corpus whose samples['label'] holds two or more classes (see "
                         "Corpus.map_classes)")
    dataset_key = _dataset_key(corpus, protocol)
    baseline = not external and not user_pipe and m.features is None
    if user_pipe:
        pipe = method
        classifier, classifier_params = _classifier_spec(pipe.steps[-1][1])
        resolved = _pipeline_params(pipe)
        gamma_step = 0.01
    else:
        if baseline:  # the majority baseline
            classifier, search, classifier_params = "majority", "none", None
        elif not external:
            classifier, classifier_params = own_classifier(m, classifier, classifier_params)
        pipe = None if external else make_pipeline(
            m, dataset=dataset_key, classifier=classifier, **dict(params or {}),
            **{f"classifier__{k}": v for k, v in dict(classifier_params or {}).items()})
        resolved = {} if external else _flat_params(m, pipe)
        gamma_step = m.gamma_step
    if preprocessing != "auto":
        prep = preprocessing
    elif pipe is not None:
        prep = _scale_name(dict(pipe.steps).get("scale", "passthrough"))
    else:
        prep = m.preprocessing
    stage = None
    if pipe is not None:
        fold = [(n, e) for n, e in fold_steps(pipe)[:-1] if not (isinstance(e, str) and e == "passthrough")]
        unknown = [n for n, _e in fold if n not in ("stage", "scale")]
        if unknown:
            raise ValueError(f"the experiment layer runs a pipeline's steps after 'features' as 'stage' (a "
                             f"transformer fitted per fold), 'scale' and 'classifier'; got {unknown}")
        stage = dict(fold).get("stage")
    if features is None:
        if feature_source is not None:
            raise ValueError("feature_source describes precomputed features; pass it with features=(X, names)")
        computed = compute_features(corpus, pipe if user_pipe else m, params=None if user_pipe else params,
                                    cache=cache, progress=progress, n_jobs=n_jobs, client=client, dataset=dataset_key)
        X, names = as_feature_matrix(computed)
        provenance = {"source": "computed", "method": label, "params": resolved}
    else:
        X, names = as_feature_matrix(features)
        if X.shape[0] != len(corpus):
            raise ValueError(f"features has {X.shape[0]} rows but the corpus holds {len(corpus)} samples")
        if feature_source is None:
            provenance = {"source": "external"}
        elif isinstance(feature_source, str) and feature_source == "method":
            provenance = {"source": "method", "method": label, "params": resolved}
        elif isinstance(feature_source, (str, Mapping)):
            provenance = {"source": json.loads(_plain_json(feature_source))}
        else:
            raise ValueError(f"feature_source must be None, 'method', a string or a mapping, got "
                             f"{describe(feature_source)}")
        if stage is not None and provenance.get("params") is None:
            provenance["fold_stage"] = json.loads(_plain_json(stage.get_params(deep=False)))
    recorded = provenance.get("params") if provenance["source"] in ("computed", "method") else provenance
    grid_used = _auto_grid(grid, classifier, gamma_step, X.shape[1])
    s = corpus.samples
    run = run_protocol(X, s["label"].to_numpy(), groups=s["group"].to_numpy(), datasets=s["dataset"].to_numpy(),
                       uids=np.asarray(corpus.uids, dtype=object), protocol=protocol, train=train, test=test,
                       classifier=classifier, search=search, params=classifier_params, grid=grid_used,
                       preprocessing=prep, fold_transformer=stage, metric=metric,
                       n_jobs=n_jobs, progress=progress, client=client, seed=seed, inner=inner, prune=prune,
                       report_thesis=report_thesis)
    by_dataset = protocol in ("megc", "cross") or corpus.samples["dataset"].nunique() > 1
    rows = []
    for mode in pd.unique(run.predictions["search"]):
        pred = run.predictions[run.predictions["search"] == mode]
        sel = run.selected[run.selected["search"] == mode]["params"]
        chosen = json.loads(sel.iloc[0]) if sel.nunique() == 1 else "per fold (see selected)"
        parameters = _plain_json({"features": recorded, "classifier": chosen, "preprocessing": prep})
        for r in _score_rows(pred, by_dataset=by_dataset):
            rows.append({"method": label, "search": mode, "parameters": parameters, **r})
    first = run.predictions[run.predictions["search"] == run.predictions["search"].iloc[0]]
    for r in _baseline_rows(first, by_dataset=by_dataset):
        rows.append({"method": "baseline", "search": "counts", "parameters": "{}", **r})
    table = pd.DataFrame(rows)
    table.insert(2, "protocol", protocol)
    table.insert(4, "classifier", classifier)
    table = table[["dataset", "method", "protocol", "search", "classifier", "metric", "value", "average",
                   "parameters"]]
    config = {
        "method": label, "method_params": resolved if provenance["source"] in ("computed", "method") else None,
        "features": provenance, "feature_dim": int(X.shape[1]),
        "protocol": protocol, "train": train, "test": test, "classifier": classifier,
        "classifier_params": {k: v for k, v in dict(classifier_params or {}).items() if k != "progress"},
        "search": search, "grid": _grid_repr(grid_used),
        "report_thesis": bool(report_thesis and search == "nested"), "inner": inner, "prune": prune,
        "preprocessing": prep, "metric": metric, "seed": seed, "corpus": corpus.name,
        "datasets": corpus.datasets, "corpus_info": json.loads(_plain_json(corpus.info)),
        "n_samples": len(corpus), "classes": {str(k): int(v) for k, v in corpus.class_counts().items()},
        "search_stats": {k: v for k, v in run.stats.items() if isinstance(v, (int, float, str))},
        "seconds": round(time.perf_counter() - t0, 3), "versions": versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    flags = {}
    if not baseline:  # the majority baseline collapses by design
        collapsed = _collapsed(run.predictions)
        if collapsed:
            flags["collapsed"] = collapsed
    edges = _edge_optima(run.selected, run.search_scores)
    if edges:
        flags["edge_optima"] = edges
    notes = list(run.notes)
    for text in _flag_notes(flags):
        warnings.warn(f"{label}: {text}", EvaluationWarning, stacklevel=2)
        notes.append(text)
    return Results(table=table, predictions=run.predictions, selected=run.selected, config=config,
                   search_scores=run.search_scores, notes=notes, flags=flags)


# =========================================================================== Table 3
def _method_kwargs(method: str, common: Mapping | None, kwargs: Mapping) -> dict:
    """run_experiment keywords of one method of a multi-method run (table3)."""
    from ..methods import param_aliases

    out = dict(kwargs)
    given = out.pop("params", None) or {}
    if given and all(isinstance(v, Mapping) for v in given.values()):
        given = given.get(method, {})
    accepted = set(param_aliases(method))
    merged = {k: v for k, v in dict(common or {}).items() if k in accepted}
    merged.update(given)
    if merged:
        out["params"] = merged
    return out



def table3(corpora, methods: Sequence[str] = ("baseline", "lbp_top", "mdmo", "sparse_mdmo"), *,
           search: str = "nested", reproduce_thesis: bool = False, return_results: bool = False,
           common: Mapping | None = None, **kwargs):
    """Thesis Table 3: accuracy and macro F1 of methods x datasets, published numbers alongside.

    Parameters
    ----------
    corpora : Corpus, str, or a sequence / mapping of them
        The datasets (names are loaded with :func:`mer_lab.datasets.registry.load`, CASME II
        with the 5-class mapping of the thesis, :data:`THESIS_MAPPINGS`).
    methods : sequence of str
        Methods to run (rows).
    search : str
        Search mode whose scores fill the ``mer_lab`` columns: ``"nested"`` (the default,
        chosen on training subjects only) or ``"thesis"`` (chosen on the test folds, as
        the thesis did).
    reproduce_thesis : bool
        Run nested search and also the thesis's selection: the ``mer_lab`` columns hold
        nested, ``mer_lab_thesis_mode`` the thesis-mode numbers beside them (the gap is
        their difference), ``thesis`` the published ones.
    return_results : bool
        Also return the :class:`Results` of every (method, dataset).
    common : mapping, optional
        Parameters offered to every method that has them (e.g. ``{"engine": "farneback"}``
        reaches the optical-flow methods and is left out for LBP-TOP and the baseline);
        ``params`` in ``kwargs`` (a method -> parameters mapping or one dict for all)
        wins where both set one.
    **kwargs
        Passed to :func:`run_experiment` (protocol, classifier, params, n_jobs, ...).

    Returns
    -------
    pandas.DataFrame
        Index: method. Columns: a MultiIndex (metric in {"accuracy", "f1"}, dataset,
        source in {"mer_lab", "thesis"}, plus ``"mer_lab_thesis_mode"`` with
        ``reproduce_thesis``); ``thesis`` holds thesis Table 3 where the dataset is one it
        reports (SMIC, CASME, CASME II, SAMM), otherwise NaN.
    """
    if isinstance(corpora, Mapping):
        items = list(corpora.items())
    elif isinstance(corpora, (str,)) or hasattr(corpora, "samples"):
        items = [(None, corpora)]
    else:
        items = [(None, c) for c in corpora]
    loaded = []
    for label, c in items:
        if isinstance(c, str) and c in THESIS_MAPPINGS:
            c = _resolve_corpus(c).map_classes(THESIS_MAPPINGS[c])
        c = _resolve_corpus(c)
        loaded.append((label or (c.datasets[0] if len(c.datasets) == 1 else c.name), c))
    check_choice("search", search, SEARCHES)
    if reproduce_thesis:
        search = "nested"
    sources = ("mer_lab", "mer_lab_thesis_mode", "thesis") if reproduce_thesis else ("mer_lab", "thesis")
    records = []
    results = {}
    for name, corpus in loaded:
        for method in methods:
            res = run_experiment(corpus, method, search=search, report_thesis=reproduce_thesis,
                                 **_method_kwargs(method, common, kwargs))
            results[(method, name)] = res
            if method == "baseline":  # thesis Table 3's baseline: majority class from the counts
                sc = th = res.baseline()
            else:
                sc = res.scores(search if search in res.searches else res.searches[0])
                th = res.scores("thesis") if "thesis" in res.searches else None
            published = PUBLISHED.get((_canonical(name), method), (math.nan, math.nan))
            for metric, key, pub in (("accuracy", "accuracy", published[0]), ("f1", "macro_f1", published[1])):
                records.append({"method": method, "metric": metric, "dataset": name, "source": "mer_lab",
                                "value": sc[key]})
                if reproduce_thesis:
                    records.append({"method": method, "metric": metric, "dataset": name,
                                    "source": "mer_lab_thesis_mode", "value": th[key] if th else math.nan})
                records.append({"method": method, "metric": metric, "dataset": name, "source": "thesis",
                                "value": pub})
    frame = pd.DataFrame(records)
    table = frame.pivot_table(index="method", columns=["metric", "dataset", "source"], values="value",
                              aggfunc="first", dropna=False)
    table = table.reindex(index=list(methods))
    order = [(m, d, s) for m in ("accuracy", "f1") for d, _c in loaded for s in sources]
    table = table.reindex(columns=pd.MultiIndex.from_tuples(order, names=["metric", "dataset", "source"]))
    return (table, results) if return_results else table
