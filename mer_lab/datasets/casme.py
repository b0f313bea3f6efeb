"""CASME (Yan et al., 2013): sections A (1280x720) and B (640x480), 60 fps, 8 emotions."""

from __future__ import annotations

import re
from pathlib import Path

from .._validate import check_choice
from ._clips import (
    SPANS, IssueLog, _looks_like_backup, clip_sample, find_dirs, find_files, finish_corpus, frame_loader, require_root,
    unlisted_folders,
)
from ._sheets import cell_text, parse_int, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_casme", "CASME_LAYOUT", "CASME_EMOTIONS"]

CASME_FPS = 60.0
CASME_EMOTIONS = ("contempt", "disgust", "fear", "happiness", "repression", "tense", "sadness", "surprise")
CASME_LAYOUT = """\
<root>/
  CASME_A/Section A/sub01/EP01_6/<frames>      (note the space in "Section A")
  CASME_B/Section B/sub08/EP01_2/<frames>
  <coding sheet>.xlsx   (one or more: Subject, Filename, (blank), OnsetF, ApexF1, ApexF2,
                         OffsetF, ..., Emotion)"""


def load_casme(root, *, section: str = "both", coding_file=None, span: str = "expression", grey: bool = True,
               mapping="native") -> Corpus:
    """Load CASME (sections A and B) as distributed by its owners.

    Parameters
    ----------
    root : path-like
        Folder holding ``CASME_A/Section A`` and ``CASME_B/Section B`` and the coding
        sheet(s) (see :data:`CASME_LAYOUT`).
    section : {"both", "A", "B"}
        Which section's clips to keep (A: 7 subjects, 1280x720; B: 12 subjects, 640x480).
    coding_file : path-like or list, optional
        Coding sheet(s); default every ``*.xlsx`` under ``root`` whose header holds
        ``Subject`` and ``OnsetF``.
    span : {"expression", "folder"}
        Frames a cube holds: onset..offset (default) or the whole clip folder.
    grey : bool
        Read frames as grey levels.
    mapping : str or dict
        ``"native"`` (8 emotions) or another mapping.

    Returns
    -------
    Corpus
        Dataset ``"casme"``, samples ``"subNN/<clip>"``; extra columns ``section``,
        ``clip``, ``apex2`` (the sheet's second apex column), ``action_units``, ``sheet_row``.

    Notes
    -----
    The sheet has two apex columns: ``ApexF1`` is used; when it is blank ``ApexF2`` is
    used instead (flagged); when both are blank the apex is the middle frame. Several
    rows carry known onset/offset errors: offsets outside the frames present are repaired
    to the last frame present and flagged. Only 189 of the 195 clips have a sheet row:
    the clip folders without one are listed in ``corpus.issues`` (action ``not in sheet``).

    References
    ----------
    W.-J. Yan, Q. Wu, Y.-J. Liu, S.-J. Wang, X. Fu, "CASME database: A dataset of
    spontaneous micro-expressions collected from neutralized faces", IEEE FG 2013.
    https://doi.org/10.1109/FG.2013.6553799
    """
    check_choice("section", section, ["both", "A", "B"])
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="CASME", layout=CASME_LAYOUT)
    sections = {}
    for sec in ("A", "B"):
        found = find_dirs(root, [f"Section {sec}", f"Section_{sec}", f"Section{sec}"], depth=3)
        if found:
            sections[sec] = found[0]
    if not sections:
        raise FileNotFoundError(f"CASME: no 'Section A' or 'Section B' folder under {root}. Expected layout:\n{CASME_LAYOUT}")
    if coding_file is not None:
        sheets = [Path(p) for p in (coding_file if isinstance(coding_file, (list, tuple)) else [coding_file])]
        sheets = [p if p.is_absolute() or p.exists() else root / p for p in sheets]
        for p in sheets:
            if not p.is_file():
                raise FileNotFoundError(f"CASME: coding file not found: {p}")
    else:
        sheets = find_files(root, ["*.xlsx", "*.csv"], depth=2)
    tables = []
    for p in sheets:
        try:
            table, _ = read_table(p, required=("subject",), any_of=("onset",))
        except DatasetError:
            if coding_file is not None:
                raise
            continue
        tables.append((p, table))
    if not tables:
        raise FileNotFoundError(f"CASME: no coding sheet (an .xlsx whose header holds Subject and OnsetF) under {root}. "
                                f"Expected layout:\n{CASME_LAYOUT}")
    log = IssueLog("casme")
    if coding_file is None and len(tables) > 1:
        originals = [(p, t) for p, t in tables if not _looks_like_backup(p)]
        if originals and len(originals) < len(tables):
            skipped = [str(p) for p, _ in tables if _looks_like_backup(p)]
            log.add(file=originals[0][0], row=None, sample="", action="chose file",
                    reason=f"coding sheets {', '.join(skipped)} look like backup copies (copy, backup, bak, old, "
                           f"(1) in the name): not read; pass coding_file= to read them")
            tables = originals
        if len(tables) > 1:
            log.add(file=tables[0][0], row=None, sample="", action="chose file",
                    reason=f"{len(tables)} coding sheets read: {', '.join(str(p) for p, _ in tables)}; a clip named "
                           f"in more than one is loaded once (pass coding_file= to read one)")
    subject_dirs = {}
    for sec, d in sections.items():
        for s in d.iterdir():
            m = re.fullmatch(r"sub(\d+)", s.name.lower())
            if s.is_dir() and m:
                subject_dirs[int(m.group(1))] = (sec, s)
    rows, used = [], []
    for sheet, table in tables:
        for rec in table.to_dict("records"):
            clip = cell_text(rec.get("filename"))
            num = parse_int(rec.get("subject"))
            if num is None:
                m = re.search(r"(\d+)", str(rec.get("subject") or ""))
                num = int(m.group(1)) if m else None
            if not clip or num is None:
                log.add(file=sheet, row=rec["_row"], sample=clip, action="skipped",
                        reason=f"row has no usable Subject/Filename ({rec.get('subject')!r}, {rec.get('filename')!r})")
                continue
            subject = f"sub{num:02d}"
            sec, sdir = subject_dirs.get(num, (None, None))
            folder = sdir / clip if sdir is not None else None
            if folder is not None:
                used.append(str(folder))
            if section != "both" and sec != section:
                continue
            apex, apex2 = rec.get("apex"), rec.get("apex2")
            extra_flag = None
            if parse_int(apex) is None and parse_int(apex2) is not None:
                extra_flag = f"ApexF1 blank: ApexF2 ({parse_int(apex2)}) used as the apex"
                apex = apex2
            row = clip_sample(
                log=log, dataset="casme", subject=subject, sample=f"{subject}/{clip}", emotion=rec.get("emotion"),
                folder=folder, onset=rec.get("onset"), apex=apex, offset=rec.get("offset"), fps=CASME_FPS, file=sheet,
                row=rec["_row"], known_emotions=CASME_EMOTIONS, span=span,
                looked=f"sub{num:02d}/{clip} in " + " and ".join(str(d) for d in sections.values()),
                extra={"section": sec, "clip": clip, "apex2": parse_int(apex2),
                       "action_units": cell_text(rec.get("action_units")), "sheet_row": rec["_row"]},
            )
            if row is None:
                continue
            if extra_flag:
                log.add(file=sheet, row=rec["_row"], sample=row["sample"], action="repaired", reason=extra_flag)
                row["flags"] = "; ".join(f for f in (extra_flag, row["flags"]) if f)
            rows.append(row)
    present = [c for sec, s in subject_dirs.values() if section in ("both", sec) for c in s.iterdir() if c.is_dir()]
    unlisted_folders(log, found=present, used=used, file=tables[0][0] if len(tables) == 1 else None)
    info = {"kind": "frames", "root": str(root), "coding_files": [str(p) for p, _ in tables], "section": section,
            "span": span, "fps": CASME_FPS, "resolution": {"A": "1280x720", "B": "640x480"}}
    for r in rows:
        r["apex2"] = r["apex2"] if r["apex2"] is not None else float("nan")
    return finish_corpus(rows, log=log, name="casme", loader=frame_loader(span=span, grey=grey), info=info,
                         mapping=mapping)
