"""Bi-weighted oriented optical flow (Bi-WOOF; Liong et al. 2018) and its Riesz-phase extension.

Bi-WOOF describes a clip by two frames only, the onset and the apex:

1. the optical flow ``(u, v)`` from onset to apex (TV-L1 in the paper) and the optical
   strain magnitude ``e`` computed from it;
2. the face is split into ``rows x cols`` blocks (5x5 for CASME II, 8x8 for SMIC);
3. *local weighting*: per block, an 8-bin histogram of flow directions over the full
   circle, each vector voting with its magnitude; each block's histogram is normalised
   to sum 1;
4. *global weighting*: each block's histogram is multiplied by the block's summed
   optical strain, so blocks with strong deformation count more and blocks of small,
   noisy motion count less;
5. the blocks' histograms are concatenated and the vector is normalised to sum 1.

Bins cover [-180, 180] degrees from ``-180`` in steps of ``360 / bins``; each bin holds
its lower edge, and the last bin wraps around to include +180 deg, so motion straight
to the left (+-180 deg) always lands in the last bin, motion straight right (0 deg) in
bin ``bins // 2``. Angles are ``atan2(v, u)`` on image axes (``v`` down: +90 deg is
downward motion).

Bi-WOOF + phase (Liong et al. 2017) adds phase information from the Riesz transform.
Here (:func:`riesz_phase_histograms`) the onset and apex frames are each turned into a
monogenic signal by a log-Gabor band-pass and the Riesz transform, both in the Fourier
domain; the change of local phase between onset and apex (``|phi_apex - phi_onset|`` in
[0, pi]) is histogrammed per block, each pixel voting with the apex's local amplitude;
block histograms are normalised and concatenated after the Bi-WOOF vector.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_int, check_number
from ..cube import key_frames, to_grey, validate_cube
from .base import CubeFeatures
from .blocks import block_labels
from .flow import pair_flow_and_strain
from .hoof import _check_blocks, orientation_histograms

__all__ = [
    "biwoof",
    "biwoof_names",
    "monogenic",
    "riesz_phase_histograms",
    "riesz_phase_names",
    "biwoof_phase",
    "BiWOOF",
]


def biwoof(data, *, blocks=(5, 5), bins: int = 8, normalise: bool = True, align: str = "none",
           engine: str = "tvl1", cache=None, **engine_params) -> np.ndarray:
    """Bi-WOOF feature of a clip (or of a precomputed onset -> apex flow).

    Parameters
    ----------
    data : cube or flow
        A clip (onset -> apex flow computed with ``engine``; without an annotated apex
        the middle frame is used, see also :func:`mer_lab.features.apex.with_estimated_apex`),
        or a flow ``(2, H, W)`` / ``(component, y, x)`` DataArray. A DataArray with a
        ``"strain"`` component (precomputed flow images) supplies the strain; otherwise
        the strain is computed from the flow.
    blocks : (int, int)
        Block grid rows x cols: 5x5 for CASME II, 8x8 for SMIC in the paper.
    bins : int
        Orientation bins over the full circle (8 in the paper).
    normalise : bool
        Normalise the final vector to sum 1 (an all-zero vector stays zero).
    align : {"none", "translation", "affine"}
        Remove the global (head) motion fitted to the flow first
        (:func:`mer_lab.features.flow.remove_global_motion`); the paper works on
        faces aligned beforehand and does not do this. On the synthetic corpus, whose
        heads drift, ``"affine"`` raises the LOSO macro F1 markedly (docs/optical_flow.md).
    engine, cache, **engine_params
        Flow computation for cube input (the paper used TV-L1).

    Returns
    -------
    numpy.ndarray, shape (rows * cols * bins,), float64

    Notes
    -----
    With block ``b``, bin ``k``, flow magnitude ``r`` and strain ``e``:

    .. math:: h_{b,k} = \\frac{\\sum_{p \\in b, \\theta_p \\in k} r_p}{\\sum_{p \\in b} r_p},
              \\qquad f_{b,k} = h_{b,k} \\sum_{p \\in b} e_p,
              \\qquad F = f / \\sum f

    References
    ----------
    Liong, See, Wong & Phan, "Less is more: Micro-expression recognition from video using
    apex frame", Signal Processing: Image Communication 62 (2018) 82-92,
    doi:10.1016/j.image.2017.11.006.

    Examples
    --------
    >>> import numpy as np
    >>> flow = np.zeros((2, 10, 10), np.float32)
    >>> flow[0, :5] = 1.0                 # top half moves right, bottom half still
    >>> f = biwoof(flow, blocks=(2, 1), bins=8)
    >>> f.reshape(2, 8).argmax(axis=1).tolist(), round(float(f.sum()), 6)
    ([4, 0], 1.0)
    """
    bins = check_int("bins", bins, low=1)
    flow, strain = pair_flow_and_strain(data, align=align, engine=engine, cache=cache, **engine_params)
    rows, cols = _check_blocks(blocks)
    local = orientation_histograms(flow, bins=bins, blocks=(rows, cols), start=-np.pi,
                                   closed_last=True, weighted=True, normalise=True)
    lab = block_labels(strain.shape, (rows, cols))
    weight = np.bincount(lab.ravel(), weights=np.asarray(strain, np.float64).ravel(),
                         minlength=rows * cols)
    feat = (local * weight[:, None]).ravel()
    if normalise:
        total = feat.sum()
        feat = feat / total if total > 0 else feat
    return feat


def _bin_edges(bins):
    return -180.0 + np.arange(bins + 1) * 360.0 / bins


def biwoof_names(*, blocks=(5, 5), bins: int = 8, prefix: str = "biwoof") -> list[str]:
    """Feature names of :func:`biwoof`: ``<prefix>_r<row>c<col>_[lo,hi)`` in degrees."""
    rows, cols = _check_blocks(blocks)
    e = _bin_edges(check_int("bins", bins, low=1))
    labels = [f"[{a:g},{b:g})" for a, b in zip(e[:-1], e[1:])]
    labels[-1] = labels[-1][:-1] + "]"
    return [f"{prefix}_r{r}c{c}_{lab}" for r in range(rows) for c in range(cols) for lab in labels]


# --------------------------------------------------------------------------- Riesz phase
def monogenic(frame, *, wavelength: float = 6.0, bandwidth: float = 0.55):
    """Monogenic signal of an image: local amplitude, phase and orientation.

    Parameters
    ----------
    frame : array_like, shape (H, W)
    wavelength : float
        Centre wavelength (pixels) of the log-Gabor band-pass applied first (>= 2).
    bandwidth : float
        Ratio sigma/f0 of the log-Gabor filter (0.55 is about two octaves).

    Returns
    -------
    amplitude, phase, orientation : numpy.ndarray, shape (H, W)
        ``A = sqrt(f^2 + r1^2 + r2^2)``, ``phase = atan2(sqrt(r1^2 + r2^2), f)`` in
        [0, pi], ``orientation = atan2(r2, r1)`` (radians, image axes).

    Notes
    -----
    With the band-passed image ``f`` and frequency vector ``(wx, wy)``, the two Riesz
    components are ``r_j = F^-1{ -i w_j / |w| F{f} }``, computed with one FFT of the
    image and two inverse FFTs (periodic boundary).

    References
    ----------
    Felsberg & Sommer, "The monogenic signal", IEEE Trans. Signal Processing 49 (2001)
    3136-3144, doi:10.1109/78.969520.
    """
    img = np.asarray(frame, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"frame must be 2-D (H, W), got shape {img.shape}")
    wavelength = check_number("wavelength", wavelength, low=2.0)
    bandwidth = check_number("bandwidth", bandwidth, low=0, high=1, low_open=True, high_open=True)
    h, w = img.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    log_gabor = np.exp(-(np.log(radius * wavelength) ** 2) / (2 * np.log(bandwidth) ** 2))
    log_gabor[0, 0] = 0.0
    spec = np.fft.fft2(img - img.mean()) * log_gabor
    f = np.real(np.fft.ifft2(spec))
    r1 = np.real(np.fft.ifft2(spec * (-1j * fx / radius)))
    r2 = np.real(np.fft.ifft2(spec * (-1j * fy / radius)))
    odd = np.hypot(r1, r2)
    return np.sqrt(f * f + odd * odd), np.arctan2(odd, f), np.arctan2(r2, r1)


def _onset_apex_frames(cube):
    validate_cube(cube, name="cube", min_frames=2)
    cube = to_grey(cube) if cube.ndim == 4 else cube
    kf = key_frames(cube)
    vals = cube.values
    return vals[kf["onset"]].astype(np.float64), vals[kf["apex"]].astype(np.float64)


def riesz_phase_histograms(cube, *, blocks=(5, 5), bins: int = 8, wavelength: float = 6.0,
                           bandwidth: float = 0.55, normalise: bool = True) -> np.ndarray:
    """Per-block histograms of the local-phase change from onset to apex (Riesz transform).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        The clip (frames are needed: a flow alone carries no phase).
    blocks : (int, int)
    bins : int
        Bins over [0, pi] of ``|phase_apex - phase_onset|``.
    wavelength, bandwidth
        The log-Gabor band of :func:`monogenic`.
    normalise : bool
        Each block's histogram sums to 1; the concatenation is then divided by the
        number of blocks (so it sums to 1 too).

    Returns
    -------
    numpy.ndarray, shape (rows * cols * bins,)
    """
    bins = check_int("bins", bins, low=1)
    rows, cols = _check_blocks(blocks)
    onset, apex = _onset_apex_frames(cube)
    amp1, ph0_1, _ = monogenic(apex, wavelength=wavelength, bandwidth=bandwidth)
    _, ph0_0, _ = monogenic(onset, wavelength=wavelength, bandwidth=bandwidth)
    change = np.abs(ph0_1 - ph0_0)  # both in [0, pi]
    k = np.minimum(np.floor(change / (np.pi / bins)).astype(np.int64), bins - 1)
    lab = block_labels(change.shape, (rows, cols))
    hist = np.bincount((lab * bins + k).ravel(), weights=amp1.ravel(),
                       minlength=rows * cols * bins).reshape(rows * cols, bins)
    if normalise:
        total = hist.sum(axis=1, keepdims=True)
        hist = np.divide(hist, total, out=np.zeros_like(hist), where=total > 0) / (rows * cols)
    return hist.ravel()


def riesz_phase_names(*, blocks=(5, 5), bins: int = 8, prefix: str = "phase") -> list[str]:
    """Feature names of :func:`riesz_phase_histograms` (phase change in degrees)."""
    rows, cols = _check_blocks(blocks)
    e = np.arange(bins + 1) * 180.0 / bins
    labels = [f"[{a:g},{b:g})" for a, b in zip(e[:-1], e[1:])]
    return [f"{prefix}_r{r}c{c}_{lab}" for r in range(rows) for c in range(cols) for lab in labels]


def biwoof_phase(cube, *, blocks=(5, 5), bins: int = 8, phase_bins: int = 8,
                 wavelength: float = 6.0, align: str = "none", engine: str = "tvl1", cache=None,
                 **engine_params) -> np.ndarray:
    """Bi-WOOF + Riesz phase: :func:`biwoof` followed by :func:`riesz_phase_histograms`.

    References
    ----------
    Liong, See, Wong & Phan, "Micro-expression recognition using apex frame with phase
    information", APSIPA ASC 2017, pp. 534-537.
    """
    return np.concatenate([
        biwoof(cube, blocks=blocks, bins=bins, align=align, engine=engine, cache=cache, **engine_params),
        riesz_phase_histograms(cube, blocks=blocks, bins=phase_bins, wavelength=wavelength),
    ])


class BiWOOF(CubeFeatures):
    """scikit-learn transformer for :func:`biwoof` (``phase=True``: :func:`biwoof_phase`).

    ``X`` holds cubes, or precomputed onset -> apex flows when ``phase=False``.
    ``engine_params`` is a dict of flow-engine parameters.
    """

    def __init__(self, *, blocks=(5, 5), bins=8, phase=False, phase_bins=8, wavelength=6.0,
                 align="none", engine="tvl1", cache=None, engine_params=None):
        self.blocks = blocks
        self.bins = bins
        self.phase = phase
        self.phase_bins = phase_bins
        self.wavelength = wavelength
        self.align = align
        self.engine = engine
        self.cache = cache
        self.engine_params = engine_params

    def _extract(self, cube):
        kw = dict(align=self.align, engine=self.engine, cache=self.cache, **(self.engine_params or {}))
        if self.phase:
            return biwoof_phase(cube, blocks=self.blocks, bins=self.bins, phase_bins=self.phase_bins,
                                wavelength=self.wavelength, **kw)
        return biwoof(cube, blocks=self.blocks, bins=self.bins, **kw)

    def _names(self, cube):
        names = biwoof_names(blocks=self.blocks, bins=self.bins)
        if self.phase:
            names += riesz_phase_names(blocks=self.blocks, bins=self.phase_bins)
        return names

