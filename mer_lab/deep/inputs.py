"""Network inputs: onset -> apex flow (any engine) or precomputed flow images -> small maps.

The shallow flow CNNs of the MEGC 2019 era read three 28 x 28 maps per clip: the
horizontal and vertical flow ``u``, ``v`` from onset to apex, and the optical strain
(:func:`mer_lab.features.flow.optical_strain`). :func:`flow_maps` builds them from a clip
(the flow is computed with any engine of :func:`mer_lab.features.flow.optical_flow`) or
from a precomputed flow image (:func:`mer_lab.datasets.load_flow_images`, whose strain
channel is used as published). The sequence models read per-frame flow
(:func:`flow_sequence_maps`) or TIM-normalised frames (:func:`frame_maps`).

The ``*_input`` functions are what the registered methods' feature step
(:class:`mer_lab.features.steps.NetworkInput`) computes per clip: they return the maps
flattened, in the order the classifiers of :mod:`mer_lab.deep.estimators` reshape them
to (channels, [time,] size, size).
"""

from __future__ import annotations

import cv2
import numpy as np

from .._validate import check_choice, check_int, describe
from ..features.flow.sequence import _grey_cube, _is_cube, pair_flow_and_strain, sequence_flow

__all__ = ["COMPONENTS", "flow_maps", "flow_sequence_maps", "frame_maps", "resize_maps", "ststnet_input",
           "off_apexnet_input", "flow_sequence_input", "frames_input"]

#: Maps :func:`flow_maps` can return, in this order.
COMPONENTS = ("u", "v", "strain")


def resize_maps(maps, size: int) -> np.ndarray:
    """Resize ``(..., H, W)`` maps to ``(..., size, size)`` (area averaging when shrinking)."""
    size = check_int("size", size, low=4, high=512)
    arr = np.asarray(maps, dtype=np.float32)
    if arr.ndim < 2:
        raise ValueError(f"maps must have at least 2 dims (H, W), got {describe(maps)}")
    lead = arr.shape[:-2]
    flat = arr.reshape(-1, *arr.shape[-2:])
    h, w = flat.shape[-2:]
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    out = np.stack([cv2.resize(m, (size, size), interpolation=interp) for m in flat])
    return out.reshape(*lead, size, size)


def _components(components) -> tuple[str, ...]:
    comps = (components,) if isinstance(components, str) else tuple(components)
    if not comps:
        raise ValueError(f"components must name at least one of {list(COMPONENTS)}, got {comps!r}")
    for c in comps:
        check_choice("components", c, COMPONENTS)
    return comps


def flow_maps(data, *, size: int = 28, components=COMPONENTS, engine: str = "tvl1", align: str = "none",
              cache=None) -> np.ndarray:
    """The onset -> apex flow of a clip as ``(len(components), size, size)`` float32 maps.

    Parameters
    ----------
    data : xarray.DataArray or array_like
        A clip (dims ``time, y, x``; its onset -> apex flow is computed with ``engine``)
        or a precomputed flow: ``(2, H, W)`` ``(u, v)``, ``(3, H, W)`` ``(u, v, strain)``
        or a flow-image DataArray with a ``component`` dim.
    size : int
        Side of the square maps (28 for STSTNet and OFF-ApexNet).
    components : sequence of {"u", "v", "strain"}
        Which maps, in order.
    engine, align, cache
        Flow engine, global-motion removal and flow cache (see
        :func:`mer_lab.features.flow.pair_flow_and_strain`).

    Returns
    -------
    ndarray, shape (len(components), size, size), float32
        ``u`` and ``v`` in pixels of the resized grid (a displacement of one original
        pixel becomes ``size / W`` of a map pixel); strain (dimensionless) computed at
        full resolution, then resized. A precomputed strain channel is kept as it is.
    """
    comps = _components(components)
    flow, strain = pair_flow_and_strain(data, align=align, engine=engine, cache=cache)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise ValueError(f"flow must have shape (2, H, W), got {flow.shape}")
    h, w = flow.shape[-2:]
    small = resize_maps(np.concatenate([flow, strain[None]]), size)
    small[0] *= size / w
    small[1] *= size / h
    out = small[[COMPONENTS.index(c) for c in comps]]
    if not np.isfinite(out).all():
        raise ValueError("the flow holds NaN or infinite values; check the clip or flow image")
    return out


def flow_sequence_maps(data, *, size: int = 28, engine: str = "tvl1", reference: str = "first",
                       cache=None) -> np.ndarray:
    """Per-frame flow ``(2, T, size, size)``: from the first frame to every later frame
    (``reference="first"``) or between consecutive frames (``"previous"``).

    ``data`` is a clip (use TIM first for a fixed ``T``) or a precomputed flow sequence
    ``(T, 2, H, W)``. The first frame's zero flow is dropped for ``reference="first"``.
    """
    seq = sequence_flow(data, reference=reference, engine=engine, cache=cache)
    if _is_cube(data) and reference in ("first", "previous") and seq.shape[0] > 1:
        seq = seq[1:]
    h, w = seq.shape[-2:]
    small = resize_maps(seq, size)                       # (T, 2, size, size)
    small[:, 0] *= size / w
    small[:, 1] *= size / h
    out = np.ascontiguousarray(small.transpose(1, 0, 2, 3))
    if not np.isfinite(out).all():
        raise ValueError("the flow sequence holds NaN or infinite values")
    return out


def frame_maps(cube, *, size: int = 28, difference: bool = True) -> np.ndarray:
    """Grey frames of a clip ``(1, T, size, size)``; with ``difference`` each frame minus
    the first (what changed, without the face's appearance)."""
    grey = np.asarray(_grey_cube(cube).values, dtype=np.float32)
    small = resize_maps(grey, size)
    if difference:
        small = small - small[:1]
    return small[None]


# ----------------------------------------------------------------- per-clip inputs of the methods
def ststnet_input(data, *, size: int = 28, engine: str = "tvl1", align: str = "none", cache=None) -> np.ndarray:
    """STSTNet's input, flattened: ``u``, ``v`` and strain maps (3 x size x size)."""
    return flow_maps(data, size=size, components=COMPONENTS, engine=engine, align=align, cache=cache).ravel()


def off_apexnet_input(data, *, size: int = 28, engine: str = "tvl1", align: str = "none",
                      cache=None) -> np.ndarray:
    """OFF-ApexNet's input, flattened: ``u`` and ``v`` maps (2 x size x size)."""
    return flow_maps(data, size=size, components=("u", "v"), engine=engine, align=align, cache=cache).ravel()


def flow_sequence_input(cube, *, size: int = 28, engine: str = "farneback", cache=None) -> np.ndarray:
    """The CNN + LSTM's (and 3D CNN's) flow-sequence input, flattened (2 x T x size x size)."""
    return flow_sequence_maps(cube, size=size, engine=engine, cache=cache).ravel()


def frames_input(cube, *, size: int = 28, difference: bool = True) -> np.ndarray:
    """The 3D CNN's frame input, flattened (1 x T x size x size)."""
    if not _is_cube(cube):
        raise ValueError("frames_input needs a clip of frames (dims time, y, x), got a flow; use "
                         "flow_sequence_input or the flow-image methods (ststnet, off_apexnet)")
    return frame_maps(cube, size=size, difference=difference).ravel()
