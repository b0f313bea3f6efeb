"""Method comparisons: what the dashboard (and the last notebook) ask the library for.

A comparison runs several named methods (:mod:`mer_lab.methods`) on one corpus under one
protocol and gathers, per method, the pooled scores, per-class F1, the confusion matrix
and, for real datasets, the thesis's published numbers. Everything is cached in memory by
plain values (dataset, difficulty, class mapping, method, its parameters, protocol,
classifier, search), on top of the on-disk feature and flow caches, so changing one
widget recomputes only what that widget changes.

Examples
--------
>>> from mer_lab.compare import CorpusChoice, compare
>>> choice = CorpusChoice("synthetic", n_subjects=4, clips_per_subject=4, size=48)
>>> result = compare(choice, ["baseline", "hog_top"], classifier="knn",
...                  params={"hog_top": {"blocks": (2, 2, 1)}}, cache=False)
>>> list(result.scores["method"])
['baseline', 'hog_top']
"""

from __future__ import annotations

import json
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._validate import check_choice, check_int

__all__ = [
    "SYNTHETIC_COMPOSITE",
    "DIFFICULTIES",
    "SEARCHES",
    "CorpusChoice",
    "Comparison",
    "dataset_options",
    "get_corpus",
    "mapping_options",
    "check_classes",
    "synthetic_composite",
    "run_method",
    "compare",
    "changes",
    "class_averages",
    "class_average_apex_flow",
    "sample_view",
    "clear_memory",
]

SYNTHETIC_COMPOSITE = "synthetic_composite"
DIFFICULTIES = ("easy", "default", "hard")
SEARCHES = ("none", "thesis", "nested")
METRICS = ("accuracy", "macro_f1", "uf1", "uar")

_LOCK = threading.RLock()
_MEMO: OrderedDict = OrderedDict()
_MEMO_SIZE = 256


def _memo(key, compute: Callable):
    """A small thread-safe LRU keyed by plain values (never by arrays)."""
    with _LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    value = compute()
    with _LOCK:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def clear_memory() -> None:
    """Forget every in-memory result (the disk caches stay)."""
    with _LOCK:
        _MEMO.clear()


def _freeze(params: Mapping | None) -> str:
    """Parameters as a canonical JSON string: hashable, order-free, plain."""
    def plain(v):
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in sorted(v.items())}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v
    return json.dumps(plain(dict(params or {})), sort_keys=True)


# --------------------------------------------------------------------------- corpora
@dataclass(frozen=True)
class CorpusChoice:
    """Which corpus to compare methods on (plain values only, so it can key caches).

    Parameters
    ----------
    dataset : str
        ``"synthetic"`` (built in), ``"synthetic_composite"`` (three synthetic parts
        recorded differently, for cross-database and MEGC-style protocols), or a dataset
        name of :mod:`mer_lab.datasets.registry` that the manifest finds.
    difficulty : {"easy", "default", "hard"}
        Synthetic corpora only: how strong the distractors are.
    mapping : str
        Class mapping (``"native"`` or a name in :data:`mer_lab.datasets.CLASS_MAPPINGS`).
    n_subjects, clips_per_subject, size, seed : int
        Synthetic corpora only: its size and seed.
    like : str, optional
        ``"synthetic"`` only: a twin of a real dataset (``"casme2"``, ``"smic"``,
        ``"casme"``, ``"samm"``; see :func:`mer_lab.datasets.synthetic.make_corpus`),
        ``scale`` times its size, rendered at ``size`` pixels. ``n_subjects`` and
        ``clips_per_subject`` are then unused.
    scale : float
        Size of the twin relative to the real dataset, in (0, 1].
    appearance : float, optional
        Synthetic corpora only: depth of the AU appearance cues in grey levels (0 = motion
        only); default the difficulty's.
    """

    dataset: str = "synthetic"
    difficulty: str = "default"
    mapping: str = "native"
    n_subjects: int = 12
    clips_per_subject: int = 10
    size: int = 96
    seed: int = 0
    like: str | None = None
    scale: float = 0.25
    appearance: float | None = None

    def __post_init__(self):
        from .datasets.synthetic import TWINS, difficulty_knobs, twin_plan

        if self.like is not None:
            if self.dataset != "synthetic":
                raise ValueError(f"like= applies to the 'synthetic' dataset only, got dataset={self.dataset!r}")
            check_choice("like", self.like, list(TWINS))
            twin_plan(self.like, self.scale)  # a scale that empties a class or a subject fails here
        if self.appearance is not None:
            difficulty_knobs(appearance=self.appearance)

    @property
    def is_synthetic(self) -> bool:
        return self.dataset in ("synthetic", SYNTHETIC_COMPOSITE)


