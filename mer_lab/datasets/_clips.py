"""Shared machinery of the real-dataset loaders.

* :class:`IssueLog` collects every repair and skip (the rows of ``Corpus.issues``).
* :func:`repair_keyframes` turns the sheet's onset/apex/offset cells into valid frame
  numbers of the clip on disk, describing each repair.
* :func:`clip_sample` checks one clip folder (existence, frame listing, empty files) and
  builds its samples row.
* :func:`frame_loader` reads a row's frames into a cube when ``Corpus.cube`` asks.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validate import check_choice
from ..cube import IMAGE_SUFFIXES, cube_from_frames, entry_kind, list_frames, make_cube, opt_int, truncated_image
from .corpus import ISSUE_COLUMNS, Corpus, DatasetError, warn_issues
from ._sheets import parse_int

__all__ = [
    "SPANS",
    "IssueLog",
    "require_root",
    "find_dirs",
    "find_files",
    "pick_file",
    "repair_keyframes",
    "frame_gaps",
    "describe_gaps",
    "middle_frame",
    "clip_sample",
    "frame_loader",
    "video_frame_count",
    "finish_corpus",
    "unlisted_folders",
    "opt_int",
]

SPANS = ("expression", "folder")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".mpg", ".mpeg", ".wmv")


class IssueLog:
    """Everything a loader repaired, flagged or skipped (columns of ``Corpus.issues``)."""

    def __init__(self, dataset: str):
        self.dataset = dataset
        self.rows: list[dict] = []

    def add(self, *, file, row, sample, action: str, reason: str) -> None:
        self.rows.append({
            "dataset": self.dataset, "file": "" if file is None else str(file),
            "row": np.nan if row is None else row, "sample": "" if sample is None else str(sample),
            "action": action, "reason": reason,
        })

    def table(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=ISSUE_COLUMNS)
        df["row"] = pd.to_numeric(df["row"], errors="coerce").astype("Int64")
        return df

    def __len__(self) -> int:
        return len(self.rows)


# --------------------------------------------------------------------------- finding things
def require_root(root, *, dataset: str, layout: str) -> Path:
    """``root`` as a Path; FileNotFoundError naming it and the expected layout if missing."""
    if root is None:
        raise FileNotFoundError(
            f"no folder given for {dataset}; pass root=, set its path in data_manifest.yaml or "
            f"set $MER_LAB_DATA. Expected layout:\n{layout}"
        )
    path = Path(os.path.expanduser(str(root)))
    if not path.is_dir():
        raise FileNotFoundError(f"{dataset} folder not found: {path} ({not_a_folder(path)})\n"
                                f"Expected layout:\n{layout}")
    return path


def not_a_folder(path: Path) -> str:
    """Why ``path`` is not a folder, for messages: a file, a looping or broken link, or nothing there."""
    path = Path(path)
    if path.is_file():
        return "it is a file, not a folder; give the folder that holds the dataset"
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "it is a symbolic link loop (the link points back to itself); correct the link"
        return "it is a symbolic link to nothing (broken link)"
    if path.exists():
        return "it is not a folder"
    return "nothing exists at that path"


def _kind(entry) -> str:
    """:func:`mer_lab.cube.entry_kind`, raising a DatasetError naming a symbolic link loop."""
    try:
        return entry_kind(entry)
    except ValueError as exc:
        raise DatasetError(str(exc)) from None


def _walk(root: Path, depth: int):
    """(path, depth) of directories under root, breadth first, root included at depth 0."""
    level = [root]
    for d in range(depth + 1):
        nxt = []
        for folder in level:
            yield folder, d
            if d < depth:
                try:
                    entries = sorted(os.scandir(folder), key=lambda e: e.name)
                except OSError:
                    continue
                nxt.extend(Path(e.path) for e in entries if _kind(e) == "dir")
        level = nxt


def find_dirs(root: Path, names: Iterable[str], *, depth: int = 2) -> list[Path]:
    """Directories under ``root`` (itself included) whose name matches one of ``names``.

    Names compare case-insensitively and may hold shell wildcards; shallowest first.
    """
    pats = [n.lower() for n in names]
    return [p for p, _ in _walk(root, depth) if any(fnmatch.fnmatchcase(p.name.lower(), n) for n in pats)]


def find_files(root: Path, patterns: Iterable[str], *, depth: int = 2, exclude: Iterable[str] = ()) -> list[Path]:
    """Files under ``root`` (down to ``depth`` folders) matching any of ``patterns`` (case-insensitive)."""
    pats = [p.lower() for p in patterns]
    excl = [p.lower() for p in exclude]
    found = []
    for folder, _ in _walk(root, depth):
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            name = e.name.lower()
            if not name.startswith("~$") and any(fnmatch.fnmatchcase(name, p) for p in pats) \
                    and not any(fnmatch.fnmatchcase(name, p) for p in excl) and _kind(e) == "file":
                found.append(Path(e.path))
    return found


_BACKUP_MARKS = re.compile(r"((?<![a-z])(copy|backup|bak|old)(?![a-z])|\(\d+\)|~)", re.IGNORECASE)


def _looks_like_backup(path: Path) -> bool:
    """``coding - Copy.xlsx``, ``coding_backup.xlsx``, ``coding (1).xlsx``, ``coding.old.xlsx``..."""
    return bool(_BACKUP_MARKS.search(path.stem))


def pick_file(root: Path, given, patterns: Sequence[str], *, what: str, dataset: str, layout: str,
              exclude: Iterable[str] = (), log: IssueLog | None = None, option: str = "coding_file") -> Path:
    """The metadata file: ``given`` (absolute, or relative to root) or the best match of ``patterns``.

    Among several matches the choice is explicit: .xlsx before .csv, names that do not
    look like a backup copy (``copy``, ``backup``, ``bak``, ``old``, ``(1)``) before those
    that do, then the latest name (coding files carry dates: 20190701 > 20140508). When
    more than one file matches, ``log`` gets a ``chose file`` issue naming the file used
    and the others, and how to pick another (``option``).
    """
    if given is not None:
        path = Path(os.path.expanduser(str(given)))
        if not path.is_absolute() and not path.exists():
            path = root / path
        if not path.is_file():
            raise FileNotFoundError(f"{dataset}: {what} not found: {path}")
        return path
    found = find_files(root, patterns, depth=2, exclude=exclude)
    if not found:
        raise FileNotFoundError(
            f"{dataset}: no {what} under {root} (looked for {', '.join(patterns)} down to 2 folders deep). "
            f"Expected layout:\n{layout}"
        )
    found.sort(key=lambda p: (p.suffix.lower() in (".xlsx", ".xlsm"), not _looks_like_backup(p), p.name))
    chosen = found[-1]
    if len(found) > 1 and log is not None:
        others = ", ".join(str(p) for p in reversed(found[:-1]))
        log.add(file=chosen, row=None, sample="", action="chose file",
                reason=f"{len(found)} files match the {what} ({', '.join(patterns)}): read {chosen}; not read: "
                       f"{others}. Pass {option}= to read another")
    return chosen


# --------------------------------------------------------------------------- key frames
def middle_frame(numbers: Sequence[int], onset: int, offset: int) -> int:
    """The frame present in ``[onset, offset]`` closest to the middle ``(onset + offset) / 2``."""
    arr = np.asarray(numbers)
    inside = arr[(arr >= onset) & (arr <= offset)]
    if inside.size == 0:
        return (onset + offset) // 2
    mid = (onset + offset) / 2
    return int(inside[np.argmin(np.abs(inside - mid))])


def repair_keyframes(numbers: Sequence[int], onset, apex, offset, *, typical_length: int | None = None,
                     zero_offset_is_missing: bool = False) -> tuple[int, int, int, bool, list[str]]:
    """Valid onset/apex/offset frame numbers for a clip, and a note for every repair.

    Parameters
    ----------
    numbers : sequence of int
        Frame numbers present on disk (sorted).
    onset, apex, offset : cell values
        As read from the sheet (ints, floats, ``'/'``, blank...).
    typical_length : int, optional
        When the folder is a whole long video (CAS(ME)^2), a broken offset becomes
        ``onset + typical_length`` instead of the folder's last frame.
    zero_offset_is_missing : bool
        CAS(ME)^2 writes 0 for a missing offset; it then becomes the apex.

    Returns
    -------
    onset, apex, offset : int
    apex_estimated : bool
    notes : list of str
        One sentence per repair or doubt (empty when the cells were sound).

    Notes
    -----
    Rules, in order: a missing or out-of-clip onset becomes the first frame present; a
    missing offset, one before the onset (a typo) or one past the last frame present
    becomes the last frame present (or ``onset + typical_length``); a missing apex ('/',
    blank) or one outside ``[onset, offset]`` becomes the frame present nearest the
    middle of ``[onset, offset]`` and is marked estimated; an onset equal to the apex is
    kept and noted.
    """
    first, last = int(numbers[0]), int(numbers[-1])
    notes: list[str] = []
    on, ap, off = parse_int(onset), parse_int(apex), parse_int(offset)

    if on is None:
        notes.append(f"onset missing in the sheet ({_show(onset)}): set to the first frame present, {first}")
        on = first
    elif on < first or on > last:
        notes.append(f"onset {on} is outside the frames present ({first}..{last}): set to the first frame, {first}")
        on = first

    def fallback_end():
        return last if typical_length is None else min(last, on + int(typical_length))

    if zero_offset_is_missing and off == 0:
        if ap is not None and on <= ap <= last:
            notes.append(f"offset 0 (not annotated): set to the apex, {ap}")
            off = ap
        else:
            off = fallback_end()
            notes.append(f"offset 0 (not annotated) and no usable apex: set to {off}")
    elif off is None:
        off = fallback_end()
        notes.append(f"offset missing in the sheet ({_show(offset)}): set to {off}")
    elif off < on:
        new = fallback_end()
        notes.append(f"offset {off} is before the onset {on} (a typo): set to {new}"
                     + (" (the last frame present)" if new == last else f" (onset + {typical_length} frames)"))
        off = new
    elif off > last:
        notes.append(f"offset {off} is beyond the last frame present ({last}): set to {last}")
        off = last

    estimated = False
    if ap is None:
        ap = middle_frame(numbers, on, off)
        estimated = True
        notes.append(f"apex not annotated ({_show(apex)}): estimated as the middle frame, {ap}")
    elif ap < on or ap > off:
        new = middle_frame(numbers, on, off)
        notes.append(f"apex {ap} is outside onset..offset ({on}..{off}): estimated as the middle frame, {new}")
        ap, estimated = new, True
    elif ap == on:
        notes.append(f"onset equals apex ({ap}): kept as annotated")
    # key frames inside the clip's range may still be missing on disk (a gap in the numbers)
    present = set(int(n) for n in numbers)
    if on not in present:
        new = min(n for n in present if n >= on)
        notes.append(f"onset frame {on} is not on disk (a gap in the frame numbers): the next frame present, "
                     f"{new}, used")
        on = new
    if off not in present:
        new = max(n for n in present if n <= off)
        notes.append(f"offset frame {off} is not on disk (a gap in the frame numbers): the previous frame present, "
                     f"{new}, used")
        off = new
    if off < on:  # onset and offset both fell in one gap
        off = on
    if ap not in present or not on <= ap <= off:
        new = middle_frame(numbers, on, off) if ap < on or ap > off else _nearest(numbers, ap, on, off)
        notes.append(f"apex frame {ap} is not on disk (a gap in the frame numbers): the nearest frame present, "
                     f"{new}, used (flagged as estimated)")
        ap, estimated = new, True
    return on, ap, off, estimated, notes


def _nearest(numbers: Sequence[int], frame: int, low: int, high: int) -> int:
    """The frame present in ``[low, high]`` nearest ``frame`` (the earlier one on a tie)."""
    arr = np.asarray(numbers)
    inside = arr[(arr >= low) & (arr <= high)]
    return int(inside[np.argmin(np.abs(inside - frame))])


def frame_gaps(numbers: Sequence[int]) -> list[tuple[int, int]]:
    """Runs of frame numbers missing between the first and last frame present, as ``(first, last)``."""
    arr = np.asarray(sorted(numbers), dtype=np.int64)
    if arr.size < 2:
        return []
    steps = np.diff(arr)
    return [(int(arr[i]) + 1, int(arr[i + 1]) - 1) for i in np.flatnonzero(steps > 1)]


def describe_gaps(gaps: Sequence[tuple[int, int]], *, limit: int = 6) -> str:
    """``'49, 51..53'`` (the first ``limit`` runs, then how many more)."""
    text = ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in gaps[:limit])
    return text + (f" and {len(gaps) - limit} more runs" if len(gaps) > limit else "")


def _show(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "blank"
    return repr(value)


# --------------------------------------------------------------------------- one clip
def video_frame_count(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


def clip_sample(*, log: IssueLog, dataset: str, subject: str, sample: str, emotion, folder: Path | None,
                onset, apex, offset, fps: float, file=None, row=None, known_emotions: Iterable[str] | None = None,
                span: str = "expression", typical_length: int | None = None, zero_offset_is_missing: bool = False,
                looked: str | None = None, extra: Mapping | None = None, annotated: bool = True) -> dict | None:
    """Check one clip on disk and build its samples row; ``None`` (and an issue) when skipped.

    ``folder`` is a frame folder or a video file. With ``annotated=False`` (SMIC) the
    clip is the expression itself: onset/offset are its first/last frames and the apex
    its middle frame.
    """
    if folder is None or not Path(folder).exists():
        where = looked or (str(folder) if folder is not None else "")
        log.add(file=file, row=row, sample=sample, action="skipped",
                reason=f"clip folder not found ({where})")
        return None
    folder = Path(folder)
    is_video = folder.is_file()
    if is_video:
        n = video_frame_count(folder)
        if n <= 0:
            log.add(file=file, row=row, sample=sample, action="skipped",
                    reason=f"the video {folder} cannot be opened or holds no frames")
            return None
        items = [(i, folder) for i in range(n)]
    else:
        try:
            items = list_frames(folder)
        except (ValueError, OSError) as exc:
            log.add(file=file, row=row, sample=sample, action="skipped", reason=str(exc))
            return None
        if not items:
            log.add(file=file, row=row, sample=sample, action="skipped",
                    reason=f"no image frames ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
            return None
    numbers = [n for n, _ in items]
    notes: list[str] = []
    if annotated:
        on, ap, off, estimated, notes = repair_keyframes(
            numbers, onset, apex, offset, typical_length=typical_length,
            zero_offset_is_missing=zero_offset_is_missing)
    else:
        on, off = numbers[0], numbers[-1]
        ap = middle_frame(numbers, on, off)
        estimated = True
    if not is_video:
        gaps = frame_gaps(numbers)
        if gaps:
            missing = sum(b - a + 1 for a, b in gaps)
            inside = sum(max(0, min(b, off) - max(a, on) + 1) for a, b in gaps)
            log.add(file=file, row=row, sample=sample, action="frame gap",
                    reason=f"{missing} frame number(s) missing in {folder} ({numbers[0]}..{numbers[-1]}): "
                           f"{describe_gaps(gaps)}; {inside} of them inside onset..offset ({on}..{off}); "
                           f"the frames present are read")
        chosen = items if span == "folder" else [(k, p) for k, p in items if on <= k <= off]
        for _, p in chosen:
            try:
                size = p.stat().st_size
            except OSError as exc:
                log.add(file=file, row=row, sample=sample, action="skipped", reason=f"frame {p} cannot be read: {exc}")
                return None
            if size == 0:
                log.add(file=file, row=row, sample=sample, action="skipped",
                        reason=f"frame file is empty (0 bytes): {p}")
                return None
            cut = truncated_image(p)
            if cut:
                log.add(file=file, row=row, sample=sample, action="skipped",
                        reason=f"{cut}: the clip is not loaded; copy the file again from the release")
                return None
    emo = "" if emotion is None or (isinstance(emotion, float) and emotion != emotion) else str(emotion).strip().lower()
    if not emo:
        notes.append("emotion missing in the sheet: kept as 'unknown'")
        emo = "unknown"
    for note in notes:
        action = "apex estimated" if note.startswith("apex") else ("noted" if "kept as annotated" in note else "repaired")
        log.add(file=file, row=row, sample=sample, action=action, reason=note)
    flags = list(notes)
    if known_emotions is not None and emo != "unknown" and emo not in set(known_emotions):
        reason = f"unknown emotion label {emo!r} (known: {', '.join(sorted(known_emotions))}): kept"
        log.add(file=file, row=row, sample=sample, action="kept (flagged)", reason=reason)
        flags.append(reason)
    out = {
        "dataset": dataset, "subject": str(subject), "sample": str(sample), "emotion": emo,
        "onset": on, "apex": ap, "offset": off, "n_frames": len(numbers), "fps": float(fps),
        "apex_estimated": bool(estimated), "flags": "; ".join(flags),
        "path": str(folder), "first_frame": numbers[0], "last_frame": numbers[-1],
        "_source_file": "" if file is None else str(file),
    }
    if extra:
        out.update(extra)
    return out


def unlisted_folders(log: IssueLog, *, found: Iterable[Path], used: Iterable[str], file=None,
                     with_parent: bool = True) -> None:
    """Clip folders present on disk but absent from the sheet: one ``not in sheet`` issue each."""
    used_set = {str(Path(u)) for u in used}
    for folder in sorted(found):
        if str(folder) not in used_set:
            name = f"{folder.parent.name}/{folder.name}" if with_parent else folder.name
            log.add(file=file, row=None, sample=name, action="not in sheet",
                    reason=f"clip folder {folder} has no row in the metadata sheet, so no labels: not loaded")


# --------------------------------------------------------------------------- cubes
def frame_loader(*, span: str = "expression", grey: bool = True):
    """``loader(row) -> cube`` reading a row's frames (``span``: "expression" or "folder")."""
    check_choice("span", span, SPANS)

    def load(row: pd.Series):
        path = Path(row["path"])
        on, ap, off = opt_int(row["onset"]), opt_int(row["apex"]), opt_int(row["offset"])
        meta = dict(dataset=row["dataset"], subject=row["subject"], sample=row["sample"], emotion=row["emotion"],
                    onset=on, apex=ap, offset=off, apex_estimated=bool(row.get("apex_estimated", False)))
        if path.is_file():
            return _video_cube(path, row, span=span, grey=grey, meta=meta)
        items = list_frames(path)
        if span == "expression" and on is not None and off is not None:
            items = [(n, p) for n, p in items if on <= n <= off]
        if not items:
            raise ValueError(f"no frames between {on} and {off} in {path} (sample {row.name})")
        return cube_from_frames([p for _, p in items], fps=float(row["fps"]), frame_numbers=[n for n, _ in items],
                                grey=grey, **meta)

    load.settings = {"span": span, "grey": bool(grey)}  # every setting that changes the cubes read
    return load


