"""Both spotters on the built-in synthetic long videos, whose expressions are known."""

import numpy as np
import pytest

from mer_lab.datasets.synthetic import make_corpus, make_long_video
from mer_lab.spotting import fft_apex, spot_videos


@pytest.fixture(scope="module")
def clean_videos():
    """Two 50 fps videos with three micro-expressions each and no distractors."""
    out = []
    for subject in (1, 2):
        cube, truth = make_long_video(n_expressions=3, n_macro=0, fps=50, seed=0, subject=subject, difficulty=0.0)
        out.append((cube.attrs["sample"], cube, truth))
    return out


def test_feature_difference_finds_the_known_expressions(clean_videos):
    spots, truth, s = spot_videos(clean_videos, method="feature_difference", p=0.5)
    assert s["n_truth"] == 6 and len(truth) == 6
    assert s["recall"] >= 0.5 and s["precision"] >= 0.5
    # the spotted peak of a hit lies within a few frames of the true apex
    assert s["apex_mae_frames"] <= 3
    assert set(spots.columns) >= {"video", "onset", "apex", "offset", "score", "truth", "iou"}
    assert (spots.loc[spots["truth"] >= 0, "iou"] >= 0.5).all()


def test_fft_energy_peaks_find_the_expressions_and_their_apex(clean_videos):
    _, _, s = spot_videos(clean_videos, method="fft_apex", p=0.2)
    assert s["f1"] >= 0.6
    assert s["apex_mae_frames"] <= 2


def test_fft_apex_lands_near_the_true_apex_of_clips():
    corpus = make_corpus(n_subjects=2, clips_per_subject=4, seed=0, difficulty="easy", drift=0, rotation=0,
                         blink=0)
    errors = []
    for uid, cube in corpus.cubes():
        row = corpus.row(uid)
        apex, energy = fft_apex(cube)
        assert row["onset"] <= apex <= row["offset"]       # searched inside the expression
        errors.append(abs(apex - int(row["apex"])))
    assert np.mean(errors) <= 2.0
