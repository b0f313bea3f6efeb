"""Feature-difference spotting of rapid facial movements (Moilanen et al. 2014).

A frame that differs from the average of the frames ``k`` before and ``k`` after it is
in the middle of a short movement; a slow change (head drift, lighting) makes the three
frames look alike. Per frame, the face is cut into blocks, each block described by a
histogram of LBP codes; the block-wise chi-squared distance between frame ``i`` and the
average histogram of frames ``i - k`` and ``i + k`` is averaged over the ``M`` blocks
that changed most, giving ``F(i)``. The contrast ``C(i) = F(i) - (F(i - k) + F(i + k))/2``
(negative values set to 0) keeps short bursts and removes slow trends; its peaks above
``T = mean(C) + p (max(C) - mean(C))`` are the spotted movements.

Functions
---------
feature_difference
    Contrast curve ``C`` of a clip (an :class:`xarray.DataArray` over ``time``).
spot_intervals
    Spotted intervals of a clip as a table (onset, apex, offset, score).
lbp_block_histograms
    Per-frame block LBP histograms (the appearance feature of the method).
threshold
    The threshold ``T`` of a curve for a given ``p``.
intervals_from_curve
    Peaks of any spotting curve above ``T`` turned into intervals ``[peak - k, peak + k]``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_choice, check_int, check_number, describe
from ..cube import to_grey, validate_cube
from ..features.blocks import block_labels, check_grid

__all__ = [
    "MEAN_ME_LENGTH_S",
    "LBP_MAPPINGS",
    "default_interval",
    "lbp_block_histograms",
    "feature_difference",
    "threshold",
    "intervals_from_curve",
    "spot_intervals",
]

#: Mean duration of a micro-expression used to derive ``k`` when it is not given (seconds).
MEAN_ME_LENGTH_S = 0.3

#: LBP mappings: mer_lab name -> scikit-image ``method`` of ``local_binary_pattern``.
LBP_MAPPINGS = {"u2": "nri_uniform", "riu2": "uniform", "none": "default"}

INTERVAL_COLUMNS = ["onset", "apex", "offset", "score"]


def default_interval(fps: float, *, me_length: float = MEAN_ME_LENGTH_S) -> int:
    """Half the mean ME length in frames (at least 1): the default ``k``.

    Examples
    --------
    >>> default_interval(200), default_interval(30), default_interval(5)
    (30, 5, 1)
    """
    fps = check_number("fps", fps, low=0, low_open=True)
    me_length = check_number("me_length", me_length, low=0, low_open=True)
    return max(1, int(np.floor(fps * me_length / 2 + 0.5)))


def _n_bins(points: int, mapping: str) -> int:
    if mapping == "u2":
        return points * (points - 1) + 3
    if mapping == "riu2":
        return points + 2
    return 2**points


def _grey_frames(cube) -> np.ndarray:
    cube = validate_cube(cube)
    if cube.ndim == 4:
        cube = to_grey(cube)
    frames = cube.values
    if not np.issubdtype(frames.dtype, np.integer):
        frames = frames.astype(np.float64)
    return frames


def _check_blocks(blocks) -> tuple[int, int]:
    return check_grid(blocks, 2, scalar=False)


def lbp_block_histograms(cube, *, blocks=(6, 6), radius: float = 1, points: int = 8,
                         mapping: str = "u2", smooth: float = 0.0) -> np.ndarray:
    """LBP histograms of each block of each frame.

    Codes are computed per frame (XY plane) with :func:`skimage.feature.local_binary_pattern`
    (neighbours on a circle, bilinearly interpolated). Only pixels at least ``ceil(radius)``
    away from every border are centres; that region is cut into ``rows x cols`` blocks of
    (nearly) equal size by the rule of :mod:`mer_lab.features.blocks`.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A grey clip (colour clips are converted with :func:`mer_lab.cube.to_grey`).
    blocks : (int, int)
        Block rows and columns.
    radius : float
        Radius of the neighbour circle in pixels.
    points : int
        Neighbours on the circle.
    mapping : {"u2", "riu2", "none"}
        ``"u2"``: uniform patterns, each rotation its own bin (``P (P - 1) + 3`` bins, 59 for
        ``P = 8``); ``"riu2"``: rotation-invariant uniform patterns (``P + 2`` bins);
        ``"none"``: all ``2**P`` codes.
    smooth : float
        Standard deviation in pixels of a Gaussian blur applied to each frame before the
        codes are computed; 0 (default) leaves the frames as they are.

    Returns
    -------
    numpy.ndarray, shape (time, rows * cols, bins)
        Histograms normalised to sum 1 per block; blocks in row-major order.

    Notes
    -----
    **Bin order.** The bins are numbered as scikit-image numbers its labels
    (:data:`LBP_MAPPINGS`: ``"u2"`` is its ``"nri_uniform"``), not as the MATLAB
    ``getmapping`` of the LBP-TOP features (:mod:`mer_lab.features.lbp`), because these
    histograms are only ever compared with each other: the raw codes are the same in
    both (same ring, same bit order), so the two numberings differ by one fixed
    permutation of the bins, and the chi-squared distance, the top-``M`` mean and
    everything after it are sums over bins that no permutation changes. The spotting
    curve is therefore identical with either order (``tests/spotting`` checks it), and
    the per-frame 2-D codes come straight from scikit-image without the 3-D kernels.
    ``"riu2"`` and ``"none"`` number the bins the same way in both.
    """
    import cv2
    from skimage.feature import local_binary_pattern

    rows, cols = _check_blocks(blocks)
    radius = check_number("radius", radius, low=0, low_open=True)
    points = check_int("points", points, low=1, high=24)
    check_choice("mapping", mapping, list(LBP_MAPPINGS))
    smooth = check_number("smooth", smooth, low=0)
    frames = _grey_frames(cube)
    n, height, width = frames.shape
    margin = int(np.ceil(radius))
    inner_h, inner_w = height - 2 * margin, width - 2 * margin
    if inner_h < rows or inner_w < cols:
        raise ValueError(
            f"frames of {width}x{height} pixels leave {max(inner_w, 0)}x{max(inner_h, 0)} LBP centres "
            f"at radius {radius:g}, too few for blocks={(rows, cols)}"
        )
    n_bins = _n_bins(points, mapping)
    n_blocks = rows * cols
    offsets = (block_labels((inner_h, inner_w), (rows, cols)) * n_bins).ravel()
    counts = np.bincount(offsets // n_bins, minlength=n_blocks).astype(np.float64)
    method = LBP_MAPPINGS[mapping]
    out = np.empty((n, n_blocks, n_bins), np.float64)
    with warnings.catch_warnings():
        # scikit-image warns about float images; frames are used as given, on purpose.
        warnings.simplefilter("ignore", UserWarning)
        for t in range(n):
            frame = frames[t]
            if smooth > 0:
                frame = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), smooth, borderType=cv2.BORDER_REFLECT)
            codes = local_binary_pattern(frame, points, radius, method)
            codes = codes[margin:height - margin, margin:width - margin].astype(np.int64).ravel()
            hist = np.bincount(offsets + codes, minlength=n_blocks * n_bins)
            out[t] = hist.reshape(n_blocks, n_bins)
    out /= counts[None, :, None]
    return out


def _chi2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Chi-squared distance sum((a - b)^2 / (a + b)) over the last axis; 0/0 counts as 0."""
    num = (a - b) ** 2
    den = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return ratio.sum(axis=-1)


