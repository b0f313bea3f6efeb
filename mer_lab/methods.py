"""Named recognition methods with the thesis's default parameters.

A method turns a clip into a feature vector: optional temporal interpolation (TIM) to a
fixed number of frames, then a per-sample feature function (cube -> vector). Methods
that learn from training data (Sparse MDMO's dictionary) add a *fold stage*, a
scikit-learn transformer fitted inside every training fold of a protocol on the
per-sample vectors. ``"baseline"`` is the majority-class dummy of thesis Table 3.

===============  ==========================================================================
name             per-sample function (module path) and thesis defaults (section 4.2)
===============  ==========================================================================
``lbp_top``      ``features.lbp.lbp_top``; TIM 10 frames, 8x8x1 blocks, P=8, R=1, u2
``lbp_xyot``     ``features.lbp.lbp_xyot`` (XT and YT planes only); as LBP-TOP
``lbp_sip``      ``features.lbp.lbp_sip`` (six intersection points); TIM 10, 8x8x1 blocks
``lbp_mop``      ``features.lbp.lbp_mop`` (mean orthogonal planes); as LBP-TOP
``elbp_top``     ``features.lbp.elbp_top`` (radial and angular differences); TIM 10, R=2/1
``hog_top``      ``features.hog.hog_top``; TIM 10, 8 bins, 8x8x1 blocks
``higo_top``     ``features.hog.higo_top``; as HOG-TOP, unweighted
``mdmo``         ``features.mdmo.mdmo``; lambda 0.9, no TIM, flow-domain alignment
``sparse_mdmo``  ``features.mdmo.mdmo_frames`` (TIM 10 frames) + fold stage
                 ``features.sparse_mdmo.SparseMDMOFromFrames`` (GraphSC dictionary, lambda 0.9)
``hoof``         ``features.hoof.clip_hoof`` (onset -> apex flow, 8 bins, 5x5 blocks)
``biwoof``       ``features.biwoof.biwoof``; 5x5 blocks (8x8 for SMIC), 8 bins
``fdm``          ``features.fdm.fdm``; 8x8 blocks, 4 temporal segments
``baseline``     no features; the majority class
===============  ==========================================================================

The flow methods (MDMO, Sparse MDMO, HOOF, Bi-WOOF, FDM) compute optical flow with
:data:`DEFAULT_ENGINE` (Farneback) unless given ``engine="tvl1"``, the TV-L1 flow of the
papers and the thesis (about 70 times slower on 96x96 faces).

Feature modules are imported only when a method is used, so the registry works while
they are being developed; :func:`available_methods` says which ones can run.
Every method declares a *parameter schema* (:func:`param_schema`): the parameters a user
interface may change, with their kinds, ranges and defaults.

Examples
--------
>>> method_params("lbp_top")["blocks"]
(8, 8, 1)
>>> method_params("biwoof", dataset="smic")["blocks"]
(8, 8)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._validate import check_choice, describe

__all__ = [
    "Param",
    "Method",
    "METHODS",
    "get_method",
    "list_methods",
    "available_methods",
    "register_method",
    "unregister_method",
    "method_params",
    "param_schema",
    "sample_function",
    "extract",
    "fold_stage",
    "feature_names",
    "INPUT_KINDS",
    "input_kind",
    "check_input",
    "flow_methods",
    "own_classifier",
]


@dataclass(frozen=True)
class Param:
    """One tweakable parameter of a method.

    ``kind`` is ``"int"``, ``"float"``, ``"bool"``, ``"choice"`` (one of ``choices``),
    ``"int_or_none"`` (an int, or None to switch the step off) or ``"tuple"`` (a tuple of
    ints of length ``length``, each within ``low``/``high``).
    """

    name: str
    kind: str
    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    length: int | None = None

    def check(self, value):
        """Return the value converted to its kind, or raise a ValueError naming the parameter."""
        name = self.name
        if self.kind == "choice":
            return check_choice(name, value, self.choices)
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {describe(value)}")
            return bool(value)
        if self.kind == "int_or_none" and value is None:
            return None
        if self.kind in ("int", "int_or_none"):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer{' or None' if self.kind == 'int_or_none' else ''}, "
                                 f"got {describe(value)}")
            return self._bounded(int(value))
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {describe(value)}")
            return self._bounded(float(value))
        if self.kind == "tuple":
            try:
                items = tuple(value)
            except TypeError:
                raise ValueError(f"{name} must be a tuple of {self.length} numbers, got {describe(value)}") from None
            if self.length is not None and len(items) != self.length:
                raise ValueError(f"{name} must have {self.length} entries, got {describe(value)}")
            out = []
            for v in items:
                if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                    raise ValueError(f"{name} must hold numbers, got {describe(value)}")
                v = int(v) if float(v).is_integer() else float(v)
                self._bounded(v)
                out.append(v)
            return tuple(out)
        raise ValueError(f"unknown parameter kind {self.kind!r} for {name}")  # pragma: no cover

    def _bounded(self, v):
        if self.low is not None and v < self.low:
            raise ValueError(f"{self.name} must be >= {self.low}, got {v!r}")
        if self.high is not None and v > self.high:
            raise ValueError(f"{self.name} must be <= {self.high}, got {v!r}")
        return v

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "default": self.default, "doc": self.doc,
                "low": self.low, "high": self.high, "choices": list(self.choices), "length": self.length}


@dataclass(frozen=True)
class Method:
    """A named method: TIM, a per-sample feature function, an optional fold stage.

    Attributes
    ----------
    name, title : str
    function : str, callable or None
        ``"module:function"`` (imported when first used) or a callable computing one
        clip's feature vector; ``None`` for the baseline.
    defaults : dict
        Parameters of ``function`` (the thesis's defaults).
    tim : int or None
        Frames to interpolate to with TIM before ``function`` (``None``: no TIM).
    stage : str or None
        ``"module:Class"`` of a transformer fitted inside each training fold.
    stage_defaults : dict
        Parameters of ``stage``.
    dataset_defaults : dict
        Dataset name (or ``"megc"`` for the MEGC protocol) -> parameter overrides.
    schema : tuple of Param
        Parameters a user interface may change.
    needs : tuple of str
        ``"landmarks"``: the function takes ``landmarks`` (ground truth of the synthetic
        corpus, otherwise found automatically).
    names : str, callable or None
        ``"module:function"`` (or a callable) giving the feature names, called with the
        parameters it accepts.
    preprocessing : str
        Default per-fold feature scaling before the classifier
        (:func:`mer_lab.evaluation.search.make_preprocessor`).
    gamma_step : float
        Gamma step of the thesis SVM grid (0.1 for the large LBP-TOP and Sparse MDMO features).
    reference : str
        Where the method comes from.
    version : str
        Bumped when the method's output changes (part of feature cache keys).
    inputs : tuple of str
        The corpus kinds the method accepts: ``"frames"`` (clips of frames) and/or
        ``"flow"`` (precomputed flow images, :func:`mer_lab.datasets.load_flow_images`,
        one onset-apex flow field per clip).
    flow_params : dict
        Parameters the method needs on flow images (FDM: ``{"segments": 1}``, as one
        flow field cannot be split in time); :func:`check_input` refuses other values.
    classifier : str or None
        A network that the method's output is the input of (``"ststnet"``, ...: a name of
        :data:`mer_lab.evaluation.classifiers.CLASSIFIERS`); experiments train it
        instead of a feature classifier (:func:`own_classifier`).
    """

    name: str
    title: str
    function: Any
    defaults: dict = field(default_factory=dict)
    tim: int | None = None
    stage: str | None = None
    stage_defaults: dict = field(default_factory=dict)
    dataset_defaults: dict = field(default_factory=dict)
    schema: tuple = ()
    needs: tuple = ()
    names: Any = None
    preprocessing: str = "none"
    gamma_step: float = 0.01
    reference: str = ""
    version: str = "1"
    inputs: tuple = ("frames",)
    flow_params: dict = field(default_factory=dict)
    classifier: str | None = None


# --------------------------------------------------------------------------- schema pieces
def _tim_param(default=10):
    return Param("tim", "int_or_none", default, "TIM: frames to interpolate each clip to (None: no TIM)",
                 low=2, high=200)


_BLOCKS3 = Param("blocks", "tuple", (8, 8, 1), "blocks (rows, columns, time)", low=1, high=32, length=3)
_RADII = Param("radii", "tuple", (1, 1, 1), "LBP radii (x, y, t) in pixels / frames", low=1, high=8, length=3)
_POINTS = Param("points", "tuple", (8, 8, 8), "neighbours on the XY, XT and YT rings", low=4, high=16, length=3)
_MAPPING = Param("mapping", "choice", "u2", "LBP code mapping", choices=("u2", "riu2", "none"))
#: Default optical-flow engine of the flow methods: Farneback, chosen by measured error per
#: second against the synthetic ground truth (docs/optical_flow.md: the lowest error where
#: the face moves, at about 1/70 of TV-L1's time). ``engine="tvl1"`` is the papers' engine.
DEFAULT_ENGINE = "farneback"
_ENGINE = Param("engine", "choice", DEFAULT_ENGINE, "optical-flow engine (farneback: fast default; tvl1: the "
                "papers' TV-L1, about 70x slower)", choices=("tvl1", "farneback", "dis"))
_LAM = Param("lam", "float", 0.9, "MDMO lambda: weight of magnitude against angle", low=0.0, high=1.0)
_BINS = Param("bins", "int", 8, "orientation bins", low=2, high=36)
_ALIGN = Param("align", "choice", "none", "flow-domain alignment: remove the global motion fitted on the flow "
               "(head movement) before the histograms", choices=("none", "translation", "affine"))
#: Offered by every feature method: Eulerian magnification of the clip before anything else.
EVM_PARAM = Param("evm_alpha", "float", 0.0, "EVM magnification factor applied to the clip first (0: none)",
                  low=0.0, high=50.0)

_LBP_DEFAULTS = {"radii": (1, 1, 1), "points": (8, 8, 8), "mapping": "u2", "blocks": (8, 8, 1)}
_LBP_SCHEMA = (_tim_param(), _RADII, _POINTS, _MAPPING, _BLOCKS3)
_MEGC_LBP = {"points": (4, 4, 4), "radii": (1, 1, 4), "blocks": (5, 5, 1)}


def _lbp(name, title, fn, ref, **extra):
    defaults = dict(extra.pop("defaults", _LBP_DEFAULTS))
    schema = extra.pop("schema", _LBP_SCHEMA)
    return Method(name=name, title=title, function=f"mer_lab.features.lbp:{fn}", defaults=defaults, tim=10,
                  schema=schema, names=f"mer_lab.features.lbp:{fn}_names", gamma_step=0.1, reference=ref,
                  **extra)


_BUILTIN = [
    _lbp("lbp_top", "LBP-TOP", "lbp_top",
         "Zhao & Pietikainen, TPAMI 2007, doi:10.1109/TPAMI.2007.1110; thesis 4.2.1",
         dataset_defaults={"megc": _MEGC_LBP}),
    _lbp("lbp_xyot", "LBP-XYOT", "lbp_xyot", "Wang et al. (LBP on XT and YT planes)"),
    _lbp("lbp_sip", "LBP-SIP", "lbp_sip", "Wang et al., ACCV 2014 workshops (six intersection points)",
         defaults={"radii": (1, 1, 1), "blocks": (8, 8, 1)},
         schema=(_tim_param(), _RADII, _BLOCKS3)),
    _lbp("lbp_mop", "LBP-MOP", "lbp_mop", "Wang et al. 2015 (LBP on mean orthogonal planes)"),
    _lbp("elbp_top", "ELBP-TOP", "elbp_top", "Guo et al. 2019 (extended LBP-TOP)",
         defaults={**_LBP_DEFAULTS, "radii": (2, 2, 2), "second_radii": (1, 1, 1)},
         schema=(_tim_param(), Param("radii", "tuple", (2, 2, 2), "outer ring radii (x, y, t)", low=1, high=8,
                                     length=3),
                 Param("second_radii", "tuple", (1, 1, 1), "inner ring radii", low=1, high=8, length=3),
                 _POINTS, _MAPPING, _BLOCKS3)),
    Method(name="hog_top", title="HOG-TOP", function="mer_lab.features.hog:hog_top",
           defaults={"bins": 8, "blocks": (8, 8, 1)}, tim=10, schema=(_tim_param(), _BINS, _BLOCKS3),
           names="mer_lab.features.hog:hog_top_names", gamma_step=0.1,
           reference="Li et al., TAC 2018, doi:10.1109/TAFFC.2017.2667642"),
    Method(name="higo_top", title="HIGO-TOP", function="mer_lab.features.hog:higo_top",
           defaults={"bins": 8, "blocks": (8, 8, 1)}, tim=10, schema=(_tim_param(), _BINS, _BLOCKS3),
           names="mer_lab.features.hog:higo_top_names", gamma_step=0.1,
           reference="Li et al., TAC 2018, doi:10.1109/TAFFC.2017.2667642"),
    Method(name="mdmo", title="MDMO", function="mer_lab.features.mdmo:mdmo",
           defaults={"lam": 0.9, "angle": "circular", "engine": DEFAULT_ENGINE, "align": "affine"}, tim=None,
           schema=(_tim_param(None), _LAM,
                   Param("angle", "choice", "circular", "mean direction as (cos, sin) ('circular') or as the "
                         "angle in [0, 2 pi) ('linear', the paper's)", choices=("circular", "linear")),
                   _ENGINE, Param("align", "choice", "affine", "flow-domain alignment",
                                  choices=("none", "translation", "affine"))),
           needs=("landmarks",), names="mer_lab.features.mdmo:mdmo_names", version="2",
           reference="Liu et al., TAC 2016, doi:10.1109/TAFFC.2015.2485205; thesis 4.2.2"),
    Method(name="sparse_mdmo", title="Sparse MDMO", function="mer_lab.features.mdmo:mdmo_frames",
           defaults={"n_frames": 10, "engine": DEFAULT_ENGINE, "align": "affine"}, tim=None,
           stage="mer_lab.features.sparse_mdmo:SparseMDMOFromFrames", version="2",
           stage_defaults={"lam": 0.9, "angle": "linear", "n_atoms": 128, "alpha": 1.0, "beta": 1.0, "k": 5},
           schema=(Param("n_frames", "int", 10, "TIM frames before the per-frame MDMO", low=2, high=100),
                   _ENGINE, Param("align", "choice", "affine", "flow-domain alignment",
                                  choices=("none", "translation", "affine")), _LAM,
                   Param("angle", "choice", "linear", "angle in the dictionary's data vectors: as a coordinate "
                         "in [0, 2 pi) ('linear', the paper's) or as (cos, sin) ('circular')",
                         choices=("linear", "circular")),
                   Param("n_atoms", "int", 128, "dictionary size", low=2, high=2048),
                   Param("alpha", "float", 1.0, "graph regularisation weight", low=0.0),
                   Param("beta", "float", 1.0, "sparsity weight", low=0.0),
                   Param("k", "int", 5, "neighbours in the frame graph", low=1, high=50)),
           needs=("landmarks",), gamma_step=0.1, preprocessing="standard",
           reference="Liu, Li & Lai, TAC 2018, doi:10.1109/TAFFC.2018.2854166; thesis 4.2.3 "
                     "(SAMM takes CASME II's settings)"),
    Method(name="hoof", title="HOOF", function="mer_lab.features.hoof:clip_hoof",
           defaults={"mode": "apex", "bins": 8, "blocks": (5, 5), "engine": DEFAULT_ENGINE, "align": "none"}, tim=None,
           schema=(_tim_param(None), _BINS,
                   Param("blocks", "tuple", (5, 5), "grid of blocks (rows, columns), one histogram each; "
                         "(1, 1) = one whole-face histogram", low=1, high=32, length=2),
                   _ENGINE, _ALIGN), names="mer_lab.features.hoof:hoof_names", preprocessing="standard",
           reference="Chaudhry et al., CVPR 2009, doi:10.1109/CVPR.2009.5206821"),
    Method(name="biwoof", title="Bi-WOOF", function="mer_lab.features.biwoof:biwoof",
           defaults={"blocks": (5, 5), "bins": 8, "engine": DEFAULT_ENGINE, "align": "none"}, tim=None,
           dataset_defaults={"smic": {"blocks": (8, 8)}},
           schema=(Param("blocks", "tuple", (5, 5), "blocks (rows, columns)", low=1, high=32, length=2),
                   _BINS, _ENGINE, _ALIGN),
           names="mer_lab.features.biwoof:biwoof_names", preprocessing="standard",
           reference="Liong et al., Signal Processing: Image Communication 2018, doi:10.1016/j.image.2017.11.006"),
    Method(name="fdm", title="FDM", function="mer_lab.features.fdm:fdm",
           defaults={"blocks": (8, 8), "segments": 4, "engine": DEFAULT_ENGINE}, tim=None,
           schema=(Param("blocks", "tuple", (8, 8), "blocks (rows, columns)", low=1, high=32, length=2),
                   Param("segments", "int", 4, "temporal segments", low=1, high=20), _ENGINE),
           names="mer_lab.features.fdm:fdm_names", preprocessing="standard",
           reference="Xu et al., TAC 2017, doi:10.1109/TAFFC.2016.2518162"),
    Method(name="baseline", title="Baseline (majority class)", function=None,
           reference="thesis Table 3: every sample predicted as the majority class"),
]

# Methods that read one flow field (onset -> apex) also take precomputed flow images;
# FDM only when it does not split the clip in time. The others need clips of frames.
_FLOW_INPUT = {"hoof": {}, "biwoof": {}, "fdm": {"segments": 1}, "baseline": {}}
_BUILTIN = [replace(m, inputs=("frames", "flow"), flow_params=_FLOW_INPUT[m.name]) if m.name in _FLOW_INPUT else m
            for m in _BUILTIN]

# Deep networks (mer_lab.deep, optional extra "deep"): the per-sample function builds the
# network input, the method's classifier is the network.
_SIZE = Param("size", "int", 28, "side of the square input maps (pixels)", low=8, high=128)
_DEEP_REF = "thesis 3.2.3; mer_lab.deep (PyTorch, pip install \"mer_lab[deep]\")"
_BUILTIN += [
    Method(name="ststnet", title="STSTNet", function="mer_lab.deep.inputs:ststnet_input",
           defaults={"size": 28, "engine": "tvl1", "align": "none"}, schema=(_SIZE, _ENGINE, _ALIGN),
           inputs=("frames", "flow"), classifier="ststnet",
           reference="Liong et al., FG 2019, doi:10.1109/FG.2019.8756567; " + _DEEP_REF),
    Method(name="off_apexnet", title="OFF-ApexNet", function="mer_lab.deep.inputs:off_apexnet_input",
           defaults={"size": 28, "engine": "tvl1", "align": "none"}, schema=(_SIZE, _ENGINE, _ALIGN),
           inputs=("frames", "flow"), classifier="off_apexnet",
           reference="Gan et al., Signal Processing: Image Communication 2019, doi:10.1016/j.image.2019.02.005; "
                     + _DEEP_REF),
    Method(name="cnn3d", title="3D CNN (TIM frames)", function="mer_lab.deep.inputs:frames_input",
           defaults={"size": 28, "difference": True}, tim=8,
           schema=(_tim_param(8), _SIZE, Param("difference", "bool", True, "subtract the first frame")),
           classifier="cnn3d", reference=_DEEP_REF),
    Method(name="cnn_lstm", title="CNN + LSTM (flow sequence)", function="mer_lab.deep.inputs:flow_sequence_input",
           defaults={"size": 28, "engine": "farneback"}, tim=8, schema=(_tim_param(8), _SIZE, _ENGINE),
           classifier="cnn_lstm", reference=_DEEP_REF),
]

METHODS: dict[str, Method] = {m.name: m for m in _BUILTIN}


def own_classifier(method, classifier: str, classifier_params=None) -> tuple[str, dict | None]:
    """The classifier an experiment trains for a method, and its parameters.

    A method with its own network (:attr:`Method.classifier`, e.g. ``"ststnet"``) is
    trained with that network unless another network is asked for; the asked
    classifier's parameters are kept only where the network takes them (so
    ``classifier_params={"epochs": 20}`` reaches it). Other methods keep ``classifier``.
    """
    m = get_method(method)
    if m.classifier is None:
        return classifier, classifier_params
    from .evaluation.classifiers import DEEP_CLASSIFIERS

    if classifier in DEEP_CLASSIFIERS:
        return classifier, classifier_params
    keep = {"size", "channels", "epochs", "lr", "batch_size", "weight_decay", "select", "val_fraction",
            "fold_batch", "n_threads", "progress"}
    params = {k: v for k, v in dict(classifier_params or {}).items() if k in keep}
    return m.classifier, (params or None)


# --------------------------------------------------------------------------- registry
def get_method(name) -> Method:
    """The :class:`Method` of a name (a Method is returned unchanged)."""
    if isinstance(name, Method):
        return name
    check_choice("method", name, list(METHODS))
    return METHODS[name]


def register_method(method: Method, *, replace: bool = False) -> Method:
    """Add a method to :data:`METHODS` (``replace=True`` to overwrite one)."""
    if not isinstance(method, Method):
        raise TypeError(f"method must be a mer_lab.methods.Method, got {describe(method)}")
    if method.name in METHODS and not replace:
        raise ValueError(f"a method named {method.name!r} exists; pass replace=True to overwrite it")
    METHODS[method.name] = method
    return method


def unregister_method(name: str) -> None:
    """Remove a method from :data:`METHODS`."""
    check_choice("method", name, list(METHODS))
    del METHODS[name]


def _import(target):
    if callable(target):
        return target
    module, _, attr = target.partition(":")
    obj = importlib.import_module(module)
    try:
        return getattr(obj, attr)
    except AttributeError:
        raise ImportError(f"{module} has no {attr!r}") from None


def _accepts(func, keys) -> list[str]:
    """Keys that ``func`` does not accept as keyword arguments."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return []
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    names = {p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                   inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    return [k for k in keys if k not in names]


def _status(method: Method) -> str:
    if method.function is None:
        return "ok"
    try:
        fn = _import(method.function)
    except ImportError as exc:
        return f"not importable: {exc}"
    missing = _accepts(fn, list(method.defaults) + (["landmarks"] if "landmarks" in method.needs else []))
    if missing:
        return f"{method.function} does not take {missing}"
    if method.tim is not None or any(p.name == "tim" for p in method.schema):
        try:
            _import("mer_lab.preprocess.tim:tim")
        except ImportError as exc:
            return f"TIM not importable: {exc}"
    if method.stage is not None:
        try:
            stage = _import(method.stage)
        except ImportError as exc:
            return f"fold stage not importable: {exc}"
        missing = _accepts(stage, list(method.stage_defaults))
        if missing:
            return f"{method.stage} does not take {missing}"
    return "ok"


def available_methods() -> dict[str, str]:
    """Each method's status: ``"ok"`` when it can run, otherwise the reason it cannot."""
    return {name: _status(m) for name, m in METHODS.items()}


def list_methods():
    """A table of the methods: name, title, status, TIM, fold stage, needs, inputs, reference."""
    import pandas as pd

    status = available_methods()
    return pd.DataFrame([{"method": m.name, "title": m.title, "status": status[m.name], "tim": m.tim,
                          "fold_stage": m.stage is not None, "needs": ",".join(m.needs),
                          "inputs": _inputs_text(m), "reference": m.reference}
                         for m in METHODS.values()]).set_index("method")


#: Corpus kinds a method may accept (``Corpus.info["kind"]``; clips of frames when unset).
INPUT_KINDS = ("frames", "flow")


def _inputs_text(m: Method) -> str:
    return ", ".join(k + (" (" + ", ".join(f"{p}={v}" for p, v in m.flow_params.items()) + ")"
                          if k == "flow" and m.flow_params else "") for k in m.inputs)


def input_kind(corpus) -> str:
    """What a corpus's rows hold: ``"flow"`` for precomputed flow images, else ``"frames"``."""
    kind = str(getattr(corpus, "info", {}).get("kind", "frames"))
    return kind if kind in INPUT_KINDS else "frames"


def flow_methods() -> dict[str, dict]:
    """Methods that accept precomputed flow images, with the parameters they need there."""
    return {m.name: dict(m.flow_params) for m in METHODS.values() if "flow" in m.inputs and m.function is not None}


def _flow_list() -> str:
    return ", ".join(n + (" (" + ", ".join(f"{p}={v}" for p, v in fp.items()) + ")" if fp else "")
                     for n, fp in flow_methods().items())


def check_input(method, kind: str, params: Mapping | None = None) -> None:
    """Raise a ValueError when a method cannot run on this kind of input.

    Parameters
    ----------
    method : str or Method
    kind : {"frames", "flow"}
        What the corpus holds (:func:`input_kind`).
    params : mapping, optional
        The method's resolved parameters; on flow images they must agree with
        :attr:`Method.flow_params`.
    """
    m = get_method(method)
    check_choice("input kind", kind, INPUT_KINDS)
    if kind not in m.inputs:
        what = {"flow": "precomputed flow images (one flow field per clip)", "frames": "clips of frames"}[kind]
        needs = " and ".join({"flow": "flow images", "frames": "clips of frames"}[k] for k in m.inputs)
        raise ValueError(f"method {m.name!r} cannot run on {what}: it takes {needs}. Methods that accept "
                         f"flow images: {_flow_list()}")
    if kind == "flow" and m.flow_params:
        given = dict(params) if params is not None else method_params(m)
        wrong = {k: given.get(k) for k, v in m.flow_params.items() if given.get(k) != v}
        if wrong:
            need = ", ".join(f"{k}={v}" for k, v in m.flow_params.items())
            got = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            raise ValueError(f"method {m.name!r} runs on flow images only with {need} (a flow image is one flow "
                             f"field), got {got}; pass params={dict(m.flow_params)} (mer-lab: --param "
                             f"{need.replace(', ', ' --param ')})")


# Dataset names of the loaders -> the names dataset defaults are filed under.
_DATASET_ALIASES = {"smic_hs": "smic", "smic_vis": "smic", "smic_nir": "smic", "casme_ii": "casme2"}


def method_params(method, *, dataset: str | None = None, **overrides) -> dict:
    """The full parameter set of a method: thesis defaults, dataset defaults, overrides.

    Parameters
    ----------
    method : str or Method
    dataset : str, optional
        Dataset name (``"smic"``, ``"casme2"``, ...) or ``"megc"`` for the MEGC
        protocol; selects :attr:`Method.dataset_defaults`.
    **overrides
        Any parameter of the method (see :func:`param_schema`; ``tim`` sets the TIM
        length, ``None`` for no TIM). Values covered by the schema are validated.

    Returns
    -------
    dict
        ``tim`` plus the per-sample function's and the fold stage's parameters.

    Raises
    ------
    ValueError
        For an unknown parameter (the message lists the valid ones) or a bad value.
    """
    m = get_method(method)
    params: dict[str, Any] = {"tim": m.tim} if m.function is not None else {}
    params.update(m.defaults)
    params.update(m.stage_defaults)
    if dataset is not None:
        key = str(dataset).lower()
        params.update(m.dataset_defaults.get(_DATASET_ALIASES.get(key, key), {}))
    schema = {p.name: p for p in _schema(m)}
    valid = set(params) | set(schema)
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(f"method {m.name!r} has no parameter(s) {unknown}; its parameters are {sorted(valid)}")
    for key, value in overrides.items():
        params[key] = schema[key].check(value) if key in schema else value
    if not params.get("evm_alpha"):
        params.pop("evm_alpha", None)  # no magnification: the same features (and cache keys) as without
    return params


def _schema(m: Method) -> tuple:
    """A method's own parameters plus the EVM pre-step every feature method offers."""
    return (*m.schema, EVM_PARAM) if m.function is not None else tuple(m.schema)


def param_schema(method) -> list[dict]:
    """The parameters a user interface may change, as plain dictionaries (name, kind,
    default, doc, low, high, choices, length)."""
    return [p.as_dict() for p in _schema(get_method(method))]


def _split(m: Method, params: Mapping) -> tuple[int | None, dict, dict]:
    params = dict(params)
    params.pop("evm_alpha", None)
    tim = params.pop("tim", None)
    stage = {k: params.pop(k) for k in list(params) if k in m.stage_defaults}
    return tim, params, stage


def sample_function(method) -> callable:
    """The imported per-sample feature function of a method (ImportError if it cannot be)."""
    m = get_method(method)
    if m.function is None:
        raise ValueError(f"method {m.name!r} computes no features")
    return _import(m.function)


def extract(cube, method, params: Mapping | None = None, *, landmarks=None) -> np.ndarray:
    """One clip's per-sample feature vector.

    Parameters
    ----------
    cube : xarray.DataArray
        A clip (see :mod:`mer_lab.cube`).
    method : str or Method
    params : mapping, optional
        Full parameters (:func:`method_params`); default the thesis's.
    landmarks : optional
        Passed to methods that need landmarks (an array, ``"auto"`` or a callable such as
        :func:`mer_lab.features.rois.corpus_landmarks`).

    Returns
    -------
    ndarray, shape (n_features,), float64
    """
    m = get_method(method)
    if m.function is None:
        return np.zeros(1)
    params = method_params(m) if params is None else dict(params)
    alpha = float(params.get("evm_alpha") or 0.0)
    tim, fparams, _stage = _split(m, params)
    fn = _import(m.function)
    if "landmarks" in m.needs and landmarks is not None:
        fparams["landmarks"] = landmarks
    missing = _accepts(fn, list(fparams))
    if missing:
        raise TypeError(f"{m.function} does not accept the parameter(s) {missing} of method {m.name!r}")
    if alpha > 0:
        from .preprocess.evm import magnify

        cube = magnify(cube, alpha=alpha, levels=_evm_levels(cube))
    if tim is not None:
        from .preprocess.tim import tim as interpolate

        cube = interpolate(cube, int(tim))
    out = fn(cube, **fparams)
    return np.asarray(getattr(out, "values", out), dtype=np.float64).ravel()


def _evm_levels(cube, wanted: int = 4) -> int:
    """Pyramid levels EVM can use on this clip (fewer on small frames)."""
    smallest = min(cube.sizes["y"], cube.sizes["x"])
    levels = wanted
    while levels > 1 and smallest // 2 ** levels < 4:
        levels -= 1
    return levels


def fold_stage(method, params: Mapping | None = None):
    """A fresh fold-stage transformer of a method (``None`` when it has none)."""
    m = get_method(method)
    if m.stage is None:
        return None
    params = method_params(m) if params is None else dict(params)
    _tim, _f, stage = _split(m, params)
    cls = _import(m.stage)
    return cls(**stage)


def feature_names(method, params: Mapping | None = None, n_features: int | None = None) -> list[str]:
    """Names of a method's per-sample features (generic ``<method>_<i>`` when unknown)."""
    m = get_method(method)
    if m.function is None:
        return ["constant"]
    params = method_params(m) if params is None else dict(params)
    _tim, fparams, _stage = _split(m, params)
    names = None
    if m.names is not None:
        try:
            fn = _import(m.names)
            sig = inspect.signature(fn)
            kw = {k: v for k, v in fparams.items() if k in sig.parameters}
            names = [str(n) for n in fn(**kw)]
        except Exception:  # names are a convenience: never fail the extraction for them
            names = None
    if names is None or (n_features is not None and len(names) != n_features):
        count = n_features if n_features is not None else (len(names) if names else 0)
        names = [f"{m.name}_{i}" for i in range(count)]
    return names
