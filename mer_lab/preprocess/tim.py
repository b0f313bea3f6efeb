"""Temporal interpolation: the graph-embedding Temporal Interpolation Model (TIM) and
plain linear interpolation, to bring clips to a common number of frames.

Both functions return a cube of ``n_frames`` frames spanning the same time interval as
the input (first and last frames at the input's first and last instants), with:

* ``time``: evenly spaced seconds from the input's first to its last time stamp;
* ``frame``: the output positions ``0 .. n_frames-1`` (interpolated frames have no dataset
  frame number), and ``attrs["fps"]`` updated to the new spacing;
* ``attrs["source_frame"]``: for every output frame, the (fractional) dataset frame
  number of the input it stands for (composed when a clip is resampled twice);
* ``attrs["onset"]``, ``["apex"]``, ``["offset"]``: moved to the nearest output frame (in
  output positions), so :func:`mer_lab.cube.key_frames` keeps working;
* the input's dtype; values are clipped to the input clip's own [min, max] before
  rounding and casting (no uint8 wrap-around).
"""

from __future__ import annotations

import contextlib

import numpy as np
import xarray as xr

from .._validate import check_int
from ..cube import like, validate_cube

__all__ = ["tim", "linear_interpolate", "compare_tim_linear", "tim_weights", "REGULARISATION"]

# Attributes that describe the input frames one by one and are meaningless after resampling.
_PER_FRAME_ATTRS = ("registration_transforms", "registration_residual")
#: Multiple of the Gram matrix's largest eigenvalue added along the centring projector.
REGULARISATION = 1e-6


def _one_blas_thread():
    """Run small LAPACK calls on one thread: for (N x N) matrices of a clip's frames,
    thread start-up costs more than it saves (and a busy machine makes it far worse)."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _path_laplacian_basis(n: int) -> np.ndarray:
    """Eigenvectors of the path graph's Laplacian, eigenvalues ascending, constant one dropped."""
    adjacency = np.eye(n, k=1) + np.eye(n, k=-1)
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    _, vectors = np.linalg.eigh(laplacian)  # eigh returns ascending eigenvalues
    return vectors[:, 1:]


def tim_weights(n_in: int, n_out: int, *, gram=None) -> np.ndarray:
    """The linear weights of TIM: output frames = ``weights @ (frames - mean) + mean``.

    Parameters
    ----------
    n_in, n_out : int
        Number of input frames (>= 2) and of output frames (>= 2).
    gram : array_like, shape (n_in, n_in), optional
        Gram matrix ``X @ X.T`` of the flattened frames (centred or not: it is projected
        onto the space orthogonal to the constant vector). Default: the identity (frames
        in general position).

    Returns
    -------
    numpy.ndarray, shape (n_out, n_in)

    Notes
    -----
    The steps of Zhou et al. (2011), written on the Gram matrix so that the (pixels x
    frames) SVD is never formed: ``Xc^T = U S V^T`` (economy SVD, the ``n_in - 1`` non-zero
    singular values kept, ``Xc`` being the centred frames), ``Q = S V^T``; ``V0`` = the
    Laplacian eigenvectors of the path graph on ``n_in`` nodes in ascending order without
    the constant one; ``W = (Q Q^T)^-1 Q V0``; per component ``k = 1..n_in-1`` a scale
    ``m_k = V0[0, k] / sin(k pi / n + pi (n - k) / (2 n))``. A new frame at
    ``t in [1/n, 1]`` has embedding ``y_k(t) = m_k sin(k pi t + pi (n - k) / (2 n))``,
    latent code ``q = W^-T y`` and pixels ``U q + mean`` = ``y^T W^-1 S^-1 V^T Xc + mean``.
    Evenly spaced output positions ``p in [0, 1]`` are rescaled as ``t = p (1 - 1/n) + 1/n``.

    When the centred frames are linearly independent (rank ``n_in - 1``), ``S`` and ``V``
    cancel and the weights reduce to ``y(t)^T V0^T``: TIM evaluates the path graph's
    eigenvectors (the orthonormal DCT-II basis) between the samples, i.e. it is cosine
    (DCT) interpolation. Duplicate frames (or fewer pixels than frames) make the Gram
    matrix singular and the published formulas divide by zero. Here the squared singular
    values below :data:`REGULARISATION` times the largest are raised to that floor. That
    is the same as giving the frames a tiny perturbation in new directions orthogonal to
    all pixels; it is used to fit the model only (the weights are applied to the
    unperturbed frames), keeps the model defined for any clip (even a constant one) and,
    by the identity above, gives the weights of a full-rank clip.
    """
    n_in = check_int("n_in", n_in, low=2)
    n_out = check_int("n_out", n_out, low=2)
    with _one_blas_thread():
        return _tim_weights(n_in, n_out, gram)


