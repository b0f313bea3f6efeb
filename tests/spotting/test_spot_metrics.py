"""MEGC interval metrics on hand-made intervals (exact numbers)."""

import numpy as np
import pandas as pd
import pytest

from mer_lab.spotting import apex_error, interval_iou, match_intervals, spotting_scores


def test_iou_of_inclusive_frame_intervals():
    assert interval_iou((10, 19), (15, 24)) == pytest.approx(5 / 15)
    assert interval_iou((10, 19), (10, 19)) == 1.0
    assert interval_iou((0, 9), (2, 5)) == pytest.approx(4 / 10)
    assert interval_iou((0, 4), (5, 9)) == 0.0          # adjacent, nothing shared
    assert interval_iou((3, 3), (3, 3)) == 1.0          # one frame each
    m = interval_iou([(0, 9), (20, 29)], [(5, 14), (20, 29), (40, 41)])
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[5 / 15, 0, 0], [0, 1, 0]])


def test_iou_rejects_reversed_and_missing_intervals():
    with pytest.raises(ValueError, match="row 1: offset 3 comes before onset 5"):
        interval_iou([(0, 2), (5, 3)], [(0, 1)])
    with pytest.raises(ValueError, match="missing"):
        interval_iou(pd.DataFrame({"onset": [1.0], "offset": [np.nan]}), (0, 1))


def test_each_truth_and_each_spot_is_matched_once():
    # two spots on one expression: one TP, one FP
    m = match_intervals([(10, 19), (11, 20)], [(10, 19)])
    assert len(m) == 1 and m["spotted"][0] == 0 and m["iou"][0] == 1.0
    # one spot covering two expressions equally well: one TP, one FN
    m = match_intervals([(0, 19)], [(0, 9), (10, 19)], iou=0.5)
    assert len(m) == 1


def test_matching_maximises_the_number_of_hits():
    # Greedy by IoU would pair spot 0 with truth A (IoU 1) and leave spot 1 unmatched;
    # the best matching pairs spot 0 with B (IoU 7/13) and spot 1 with A (IoU 8/10).
    spots = [(0, 9), (0, 7)]
    truth = [(0, 9), (3, 12)]
    m = match_intervals(spots, truth)
    assert m[["spotted", "truth"]].values.tolist() == [[0, 1], [1, 0]]
    np.testing.assert_allclose(m["iou"], [7 / 13, 8 / 10])


def test_iou_threshold_is_inclusive():
    # IoU exactly 0.5: [0, 9] vs [0, 4] shares 5 of 10 frames
    assert len(match_intervals([(0, 9)], [(0, 4)], iou=0.5)) == 1
    assert len(match_intervals([(0, 9)], [(0, 3)], iou=0.5)) == 0


def test_scores_sum_counts_over_videos_before_the_ratios():
    truth = pd.DataFrame({"video": ["a", "a", "a", "b"], "onset": [10, 100, 200, 50], "offset": [29, 119, 219, 69],
                          "apex": [20, 110, 210, 60]})
    spots = pd.DataFrame({"video": ["a", "a", "b", "b", "c"],
                          "onset": [12, 300, 52, 500, 0], "offset": [31, 310, 71, 510, 5],
                          "apex": [23, 305, 58, 505, 2]})
    s = spotting_scores(spots, truth, fps=200)
    # a: 1 TP, 1 FP, 2 FN; b: 1 TP, 1 FP; c (no truth): 1 FP
    assert (s["tp"], s["fp"], s["fn"], s["n_truth"], s["n_spotted"], s["videos"]) == (2, 3, 2, 4, 5, 3)
    assert s["precision"] == pytest.approx(2 / 5)
    assert s["recall"] == pytest.approx(2 / 4)
    assert s["f1"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    # apex errors |23 - 20| = 3 and |58 - 60| = 2 frames -> 2.5 frames = 12.5 ms at 200 fps
    assert s["apex_mae_frames"] == pytest.approx(2.5)
    assert s["apex_mae_ms"] == pytest.approx(12.5)
    # pooled over videos, not averaged: the per-video F1 mean would be different
    assert s["matches"]["video"].tolist() == ["a", "b"]


def test_scores_accept_dicts_and_zero_denominators():
    s = spotting_scores({"v": pd.DataFrame({"onset": [], "offset": []})}, {"v": [(0, 9)]})
    assert (s["tp"], s["fp"], s["fn"]) == (0, 0, 1)
    assert s["precision"] == 0.0 and s["recall"] == 0.0 and s["f1"] == 0.0
    s = spotting_scores({"v": [(0, 9)]}, {"v": [(0, 9)]})
    assert s["f1"] == 1.0 and "apex_mae_frames" not in s


def test_apex_error_in_frames_and_ms():
    assert apex_error([10, 22, 31], [12, 22, 30], fps=200) == {"apex_mae_frames": 1.0, "apex_mae_ms": 5.0, "n": 3}
    out = apex_error([10, 20], [12, 20], fps=[100, 50])   # 2 frames at 100 fps = 20 ms; 0
    assert out["apex_mae_ms"] == pytest.approx(10.0)
    assert np.isnan(apex_error([1], [2])["apex_mae_ms"])
    with pytest.raises(ValueError, match="2 apex frames but true has 1"):
        apex_error([1, 2], [1])
