"""The video cube: one clip as a labelled :class:`xarray.DataArray`.

Convention
----------
* dims ``("time", "y", "x")`` for grey clips, ``("time", "y", "x", "channel")`` for colour
  (channels in RGB order); ``y`` is the row index, growing downwards, ``x`` the column.
* coords ``time`` (seconds since the clip's first frame) and ``frame`` (the dataset's own
  frame numbers, on the ``time`` dimension), plus integer ``y`` and ``x`` pixel indices.
* attrs ``dataset``, ``subject``, ``sample``, ``emotion``, ``onset``, ``apex``, ``offset``
  (dataset frame numbers; ``None`` when unknown), ``fps``, ``units`` and ``long_name``.

Kernels may work on plain numpy arrays; public functions take and return cubes and keep
the metadata (see :func:`like`).
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ._validate import check_number, describe

__all__ = [
    "META_KEYS",
    "IMAGE_SUFFIXES",
    "make_cube",
    "validate_cube",
    "like",
    "frame_number",
    "list_frames",
    "read_frame",
    "truncated_image",
    "cube_from_frames",
    "cube_from_folder",
    "cube_from_video",
    "frame_position",
    "key_frames",
]

#: The clip metadata every cube carries in its attrs (:func:`make_cube`); anything derived
#: from a cube (a curve, a flow sequence, a feature row) copies these keys, in this order.
META_KEYS = ("dataset", "subject", "sample", "emotion", "onset", "apex", "offset", "fps")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm")
_TRAILING_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def make_cube(
    frames,
    *,
    fps: float,
    frame_numbers: Sequence[int] | None = None,
    dataset: str | None = None,
    subject: str | None = None,
    sample: str | None = None,
    emotion: str | None = None,
    onset: int | None = None,
    apex: int | None = None,
    offset: int | None = None,
    units: str = "grey level",
    long_name: str = "intensity",
    **attrs,
) -> xr.DataArray:
    """Build a cube from an array of frames.

    Parameters
    ----------
    frames : array_like, shape (time, y, x) or (time, y, x, channel)
        The clip. Integer or floating dtype; floating frames must be finite.
    fps : float
        Frames per second of the recording (> 0).
    frame_numbers : sequence of int, optional
        The dataset's own frame numbers; default ``0 .. time-1``. Must increase strictly.
    dataset, subject, sample, emotion : str, optional
        Identity and label of the clip.
    onset, apex, offset : int, optional
        Key frames as dataset frame numbers.
    units, long_name : str
        CF-style attributes that plots use as axis labels.
    **attrs
        Further attributes kept on the cube (e.g. ``apex_estimated=True``).

    Returns
    -------
    xarray.DataArray

    Examples
    --------
    >>> import numpy as np
    >>> cube = make_cube(np.zeros((5, 8, 8), np.uint8), fps=100, frame_numbers=range(10, 15))
    >>> cube.dims, float(cube.time[1])
    (('time', 'y', 'x'), 0.01)
    """
    arr = np.asarray(frames)
    if arr.ndim not in (3, 4):
        raise ValueError(
            f"frames must have shape (time, y, x) or (time, y, x, channel), got shape {arr.shape}"
        )
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"frames must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError("frames contain NaN or infinite values; only finite values are accepted")
    if arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"frames must have at least one frame of at least 1x1 pixels, got shape {arr.shape}")
    fps = check_number("fps", fps, low=0, low_open=True)
    n = arr.shape[0]
    if frame_numbers is None:
        numbers = np.arange(n, dtype=np.int64)
    else:
        numbers = np.asarray(list(frame_numbers), dtype=np.int64)
        if numbers.shape != (n,):
            raise ValueError(f"frame_numbers has {numbers.size} entries but frames has {n} frames")
        if n > 1 and np.any(np.diff(numbers) <= 0):
            raise ValueError("frame_numbers must increase strictly")
    dims = ("time", "y", "x") if arr.ndim == 3 else ("time", "y", "x", "channel")
    coords = {
        "time": ("time", (numbers - numbers[0]) / fps, {"units": "s", "long_name": "time"}),
        "frame": ("time", numbers, {"long_name": "frame number"}),
        "y": ("y", np.arange(arr.shape[1]), {"units": "px", "long_name": "row"}),
        "x": ("x", np.arange(arr.shape[2]), {"units": "px", "long_name": "column"}),
    }
    if arr.ndim == 4:
        coords["channel"] = ("channel", ["R", "G", "B", "A"][: arr.shape[3]] if arr.shape[3] <= 4 else np.arange(arr.shape[3]))
    meta = dict(
        dataset=dataset, subject=subject, sample=sample, emotion=emotion,
        onset=opt_int(onset), apex=opt_int(apex), offset=opt_int(offset), fps=fps,
        units=units, long_name=long_name,
    )
    meta.update(attrs)
    cube = xr.DataArray(arr, dims=dims, coords=coords, attrs=meta, name=sample or "cube")
    return cube


def opt_int(value):
    """``int(value)``, or ``None`` for a missing value (None, NaN, ``pd.NA``, ``NaT``)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return int(value)