def _tim_weights(n_in: int, n_out: int, gram) -> np.ndarray:
    v0 = _path_laplacian_basis(n_in)  # (n_in, n_in-1), orthonormal, orthogonal to 1
    if gram is None:
        gram = np.eye(n_in)
    gram = np.asarray(gram, np.float64)
    if gram.shape != (n_in, n_in):
        raise ValueError(f"gram must have shape ({n_in}, {n_in}), got {gram.shape}")
    # Economy SVD of the centred frames through their Gram matrix, computed in the
    # (n_in-1)-dimensional space orthogonal to the constant vector (the direction that
    # centring removes, i.e. the dropped last component): V = B R, S^2 = eigenvalues,
    # with B any orthonormal basis of that space (V0 is one).
    reduced = v0.T @ (0.5 * (gram + gram.T)) @ v0
    evals, rot = np.linalg.eigh(reduced)
    evals, rot = evals[::-1], rot[:, ::-1]  # descending, as an SVD orders them
    # duplicate frames (or fewer pixels than frames) leave zero singular values, and the
    # published formulas then divide by zero: raise them to a small floor (see Notes)
    floor = REGULARISATION * evals[0] if evals[0] > 0 else 1.0
    sing = np.sqrt(np.maximum(evals, floor))
    v = v0 @ rot  # (n_in, n_in-1)
    q = sing[:, None] * v.T  # Q = S V^T, (n_in-1, n_in)
    w = np.linalg.solve(q @ q.T, q @ v0)  # W = (Q Q^T)^-1 Q V0
    k = np.arange(1, n_in)
    phase = np.pi * (n_in - k) / (2 * n_in)
    m = v0[0] / np.sin(k * np.pi / n_in + phase)
    pos = np.linspace(0.0, 1.0, n_out)
    t = pos * (1 - 1 / n_in) + 1 / n_in
    y = m[:, None] * np.sin(np.pi * k[:, None] * t[None, :] + phase[:, None])  # (n_in-1, n_out)
    q_new = np.linalg.solve(w.T, y)  # latent codes of the new frames
    return (q_new.T / sing[None, :]) @ v.T  # (n_out, n_in): q^T S^-1 V^T


def _flatten(cube: xr.DataArray, dtype) -> np.ndarray:
    return cube.values.reshape(cube.sizes["time"], -1).astype(dtype, copy=False)


def _work_dtype(cube):
    return np.float64 if cube.dtype == np.float64 else np.float32


def _tim_float(cube: xr.DataArray, n_frames: int) -> np.ndarray:
    """Unclipped TIM output as a float array of shape (n_frames, ...)."""
    x = _flatten(cube, _work_dtype(cube))
    mean = x.mean(axis=0, dtype=np.float64)
    # Gram matrix of the centred frames without forming them: P (X X^T) P, P = I - 11^T/N
    # (tim_weights applies P); for the synthesis, C (X - 1 mean) = C X - (C 1) mean.
    gram = np.asarray(x @ x.T, np.float64)
    weights = tim_weights(x.shape[0], n_frames, gram=gram)
    offset = (1.0 - weights.sum(axis=1))[:, None] * mean[None, :]
    out = weights.astype(x.dtype) @ x + offset.astype(x.dtype)
    return out.reshape((n_frames,) + cube.shape[1:])


def _linear_float(cube: xr.DataArray, n_frames: int) -> np.ndarray:
    t_in = cube["time"].values.astype(np.float64)
    t_out = np.linspace(t_in[0], t_in[-1], n_frames)
    right = np.clip(np.searchsorted(t_in, t_out, side="right"), 1, t_in.size - 1)
    left = right - 1
    frac = ((t_out - t_in[left]) / (t_in[right] - t_in[left]))
    x = _flatten(cube, _work_dtype(cube))
    out = x[left] * (1 - frac[:, None]).astype(x.dtype) + x[right] * frac[:, None].astype(x.dtype)
    return out.reshape((n_frames,) + cube.shape[1:])


