"""CAS(ME)^2 (Qu et al., 2018): long videos at 30 fps; part A for spotting, part B = 57 ME clips."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .._validate import check_choice, check_int
from ..cube import list_frames
from ._clips import (
    SPANS, IssueLog, clip_sample, describe_gaps, find_dirs, finish_corpus, frame_gaps, frame_loader, pick_file,
    repair_keyframes, require_root,
)
from ._sheets import cell_text, norm, parse_int, read_rows, sheet_names
from .corpus import Corpus, DatasetError

__all__ = ["load_casme_sq", "CASME_SQ_LAYOUT", "CASME_SQ_EMOTIONS"]

CASME_SQ_FPS = 30.0
CASME_SQ_EMOTIONS = ("positive", "negative", "surprise", "others", "other")
CASME_SQ_LAYOUT = """\
<root>/
  CAS(ME)^2code_final.xlsx   sheet 0 (any name, NO header): participant, <stimulus>_<n>, onset, apex,
                             offset (0 = missing), AUs, emotion, type (micro-/macro-expression),
                             self-reported emotion;
                             sheet 'naming rule1': folder number -> participant;
                             sheet 'naming rule2': stimulus code ('0101') -> stimulus name
  rawpic/s15/15_0101disgustingteeth/img1.jpg ...     (frames="raw")
  cropped/s15/15_0101disgustingteeth/img1.jpg ...    (frames="cropped")"""


def load_casme_sq(root, *, part: str = "B", frames: str = "raw", code_file=None, span: str = "expression",
                  grey: bool = True, mapping="native", typical_length: int = 15) -> Corpus:
    """Load CAS(ME)^2: part B (micro-expression clips) or part A (long videos with intervals).

    Parameters
    ----------
    root : path-like
        Folder holding the code file and ``rawpic/`` (and/or ``cropped/``); see
        :data:`CASME_SQ_LAYOUT`.
    part : {"B", "A"}
        ``"B"``: one row per annotated micro-expression (57 in the release), frames read
        from its long video between onset and offset. ``"A"``: one row per long video,
        with every annotated macro- and micro-expression interval in
        ``corpus.info["intervals"]`` (for spotting).
    frames : {"raw", "cropped"}
        ``rawpic/`` or ``cropped/`` frame folders.
    code_file : path-like, optional
        Default: ``*code_final*.xlsx`` under ``root``.
    span : {"expression", "folder"}
        Part B only: onset..offset (default) or the whole long video (large).
    grey : bool
        Read frames as grey levels.
    mapping : str or dict
        Part B: ``"native"`` (positive / negative / surprise / others) or a mapping.
    typical_length : int
        Frames used as the length of an expression whose offset is broken (before the
        onset) or missing with no apex: ``offset = onset + typical_length`` (default 15,
        half a second at 30 fps), since the folder is a whole long video.

    Returns
    -------
    Corpus
        Part B: dataset ``"casme_sq"``, subject ``"s15"``, sample ``"s15/disgust1_1"``,
        extra columns ``participant``, ``video``, ``stimulus``, ``expression_type``,
        ``self_report``, ``action_units``, ``sheet_row``. Part A: dataset
        ``"casme_sq_long"``, one row per video folder (``"s15/15_0101disgustingteeth"``),
        emotion ``"long_video"``, columns ``n_micro``/``n_macro``; intervals in
        ``info["intervals"]``.

    Notes
    -----
    Sheet 0 has no header and its name changes between releases, so it is addressed by
    position. The video folder of a row is ``s<folder>/<folder>_<code>*`` where
    ``naming rule1`` gives the folder number of the participant and ``naming rule2`` the
    4-digit code of the stimulus (a code stored as a number, 502, is padded back to
    ``'0502'``). An offset of 0 means "not annotated": the apex is used (flagged).

    References
    ----------
    F. Qu, S.-J. Wang, W.-J. Yan, H. Li, S. Wu, X. Fu, "CAS(ME)^2: A database for
    spontaneous macro-expression and micro-expression spotting and recognition",
    IEEE Trans. Affective Computing 9(4):424-436, 2018. https://doi.org/10.1109/TAFFC.2017.2654440
    """
    check_choice("part", part, ["B", "A"])
    check_choice("frames", frames, ["raw", "cropped"])
    check_choice("span", span, SPANS)
    typical_length = check_int("typical_length", typical_length, low=1)
    root = require_root(root, dataset="CAS(ME)^2", layout=CASME_SQ_LAYOUT)
    dataset = "casme_sq" if part == "B" else "casme_sq_long"
    log = IssueLog(dataset)
    sheet = pick_file(root, code_file, ("*code_final*.xlsx", "CAS(ME)*code*.xlsx", "*code*final*.xlsx"),
                      what="code file", dataset="CAS(ME)^2", layout=CASME_SQ_LAYOUT, log=log, option="code_file")
    records, rule1, rule2 = _read_code_file(sheet)
    names = ["rawpic", "raw_pic", "rawpics"] if frames == "raw" else ["cropped", "cropped_pic", "croppedpic"]
    bases = find_dirs(root, names, depth=2)
    if not bases:
        raise FileNotFoundError(f"CAS(ME)^2: no {' or '.join(names)} folder under {root}. Expected layout:\n{CASME_SQ_LAYOUT}")
    base = bases[0]
    located = []
    for rec in records:
        if not rec["name"]:
            log.add(file=sheet, row=rec["row"], sample="", action="skipped",
                    reason=f"row has no <stimulus>_<n> name in column 2 ({rec['participant']!r})")
            continue
        participant = rec["participant"]
        key = _key(participant)
        folder_no = rule1.get(key)
        if folder_no is None:
            log.add(file=sheet, row=rec["row"], sample=rec["name"], action="skipped",
                    reason=f"participant {participant!r} is not in the 'naming rule1' sheet, so its folder is unknown")
            continue
        stimulus = rec["name"].rsplit("_", 1)[0] if "_" in rec["name"] else rec["name"]
        code = rule2.get(stimulus.lower())
        if code is None:
            log.add(file=sheet, row=rec["row"], sample=rec["name"], action="skipped",
                    reason=f"stimulus {stimulus!r} is not in the 'naming rule2' sheet, so its video is unknown")
            continue
        subj_dir = base / f"s{folder_no}"
        prefix = f"{folder_no}_{code}"
        video = None
        if subj_dir.is_dir():
            video = next((d for d in sorted(subj_dir.iterdir()) if d.is_dir() and d.name.startswith(prefix)), None)
        located.append({**rec, "folder_no": folder_no, "subject": f"s{folder_no}", "stimulus": stimulus, "code": code,
                        "video_dir": video, "looked": f"{subj_dir}/{prefix}*"})
    if part == "B":
        rows = []
        for rec in located:
            if "micro" not in rec["type"].lower():
                continue
            row = clip_sample(
                log=log, dataset=dataset, subject=rec["subject"], sample=f"{rec['subject']}/{rec['name']}",
                emotion=rec["emotion"], folder=rec["video_dir"], onset=rec["onset"], apex=rec["apex"],
                offset=rec["offset"], fps=CASME_SQ_FPS, file=sheet, row=rec["row"], known_emotions=CASME_SQ_EMOTIONS,
                span=span, typical_length=typical_length, zero_offset_is_missing=True, looked=rec["looked"],
                extra={"participant": rec["participant"], "video": rec["video_dir"].name if rec["video_dir"] else "",
                       "stimulus": rec["stimulus"], "expression_type": rec["type"], "self_report": rec["self_report"],
                       "action_units": rec["aus"], "sheet_row": rec["row"]},
            )
            if row is not None:
                rows.append(row)
        info = {"kind": "frames", "root": str(root), "code_file": str(sheet), "part": "B", "frames": frames,
                "span": span, "fps": CASME_SQ_FPS}
        return finish_corpus(rows, log=log, name=dataset, loader=frame_loader(span=span, grey=grey), info=info,
                             mapping=mapping, distinct_intervals=True)
    return _part_a(root, base, located, log=log, sheet=sheet, frames=frames, grey=grey, typical_length=typical_length)


def _part_a(root, base: Path, located, *, log, sheet, frames, grey, typical_length) -> Corpus:
    videos = sorted((d for s in base.iterdir() if s.is_dir() and re.fullmatch(r"s\d+", s.name)
                     for d in s.iterdir() if d.is_dir()), key=lambda d: (int(d.parent.name[1:]), d.name))
    numbers_of = {}
    for d in videos:
        try:
            nums = [n for n, _ in list_frames(d)]
        except ValueError as exc:
            log.add(file=d, row=None, sample=f"{d.parent.name}/{d.name}", action="skipped", reason=str(exc))
            continue
        if not nums:
            log.add(file=d, row=None, sample=f"{d.parent.name}/{d.name}", action="skipped", reason=f"no frames in {d}")
            continue
        numbers_of[d] = nums
        gaps = frame_gaps(nums)
        if gaps:
            log.add(file=d, row=None, sample=f"{d.parent.name}/{d.name}", action="frame gap",
                    reason=f"{sum(b - a + 1 for a, b in gaps)} frame number(s) missing in {d} ({nums[0]}..{nums[-1]}): "
                           f"{describe_gaps(gaps)}")
    intervals = []
    for rec in located:
        d = rec["video_dir"]
        if d is None or d not in numbers_of:
            log.add(file=sheet, row=rec["row"], sample=rec["name"], action="skipped",
                    reason=f"long-video folder not found ({rec['looked']})" if d is None else f"video {d} unreadable")
            continue
        kind = "macro" if "macro" in rec["type"].lower() else "micro"
        length = typical_length if kind == "micro" else 4 * typical_length
        on, ap, off, est, notes = repair_keyframes(numbers_of[d], rec["onset"], rec["apex"], rec["offset"],
                                                   typical_length=length, zero_offset_is_missing=True)
        for note in notes:
            log.add(file=sheet, row=rec["row"], sample=rec["name"],
                    action="apex estimated" if note.startswith("apex") else "repaired", reason=note)
        intervals.append({"uid": f"casme_sq_long/{d.parent.name}/{d.name}", "subject": d.parent.name,
                          "video": d.name, "name": rec["name"], "type": kind, "onset": on, "apex": ap, "offset": off,
                          "apex_estimated": est, "emotion": rec["emotion"].lower(), "action_units": rec["aus"],
                          "flags": "; ".join(notes), "sheet_row": rec["row"]})
    ivals = pd.DataFrame(intervals, columns=["uid", "subject", "video", "name", "type", "onset", "apex", "offset",
                                             "apex_estimated", "emotion", "action_units", "flags", "sheet_row"])
    rows = []
    for d, nums in numbers_of.items():
        uid = f"casme_sq_long/{d.parent.name}/{d.name}"
        sel = ivals[ivals["uid"] == uid]
        rows.append({"dataset": "casme_sq_long", "subject": d.parent.name, "sample": f"{d.parent.name}/{d.name}",
                     "emotion": "long_video", "onset": nums[0], "apex": None, "offset": nums[-1], "n_frames": len(nums),
                     "fps": CASME_SQ_FPS, "apex_estimated": False, "flags": "" if len(sel) else "no annotated expression",
                     "path": str(d), "first_frame": nums[0], "last_frame": nums[-1],
                     "n_micro": int((sel["type"] == "micro").sum()), "n_macro": int((sel["type"] == "macro").sum())})
    info = {"kind": "long_video", "root": str(root), "code_file": str(sheet), "part": "A", "frames": frames,
            "intervals": ivals, "fps": CASME_SQ_FPS}
    return finish_corpus(rows, log=log, name="casme_sq_long", loader=frame_loader(span="folder", grey=grey), info=info)


def _key(value) -> str:
    n = parse_int(value)
    return str(n) if n is not None else cell_text(value).lower()


def _read_code_file(sheet: Path):
    names = sheet_names(sheet)
    rows = read_rows(sheet, sheet=0)
    records = []
    for i, r in enumerate(rows):
        cells = list(r) + [None] * max(0, 9 - len(r))
        if not any(c is not None for c in cells):
            continue
        if i == 0 and parse_int(cells[2]) is None and any(norm(c) in ("onset", "onsetframe") for c in cells):
            continue  # a header row some copies add by hand
        records.append({"row": i + 1, "participant": cell_text(cells[0]), "name": cell_text(cells[1]),
                        "onset": cells[2], "apex": cells[3], "offset": cells[4], "aus": cell_text(cells[5]),
                        "emotion": cell_text(cells[6]), "type": cell_text(cells[7]) or "micro-expression",
                        "self_report": cell_text(cells[8])})
    rule1_name = next((n for n in names if norm(n) == "namingrule1"), None)
    rule2_name = next((n for n in names if norm(n) == "namingrule2"), None)
    if rule1_name is None or rule2_name is None:
        raise DatasetError(f"{sheet}: the sheets 'naming rule1' and 'naming rule2' are needed to find the video "
                           f"folders; the workbook has {names}")
    rule1 = {}
    for r in read_rows(sheet, sheet=rule1_name):
        cells = [c for c in r if c is not None]
        if len(cells) >= 2 and parse_int(cells[-2]) is not None:
            rule1[_key(cells[-1])] = parse_int(cells[-2])
    rule2 = {}
    for r in read_rows(sheet, sheet=rule2_name):
        cells = [c for c in r if c is not None]
        if len(cells) >= 2:
            code = cell_text(cells[0])
            if code.isdigit():
                rule2[cell_text(cells[1]).lower()] = code.zfill(4)
    return records, rule1, rule2
