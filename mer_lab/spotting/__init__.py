"""Micro-expression spotting: where in a long video do rapid facial movements happen?

Two spotters and the MEGC interval metrics:

* :func:`feature_difference` / :func:`spot_intervals` - block LBP histograms, the
  chi-squared distance of each frame to the average of the frames ``k`` before and after,
  contrasted and thresholded (Moilanen et al. 2014; Li et al. 2018);
* :func:`fft_energy` / :func:`fft_apex` / :func:`fft_spot_intervals` - high-frequency
  energy of block-wise 3-D FFTs over a sliding window (Li, Huang and Zhao 2018): the apex
  of a clip, or peaks in a long video;
* :func:`spotting_scores` - TP/FP/FN with IoU >= 0.5, summed over a dataset, then recall,
  precision and F1, plus the apex error.

:func:`spot` runs either spotter by name; :func:`spot_videos` runs one over many videos
and scores it.

Examples
--------
>>> from mer_lab.datasets.synthetic import make_long_video
>>> from mer_lab.spotting import spot, spotting_scores
>>> cube, truth = make_long_video(n_expressions=2, n_macro=0, fps=50, seed=2, difficulty="easy")
>>> spots = spot(cube, method="fft_apex", p=0.3)
>>> sorted(spotting_scores(spots, truth))[:3]
['apex_mae_frames', 'apex_mae_ms', 'f1']
"""

from __future__ import annotations

import pandas as pd

from .._validate import check_choice
from .feature_difference import (
    LBP_MAPPINGS,
    MEAN_ME_LENGTH_S,
    default_interval,
    feature_difference,
    intervals_from_curve,
    lbp_block_histograms,
    spot_intervals,
    threshold,
)
from .fft_apex import MEASURES, TAPERS, default_window, fft_apex, fft_energy, fft_spot_intervals
from .metrics import MEGC_IOU, apex_error, interval_iou, match_intervals, spotting_scores

__all__ = [
    "SPOTTERS",
    "spot",
    "spot_videos",
    "MEAN_ME_LENGTH_S",
    "LBP_MAPPINGS",
    "default_interval",
    "lbp_block_histograms",
    "feature_difference",
    "threshold",
    "intervals_from_curve",
    "spot_intervals",
    "TAPERS",
    "MEASURES",
    "default_window",
    "fft_energy",
    "fft_apex",
    "fft_spot_intervals",
    "MEGC_IOU",
    "interval_iou",
    "match_intervals",
    "spotting_scores",
    "apex_error",
]

#: Spotters by name: ``cube -> DataFrame(onset, apex, offset, score)``.
SPOTTERS = {
    "feature_difference": spot_intervals,
    "fft_apex": fft_spot_intervals,
}


def spot(cube, *, method: str = "feature_difference", p: float = 0.5, **params) -> pd.DataFrame:
    """Spot movements in a long clip with a named spotter.

    Parameters
    ----------
    cube : xarray.DataArray, dims (time, y, x)
        A long clip of an aligned face.
    method : {"feature_difference", "fft_apex"}
        ``"feature_difference"``: :func:`spot_intervals`; ``"fft_apex"``:
        :func:`fft_spot_intervals`.
    p : float in [0, 1]
        Threshold parameter.
    **params
        Keyword arguments of the spotter (``k``, ``blocks``, ``window``, ...).

    Returns
    -------
    pandas.DataFrame
        ``onset``, ``apex``, ``offset`` (frame numbers) and ``score``.
    """
    import inspect

    check_choice("method", method, list(SPOTTERS))
    func = SPOTTERS[method]
    accepted = [name for name, par in inspect.signature(func).parameters.items()
                if par.kind is inspect.Parameter.KEYWORD_ONLY and name != "p"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"{method} has no parameter {', '.join(map(repr, unknown))}; "
                         f"its parameters are: {', '.join(accepted)}")
    return func(cube, p=p, **params)


def spot_videos(videos, *, method: str = "feature_difference", p: float = 0.5, iou: float = MEGC_IOU,
                progress: bool = False, **params):
    """Spot every video of a collection and score the result the MEGC way.

    Parameters
    ----------
    videos : iterable of (name, cube, truth)
        ``truth`` is a DataFrame of ground-truth intervals (``onset``, ``offset``,
        optionally ``apex``) of that video.
    method, p, **params
        See :func:`spot`.
    iou : float
        IoU from which a spotted interval is a hit.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    spots : pandas.DataFrame
        Every spotted interval with a ``video`` column, ``truth`` (the row position of
        the matched ground-truth interval in its video, -1 if none) and ``iou``.
    truth : pandas.DataFrame
        Every ground-truth interval with a ``video`` column and ``fps``.
    scores : dict
        :func:`spotting_scores` of the whole collection.
    """
    check_choice("method", method, list(SPOTTERS))
    if progress:
        from tqdm.auto import tqdm

        videos = tqdm(videos, desc=f"spotting ({method})", unit="video")
    spot_parts, truth_parts = [], []
    for name, cube, truth in videos:
        found = spot(cube, method=method, p=p, **params)
        matched = match_intervals(found, truth, iou=iou)
        found = found.assign(video=name, truth=-1, iou=0.0)
        if len(matched):
            found.loc[matched["spotted"].to_numpy(), "truth"] = matched["truth"].to_numpy()
            found.loc[matched["spotted"].to_numpy(), "iou"] = matched["iou"].to_numpy()
        spot_parts.append(found)
        truth_parts.append(truth.assign(video=name, fps=float(cube.attrs["fps"])))
    columns = ["video", "onset", "apex", "offset", "score", "truth", "iou"]
    spots = pd.concat(spot_parts, ignore_index=True)[columns] if spot_parts else pd.DataFrame(columns=columns)
    truth = pd.concat(truth_parts, ignore_index=True) if truth_parts else pd.DataFrame(
        columns=["video", "onset", "apex", "offset", "fps"])
    if len(truth):
        truth = truth[["video", *[c for c in truth.columns if c != "video"]]]
    scores = spotting_scores(spots, truth, iou=iou)
    return spots, truth, scores