def _video_cube(path: Path, row, *, span, grey, meta):
    import cv2

    on, off = meta["onset"], meta["offset"]
    cap = cv2.VideoCapture(str(path))
    frames, numbers = [], []
    try:
        if not cap.isOpened():
            raise ValueError(f"OpenCV cannot open the video {path}")
        start = on if (span == "expression" and on is not None) else 0
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        k = start
        while True:
            if span == "expression" and off is not None and k > off:
                break
            ok, img = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if grey else cv2.COLOR_BGR2RGB))
            numbers.append(k)
            k += 1
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"no decodable frames between {on} and {off} in the video {path}")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise ValueError(f"frames of the video {path} differ in size: {sorted(shapes)}")
    return make_cube(np.stack(frames), fps=float(row["fps"]), frame_numbers=numbers, **meta)


def finish_corpus(rows: list[dict], *, log: IssueLog, name: str, loader, info: Mapping, mapping="native",
                  columns: Sequence[str] = (), distinct_intervals: bool = False) -> Corpus:
    """Assemble the Corpus, warn once about the issues, apply the class mapping.

    Rows naming the same clip twice are resolved by :func:`_dedupe` (``distinct_intervals``:
    a clip may hold several expressions, told apart by their onset and offset).
    """
    from .corpus import SAMPLE_COLUMNS

    base = [c for c in SAMPLE_COLUMNS if c not in ("group", "label")]
    cols = base + ["path", "first_frame", "last_frame"] + [c for c in columns if c not in base]
    samples = pd.DataFrame(rows, columns=list(dict.fromkeys(cols + [k for r in rows for k in r])))
    samples = _dedupe(samples, log, distinct_intervals=distinct_intervals)
    samples = samples.drop(columns=[c for c in samples.columns if c.startswith("_")])
    for c in ("first_frame", "last_frame"):
        if c in samples:
            samples[c] = pd.to_numeric(samples[c], errors="coerce").astype("Int64")
    issues = log.table()
    # the loader's settings (grey, span) change every cube read: part of the corpus's identity,
    # which feature caches key on
    info = {**dict(info), **getattr(loader, "settings", {})}
    corpus = Corpus(samples, loader=loader, name=name, issues=issues, info=info)
    warn_issues(issues, dataset=name)
    if mapping is not None and mapping != "native":
        corpus = corpus.map_classes(mapping)
    return corpus


