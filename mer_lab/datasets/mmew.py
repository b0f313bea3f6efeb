"""MMEW (Ben et al., 2021): micro-expression clips filed by emotion, 90 fps."""

from __future__ import annotations

from .._validate import check_choice
from ._clips import SPANS, IssueLog, clip_sample, find_dirs, finish_corpus, frame_loader, pick_file, require_root, unlisted_folders
from ._sheets import cell_text, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_mmew", "MMEW_LAYOUT", "MMEW_EMOTIONS"]

MMEW_FPS = 90.0
MMEW_EMOTIONS = ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others")
MMEW_LAYOUT = """\
<root>/
  MMEW_Micro_Exp.xlsx     (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units,
                           Estimated Emotion, remarks)
  Micro_Expression/<emotion>/S01-01-001/1.jpg ..."""


def load_mmew(root, *, metadata_file=None, span: str = "expression", grey: bool = True, mapping="native") -> Corpus:
    """Load the micro-expression part of MMEW.

    Parameters
    ----------
    root : path-like
        Folder holding ``MMEW_Micro_Exp.xlsx`` and ``Micro_Expression/`` (see :data:`MMEW_LAYOUT`).
    metadata_file : path-like, optional
        Default ``MMEW_Micro_Exp*.xlsx`` under ``root``.
    span : {"expression", "folder"}
        Frames a cube holds: onset..offset (default) or the whole clip folder.
    grey : bool
        Read frames as grey levels.
    mapping : str or dict
        ``"native"`` (7 emotions, lower case) or a mapping.

    Returns
    -------
    Corpus
        Dataset ``"mmew"``, samples named by Filename; extra columns ``action_units``,
        ``remarks``, ``sheet_row``.

    Notes
    -----
    Clip folders sit under their emotion folder; the loader indexes every
    ``Micro_Expression/<emotion>/<clip>`` once and finds each sheet row's clip there, so
    a clip filed under another emotion than the sheet's is still found (and flagged). A
    clip folder found under two emotion folders is not loaded (issue ``refused``).
    Frames are named ``1.jpg``, ``2.jpg``, ... and sorted numerically.

    References
    ----------
    X. Ben, Y. Ren, J. Zhang, S.-J. Wang, K. Kpalma, W. Meng, Y.-J. Liu, "Video-based
    facial micro-expression analysis: A survey of datasets, features and algorithms",
    IEEE Trans. Pattern Analysis and Machine Intelligence, 2021.
    """
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="MMEW", layout=MMEW_LAYOUT)
    log = IssueLog("mmew")
    sheet = pick_file(root, metadata_file, ("MMEW_Micro_Exp*.xlsx", "MMEW*Micro*.xlsx", "MMEW*micro*.csv"),
                      what="metadata sheet", dataset="MMEW", layout=MMEW_LAYOUT, log=log, option="metadata_file")
    table, header_row = read_table(sheet, required=("subject",), any_of=("filename", "onset"))
    if "filename" not in table.columns:
        raise DatasetError(f"{sheet}: the header (row {header_row}) has no Filename column")
    bases = find_dirs(root, ["Micro_Expression", "Micro-Expression", "MicroExpression"], depth=2)
    if not bases:
        raise FileNotFoundError(f"MMEW: no Micro_Expression/ folder under {root}. Expected layout:\n{MMEW_LAYOUT}")
    index, homes = {}, {}
    for emo_dir in sorted(d for d in bases[0].iterdir() if d.is_dir()):
        for clip in sorted(d for d in emo_dir.iterdir() if d.is_dir()):
            index.setdefault(clip.name, clip)
            homes.setdefault(clip.name, []).append(clip)
    twice = {name: places for name, places in homes.items() if len(places) > 1}
    rows, used = [], []
    for rec in table.to_dict("records"):
        clip = cell_text(rec.get("filename"))
        subject = cell_text(rec.get("subject"))
        if not clip:
            log.add(file=sheet, row=rec["_row"], sample="", action="skipped", reason="row has no Filename")
            continue
        folder = index.get(clip)
        if clip in twice:  # which copy holds the clip's frames is unknown: never pick one silently
            used.extend(str(p) for p in twice[clip])
            log.add(file=sheet, row=rec["_row"], sample=clip, action="refused",
                    reason=f"the clip folder {clip} is under {len(twice[clip])} emotion folders "
                           f"({', '.join(str(p) for p in twice[clip])}): not loaded; keep one copy")
            continue
        if folder is not None:
            used.append(str(folder))
        row = clip_sample(
            log=log, dataset="mmew", subject=subject or clip.split("-")[0], sample=clip, emotion=rec.get("emotion"),
            folder=folder, onset=rec.get("onset"), apex=rec.get("apex"), offset=rec.get("offset"), fps=MMEW_FPS,
            file=sheet, row=rec["_row"], known_emotions=MMEW_EMOTIONS, span=span,
            looked=f"{bases[0]}/<emotion>/{clip}",
            extra={"action_units": cell_text(rec.get("action_units")), "remarks": cell_text(rec.get("notes")),
                   "sheet_row": rec["_row"]},
        )
        if row is None:
            continue
        if folder.parent.name.lower() != row["emotion"]:
            why = f"clip filed under {folder.parent.name!r} but the sheet says {row['emotion']!r}: the sheet is kept"
            log.add(file=sheet, row=rec["_row"], sample=clip, action="kept (flagged)", reason=why)
            row["flags"] = "; ".join(f for f in (row["flags"], why) if f)
        rows.append(row)
    unlisted_folders(log, found=index.values(), used=used, file=sheet, with_parent=False)
    info = {"kind": "frames", "root": str(root), "metadata_file": str(sheet), "span": span, "fps": MMEW_FPS}
    return finish_corpus(rows, log=log, name="mmew", loader=frame_loader(span=span, grey=grey), info=info,
                         mapping=mapping)
