"""Appearance layers of the synthetic corpus: where they act, when, and what the truth says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mer_lab.cube import key_frames
from mer_lab.datasets import _motion
from mer_lab.datasets._appearance import APPEARANCE_TABLE, make_appearance
from mer_lab.datasets._face import build_face, sample_identity
from mer_lab.datasets.synthetic import difficulty_knobs, make_corpus

CLEAN = dict(difficulty=0, noise=0, drift=0, rotation=0, blink=0, flicker=0)


def _face(seed=2, size=96):
    return build_face(sample_identity(np.random.default_rng(seed)), size)


def _render(face, aus, amplitude, depth, n=21, onset=3, apex=10, offset=17):
    expr = _motion.make_expression(face, aus, amplitude)
    profile = _motion.raised_cosine_profile(n, onset, apex, offset)
    head = _motion.HeadMotion(np.zeros(n), np.zeros(n), np.zeros(n), face.centre)
    layer = make_appearance(face, aus, depth, widen=expr.widen, skin_seed=4) if depth else None
    frames = _motion.render(face, n_frames=n, expressions=[expr], profiles=[profile], head=head,
                            closure=np.zeros(n), gain=np.ones(n), noise=0.0, rng=np.random.default_rng(0),
                            layers=[layer])
    return frames.astype(float), expr, profile


@pytest.mark.parametrize("au", sorted(APPEARANCE_TABLE))
@pytest.mark.parametrize("side", ["", "R"])
def test_appearance_changes_pixels_only_where_its_action_unit_moves(au, side):
    face = _face()
    plain, expr, _ = _render(face, [(au, side, 1.0)], 1.0, 0.0)
    shaded, _, _ = _render(face, [(au, side, 1.0)], 1.0, 12.0)
    changed = np.abs(shaded - plain).max(axis=0) > 0
    support = np.hypot(*np.moveaxis(expr.frame_grid(), -1, 0)) > 0
    if not support.any():  # a midline AU (17) on one side only does not act at all
        assert not changed.any()
        return
    assert changed.sum() >= 4, "the layer must show"
    # the AU's region: where its motion field is non-zero, widened by the motion (1 px)
    # and the cubic sampling kernel (2 px)
    region = ndimage.binary_dilation(support, iterations=3)
    assert not (changed & ~region).any()
    if side == "R":  # the subject's right is the image left: nothing right of the midline
        midline = face.centre[0]
        cols = np.flatnonzero(changed.any(axis=0))
        assert cols.max() < midline + 2


def test_appearance_is_zero_at_onset_and_offset_and_largest_at_apex():
    face = _face(seed=5)
    aus = [(12, "", 1.0), (6, "", 0.7)]
    plain, _, profile = _render(face, aus, 1.2, 0.0)
    shaded, _, _ = _render(face, aus, 1.2, 10.0)
    per_frame = np.abs(shaded - plain).sum(axis=(1, 2))
    onset, apex, offset = 3, 10, 17
    assert per_frame[onset] == 0 and per_frame[offset] == 0
    assert (per_frame[:onset + 1] == 0).all() and (per_frame[offset:] == 0).all()
    assert int(np.argmax(per_frame)) == apex
    # strength follows a(t): the change grows with the intensity profile
    active = (profile > 0.05)
    assert np.corrcoef(per_frame[active], profile[active])[0, 1] > 0.98


def test_appearance_knob_zero_changes_nothing_and_grows_the_change():
    base = make_corpus(n_subjects=1, clips_per_subject=3, seed=4, appearance=0, **CLEAN)
    weak = make_corpus(n_subjects=1, clips_per_subject=3, seed=4, appearance=5, **CLEAN)
    strong = make_corpus(n_subjects=1, clips_per_subject=3, seed=4, appearance=20, **CLEAN)
    grew = 0
    for uid in base.uids:
        a, b, c = (x.cube(uid).values.astype(float) for x in (base, weak, strong))
        if np.abs(c - a).sum() == 0:  # a clip whose AUs have no appearance cue
            assert base.row(uid)["action_units"] != ""
            continue
        grew += 1
        assert np.abs(c - a).sum() > 2 * np.abs(b - a).sum() > 0
    assert grew > 0


def test_ground_truth_holds_the_appearance_change_at_the_apex():
    """onset(q) + appearance_apex(q) ~ apex(q + flow(q)), within the rounding of the frames."""
    corpus = make_corpus(n_subjects=2, clips_per_subject=3, classes=["happiness", "surprise"], seed=6,
                         appearance=15, **{**CLEAN, "drift": 1.0, "rotation": 0.5})
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    checked = 0
    for uid in corpus.uids:
        cube = corpus.cube(uid)
        truth = corpus.ground_truth(uid)
        change = truth["appearance_apex"].values
        assert truth["appearance_apex"].dims == ("y", "x")
        peaks = truth["au_appearance"].values
        assert 0.5 * peaks.max() <= np.abs(change).max() <= 1.01 * peaks.sum()
        k = key_frames(cube)
        onset = cube.values[k["onset"]].astype(float)
        apex = cube.values[k["apex"]].astype(float)
        u, v = truth["flow_apex"].values
        back = ndimage.map_coordinates(apex, [yy + v, xx + u], order=3, mode="nearest")
        seen = back - onset
        strong = np.abs(change) > 3
        assert strong.sum() > 5
        inner = np.zeros_like(strong)
        inner[4:-4, 4:-4] = True
        # with the layer the residual is rounding only; without it, the layer's size
        # (two cubic resamplings of detail 3-4 px across leave 10-20% of it)
        assert np.abs(seen - change)[strong & inner].mean() < 0.3 * np.abs(change)[strong & inner].mean()
        checked += 1
    assert checked == len(corpus)


def test_flow_truth_does_not_depend_on_the_appearance_knob():
    off = make_corpus(n_subjects=1, clips_per_subject=2, seed=3, appearance=0)
    on = make_corpus(n_subjects=1, clips_per_subject=2, seed=3, appearance=20)
    for uid in off.uids:
        a, b = off.ground_truth(uid), on.ground_truth(uid)
        np.testing.assert_array_equal(a["flow_apex"].values, b["flow_apex"].values)
        np.testing.assert_array_equal(a["landmarks"].values, b["landmarks"].values)
        assert np.abs(a["appearance_apex"].values).max() == 0


def test_appearance_knob_in_the_difficulty_table():
    clean, easy, default, hard = (difficulty_knobs(d) for d in (0, "easy", "default", "hard"))
    assert clean["appearance"] == 0 and clean["idiosyncrasy"] == 0
    assert easy["appearance"] >= default["appearance"] >= hard["appearance"] > 0
    assert easy["idiosyncrasy"] < default["idiosyncrasy"] < hard["idiosyncrasy"] <= 1
    assert difficulty_knobs("hard", appearance=0)["appearance"] == 0


@pytest.mark.parametrize("kwargs, name", [(dict(appearance=-1), "appearance"), (dict(appearance=61), "appearance"),
                                          (dict(idiosyncrasy=1.5), "idiosyncrasy"),
                                          (dict(idiosyncrasy=-0.1), "idiosyncrasy")])
def test_out_of_range_knobs_name_the_knob_and_the_range(kwargs, name):
    with pytest.raises(ValueError, match=name) as err:
        make_corpus(**kwargs)
    assert "[0, " in str(err.value)


@pytest.mark.parametrize("au", sorted(APPEARANCE_TABLE))
def test_appearance_creases_cover_the_region_the_action_unit_moves(au):
    """Skin bunching shows over the AU's whole region, not only along its wrinkle lines:
    at a depth of 12 grey levels the layer changes most pixels where the AU moves the skin
    by at least a quarter of its largest displacement (wrinkles and furrows alone: 0-50%)."""
    face = _face()
    expr = _motion.make_expression(face, [(au, "", 1.0)], 1.0)
    moved = np.hypot(*np.moveaxis(expr.frame_grid(), -1, 0))
    core = moved >= 0.25 * moved.max()
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    layer = make_appearance(face, [(au, "", 1.0)], 12.0, widen=expr.widen, skin_seed=4).at(xx, yy)
    assert (np.abs(layer)[core] > 1.0).mean() > 0.7


@pytest.mark.parametrize("au", [1, 2])
def test_appearance_creases_run_across_the_push(au):
    """AU1 and AU2 push the forehead up: their creases are horizontal lines, so the layer
    varies much more along y than along x."""
    face = _face()
    expr = _motion.make_expression(face, [(au, "", 1.0)], 1.0)
    moved = np.hypot(*np.moveaxis(expr.frame_grid(), -1, 0))
    core = moved >= 0.25 * moved.max()
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    layer = make_appearance(face, [(au, "", 1.0)], 12.0, widen=expr.widen, skin_seed=4).at(xx, yy)
    gy, gx = np.gradient(layer)
    assert np.abs(gy)[core].mean() > 2.0 * np.abs(gx)[core].mean()
