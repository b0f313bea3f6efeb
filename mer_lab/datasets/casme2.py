"""CASME II (Yan et al., 2014): 26 subjects, 200 fps, raw and cropped frame trees."""

from __future__ import annotations

import re
from .._validate import check_choice
from ._clips import SPANS, IssueLog, clip_sample, find_dirs, finish_corpus, frame_loader, pick_file, require_root, unlisted_folders
from ._sheets import cell_text, parse_int, read_table
from .corpus import Corpus, DatasetError

__all__ = ["load_casme2", "CASME2_LAYOUT", "CASME2_EMOTIONS"]

CASME2_EMOTIONS = ("happiness", "disgust", "repression", "surprise", "others", "fear", "sadness")
CASME2_FPS = 200.0
CASME2_LAYOUT = """\
<root>/
  CASME2-coding-20140508.xlsx        (or CASME2-coding-20190701.xlsx; header on row 1:
                                      Subject | Filename | | OnsetFrame | ApexFrame |
                                      OffsetFrame | | Action Units | Estimated Emotion)
  CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...       (frames="raw")
  Cropped/sub01/EP02_01f/reg_img46.jpg ...               (frames="cropped")"""

_RAW_DIRS = ("CASME2_RAW_selected", "CASME2-RAW-selected", "CASME2_RAW", "CASME2-RAW", "CASME2_RAW_*")
_CROPPED_DIRS = ("Cropped", "CASME2_Cropped", "CASME2-Cropped", "Cropped_*")
_CODING = ("CASME2-coding*.xlsx", "CASME2_coding*.xlsx", "CASME2*coding*.xlsx", "CASME2_label*.xlsx",
           "CASME2*coding*.csv")


def load_casme2(root, *, frames: str = "cropped", coding_file=None, span: str = "expression",
                grey: bool = True, mapping="native") -> Corpus:
    """Load CASME II as distributed by its owners.

    Parameters
    ----------
    root : path-like
        Folder holding the coding file and the frame tree(s) (see :data:`CASME2_LAYOUT`;
        the tree may sit one or two folders deeper).
    frames : {"cropped", "raw"}
        ``"cropped"``: ``Cropped/subNN/<clip>/reg_imgN.jpg`` (faces, about 280x340);
        ``"raw"``: ``CASME2_RAW_selected/subNN/<clip>/imgN.jpg`` (640x480).
    coding_file : path-like, optional
        The coding sheet; default the newest ``CASME2-coding-*.xlsx`` under ``root``.
    span : {"expression", "folder"}
        Frames a cube holds: onset..offset (default) or every frame of the clip folder.
    grey : bool
        Read frames as grey levels (default) or RGB.
    mapping : str or dict
        ``"native"`` keeps the 7 emotions; ``"casme2_5"``, ``"megc2019"`` or a dict relabels
        (see :data:`mer_lab.datasets.CLASS_MAPPINGS`).

    Returns
    -------
    Corpus
        Dataset ``"casme2"``; sample names ``"subNN/<clip>"`` (clip names repeat across
        subjects). Extra columns: ``path``, ``first_frame``, ``last_frame``, ``clip``,
        ``action_units``, ``sheet_row``.

    Notes
    -----
    Repairs (each also in ``corpus.issues``): an apex written ``/`` or left blank is
    estimated as the middle frame (``apex_estimated``); an offset before the onset or past
    the last frame present becomes the last frame present; onset == apex is kept and
    flagged. The distributed coding file has 255-257 rows (the thesis's 247 excludes fear
    and sadness): use ``mapping="casme2_5"`` for the common 5-class set.

    References
    ----------
    W.-J. Yan et al., "CASME II: An improved spontaneous micro-expression database and the
    baseline evaluation", PLoS ONE 9(1):e86041, 2014. https://doi.org/10.1371/journal.pone.0086041

    Examples
    --------
    >>> corpus = load_casme2("/data/CASME2", frames="cropped")      # doctest: +SKIP
    >>> cube = corpus.cube("casme2/sub01/EP02_01f")                  # doctest: +SKIP
    """
    check_choice("frames", frames, ["cropped", "raw"])
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="CASME II", layout=CASME2_LAYOUT)
    log = IssueLog("casme2")
    sheet = pick_file(root, coding_file, _CODING, what="coding file", dataset="CASME II", layout=CASME2_LAYOUT,
                      log=log)
    table, header_row = read_table(sheet, required=("subject",), any_of=("filename", "onset"))
    missing = [c for c in ("subject", "filename", "onset", "offset") if c not in table.columns]
    if missing:
        raise DatasetError(f"{sheet}: the header (row {header_row}) lacks the columns {missing}; found {list(table.columns)}")
    names = _RAW_DIRS if frames == "raw" else _CROPPED_DIRS
    bases = find_dirs(root, names, depth=3)
    if not bases:
        raise FileNotFoundError(
            f"CASME II: no {frames} frame folder ({' or '.join(names)}) under {root}. Expected layout:\n{CASME2_LAYOUT}")
    base = bases[0]
    rows, used = [], []
    for rec in table.to_dict("records"):
        clip = cell_text(rec.get("filename"))
        subj_num = _subject_number(rec.get("subject"))
        if not clip or subj_num is None:
            log.add(file=sheet, row=rec["_row"], sample=clip, action="skipped",
                    reason=f"row has no usable Subject/Filename ({rec.get('subject')!r}, {rec.get('filename')!r})")
            continue
        subject = f"sub{subj_num:02d}"
        folder = base / subject / clip
        row = clip_sample(
            log=log, dataset="casme2", subject=subject, sample=f"{subject}/{clip}", emotion=rec.get("emotion"),
            folder=folder, onset=rec.get("onset"), apex=rec.get("apex"), offset=rec.get("offset"), fps=CASME2_FPS,
            file=sheet, row=rec["_row"], known_emotions=CASME2_EMOTIONS, span=span,
            extra={"clip": clip, "action_units": cell_text(rec.get("action_units")), "sheet_row": rec["_row"]},
        )
        used.append(str(folder))
        if row is not None:
            rows.append(row)
    present = [c for s in base.iterdir() if s.is_dir() and re.fullmatch(r"sub\d+", s.name)
               for c in s.iterdir() if c.is_dir()]
    unlisted_folders(log, found=present, used=used, file=sheet)
    info = {"kind": "frames", "root": str(root), "coding_file": str(sheet), "frames": frames, "frame_dir": str(base),
            "span": span, "fps": CASME2_FPS}
    return finish_corpus(rows, log=log, name="casme2", loader=frame_loader(span=span, grey=grey), info=info,
                         mapping=mapping)


def _subject_number(value) -> int | None:
    n = parse_int(value)
    if n is not None:
        return n
    m = re.search(r"(\d+)", str(value or ""))
    return int(m.group(1)) if m else None