def _cast_like(values: np.ndarray, cube: xr.DataArray) -> np.ndarray:
    """Clip to the input clip's own range, round for integer dtypes, cast back."""
    src = cube.values
    lo, hi = src.min(), src.max()
    out = np.clip(values, lo, hi)
    if np.issubdtype(cube.dtype, np.integer) or cube.dtype == bool:
        out = np.rint(out)
    return out.astype(cube.dtype)


def _resampled(cube: xr.DataArray, data: np.ndarray, *, method: str) -> xr.DataArray:
    """Wrap resampled frames as a cube spanning the input's time interval."""
    n_in, n_out = cube.sizes["time"], data.shape[0]
    t_in = cube["time"].values.astype(np.float64)
    frames_in = cube["frame"].values.astype(np.float64)
    t_out = np.linspace(t_in[0], t_in[-1], n_out)
    duration = t_in[-1] - t_in[0]
    if duration <= 0:
        raise ValueError(f"cube's time coordinate does not increase (first {t_in[0]}, last {t_in[-1]})")
    fps_in = float(cube.attrs["fps"])
    # the dataset frame number each output frame stands for (composed if already resampled)
    source_in = cube.attrs.get("source_frame")
    source_in = np.asarray(source_in, np.float64) if source_in is not None and np.size(source_in) == n_in else frames_in
    source_out = np.interp(t_out, t_in, source_in)
    keys = {}
    for key in ("onset", "apex", "offset"):
        value = cube.attrs.get(key)
        if value is None:
            keys[key] = None
            continue
        t_key = t_in[0] + (float(value) - frames_in[0]) / fps_in
        keys[key] = int(np.clip(np.rint((t_key - t_out[0]) / duration * (n_out - 1)), 0, n_out - 1))
    attrs = {"source_frame": source_out, "temporal_interpolation": method, **keys}
    out = like(cube, data, frame_numbers=np.arange(n_out), fps=(n_out - 1) / duration, **attrs)
    for name in _PER_FRAME_ATTRS:
        out.attrs.pop(name, None)
    return out.assign_coords(time=("time", t_out, dict(cube["time"].attrs)))


def _check(cube, n_frames):
    validate_cube(cube)
    if cube.sizes["time"] < 2:
        raise ValueError(
            f"cube has {cube.sizes['time']} frame; temporal interpolation needs a clip of at least 2 frames"
        )
    return check_int("n_frames", n_frames, low=2)


def tim(cube: xr.DataArray, n_frames: int = 10) -> xr.DataArray:
    """Resample a clip to ``n_frames`` frames with the Temporal Interpolation Model.

    Parameters
    ----------
    cube : xarray.DataArray
        Grey or colour cube of at least 2 frames, assumed evenly spaced in time.
    n_frames : int
        Frames of the output (>= 2): more than the input up-samples, fewer down-samples
        (the thesis and Pfister et al. use 10).

    Returns
    -------
    xarray.DataArray
        ``n_frames`` frames spanning the input's time interval, in the input's dtype and
        value range; ``frame`` holds the output positions, ``attrs["source_frame"]`` the
        fractional dataset frame numbers, onset/apex/offset are moved to the nearest output
        frames (see the module docstring).

    Notes
    -----
    TIM (Zhou et al. 2011) sees the N frames as points of a curve in pixel space, embeds
    the path graph joining consecutive frames with its Laplacian eigenvectors, learns the
    linear map from the frames' PCA codes to that embedding, and synthesises new frames at
    evenly spaced points of the continuous embedding (see :func:`tim_weights` for the
    formulas). For frames in general position this equals cosine (DCT-II) interpolation:
    the curve passes through every input frame, and every output frame is a weighted sum
    of all input frames with weights that fall off with temporal distance (a periodic-sinc
    kernel), where linear interpolation uses the two nearest frames. It does not low-pass
    filter when down-sampling, and it rings near abrupt changes (values are clipped to the
    input range). Cost: one (N x N) Gram matrix and one (n_frames x N) @ (N x pixels)
    product.

    References
    ----------
    Z. Zhou, G. Zhao, M. Pietikäinen, "Towards a practical lipreading system", CVPR 2011,
    doi:10.1109/CVPR.2011.5995345.
    T. Pfister, X. Li, G. Zhao, M. Pietikäinen, "Recognising spontaneous facial
    micro-expressions", ICCV 2011, doi:10.1109/ICCV.2011.6126401.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> clip = make_cube(np.random.default_rng(0).integers(0, 255, (33, 16, 16), dtype=np.uint8), fps=100)
    >>> out = tim(clip, 10)
    >>> out.sizes["time"], out.dtype, float(out.time[-1]) == float(clip.time[-1])
    (10, dtype('uint8'), True)
    """
    n_frames = _check(cube, n_frames)
    return _resampled(cube, _cast_like(_tim_float(cube, n_frames), cube), method="tim")


