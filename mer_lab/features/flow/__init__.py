"""Dense optical flow: one interface over several engines, flow of clips, optical strain.

Convention
----------
A flow field is a float32 array of shape ``(2, H, W)``: component 0 is ``u``
(horizontal, positive to the right, along columns ``x``), component 1 is ``v``
(vertical, positive downwards, along rows ``y``), in pixels, from the earlier frame
``frame0`` to the later frame ``frame1``::

    frame0(y, x) ~ frame1(y + v, x + u)

so a texture that moves one pixel to the right between the two frames has ``u = +1``,
``v = 0``. As a DataArray a flow has dims ``("component", "y", "x")`` with
``component = ["u", "v"]``; sequences add a leading ``"time"`` dimension. Flow images
shared by other groups add a third component ``"strain"``.

Modules
-------
:mod:`~mer_lab.features.flow.engines`
    :func:`optical_flow` over six engines (TV-L1, Farneback, DIS, scikit-image's TV-L1
    and iterative Lucas-Kanade, and the teaching :func:`lucas_kanade`).
:mod:`~mer_lab.features.flow.strain`
    Optical strain, magnitude, direction and the colour-wheel picture of a flow.
:mod:`~mer_lab.features.flow.align`
    The one affine (or translation) fit of global head motion in a flow,
    :func:`fit_motion`, used by :func:`remove_global_motion` and by MDMO.
:mod:`~mer_lab.features.flow.sequence`
    Flow of clips (:func:`flow_pair`, :func:`flow_sequence`), their cache keys, and the
    flow input of the flow features (:func:`pair_flow_and_strain`, :func:`sequence_flow`).

Every public name is importable from ``mer_lab.features.flow`` itself. Functions do no
disk I/O unless asked (``cache=`` or :func:`mer_lab.cache.flow_cache`).
"""

from .align import MOTION_MODELS, fit_motion, global_motion, motion_field, remove_global_motion, sample_flow
from .engines import ENGINE_DEFAULTS, ENGINES, FLOW_CODE_VERSION, lucas_kanade, optical_flow
from .sequence import as_flow, flow_dataarray, flow_pair, flow_sequence, pair_flow_and_strain, sequence_flow
from .strain import flow_angle, flow_magnitude, flow_to_rgb, optical_strain, strain_components

__all__ = [
    "ENGINES",
    "ENGINE_DEFAULTS",
    "FLOW_CODE_VERSION",
    "optical_flow",
    "lucas_kanade",
    "flow_pair",
    "flow_sequence",
    "flow_dataarray",
    "strain_components",
    "optical_strain",
    "flow_magnitude",
    "flow_angle",
    "flow_to_rgb",
    "MOTION_MODELS",
    "sample_flow",
    "fit_motion",
    "motion_field",
    "global_motion",
    "remove_global_motion",
    "as_flow",
    "pair_flow_and_strain",
    "sequence_flow",
]
