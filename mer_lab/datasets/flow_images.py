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
from ._sheets import ALIASES, cell_text, norm, read_rows, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_flow_images", "read_flow_image", "FLOW_IMAGES_LAYOUT", "DEFAULT_COLUMNS", "LABEL_MAPS"]

FLOW_IMAGES_LAYOUT = """\
<folder>/                       a folder of images and one label table:
  <image>.png ...               one per clip; channels R = u, G = v, B = strain, each scaled 0-255
  <labels>.csv                  one row per image: dataset, subject, clip name, label
                                (column names configurable with columns=)
or, the MEGC 2019 leave-one-subject-out folders (no table):
<folder>/<subject>/u_test/<label>/<subject>_<clip>.png
<folder>/<subject>/u_train/<label>/...   (the other subjects' images; not read)"""

#: Named label maps for tables whose labels are integer codes.
LABEL_MAPS: dict[str, dict[int, str]] = {
    # MEGC 2019 composite releases (STSTNet, HTNet...): 0 negative, 1 positive, 2 surprise
    "megc2019": {0: "negative", 1: "positive", 2: "surprise"},
}

# canonical field -> accepted CSV header spellings (compared lower case, letters/digits only)
DEFAULT_COLUMNS = {
    "dataset": ("dataset", "database", "db", "source"),
    "subject": ("subject", "sub", "subjectid", "participant"),
    "sample": ("filename", "filenameo", "clip", "sample", "video", "material", "name", "samplename"),
    "label": ("label", "emotion", "class", "category", "estimatedemotion"),
    "image": ("image", "imagename", "imagefile", "file", "path", "png"),
}
_IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")
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
                     dataset: str | None = None, fps: float | None = None, mapping="native",
                     label_map=None) -> Corpus:
    """Load a folder of precomputed flow images and its labels as a corpus of flow.

    Parameters
    ----------
    folder : path-like
        The folder of images (see :data:`FLOW_IMAGES_LAYOUT`): a flat folder with one
        label table, or the MEGC 2019 leave-one-subject-out tree
        ``<subject>/u_test/<label>/<image>`` (read when the folder holds no table).
    csv : path-like, optional
        The label table (``.csv`` or ``.xlsx``); default the only table in ``folder``.
    columns : dict, optional
        Header names in the CSV for the fields ``dataset``, ``subject``, ``sample``,
        ``label`` and (optional) ``image`` (the image's file name), e.g.
        ``{"sample": "clip_name", "label": "emotion_3class"}``. Unnamed fields are
        recognised from common spellings (:data:`DEFAULT_COLUMNS`, which include the
        MEGC releases' ``sub``, ``filename_o`` and ``imagename``). A name that is not a
        header of the table is an error listing the headers.
    channels : {"rgb", "bgr"}
        Channel order of the files (see :func:`read_flow_image`).
    dataset : str, optional
        Dataset name when the CSV has no dataset column (default ``"flow"``; in the
        leave-one-subject-out tree, guessed from the MEGC subject names: ``subNN``
        CASME II, ``sNN`` SMIC, ``NNN`` SAMM).
    fps : float, optional
        Frame rate to record; default the source dataset's when it is recognised
        (casme2, samm, smic ...), else NaN.
    mapping : str or dict
        Class mapping applied to the labels (``"native"`` keeps them, lower-cased).
    label_map : str or dict, optional
        Translation of label codes to names, applied first: a dict (``{0: "negative",
        1: "positive", 2: "surprise"}``) or a name of :data:`LABEL_MAPS`
        (``"megc2019"``). Codes compare as text, so ``0``, ``"0"`` and ``0.0`` match.
        A code missing from the map is kept as it is and flagged in ``corpus.issues``.

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
    The image of a row is the file the CSV's ``image`` column names; otherwise (or when
    that file does not exist) the first file whose name without extension is
    ``<dataset>_<subject>_<sample>``, ``<subject>_<sample>``, ``<dataset>_<sample>`` or
    ``<sample>``. Two rows given the same image are both flagged. Names match exactly first; failing that, ignoring
    the extension (``.jpg`` named, ``.png`` stored), letter case and spaces around the
    name (``"sub01_EP02_01f .png"``). Every such fuzzy match is listed in
    ``corpus.issues`` (action ``fuzzy match``). Rows without an image are skipped and
    listed there too. Labels that are all integer codes without a ``label_map`` are
    kept as they are, with a note saying so.
    """
    check_choice("channels", channels, ["rgb", "bgr"])
    folder = require_root(folder, dataset="flow images", layout=FLOW_IMAGES_LAYOUT)
    codes = _label_map(label_map)
    log = IssueLog(dataset or "flow")
    if csv is None:
        tables = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".xlsx"))
        subjects = _loso_subjects(folder) if not tables else []
        if subjects:
            if columns:
                raise ValueError("columns= names the columns of a label table, but "
                                 f"{folder} is a leave-one-subject-out tree without one")
            records = _loso_records(subjects, log=log)
            source, layout = None, "loso"
        elif len(tables) != 1:
            raise FileNotFoundError(
                f"flow images: pass csv= (found {len(tables)} tables in {folder}: {[p.name for p in tables]}). "
                f"Expected layout:\n{FLOW_IMAGES_LAYOUT}")
        else:
            csv = tables[0]
    if csv is not None:
        csv = Path(os.path.expanduser(str(csv)))
        if not csv.is_absolute() and not csv.exists():
            csv = folder / csv
        records = _table_records(csv, columns)
        source, layout = csv, "table"
    _note_codes(records, codes, log=log, where=source or folder)
    finder = _ImageFinder(folder)
    rows = []
    for rec in records:
        sample = cell_text(rec.get("sample"))
        ds = _dataset_name(cell_text(rec.get("dataset")) or dataset or rec.get("guessed_dataset") or "flow")
        written = cell_text(rec.get("subject")) or sample
        subject = _subject_name(ds, written)
        where = source if source is not None else rec.get("path")
        row_no = rec.get("_row")
        if not sample:
            log.add(file=where, row=row_no, sample="", action="skipped", reason="row has no clip name")
            continue
        label = cell_text(rec.get("label"))
        if codes is not None and label:
            if label in codes:
                label = codes[label]
            else:
                log.add(file=where, row=row_no, sample=sample, action="kept (flagged)",
                        reason=f"label {label!r} is not in the label map {_show_map(codes)}; kept as it is")
        if rec.get("path") is not None:
            path = Path(rec["path"])
        else:
            named = cell_text(rec.get("image"))
            # most specific first: a bare clip name may belong to another subject's clip
            stems = [f"{ds}_{subject}_{sample}", f"{subject}_{sample}", f"{ds}_{sample}", sample]
            if written != subject:
                stems[2:2] = [f"{ds}_{written}_{sample}", f"{written}_{sample}"]
            path, note = finder.find(named, stems)
            if path is None:
                log.add(file=where, row=row_no, sample=sample, action="skipped",
                        reason=f"no image for {sample!r} in {folder}" + (f" (named {named!r})" if named else ""))
                continue
            if note:
                log.add(file=where, row=row_no, sample=sample, action="fuzzy match", reason=note)
        if path.stat().st_size == 0:
            log.add(file=where, row=row_no, sample=sample, action="skipped",
                    reason=f"flow image is empty (0 bytes): {path}")
            continue
        rate = fps if fps is not None else _KNOWN_FPS.get(norm(ds), float("nan"))
        rows.append({"dataset": ds, "subject": subject, "sample": sample, "emotion": label.lower() or "unknown",
                     "onset": None, "apex": None, "offset": None, "n_frames": 1, "fps": rate,
                     "apex_estimated": False, "flags": "", "path": str(path), "first_frame": None,
                     "last_frame": None, "csv_row": row_no})
    samples = _sample_names(pd.DataFrame(rows), log=log)
    if len(samples):
        shared = samples[samples["path"].duplicated(keep=False)]
        for rec in shared.to_dict("records"):
            log.add(file=source if source is not None else rec["path"], row=rec["csv_row"], sample=rec["sample"],
                    action="kept (flagged)", reason=f"another row uses the same image {rec['path']}")
    info = {"kind": "flow", "root": str(folder), "csv": "" if source is None else str(source), "layout": layout,
            "channels": channels, "label_map": None if codes is None else _show_map(codes),
            "scaling": "u, v = p / 127.5 - 1 in [-1, 1]; strain = p / 255 in [0, 1] (relative, not pixels)"}
    return finish_corpus(samples.to_dict("records"), log=log, name=dataset or "flow_images",
                         loader=_flow_loader(channels), info=info, mapping=mapping)