def _difference(hist: np.ndarray, k: int, top: int) -> np.ndarray:
    """F(i) for every frame (NaN where i - k or i + k falls outside the clip)."""
    n = hist.shape[0]
    f = np.full(n, np.nan)
    if n <= 2 * k:
        return f
    centre = hist[k:n - k]
    average = 0.5 * (hist[: n - 2 * k] + hist[2 * k:])
    dist = _chi2(centre, average)  # (n - 2k, blocks)
    largest = -np.partition(-dist, top - 1, axis=1)[:, :top]
    f[k:n - k] = largest.mean(axis=1)
    return f


def _contrast(f: np.ndarray, k: int) -> np.ndarray:
    """C(i) = F(i) - (F(i - k) + F(i + k)) / 2, clamped at 0 (NaN where undefined)."""
    n = f.size
    c = np.full(n, np.nan)
    if n <= 2 * k:
        return c
    c[k:n - k] = f[k:n - k] - 0.5 * (f[: n - 2 * k] + f[2 * k:])
    return np.where(np.isnan(c), np.nan, np.maximum(c, 0.0))


def _resolve_k(cube, k, me_length) -> int:
    if k is None:
        return default_interval(cube.attrs["fps"], me_length=me_length)
    return check_int("k", k, low=1)


def feature_difference(cube, *, k: int | None = None, blocks=(6, 6), top: int | None = None,
                       radius: float = 1, points: int = 8, mapping: str = "u2", smooth: float = 0.0,
                       me_length: float = MEAN_ME_LENGTH_S) -> xr.DataArray:
    """Contrasted feature difference ``C`` of a clip (Moilanen et al. 2014).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A (long) grey clip of an aligned face; colour clips are converted to grey.
    k : int, optional
        Interval in frames: half the mean ME length. Default
        ``round(fps * me_length / 2)`` (at least 1), e.g. 30 at 200 fps, 5 at 30 fps.
    blocks : (int, int)
        Block grid (rows, cols) of the LBP histograms; the paper uses 6 x 6.
    top : int, optional
        ``M``, the number of most-changed blocks averaged into ``F``. Default a third of
        the blocks (12 of 36), as in the paper, which keeps local movements from being
        diluted by the still parts of the face.
    radius, points, mapping, smooth
        LBP parameters, see :func:`lbp_block_histograms`. In flat regions of a face the
        LBP codes of neighbouring pixels hang on tiny grey-level differences, so sensor
        noise alone changes the histograms; ``smooth`` (a Gaussian blur, e.g. 1.5 px)
        makes ``F`` less noisy at some cost in sensitivity. The paper uses none.
    me_length : float
        Mean ME duration in seconds used for the default ``k``.

    Returns
    -------
    xarray.DataArray, dims (time,)
        ``C`` with the clip's ``time`` and ``frame`` coordinates, the feature difference
        ``F`` as the coordinate ``difference``, and attrs ``k``, ``top``, ``blocks``,
        ``radius``, ``points``, ``mapping`` plus the clip's identity. ``C`` is NaN for the
        first and last ``2k`` frames, where ``F(i - k)`` or ``F(i + k)`` is undefined.

    Notes
    -----
    With block histograms :math:`h_i^b` normalised to sum 1,

    .. math::

        d_i^b = \\chi^2\\left(h_i^b, \\tfrac12 (h_{i-k}^b + h_{i+k}^b)\\right), \\quad
        \\chi^2(P, Q) = \\sum_j \\frac{(P_j - Q_j)^2}{P_j + Q_j},

    :math:`F(i)` is the mean of the ``M`` largest :math:`d_i^b` and
    :math:`C(i) = \\max\\left(0, F(i) - \\tfrac12 (F(i-k) + F(i+k))\\right)`.
    A slow, steady change (a drift or a fade) makes :math:`F` roughly constant and
    :math:`C` near 0; a movement that comes and goes within about ``2k`` frames makes a
    peak in :math:`F` and therefore in :math:`C`. LBP codes do not change under a
    monotonic change of grey levels, so a global brightness change is ignored.

    References
    ----------
    .. [1] A. Moilanen, G. Zhao, M. Pietikäinen, "Spotting rapid facial movements from
       videos using appearance-based feature difference analysis", ICPR 2014,
       pp. 1722-1727. https://doi.org/10.1109/ICPR.2014.303
    .. [2] X. Li, X. Hong, A. Moilanen, X. Huang, T. Pfister, G. Zhao, M. Pietikäinen,
       "Towards reading hidden emotions: a comparative study of spontaneous
       micro-expression spotting and recognition methods", IEEE Trans. Affective
       Computing 9(4), 2018. https://doi.org/10.1109/TAFFC.2017.2667642

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> rng = np.random.default_rng(0)
    >>> cube = make_cube(rng.integers(0, 255, (40, 36, 36), dtype=np.uint8), fps=30)
    >>> c = feature_difference(cube)
    >>> c.dims, c.attrs["k"], bool((c.fillna(0) >= 0).all())
    (('time',), 5, True)
    """
    validate_cube(cube)
    k = _resolve_k(cube, k, me_length)
    rows, cols = _check_blocks(blocks)
    n_blocks = rows * cols
    top = max(1, n_blocks // 3) if top is None else check_int("top", top, low=1, high=n_blocks)
    n = cube.sizes["time"]
    if n < 4 * k + 1:
        raise ValueError(
            f"the clip has {n} frames; the contrast with k={k} needs at least 4k+1 = {4 * k + 1} "
            f"(lower k or pass a longer clip)"
        )
    hist = lbp_block_histograms(cube, blocks=(rows, cols), radius=radius, points=points, mapping=mapping,
                                smooth=smooth)
    f = _difference(hist, k, top)
    c = _contrast(f, k)
    return _curve(cube, c, name="contrast", long_name="feature difference contrast",
                  extra={"difference": f},
                  attrs=dict(k=k, top=top, blocks=(rows, cols), radius=float(radius), points=points,
                             mapping=mapping, smooth=float(smooth), method="feature_difference"))


def _curve(cube, values, *, name, long_name, attrs, extra=None, units="1") -> xr.DataArray:
    coords = {"time": cube["time"].values, "frame": ("time", cube["frame"].values)}
    for key, v in (extra or {}).items():
        coords[key] = ("time", v)
    meta = {key: cube.attrs.get(key) for key in ("dataset", "subject", "sample", "fps")}
    meta.update(attrs)
    meta.update(units=units, long_name=long_name)
    out = xr.DataArray(values, dims=("time",), coords=coords, name=name, attrs=meta)
    out["time"].attrs.update(units="s", long_name="time")
    return out


def threshold(curve, *, p: float = 0.5) -> float:
    """Spotting threshold ``T = mean(C) + p (max(C) - mean(C))`` over the defined values.

    Parameters
    ----------
    curve : array_like or xarray.DataArray
        A spotting curve (NaN entries are ignored).
    p : float in [0, 1]
        0 puts the threshold at the mean, 1 at the maximum.

    Examples
    --------
    >>> threshold([0.0, 1.0, 2.0, 5.0], p=0.5)
    3.5
    """
    p = check_number("p", p, low=0, high=1)
    values = np.asarray(curve, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("curve has no finite values to threshold")
    mean = values.mean()
    return float(mean + p * (values.max() - mean))


def intervals_from_curve(curve: xr.DataArray, *, p: float = 0.5, k: int | None = None,
                         distance: int | None = None) -> pd.DataFrame:
    """Spotted intervals from the peaks of a spotting curve above its threshold.

    Parameters
    ----------
    curve : xarray.DataArray, dims (time,)
        A curve from :func:`feature_difference` or :func:`mer_lab.spotting.fft_energy`
        (it carries the ``frame`` coordinate and, in attrs, ``k``).
    p : float in [0, 1]
        Threshold parameter, see :func:`threshold`.
    k : int, optional
        Half-width of a spotted interval in frames; default ``curve.attrs["k"]``.
    distance : int, optional
        Smallest separation between two peaks in frames; default ``k``.

    Returns
    -------
    pandas.DataFrame
        Columns ``onset``, ``apex``, ``offset`` (dataset frame numbers; the interval is
        ``[peak - k, peak + k]`` cut to the clip) and ``score`` (the curve at the peak),
        one row per peak in time order. Peaks ``>= T`` count; flat tops give their middle.
    """
    from scipy.signal import find_peaks

    if not isinstance(curve, xr.DataArray) or curve.dims != ("time",) or "frame" not in curve.coords:
        raise TypeError(
            "curve must be a DataArray over 'time' with a 'frame' coordinate, as returned by "
            f"feature_difference or fft_energy; got {describe(curve)}"
        )
    if k is None:
        k = curve.attrs.get("k")
        if k is None:
            raise ValueError("k is not given and the curve has no attrs['k']")
    k = check_int("k", k, low=0)
    distance = max(1, k) if distance is None else check_int("distance", distance, low=1)
    values = curve.values.astype(np.float64)
    t_value = threshold(values, p=p)
    finite = np.isfinite(values)
    filled = np.where(finite, values, np.nanmin(values) - 1.0)
    peaks, _ = find_peaks(filled, height=t_value, distance=distance)
    # find_peaks ignores the two end samples; an end sample that is a strict maximum
    # above the threshold is a peak too.
    n = values.size
    ends = []
    if n > 1 and finite[0] and filled[0] >= t_value and filled[0] > filled[1]:
        ends.append(0)
    if n > 1 and finite[-1] and filled[-1] >= t_value and filled[-1] > filled[-2]:
        ends.append(n - 1)
    if ends:
        peaks = np.array(sorted(set(peaks.tolist()) | set(ends)), dtype=int)
        peaks = _enforce_distance(peaks, filled, distance)
    frames = curve["frame"].values
    rows = [
        (int(frames[max(0, q - k)]), int(frames[q]), int(frames[min(n - 1, q + k)]), float(values[q]))
        for q in peaks
    ]
    table = pd.DataFrame(rows, columns=INTERVAL_COLUMNS)
    table = table.astype({"onset": "int64", "apex": "int64", "offset": "int64", "score": "float64"})
    table.attrs.update(threshold=t_value, p=float(p), k=k)
    return table


def _enforce_distance(peaks: np.ndarray, values: np.ndarray, distance: int) -> np.ndarray:
    """Keep the highest peaks first, dropping those closer than ``distance`` to a kept one."""
    order = np.argsort(-values[peaks], kind="stable")
    kept: list[int] = []
    for q in peaks[order]:
        if all(abs(q - r) >= distance for r in kept):
            kept.append(int(q))
    return np.array(sorted(kept), dtype=int)


def spot_intervals(cube, *, p: float = 0.5, k: int | None = None, distance: int | None = None,
                   blocks=(6, 6), top: int | None = None, radius: float = 1, points: int = 8,
                   mapping: str = "u2", smooth: float = 0.0, me_length: float = MEAN_ME_LENGTH_S) -> pd.DataFrame:
    """Spot rapid facial movements in a long clip by feature difference.

    :func:`feature_difference` followed by :func:`intervals_from_curve`.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A long clip of an aligned face.
    p : float in [0, 1]
        Threshold parameter: ``T = mean(C) + p (max(C) - mean(C))``.
    k, blocks, top, radius, points, mapping, smooth, me_length
        See :func:`feature_difference`.
    distance : int, optional
        Smallest separation between spotted peaks in frames; default ``k``.

    Returns
    -------
    pandas.DataFrame
        ``onset``, ``apex``, ``offset`` (dataset frame numbers) and ``score`` (the contrast
        at the peak); ``table.attrs`` holds ``threshold``, ``p`` and ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> rng = np.random.default_rng(1)
    >>> still = np.repeat(rng.integers(0, 255, (1, 36, 36), dtype=np.uint8), 60, axis=0)
    >>> still[30] = rng.integers(0, 255, (36, 36), dtype=np.uint8)   # one odd frame
    >>> spot_intervals(make_cube(still, fps=30), p=0.9)[["onset", "apex", "offset"]].values.tolist()
    [[25, 30, 35]]
    """
    curve = feature_difference(cube, k=k, blocks=blocks, top=top, radius=radius, points=points,
                               mapping=mapping, smooth=smooth, me_length=me_length)
    return intervals_from_curve(curve, p=p, distance=distance)
