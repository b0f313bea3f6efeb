"""Flow of clips: frame pairs and sequences of a cube, with an optional disk cache,
and the flow input of the flow-based features (a cube or a precomputed flow).

Caching is explicit: :func:`flow_pair`, :func:`flow_sequence` and the feature inputs
read and write the disk cache only when asked, with ``cache=True`` (or a
:class:`~mer_lab.cache.DiskCache`) or inside :func:`mer_lab.cache.flow_cache`, the
switch the experiment layer and the dashboard turn on so that methods share flows.
Called with the defaults they compute and write nothing.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import xarray as xr

from ..._validate import check_array, check_choice, check_int, describe
from ...cache import resolve_cache
from ...cube import META_KEYS, frame_position, key_frames, to_grey, validate_cube
from .align import MOTION_MODELS, remove_global_motion
from .engines import FLOW_CODE_VERSION, _resolve_params, optical_flow
from .strain import _flow_array, optical_strain

__all__ = ["flow_pair", "flow_sequence", "flow_dataarray", "as_flow", "pair_flow_and_strain", "sequence_flow"]


def _grey_cube(cube, name="cube"):
    validate_cube(cube, name=name, min_frames=2)
    return to_grey(cube) if cube.ndim == 4 else cube


def _resolve_frame(cube, which, *, name, positions, kf):
    """Position along time of ``which`` (None, key-frame name, frame number or position)."""
    n = cube.sizes["time"]
    if isinstance(which, str):
        check_choice(name, which, ("onset", "apex", "offset", "first", "last"))
        if which == "first":
            return 0
        if which == "last":
            return n - 1
        return kf()[which]
    if isinstance(which, bool) or not isinstance(which, (int, np.integer)):
        raise ValueError(f"{name} must be None, 'onset', 'apex', 'offset', 'first', 'last' or an integer "
                         f"frame number, got {describe(which)}")
    which = int(which)
    if positions:
        if not -n <= which < n:
            raise ValueError(f"{name} position {which} is outside the clip, which has {n} frames")
        return which % n
    return frame_position(cube, which, name=name)


def _pair_key(cube, p0, p1, engine, params, frames):
    import cv2
    import skimage

    digest = hashlib.sha256()
    for f in frames:
        digest.update(np.ascontiguousarray(f).tobytes())
        digest.update(str(f.dtype).encode())
        digest.update(str(f.shape).encode())
    return dict(
        dataset=str(cube.attrs.get("dataset")), sample=str(cube.attrs.get("sample")),
        start=int(cube["frame"].values[p0]), end=int(cube["frame"].values[p1]),
        engine=engine, params=params, code=FLOW_CODE_VERSION,
        backend=cv2.__version__ if engine in ("tvl1", "farneback", "dis") else skimage.__version__,
        content=digest.hexdigest()[:24],
    )


def _has_identity(cube) -> bool:
    return bool(cube.attrs.get("dataset")) and bool(cube.attrs.get("sample"))


def _pair_values(cube, p0, p1, engine, params, store):
    """Flow (2, H, W) between positions p0 and p1, from the cache when possible."""
    vals = cube.values
    f0, f1 = vals[p0], vals[p1]
    if p0 == p1:
        return np.zeros((2,) + f0.shape, np.float32)
    if store is None or not _has_identity(cube):
        return optical_flow(f0, f1, engine=engine, **params)
    key = _pair_key(cube, p0, p1, engine, params, (f0, f1))
    out = store.get_or_compute("flow", key, lambda: {"flow": optical_flow(f0, f1, engine=engine, **params)},
                               names=("flow",))
    flow = out.get("flow")
    if flow is None or flow.shape != (2,) + f0.shape:  # a foreign or stale entry: recompute
        flow = optical_flow(f0, f1, engine=engine, **params)
        store.save("flow", key, {"flow": flow})
    return flow.astype(np.float32, copy=False)


def _flow_attrs(cube, engine, params, **extra):
    attrs = {k: cube.attrs.get(k) for k in META_KEYS if k in cube.attrs}
    for k in ("apex_estimated", "apex_method"):
        if k in cube.attrs:
            attrs[k] = cube.attrs[k]
    attrs.update(engine=engine, engine_params=json.dumps(params, sort_keys=True),
                 units="px", long_name="optical flow")
    attrs.update(extra)
    return attrs


def flow_dataarray(flow, *, like=None, attrs=None) -> xr.DataArray:
    """Wrap a ``(2, H, W)`` (or ``(T, 2, H, W)``) array as a flow DataArray.

    ``like`` (a cube or flow DataArray) supplies the ``y``/``x`` coordinates.
    """
    arr = _flow_array(flow)
    dims = ("component", "y", "x") if arr.ndim == 3 else ("time", "component", "y", "x")
    coords = {"component": ["u", "v"]}
    if like is not None:
        for k in ("y", "x"):
            if k in like.coords and like.sizes[k] == arr.shape[dims.index(k)]:
                coords[k] = like.coords[k].values
    base = {"units": "px", "long_name": "optical flow"}
    base.update(attrs or {})
    return xr.DataArray(arr, dims=dims, coords=coords, attrs=base, name="flow")


def flow_pair(cube, *, start=None, end=None, positions: bool = False, engine: str = "tvl1",
              cache=None, **engine_params) -> xr.DataArray:
    """Optical flow between two frames of a clip (default onset -> apex).

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x) or (time, y, x, channel)
        A clip (colour clips are converted to grey).
    start, end : int or str, optional
        The two frames: dataset frame numbers (the ``frame`` coordinate), or positions
        along ``time`` when ``positions=True``, or one of ``"onset"``, ``"apex"``,
        ``"offset"``, ``"first"``, ``"last"``. Defaults: ``start="onset"``,
        ``end="apex"`` (missing key frames default as in :func:`mer_lab.cube.key_frames`:
        onset = first frame, apex = middle of onset..offset).
    positions : bool
        Read integer ``start``/``end`` as positions (negative counts from the end).
    engine : str
        See :func:`optical_flow`.
    cache : None, bool or DiskCache
        ``None`` (default): the cache of an enclosing :func:`mer_lab.cache.flow_cache`
        block, otherwise none (nothing is read or written). ``True`` uses
        :func:`mer_lab.cache.default_cache`, a DiskCache uses that folder, ``False``
        computes every time, even inside ``flow_cache``. Only clips with ``dataset`` and ``sample`` attrs
        are cached; keys hold the dataset, sample, frame numbers, engine, every engine
        parameter, the code and library versions and a digest of the two frames (so a
        cropped or resampled clip never reuses the flow of the raw one).
    **engine_params
        Engine parameters (see :func:`optical_flow`).

    Returns
    -------
    xarray.DataArray, dims (component, y, x), float32
        The flow, with the clip's metadata and ``start``, ``end`` (frame numbers),
        ``engine``, ``engine_params`` (JSON) in ``attrs``.

    Raises
    ------
    ValueError
        If a frame is not in the clip (e.g. an annotated apex outside it).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> from mer_lab.cube import make_cube
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(0).random((48, 48)), 2)
    >>> frames = np.stack([ndi.shift(f0, (0, s), mode="wrap") for s in (0, 0.5, 1)])
    >>> cube = make_cube(frames, fps=100, onset=0, apex=2, offset=2)
    >>> flow = flow_pair(cube, engine="farneback")
    >>> flow.dims, round(float(flow.sel(component="u").median()), 1)
    (('component', 'y', 'x'), 1.0)
    """
    cube = _grey_cube(cube)
    params = _resolve_params(engine, engine_params)
    store = resolve_cache(cache)
    kf_cache = {}

    def kf():
        if not kf_cache:
            kf_cache.update(key_frames(cube))
        return kf_cache

    p0 = _resolve_frame(cube, "onset" if start is None else start, name="start", positions=positions, kf=kf)
    p1 = _resolve_frame(cube, "apex" if end is None else end, name="end", positions=positions, kf=kf)
    flow = _pair_values(cube, p0, p1, engine, params, store)
    frames = cube["frame"].values
    return flow_dataarray(flow, like=cube, attrs=_flow_attrs(
        cube, engine, params, start=int(frames[p0]), end=int(frames[p1])))


def flow_sequence(cube, *, reference: str = "first", engine: str = "tvl1", cache=None,
                  n_jobs: int = 1, **engine_params) -> xr.DataArray:
    """Optical flow from a reference frame to every frame of a clip.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
    reference : {"first", "onset", "offset", "previous"}
        ``"first"``: from the clip's first frame to frame i (MDMO, thesis Figure 3);
        ``"onset"``: from the onset frame to frame i (frames before the onset get the
        backward flow); ``"offset"``: from the offset frame to frame i;
        ``"previous"``: from frame i-1 to frame i (frame 0 gets zeros).
    engine, cache, **engine_params
        As in :func:`flow_pair`; pairs are cached individually, so a sequence shares
        entries with :func:`flow_pair` calls on the same frames.
    n_jobs : int
        Threads computing pairs concurrently (OpenCV releases the GIL); 1 = serial.

    Returns
    -------
    xarray.DataArray, dims (time, component, y, x), float32
        With the cube's ``time`` and ``frame`` coordinates; the reference frame's flow
        is zero. ``attrs`` hold the metadata, ``reference``, ``engine``, ``engine_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> from mer_lab.cube import make_cube
    >>> f0 = ndi.gaussian_filter(np.random.default_rng(0).random((48, 48)), 2)
    >>> cube = make_cube(np.stack([ndi.shift(f0, (0.3 * t, 0), mode="wrap") for t in range(4)]), fps=30)
    >>> seq = flow_sequence(cube, engine="farneback")
    >>> [round(float(seq.isel(time=t).sel(component="v").median()), 1) for t in range(4)]
    [0.0, 0.3, 0.6, 0.9]
    """
    cube = _grey_cube(cube)
    check_choice("reference", reference, ("first", "onset", "offset", "previous"))
    params = _resolve_params(engine, engine_params)
    n_jobs = check_int("n_jobs", n_jobs, low=1)
    store = resolve_cache(cache)
    n = cube.sizes["time"]
    if reference == "first":
        pairs = [(0, i) for i in range(n)]
    elif reference in ("onset", "offset"):
        r = key_frames(cube)[reference]
        pairs = [(r, i) for i in range(n)]
    else:
        pairs = [(max(i - 1, 0), i) for i in range(n)]

    def one(pair):
        return _pair_values(cube, pair[0], pair[1], engine, params, store)

    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_jobs) as pool:
            flows = list(pool.map(one, pairs))
    else:
        flows = [one(p) for p in pairs]
    out = flow_dataarray(np.stack(flows), like=cube, attrs=_flow_attrs(cube, engine, params, reference=reference))
    return out.assign_coords(time=cube["time"].values, frame=("time", cube["frame"].values))


# --------------------------------------------------------------------------- inputs of features
def as_flow(data) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a precomputed flow into ``(flow (2, ..., H, W), strain or None)``.

    Accepts a ``(2, H, W)`` array, a ``(3, H, W)`` array read as ``(u, v, strain)``, a
    DataArray with a ``component`` dim whose coords include ``"u"``, ``"v"`` and
    optionally ``"strain"`` (the precomputed flow images loader), or a flow sequence
    ``(time, component, y, x)``.
    """
    strain = None
    if isinstance(data, xr.DataArray):
        if "component" not in data.dims:
            raise ValueError(f"a flow DataArray needs a 'component' dim, got dims {data.dims}")
        lead = ("time",) if "time" in data.dims else ()
        data = data.transpose(*lead, "component", "y", "x")
        comps = [str(c) for c in data["component"].values] if "component" in data.coords else ["u", "v", "strain"][: data.sizes["component"]]
        if "u" not in comps or "v" not in comps:
            raise ValueError(f"a flow DataArray needs components 'u' and 'v', got {comps}")
        vals = data.values
        flow = np.stack([vals[..., comps.index("u"), :, :], vals[..., comps.index("v"), :, :]], axis=-3)
        if "strain" in comps:
            strain = vals[..., comps.index("strain"), :, :]
        return check_array("flow", flow).astype(np.float32, copy=False), strain
    arr = check_array("flow", data, ndim=(3, 4))
    if arr.shape[-3] == 3:
        strain = arr[..., 2, :, :]
        arr = arr[..., :2, :, :]
    elif arr.shape[-3] != 2:
        raise ValueError(f"a flow array must have shape (2, H, W) or (3, H, W) (u, v[, strain]), got {arr.shape}")
    return arr.astype(np.float32, copy=False), strain