def validate_cube(cube, *, name: str = "cube", min_frames: int = 1, grey: bool | None = None) -> xr.DataArray:
    """Check that ``cube`` follows the cube convention and return it.

    Parameters
    ----------
    cube : xarray.DataArray
    name : str
        Parameter name for error messages.
    min_frames : int
        Fewest frames accepted.
    grey : bool, optional
        ``True`` requires a grey cube, ``False`` a colour cube, ``None`` accepts both.
    """
    if not isinstance(cube, xr.DataArray):
        raise TypeError(
            f"{name} must be an xarray.DataArray built by mer_lab.cube.make_cube (or read by a loader), "
            f"got {describe(cube)}"
        )
    if cube.dims not in (("time", "y", "x"), ("time", "y", "x", "channel")):
        raise ValueError(f"{name} must have dims ('time', 'y', 'x') or ('time', 'y', 'x', 'channel'), got {cube.dims}")
    if grey is True and cube.ndim != 3:
        raise ValueError(f"{name} must be a grey cube (dims time, y, x); convert colour clips with mer_lab.cube.to_grey first")
    if grey is False and cube.ndim != 4:
        raise ValueError(f"{name} must be a colour cube (dims time, y, x, channel)")
    if cube.sizes["time"] < min_frames:
        raise ValueError(f"{name} has {cube.sizes['time']} frames; at least {min_frames} are needed")
    if "frame" not in cube.coords:
        raise ValueError(f"{name} has no 'frame' coordinate on 'time'; build it with mer_lab.cube.make_cube")
    fps = cube.attrs.get("fps")
    if fps is None or not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"{name}.attrs['fps'] must be a positive number, got {describe(fps)}")
    if np.issubdtype(cube.dtype, np.floating) and not np.isfinite(cube.values).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return cube


def like(cube: xr.DataArray, data, *, frame_numbers=None, fps=None, **attr_updates) -> xr.DataArray:
    """A new cube holding ``data`` with ``cube``'s metadata (attrs updated by keyword).

    ``frame_numbers`` and ``fps`` default to the source's when the number of frames is
    unchanged; when it changes (e.g. after temporal interpolation) pass them explicitly
    or the frames are renumbered ``0..n-1`` at an fps that keeps the clip's duration.
    """
    data = np.asarray(data)
    attrs = dict(cube.attrs)
    old_n = cube.sizes["time"]
    if fps is None:
        fps = attrs.get("fps")
        if data.shape[0] != old_n and frame_numbers is None and old_n > 1 and data.shape[0] > 1:
            fps = fps * (data.shape[0] - 1) / (old_n - 1)
    if frame_numbers is None and data.shape[0] == old_n:
        frame_numbers = cube["frame"].values
    attrs.update(attr_updates)
    attrs.pop("fps", None)
    keys = {k: attrs.pop(k, None) for k in META_KEYS if k != "fps"}
    units = attrs.pop("units", "grey level")
    long_name = attrs.pop("long_name", "intensity")
    return make_cube(data, fps=fps, frame_numbers=frame_numbers, units=units, long_name=long_name, **keys, **attrs)


