"""Eulerian video magnification (EVM) of small motions, for micro-expression clips.

Every frame is split into a Laplacian pyramid; each pyramid level is band-pass filtered
in time, pixel by pixel; the band-passed signal is multiplied by a level-dependent factor
``alpha_l`` and added back. For a small motion ``delta(t)`` of an image ``I`` a first-order
Taylor expansion gives ``I(x + delta) ~ I(x) + delta I'(x)``, so adding
``alpha * delta I'`` shows the image moved by ``(1 + alpha) delta`` (Wu et al. 2012).

Known pitfalls handled here: frames whose sides are not multiples of ``2**levels`` are
padded (mirror) to such a size and cropped back, so they are really magnified (a public
port returned them unmagnified); ``alpha <= 0`` and frames too small for the requested
number of levels are rejected with clear errors; integer clips are clipped to their
dtype's range before casting (no uint8 wrap-around).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .._validate import check_choice, check_int, check_number
from ..cube import like, validate_cube

__all__ = ["magnify", "level_alphas", "iir_gain"]

# RGB <-> YIQ (NTSC); chroma (I, Q) is attenuated for motion magnification.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.595716, -0.274453, -0.321263],
                        [0.211456, -0.522591, 0.311135]], np.float64)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)


def level_alphas(alpha: float, levels: int, *, lambda_c: float = 16.0, skip_levels: Sequence[int] = (0,),
                 amplify_residual: bool = False) -> np.ndarray:
    """The amplification factor of every pyramid level.

    Parameters
    ----------
    alpha : float
        Nominal magnification (> 0).
    levels : int
        Laplacian levels; level 0 is the finest. Index ``levels`` is the low-pass residual.
    lambda_c : float
        Cut-off wavelength in pixels: levels whose representative wavelength
        ``lambda_l = 2 ** (l + 1.5)`` px is shorter get a reduced factor.
    skip_levels : sequence of int
        Levels left unamplified (factor 0).
    amplify_residual : bool
        Whether the low-pass residual is amplified (by ``alpha``).

    Returns
    -------
    numpy.ndarray, shape (levels + 1,)

    Notes
    -----
    The first-order approximation holds while ``(1 + alpha) delta < lambda / 8``
    (Wu et al. 2012, eq. 15). Fixing the largest motion so that ``alpha`` is allowed at
    ``lambda_c`` gives ``alpha_l = min(alpha, (lambda_l / lambda_c) (1 + alpha) - 1)``
    (and >= 0) for shorter wavelengths. Level ``l`` holds spatial periods of about
    ``2 ** (l + 1)`` to ``2 ** (l + 2)`` px; ``lambda_l`` is their geometric middle.
    """
    alpha = check_number("alpha", alpha, low=0, low_open=True)
    levels = check_int("levels", levels, low=1)
    lambda_c = check_number("lambda_c", lambda_c, low=0, low_open=True)
    lam = 2.0 ** (np.arange(levels) + 1.5)
    out = np.clip(lam / lambda_c * (1 + alpha) - 1, 0, alpha)
    for level in skip_levels:
        level = check_int("skip_levels", level, low=0, high=levels)
        if level < levels:
            out[level] = 0.0
    residual = alpha if amplify_residual and levels not in set(skip_levels) else 0.0
    return np.append(out, residual)


def iir_gain(freq, fps: float, *, r1: float = 0.4, r2: float = 0.05) -> np.ndarray:
    """Complex frequency response of the IIR band-pass used by :func:`magnify`.

    The band-pass is the difference of two first-order low-pass filters
    ``l[t] = l[t-1] + r (x[t] - l[t-1])`` with coefficients ``r1 > r2``; its response at
    ``f`` Hz is ``H1 - H2`` with ``H_r = r / (1 - (1 - r) exp(-2 pi i f / fps))``.
    A sinusoidal motion of frequency ``f`` is magnified by ``|1 + alpha H(f)|`` in the
    steady state.
    """
    fps = check_number("fps", fps, low=0, low_open=True)
    z = np.exp(-2j * np.pi * np.asarray(freq, np.float64) / fps)
    return r1 / (1 - (1 - r1) * z) - r2 / (1 - (1 - r2) * z)


def _pyramid(frames: np.ndarray, levels: int):
    """Laplacian pyramids of all frames: list of (T, h_l, w_l, C) arrays, residual last."""
    import cv2

    t, h, w, c = frames.shape
    bands = []
    current = frames
    for _ in range(levels):
        hh, ww = current.shape[1] // 2, current.shape[2] // 2
        down = np.empty((t, hh, ww, c), np.float32)
        band = np.empty_like(current)
        for i in range(t):
            d = cv2.pyrDown(current[i]).reshape(hh, ww, c)
            down[i] = d
            band[i] = current[i] - cv2.pyrUp(d, dstsize=(current.shape[2], current.shape[1])).reshape(current.shape[1:])
        bands.append(band)
        current = down
    bands.append(current)
    return bands


def _collapse(bands) -> np.ndarray:
    import cv2

    current = bands[-1]
    for band in reversed(bands[:-1]):
        t, h, w, c = band.shape
        up = np.empty_like(band)
        for i in range(t):
            up[i] = cv2.pyrUp(current[i], dstsize=(w, h)).reshape(h, w, c)
        current = up + band
    return current


def _ideal(x: np.ndarray, fps: float, low: float, high: float) -> np.ndarray:
    from scipy import fft

    n = x.shape[0]
    spec = fft.rfft(x, axis=0, workers=-1)
    freqs = fft.rfftfreq(n, d=1.0 / fps)
    keep = (freqs >= low) & (freqs <= high)
    spec[~keep] = 0
    return fft.irfft(spec, n=n, axis=0, workers=-1).astype(np.float32, copy=False)


def _iir(x: np.ndarray, r1: float, r2: float) -> np.ndarray:
    out = np.empty_like(x)
    lp1 = x[0].astype(np.float32, copy=True)
    lp2 = lp1.copy()
    out[0] = 0
    for t in range(1, x.shape[0]):
        lp1 += np.float32(r1) * (x[t] - lp1)
        lp2 += np.float32(r2) * (x[t] - lp2)
        np.subtract(lp1, lp2, out=out[t])
    return out


def magnify(
    cube: xr.DataArray,
    *,
    alpha: float = 10.0,
    low: float | None = None,
    high: float | None = None,
    filter: str = "ideal",
    r1: float = 0.4,
    r2: float = 0.05,
    levels: int = 4,
    lambda_c: float = 16.0,
    skip_levels: Sequence[int] = (0,),
    amplify_residual: bool = False,
    chroma_attenuation: float = 0.1,
) -> xr.DataArray:
    """Magnify small motions of a clip with Eulerian video magnification.

    Parameters
    ----------
    cube : xarray.DataArray
        Grey or colour (RGB) cube; ``attrs["fps"]`` gives the time scale.
    alpha : float
        Magnification factor (> 0); micro-expression work uses 10-20.
    low, high : float, optional
        Pass band in Hz. ``filter="ideal"``: default 0.5 Hz to ``min(8, fps / 2)`` Hz (the
        motions of a micro-expression, which lasts 0.1-0.5 s); ``high`` may not exceed the
        Nyquist frequency ``fps / 2``. ``filter="iir"``: when given, they set the
        coefficients ``r1 = 1 - exp(-2 pi high / fps)`` and ``r2 = 1 - exp(-2 pi low / fps)``
        instead of ``r1``/``r2``.
    filter : {"ideal", "iir"}
        ``"ideal"``: zero the temporal FFT of each pixel outside ``[low, high]`` (uses the
        whole clip; periodic). ``"iir"``: causal band-pass as the difference of two
        first-order low-pass filters with coefficients ``r1`` and ``r2`` (see
        :func:`iir_gain`), started from the first frame.
    r1, r2 : float
        IIR low-pass coefficients in (0, 1], ``r1 > r2`` (not frequencies); Wu et al.'s
        face example and micro-expression work use 0.4 and 0.05.
    levels : int
        Laplacian pyramid levels (plus a low-pass residual). Frames must be at least
        ``2 ** (levels + 1)`` px on each side.
    lambda_c : float
        Cut-off wavelength (px): finer levels get a reduced factor (:func:`level_alphas`).
    skip_levels : sequence of int
        Pyramid levels left unamplified; default the finest (0), which holds mostly noise.
    amplify_residual : bool
        Amplify the low-pass residual too (default no: it holds the global brightness).
    chroma_attenuation : float
        Colour cubes are processed in YIQ; the chroma channels' magnified signal is scaled
        by this factor (0 keeps the colours, 1 treats them like luma).

    Returns
    -------
    xarray.DataArray
        The magnified clip, same shape, dtype and metadata; ``attrs["magnification"]``
        describes the settings and ``attrs["level_alphas"]`` lists the factor per level.

    Raises
    ------
    ValueError
        For ``alpha <= 0``, a band outside ``(0, fps / 2]``, or frames too small for
        ``levels``.

    Notes
    -----
    Motion magnification amplifies noise as well: the temporal noise that falls in the
    band is multiplied by about ``alpha_l`` on each level. Frames are padded by
    mirroring to multiples of ``2 ** levels`` and cropped back. The ideal filter treats
    the clip as periodic, so a clip whose last frame differs from its first gets a
    transient at both ends; the IIR filter has a transient of a few ``1 / r2`` frames at
    the start instead.

    References
    ----------
    H.-Y. Wu, M. Rubinstein, E. Shih, J. Guttag, F. Durand, W. T. Freeman, "Eulerian
    video magnification for revealing subtle changes in the world", ACM TOG 31(4) (2012),
    doi:10.1145/2185520.2185561.
    X. Li et al., "Towards reading hidden emotions: a comparative study of spontaneous
    micro-expression spotting and recognition methods", IEEE TAC 9(4) (2018),
    doi:10.1109/TAFFC.2017.2667642.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> clip = make_cube(np.random.default_rng(0).integers(0, 255, (20, 64, 48), dtype=np.uint8), fps=100)
    >>> out = magnify(clip, alpha=10, low=2, high=10)
    >>> out.shape == clip.shape and out.dtype == clip.dtype
    True
    """
    validate_cube(cube)
    alpha = check_number("alpha", alpha, low=0, low_open=True)
    check_choice("filter", filter, ["ideal", "iir"])
    levels = check_int("levels", levels, low=1)
    chroma_attenuation = check_number("chroma_attenuation", chroma_attenuation, low=0)
    fps = float(cube.attrs["fps"])
    nyquist = fps / 2
    n, h, w = cube.sizes["time"], cube.sizes["y"], cube.sizes["x"]
    need = 2 ** (levels + 1)
    if min(h, w) < need:
        most = int(np.floor(np.log2(min(h, w)))) - 1
        hint = f"use levels <= {most}" if most >= 1 else "the frames are too small to magnify"
        raise ValueError(
            f"levels={levels} needs frames of at least {need}x{need} px, got {w}x{h} (x by y); {hint}"
        )
    if filter == "ideal":
        low = 0.5 if low is None else check_number("low", low, low=0)
        high = min(8.0, nyquist) if high is None else check_number("high", high, low=0, low_open=True)
        if high > nyquist + 1e-9:
            raise ValueError(f"high={high} Hz is above the Nyquist frequency fps/2 = {nyquist} Hz of this clip")
        if low >= high:
            raise ValueError(f"low must be below high, got low={low} Hz and high={high} Hz")
        band_text = f"ideal {low:g}-{high:g} Hz"
    else:
        if high is not None:
            r1 = 1 - np.exp(-2 * np.pi * check_number("high", high, low=0, low_open=True) / fps)
        if low is not None:
            r2 = 1 - np.exp(-2 * np.pi * check_number("low", low, low=0, low_open=True) / fps)
        r1 = check_number("r1", r1, low=0, high=1, low_open=True)
        r2 = check_number("r2", r2, low=0, high=1, low_open=True)
        if r2 >= r1:
            raise ValueError(f"r1 must be larger than r2 (r1 sets the upper cut-off), got r1={r1:g} and r2={r2:g}")
        band_text = f"iir r1={r1:g} r2={r2:g}"
    alphas = level_alphas(alpha, levels, lambda_c=lambda_c, skip_levels=skip_levels, amplify_residual=amplify_residual)

    src = cube.values
    x = src.astype(np.float32)
    if x.ndim == 3:
        x = x[..., None]
    colour = x.shape[3] >= 3 and cube.ndim == 4
    if colour:
        x = x.copy()
        x[..., :3] = x[..., :3] @ _RGB_TO_YIQ.T.astype(np.float32)
    # pad (mirror) to a multiple of 2**levels, so every pyrDown halves exactly
    step = 2 ** levels
    ph, pw = (-h) % step, (-w) % step
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
    x = np.ascontiguousarray(x)
    bands = _pyramid(x, levels)
    for lvl, band in enumerate(bands):
        if alphas[lvl] == 0:
            bands[lvl] = np.zeros_like(band)
            continue
        filtered = _ideal(band, fps, low, high) if filter == "ideal" else _iir(band, r1, r2)
        filtered *= np.float32(alphas[lvl])
        bands[lvl] = filtered
    delta = _collapse(bands)[:, :h, :w]
    if colour:
        delta[..., 1:3] *= np.float32(chroma_attenuation)
        delta[..., :3] = delta[..., :3] @ _YIQ_TO_RGB.T.astype(np.float32)
    out = src.astype(np.float32) + (delta[..., 0] if src.ndim == 3 else delta)
    if np.issubdtype(src.dtype, np.integer):
        info = np.iinfo(src.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(src.dtype)
    elif src.dtype == bool:
        out = out >= 0.5
    else:
        out = out.astype(src.dtype)
    settings = f"EVM alpha={alpha:g}, {band_text}, levels={levels}, lambda_c={lambda_c:g}"
    return like(cube, out, magnification=settings, level_alphas=[float(a) for a in alphas])