def _log_row(log, samples: pd.DataFrame, i, **entry) -> None:
    """One issue about samples row ``i``, naming the file and sheet row it came from."""
    log.add(file=samples.at[i, "_source_file"] if "_source_file" in samples else "",
            row=samples.at[i, "sheet_row"] if "sheet_row" in samples else None, **entry)


def _where(samples: pd.DataFrame, i) -> str:
    """``'<sheet> row <n>'`` (or the clip folder) a samples row came from, for messages."""
    file = samples.at[i, "_source_file"] if "_source_file" in samples else None
    row = samples.at[i, "sheet_row"] if "sheet_row" in samples else None
    file = "" if file is None or (isinstance(file, float) and file != file) else str(file)
    if not file and "path" in samples:
        file = str(samples.at[i, "path"])
    return file + (f" row {int(row)}" if row is not None and not pd.isna(row) else "")


def _dedupe(samples: pd.DataFrame, log: IssueLog, *, distinct_intervals: bool = False) -> pd.DataFrame:
    """Resolve rows naming the same clip (same dataset and sample name).

    A backup copy of a sheet beside the original, or a repeated row, would otherwise
    make one clip two samples reading the same frames, which then sit on both sides of a
    train/test split. Rules, per clip named more than once:

    * the rows disagree on the emotion: the clip is refused (every row dropped), with a
      ``refused`` issue naming each sheet row and its label;
    * otherwise the first row is kept and every other one dropped with a ``duplicate
      dropped`` issue naming both sheet rows (and the key frames when they differ).

    With ``distinct_intervals`` (one folder holds a long video with several expressions,
    CAS(ME)^2), rows whose onset or offset differ are separate expressions: they are all
    kept, the later ones renamed ``<name>#2``, ``#3`` (issue ``renamed``); only rows with
    the same interval count as duplicates.
    """
    if samples.empty:
        return samples
    dup = samples.duplicated(["dataset", "sample"], keep=False)
    if not dup.any():
        return samples
    samples = samples.copy()
    drop: list = []
    for (_, name), idx in samples[dup].groupby(["dataset", "sample"], sort=False).groups.items():
        idx = list(idx)
        emotions = {samples.at[i, "emotion"] for i in idx}
        if len(emotions) > 1:
            listed = "; ".join(f"{_where(samples, i)}: {samples.at[i, 'emotion']!r}" for i in idx)
            for i in idx:
                _log_row(log, samples, i, sample=name,
                         action="refused",
                         reason=f"the clip {name!r} is named by {len(idx)} rows that disagree on the emotion "
                                f"({listed}): not loaded; correct or remove one of the rows")
            drop.extend(idx)
            continue
        groups: dict[tuple, list] = {}
        for i in idx:
            interval = (samples.at[i, "onset"], samples.at[i, "offset"]) if distinct_intervals else ()
            groups.setdefault(interval, []).append(i)
        for n, members in enumerate(groups.values(), start=1):
            keep = members[0]
            if n > 1:
                new = f"{name}#{n}"
                note = (f"{_where(samples, keep)} names the clip {name!r} again with another interval "
                        f"({samples.at[keep, 'onset']}..{samples.at[keep, 'offset']}): a separate expression, "
                        f"kept as {new!r}")
                samples.at[keep, "sample"] = new
                samples.at[keep, "flags"] = "; ".join(f for f in (samples.at[keep, "flags"], note) if f)
                _log_row(log, samples, keep, sample=new,
                         action="renamed", reason=note)
            for i in members[1:]:
                frames = lambda j: tuple(samples.at[j, k] for k in ("onset", "apex", "offset"))  # noqa: E731
                differ = "" if frames(i) == frames(keep) else (
                    f"; its key frames {'/'.join(map(str, frames(i)))} differ from the kept "
                    f"{'/'.join(map(str, frames(keep)))}")
                _log_row(log, samples, i, sample=name,
                         action="duplicate dropped",
                         reason=f"{_where(samples, i)} names the clip {name!r} already read from "
                                f"{_where(samples, keep)}: one sample kept (from the first){differ}")
                drop.append(i)
    return samples.drop(index=drop)
