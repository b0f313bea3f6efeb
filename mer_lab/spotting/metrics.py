"""Interval metrics of micro-expression spotting (the MEGC protocol).

A spotted interval is a true positive (TP) when its intersection over union (IoU) with a
ground-truth interval is at least 0.5; every ground-truth interval and every spotted
interval takes part in at most one match. Spotted intervals left unmatched are false
positives (FP), ground-truth intervals left unmatched false negatives (FN). TP, FP and FN
are summed over every video of a dataset before recall, precision and F1 are computed
(MEGC 2019-2021), so a video with many expressions weighs more than one with few.

Intervals are inclusive ranges of frame numbers: ``[onset, offset]`` holds
``offset - onset + 1`` frames.

Functions
---------
interval_iou
    IoU of two intervals (or of every pair of two lists).
match_intervals
    One-to-one matching of spotted and ground-truth intervals of one video.
spotting_scores
    TP, FP, FN, recall, precision, F1 (and apex error) over a whole dataset.
apex_error
    Mean absolute apex error in frames and milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validate import check_number, describe

__all__ = ["MEGC_IOU", "interval_iou", "match_intervals", "spotting_scores", "apex_error"]

#: IoU from which a spotted interval counts as a hit (MEGC).
MEGC_IOU = 0.5


def _as_intervals(value, name: str) -> np.ndarray:
    """(n, 2) integer array of [onset, offset] from a DataFrame, array or list of pairs."""
    if isinstance(value, pd.DataFrame):
        missing = [c for c in ("onset", "offset") if c not in value.columns]
        if missing:
            raise ValueError(f"{name} must have columns 'onset' and 'offset'; it lacks {missing}")
        arr = value[["onset", "offset"]].to_numpy()
    else:
        arr = np.asarray(value if len(value) else np.empty((0, 2)))
    if arr.ndim == 1 and arr.size == 2:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must be (onset, offset) pairs, got {describe(value)}")
    try:
        out = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numeric frame numbers, got {describe(value)}") from None
    if not np.isfinite(out).all():
        raise ValueError(f"{name} has missing onset/offset values; fill or drop those rows first")
    if np.any(out != np.round(out)):
        raise ValueError(f"{name} must hold whole frame numbers")
    out = out.astype(np.int64)
    bad = np.nonzero(out[:, 1] < out[:, 0])[0]
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} row {i}: offset {out[i, 1]} comes before onset {out[i, 0]}")
    return out


def interval_iou(a, b) -> np.ndarray | float:
    """Intersection over union of inclusive frame intervals.

    Parameters
    ----------
    a, b : (onset, offset) pair, or (n, 2) / (m, 2) arrays or DataFrames with those columns
        Inclusive intervals of frame numbers.

    Returns
    -------
    float when both are single pairs, else an (n, m) array of every pair's IoU.

    Notes
    -----
    ``|a & b| = max(0, min(a1, b1) - max(a0, b0) + 1)`` frames and
    ``|a | b| = (a1 - a0 + 1) + (b1 - b0 + 1) - |a & b|``.

    Examples
    --------
    >>> interval_iou((10, 19), (15, 24))       # 5 shared frames of 15
    0.3333333333333333
    >>> interval_iou((10, 19), (10, 19))
    1.0
    """
    single = _is_pair(a) and _is_pair(b)
    ia, ib = _as_intervals(a, "a"), _as_intervals(b, "b")
    inter = np.minimum(ia[:, None, 1], ib[None, :, 1]) - np.maximum(ia[:, None, 0], ib[None, :, 0]) + 1
    inter = np.maximum(inter, 0)
    union = (ia[:, None, 1] - ia[:, None, 0] + 1) + (ib[None, :, 1] - ib[None, :, 0] + 1) - inter
    iou = inter / union
    return float(iou[0, 0]) if single else iou


def _is_pair(value) -> bool:
    if isinstance(value, pd.DataFrame):
        return False
    arr = np.asarray(value)
    return arr.ndim == 1 and arr.size == 2


def match_intervals(spotted, truth, *, iou: float = MEGC_IOU) -> pd.DataFrame:
    """Match spotted intervals to ground-truth intervals of one video, one to one.

    Pairs with IoU >= ``iou`` are eligible; among them the matching with the most pairs
    is chosen (and, among those, the largest total IoU), so an interval that overlaps two
    others never counts twice.

    Parameters
    ----------
    spotted : DataFrame or (n, 2) array
        Spotted intervals (columns ``onset``, ``offset``; ``apex`` optional).
    truth : DataFrame or (m, 2) array
        Ground-truth intervals (columns ``onset``, ``offset``; ``apex`` optional).
    iou : float in (0, 1]
        IoU from which a pair counts as a hit (0.5 in MEGC).

    Returns
    -------
    pandas.DataFrame
        One row per matched pair: ``spotted`` and ``truth`` (row positions in the inputs)
        and ``iou``; plus ``apex_spotted``, ``apex_truth`` when both inputs have an
        ``apex`` column. ``len(result)`` is the number of true positives.

    Examples
    --------
    >>> m = match_intervals([(10, 20), (40, 50), (90, 95)], [(12, 22), (60, 70)])
    >>> m[["spotted", "truth"]].values.tolist(), round(float(m.iou[0]), 4)
    ([[0, 0]], 0.6923)
    """
    from scipy.optimize import linear_sum_assignment

    iou = check_number("iou", iou, low=0, high=1, low_open=True)
    s, t = _as_intervals(spotted, "spotted"), _as_intervals(truth, "truth")
    columns = ["spotted", "truth", "iou"]
    with_apex = all(isinstance(x, pd.DataFrame) and "apex" in x.columns for x in (spotted, truth))
    if with_apex:
        columns += ["apex_spotted", "apex_truth"]
    if len(s) == 0 or len(t) == 0:
        return _empty_matches(columns)
    ious = interval_iou(s, t)
    eligible = ious >= iou
    if not eligible.any():
        return _empty_matches(columns)
    # Maximise (number of matches, then total IoU): each eligible pair is worth
    # big + IoU with big > the largest possible number of matches.
    big = min(len(s), len(t)) + 1.0
    weight = np.where(eligible, big + ious, 0.0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    keep = eligible[rows, cols]
    rows, cols = rows[keep], cols[keep]
    order = np.argsort(rows)
    rows, cols = rows[order], cols[order]
    out = pd.DataFrame({"spotted": rows.astype(np.int64), "truth": cols.astype(np.int64),
                        "iou": ious[rows, cols]})
    if with_apex:
        out["apex_spotted"] = spotted["apex"].to_numpy()[rows]
        out["apex_truth"] = truth["apex"].to_numpy()[cols]
    return out


def _empty_matches(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "iou" else "int64") for c in columns})


def _by_video(table, name: str, video: str) -> dict:
    """{video: DataFrame} from a mapping or from a table with a video column."""
    if isinstance(table, Mapping):
        return {key: (v if isinstance(v, pd.DataFrame) else pd.DataFrame(np.asarray(v).reshape(-1, 2),
                                                                           columns=["onset", "offset"]))
                for key, v in table.items()}
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"{name} must be a DataFrame (with a {video!r} column when it covers several videos) "
            f"or a dict video -> DataFrame, got {describe(table)}"
        )
    if video not in table.columns:
        return {None: table}
    return {key: part for key, part in table.groupby(video, sort=False)}


def spotting_scores(spotted, truth, *, iou: float = MEGC_IOU, video: str = "video",
                    fps: float | Mapping | None = None) -> dict:
    """MEGC spotting scores over a whole dataset: TP/FP/FN summed over videos first.

    Parameters
    ----------
    spotted, truth : DataFrame or dict video -> DataFrame
        Intervals with columns ``onset``, ``offset`` (``apex`` optional) and, for several
        videos in one table, a ``video`` column naming the video of each row. A video
        missing from ``spotted`` has spotted nothing; one missing from ``truth`` has no
        expression (all its spots are false positives).
    iou : float in (0, 1]
        IoU from which a spotted interval is a hit (0.5 in MEGC).
    video : str
        Name of the column identifying the video.
    fps : float or dict video -> float, optional
        Frame rate(s) to express the apex error in milliseconds; default the ``fps``
        column of ``truth`` when there is one.

    Returns
    -------
    dict
        ``videos``, ``n_truth``, ``n_spotted``, ``tp``, ``fp``, ``fn``, ``recall``
        (TP / (TP + FN)), ``precision`` (TP / (TP + FP)), ``f1`` (their harmonic mean);
        a ratio with a zero denominator is 0. When both sides carry ``apex``:
        ``apex_mae_frames`` and ``apex_mae_ms`` (over the true positives; NaN if none
        or the fps is unknown), and ``matches``, the table of matched pairs.

    Examples
    --------
    >>> import pandas as pd
    >>> truth = pd.DataFrame({"video": ["a", "a", "b"], "onset": [10, 50, 5], "offset": [20, 60, 15]})
    >>> spots = pd.DataFrame({"video": ["a", "b", "b"], "onset": [11, 30, 6], "offset": [21, 40, 14]})
    >>> s = spotting_scores(spots, truth)
    >>> s["tp"], s["fp"], s["fn"], round(s["f1"], 4)
    (2, 1, 1, 0.6667)
    """
    s_parts = _by_video(spotted, "spotted", video)
    t_parts = _by_video(truth, "truth", video)
    if (None in s_parts) != (None in t_parts) and (len(s_parts) > 1 or len(t_parts) > 1):
        raise ValueError(f"spotted and truth must both name their videos (a {video!r} column or dict keys)")
    if None in s_parts or None in t_parts:
        s_parts = {0: next(iter(s_parts.values()))}
        t_parts = {0: next(iter(t_parts.values()))}
    names = list(dict.fromkeys([*t_parts, *s_parts]))
    empty = pd.DataFrame({"onset": pd.Series(dtype="int64"), "offset": pd.Series(dtype="int64")})
    tp = n_spot = n_true = 0
    matches = []
    for name in names:
        sp = s_parts.get(name, empty)
        tr = t_parts.get(name, empty)
        m = match_intervals(sp, tr, iou=iou)
        tp += len(m)
        n_spot += len(sp)
        n_true += len(tr)
        if len(m):
            m.insert(0, video, name)
            if "apex_truth" in m.columns:
                m["fps"] = _fps_of(fps, name, tr)
            matches.append(m)
    fp, fn = n_spot - tp, n_true - tp
    recall = tp / n_true if n_true else 0.0
    precision = tp / n_spot if n_spot else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    out = {"videos": len(names), "n_truth": n_true, "n_spotted": n_spot, "tp": tp, "fp": fp, "fn": fn,
           "recall": recall, "precision": precision, "f1": f1}
    table = pd.concat(matches, ignore_index=True) if matches else None
    has_apex = all(
        any(isinstance(p, pd.DataFrame) and "apex" in p.columns for p in parts.values())
        for parts in (s_parts, t_parts)
    )
    if has_apex:
        if table is not None and "apex_truth" in table.columns:
            err = apex_error(table["apex_spotted"], table["apex_truth"], fps=table["fps"].to_numpy())
        else:
            err = {"apex_mae_frames": float("nan"), "apex_mae_ms": float("nan")}
        out.update(err)
    out["matches"] = table
    return out


def _fps_of(fps, name, truth_part) -> float:
    if isinstance(fps, Mapping):
        value = fps.get(name)
    elif fps is not None:
        value = fps
    elif "fps" in truth_part.columns and len(truth_part):
        value = truth_part["fps"].iloc[0]
    else:
        value = None
    return float("nan") if value is None else float(value)


def apex_error(predicted, true, *, fps=None) -> dict:
    """Mean absolute apex error in frames (and in milliseconds when the fps is known).

    Parameters
    ----------
    predicted, true : array_like of int, shape (n,)
        Apex frame numbers.
    fps : float or array_like of float, optional
        Frame rate (one for all, or one per pair) for the error in milliseconds.

    Returns
    -------
    dict
        ``apex_mae_frames``, ``apex_mae_ms`` (NaN without fps or pairs), ``n``.

    Examples
    --------
    >>> apex_error([10, 22, 31], [12, 22, 30], fps=200)
    {'apex_mae_frames': 1.0, 'apex_mae_ms': 5.0, 'n': 3}
    """
    p = np.asarray(predicted, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"predicted has {p.size} apex frames but true has {t.size}")
    if p.size == 0:
        return {"apex_mae_frames": float("nan"), "apex_mae_ms": float("nan"), "n": 0}
    err = np.abs(p - t)
    ms = float("nan")
    if fps is not None:
        rate = np.broadcast_to(np.asarray(fps, dtype=np.float64), err.shape)
        if np.all(np.isfinite(rate)) and np.all(rate > 0):
            ms = float(np.mean(err / rate * 1000.0))
    return {"apex_mae_frames": float(err.mean()), "apex_mae_ms": ms, "n": int(p.size)}
