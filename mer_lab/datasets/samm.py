"""SAMM (Davison et al., 2018): 32 subjects, 200 fps, 2040x1088 grey frames; and SAMM long videos."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .._validate import check_choice
from ._clips import (
    SPANS, IssueLog, clip_sample, describe_gaps, find_dirs, finish_corpus, frame_gaps, frame_loader, pick_file,
    repair_keyframes, require_root, unlisted_folders,
)
from ._sheets import cell_text, parse_int, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_samm", "load_samm_long", "SAMM_LAYOUT", "SAMM_LONG_LAYOUT", "SAMM_EMOTIONS"]

SAMM_FPS = 200.0
SAMM_EMOTIONS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other", "others")
SAMM_LAYOUT = """\
<root>/
  SAMM_Micro_FACS_Codes_v2.xlsx      (about 13 rows of title and notes; header on row 14:
                                      Subject, Filename, Inducement Code, Onset Frame, Apex Frame,
                                      Offset Frame, Duration, Micro, Action Units, Estimated Emotion,
                                      Objective Classes, Notes)
  SAMM/006/006_1_2/006_05562.jpg ...  (subject folders 3 digits; frame numbers 4 or 5 digits)"""
SAMM_LONG_LAYOUT = """\
<root>/
  SAMM_LongVideos_V2_Release.xlsx    (about 10 rows of notes, then the header: Subject, Filename,
                                      Inducement Code, Onset, Apex, Offset, Duration, Type,
                                      Action Units, Notes; Type 'Micro - 1/2' or 'Macro')
  SAMM_longvideos/006_1/006_1_0001.jpg ...  (one folder per long video, named <subject>_<n>)"""

_SHEETS = ("SAMM_Micro_FACS_Codes*.xlsx", "SAMM*Micro_FACS*.xlsx", "*Micro_FACS_Codes*.xlsx", "SAMM*FACS*.csv")


def load_samm(root, *, metadata_file=None, span: str = "expression", grey: bool = True, mapping="native") -> Corpus:
    """Load SAMM as distributed by its owners.

    Parameters
    ----------
    root : path-like
        Folder holding the FACS-codes sheet and the ``SAMM/`` frame tree (see
        :data:`SAMM_LAYOUT`); the subject folders may also sit directly in ``root``.
    metadata_file : path-like, optional
        The sheet; default ``SAMM_Micro_FACS_Codes*.xlsx`` under ``root``.
    span : {"expression", "folder"}
        Frames a cube holds: onset..offset (default) or the whole clip folder.
    grey : bool
        SAMM is grey already; ``False`` reads 3 identical channels.
    mapping : str or dict
        ``"native"`` (8 emotions, lower case), ``"samm_5"``, ``"megc2019"`` or a dict.

    Returns
    -------
    Corpus
        Dataset ``"samm"``, samples named by the sheet's Filename (``"006_1_2"``), subjects
        ``"006"``. Extra columns: ``path``, ``first_frame``, ``last_frame``,
        ``action_units``, ``objective_class``, ``inducement_code``, ``notes``, ``sheet_row``.

    Notes
    -----
    The header is found by its content (the row holding ``Subject`` and ``Filename``), not
    at a fixed row. Frame numbers are parsed from the file names whatever their padding
    (``006_0217.jpg``, ``006_05588.jpg``) and sorted numerically. A missing apex becomes
    the middle frame (``apex_estimated``); an offset past the last frame present (the
    value differs between versions of the sheet) becomes the last frame present.

    References
    ----------
    A. K. Davison, C. Lansley, N. Costen, K. Tan, M. H. Yap, "SAMM: A spontaneous
    micro-facial movement dataset", IEEE Trans. Affective Computing 9(1):116-129, 2018.
    https://doi.org/10.1109/TAFFC.2016.2573832
    """
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="SAMM", layout=SAMM_LAYOUT)
    log = IssueLog("samm")
    sheet = pick_file(root, metadata_file, _SHEETS, what="FACS-codes sheet", dataset="SAMM", layout=SAMM_LAYOUT,
                      exclude=("*longvideo*",), log=log, option="metadata_file")
    table, header_row = read_table(sheet, required=("subject",), any_of=("filename", "onset"))
    _require_columns(table, sheet, header_row, ("subject", "filename", "onset", "offset"))
    base = _frame_base(root)
    rows, used = [], []
    for rec in table.to_dict("records"):
        clip = cell_text(rec.get("filename"))
        subj = _subject(rec.get("subject"), clip)
        if not clip or subj is None:
            log.add(file=sheet, row=rec["_row"], sample=clip, action="skipped",
                    reason=f"row has no usable Subject/Filename ({rec.get('subject')!r}, {rec.get('filename')!r})")
            continue
        folder = base / subj / clip
        used.append(str(folder))
        row = clip_sample(
            log=log, dataset="samm", subject=subj, sample=clip, emotion=rec.get("emotion"), folder=folder,
            onset=rec.get("onset"), apex=rec.get("apex"), offset=rec.get("offset"), fps=SAMM_FPS, file=sheet,
            row=rec["_row"], known_emotions=SAMM_EMOTIONS, span=span,
            extra={"action_units": cell_text(rec.get("action_units")),
                   "objective_class": cell_text(rec.get("objective_class")),
                   "inducement_code": cell_text(rec.get("inducement_code")),
                   "notes": cell_text(rec.get("notes")), "sheet_row": rec["_row"]},
        )
        if row is not None:
            rows.append(row)
    present = [c for s in base.iterdir() if s.is_dir() and re.fullmatch(r"\d{3}", s.name)
               for c in s.iterdir() if c.is_dir()]
    unlisted_folders(log, found=present, used=used, file=sheet, with_parent=False)
    info = {"kind": "frames", "root": str(root), "metadata_file": str(sheet), "header_row": header_row,
            "frame_dir": str(base), "span": span, "fps": SAMM_FPS}
    return finish_corpus(rows, log=log, name="samm", loader=frame_loader(span=span, grey=grey), info=info,
                         mapping=mapping)


def _require_columns(table, sheet, header_row, needed):
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DatasetError(f"{sheet}: the header (row {header_row}) lacks the columns {missing}; "
                           f"found {[c for c in table.columns if not c.startswith('_')]}")


def _frame_base(root: Path) -> Path:
    """The folder whose children are the 3-digit subject folders."""
    for cand in [*find_dirs(root, ["SAMM"], depth=2), root, *find_dirs(root, ["*"], depth=1)]:
        if cand.is_dir() and any(p.is_dir() and re.fullmatch(r"\d{3}", p.name) for p in cand.iterdir()):
            return cand
    raise FileNotFoundError(f"SAMM: no folder of 3-digit subject folders (006/, 007/, ...) under {root}. "
                            f"Expected layout:\n{SAMM_LAYOUT}")


def _subject(value, clip: str) -> str | None:
    n = parse_int(value)
    if n is None:
        m = re.match(r"(\d+)", str(value or "").strip()) or re.match(r"(\d+)_", clip)
        n = int(m.group(1)) if m else None
    return None if n is None else f"{n:03d}"


# --------------------------------------------------------------------------- long videos
def load_samm_long(root, *, metadata_file=None, grey: bool = True) -> Corpus:
    """List SAMM long videos with their annotated micro- and macro-expression intervals (spotting).

    Parameters
    ----------
    root : path-like
        Folder with ``SAMM_LongVideos_V*_Release.xlsx`` and the video frame folders (see
        :data:`SAMM_LONG_LAYOUT`).
    metadata_file : path-like, optional
        The release sheet; default found under ``root``.
    grey : bool
        Read frames as grey levels.

    Returns
    -------
    Corpus
        One row per long video (dataset ``"samm_long"``, sample ``"006_1"``, emotion and
        label ``"long_video"``, onset/offset = first/last frame, apex missing) with columns
        ``n_micro`` and ``n_macro``. ``corpus.info["intervals"]`` is a DataFrame of every
        annotated interval: ``uid, subject, video, name, type ("micro"/"macro"), onset, apex,
        offset, apex_estimated, action_units, flags, sheet_row``. ``corpus.cube(uid)`` reads
        the whole video (memory: frames x 2040 x 1088 bytes).

    References
    ----------
    C. H. Yap, C. Kendrick, M. H. Yap, "SAMM Long Videos: A spontaneous facial micro- and
    macro-expressions dataset", IEEE FG 2020.
    """
    root = require_root(root, dataset="SAMM long videos", layout=SAMM_LONG_LAYOUT)
    log = IssueLog("samm_long")
    sheet = pick_file(root, metadata_file, ("SAMM_LongVideos*.xlsx", "*LongVideos*.xlsx", "*longvideos*.csv"),
                      what="long-video sheet", dataset="SAMM long videos", layout=SAMM_LONG_LAYOUT, log=log,
                      option="metadata_file")
    table, header_row = read_table(sheet, required=("subject",), any_of=("filename", "onset"))
    _require_columns(table, sheet, header_row, ("filename", "onset", "offset"))
    folders = {}
    for cand in find_dirs(root, ["*"], depth=3):
        if re.fullmatch(r"\d{3}_\d+", cand.name):
            folders.setdefault(cand.name, cand)
    videos: dict[str, dict] = {}
    intervals = []
    for rec in table.to_dict("records"):
        name = cell_text(rec.get("filename"))
        m = re.match(r"(\d{3})_(\d+)", name)
        if not m:
            log.add(file=sheet, row=rec["_row"], sample=name, action="skipped",
                    reason=f"Filename {name!r} does not look like <subject>_<video>_<n>")
            continue
        video = f"{m.group(1)}_{m.group(2)}"
        folder = folders.get(video)
        if folder is None:
            log.add(file=sheet, row=rec["_row"], sample=video, action="skipped",
                    reason=f"long-video folder {video}/ not found under {root}")
            continue
        if video not in videos:
            from ..cube import list_frames

            try:
                numbers = [n for n, _ in list_frames(folder)]
            except ValueError as exc:
                log.add(file=sheet, row=rec["_row"], sample=video, action="skipped", reason=str(exc))
                continue
            if not numbers:
                log.add(file=sheet, row=rec["_row"], sample=video, action="skipped", reason=f"no frames in {folder}")
                continue
            videos[video] = {"folder": folder, "numbers": numbers, "subject": m.group(1)}
            gaps = frame_gaps(numbers)
            if gaps:
                log.add(file=folder, row=None, sample=video, action="frame gap",
                        reason=f"{sum(b - a + 1 for a, b in gaps)} frame number(s) missing in {folder} "
                               f"({numbers[0]}..{numbers[-1]}): {describe_gaps(gaps)}")
        numbers = videos[video]["numbers"]
        kind = "macro" if "macro" in cell_text(rec.get("type")).lower() else "micro"
        on, ap, off, est, notes = repair_keyframes(numbers, rec.get("onset"), rec.get("apex"), rec.get("offset"),
                                                   typical_length=int(SAMM_FPS // 2 if kind == "micro" else SAMM_FPS * 2))
        for note in notes:
            log.add(file=sheet, row=rec["_row"], sample=name,
                    action="apex estimated" if note.startswith("apex") else "repaired", reason=note)
        intervals.append({"uid": f"samm_long/{video}", "subject": m.group(1), "video": video, "name": name,
                          "type": kind, "onset": on, "apex": ap, "offset": off, "apex_estimated": est,
                          "action_units": cell_text(rec.get("action_units")), "flags": "; ".join(notes),
                          "sheet_row": rec["_row"]})
    ivals = pd.DataFrame(intervals, columns=["uid", "subject", "video", "name", "type", "onset", "apex", "offset",
                                             "apex_estimated", "action_units", "flags", "sheet_row"])
    rows = []
    for video, v in sorted(videos.items()):
        sel = ivals[ivals["video"] == video]
        nums = v["numbers"]
        rows.append({"dataset": "samm_long", "subject": v["subject"], "sample": video, "emotion": "long_video",
                     "onset": nums[0], "apex": None, "offset": nums[-1], "n_frames": len(nums), "fps": SAMM_FPS,
                     "apex_estimated": False, "flags": "", "path": str(v["folder"]), "first_frame": nums[0],
                     "last_frame": nums[-1], "n_micro": int((sel["type"] == "micro").sum()),
                     "n_macro": int((sel["type"] == "macro").sum())})
    info = {"kind": "long_video", "root": str(root), "metadata_file": str(sheet), "intervals": ivals,
            "fps": SAMM_FPS}
    return finish_corpus(rows, log=log, name="samm_long", loader=frame_loader(span="folder", grey=grey), info=info)
