"""The synthetic corpus: known truths about its table, its motion and its ground truth."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import ndimage

from mer_lab.cube import key_frames, validate_cube
from mer_lab.datasets import _motion
from mer_lab.datasets._face import build_face, sample_identity
from mer_lab.datasets.synthetic import (
    BALANCES,
    difficulty_knobs,
    make_corpus,
    make_long_video,
)

CLEAN = dict(noise=0, drift=0, rotation=0, blink=0, flicker=0)


def sample_at(field, points):
    """Cubic-spline sample of a (2, H, W) field at (n, 2) points (x, y) -> (n, 2) (u, v)."""
    coords = [points[:, 1], points[:, 0]]
    return np.stack([ndimage.map_coordinates(field[c].astype(float), coords, order=3) for c in range(2)], axis=1)


def small(**kw):
    args = dict(n_subjects=2, clips_per_subject=5, seed=3)
    args.update(kw)
    return make_corpus(**args)


# --------------------------------------------------------------------------- table
def test_default_table_has_the_documented_columns_and_names():
    corpus = make_corpus()
    s = corpus.samples
    assert len(corpus) == 120
    for col in ["dataset", "subject", "sample", "emotion", "label", "onset", "apex", "offset", "n_frames", "fps",
                "action_units", "amplitude", "difficulty"]:
        assert col in s.columns
    assert set(s["dataset"]) == {"synthetic"}
    assert sorted(s["subject"].unique()) == [f"S{i:02d}" for i in range(1, 13)]
    assert s.index[2] == "synthetic/S01_003"
    assert (s["label"] == s["emotion"]).all()
    assert sorted(s["emotion"].unique()) == ["disgust", "happiness", "others", "repression", "surprise"]
    assert ((0 < s["onset"]) & (s["onset"] < s["apex"]) & (s["apex"] < s["offset"])
            & (s["offset"] < s["n_frames"] - 1)).all()
    duration = (s["offset"] - s["onset"]) / s["fps"]
    assert duration.between(0.2 - 0.011, 0.5 + 0.011).all()
    assert (s["action_units"].str.len() > 0).all()
    lo, hi = difficulty_knobs("default")["amplitude"]
    assert s["amplitude"].between(lo, hi).all()
    assert s["n_frames"].between(30, 90).all()


def test_cube_follows_the_cube_convention_and_matches_the_table():
    corpus = small(first_frame=10)
    row = corpus.samples.iloc[1]
    cube = corpus.cube(1)
    validate_cube(cube, grey=True)
    assert cube.dtype == np.uint8 and cube.dims == ("time", "y", "x")
    assert cube.shape == (row["n_frames"], 96, 96)
    assert cube["frame"].values[0] == 10
    for key in ("onset", "apex", "offset"):
        assert cube.attrs[key] == row[key]
    assert cube.attrs["dataset"] == "synthetic" and cube.attrs["sample"] == row["sample"]
    assert cube.attrs["action_units"] == row["action_units"]
    assert cube.attrs["amplitude"] == pytest.approx(row["amplitude"])
    k = key_frames(cube)
    assert k["onset"] == row["onset"] - 10


def test_other_sizes_and_frame_rates():
    corpus = make_corpus(n_subjects=1, clips_per_subject=2, size=64, fps=200, seed=1)
    cube = corpus.cube(0)
    assert cube.shape[1:] == (64, 64)
    row = corpus.samples.iloc[0]
    assert 0.2 - 0.006 <= (row["offset"] - row["onset"]) / 200 <= 0.5 + 0.006
    truth = corpus.ground_truth(0)
    assert truth["flow_apex"].shape == (2, 64, 64)


# --------------------------------------------------------------------------- determinism
def test_same_seed_same_arrays_different_seed_different():
    a = small(cache_clips=0)
    b = small(cache_clips=0)
    uid = a.uids[4]
    # render b's clips in another order first: results must not depend on it
    for other in b.uids[::-1]:
        b.cube(other)
    np.testing.assert_array_equal(a.cube(uid).values, b.cube(uid).values)
    np.testing.assert_array_equal(a.ground_truth(uid)["flow_apex"].values, b.ground_truth(uid)["flow_apex"].values)
    c = small(seed=4)
    assert not np.array_equal(a.cube(0).values, c.cube(0).values)


def test_cache_hands_out_copies():
    corpus = small()
    first = corpus.cube(0)
    first.values[:] = 0
    assert corpus.cube(0).values.max() > 0
    truth = corpus.ground_truth(0)
    truth["flow_apex"].values[:] = 0
    truth["landmarks"].values[:] = 0
    again = corpus.ground_truth(0)
    assert np.abs(again["flow_apex"].values).max() > 0 and again["landmarks"].values.min() > 0


def test_corpus_survives_pickling():
    corpus = small()
    clone = pickle.loads(pickle.dumps(corpus))
    np.testing.assert_array_equal(clone.cube(2).values, corpus.cube(2).values)


# --------------------------------------------------------------------------- motion truths
def test_happiness_moves_lip_corners_outward_and_up_and_not_the_forehead():
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, classes=["happiness"], difficulty=0, seed=5)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        amp = truth.attrs["amplitude"]
        expr = truth["flow_apex_expression"].values
        lm = truth["landmarks"].values[truth.attrs["onset"]]
        left, right = sample_at(expr, lm[[48, 54]])
        assert left[0] < 0 and left[1] < 0  # image-left corner: leftwards and up
        assert right[0] > 0 and right[1] < 0
        for corner in (left, right):
            assert 0.6 * amp <= np.hypot(*corner) <= 1.05 * amp  # (spline sampling may overshoot a little)
        assert np.hypot(expr[0], expr[1]).max() == pytest.approx(amp, rel=1e-5)
        # the forehead (well above the brows) and the chin do not move without brow/chin AUs
        scale = truth.attrs["face_scale"]
        forehead = lm[[19, 24]] - [0, 0.45 * scale]
        chin = lm[[8]] - [0, 0.05 * scale]
        assert np.abs(sample_at(expr, forehead)).max() < 1e-6
        assert np.abs(sample_at(expr, chin)).max() < 1e-6


def test_surprise_raises_the_brows():
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, classes=["surprise"], difficulty=0, seed=6)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        amp = truth.attrs["amplitude"]
        lm = truth["landmarks"].values[truth.attrs["onset"]]
        brows = sample_at(truth["flow_apex_expression"].values, lm[17:27])
        assert (brows[:, 1] < -0.3 * amp).all()
        assert np.abs(brows[:, 0]).max() < 0.35 * amp


def _face(seed=2, size=96):
    return build_face(sample_identity(np.random.default_rng(seed)), size)


# AU -> (landmark, expected direction (sign of u for the image-left point, sign of v)); 0 = any
AU_DIRECTIONS = {
    1: (21, 0, -1), 2: (17, 0, -1), 4: (21, +1, +1), 5: (37, 0, -1), 7: (41, 0, -1), 9: (31, 0, -1),
    10: (50, 0, -1), 12: (48, -1, -1), 14: (48, +1, 0), 15: (48, 0, +1), 17: (8, 0, -1), 18: (48, +1, 0),
    20: (48, -1, 0), 23: (48, +1, 0), 26: (8, 0, +1),
}


@pytest.mark.parametrize("au", sorted(AU_DIRECTIONS))
def test_each_action_unit_moves_its_region_in_the_anatomical_direction(au):
    face = _face()
    expr = _motion.make_expression(face, [(au, "", 1.0)], 1.0)
    point, su, sv = AU_DIRECTIONS[au]
    d = expr.at(face.landmarks[[point, _motion.MIRROR[point]]])
    for k, (u, v) in enumerate(d):
        mirror = -1 if k == 1 else 1
        if su:
            assert np.sign(u) == su * mirror, (au, d)
        if sv:
            assert np.sign(v) == sv, (au, d)
        assert np.hypot(u, v) > 0.3
    # motion stays local: the far side of the face does not move
    far = {"upper": face.landmarks[[8, 57]], "lower": face.landmarks[[19, 24]]}
    region = "upper" if point in (17, 21, 37, 41, 31) and au not in (9,) else "lower"
    if au in (9, 10):
        region = None
    if region:
        assert np.abs(expr.at(far[region])).max() < 1e-9


@pytest.mark.parametrize("aus, amplitude", [([(12, "", 1.0), (6, "", 0.7)], 1.5), ([(1, "", 1.0), (2, "", 1.0)], 4.0),
                                             ([(24, "", 1.0)], 2.0)])
def test_renderer_inverts_the_forward_map(aus, amplitude):
    """Each frame pixel q shows the base point p with T(p + D(p)) = q (to a few hundredths of a pixel)."""
    face = _face(seed=3)
    expr = _motion.make_expression(face, aus, amplitude)
    assert np.hypot(*expr.frame_grid().T).max() == pytest.approx(amplitude)
    head = _motion.HeadMotion(np.array([0.7]), np.array([-0.4]), np.array([1.5]), face.centre)
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float32)
    mx, my = head.inverse_maps(xx, yy)
    px, py = _motion.solve_expression(mx[0], my[0], [expr], [1.0], margin=face.margin)
    p = np.stack([px, py], axis=-1).astype(float)
    q = head.forward(0, p + expr.at(p))
    err = np.hypot(*(q - np.stack([xx, yy], axis=-1)).T)
    assert err.max() < 0.05 and err.mean() < 0.005


def test_inner_and_outer_brow_raisers_differ_where_they_pull_most():
    face = _face()
    au1 = _motion.make_expression(face, [(1, "", 1.0)], 1.0).at(face.landmarks[[21, 17]])
    au2 = _motion.make_expression(face, [(2, "", 1.0)], 1.0).at(face.landmarks[[21, 17]])
    assert -au1[0, 1] > -au1[1, 1]  # AU1 lifts the inner end more
    assert -au2[1, 1] > -au2[0, 1]  # AU2 the outer end


def test_unilateral_contempt_moves_one_lip_corner():
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, classes=["contempt"], difficulty=0, seed=2)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        side = truth.attrs["action_units"][0]
        assert side in "RL"
        lm = truth["landmarks"].values[truth.attrs["onset"]]
        left, right = np.hypot(*sample_at(truth["flow_apex_expression"].values, lm[[48, 54]]).T)
        moving, still = (left, right) if side == "R" else (right, left)  # subject's right = image left
        assert moving > 0.5 * truth.attrs["amplitude"] and still < 1e-6


def test_landmarks_follow_the_motion_field():
    corpus = make_corpus(n_subjects=2, clips_per_subject=4, blink=0, drift=2, rotation=1.5, seed=7)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        lm = truth["landmarks"].values
        on, ap = truth.attrs["onset"], truth.attrs["apex"]
        moved = lm[ap] - lm[on]
        expected = sample_at(truth["flow_apex"].values, lm[on].astype(float))
        np.testing.assert_allclose(moved, expected, atol=0.03)


def test_warping_by_the_truth_field_reproduces_the_frames():
    """The convention: onset(y, x) ~ apex(y + v, x + u), with head motion and expression."""
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, difficulty=0, drift=1.5, rotation=1.0, seed=8)
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    inner = (slice(6, -6), slice(6, -6))
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        truth = corpus.ground_truth(uid)
        k = key_frames(cube)
        onset = cube.values[k["onset"]].astype(float)
        apex = cube.values[k["apex"]].astype(float)
        u, v = truth["flow_apex"].values
        back = ndimage.map_coordinates(apex, [yy + v, xx + u], order=3, mode="nearest")
        wrong = ndimage.map_coordinates(apex, [yy - v, xx - u], order=3, mode="nearest")
        err = np.abs(back - onset)[inner].mean()
        # two independently rounded uint8 frames differ by about 1/3 grey level on average
        assert err < 0.5
        assert err < 0.5 * np.abs(apex - onset)[inner].mean()
        assert err < 0.2 * np.abs(wrong - onset)[inner].mean()


def test_expression_only_warp_is_exact_up_to_rounding():
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, difficulty=0, seed=8)
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        truth = corpus.ground_truth(uid)
        k = key_frames(cube)
        onset = cube.values[k["onset"]].astype(float)
        apex = cube.values[k["apex"]].astype(float)
        u, v = truth["flow_apex_expression"].values
        np.testing.assert_allclose(u, truth["flow_apex"].values[0], atol=1e-6)  # no head motion here
        back = ndimage.map_coordinates(apex, [yy + v, xx + u], order=3, mode="nearest")
        moving = np.hypot(u, v) > 0.05
        assert np.abs(back - onset)[moving].mean() < 0.25 * np.abs(apex - onset)[moving].mean()


def test_clean_clip_is_still_before_onset_and_changes_only_where_the_expression_acts():
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, difficulty=0, seed=9)
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        k = key_frames(cube)
        frames = cube.values.astype(int)
        assert (frames[: k["onset"] + 1] == frames[0]).all()
        assert (frames[k["offset"]:] == frames[0]).all()
        truth = corpus.ground_truth(uid)
        moving = np.hypot(*truth["flow_apex_expression"].values) > 0
        near = ndimage.binary_dilation(moving, iterations=2)
        changed = frames[k["apex"]] != frames[k["onset"]]
        assert changed.any()
        assert not (changed & ~near).any()


def test_amplitude_and_action_units_are_reported_consistently():
    corpus = small(difficulty=0.1)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        row = corpus.row(uid)
        peak = np.hypot(*truth["flow_apex_expression"].values).max()
        assert peak == pytest.approx(row["amplitude"], rel=1e-5)
        assert "+".join(truth["au"].values) == row["action_units"]
        for key in ("onset", "apex", "offset"):
            assert truth.attrs[key] == row[key]
        assert truth["expression"].values[row["apex"]] == 1.0
        assert truth["expression"].values[row["onset"]] == 0.0
        assert truth["expression"].values[row["offset"]] == 0.0
        assert truth["landmarks"].dims == ("time", "point", "coord")
        assert list(truth["component"].values) == ["u", "v"]
        assert list(truth["coord"].values) == ["x", "y"]


def test_others_avoid_the_action_units_that_define_the_other_classes():
    corpus = make_corpus(n_subjects=6, clips_per_subject=10, classes=["happiness", "surprise", "others"], seed=1)
    others = corpus.samples.loc[corpus.samples["emotion"] == "others", "action_units"]
    for aus in others:
        numbers = {int(a.lstrip("RL")) for a in aus.split("+")}
        assert not numbers & {12, 1, 2}


# --------------------------------------------------------------------------- distractors
def test_noise_knob_sets_the_noise_sigma_and_leaves_other_distractors_alone():
    quiet = small(noise=0)
    loud = small(noise=4)
    a = quiet.cube(0).values.astype(float)
    b = loud.cube(0).values.astype(float)
    ok = (a > 20) & (a < 235)
    assert np.std((b - a)[ok]) == pytest.approx(4.0, rel=0.08)
    np.testing.assert_array_equal(quiet.ground_truth(0)["head_dx"], loud.ground_truth(0)["head_dx"])


def test_flicker_is_a_global_gain():
    corpus = small(**{**CLEAN, "flicker": 0.05}, difficulty=0)
    cube = corpus.cube(0)
    gain = corpus.ground_truth(0)["gain"].values
    frames = cube.values.astype(float)
    ratio = frames[:, 30:60, 30:60].mean(axis=(1, 2)) / frames[0, 30:60, 30:60].mean()
    np.testing.assert_allclose(ratio, gain / gain[0], atol=0.01)
    assert np.ptp(gain) > 0.03


def test_blinks_close_the_eyes_and_move_the_upper_lid_landmarks():
    corpus = small(**{**CLEAN, "blink": 1.0}, difficulty=0)
    for uid in corpus.uids:
        truth = corpus.ground_truth(uid)
        closure = truth["blink"].values
        assert closure.max() > 0.3
        t = int(closure.argmax())
        lm = truth["landmarks"].values
        assert lm[t, 37, 1] - lm[0, 37, 1] > 0.5 * closure[t] * (lm[0, 41, 1] - lm[0, 37, 1])
        frames = corpus.cube(uid).values.astype(float)
        x, y = lm[0, 36:42].mean(0).round().astype(int)
        assert np.abs(frames[t, y - 2:y + 3, x - 2:x + 3] - frames[0, y - 2:y + 3, x - 2:x + 3]).mean() > 5
    blink_free = small(**CLEAN, difficulty=0)
    assert blink_free.ground_truth(0)["blink"].values.max() == 0


def test_head_motion_moves_the_whole_face_and_the_landmarks():
    corpus = small(**{**CLEAN, "drift": 3.0, "rotation": 2.0}, difficulty=0)
    truth = corpus.ground_truth(0)
    dx, dy, angle = truth["head_dx"].values, truth["head_dy"].values, truth["head_angle"].values
    assert dx[0] == dy[0] == angle[0] == 0
    assert np.hypot(dx, dy).max() <= 3.0 + 1e-6 and np.hypot(dx, dy).max() >= 1.5
    assert np.abs(angle).max() <= 2.0 + 1e-6
    # away from the expression the total motion is the head's
    moving = np.hypot(*truth["flow_apex_expression"].values) > 0
    still = ~ndimage.binary_dilation(moving, iterations=6)
    np.testing.assert_allclose(truth["flow_apex"].values[:, still], truth["flow_apex_head"].values[:, still], atol=1e-5)
    # the nose-bridge landmark (no AU moves it here) follows the head
    lm = truth["landmarks"].values
    cx, cy = truth.attrs["head_center_x"], truth.attrs["head_center_y"]
    th = np.deg2rad(angle[-1])
    p = lm[0, 27] - [cx, cy]
    expected = [np.cos(th) * p[0] - np.sin(th) * p[1] + cx + dx[-1], np.sin(th) * p[0] + np.cos(th) * p[1] + cy + dy[-1]]
    np.testing.assert_allclose(lm[-1, 27], expected, atol=1e-4)


@pytest.mark.parametrize("difficulty", ["easy", "default", "hard", 0.0, 1.0])
def test_frames_are_valid_images(difficulty):
    corpus = small(difficulty=difficulty, n_subjects=1, clips_per_subject=2)
    frames = corpus.cube(1).values
    assert frames.dtype == np.uint8
    assert frames.min() < 90 and frames.max() > 140  # a face, not a flat or saturated frame
    assert np.isin(frames, [0, 255]).mean() < 0.01


def test_difficulty_knobs_grow_together_and_can_be_overridden():
    easy, default, hard = (difficulty_knobs(d) for d in ("easy", "default", "hard"))
    for key in ("noise", "drift", "rotation", "blink", "flicker"):
        assert easy[key] < default[key] < hard[key]
    assert easy["amplitude"][1] > default["amplitude"][1] > hard["amplitude"][1]
    assert difficulty_knobs(0.5) == default
    clean = difficulty_knobs(0)
    assert all(clean[k] == 0 for k in ("noise", "drift", "rotation", "blink", "flicker"))
    assert difficulty_knobs("hard", noise=0, amplitude=1.0)["amplitude"] == (1.0, 1.0)
    between = difficulty_knobs(0.75)
    assert default["noise"] < between["noise"] < hard["noise"]


# --------------------------------------------------------------------------- balance
def test_balanced_classes_and_every_subject_sees_every_class():
    corpus = make_corpus(n_subjects=4, clips_per_subject=10)
    assert corpus.class_counts().tolist() == [8, 8, 8, 8, 8]
    for _, group in corpus.samples.groupby("subject"):
        assert group["emotion"].nunique() == 5


def test_casme2_balance_gives_the_coding_file_counts():
    corpus = make_corpus(n_subjects=13, clips_per_subject=19, balance="casme2")
    assert corpus.class_counts().to_dict() == {"others": 99, "disgust": 63, "happiness": 33, "repression": 27,
                                               "surprise": 25}


def test_named_balances_choose_their_class_sets_and_proportions():
    smic = make_corpus(n_subjects=4, clips_per_subject=41, balance="smic")
    assert smic.class_counts().to_dict() == BALANCES["smic"]
    samm = make_corpus(n_subjects=4, clips_per_subject=10, balance="samm")
    assert set(samm.classes) == {"anger", "contempt", "happiness", "surprise", "others"}
    counts = samm.class_counts()
    assert counts.index[0] == "anger"
    seven = make_corpus(n_subjects=1, clips_per_subject=257,
                        classes=["others", "disgust", "happiness", "repression", "surprise", "sadness", "fear"],
                        balance="casme2")
    assert seven.class_counts()["sadness"] == 8 and seven.class_counts()["fear"] == 2


def test_dict_balance_and_smic_style_classes():
    corpus = make_corpus(n_subjects=4, clips_per_subject=10, balance={"negative": 3, "positive": 1})
    assert corpus.class_counts().to_dict() == {"negative": 30, "positive": 10}
    negatives = corpus.samples.loc[corpus.samples["emotion"] == "negative", "action_units"]
    assert negatives.nunique() > 3  # drawn from several negative emotions
    positives = corpus.samples.loc[corpus.samples["emotion"] == "positive", "action_units"]
    assert positives.str.contains("12").all()


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, name", [
    (dict(n_subjects=0), "n_subjects"),
    (dict(clips_per_subject=0), "clips_per_subject"),
    (dict(classes=["happiness", "joy"]), "classes"),
    (dict(classes=["happiness", "happiness"]), "twice"),
    (dict(classes="happiness"), "classes"),
    (dict(amplitude=-1.0), "amplitude"),
    (dict(amplitude=(2.0, 1.0)), "amplitude"),
    (dict(balance="casme3"), "balance"),
    (dict(balance={"happiness": 1}, classes=["happiness", "surprise"]), "balance"),
    (dict(balance="smic", classes=["happiness", "anger"]), "balance"),
    (dict(difficulty="extreme"), "difficulty"),
    (dict(difficulty=1.5), "difficulty"),
    (dict(noise=-2), "noise"),
    (dict(blink=2), "blink"),
    (dict(fps=5), "fps"),
    (dict(size=8), "size"),
    (dict(seed=-1), "seed"),
])
def test_bad_parameters_raise_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_corpus(**kwargs)


# --------------------------------------------------------------------------- long videos
def test_long_video_places_expressions_at_known_times():
    cube, intervals, truth = make_long_video(n_expressions=3, n_macro=1, seed=2, difficulty=0, return_truth=True)
    fps = cube.attrs["fps"]
    assert cube.sizes["time"] == round((2 + 1.5 * 4) * fps)
    assert list(intervals.columns[:5]) == ["onset", "apex", "offset", "emotion", "type"]
    assert intervals["type"].value_counts().to_dict() == {"micro": 3, "macro": 1}
    assert (intervals["onset"].diff().dropna() > 0).all()
    assert (intervals["onset"].iloc[1:].to_numpy() > intervals["offset"].iloc[:-1].to_numpy()).all()
    length = (intervals["offset"] - intervals["onset"]) / fps
    micro = intervals["type"] == "micro"
    assert length[micro].between(0.2 - 0.011, 0.5 + 0.011).all()
    assert (length[~micro] > 0.5).all()
    assert (intervals.loc[~micro, "amplitude"] > intervals.loc[micro, "amplitude"].max()).all()
    # without distractors, frames change only inside the intervals
    frames = cube.values.astype(int)
    changed = np.flatnonzero((frames != frames[0]).any(axis=(1, 2)))
    inside = np.zeros(len(frames), bool)
    for _, r in intervals.iterrows():
        inside[r["onset"]:r["offset"] + 1] = True
    assert inside[changed].all()
    profiles = truth["expression"].values
    assert profiles.shape == (4, len(frames))
    np.testing.assert_array_equal(profiles.argmax(axis=1), intervals["apex"].to_numpy())


def test_long_video_defaults_have_distractors_and_reject_impossible_lengths():
    cube, intervals = make_long_video(n_expressions=2, n_macro=0, seed=1, blink=2.0)
    assert len(intervals) == 2 and cube.dtype == np.uint8
    _, _, truth = make_long_video(n_expressions=2, n_macro=0, seed=1, blink=2.0, return_truth=True)
    assert truth["blink"].values.max() > 0.5
    assert np.abs(truth["head_dx"].values).max() > 0
    with pytest.raises(ValueError, match="duration_s"):
        make_long_video(n_expressions=5, duration_s=1.0)
    with pytest.raises(ValueError, match="subject"):
        make_long_video(subject="X1")


def test_long_video_uses_the_corpus_face_of_the_same_subject_and_seed():
    corpus = make_corpus(n_subjects=3, clips_per_subject=1, seed=11, difficulty=0)
    cube, _ = make_long_video(n_expressions=1, n_macro=0, seed=11, subject="S02", difficulty=0)
    clip = corpus.filter(subject="S02")
    np.testing.assert_array_equal(cube.values[0], corpus.cube(clip.uids[0]).values[0])


# --------------------------------------------------------------------------- regression
# sha256 of clips, tables and truths computed with the motion-only corpus before the
# appearance and idiosyncrasy knobs existed: with both at 0 the corpus must not change.
MOTION_ONLY_DIGEST = "1a8e9e84d316813f8be6206e5ee17c247e0344a9635aae9a73e0199c0201e074"


def test_motion_only_corpus_is_bit_for_bit_the_one_before_appearance_and_idiosyncrasy():
    import hashlib

    h = hashlib.sha256()
    for kw in (dict(n_subjects=2, clips_per_subject=3, seed=11),
               dict(n_subjects=2, clips_per_subject=2, seed=5, difficulty="hard", balance="smic", size=64)):
        corpus = make_corpus(appearance=0, idiosyncrasy=0, **kw)
        table = corpus.samples[["emotion", "onset", "apex", "offset", "n_frames", "action_units"]]
        h.update(table.to_csv().encode())
        for i in range(len(corpus)):
            h.update(np.ascontiguousarray(corpus.cube(i).values).tobytes())
        truth = corpus.ground_truth(0)
        h.update(np.round(truth["flow_apex"].values.astype(np.float64), 4).tobytes())
        h.update(np.round(truth["landmarks"].values.astype(np.float64), 4).tobytes())
    cube, intervals = make_long_video(n_expressions=2, n_macro=1, seed=2)
    h.update(np.ascontiguousarray(cube.values).tobytes())
    h.update(intervals.to_csv().encode())
    assert h.hexdigest() == MOTION_ONLY_DIGEST