# --------------------------------------------------------------------------- uids
# Datasets whose clip names repeat across subjects: their loaders name every sample
# <subject>/<clip> (casme2/sub01/EP02_01f), and so does this loader, whatever the table holds.
_SUBJECT_PREFIXED = {"casme2", "casmeii", "casme", "casmesq", "casme2sq"}


def _subject_name(dataset: str, subject: str) -> str:
    """Subjects as the dataset's own loader writes them: CASME/CASME II ``subNN``, SAMM ``NNN``."""
    key = norm(dataset)
    if re.fullmatch(r"\d+", subject):
        if key in ("casme2", "casmeii", "casme"):
            return f"sub{int(subject):02d}"
        if key == "samm":
            return f"{int(subject):03d}"
    return subject


def _sample_names(samples: pd.DataFrame, *, log: IssueLog) -> pd.DataFrame:
    """One naming rule per dataset, so uids match the dataset's own loader.

    CASME, CASME II and CAS(ME)^2 samples are always ``<subject>/<clip>``. Other
    datasets keep their clip names, unless a clip name recurs across subjects in that
    dataset: then all its samples become ``<subject>/<clip>`` (and a note says so).
    """
    if samples.empty:
        return samples
    samples = samples.copy()
    for ds, idx in samples.groupby("dataset").groups.items():
        part = samples.loc[idx]
        clip = part["sample"].astype(str)
        subject = part["subject"].astype(str)
        prefixed = norm(ds) in _SUBJECT_PREFIXED
        if not prefixed:
            names = part.drop_duplicates(["subject", "sample"])["sample"]
            recurring = sorted(set(names[names.duplicated()]))
            if recurring:
                prefixed = True
                log.add(file=None, row=None, sample="", action="noted",
                        reason=f"{ds}: clip names recur across subjects ({', '.join(recurring[:3])}"
                               f"{', ...' if len(recurring) > 3 else ''}): every {ds} sample is named "
                               "<subject>/<clip>")
        if prefixed:
            # already prefixed, or no subject known (it then defaults to the clip name)
            already = [c.startswith(f"{s}/") or c == s for c, s in zip(clip, subject)]
            samples.loc[idx, "sample"] = [c if a else f"{s}/{c}" for c, s, a in zip(clip, subject, already)]
    return samples