def linear_interpolate(cube: xr.DataArray, n_frames: int = 10) -> xr.DataArray:
    """Resample a clip to ``n_frames`` frames by linear interpolation in time.

    Each output frame at time ``t`` blends the two input frames around ``t`` (using the
    cube's ``time`` coordinate). Same output conventions as :func:`tim`.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> clip = make_cube(np.arange(3, dtype=np.float32)[:, None, None] * np.ones((3, 2, 2)), fps=10)
    >>> linear_interpolate(clip, 5).values[:, 0, 0].tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0]
    """
    n_frames = _check(cube, n_frames)
    return _resampled(cube, _cast_like(_linear_float(cube, n_frames), cube), method="linear")


def compare_tim_linear(cube: xr.DataArray, n_frames: int = 10) -> dict:
    """How much TIM and linear interpolation differ on a clip.

    Parameters
    ----------
    cube : xarray.DataArray
    n_frames : int

    Returns
    -------
    dict
        ``n_frames_in``, ``n_frames_out``; ``rmse`` and ``max_abs`` of TIM minus linear
        over all output pixels (grey levels), and ``rmse_per_frame`` (n_frames,);
        ``signal_rms``: RMS of the input's frame-to-frame change, to judge the difference
        against; ``clipped_fraction``: share of TIM's values outside the input range before
        clipping (ringing); ``round_trip_rmse_tim`` and ``round_trip_rmse_linear``: RMS
        error against the input after resampling to ``n_frames`` and back to the input
        length (how much of the clip each method keeps).

    Notes
    -----
    For slow, smooth motion both methods agree closely. They differ most when up-sampling
    a short clip (few samples: TIM's cosine curve bends smoothly through them where linear
    interpolation draws straight segments), and near abrupt changes or frame noise (TIM
    rings, linear cuts corners). When down-sampling, neither method averages frames: both
    evaluate a curve through all input frames at the new instants, so a movement shorter
    than the new frame interval can be missed by both.

    Examples
    --------
    >>> import numpy as np
    >>> from mer_lab.cube import make_cube
    >>> clip = make_cube(np.linspace(0, 1, 20, dtype=np.float32)[:, None, None] * np.ones((20, 4, 4)), fps=100)
    >>> compare_tim_linear(clip, 10)["rmse"] < 0.01
    True
    """
    n_frames = _check(cube, n_frames)
    n_in = cube.sizes["time"]
    src = cube.values.astype(np.float64)
    raw_tim = _tim_float(cube, n_frames).astype(np.float64)
    lo, hi = src.min(), src.max()
    clipped = float(np.mean((raw_tim < lo) | (raw_tim > hi)))
    a = np.clip(raw_tim, lo, hi)
    b = np.clip(_linear_float(cube, n_frames).astype(np.float64), lo, hi)
    diff = (a - b).reshape(n_frames, -1)
    tim_out = tim(cube, n_frames)
    lin_out = linear_interpolate(cube, n_frames)
    back_tim = tim(tim_out, n_in).values.astype(np.float64)
    back_lin = linear_interpolate(lin_out, n_in).values.astype(np.float64)
    step = np.diff(src, axis=0)
    return {
        "n_frames_in": int(n_in),
        "n_frames_out": int(n_frames),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "max_abs": float(np.abs(diff).max()),
        "rmse_per_frame": np.sqrt(np.mean(diff**2, axis=1)),
        "signal_rms": float(np.sqrt(np.mean(step**2))),
        "clipped_fraction": clipped,
        "round_trip_rmse_tim": float(np.sqrt(np.mean((back_tim - src) ** 2))),
        "round_trip_rmse_linear": float(np.sqrt(np.mean((back_lin - src) ** 2))),
    }
