"""Apex spotting in the frequency domain (Li, Huang and Zhao 2018).

The face is cut into blocks; around every frame a window of ``window`` frames is taken
from each block and transformed with a 3-D FFT (time, rows, columns). An ideal high-pass
filter keeps the frequencies whose normalised radius exceeds ``cutoff``; the summed
amplitude of what is left, over all blocks, measures how fast and how finely the face
is changing around that frame. The apex is the frame where this high-frequency energy
peaks. Low frequencies (the slowly varying shading of the face, slow drifts) and the
constant part are removed by the filter.

Functions
---------
fft_energy
    The high-frequency energy curve of a clip (an :class:`xarray.DataArray` over time).
fft_apex
    The apex frame of a clip (within onset..offset when they are known) and the curve.
fft_spot_intervals
    Spotting in long clips: peaks of the energy curve above the threshold ``T``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_choice, check_int, check_number
from ..cube import frame_position, validate_cube
from ..features.blocks import block_edges
from .feature_difference import (
    MEAN_ME_LENGTH_S,
    _check_blocks,
    _curve,
    _grey_frames,
    default_interval,
    intervals_from_curve,
)

__all__ = ["TAPERS", "MEASURES", "VARIANTS", "default_window", "fft_energy", "fft_apex", "fft_spot_intervals"]

# Window positions transformed together (bounds memory on long clips).
_CHUNK_VOXELS = 2**22


def default_window(fps: float, *, me_length: float = MEAN_ME_LENGTH_S) -> int:
    """The default sliding-window length: about twice the mean ME length, odd.

    ``4 k + 1`` frames with ``k`` from :func:`mer_lab.spotting.default_interval` (half the
    mean ME length). The window must hold a whole expression with some still face on
    either side: a window shorter than the movement peaks on its steepest parts (onset
    and offset) rather than on the apex.

    Examples
    --------
    >>> default_window(200), default_window(30)
    (121, 21)
    """
    return 4 * default_interval(fps, me_length=me_length) + 1


def _highpass_mask(window: int, bh: int, bw: int, cutoff: float) -> np.ndarray:
    ft = np.fft.fftfreq(window)[:, None, None]
    fy = np.fft.fftfreq(bh)[None, :, None]
    fx = np.fft.fftfreq(bw)[None, None, :]
    return np.sqrt(ft**2 + fy**2 + fx**2) > cutoff


TAPERS = ("hann", "none")
MEASURES = ("energy", "amplitude")

#: Named settings of ``taper``, ``static``, ``measure`` and ``normalise``.
#: ``"mer_lab"`` (default): Hann taper, still part removed, squared magnitudes, grey-level
#: normalisation (see :func:`fft_energy` for why); ``"li2018"``: the original method of
#: Li et al. (2018), summed amplitudes of the high-passed spectrum of the raw window.
VARIANTS = {
    "mer_lab": {"taper": "hann", "static": False, "measure": "energy", "normalise": True},
    "li2018": {"taper": "none", "static": True, "measure": "amplitude", "normalise": False},
}


def _settings(variant, **given) -> dict:
    """The variant's settings, overridden by the ones given explicitly (not None)."""
    check_choice("variant", variant, list(VARIANTS))
    return {k: (v if given.get(k) is None else given[k]) for k, v in VARIANTS[variant].items()}


def _taper(window: int, taper: str) -> np.ndarray:
    if taper == "none":
        return np.ones(window, np.float32)
    # Hann weights without the two zero end points, so every frame of the window counts.
    return np.hanning(window + 2)[1:-1].astype(np.float32)


