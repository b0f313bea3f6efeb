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

from ._validate import check_choice

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
               cache=True, n_jobs: int = 1):
    """:func:`mer_lab.evaluation.experiment.run_experiment` of one method, memoised by plain values."""
    from .evaluation.experiment import run_experiment

    check_choice("search", search, SEARCHES)
    key = ("run", choice, method, _freeze(params), protocol, classifier, _freeze(classifier_params), search,
           bool(cache))

    def build():
        corpus = get_corpus(choice)
        # features in this thread (their extraction is not run on threads here); n_jobs
        # goes to the folds of the classifier
        features = _features(choice, method, params, protocol, cache)
        # nested comparisons also carry the thesis-mode numbers: the dashboard shows the gap
        return run_experiment(corpus, method, protocol=protocol, classifier=classifier, search=search,
                              params=dict(params or {}), classifier_params=dict(classifier_params or {}) or None,
                              progress=False, cache=cache, n_jobs=n_jobs, features=features,
                              feature_source="method", report_thesis=search == "nested")

    return _memo(key, build)


def _features(choice: CorpusChoice, method: str, params, protocol: str, cache):
    """A method's feature matrix on a corpus, kept in memory: a classifier change reads no file."""
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
    from .methods import get_method, param_schema

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
        accepted = {p["name"] for p in param_schema(name)}
        merged = {k: v for k, v in dict(common or {}).items() if k in accepted}
        merged.update(dict((params or {}).get(name, {})))
        try:
            res = run_method(choice, name, params=merged, protocol=protocol, classifier=classifier,
                             classifier_params=classifier_params, search=search, cache=cache, n_jobs=n_jobs)
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
    from .features.flow import class_average_apex_flow

    return _memo(("class_averages", choice, engine),
                 lambda: class_average_apex_flow(get_corpus(choice), engine=engine))


def sample_view(choice: CorpusChoice, uid: str, *, engine: str = "farneback", align: str = "none") -> dict:
    """One clip for the sample browser: its cube, onset->apex flow and magnitude curve.

    ``align`` (``"none"``, ``"translation"``, ``"affine"``) removes the global (head)
    motion fitted on each flow first, for the flow and the curve alike.
    """
    from .features.apex import flow_magnitude_curve
    from .features.flow import flow_pair, remove_global_motion

    check_choice("align", align, ("none", "translation", "affine"))

    def build():
        corpus = get_corpus(choice)
        cube = corpus.cube(uid)
        flow = flow_pair(cube, engine=engine)
        if align != "none":
            flow = remove_global_motion(flow, model=align)
        return {"cube": cube, "flow": flow,
                "curve": flow_magnitude_curve(cube, engine=engine, span="clip", align=align)}

    return _memo(("sample", choice, uid, engine, align), build)