def dataset_options(manifest=None) -> pd.DataFrame:
    """Datasets a user can pick: name, title, usable, and a hint when not usable.

    The synthetic corpus and the synthetic composite are always usable; a real dataset is
    usable when the manifest (or ``MER_LAB_DATA``) points at an existing folder.
    """
    from .datasets.registry import DATASETS, resolve_root

    rows = [
        {"name": "synthetic", "title": "Synthetic corpus (built in)", "usable": True, "hint": ""},
        {"name": SYNTHETIC_COMPOSITE, "title": "Synthetic composite: 3 parts (cross-database, MEGC)",
         "usable": True, "hint": ""},
    ]
    for name, spec in DATASETS.items():
        if not spec.needs_root or name in ("samm_long", "flow_images"):
            continue  # built in, long videos (spotting) or flow images (no frames)
        try:
            path, _ = resolve_root(name, manifest=manifest)
        except ValueError:
            path = None
        found = path is not None and path.is_dir()
        hint = "" if found else (
            f"{name} is not found. It is licensed by its owners: request it from them (mer_lab never "
            "downloads it), then set its path in data_manifest.yaml or put it under $MER_LAB_DATA.")
        rows.append({"name": name, "title": spec.description.split(":")[0], "usable": found, "hint": hint})
    return pd.DataFrame(rows)


def synthetic_composite(*, difficulty: str = "default", n_subjects: int = 6, clips_per_subject: int = 10,
                        size: int = 96, seed: int = 0, appearance: float | None = None):
    """Three synthetic corpora recorded differently, joined like the MEGC 2019 composite.

    The parts (``synthetic_a`` at 100 fps, ``synthetic_b`` at 200 fps, ``synthetic_c`` at
    60 fps with a CASME II-like class balance) have their own subjects and seeds, so that
    cross-database protocols have distinct "databases" to train and test on.
    """
    from .datasets.corpus import Corpus, composite
    from .datasets.synthetic import make_corpus

    specs = [("synthetic_a", dict(fps=100, balance="balanced")),
             ("synthetic_b", dict(fps=200, balance="balanced")),
             ("synthetic_c", dict(fps=60, balance="casme2"))]
    parts = []
    for i, (name, extra) in enumerate(specs):
        base = make_corpus(n_subjects=n_subjects, clips_per_subject=clips_per_subject, size=size,
                           difficulty=difficulty, appearance=appearance, seed=seed + 1000 * (i + 1), **extra)
        samples = base.samples.copy()
        samples["dataset"] = name
        samples = samples.drop(columns=["group"]).reset_index(drop=True)
        parts.append(Corpus(samples, loader=_Renamed(base, name), name=name, truth=base._truth,
                            info={**base.info, "part": name}))
    return composite(parts, name=SYNTHETIC_COMPOSITE)


class _Renamed:
    """Loader of a renamed synthetic part: the base corpus's loader, with the new name."""

    def __init__(self, base, name):
        self.base, self.name = base, name

    def __call__(self, row):
        cube = self.base._loader(row)
        cube.attrs["dataset"] = self.name
        return cube


#: Rendered clips of a synthetic corpus kept in memory by :func:`get_corpus` (about 0.6 MB
#: per 96-pixel clip): the default corpus's 120 clips are rendered once per comparison
#: instead of once per method.
CLIPS_IN_MEMORY = 400


