"""Named recognition methods: scikit-learn pipelines with the thesis's default parameters.

A method is a feature transformer over a sequence of clips (cubes) plus its defaults.
:func:`make_pipeline` turns a method's name into a :class:`sklearn.pipeline.Pipeline`
that ``cross_val_predict``, ``GridSearchCV`` and ``LeaveOneGroupOut`` take unchanged::

    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    pipe = make_pipeline("lbp_top", blocks=(4, 4, 1))
    cubes = [cube for _uid, cube in corpus.cubes()]
    predicted = cross_val_predict(pipe, cubes, corpus.labels, groups=corpus.groups, cv=LeaveOneGroupOut())

Its steps, in order (a step that is off is ``"passthrough"``):

==============  ==========================================================================
step            what it does
==============  ==========================================================================
``magnify``     Eulerian video magnification (:class:`mer_lab.preprocess.steps.Magnify`;
                off unless ``evm_alpha`` > 0)
``tim``         temporal interpolation to a fixed number of frames
                (:class:`mer_lab.preprocess.steps.TIM`; the LBP and HOG methods use 10)
``features``    the method's feature transformer (one row per clip)
``stage``       a transformer fitted on the training clips' rows (Sparse MDMO's dictionary)
``scale``       per-feature scaling fitted on the training rows (``StandardScaler`` for the
                flow histograms and Sparse MDMO, off for the LBP, HOG and MDMO features that
                the thesis fed to the SVM directly)
``classifier``  a classifier by name (:func:`mer_lab.evaluation.classifiers.make_classifier`;
                default the thesis's polynomial SVM) or the method's own network
==============  ==========================================================================

The first three steps learn nothing: the experiment layer computes them once per clip and
caches the rows on disk (:func:`mer_lab.evaluation.experiment.compute_features`); the
last three are fitted inside every training fold.

Parameters are the steps' own (``pipe.get_params()``: ``features__blocks``,
``classifier__C``, ...), checked by the steps themselves. Every method also takes short
*flat* names, resolved through :data:`METHODS`: ``tim`` (``tim__n_frames``; ``None``
switches TIM off), ``evm_alpha`` (``magnify__alpha``; 0 switches EVM off) and each
parameter of its feature transformer and fold stage (``blocks`` is
``features__blocks``, Sparse MDMO's ``n_atoms`` is ``stage__n_atoms``).

===============  ==========================================================================
name             feature transformer and thesis defaults (section 4.2)
===============  ==========================================================================
``lbp_top``      :class:`~mer_lab.features.lbp.LBPTOP`; TIM 10, 8x8x1 blocks, P=8, R=1, u2
                 (MEGC: P=4, R=(1, 1, 4), 5x5x1 blocks)
``lbp_xyot``     :class:`~mer_lab.features.lbp.LBPXYOT` (XT and YT planes); as LBP-TOP
``lbp_sip``      :class:`~mer_lab.features.lbp.LBPSIP` (six intersection points); TIM 10
``lbp_mop``      :class:`~mer_lab.features.lbp.LBPMOP` (mean orthogonal planes); as LBP-TOP
``elbp_top``     :class:`~mer_lab.features.lbp.ELBPTOP`; TIM 10, R=2/1
``hog_top``      :class:`~mer_lab.features.hog.HOGTOP`; TIM 10, 8 bins, 8x8x1 blocks
``higo_top``     :class:`~mer_lab.features.hog.HIGOTOP`; as HOG-TOP, unweighted
``mdmo``         :class:`~mer_lab.features.mdmo.MDMO`; lambda 0.9, no TIM, affine alignment
``sparse_mdmo``  :class:`~mer_lab.features.steps.MDMOFrames` (TIM 10 frames) + stage
                 :class:`~mer_lab.features.sparse_mdmo.SparseMDMOFromFrames` (GraphSC
                 dictionary, lambda 0.9)
``hoof``         :class:`~mer_lab.features.hoof.HOOF` (onset -> apex flow, 8 bins, 5x5 blocks)
``biwoof``       :class:`~mer_lab.features.biwoof.BiWOOF`; 5x5 blocks (8x8 on SMIC), 8 bins
``fdm``          :class:`~mer_lab.features.fdm.FDM`; 8x8 blocks, 4 temporal segments
``ststnet``,     :class:`~mer_lab.features.steps.NetworkInput` + the network of
``off_apexnet``, :mod:`mer_lab.deep` as classifier (optional extra ``deep``)
``cnn3d``,
``cnn_lstm``
``baseline``     :class:`~mer_lab.features.steps.ConstantFeature`; the majority class
===============  ==========================================================================

The flow methods compute optical flow with :data:`DEFAULT_ENGINE` (Farneback) unless
given ``engine="tvl1"``, the TV-L1 flow of the papers and the thesis (about 70 times
slower on 96x96 faces). MDMO and Sparse MDMO place their regions on the first frame's 68
landmarks: a clip's ``attrs["landmarks"]`` (the synthetic corpus attaches its ground
truth) or, without them, dlib's detection.

Your own method is a feature transformer (a :class:`mer_lab.features.base.CubeFeatures`
subclass, or a factory returning one) and its defaults::

    register_method(Method(name="motion", title="motion energy", features=MotionEnergy,
                           defaults={"grid": 2}, preprocessing="standard"))

Examples
--------
>>> pipe = make_pipeline("lbp_top", dataset="megc")
>>> [name for name, _ in pipe.steps]
['magnify', 'tim', 'features', 'stage', 'scale', 'classifier']
>>> pipe.get_params()["features__blocks"], pipe.get_params()["tim__n_frames"]
((5, 5, 1), 10)
>>> make_pipeline("biwoof", dataset="smic").get_params()["features__blocks"]
(8, 8)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._validate import check_choice, describe

__all__ = [
    "Method",
    "METHODS",
    "DEFAULT_ENGINE",
    "STEPS",
    "get_method",
    "list_methods",
    "available_methods",
    "register_method",
    "unregister_method",
    "make_pipeline",
    "method_defaults",
    "param_aliases",
    "resolve_params",
    "INPUT_KINDS",
    "input_kind",
    "check_input",
    "flow_methods",
    "own_classifier",
]

#: Step names of every method's pipeline, in order.
STEPS = ("magnify", "tim", "features", "stage", "scale", "classifier")
#: The steps that learn nothing (computed once per clip and cached by the experiment layer).
CLIP_STEPS = ("magnify", "tim", "features")


@dataclass(frozen=True)
class Method:
    """A named method: a feature transformer, its defaults and how it is evaluated.

    Attributes
    ----------
    name, title : str
    features : callable or None
        A transformer class over a sequence of cubes (or a factory
        ``features(**params) -> transformer``); ``None`` for the majority baseline.
    defaults : dict
        Parameters of ``features`` (the thesis's defaults).
    tim : int or None
        Frames TIM resamples every clip to before ``features`` (``None``: no TIM).
    stage : callable or None
        Class (or factory) of a transformer fitted inside each training fold on the
        feature rows (Sparse MDMO's dictionary).
    stage_defaults : dict
        Parameters of ``stage``.
    dataset_defaults : dict
        Dataset name (or ``"megc"`` for the MEGC protocol) -> flat parameter overrides.
    preprocessing : {"standard", "minmax", "l2", "none"}
        The ``scale`` step: per-fold feature scaling before the classifier.
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
        Flat parameters the method needs on flow images (FDM: ``{"segments": 1}``, as one
        flow field cannot be split in time); :func:`check_input` refuses other values.
    classifier : str or None
        A network that the method's output is the input of (``"ststnet"``, ...: a name of
        :data:`mer_lab.evaluation.classifiers.CLASSIFIERS`); its pipeline's classifier
        (:func:`own_classifier`).
    """

    name: str
    title: str
    features: Callable | None = None
    defaults: dict = field(default_factory=dict)
    tim: int | None = None
    stage: Callable | None = None
    stage_defaults: dict = field(default_factory=dict)
    dataset_defaults: dict = field(default_factory=dict)
    preprocessing: str = "none"
    gamma_step: float = 0.01
    reference: str = ""
    version: str = "1"
    inputs: tuple = ("frames",)
    flow_params: dict = field(default_factory=dict)
    classifier: str | None = None


# --------------------------------------------------------------------------- transformers
# Factories import the feature modules when a method is first used.
def _lbp(cls_name):
    def factory(**params):
        from .features import lbp

        return {"LBPTOP": lbp.LBPTOP, "LBPXYOT": lbp.LBPXYOT, "LBPSIP": lbp.LBPSIP, "LBPMOP": lbp.LBPMOP,
                "ELBPTOP": lbp.ELBPTOP}[cls_name](**params)

    factory.__name__ = cls_name
    return factory


def _hog(**params):
    from .features.hog import HOGTOP

    return HOGTOP(**params)


def _higo(**params):
    from .features.hog import HIGOTOP

    return HIGOTOP(**params)


def _mdmo(**params):
    from .features.mdmo import MDMO

    return MDMO(**params)


def _mdmo_frames(**params):
    from .features.steps import MDMOFrames

    return MDMOFrames(**params)


def _sparse_stage(**params):
    from .features.sparse_mdmo import SparseMDMOFromFrames

    return SparseMDMOFromFrames(**params)


def _hoof(**params):
    from .features.hoof import HOOF

    return HOOF(**params)


def _biwoof(**params):
    from .features.biwoof import BiWOOF

    return BiWOOF(**params)


def _fdm(**params):
    from .features.fdm import FDM

    return FDM(**params)


def _network_input(**params):
    from .features.steps import NetworkInput

    return NetworkInput(**params)


def _constant(**params):
    from .features.steps import ConstantFeature

    return ConstantFeature(**params)


#: Default optical-flow engine of the flow methods: Farneback, chosen by measured error per
#: second against the synthetic ground truth (docs/optical_flow.md: the lowest error where
#: the face moves, at about 1/70 of TV-L1's time). ``engine="tvl1"`` is the papers' engine.
DEFAULT_ENGINE = "farneback"

_LBP_DEFAULTS = {"radii": (1, 1, 1), "points": (8, 8, 8), "mapping": "u2", "blocks": (8, 8, 1)}
_MEGC_LBP = {"points": (4, 4, 4), "radii": (1, 1, 4), "blocks": (5, 5, 1)}
_DEEP_REF = "thesis 3.2.3; mer_lab.deep (PyTorch, pip install \"mer_lab[deep]\")"
# Methods that read one flow field (onset -> apex) also take precomputed flow images;
# FDM only when it does not split the clip in time.
_FLOW_IN = ("frames", "flow")

_BUILTIN = [
    Method(name="lbp_top", title="LBP-TOP", features=_lbp("LBPTOP"), defaults=_LBP_DEFAULTS, tim=10,
           dataset_defaults={"megc": _MEGC_LBP}, gamma_step=0.1,
           reference="Zhao & Pietikainen, TPAMI 2007, doi:10.1109/TPAMI.2007.1110; thesis 4.2.1"),
    Method(name="lbp_xyot", title="LBP-XYOT", features=_lbp("LBPXYOT"), defaults=_LBP_DEFAULTS, tim=10,
           gamma_step=0.1, reference="Wang et al. (LBP on XT and YT planes)"),
    Method(name="lbp_sip", title="LBP-SIP", features=_lbp("LBPSIP"),
           defaults={"radii": (1, 1, 1), "blocks": (8, 8, 1)}, tim=10, gamma_step=0.1,
           reference="Wang et al., ACCV 2014 workshops (six intersection points)"),
    Method(name="lbp_mop", title="LBP-MOP", features=_lbp("LBPMOP"), defaults=_LBP_DEFAULTS, tim=10,
           gamma_step=0.1, reference="Wang et al. 2015 (LBP on mean orthogonal planes)"),
    Method(name="elbp_top", title="ELBP-TOP", features=_lbp("ELBPTOP"),
           defaults={**_LBP_DEFAULTS, "radii": (2, 2, 2), "second_radii": (1, 1, 1)}, tim=10, gamma_step=0.1,
           reference="Guo et al. 2019 (extended LBP-TOP)"),
    Method(name="hog_top", title="HOG-TOP", features=_hog, defaults={"bins": 8, "blocks": (8, 8, 1)}, tim=10,
           gamma_step=0.1, reference="Li et al., TAC 2018, doi:10.1109/TAFFC.2017.2667642"),
    Method(name="higo_top", title="HIGO-TOP", features=_higo, defaults={"bins": 8, "blocks": (8, 8, 1)}, tim=10,
           gamma_step=0.1, reference="Li et al., TAC 2018, doi:10.1109/TAFFC.2017.2667642"),
    Method(name="mdmo", title="MDMO", features=_mdmo,
           defaults={"lam": 0.9, "angle": "circular", "engine": DEFAULT_ENGINE, "align": "affine"}, version="2",
           reference="Liu et al., TAC 2016, doi:10.1109/TAFFC.2015.2485205; thesis 4.2.2"),
    Method(name="sparse_mdmo", title="Sparse MDMO", features=_mdmo_frames,
           defaults={"n_frames": 10, "engine": DEFAULT_ENGINE, "align": "affine"},
           stage=_sparse_stage, version="2",
           stage_defaults={"lam": 0.9, "angle": "linear", "n_atoms": 128, "alpha": 1.0, "beta": 1.0, "k": 5},
           gamma_step=0.1, preprocessing="standard",
           reference="Liu, Li & Lai, TAC 2018, doi:10.1109/TAFFC.2018.2854166; thesis 4.2.3 "
                     "(SAMM takes CASME II's settings)"),
    Method(name="hoof", title="HOOF", features=_hoof,
           defaults={"mode": "apex", "bins": 8, "blocks": (5, 5), "engine": DEFAULT_ENGINE, "align": "none"},
           preprocessing="standard", inputs=_FLOW_IN, version="2",
           reference="Chaudhry et al., CVPR 2009, doi:10.1109/CVPR.2009.5206821"),
    Method(name="biwoof", title="Bi-WOOF", features=_biwoof,
           defaults={"blocks": (5, 5), "bins": 8, "engine": DEFAULT_ENGINE, "align": "none"},
           dataset_defaults={"smic": {"blocks": (8, 8)}}, preprocessing="standard", inputs=_FLOW_IN, version="2",
           reference="Liong et al., Signal Processing: Image Communication 2018, doi:10.1016/j.image.2017.11.006"),
    Method(name="fdm", title="FDM", features=_fdm, defaults={"blocks": (8, 8), "segments": 4, "engine": DEFAULT_ENGINE},
           preprocessing="standard", inputs=_FLOW_IN, flow_params={"segments": 1}, version="2",
           reference="Xu et al., TAC 2017, doi:10.1109/TAFFC.2016.2518162"),
    Method(name="baseline", title="Baseline (majority class)", features=None, inputs=_FLOW_IN,
           reference="thesis Table 3: every sample predicted as the majority class"),
    # Deep networks (mer_lab.deep, optional extra "deep"): the features are the network's
    # input maps, the classifier is the network.
    Method(name="ststnet", title="STSTNet", features=_network_input,
           defaults={"kind": "ststnet", "size": 28, "engine": "tvl1", "align": "none"}, inputs=_FLOW_IN,
           classifier="ststnet", reference="Liong et al., FG 2019, doi:10.1109/FG.2019.8756567; " + _DEEP_REF),
    Method(name="off_apexnet", title="OFF-ApexNet", features=_network_input,
           defaults={"kind": "off_apexnet", "size": 28, "engine": "tvl1", "align": "none"}, inputs=_FLOW_IN,
           classifier="off_apexnet",
           reference="Gan et al., Signal Processing: Image Communication 2019, doi:10.1016/j.image.2019.02.005; "
                     + _DEEP_REF),
    Method(name="cnn3d", title="3D CNN (TIM frames)", features=_network_input,
           defaults={"kind": "frames", "size": 28, "difference": True}, tim=8, classifier="cnn3d",
           reference=_DEEP_REF),
    Method(name="cnn_lstm", title="CNN + LSTM (flow sequence)", features=_network_input,
           defaults={"kind": "flow_sequence", "size": 28, "engine": "farneback"}, tim=8, classifier="cnn_lstm",
           reference=_DEEP_REF),
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
            "fold_batch", "n_threads", "n_jobs", "progress"}
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
    """Add a method to :data:`METHODS` (``replace=True`` to overwrite one).

    ``method.features`` must be a transformer class over a sequence of cubes (or a
    factory returning one) that takes ``method.defaults`` as keyword arguments.
    """
    if not isinstance(method, Method):
        raise TypeError(f"method must be a mer_lab.methods.Method, got {describe(method)}")
    if method.features is not None and not callable(method.features):
        raise TypeError(f"method {method.name!r}: features must be a transformer class or a factory returning "
                        f"one, got {describe(method.features)}")
    if method.name in METHODS and not replace:
        raise ValueError(f"a method named {method.name!r} exists; pass replace=True to overwrite it")
    METHODS[method.name] = method
    return method


def unregister_method(name: str) -> None:
    """Remove a method from :data:`METHODS`."""
    check_choice("method", name, list(METHODS))
    del METHODS[name]


def _status(m: Method) -> str:
    from sklearn.dummy import DummyClassifier

    try:  # the method's own steps, and its network (which needs PyTorch) where it has one
        make_pipeline(m, classifier=DummyClassifier() if m.classifier is None else m.classifier)
    except ImportError as exc:
        return f"not importable: {exc}"
    except (TypeError, ValueError) as exc:
        return f"cannot be built: {exc}"
    return "ok"


def available_methods() -> dict[str, str]:
    """Each method's status: ``"ok"`` when its pipeline can be built, otherwise the reason."""
    return {name: _status(m) for name, m in METHODS.items()}


def list_methods():
    """A table of the methods: name, title, status, TIM, fold stage, inputs, reference."""
    import pandas as pd

    status = available_methods()
    return pd.DataFrame([{"method": m.name, "title": m.title, "status": status[m.name], "tim": m.tim,
                          "fold_stage": m.stage is not None, "preprocessing": m.preprocessing,
                          "inputs": _inputs_text(m), "reference": m.reference}
                         for m in METHODS.values()]).set_index("method")


# --------------------------------------------------------------------------- parameters
# Dataset names of the loaders -> the names dataset defaults are filed under.
_DATASET_ALIASES = {"smic_hs": "smic", "smic_vis": "smic", "smic_nir": "smic", "casme_ii": "casme2"}


def _dataset_overrides(m: Method, dataset) -> dict:
    if dataset is None:
        return {}
    key = str(dataset).lower()
    return dict(m.dataset_defaults.get(_DATASET_ALIASES.get(key, key), {}))


def method_defaults(method, *, dataset: str | None = None) -> dict:
    """A method's flat defaults from :data:`METHODS`: ``tim``, ``evm_alpha`` and its
    feature transformer's and fold stage's table defaults, with the dataset's overrides.

    ``dataset`` is a dataset name (``"smic"``, ``"casme2"``, ...) or ``"megc"`` for the
    MEGC protocol.
    """
    m = get_method(method)
    out: dict[str, Any] = {}
    if m.features is not None:
        out.update(tim=m.tim, evm_alpha=0.0)
    out.update(m.defaults)
    out.update(m.stage_defaults)
    out.update(_dataset_overrides(m, dataset))
    return out


def _step_param_names(factory, defaults) -> list[str]:
    if factory is None:
        return []
    return list(factory(**dict(defaults)).get_params(deep=False))


def param_aliases(method) -> dict[str, str]:
    """Flat parameter name -> ``step__param`` for a method (``tim`` -> ``tim__n_frames``,
    ``evm_alpha`` -> ``magnify__alpha``, ``blocks`` -> ``features__blocks``, ...).

    Every parameter of the feature transformer and of the fold stage has a flat name
    (the feature transformer's win where both have one).
    """
    m = get_method(method)
    out: dict[str, str] = {}
    if m.features is None:
        return out
    out.update(tim="tim__n_frames", evm_alpha="magnify__alpha")
    for name in _step_param_names(m.stage, m.stage_defaults):
        out[name] = f"stage__{name}"
    for name in _step_param_names(m.features, m.defaults):
        out[name] = f"features__{name}"
    for name in m.stage_defaults:
        out[name] = f"stage__{name}"
    return out


def _like(value, default):
    """A value in its default's form: lists (and ``"4,4,1"``) become tuples where the default
    is a tuple, integers floats where it is a float (the command line reads ``[4, 4, 1]``
    and ``1``)."""
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(default, tuple) and isinstance(value, str) and "," in value:
        try:
            return tuple(int(v) if v.strip().lstrip("-").isdigit() else float(v) for v in value.split(","))
        except ValueError:
            return value
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def resolve_params(method, *, dataset: str | None = None, **params) -> dict:
    """The full ``step__param`` settings of a method: table defaults, dataset defaults, then
    ``params`` (flat names or ``step__param``), classifier settings left out.

    Raises a ValueError naming an unknown parameter and listing the method's flat names.
    """
    m = get_method(method)
    aliases = param_aliases(m)
    flat_defaults = method_defaults(m, dataset=dataset)
    out = {aliases[k]: v for k, v in flat_defaults.items() if k in aliases}
    unknown = []
    for key, value in params.items():
        if key.startswith("classifier__"):
            continue
        if "__" in key:
            step = key.split("__", 1)[0]
            if step not in STEPS or (m.features is None and step != "classifier"):
                unknown.append(key)
                continue
            target = key
        elif key in aliases:
            target = aliases[key]
        else:
            unknown.append(key)
            continue
        flat = next((k for k, v in aliases.items() if v == target), None)
        out[target] = _like(value, flat_defaults.get(flat)) if flat is not None else value
    if unknown:
        names = sorted(aliases)
        raise ValueError(f"method {m.name!r} has no parameter(s) {sorted(unknown)}; its parameters are {names} "
                         f"(or step__param for a parameter of one of the steps {list(STEPS)})")
    return out


_SCALERS = ("standard", "minmax", "l2", "none")


def make_scaler(preprocessing: str):
    """The ``scale`` step of a preprocessing name (``"none"``: ``"passthrough"``)."""
    from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler

    check_choice("preprocessing", preprocessing, _SCALERS)
    return {"standard": StandardScaler, "minmax": MinMaxScaler, "l2": Normalizer,
            "none": lambda: "passthrough"}[preprocessing]()


def make_pipeline(name, *, dataset: str | None = None, classifier="svm_poly", preprocessing: str | None = None,
                  **params):
    """A method as a scikit-learn :class:`~sklearn.pipeline.Pipeline` over a sequence of cubes.

    Parameters
    ----------
    name : str or Method
        A method of :data:`METHODS`.
    dataset : str, optional
        Selects the method's dataset defaults (``"smic"``, ``"casme2"``, ..., or ``"megc"``
        for the MEGC protocol's LBP-TOP settings).
    classifier : str or sklearn estimator
        A name of :data:`mer_lab.evaluation.classifiers.CLASSIFIERS` (default the thesis's
        polynomial SVM, degree 3, coef 1, gamma ``"scale"``, C 1) or an estimator. A
        method with its own network (``ststnet``, ...) uses it unless another network is named.
    preprocessing : {"standard", "minmax", "l2", "none"}, optional
        The ``scale`` step; default the method's (:attr:`Method.preprocessing`).
    **params
        Flat names (``tim``, ``evm_alpha``, ``blocks``, ``lam``, ``engine``, ...; see
        :func:`param_aliases`) or ``step__param`` (``features__blocks``,
        ``classifier__C``, ...). ``tim=None`` and ``evm_alpha=0`` switch those steps off.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``magnify``, ``tim``, ``features``, ``stage``, ``scale``, ``classifier``.

    Raises
    ------
    ValueError
        An unknown method or parameter, or a value a step refuses (the message names the
        parameter and what is accepted). Feature transformers check the rest of their
        parameters when they run.

    Examples
    --------
    >>> pipe = make_pipeline("hog_top", blocks=(2, 2, 1), classifier__C=10.0)
    >>> pipe.named_steps["features"]
    HOGTOP(blocks=(2, 2, 1))
    >>> pipe.named_steps["classifier"].C, pipe.named_steps["scale"]
    (10.0, 'passthrough')
    """
    from sklearn.base import BaseEstimator, clone
    from sklearn.pipeline import Pipeline

    from .evaluation.classifiers import make_classifier
    from .preprocess.steps import TIM, Magnify

    m = get_method(name)
    settings = resolve_params(m, dataset=dataset, **params)
    clf_params = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith("classifier__")}
    by_step: dict[str, dict] = {s: {} for s in STEPS}
    for key, value in settings.items():
        step, param = key.split("__", 1)
        by_step[step][param] = value

    if m.features is None:  # the majority baseline: no information, the majority class
        features = _constant()
        magnify = tim = stage = "passthrough"
        if clf_params:
            raise ValueError(f"the baseline's classifier is the majority class; it takes no parameters, got "
                             f"{sorted(clf_params)}")
        clf = make_classifier("majority")
        scale = "passthrough"
    else:
        mag = dict(by_step["magnify"])
        alpha = mag.pop("alpha", 0.0)
        magnify = Magnify(alpha=alpha, **mag) if alpha else "passthrough"
        frames = by_step["tim"].get("n_frames")
        tim = TIM(n_frames=frames) if frames is not None else "passthrough"
        features = m.features(**by_step["features"])
        stage = m.stage(**by_step["stage"]) if m.stage is not None else "passthrough"
        if m.stage is None and by_step["stage"]:
            raise ValueError(f"method {m.name!r} has no fold stage; got {sorted(by_step['stage'])}")
        scale = make_scaler(m.preprocessing if preprocessing is None else preprocessing)
        if isinstance(classifier, BaseEstimator):
            clf = clone(classifier).set_params(**clf_params)
        else:
            clf_name, kept = own_classifier(m, classifier, clf_params)
            clf = make_classifier(clf_name, **dict(kept or {}))
    steps = [("magnify", magnify), ("tim", tim), ("features", features), ("stage", stage), ("scale", scale),
             ("classifier", clf)]
    aliases = {v: k for k, v in param_aliases(m).items()}
    for step, est in steps:
        check = getattr(est, "_check_params", None)
        if callable(check):
            try:
                check()
            except (TypeError, ValueError) as exc:
                first = re.split(r"[=\s]", str(exc), maxsplit=1)[0]
                key = f"{step}__{first}"
                label = f"{key} ({aliases[key]})" if key in aliases else key
                raise type(exc)(f"method {m.name!r}, parameter {label}: {exc}") from None
    return Pipeline(steps)


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
    return {m.name: dict(m.flow_params) for m in METHODS.values() if "flow" in m.inputs and m.features is not None}


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
        The method's parameters (flat names or ``step__param``, as :func:`make_pipeline`
        takes them); on flow images they must agree with :attr:`Method.flow_params`.
    """
    m = get_method(method)
    check_choice("input kind", kind, INPUT_KINDS)
    if kind not in m.inputs:
        what = {"flow": "precomputed flow images (one flow field per clip)", "frames": "clips of frames"}[kind]
        needs = " and ".join({"flow": "flow images", "frames": "clips of frames"}[k] for k in m.inputs)
        raise ValueError(f"method {m.name!r} cannot run on {what}: it takes {needs}. Methods that accept "
                         f"flow images: {_flow_list()}")
    if kind == "flow" and m.flow_params:
        aliases = param_aliases(m)
        given = resolve_params(m, **dict(params or {}))
        wrong = {k: given.get(aliases[k]) for k, v in m.flow_params.items() if given.get(aliases[k]) != v}
        if wrong:
            need = ", ".join(f"{k}={v}" for k, v in m.flow_params.items())
            got = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            raise ValueError(f"method {m.name!r} runs on flow images only with {need} (a flow image is one flow "
                             f"field), got {got}; pass params={dict(m.flow_params)} (mer-lab: --param "
                             f"{need.replace(', ', ' --param ')})")
