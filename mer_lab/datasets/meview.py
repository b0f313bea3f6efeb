"""MEVIEW (Husak et al., 2017): micro-expressions in the wild (poker games, TV interviews), 25 fps.

No public loader documents how the MEVIEW release is laid out, so mer_lab defines the
layout it reads (:data:`MEVIEW_LAYOUT`): clip folders or video files plus one label
table. Arrange a copy this way (or write the label table for it) to use it.
"""

from __future__ import annotations

from pathlib import Path

from .._validate import check_choice
from ._clips import (
    SPANS, VIDEO_SUFFIXES, IssueLog, _walk, clip_sample, finish_corpus, frame_loader, pick_file, require_root,
)
from ._sheets import cell_text, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_meview", "MEVIEW_LAYOUT", "MEVIEW_EMOTIONS"]

MEVIEW_FPS = 25.0
MEVIEW_EMOTIONS = ("anger", "contempt", "fear", "happiness", "surprise", "disgust", "sadness", "unclear")
MEVIEW_LAYOUT = """\
<root>/                          (layout defined by mer_lab; see docs/datasets.md)
  MEVIEW_labels.csv  or  .xlsx   (any name containing 'label', 'meview' or 'annotation'; header
                                  found by content: Subject, Filename, Onset, Apex, Offset,
                                  Action Units, Emotion; frame numbers as in the clip: the numbers
                                  in the frame file names, or 0-based indices for videos)
  clips/<Filename>/<frames>      (a frame folder: frame0001.png ...)
  clips/<Filename>.mp4 | .avi    (or a video file; anywhere below <root>, 3 folders deep)"""


def load_meview(root, *, labels_file=None, span: str = "expression", grey: bool = True, mapping="native") -> Corpus:
    """Load MEVIEW arranged in mer_lab's documented layout.

    Parameters
    ----------
    root : path-like
        Folder holding the label table and the clips (see :data:`MEVIEW_LAYOUT`).
    labels_file : path-like, optional
        The label table; default the first ``*label*``/``*meview*``/``*annotation*``
        ``.csv``/``.xlsx`` under ``root``.
    span : {"expression", "folder"}
        Frames a cube holds: onset..offset (default) or the whole clip.
    grey : bool
        Read frames as grey levels.
    mapping : str or dict
        ``"native"`` or a mapping.

    Returns
    -------
    Corpus
        Dataset ``"meview"``, samples named by Filename; extra column ``action_units``.

    References
    ----------
    P. Husak, J. Cech, J. Matas, "Spotting facial micro-expressions 'in the wild'",
    22nd Computer Vision Winter Workshop (CVWW), 2017.
    """
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="MEVIEW", layout=MEVIEW_LAYOUT)
    log = IssueLog("meview")
    sheet = pick_file(root, labels_file, ("*label*.csv", "*label*.xlsx", "*meview*.csv", "*meview*.xlsx",
                                          "*annotation*.csv", "*annotation*.xlsx"),
                      what="label table", dataset="MEVIEW", layout=MEVIEW_LAYOUT, log=log, option="labels_file")
    table, header_row = read_table(sheet, required=("filename",), any_of=("onset", "emotion"))
    if "emotion" not in table.columns:
        raise DatasetError(f"{sheet}: the header (row {header_row}) has no Emotion column")
    index: dict[str, Path] = {}
    for folder, _ in _walk(root, 3):
        if folder == root:
            continue
        index.setdefault(folder.name, folder)
        for p in folder.iterdir():
            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
                index.setdefault(p.stem, p)
    for p in root.iterdir():
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
            index.setdefault(p.stem, p)
    rows = []
    for rec in table.to_dict("records"):
        clip = cell_text(rec.get("filename"))
        if not clip:
            log.add(file=sheet, row=rec["_row"], sample="", action="skipped", reason="row has no Filename")
            continue
        subject = cell_text(rec.get("subject")) or clip
        row = clip_sample(
            log=log, dataset="meview", subject=subject, sample=clip, emotion=rec.get("emotion"),
            folder=index.get(clip), onset=rec.get("onset"), apex=rec.get("apex"), offset=rec.get("offset"),
            fps=MEVIEW_FPS, file=sheet, row=rec["_row"], known_emotions=MEVIEW_EMOTIONS, span=span,
            looked=f"a folder or video named {clip!r} under {root}",
            extra={"action_units": cell_text(rec.get("action_units")), "sheet_row": rec["_row"]},
        )
        if row is not None:
            rows.append(row)
    info = {"kind": "frames", "root": str(root), "labels_file": str(sheet), "span": span, "fps": MEVIEW_FPS,
            "layout": "defined by mer_lab (see docs/datasets.md)"}
    return finish_corpus(rows, log=log, name="meview", loader=frame_loader(span=span, grey=grey), info=info,
                         mapping=mapping)