def fft_energy(cube, *, window: int | None = None, blocks=(6, 6), cutoff: float = 0.1,
               variant: str = "mer_lab", taper: str | None = None, static: bool | None = None,
               measure: str | None = None, normalise: bool | None = None,
               me_length: float = MEAN_ME_LENGTH_S) -> xr.DataArray:
    """High-frequency energy of a clip around every frame (3-D FFT per block).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A grey clip of an aligned face (colour clips are converted to grey).
    window : int, optional
        Frames in the sliding window centred on each frame; near the ends of the clip
        the frames are mirrored. Default :func:`default_window`: about twice the mean ME
        length, so that the window holds a whole expression and some still face (121
        frames at 200 fps, 21 at 30 fps).
    blocks : (int, int)
        Block grid (rows, cols). Blocks have equal sizes: the central
        ``rows * (H // rows)`` by ``cols * (W // cols)`` pixels are used (the equal-size
        variant of :mod:`mer_lab.features.blocks`).
    cutoff : float in [0, 0.866)
        Radius ``D0`` of the ideal high-pass filter in normalised frequency (cycles per
        sample along each axis, so radii run from 0 to ``sqrt(3)/2``); frequencies with a
        radius up to ``cutoff`` are removed: the smooth shading of the face and slow
        changes.
    variant : {"mer_lab", "li2018"}
        Named settings of ``taper``, ``static``, ``measure`` and ``normalise``
        (:data:`VARIANTS`): ``"mer_lab"`` (default) as documented below, ``"li2018"``
        the original method of Li et al. (2018), summed amplitudes of the high-passed
        spectrum of the raw window (no taper, still part kept, no grey-level
        normalisation). Any of the four given explicitly overrides the variant's value.
    taper : {"hann", "none"}
        Weights along time inside the window. ``"hann"`` (default) weighs the centre
        frame most, so the curve peaks when a movement is centred on the frame; with
        ``"none"`` the amplitude spectrum does not change when a short movement moves
        inside the window, and the curve has a flat top as wide as the window minus the
        movement.
    static : bool
        Keep the still part of each window (each pixel's mean over the window, the
        ``w = 0`` plane of the spectrum) in the sum, as a plain radial filter does.
        Default False: it is removed before the taper, because the fine texture of a
        still face passes any spatial high-pass and would swamp the change, and motion
        blur lowers it exactly where the face moves.
    measure : {"energy", "amplitude"}
        Sum squared magnitudes (``"energy"``, default: robust to sensor noise, which
        spreads over all frequencies) or magnitudes (``"amplitude"``, the summed
        amplitudes of the paper).
    normalise : bool
        Scale each frame to the clip's mean grey level first (default True), so that a
        global illumination change or flicker, which multiplies the whole face, the
        fine texture included, does not pass for movement.
    me_length : float
        Mean ME duration in seconds for the default window.

    Returns
    -------
    xarray.DataArray, dims (time,)
        The mean filtered energy (or amplitude) per voxel of the window centred on each
        frame, over all blocks; the clip's ``time`` and ``frame`` coordinates; attrs
        ``window``, ``k`` (half the mean ME length in frames: the half-width of an
        interval spotted on this curve), ``blocks``, ``cutoff``, ``taper``, ``static``,
        ``measure``.

    Notes
    -----
    For block ``b`` and the window centred on frame ``i``, let :math:`v_{b,i}(t, y, x)`
    be its voxels minus each pixel's mean over the window (unless ``static``), times
    the taper :math:`g(t)`, and :math:`\\hat v_{b,i}` their orthonormal 3-D DFT. With the
    ideal high-pass filter :math:`H(w, u, v) = [\\sqrt{w^2 + u^2 + v^2} > D_0]`,

    .. math::

        E(i) = \\frac{1}{N} \\sum_b \\sum_{w, u, v} H(w, u, v)\\,|\\hat v_{b,i}(w, u, v)|^q,

    :math:`q = 2` (energy) or 1 (amplitude), ``N`` the number of voxels in a window.
    The apex is the frame of largest :math:`E` (Li et al. 2018): the movement of an ME
    puts energy at temporal frequencies that a still face lacks. The taper and the
    removal of the still part, like the grey-level normalisation, are this
    implementation's choices (see ``taper``, ``static`` and ``normalise``);
    ``variant="li2018"`` (``taper="none", static=True, measure="amplitude",
    normalise=False``) is the plain method.

    References
    ----------
    .. [1] Y. Li, X. Huang, G. Zhao, "Can micro-expression be recognized based on a
       single apex frame?", IEEE ICIP 2018, pp. 3094-3098.
       https://doi.org/10.1109/ICIP.2018.8451376

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> t = np.arange(40)[:, None, None]
    >>> frames = np.full((40, 24, 24), 100.0)
    >>> frames[:, 8:16, 8:16] += 60 * np.exp(-0.5 * ((t - 17) / 2) ** 2)  # a brief change
    >>> energy = fft_energy(make_cube(frames, fps=30), blocks=(3, 3))
    >>> energy.attrs["window"], int(np.argmax(energy.values))
    (21, 17)
    """
    validate_cube(cube, min_frames=2)
    settings = _settings(variant, taper=taper, static=static, measure=measure, normalise=normalise)
    taper, static, measure, normalise = (settings[k] for k in ("taper", "static", "measure", "normalise"))
    rows, cols = _check_blocks(blocks)
    cutoff = check_number("cutoff", cutoff, low=0, high=np.sqrt(3) / 2, high_open=True)
    check_choice("taper", taper, TAPERS)
    check_choice("measure", measure, MEASURES)
    for flag, value in (("static", static), ("normalise", normalise)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
    if window is None:
        window = default_window(cube.attrs["fps"], me_length=me_length)
    window = check_int("window", window, low=2)
    frames = _grey_frames(cube).astype(np.float32)
    n, height, width = frames.shape
    if rows > height or cols > width:
        raise ValueError(f"blocks={(rows, cols)} do not fit in frames of {width}x{height} pixels")
    ye = block_edges(height, rows, equal=True, name="blocks[0] (rows)")
    xe = block_edges(width, cols, equal=True, name="blocks[1] (cols)")
    bh, bw = int(ye[1] - ye[0]), int(xe[1] - xe[0])
    frames = frames[:, ye[0]:ye[-1], xe[0]:xe[-1]]
    if normalise:
        means = frames.mean(axis=(1, 2), keepdims=True, dtype=np.float64)
        if np.all(means > 0):
            frames = (frames * (means.mean() / means)).astype(np.float32)
    before = window // 2
    padded = np.pad(frames, ((before, window - 1 - before), (0, 0), (0, 0)), mode="reflect")
    weights = _taper(window, taper)
    kernel = _energy_fast if measure == "energy" else _energy_direct
    energy = kernel(padded, n=n, window=window, grid=(rows, cols, bh, bw), cutoff=cutoff,
                    weights=weights, static=bool(static), measure=measure)
    units = "grey level^2" if measure == "energy" else "grey level"
    return _curve(cube, energy, name="energy", long_name=f"high-frequency {measure}",
                  attrs=dict(window=window, k=default_interval(cube.attrs["fps"], me_length=me_length),
                             blocks=(rows, cols), cutoff=cutoff,
                             variant=variant, taper=taper, static=bool(static), measure=measure,
                             normalise=bool(normalise), method="fft_apex"),
                  units=units)


def _energy_direct(padded, *, n, window, grid, cutoff, weights, static, measure) -> np.ndarray:
    """Reference kernel: a 3-D FFT of every block of every window."""
    from scipy import fft as sfft

    rows, cols, bh, bw = grid
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)  # (n, Y, X, window)
    mask = _highpass_mask(window, bh, bw, cutoff)  # (window, bh, bw)
    mask_b = mask.transpose(1, 2, 0).reshape(1, 1, bh, 1, bw, window)
    per_pos = window * rows * bh * cols * bw
    chunk = max(1, _CHUNK_VOXELS // per_pos)
    energy = np.empty(n, np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        voxels = view[start:stop].reshape(stop - start, rows, bh, cols, bw, window)
        if not static:
            voxels = voxels - voxels.mean(axis=5, keepdims=True)
        voxels = voxels * weights
        spectrum = np.abs(sfft.fftn(voxels, axes=(2, 4, 5), norm="ortho"))  # block rows, cols, time
        if measure == "energy":
            spectrum *= spectrum
        energy[start:stop] = (spectrum * mask_b).sum(axis=(1, 2, 3, 4, 5), dtype=np.float64)
    return energy / per_pos


def _energy_fast(padded, *, n, window, grid, cutoff, weights, static, measure) -> np.ndarray:
    """The energy of :func:`_energy_direct` computed from Gram matrices of block spectra.

    Each frame's block spectrum is computed once, not once per window. For one spatial
    bin, the filtered energy of a window is a quadratic form in that bin's values along
    the window, ``d^H M d`` with ``M = C diag(g) F_pass^H F_pass diag(g) C`` (``g`` the
    taper, ``F_pass`` the rows of the temporal DFT that pass the filter, ``C`` the
    centring that removes the window mean, or the identity when ``static``). Summed over
    the spatial bins that share a pass pattern, it becomes ``sum(M * G_i)`` with ``G_i``
    the window's block of the Gram matrix of those bins' spectra. Bins above the cutoff
    pass every temporal frequency (``F_pass^H F_pass = I``, Parseval); only a handful of
    low bins have other patterns.
    """
    from scipy import fft as sfft

    rows, cols, bh, bw = grid
    bwr = bw // 2 + 1
    fy = np.fft.fftfreq(bh)[:, None]
    fx = np.fft.rfftfreq(bw)[None, :]
    radius2 = (fy**2 + fx**2).ravel()  # (bh * bwr,)
    # rfft keeps one of each conjugate pair of columns: those stand for two bins.
    twice = np.ones(bwr)
    twice[1:(bw + 1) // 2] = 2.0
    scale = np.sqrt(np.broadcast_to(twice, (bh, bwr)).ravel())
    ft = np.fft.fftfreq(window)
    passes = (radius2[:, None] + ft[None, :] ** 2) > cutoff**2  # (bins, window)
    patterns, group_of = np.unique(passes, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    g = weights.astype(np.float64)
    centre = np.eye(window) if static else np.eye(window) - 1.0 / window
    dft = np.exp(-2j * np.pi * np.outer(np.arange(window), np.arange(window)) / window) / np.sqrt(window)
    forms = []
    for j, pattern in enumerate(patterns):
        if not pattern.any():
            continue
        if pattern.all():
            inner = np.diag(g**2)
        else:
            sel = dft[pattern]
            inner = g[:, None] * (sel.conj().T @ sel) * g[None, :]
        form = centre @ inner @ centre
        if np.allclose(form.imag, 0.0):
            form = form.real
        forms.append((np.nonzero(group_of == j)[0], form))
    n_pix = rows * bh * cols * bw
    chunk = min(n, max(2 * window, 64))
    energy = np.empty(n, np.float64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        m = stop - start
        frames = padded[start:stop + window - 1].astype(np.float64)  # (m + window - 1, Y, X)
        f = frames.shape[0]
        blocks = frames.reshape(f, rows, bh, cols, bw).transpose(0, 1, 3, 2, 4)
        spec = sfft.rfft2(blocks, axes=(3, 4), norm="ortho").reshape(f, rows * cols, bh * bwr)
        spec *= scale
        if not static:
            spec -= spec.mean(axis=0)  # the centring ignores constants; smaller sums
        e = np.zeros(m)
        for bins, form in forms:
            part = spec[:, :, bins].reshape(f, -1)
            if np.isrealobj(form):
                flat = np.concatenate([part.real, part.imag], axis=1)
                gram = flat @ flat.T
            else:
                gram = part.conj() @ part.T  # gram[a, b] = sum conj(y(a)) y(b)
            s0, s1 = gram.strides
            view = np.lib.stride_tricks.as_strided(gram, shape=(m, window, window),
                                                   strides=(s0 + s1, s0, s1), writeable=False)
            e += np.einsum("itu,tu->i", view, form).real
        energy[start:stop] = e
    return energy / (window * n_pix)


def fft_apex(cube, *, window: int | None = None, blocks=(6, 6), cutoff: float = 0.1,
             onset: int | None = None, offset: int | None = None, restrict: bool = True,
             variant: str = "mer_lab", taper: str | None = None, static: bool | None = None,
             measure: str | None = None, normalise: bool | None = None,
             me_length: float = MEAN_ME_LENGTH_S) -> tuple[int, xr.DataArray]:
    """The apex frame of a clip by 3-D FFT high-frequency energy (Li et al. 2018).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A clip of an aligned face.
    window, blocks, cutoff, variant, taper, static, measure, normalise, me_length
        See :func:`fft_energy` (``variant="li2018"``: the original method).
    onset, offset : int, optional
        Dataset frame numbers bounding the search; default the cube's ``onset`` and
        ``offset`` attrs when ``restrict`` is true and they are set, else the whole clip.
        The energy is still computed with the frames around them as context.
    restrict : bool
        Use the cube's onset/offset attrs as bounds when ``onset``/``offset`` are not given.

    Returns
    -------
    apex : int
        The apex as a dataset frame number.
    energy : xarray.DataArray, dims (time,)
        The energy curve over the whole clip (attrs ``onset``/``offset`` give the search
        bounds used).

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> t = np.arange(40)[:, None, None]
    >>> frames = np.full((40, 24, 24), 100.0)
    >>> frames[:, 8:16, 8:16] += 60 * np.exp(-0.5 * ((t - 24) / 2) ** 2)
    >>> cube = make_cube(frames, fps=30, frame_numbers=range(100, 140), onset=115, offset=132)
    >>> fft_apex(cube, blocks=(3, 3))[0]
    124
    """
    validate_cube(cube)
    energy = fft_energy(cube, window=window, blocks=blocks, cutoff=cutoff, variant=variant, taper=taper,
                        static=static, measure=measure, normalise=normalise, me_length=me_length)
    if onset is None and restrict:
        onset = cube.attrs.get("onset")
    if offset is None and restrict:
        offset = cube.attrs.get("offset")
    first = 0 if onset is None else frame_position(cube, int(onset), name="onset")
    last = cube.sizes["time"] - 1 if offset is None else frame_position(cube, int(offset), name="offset")
    if last < first:
        raise ValueError(f"offset {offset} comes before onset {onset}; cannot search an empty range")
    values = energy.values[first:last + 1]
    best = first + int(np.argmax(values))
    energy.attrs.update(onset=int(energy["frame"].values[first]), offset=int(energy["frame"].values[last]))
    return int(energy["frame"].values[best]), energy


def fft_spot_intervals(cube, *, p: float = 0.5, window: int | None = None, blocks=(6, 6),
                       cutoff: float = 0.1, distance: int | None = None, k: int | None = None,
                       variant: str = "mer_lab", taper: str | None = None, static: bool | None = None,
                       measure: str | None = None, normalise: bool | None = None,
                       me_length: float = MEAN_ME_LENGTH_S) -> pd.DataFrame:
    """Spot movements in a long clip from the peaks of the high-frequency energy.

    The energy curve of :func:`fft_energy` is thresholded like the feature-difference
    contrast (``T = mean(E) + p (max(E) - mean(E))``); each peak above ``T`` is an apex,
    and ``[apex - k, apex + k]`` the spotted interval.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A long clip of an aligned face.
    p : float in [0, 1]
        Threshold parameter.
    window, blocks, cutoff, variant, taper, static, measure, normalise, me_length
        See :func:`fft_energy`.
    distance : int, optional
        Smallest separation between peaks in frames; default ``k``.
    k : int, optional
        Half-width of a spotted interval in frames; default half the mean ME length
        (:func:`mer_lab.spotting.default_interval`).

    Returns
    -------
    pandas.DataFrame
        ``onset``, ``apex``, ``offset`` (dataset frame numbers) and ``score`` (the energy
        at the peak).
    """
    energy = fft_energy(cube, window=window, blocks=blocks, cutoff=cutoff, variant=variant, taper=taper,
                        static=static, measure=measure, normalise=normalise, me_length=me_length)
    if k is None:
        k = energy.attrs["k"]
    return intervals_from_curve(energy, p=p, k=k, distance=distance)