def get_corpus(choice: CorpusChoice):
    """The corpus of a choice (cached in memory by its plain values)."""
    from .datasets.registry import load

    def build():
        if choice.dataset == "synthetic":
            from .datasets.synthetic import make_corpus

            # every method of a comparison reads every clip: keep them all rendered (up to
            # CLIPS_IN_MEMORY) instead of rendering each clip again for each method
            if choice.like is not None:
                corpus = make_corpus(like=choice.like, scale=choice.scale, size=choice.size,
                                     difficulty=choice.difficulty, appearance=choice.appearance, seed=choice.seed,
                                     cache_clips=CLIPS_IN_MEMORY)
            else:
                corpus = make_corpus(n_subjects=choice.n_subjects, clips_per_subject=choice.clips_per_subject,
                                     size=choice.size, difficulty=choice.difficulty, appearance=choice.appearance,
                                     seed=choice.seed, cache_clips=CLIPS_IN_MEMORY)
        elif choice.dataset == SYNTHETIC_COMPOSITE:
            corpus = synthetic_composite(difficulty=choice.difficulty, n_subjects=max(2, choice.n_subjects // 2),
                                         clips_per_subject=choice.clips_per_subject, size=choice.size,
                                         seed=choice.seed, appearance=choice.appearance)
        else:
            corpus = load(choice.dataset)
        if choice.mapping != "native":
            corpus = corpus.map_classes(choice.mapping)
        if len(corpus) == 0:
            raise ValueError(f"the class mapping {choice.mapping!r} leaves no sample of {choice.dataset!r}")
        return corpus

    return _memo(("corpus", choice), build)


def check_classes(corpus, choice: CorpusChoice | None = None):
    """Refuse a corpus with fewer than two classes: every score would be a perfect 1.0.

    Raises
    ------
    ValueError
        Naming the dataset, the class mapping and the classes left, with what to do.
    """
    classes = list(corpus.classes)
    if len(classes) >= 2:
        return corpus
    what = f"{choice.dataset!r} with the class mapping {choice.mapping!r}" if choice is not None else "this corpus"
    left = f"only the class {classes[0]!r}" if classes else "no class"
    raise ValueError(
        f"{what} leaves {left}: a one-class comparison scores 1.0 for every method and tells nothing. "
        "Pick a mapping that keeps at least two classes (see mapping_options), or another dataset.")


def mapping_options(choice: CorpusChoice) -> pd.DataFrame:
    """What each class mapping keeps of a corpus: one row per mapping (``native`` first).

    Columns: ``mapping``, ``classes`` (list of the classes left), ``n_classes``,
    ``n_samples`` and ``fits`` (at least two classes left, so that a comparison means
    something). Only the samples table is read, never the frames.
    """
    from .datasets import CLASS_MAPPINGS

    base = get_corpus(replace(choice, mapping="native"))
    rows = []
    for name in ["native", *CLASS_MAPPINGS]:
        mapped = base if name == "native" else base.map_classes(name)
        classes = list(mapped.classes) if len(mapped) else []
        rows.append({"mapping": name, "classes": classes, "n_classes": len(classes), "n_samples": len(mapped),
                     "fits": len(classes) >= 2})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- running
def run_method(choice: CorpusChoice, method: str, *, params: Mapping | None = None, protocol: str = "loso",
               classifier: str = "svm_linear", classifier_params: Mapping | None = None, search: str = "none",
               cache=True, n_jobs: int = 1, on_epoch: Callable[[int, int], None] | None = None):
    """:func:`mer_lab.evaluation.experiment.run_experiment` of one method, memoised by plain values.

    ``on_epoch(done, total)`` is called after every training epoch of a method that trains
    its own network (STSTNet, ...); it is not part of the memo key.
    """
    from .evaluation.experiment import run_experiment
    from .methods import get_method

    check_choice("search", search, SEARCHES)
    key = ("run", choice, method, _freeze(params), protocol, classifier, _freeze(classifier_params), search,
           bool(cache))

    def build():
        corpus = get_corpus(choice)
        # features in this thread (their extraction is not run on threads here); n_jobs
        # goes to the folds of the classifier
        features = _features(choice, method, params, protocol, cache)
        cparams = dict(classifier_params or {})
        if on_epoch is not None and get_method(method).classifier is not None:
            cparams["progress"] = on_epoch  # a network reports each epoch
        # nested comparisons also carry the thesis-mode numbers: the dashboard shows the gap
        return run_experiment(corpus, method, protocol=protocol, classifier=classifier, search=search,
                              params=dict(params or {}), classifier_params=cparams or None,
                              progress=False, cache=cache, n_jobs=n_jobs, features=features,
                              feature_source="method", report_thesis=search == "nested")

    return _memo(key, build)


def _features(choice: CorpusChoice, method: str, params, protocol: str, cache):
    """A method's features on a corpus (a labelled (sample, feature) DataArray), kept in memory:
    a classifier change reads no file."""
    from .evaluation.experiment import _dataset_key, compute_features

    def build():
        corpus = get_corpus(choice)
        return compute_features(corpus, method, params=dict(params or {}), cache=cache, progress=False,
                                dataset=_dataset_key(corpus, protocol))

    return _memo(("features", choice, method, _freeze(params), protocol == "megc", bool(cache)), build)


@dataclass
class Comparison:
    """Scores of several methods on one corpus under one protocol.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per method: ``method``, ``title``, ``accuracy``, ``macro_f1``, ``uf1``,
        ``uar``; with ``search="nested"`` also ``thesis_macro_f1`` and ``gap`` (optimism
        of selecting on the test predictions); for real datasets ``published_accuracy``
        and ``published_f1`` (thesis Table 3) where the thesis reports them.
    per_class : pandas.DataFrame
        F1 per class (columns) and method (rows).
    baseline : dict
        The majority-class baseline of the tested samples.
    results : dict
        Method -> :class:`mer_lab.evaluation.experiment.Results`.
    settings : dict
        The plain values the comparison was made with.
    errors : dict
        Method -> message, for methods that could not run (the others still do).
    tracebacks : dict
        Method -> the full traceback of its error, for a bug report.
    """

    scores: pd.DataFrame
    per_class: pd.DataFrame
    baseline: dict
    results: dict
    settings: dict
    errors: dict = field(default_factory=dict)
    tracebacks: dict = field(default_factory=dict)

    def confusion(self, method: str) -> pd.DataFrame:
        """Confusion matrix (rows true, columns predicted) of one method's pooled predictions."""
        if method not in self.results:
            raise ValueError(f"no results for {method!r}; compared: {list(self.results)}")
        return self.results[method].confusion()


def compare(choice: CorpusChoice, methods: Sequence[str], *, params: Mapping[str, Mapping] | None = None,
            common: Mapping | None = None, protocol: str = "loso", classifier: str = "svm_linear",
            classifier_params: Mapping | None = None, search: str = "none", cache=True, n_jobs: int = 1,
            on_progress: Callable[[int, int, str], None] | None = None) -> Comparison:
    """Run ``methods`` on the corpus of ``choice`` and gather their scores.

    Parameters
    ----------
    choice : CorpusChoice
    methods : sequence of str
        Names of :mod:`mer_lab.methods` (``"baseline"`` is the majority class).
    params : mapping, optional
        Method -> its parameter overrides.
    common : mapping, optional
        Parameters offered to every method that has them (e.g. ``{"engine": "dis",
        "tim": 10}``); ``params`` wins where both set one.
    protocol, classifier, classifier_params, search
        As :func:`mer_lab.evaluation.experiment.run_experiment`.
    n_jobs : int
        Local workers for the folds of each method's classifier.
    on_progress : callable, optional
        Called as ``on_progress(done, total, message)`` before each method and at the end.
    """
    from .evaluation.experiment import PUBLISHED
    from .evaluation.metrics import per_class_scores
    from .methods import get_method, param_aliases

    if not methods:
        raise ValueError("choose at least one method to compare")
    # a corpus that cannot be loaded, or keeps fewer than two classes, fails here, before any method runs
    check_classes(get_corpus(choice), choice)
    rows, per_class, results, errors, details = [], {}, {}, {}, {}
    baseline = {}
    total = len(methods)
    for i, name in enumerate(methods):
        m = get_method(name)
        if on_progress:
            on_progress(i, total, f"{m.title} ({i + 1}/{total})")
        accepted = set(param_aliases(name))
        merged = {k: v for k, v in dict(common or {}).items() if k in accepted}
        merged.update(dict((params or {}).get(name, {})))
        on_epoch = None
        if on_progress and m.classifier is not None:
            def on_epoch(done, all_epochs, i=i, title=m.title):
                # a network trains for minutes: say how far it is (and let a Cancel stop it)
                on_progress(i, total, f"{title} ({i + 1}/{total}), training epoch {done}/{all_epochs}")
        try:
            res = run_method(choice, name, params=merged, protocol=protocol, classifier=classifier,
                             classifier_params=classifier_params, search=search, cache=cache, n_jobs=n_jobs,
                             on_epoch=on_epoch)
        except Exception as exc:  # one method failing must not hide the others
            errors[name] = f"{type(exc).__name__}: {exc}"
            details[name] = traceback.format_exc()
            continue
        results[name] = res
        own = search if name != "baseline" else res.searches[0]
        s = res.scores(own)
        row = {"method": name, "title": m.title, **{k: s.get(k, np.nan) for k in METRICS}}
        if search == "nested" and "thesis" in res.searches:
            t = res.scores("thesis")
            row["thesis_macro_f1"] = t.get("macro_f1", np.nan)
            row["gap"] = row["thesis_macro_f1"] - row["macro_f1"]
        pub = PUBLISHED.get((choice.dataset, name))
        if pub is not None:
            row["published_accuracy"], row["published_f1"] = pub
        rows.append(row)
        pred = res.predictions[res.predictions["search"] == own]
        per_class[name] = per_class_scores(pred["true"].to_numpy(), pred["predicted"].to_numpy())["f1"]
        if not baseline:
            baseline = res.baseline()
    if on_progress:
        on_progress(total, total, "done")
    if not results:
        first = next(iter(errors.values()))
        raise ValueError(f"no method could run with these settings; {first}")
    scores = pd.DataFrame(rows)
    per_class_frame = pd.DataFrame(per_class).T if per_class else pd.DataFrame()
    settings = {"corpus": choice.__dict__ if hasattr(choice, "__dict__") else str(choice), "methods": list(methods),
                "params": json.loads(_freeze(params)), "common": json.loads(_freeze(common)),
                "protocol": protocol, "classifier": classifier,
                "classifier_params": json.loads(_freeze(classifier_params)), "search": search}
    return Comparison(scores=scores, per_class=per_class_frame, baseline=baseline, results=results,
                      settings=settings, errors=errors, tracebacks=details)


def changes(previous: Comparison | None, current: Comparison) -> pd.DataFrame:
    """What changed between two comparisons: per method and metric, before, after, delta."""
    cols = ["method", "metric", "before", "after", "delta"]
    if previous is None or previous.scores.empty or current.scores.empty:
        return pd.DataFrame(columns=cols)
    a = previous.scores.set_index("method")
    b = current.scores.set_index("method")
    rows = []
    for method in b.index.intersection(a.index):
        for metric in METRICS:
            before, after = float(a.at[method, metric]), float(b.at[method, metric])
            rows.append({"method": method, "metric": metric, "before": before, "after": after,
                         "delta": after - before})
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- figures' data
def class_averages(choice: CorpusChoice, *, engine: str = "farneback"):
    """Per-class average apex flow maps of a corpus (thesis Figure 4), memoised."""
    from .cache import flow_cache

    def build():
        with flow_cache():  # the dashboard shares the on-disk flows with the methods
            return class_average_apex_flow(get_corpus(choice), engine=engine)

    return _memo(("class_averages", choice, engine), build)


def sample_view(choice: CorpusChoice, uid: str, *, engine: str = "farneback", align: str = "none") -> dict:
    """One clip for the sample browser: its cube, onset->apex flow and magnitude curve.

    ``align`` (``"none"``, ``"translation"``, ``"affine"``) removes the global (head)
    motion fitted on each flow first, for the flow and the curve alike.
    """
    from .cache import flow_cache
    from .features.apex import flow_magnitude_curve
    from .features.flow import flow_pair, remove_global_motion

    check_choice("align", align, ("none", "translation", "affine"))

    def build():
        corpus = get_corpus(choice)
        cube = corpus.cube(uid)
        with flow_cache():
            flow = flow_pair(cube, engine=engine)
            curve = flow_magnitude_curve(cube, engine=engine, span="clip", align=align)
        if align != "none":
            flow = remove_global_motion(flow, model=align)
        return {"cube": cube, "flow": flow, "curve": curve}

    return _memo(("sample", choice, uid, engine, align), build)


# --------------------------------------------------------------------------- class-average flow maps
def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity transform (rotation, uniform scale, shift) src -> dst."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    U, S, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.diag([1.0, d])
    R = U @ D @ Vt
    scale = np.trace(np.diag(S) @ D) / max((a ** 2).sum() / len(src), 1e-12)
    A = scale * R
    return np.column_stack([A, mu_d - A @ mu_s])


def _truth_landmarks(corpus, uid, cube):
    """Onset landmarks (68, 2) of a clip from the corpus ground truth, or None."""
    if not getattr(corpus, "has_ground_truth", False):
        return None
    gt = corpus.ground_truth(uid)
    if gt is None or "landmarks" not in gt:
        return None
    lm = gt["landmarks"]
    if "coord" in lm.dims and "coord" in lm.coords and lm["coord"].dtype.kind in "UO":
        lm = lm.sel(coord=["x", "y"])
    if "time" in lm.dims:
        from .cube import key_frames

        pos = key_frames(cube)["onset"]
        if "frame" in lm.coords and cube.attrs.get("onset") is not None:
            matches = np.nonzero(lm["frame"].values == cube.attrs["onset"])[0]
            pos = int(matches[0]) if matches.size else pos
        lm = lm.isel(time=pos)
    return np.asarray(lm.values, dtype=np.float64).reshape(-1, 2)


def class_average_apex_flow(corpus, *, engine: str = "farneback", register: str = "auto",
                            landmarks=None, shape=None, by: str = "label", align: str = "none",
                            n_jobs: int = 1, cache=None, **engine_params):
    """Per-class average of the onset -> apex flow of a corpus (thesis Figure 4).

    The dashboard's class-average view (:func:`class_averages`) and notebook 06 show it.

    Parameters
    ----------
    corpus : mer_lab.datasets.corpus.Corpus
        Clips (cubes) or precomputed flows (``(component, y, x)`` DataArrays).
    engine : str
        Flow engine for clips (see :func:`mer_lab.features.flow.optical_flow`).
    register : {"auto", "landmarks", "none"}
        ``"landmarks"``: each sample's flow is resampled onto a common face frame by the
        similarity transform (rotation, scale, shift) taking its onset landmarks onto
        the mean onset shape, so that eyes, brows and mouth line up before averaging;
        flow vectors are rotated and scaled with it. ``"none"``: plain pixel-wise
        average (clips of other sizes are resized to ``shape``). ``"auto"``: landmarks
        when they are available (``landmarks`` given or ground truth with landmarks),
        otherwise none.
    landmarks : callable, optional
        ``landmarks(uid, cube) -> (68, 2)`` onset landmarks ``(x, y)``; default the
        corpus ground truth (synthetic corpora).
    shape : (int, int), optional
        ``(H, W)`` of the output; default the first clip's size.
    by : str
        Samples-table column to group by (``"label"`` or ``"emotion"``).
    align : {"none", "translation", "affine"}
        Remove each flow's global (head) motion first
        (:func:`mer_lab.features.flow.remove_global_motion`),
        so that the maps show the expression rather than head drift.
    n_jobs : int
        Threads computing flows concurrently.
    cache, **engine_params
        See :func:`mer_lab.features.flow.flow_pair` (``cache=None``: the enclosing
        :func:`mer_lab.cache.flow_cache` block's cache, none outside one).

    Returns
    -------
    xarray.Dataset, dims (class, y, x)
        ``magnitude`` (mean of the per-sample magnitude maps, px), ``u`` and ``v``
        (mean flow, px) and ``count`` (samples per class, dim ``class``); attrs
        ``registration`` ("landmarks" or "none"), ``engine`` and ``corpus``.

    Notes
    -----
    The magnitude map is averaged (not the magnitude of the mean flow): opposite
    motions of different samples must not cancel in the picture.
    """
    import cv2
    import xarray as xr

    from .cache import resolve_cache
    from .features.flow import MOTION_MODELS, as_flow, flow_pair, remove_global_motion

    check_choice("register", register, ("auto", "landmarks", "none"))
    check_choice("align", align, ("none",) + MOTION_MODELS)
    store = resolve_cache(cache)  # resolved here: the worker threads do not see a flow_cache block
    check_choice("by", by, tuple(corpus.samples.columns))
    n_jobs = check_int("n_jobs", n_jobs, low=1)
    uids = corpus.uids
    if not uids:
        raise ValueError("the corpus holds no samples")

    def one(uid):
        data = corpus.cube(uid)
        if "component" in data.dims:
            flow, _ = as_flow(data)
            return (remove_global_motion(flow, model=align) if align != "none" else flow), None
        flow = flow_pair(data, engine=engine, cache=store if store is not None else False,
                         **engine_params).values
        if align != "none":
            flow = remove_global_motion(flow, model=align)
        lm = None
        if register != "none":
            lm = landmarks(uid, data) if landmarks is not None else _truth_landmarks(corpus, uid, data)
        return flow, lm

    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_jobs) as pool:
            results = list(pool.map(one, uids))
    else:
        results = [one(u) for u in uids]
    flows = [r[0] for r in results]
    lms = [r[1] for r in results]
    if shape is None:
        shape = flows[0].shape[1:]
    h, w = (check_int("shape[0]", shape[0], low=2), check_int("shape[1]", shape[1], low=2))
    use_lm = register == "landmarks" or (register == "auto" and all(lm is not None for lm in lms))
    if register == "landmarks" and any(lm is None for lm in lms):
        missing = [u for u, lm in zip(uids, lms) if lm is None][:3]
        raise ValueError(f"register='landmarks' but no landmarks for {missing} ...; pass landmarks= "
                         "or use register='none'")
    if use_lm:
        stack = np.stack(lms)
        ref_size = flows[0].shape[1:]
        mean_shape = stack.mean(axis=0)
        for _ in range(2):  # generalised Procrustes: align to the mean, re-average
            mean_shape = np.mean([_apply(_similarity(lm, mean_shape), lm) for lm in stack], axis=0)
        # place the mean shape in the output frame (rescaled from the first clip's frame)
        sy, sx = h / ref_size[0], w / ref_size[1]
        mean_shape = mean_shape * np.array([sx, sy])
    labels = corpus.samples[by].astype(str).to_numpy()
    classes = sorted(set(labels))
    idx = {c: i for i, c in enumerate(classes)}
    mag_sum = np.zeros((len(classes), h, w))
    u_sum = np.zeros((len(classes), h, w))
    v_sum = np.zeros((len(classes), h, w))
    count = np.zeros(len(classes), np.int64)
    for flow, lm, lab in zip(flows, lms, labels):
        if use_lm:
            T = _similarity(lm, mean_shape)
            warped = np.stack([cv2.warpAffine(np.ascontiguousarray(c), T, (w, h), flags=cv2.INTER_LINEAR,
                                              borderMode=cv2.BORDER_CONSTANT, borderValue=0) for c in flow])
            A = T[:, :2]
            warped = np.einsum("ij,jhw->ihw", A, warped)  # vectors turn and scale with the face
        elif flow.shape[1:] != (h, w):
            fy, fx = h / flow.shape[1], w / flow.shape[2]
            warped = np.stack([cv2.resize(flow[0], (w, h)) * fx, cv2.resize(flow[1], (w, h)) * fy])
        else:
            warped = flow
        k = idx[lab]
        mag_sum[k] += np.hypot(warped[0], warped[1])
        u_sum[k] += warped[0]
        v_sum[k] += warped[1]
        count[k] += 1
    n = count[:, None, None].astype(np.float64)
    dims = ("class", "y", "x")
    coords = {"class": classes, "y": np.arange(h), "x": np.arange(w)}
    return xr.Dataset(
        {
            "magnitude": (dims, (mag_sum / n).astype(np.float32), {"units": "px", "long_name": "mean flow magnitude"}),
            "u": (dims, (u_sum / n).astype(np.float32), {"units": "px", "long_name": "mean horizontal flow"}),
            "v": (dims, (v_sum / n).astype(np.float32), {"units": "px", "long_name": "mean vertical flow"}),
            "count": (("class",), count, {"long_name": "samples"}),
        },
        coords=coords,
        attrs={"registration": "landmarks" if use_lm else "none", "engine": engine, "align": align,
               "corpus": str(getattr(corpus, "name", "")), "grouped_by": by},
    )


def _apply(T, pts):
    return pts @ T[:, :2].T + T[:, 2]