# --------------------------------------------------------------------------- reading the labels
def _label_map(label_map) -> dict[str, str] | None:
    """A label map as {code text: class name}; None for no map."""
    if label_map is None:
        return None
    if isinstance(label_map, str):
        check_choice("label_map", label_map, list(LABEL_MAPS))
        label_map = LABEL_MAPS[label_map]
    if not isinstance(label_map, Mapping) or not label_map:
        raise ValueError(f"label_map must be a non-empty dict (code -> class) or one of {list(LABEL_MAPS)}, "
                         f"got {label_map!r}")
    return {cell_text(k): str(v) for k, v in label_map.items()}


def _show_map(codes: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in codes.items()) + "}"


def _note_codes(records, codes, *, log: IssueLog, where) -> None:
    """Say so when every label is an integer code and no label map translates them."""
    if codes is not None:
        return
    labels = sorted({cell_text(r.get("label")) for r in records} - {""})
    if labels and all(re.fullmatch(r"[+-]?\d+", t) for t in labels):
        log.add(file=where, row=None, sample="", action="noted",
                reason=f"the labels are integer codes {labels}, kept as they are; pass label_map= (a dict, "
                       f"or 'megc2019' for 0 negative, 1 positive, 2 surprise) to name the classes")


def _table_records(csv: Path, columns) -> list[dict]:
    aliases = {k: tuple(v) for k, v in DEFAULT_COLUMNS.items()}
    for field, name in (columns or {}).items():
        check_choice("columns key", field, list(DEFAULT_COLUMNS))
        aliases[field] = (norm(name),)
        # the usual spellings of an overridden field name some other column now: park them
        others = set(DEFAULT_COLUMNS[field]) | set(ALIASES.get(field, ()))
        aliases[f"_usual_{field}"] = tuple(sorted(others - {norm(name)}))
    try:
        table, header_row = read_table(csv, required=("sample",), any_of=("label",), aliases=aliases)
    except DatasetError:
        if columns:  # an override that names no header keeps the header row from being found
            rows = read_rows(csv)
            cells = {norm(c) for r in rows[:60] for c in r if c is not None}
            bad = {f: n for f, n in columns.items() if norm(n) not in cells}
            if bad:
                first = next((r for r in rows if any(c is not None for c in r)), [])
                raise DatasetError(_bad_columns(csv, bad, first)) from None
        raise
    if columns:
        header = read_rows(csv)[header_row - 1]
        cells = {norm(c) for c in header if c is not None}
        missing = {f: n for f, n in columns.items() if norm(n) not in cells}
        if missing:
            raise DatasetError(_bad_columns(csv, missing, header))
    if "label" not in table.columns:
        raise DatasetError(f"{csv}: no label column (header row {header_row}); name it with columns={{'label': ...}}")
    return table.to_dict("records")


def _bad_columns(csv, bad: Mapping[str, str], header) -> str:
    names = ", ".join(f"{f!r}: {n!r}" for f, n in bad.items())
    listed = ", ".join(repr(cell_text(c)) for c in header if c is not None)
    return (f"{csv}: columns={{{names}}} names no column of the table; its columns are {listed} "
            f"(fields: {', '.join(DEFAULT_COLUMNS)})")