def _is_cube(data) -> bool:
    return isinstance(data, xr.DataArray) and "component" not in data.dims and "time" in data.dims


def pair_flow_and_strain(data, *, align: str = "none", engine: str = "tvl1", cache=None, **engine_params):
    """``(flow (2, H, W), strain (H, W))`` of a feature's input.

    ``data`` is a cube (onset -> apex flow computed with ``engine``; strain from it) or a
    precomputed flow (see :func:`as_flow`; its strain channel is used when present,
    otherwise the strain is computed from ``u`` and ``v``). ``align`` (``"none"``,
    ``"translation"``, ``"affine"``) removes the global motion first
    (:func:`remove_global_motion`); the strain is then computed from the aligned flow
    (a precomputed strain channel is kept as it is).
    """
    check_choice("align", align, ("none",) + MOTION_MODELS)
    if _is_cube(data):
        flow = flow_pair(data, engine=engine, cache=cache, **engine_params).values
        strain = None
    else:
        flow, strain = as_flow(data)
        if flow.ndim != 3:
            raise ValueError(f"expected one flow field (2, H, W), got shape {flow.shape}; "
                             "select one time step of a flow sequence")
    if align != "none":
        flow = remove_global_motion(flow, model=align)
    if strain is None:
        strain = optical_strain(flow)
    return flow, np.asarray(strain, np.float32)


def sequence_flow(data, *, reference: str = "first", align: str = "none", engine: str = "tvl1", cache=None,
                  **engine_params) -> np.ndarray:
    """``(T, 2, H, W)`` flow of a feature's input: a cube (computed) or a precomputed
    sequence; a single ``(2, H, W)`` flow is read as a one-step sequence. ``align`` as in
    :func:`pair_flow_and_strain`, per time step."""
    check_choice("align", align, ("none",) + MOTION_MODELS)
    if _is_cube(data):
        seq = flow_sequence(data, reference=reference, engine=engine, cache=cache, **engine_params).values
    else:
        seq, _ = as_flow(data)
        seq = seq[None] if seq.ndim == 3 else seq
    if align != "none":
        seq = np.stack([remove_global_motion(f, model=align) if f.any() else f for f in seq])
    return seq