def entry_kind(entry: os.DirEntry) -> str:
    """``"dir"``, ``"file"`` or ``"other"`` for a scandir entry (symbolic links followed).

    A symbolic link loop (ELOOP: a link pointing back to itself, directly or through other
    links) raises a ValueError naming the link instead of an OSError deep in a listing.
    """
    try:
        if entry.is_dir():
            return "dir"
        if entry.is_file():
            return "file"
        return "other"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"symbolic link loop at {entry.path}: the link points back to itself (directly or "
                             f"through other links); remove or correct it") from None
        raise


#: Largest frame number accepted in a file name (12 digits); larger ones are typos or not frames.
MAX_FRAME_NUMBER = 10**12 - 1


def frame_number(path) -> int:
    """The frame number written in an image file name (its last run of digits).

    ``img46.jpg`` -> 46, ``006_05562.jpg`` -> 5562, ``reg_image1038189.bmp`` -> 1038189.
    Works for any zero padding; never formats names.
    """
    stem = Path(path).stem
    match = _TRAILING_DIGITS.search(stem)
    if match is None:
        raise ValueError(f"cannot read a frame number from the file name {str(path)!r} (no digits)")
    number = int(match.group(1))
    if number > MAX_FRAME_NUMBER:
        raise ValueError(f"the file name {str(path)!r} gives the frame number {match.group(1)}, which is not "
                         f"plausible; frame numbers are accepted up to {MAX_FRAME_NUMBER} (12 digits)")
    return number


