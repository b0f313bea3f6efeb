"""Apex frames from optical flow: the magnitude curve of a clip and its peak.

Some datasets (SMIC) annotate no apex. Bi-WOOF and other onset -> apex methods then need
an estimate; here the apex is the frame whose flow from the neutral frames is largest
(the expression is at its strongest where the face differs most from its neutral start
and end), as in thesis Figure 3, where the magnitude from the first frame peaks close to
the annotated apex. Head motion is removed in the flow domain, and measuring from both
the onset and the offset cancels a steady drift.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validate import check_choice, check_int
from ..cube import META_KEYS, key_frames, like, validate_cube
from .flow import flow_sequence, remove_global_motion

__all__ = ["flow_magnitude_curve", "estimate_apex", "with_estimated_apex"]

_STATISTICS = ("mean", "median", "max", "p95")


def _reduce(mag, statistic):
    flat = mag.reshape(mag.shape[0], -1)
    if statistic == "mean":
        return flat.mean(axis=1)
    if statistic == "median":
        return np.median(flat, axis=1)
    if statistic == "max":
        return flat.max(axis=1)
    return np.percentile(flat, 95, axis=1)


def flow_magnitude_curve(cube, *, reference: str = "onset", span: str = "expression",
                         statistic: str = "mean", align: str = "none", detrend: bool = False,
                         engine: str = "farneback", cache=None, **engine_params) -> xr.DataArray:
    """Flow magnitude of every frame relative to a reference frame (thesis Figure 3).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
    reference : {"onset", "first", "both", "previous"}
        ``"onset"``/``"first"``: flow from the onset / the first frame of ``span`` to
        every frame; ``"both"``: the sum of the magnitudes from the onset and from the
        offset (both neutral) to every frame; ``"previous"``: frame-to-frame flow
        (speed rather than displacement).
    span : {"expression", "clip"}
        Frames considered: onset..offset, or the whole clip.
    statistic : {"mean", "median", "max", "p95"}
        Reduction of each frame's magnitude map (px) to one number.
    align : {"none", "translation", "affine"}
        Remove global (head) motion from each flow first
        (:func:`mer_lab.features.flow.remove_global_motion`).
    detrend : bool
        Subtract the straight line through the curve's first and last values. The face
        is neutral at both ends of the expression, so what the curve shows there is
        drift (head motion left after alignment, illumination, engine bias) growing
        with time; removing it lets the expression's rise and fall stand out.
    engine, cache, **engine_params
        Flow computation (see :func:`mer_lab.features.flow.flow_pair`).

    Returns
    -------
    xarray.DataArray, dims (time,)
        Magnitude in px, with the ``time`` and ``frame`` coordinates of the frames and
        the clip's metadata.
    """
    validate_cube(cube, min_frames=2)
    check_choice("reference", reference, ("onset", "first", "both", "previous"))
    check_choice("span", span, ("expression", "clip"))
    check_choice("statistic", statistic, _STATISTICS)
    check_choice("align", align, ("none", "translation", "affine"))
    part = cube
    if span == "expression":
        kf = key_frames(cube)
        part = cube.isel(time=slice(kf["onset"], kf["offset"] + 1))
        if part.sizes["time"] < 2:
            raise ValueError("the expression (onset..offset) spans fewer than 2 frames; use span='clip'")
    kw = dict(engine=engine, cache=cache, **engine_params)
    if reference == "previous":
        seqs = [flow_sequence(part, reference="previous", **kw).values]
    elif reference == "first":
        seqs = [flow_sequence(part, reference="first", **kw).values]
    else:
        seqs = [flow_sequence(part, reference="onset", **kw).values]
        if reference == "both":
            seqs.append(flow_sequence(part, reference="offset", **kw).values)
    mag = 0.0
    for seq in seqs:
        if align != "none":
            seq = np.stack([remove_global_motion(f, model=align) if f.any() else f for f in seq])
        mag = mag + np.hypot(seq[:, 0], seq[:, 1])
    values = _reduce(mag, statistic).astype(np.float64)
    if detrend and values.size > 1:
        values = values - np.linspace(values[0], values[-1], values.size)
    attrs = {k: cube.attrs.get(k) for k in META_KEYS}
    attrs.update(units="px", long_name=f"{statistic} flow magnitude" + (" (detrended)" if detrend else ""),
                 reference=reference, engine=engine, align=align)
    return xr.DataArray(values, dims=("time",), coords={"time": part["time"].values, "frame": ("time", part["frame"].values)},
                        attrs=attrs, name="flow_magnitude")


def estimate_apex(cube, *, engine: str = "farneback", reference: str = "both", span: str = "expression",
                  statistic: str = "mean", smooth: int = 1, align: str = "affine", detrend: bool = False,
                  cache=None, **engine_params) -> int:
    """The apex as the frame of peak flow magnitude from the neutral onset (and offset).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
    engine : str
        Flow engine (Farneback by default: fast and accurate enough for a peak).
    reference, span, statistic, align, detrend
        See :func:`flow_magnitude_curve`. The defaults (magnitudes from both the onset
        and the offset, affine alignment) were the most accurate of the variants tried
        on the synthetic corpus (docs/optical_flow.md gives the figures, next to the
        middle-frame guess). With ``reference="both"`` a head drift that grows steadily
        adds about the same amount to every frame and so cannot move the peak.
    smooth : int
        Width (frames, odd) of a moving average applied to the curve before taking the
        peak; 1 = none. Smoothing makes the estimate robust to a single noisy frame.
    cache, **engine_params
        See :func:`mer_lab.features.flow.flow_pair`.

    Returns
    -------
    int
        The dataset frame number of the estimated apex (ties: the earliest).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> from mer_lab.cube import make_cube
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(0).random((40, 40)), 2)
    >>> shifts = [0, 0.3, 0.8, 1.2, 0.7, 0.2]           # the face moves, peaks, returns
    >>> cube = make_cube(np.stack([ndi.shift(f0, (s, 0), mode="wrap") for s in shifts]),
    ...                  fps=100, frame_numbers=range(20, 26))
    >>> estimate_apex(cube, align="none", detrend=False, cache=False)  # whole-frame motion: no alignment
    23
    """
    smooth = check_int("smooth", smooth, low=1)
    if smooth % 2 == 0:
        raise ValueError(f"smooth must be odd, got {smooth}")
    curve = flow_magnitude_curve(cube, reference=reference, span=span, statistic=statistic, align=align,
                                 detrend=detrend, engine=engine, cache=cache, **engine_params)
    values = curve.values
    if smooth > 1:
        pad = smooth // 2
        padded = np.pad(values, pad, mode="edge")
        values = np.convolve(padded, np.ones(smooth) / smooth, mode="valid")
    return int(curve["frame"].values[int(np.argmax(values))])


def with_estimated_apex(cube, **kwargs) -> xr.DataArray:
    """The cube with ``apex`` set by :func:`estimate_apex` (keyword arguments passed on).

    The returned cube has ``apex_estimated=True`` and
    ``apex_method="flow magnitude peak"`` in its attrs; the frames are unchanged.
    """
    apex = estimate_apex(cube, **kwargs)
    return like(cube, cube.values, apex=apex, apex_estimated=True, apex_method="flow magnitude peak")
