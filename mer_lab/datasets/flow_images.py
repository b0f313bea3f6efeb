"""Precomputed optical flow shared as images: one PNG per clip holding u, v and strain.

Many groups publish onset->apex optical flow instead of frames: each clip becomes one
image whose three channels hold the horizontal flow u, the vertical flow v and the
optical strain, each scaled to 0-255 (often resized to 28x28), with a CSV giving the
dataset, subject, clip name and label of every image. :func:`load_flow_images` reads
such a folder as a :class:`~mer_lab.datasets.Corpus` whose rows hold *flow*, not
frames (``corpus.info["kind"] == "flow"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_choice
from ._clips import IssueLog, finish_corpus, require_root
from ._sheets import cell_text, norm, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_flow_images", "read_flow_image", "FLOW_IMAGES_LAYOUT", "DEFAULT_COLUMNS"]

FLOW_IMAGES_LAYOUT = """\
<folder>/
  <image>.png ...     one per clip; channels R = u, G = v, B = strain, each scaled 0-255
  <labels>.csv        one row per image: dataset, subject, clip name, label
                      (column names configurable with columns=)"""

# canonical field -> accepted CSV header spellings (compared lower case, letters/digits only)
DEFAULT_COLUMNS = {
    "dataset": ("dataset", "database", "db", "source"),
    "subject": ("subject", "sub", "subjectid", "participant"),
    "sample": ("filename", "clip", "sample", "video", "material", "name", "samplename"),
    "label": ("label", "emotion", "class", "category", "estimatedemotion"),
    "image": ("image", "imagename", "imagefile", "file", "path", "png"),
}
_KNOWN_FPS = {"casme2": 200.0, "casmeii": 200.0, "samm": 200.0, "smic": 100.0, "smichs": 100.0, "smicvis": 25.0,
              "smicnir": 25.0, "casme": 60.0, "casmesq": 30.0, "casme2sq": 30.0, "mmew": 90.0, "meview": 25.0}


def read_flow_image(path, *, channels: str = "rgb") -> np.ndarray:
    """Read one flow image as float32 ``(3, H, W)``: u, v in [-1, 1], strain in [0, 1].

    Parameters
    ----------
    path : path-like
        8-bit 3-channel image (PNG, BMP, JPEG...).
    channels : {"rgb", "bgr"}
        Which file channel holds u: ``"rgb"`` (red = u, green = v, blue = strain: images
        saved with PIL, imageio, scikit-image or matplotlib) or ``"bgr"`` (an array stacked
        ``[u, v, strain]`` and saved with ``cv2.imwrite``, which writes channel 0 as blue).

    Notes
    -----
    De-scaling: ``u = p / 127.5 - 1`` (and the same for v), ``strain = p / 255`` for an
    8-bit value ``p``. The publishers normalised each image (or the whole set) to 0-255
    before saving, so the values are *relative*: magnitudes are comparable within an
    image, not in pixels per frame, and the sign of u, v is only meaningful if the
    publisher centred zero flow at 127.5 (most do).
    """
    import cv2

    check_choice("channels", channels, ["rgb", "bgr"])
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"flow image not found: {path}")
    if path.stat().st_size == 0:
        raise ValueError(f"flow image is empty (0 bytes): {path}")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"flow image cannot be decoded: {path}")
    if img.ndim != 3 or img.shape[2] < 3:
        raise ValueError(f"flow image {path} must have 3 channels (u, v, strain), got shape {img.shape}")
    if img.dtype != np.uint8:
        raise ValueError(f"flow image {path} must be 8-bit, got {img.dtype}")
    bgr = img[..., :3].astype(np.float32)
    rgb = bgr[..., ::-1] if channels == "rgb" else bgr   # file's (u, v, strain) in that order
    u, v, s = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([u / 127.5 - 1.0, v / 127.5 - 1.0, s / 255.0]).astype(np.float32)


def load_flow_images(folder, *, csv=None, columns: Mapping[str, str] | None = None, channels: str = "rgb",
                     dataset: str | None = None, fps: float | None = None, mapping="native") -> Corpus:
    """Load a folder of precomputed flow images and its label CSV as a corpus of flow.

    Parameters
    ----------
    folder : path-like
        The folder of images (see :data:`FLOW_IMAGES_LAYOUT`).
    csv : path-like, optional
        The label table (``.csv`` or ``.xlsx``); default the only table in ``folder``.
    columns : dict, optional
        Header names in the CSV for the fields ``dataset``, ``subject``, ``sample``,
        ``label`` and (optional) ``image`` (the image's file name), e.g.
        ``{"sample": "clip_name", "label": "emotion_3class"}``. Unnamed fields are
        recognised from common spellings (:data:`DEFAULT_COLUMNS`).
    channels : {"rgb", "bgr"}
        Channel order of the files (see :func:`read_flow_image`).
    dataset : str, optional
        Dataset name when the CSV has no dataset column (default ``"flow"``).
    fps : float, optional
        Frame rate to record; default the source dataset's when it is recognised
        (casme2, samm, smic ...), else NaN.
    mapping : str or dict
        Class mapping applied to the labels (``"native"`` keeps them, lower-cased).

    Returns
    -------
    Corpus
        ``info["kind"] == "flow"``. ``corpus.cube(uid)`` returns an
        :class:`xarray.DataArray` with dims ``("component", "y", "x")``, coords
        ``component = ["u", "v", "strain"]``, values from :func:`read_flow_image` and the
        usual attrs (dataset, subject, sample, emotion, fps, units, long_name). Onset,
        apex and offset are unknown (missing) and ``n_frames`` is 1.

    Notes
    -----
    The image of a row is the CSV's ``image`` column when present; otherwise the first
    file whose name (without extension) is ``<sample>``, ``<subject>_<sample>``,
    ``<dataset>_<sample>`` or ``<dataset>_<subject>_<sample>``. Rows without an image are
    skipped and listed in ``corpus.issues``.
    """
    check_choice("channels", channels, ["rgb", "bgr"])
    folder = require_root(folder, dataset="flow images", layout=FLOW_IMAGES_LAYOUT)
    if csv is None:
        tables = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))
        if len(tables) != 1:
            raise FileNotFoundError(
                f"flow images: pass csv= (found {len(tables)} tables in {folder}: {[p.name for p in tables]}). "
                f"Expected layout:\n{FLOW_IMAGES_LAYOUT}")
        csv = tables[0]
    csv = Path(os.path.expanduser(str(csv)))
    if not csv.is_absolute() and not csv.exists():
        csv = folder / csv
    aliases = {k: tuple(v) for k, v in DEFAULT_COLUMNS.items()}
    for field, name in (columns or {}).items():
        check_choice("columns key", field, list(DEFAULT_COLUMNS))
        aliases[field] = (norm(name),)
    table, header_row = read_table(csv, required=("sample",), any_of=("label",), aliases=aliases)
    if "label" not in table.columns:
        raise DatasetError(f"{csv}: no label column (header row {header_row}); name it with columns={{'label': ...}}")
    images = {p.stem: p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")}
    images_lower = {k.lower(): v for k, v in images.items()}
    log = IssueLog(dataset or "flow")
    rows = []
    for rec in table.to_dict("records"):
        sample = cell_text(rec.get("sample"))
        ds = _dataset_name(cell_text(rec.get("dataset")) or dataset or "flow")
        subject = cell_text(rec.get("subject")) or sample
        label = cell_text(rec.get("label")).lower()
        if not sample:
            log.add(file=csv, row=rec["_row"], sample="", action="skipped", reason="row has no clip name")
            continue
        path = None
        if cell_text(rec.get("image")):
            cand = folder / cell_text(rec.get("image"))
            path = cand if cand.is_file() else None
        else:
            for stem in (sample, f"{subject}_{sample}", f"{ds}_{sample}", f"{ds}_{subject}_{sample}"):
                path = images.get(stem) or images_lower.get(stem.lower())
                if path is not None:
                    break
        if path is None:
            log.add(file=csv, row=rec["_row"], sample=sample, action="skipped",
                    reason=f"no image for {sample!r} in {folder}"
                           + (f" (named {cell_text(rec.get('image'))!r})" if cell_text(rec.get("image")) else ""))
            continue
        if path.stat().st_size == 0:
            log.add(file=csv, row=rec["_row"], sample=sample, action="skipped",
                    reason=f"flow image is empty (0 bytes): {path}")
            continue
        rate = fps if fps is not None else _KNOWN_FPS.get(norm(ds), float("nan"))
        rows.append({"dataset": ds, "subject": subject, "sample": sample, "emotion": label or "unknown",
                     "onset": None, "apex": None, "offset": None, "n_frames": 1, "fps": rate,
                     "apex_estimated": False, "flags": "", "path": str(path), "first_frame": None,
                     "last_frame": None, "csv_row": rec["_row"]})
    samples = pd.DataFrame(rows)
    if len(samples) and samples.duplicated(["dataset", "sample"]).any():
        # clip names repeat across subjects (CASME II): name samples <subject>/<clip>
        dup = samples.duplicated(["dataset", "sample"], keep=False)
        samples.loc[dup, "sample"] = samples.loc[dup, "subject"] + "/" + samples.loc[dup, "sample"]
    info = {"kind": "flow", "root": str(folder), "csv": str(csv), "channels": channels,
            "scaling": "u, v = p / 127.5 - 1 in [-1, 1]; strain = p / 255 in [0, 1] (relative, not pixels)"}
    return finish_corpus(samples.to_dict("records"), log=log, name=dataset or "flow_images",
                         loader=_flow_loader(channels), info=info, mapping=mapping)


def _dataset_name(text: str) -> str:
    t = text.strip().lower()
    return re.sub(r"[^0-9a-z_]+", "_", t).strip("_") or "flow"


def _flow_loader(channels: str):
    def load(row: pd.Series) -> xr.DataArray:
        data = read_flow_image(row["path"], channels=channels)
        fps = float(row["fps"])
        return xr.DataArray(
            data, dims=("component", "y", "x"),
            coords={"component": ["u", "v", "strain"], "y": np.arange(data.shape[1]), "x": np.arange(data.shape[2])},
            name=row["sample"],
            attrs={"dataset": row["dataset"], "subject": row["subject"], "sample": row["sample"],
                   "emotion": row["emotion"], "onset": None, "apex": None, "offset": None,
                   "fps": fps, "units": "relative (u, v in [-1, 1], strain in [0, 1])",
                   "long_name": "precomputed optical flow and strain", "kind": "flow", "path": row["path"]},
        )

    return load
