"""Feature transformers that only the named methods' pipelines need.

* :class:`MDMOFrames` - the per-frame MDMO matrices of Sparse MDMO, flattened to one
  row per clip (the input of its fold-fitted dictionary,
  :class:`mer_lab.features.sparse_mdmo.SparseMDMOFromFrames`);
* :class:`NetworkInput` - the input maps of a network of :mod:`mer_lab.deep`
  (STSTNet, OFF-ApexNet, the 3D CNN and the CNN + LSTM), flattened;
* :class:`ConstantFeature` - one constant column: the majority baseline's "features".

All are stateless transformers over a sequence of cubes (see
:class:`mer_lab.features.base.CubeFeatures`).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_int, check_number
from .base import CubeFeatures

__all__ = ["MDMOFrames", "NetworkInput", "ConstantFeature", "NETWORK_INPUTS"]


class MDMOFrames(CubeFeatures):
    """Per-frame MDMO matrices :func:`mer_lab.features.mdmo.mdmo_frames`, one flattened
    ``(T, 36, 2)`` matrix (rho, theta of every ROI at every step) per clip.

    Parameters are those of :func:`~mer_lab.features.mdmo.mdmo_frames`: ``landmarks``
    (default ``"auto"``: the clip's ``attrs["landmarks"]``, else dlib detection),
    ``engine``, ``align``, ``n_frames`` (TIM frames first; 10 in Sparse MDMO),
    ``n_bins``, ``brow_offset`` and ``engine_params`` (a dict of flow-engine parameters).
    """

    def __init__(self, *, landmarks="auto", engine="tvl1", align="affine", n_frames=10, n_bins=8,
                 brow_offset=None, engine_params=None):
        self.landmarks = landmarks
        self.engine = engine
        self.align = align
        self.n_frames = n_frames
        self.n_bins = n_bins
        self.brow_offset = brow_offset
        self.engine_params = engine_params

    def _check_params(self):
        # engine and align are checked by mdmo_frames itself (one check, one message)
        if self.n_frames is not None:
            check_int("n_frames", self.n_frames, low=2, high=200)
        check_int("n_bins", self.n_bins, low=2, high=64)

    def _kwargs(self) -> dict:
        from .mdmo import BROW_OFFSET

        return dict(landmarks=self.landmarks, engine=self.engine, align=self.align, n_frames=self.n_frames,
                    n_bins=self.n_bins, brow_offset=BROW_OFFSET if self.brow_offset is None else self.brow_offset,
                    **(self.engine_params or {}))

    def _extract(self, cube):
        from .mdmo import mdmo_frames

        self._check_params()
        return np.asarray(mdmo_frames(cube, **self._kwargs()).values, dtype=np.float64).ravel()

    def _names(self, cube):
        from .mdmo import QUANTITIES, ROI_NAMES

        steps = (self.n_frames if self.n_frames is not None else cube.sizes["time"]) - 1
        return [f"step{t + 1}_{roi}_{q}" for t in range(steps) for roi in ROI_NAMES for q in QUANTITIES]


#: input kind -> the parameters its builder in mer_lab.deep.inputs takes
NETWORK_INPUTS = {
    "ststnet": ("size", "engine", "align"),
    "off_apexnet": ("size", "engine", "align"),
    "frames": ("size", "difference"),
    "flow_sequence": ("size", "engine"),
}


class NetworkInput(CubeFeatures):
    """The flattened input maps of a network of :mod:`mer_lab.deep` for every clip.

    Parameters
    ----------
    kind : {"ststnet", "off_apexnet", "frames", "flow_sequence"}
        STSTNet's u, v and strain maps; OFF-ApexNet's u, v maps (both of the onset ->
        apex flow, also from precomputed flow images); the clip's frames (3D CNN); its
        flow sequence (CNN + LSTM). See :mod:`mer_lab.deep.inputs`.
    size : int
        Side of the square maps (8..128 pixels).
    engine : {"tvl1", "farneback", "dis"}
        Optical-flow engine (flow inputs).
    align : {"none", "translation", "affine"}
        Flow-domain alignment (``"ststnet"``, ``"off_apexnet"``).
    difference : bool
        Subtract the first frame (``"frames"``).
    """

    def __init__(self, *, kind="ststnet", size=28, engine="tvl1", align="none", difference=True):
        self.kind = kind
        self.size = size
        self.engine = engine
        self.align = align
        self.difference = difference

    def _check_params(self):
        check_choice("kind", self.kind, list(NETWORK_INPUTS))
        check_int("size", self.size, low=8, high=128)
        # engine and align are checked by the flow functions the input builders call
        check_choice("difference", self.difference, (True, False))

    def _extract(self, cube):
        from ..deep.inputs import flow_sequence_input, frames_input, off_apexnet_input, ststnet_input

        self._check_params()
        build = {"ststnet": ststnet_input, "off_apexnet": off_apexnet_input, "frames": frames_input,
                 "flow_sequence": flow_sequence_input}[self.kind]
        return build(cube, **{k: getattr(self, k) for k in NETWORK_INPUTS[self.kind]})

    def _names(self, cube):
        if self.kind in ("ststnet", "off_apexnet"):  # channels x size x size maps, channel-major
            channels = ("u", "v", "strain") if self.kind == "ststnet" else ("u", "v")
            return [f"{c}_y{i}_x{j}" for c in channels for i in range(self.size) for j in range(self.size)]
        return [f"{self.kind}_{i}" for i in range(self._extract(cube).size)]


class ConstantFeature(CubeFeatures):
    """One constant column per clip: no information (the majority baseline's input)."""

    def __init__(self, *, value=0.0):
        self.value = value

    def _check_params(self):
        check_number("value", self.value)

    def _extract(self, cube):
        self._check_params()
        return np.array([float(self.value)])

    def _names(self, cube):
        return ["constant"]
