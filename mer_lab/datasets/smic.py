"""SMIC (Li et al., 2013): HS (100 fps), VIS and NIR (25 fps); labels come from folders."""

from __future__ import annotations

import re
from pathlib import Path

from .._validate import check_choice
from ._clips import SPANS, IssueLog, clip_sample, find_dirs, finish_corpus, frame_loader, require_root
from .corpus import Corpus

__all__ = ["load_smic", "SMIC_LAYOUT", "SMIC_FPS", "SMIC_EMOTIONS"]

SMIC_FPS = {"HS": 100.0, "VIS": 25.0, "NIR": 25.0}
SMIC_EMOTIONS = ("negative", "positive", "surprise")
_ABBREV = {"ne": "negative", "po": "positive", "sur": "surprise", "su": "surprise"}
SMIC_LAYOUT = """\
<root>/
  SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/image559757.bmp ...   (frames="raw")
  SMIC_all_raw/VIS/..., SMIC_all_raw/NIR/...
  SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image559757.bmp ...   (frames="cropped")
  (emotion folders: negative, positive, surprise; non_micro/ folders are not expressions)"""


def load_smic(root, *, modality: str = "HS", frames: str = "raw", span: str = "expression", grey: bool = True,
              mapping="native", apex: str = "middle", apex_params=None) -> Corpus:
    """Load SMIC (one modality) from its folder tree; there is no spreadsheet.

    Parameters
    ----------
    root : path-like
        Folder holding ``SMIC_all_raw/`` and/or ``SMIC_all_cropped/`` (or one of them).
    modality : {"HS", "VIS", "NIR"}
        High-speed camera (100 fps, 16 subjects) or the 25 fps visual / near-infrared ones.
    frames : {"raw", "cropped"}
        ``image<N>.bmp`` frames or the cropped ``reg_image<N>.bmp`` release.
    span : {"expression", "folder"}
        Accepted for symmetry with the other loaders; an SMIC clip folder *is* the
        expression, so both read the whole folder.
    grey : bool
        Read frames as grey levels.
    mapping : str or dict
        ``"native"`` (negative / positive / surprise), ``"megc2019"`` or a dict.
    apex : {"middle", "estimate"}
        SMIC annotates no apex. ``"middle"`` (default, instant) takes the middle frame;
        ``"estimate"`` the frame of peak flow magnitude
        (:func:`mer_lab.features.apex.estimate_apex`, which reads every clip and computes
        its flow: minutes for the whole dataset, cached), closer to the true apex on the
        synthetic corpus (docs/optical_flow.md). The ``apex_source`` column says which
        (``"middle"`` or ``"estimated"``); :meth:`Corpus.with_apex` does the same later,
        e.g. on a composite.
    apex_params : dict, optional
        Keyword arguments of :func:`~mer_lab.features.apex.estimate_apex` (``engine``...).

    Returns
    -------
    Corpus
        Dataset ``"smic_hs"``, ``"smic_vis"`` or ``"smic_nir"``; subjects as the folders
        write them (``"s1"``); extra columns ``megc_subject`` (``"s01"``) and
        ``megc_sample`` (``"s01_ne_01"``), the names MEGC 2019 lists use.

    Notes
    -----
    Labels come from the emotion folder. Onset and offset are the clip's first and last
    frames; the apex is not annotated, so it is the middle frame (or the estimate, see
    ``apex``), ``apex_estimated`` is True and each clip has an ``apex estimated`` issue.
    Frame numbers have varying widths
    (``image99999``, ``image100000``): they are parsed and sorted numerically. A clip
    whose name abbreviation disagrees with its folder (``s2_po_03`` under ``negative/``)
    keeps the folder's label and is flagged. A clip folder under two emotion folders is
    not loaded (issue ``refused``). ``non_micro/`` clips are not loaded.

    References
    ----------
    X. Li, T. Pfister, X. Huang, G. Zhao, M. Pietikainen, "A spontaneous micro-expression
    database: Inducement, collection and baseline", IEEE FG 2013.
    https://doi.org/10.1109/FG.2013.6553717
    """
    check_choice("modality", modality, list(SMIC_FPS))
    check_choice("apex", apex, ["middle", "estimate"])
    check_choice("frames", frames, ["raw", "cropped"])
    check_choice("span", span, SPANS)
    root = require_root(root, dataset="SMIC", layout=SMIC_LAYOUT)
    top = "SMIC_all_raw" if frames == "raw" else "SMIC_all_cropped"
    other = "cropped" if frames == "raw" else "raw"
    candidates = [d / modality for d in find_dirs(root, [top, top.replace("_all", "*")], depth=2)]
    candidates += [d for d in find_dirs(root, [modality], depth=2)]
    # never substitute one release for the other: a folder whose path (from root's own
    # name down) names the other variant is not a candidate
    wrong = [c for c in candidates if _names_variant(c, root, other)]
    base = next((c for c in candidates if c not in wrong and c.is_dir() and _subject_dirs(c)), None)
    if base is None:
        seen = next((c for c in wrong if c.is_dir() and _subject_dirs(c)), None)
        hint = (f" Found {seen}, which holds the {other} frames: pass frames={other!r} to read it." if seen else "")
        raise FileNotFoundError(f"SMIC: frames={frames!r} needs a {top}/{modality}/ folder with subject folders "
                                f"(s1, s2, ...) under {root}; it is missing.{hint} Expected layout:\n{SMIC_LAYOUT}")
    dataset = f"smic_{modality.lower()}"
    fps = SMIC_FPS[modality]
    log = IssueLog(dataset)
    rows = []
    for subj_dir in _subject_dirs(base):
        micro = next((d for d in subj_dir.iterdir() if d.is_dir() and d.name.lower() == "micro"), None)
        if micro is None:
            log.add(file=subj_dir, row=None, sample=subj_dir.name, action="skipped",
                    reason=f"subject folder {subj_dir} has no micro/ folder")
            continue
        emo_dirs = sorted(d for d in micro.iterdir() if d.is_dir())
        homes: dict[str, list[Path]] = {}
        for emo_dir in emo_dirs:
            for clip_dir in emo_dir.iterdir():
                if clip_dir.is_dir():
                    homes.setdefault(clip_dir.name, []).append(clip_dir)
        for clip, places in sorted(homes.items()):
            if len(places) > 1:  # the label comes from the folder: two folders, two labels
                log.add(file=places[0], row=None, sample=clip, action="refused",
                        reason=f"the clip folder {clip} is under {len(places)} emotion folders "
                               f"({', '.join(str(p) for p in places)}): its label is ambiguous, so it is not "
                               f"loaded; keep it under one emotion folder")
        for emo_dir in emo_dirs:
            emotion = emo_dir.name.lower()
            for clip_dir in sorted(d for d in emo_dir.iterdir() if d.is_dir()):
                clip = clip_dir.name
                if len(homes[clip]) > 1:
                    continue
                num = int(re.sub(r"\D", "", subj_dir.name) or 0)
                megc_sample = re.sub(r"^s\d+", f"s{num:02d}", clip)
                row = clip_sample(log=log, dataset=dataset, subject=subj_dir.name, sample=clip, emotion=emotion,
                                  folder=clip_dir, onset=None, apex=None, offset=None, fps=fps, file=clip_dir,
                                  known_emotions=SMIC_EMOTIONS, span="folder", annotated=False,
                                  extra={"megc_subject": f"s{num:02d}", "megc_sample": megc_sample,
                                         "modality": modality})
                if row is None:
                    continue
                note = f"SMIC does not annotate the apex: estimated as the middle frame, {row['apex']}"
                log.add(file=clip_dir, row=None, sample=clip, action="apex estimated", reason=note)
                flags = [note]
                m = re.match(r"s\d+_([a-z]+)_", clip.lower())
                if m and m.group(1) in _ABBREV and _ABBREV[m.group(1)] != emotion:
                    why = (f"clip name says {_ABBREV[m.group(1)]!r} but it sits in the {emo_dir.name!r} folder: "
                           f"the folder's label is kept")
                    log.add(file=clip_dir, row=None, sample=clip, action="kept (flagged)", reason=why)
                    flags.append(why)
                row["flags"] = "; ".join(f for f in [row["flags"], *flags] if f)
                rows.append(row)
    info = {"kind": "frames", "root": str(root), "frame_dir": str(base), "modality": modality, "frames": frames,
            "span": "folder", "fps": fps}
    corpus = finish_corpus(rows, log=log, name=dataset, loader=frame_loader(span="folder", grey=grey), info=info,
                           mapping=mapping)
    if apex == "estimate":
        corpus = corpus.with_apex("estimate", **dict(apex_params or {}))
    elif apex_params:
        raise ValueError("apex_params applies to apex='estimate' only")
    return corpus


def _subject_dirs(base: Path) -> list[Path]:
    subs = [d for d in base.iterdir() if d.is_dir() and re.fullmatch(r"s\d+", d.name.lower())]
    return sorted(subs, key=lambda d: int(d.name[1:]))


def _names_variant(folder: Path, root: Path, variant: str) -> bool:
    """Whether ``folder`` sits in the ``variant`` ("raw"/"cropped") release: a folder name
    below ``root`` (or root's own name when it is a release folder) holds the word
    (``SMIC_all_cropped``, ``SMIC_raw``)."""
    try:
        parts = folder.relative_to(root).parts
    except ValueError:
        parts = folder.parts
    if re.fullmatch(r"smic[ _-]*(all[ _-]*)?(raw|cropped)", root.name.lower()):
        parts = (root.name, *parts)
    return any(re.search(rf"(?<![a-z]){variant}(?![a-z])", p.lower().replace("_", " ")) for p in parts)