def _loso_subjects(folder: Path) -> list[Path]:
    """Subject folders holding a ``u_test`` folder (the MEGC leave-one-subject-out tree)."""
    out = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        test = [c for c in d.iterdir() if c.is_dir() and c.name.lower() == "u_test"]
        if test:
            out.append(test[0])
    return out


def _guess_dataset(subject: str) -> str | None:
    """The MEGC 2019 composite's subject naming: subNN CASME II, sNN SMIC, NNN SAMM."""
    s = subject.strip().lower()
    if re.fullmatch(r"sub\d+", s):
        return "casme2"
    if re.fullmatch(r"s\d+", s):
        return "smic"
    if re.fullmatch(r"\d{3}", s):
        return "samm"
    return None


def _loso_records(tests: list[Path], *, log: IssueLog) -> list[dict]:
    """One record per image of each subject's ``u_test/<label>/`` folder."""
    records = []
    for test in tests:
        subject = test.parent.name.strip()
        labels = sorted(p for p in test.iterdir() if p.is_dir())
        if not labels:
            log.add(file=test, row=None, sample="", action="noted",
                    reason=f"subject {subject!r}: {test} holds no label folders")
        for label_dir in labels:
            for img in sorted(p for p in label_dir.iterdir()
                              if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES):
                stem = img.stem.strip()
                prefix = subject.lower() + "_"
                clip = stem[len(prefix):] if stem.lower().startswith(prefix) else stem
                records.append({"subject": subject, "sample": clip, "label": label_dir.name.strip(),
                                "path": str(img), "guessed_dataset": _guess_dataset(subject), "_row": None})
    return records


# --------------------------------------------------------------------------- finding the images
def _key(stem: str) -> str:
    return stem.strip().lower()


class _ImageFinder:
    """Image files of a folder, found by exact name or tolerant of extension, case and spaces."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._index: dict[Path, tuple[dict, dict]] = {}

    def _files(self, folder: Path):
        if folder not in self._index:
            exact, fuzzy = {}, {}
            if folder.is_dir():
                for p in sorted(folder.iterdir()):
                    if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES:
                        exact[p.stem] = exact.get(p.stem, p)
                        fuzzy.setdefault(_key(p.stem), []).append(p)
            self._index[folder] = (exact, fuzzy)
        return self._index[folder]

    def find(self, named: str, stems: list[str]) -> tuple[Path | None, str]:
        """(path, note): the note describes a fuzzy match ('' for an exact one)."""
        if named:
            cand = self.folder / named
            if cand.is_file():
                return cand, ""
            rel = Path(named.strip())
            _exact, fuzzy = self._files(self.folder / rel.parent)
            found = self._pick(fuzzy.get(_key(rel.stem if rel.suffix.lower() in _IMAGE_SUFFIXES else rel.name), []),
                               rel.suffix)
            if found is not None:
                return found, (f"the table names {named!r}, which is not in {found.parent}; using "
                               f"{found.name!r} ({_differences(named.strip(), found.name)})")
        exact, fuzzy = self._files(self.folder)
        for stem in stems:
            if stem in exact:
                path = exact[stem]
                return path, (f"the table names {named!r}, which is not in {self.folder}; using {path.name!r}, "
                              f"named after the clip" if named else "")
        for stem in stems:
            found = self._pick(fuzzy.get(_key(stem), []), "")
            if found is not None:
                what = f"the table names {named!r}, which is not in {self.folder}; using" if named else "using"
                return found, (f"{what} {found.name!r} for the expected name {stem + '.png'!r} "
                               f"({_differences(stem, found.stem)})")
        return None, ""

    @staticmethod
    def _pick(paths: list[Path], suffix: str) -> Path | None:
        if not paths:
            return None
        same = [p for p in paths if p.suffix.lower() == suffix.lower()]
        pngs = [p for p in paths if p.suffix.lower() == ".png"]
        return (same or pngs or paths)[0]


def _differences(named: str, found: str) -> str:
    """How a found file name differs from the one asked for (extension, case, spaces)."""
    a, b = Path(named), Path(found)
    has_ext = a.suffix.lower() in _IMAGE_SUFFIXES
    a_stem = a.stem if has_ext else a.name
    parts = []
    if has_ext and a.suffix.lower() != b.suffix.lower():
        parts.append(f"extension {a.suffix} -> {b.suffix}")
    elif has_ext and a.suffix != b.suffix:
        parts.append("letter case of the extension")
    if a_stem.strip() != a_stem or b.stem.strip() != b.stem:
        parts.append("spaces around the name")
    if a_stem.strip() != b.stem.strip():
        parts.append("letter case")
    return ", ".join(parts) or "same name"


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