def list_frames(folder, *, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> list[tuple[int, Path]]:
    """Image files of a frame folder as ``(frame number, path)``, sorted numerically.

    Raises
    ------
    FileNotFoundError
        If ``folder`` does not exist.
    ValueError
        If two files carry the same frame number, a name holds an implausible frame
        number (more than 12 digits), or a symbolic link loops.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"frame folder not found: {folder}")
    wanted = {s.lower() for s in suffixes}
    items = []
    for entry in os.scandir(folder):
        if Path(entry.name).suffix.lower() in wanted and entry_kind(entry) == "file":
            if _TRAILING_DIGITS.search(Path(entry.name).stem) is None:
                continue  # not a frame (no number in its name)
            try:
                items.append((frame_number(entry.name), Path(entry.path)))
            except ValueError as exc:
                raise ValueError(f"{exc} (in the frame folder {folder})") from None
    items.sort(key=lambda t: t[0])
    for (a, pa), (b, pb) in zip(items, items[1:]):
        if a == b:
            raise ValueError(f"two frames in {folder} carry frame number {a}: {pa.name} and {pb.name}")
    return items


def truncated_image(path) -> str | None:
    """Why an image file looks cut short (an interrupted copy or download), or None.

    Only the file's ends are read: a JPEG must start with its SOI marker and hold its EOI
    marker (``FF D9``) in its last kilobyte, a PNG must end with its ``IEND`` chunk, a BMP
    must be at least as long as its header says. Decoders accept such files silently
    (libjpeg fills the missing part with grey and only prints a warning).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jpg", ".jpeg", ".png", ".bmp"):
        return None
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - 1024))
            tail = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if suffix in (".jpg", ".jpeg") and head[:2] == b"\xff\xd8" and b"\xff\xd9" not in tail:
        return f"the JPEG file {path} is truncated (no end-of-image marker; {size} bytes)"
    if suffix == ".png" and head[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in tail[-16:]:
        return f"the PNG file {path} is truncated (no IEND chunk; {size} bytes)"
    if suffix == ".bmp" and head[:2] == b"BM" and len(head) >= 6:
        declared = int.from_bytes(head[2:6], "little")
        if 0 < size < declared:
            return f"the BMP file {path} is truncated ({size} bytes, its header says {declared})"
    return None


def read_frame(path, *, grey: bool = True) -> np.ndarray:
    """Read one image file; grey (2-D uint8) or RGB (3-D).

    Raises a ValueError naming the file when it is empty, truncated
    (:func:`truncated_image`) or cannot be decoded.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"frame not found: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"frame file is empty (0 bytes): {path}")
    cut = truncated_image(path)
    if cut:
        raise ValueError(cut)
    flag = cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        raise ValueError(f"frame file cannot be decoded as an image: {path}")
    if not grey:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def cube_from_frames(paths: Sequence, *, fps: float, frame_numbers=None, grey: bool = True, **meta) -> xr.DataArray:
    """Read a list of image files (in order) into a cube.

    Frame numbers default to those parsed from the file names. All frames must share one
    size; the error names the first file that differs.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no frame files were given")
    if frame_numbers is None:
        frame_numbers = [frame_number(p) for p in paths]
    first = read_frame(paths[0], grey=grey)
    out = np.empty((len(paths),) + first.shape, dtype=first.dtype)
    out[0] = first
    for i, p in enumerate(paths[1:], start=1):
        img = read_frame(p, grey=grey)
        if img.shape != first.shape:
            raise ValueError(
                f"frame {p} has size {img.shape[1]}x{img.shape[0]} but the clip's first frame "
                f"{paths[0].name} has {first.shape[1]}x{first.shape[0]}; all frames of a clip must share one size"
            )
        out[i] = img
    return make_cube(out, fps=fps, frame_numbers=frame_numbers, **meta)


def cube_from_folder(folder, *, fps: float, first: int | None = None, last: int | None = None,
                     grey: bool = True, **meta) -> xr.DataArray:
    """Read a frame folder into a cube, frames sorted by the number in their names.

    ``first``/``last`` (inclusive dataset frame numbers) select a part of the clip.
    """
    items = list_frames(folder)
    if first is not None:
        items = [t for t in items if t[0] >= first]
    if last is not None:
        items = [t for t in items if t[0] <= last]
    if not items:
        raise ValueError(f"no image frames in {folder}" + (f" between frames {first} and {last}" if first is not None or last is not None else ""))
    return cube_from_frames([p for _, p in items], fps=fps, frame_numbers=[n for n, _ in items], grey=grey, **meta)


def cube_from_video(path, *, fps: float | None = None, grey: bool = True, **meta) -> xr.DataArray:
    """Decode a video file with OpenCV into a cube (frames numbered from 0)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot open the video {path}")
        video_fps = cap.get(cv2.CAP_PROP_FPS)
        frames = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if grey else cv2.COLOR_BGR2RGB)
            frames.append(img)
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"the video {path} holds no decodable frames")
    if fps is None:
        if not video_fps or video_fps <= 0:
            raise ValueError(f"the video {path} does not state its frame rate; pass fps=")
        fps = video_fps
    return make_cube(np.stack(frames), fps=fps, **meta)


def frame_position(cube: xr.DataArray, frame: int, *, name: str = "frame") -> int:
    """Index along ``time`` of a dataset frame number; a clear error if it is outside."""
    numbers = cube["frame"].values
    pos = int(np.searchsorted(numbers, frame))
    if pos >= numbers.size or numbers[pos] != frame:
        raise ValueError(
            f"{name} {frame} is not in the clip {cube.attrs.get('sample')!r}, whose frames run "
            f"{int(numbers[0])}..{int(numbers[-1])}"
        )
    return pos


def key_frames(cube: xr.DataArray) -> dict[str, int]:
    """Positions (indices along ``time``) of onset, apex and offset.

    Missing onset/offset default to the clip's ends; a missing apex to the middle frame.
    """
    n = cube.sizes["time"]
    out = {}
    for key, default in (("onset", 0), ("offset", n - 1)):
        value = cube.attrs.get(key)
        out[key] = default if value is None else frame_position(cube, value, name=key)
    apex = cube.attrs.get("apex")
    out["apex"] = (out["onset"] + out["offset"]) // 2 if apex is None else frame_position(cube, apex, name="apex")
    return out


def to_grey(cube: xr.DataArray) -> xr.DataArray:
    """Convert a colour cube to grey (ITU-R BT.601 luma), keeping the dtype and metadata."""
    validate_cube(cube)
    if cube.ndim == 3:
        return cube
    rgb = cube.values[..., :3].astype(np.float32)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    if np.issubdtype(cube.dtype, np.integer):
        grey = np.clip(np.rint(grey), np.iinfo(cube.dtype).min, np.iinfo(cube.dtype).max).astype(cube.dtype)
    return like(cube, grey)


__all__.append("to_grey")
