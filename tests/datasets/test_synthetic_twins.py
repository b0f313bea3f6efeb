"""Twins of the real datasets: counts, rates and sizes of thesis Tables 1-2, smaller copies, errors."""

from __future__ import annotations

import pytest

from mer_lab.datasets import load
from mer_lab.datasets.synthetic import make_corpus

# thesis Table 1 (subjects, fps) and Table 2 (clips per class); CASME II with the coding
# file's 5-class counts (Table 3's baselines); face widths of the cropped releases
REAL = {
    "casme2": (26, 200, 280, {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25}),
    "smic": (16, 100, 190, {"negative": 70, "positive": 51, "surprise": 43}),
    "casme": (19, 60, 150, {"contempt": 3, "disgust": 88, "fear": 2, "happiness": 5, "repression": 40, "tense": 28,
                            "sadness": 6, "surprise": 20}),
    "samm": (32, 200, 400, {"anger": 57, "contempt": 12, "fear": 8, "disgust": 9, "happiness": 26, "others": 26,
                            "sadness": 6, "surprise": 15}),
}


@pytest.mark.parametrize("like", sorted(REAL))
def test_twins_copy_the_real_counts_exactly_at_scale_one(like):
    subjects, fps, size, counts = REAL[like]
    corpus = make_corpus(like=like)
    s = corpus.samples
    assert s["subject"].nunique() == subjects
    assert len(corpus) == sum(counts.values())
    assert corpus.class_counts().to_dict() == counts
    assert (s["fps"] == fps).all()
    assert corpus.info["size"] == size and corpus.info["like"] == like
    per_subject = s.groupby("subject").size()
    assert per_subject.max() - per_subject.min() <= 1
    duration = (s["offset"] - s["onset"]) / s["fps"]
    assert duration.between(0.15 - 1.0 / fps, 0.5 + 1.0 / fps).all()


def test_twin_clips_render_at_the_twins_size_and_rate():
    corpus = make_corpus(like="casme", scale=0.5)
    cube = corpus.cube(0)
    assert cube.shape[1:] == (150, 150)
    assert cube.attrs["fps"] == 60
    row = corpus.samples.iloc[0]
    assert cube.shape[0] == row["n_frames"]
    # CASME's clips have (almost) no neutral lead-in; SAMM's have long ones
    samm = make_corpus(like="samm", scale=0.5).samples
    casme = corpus.samples
    assert (casme["onset"] / casme["fps"]).mean() < (samm["onset"] / samm["fps"]).mean() / 3


@pytest.mark.parametrize("like, scale", [("casme2", 0.25), ("smic", 0.5), ("samm", 0.3)])
def test_smaller_twins_keep_the_proportions(like, scale):
    subjects, _, _, counts = REAL[like]
    corpus = load("synthetic", like=like, scale=scale)
    assert corpus.samples["subject"].nunique() == round(scale * subjects)
    total = round(scale * sum(counts.values()))
    assert len(corpus) == total
    got = corpus.class_counts()
    for name, n in counts.items():
        assert abs(got[name] - n * total / sum(counts.values())) < 1
    assert (got > 0).all()


def test_twin_overrides_of_size_and_fps_and_the_knobs():
    corpus = make_corpus(like="smic", scale=0.25, size=64, fps=50, appearance=0, idiosyncrasy=0.3)
    assert corpus.info["size"] == 64 and (corpus.samples["fps"] == 50).all()
    assert corpus.info["appearance"] == 0 and corpus.info["idiosyncrasy"] == 0.3


@pytest.mark.parametrize("kwargs, words", [
    (dict(like="casme3"), ["like", "'casme2'", "'smic'", "'casme'", "'samm'"]),
    (dict(like=3), ["like", "casme2"]),
    (dict(like="casme", scale=0.1), ["scale", "'contempt'", "[0.352, 1]"]),
    (dict(like="samm", scale=0.01), ["scale", "[0.104, 1]"]),
    (dict(like="smic", scale=0), ["scale", "(0, 1]"]),
    (dict(like="smic", scale=1.5), ["scale", "(0, 1]"]),
    (dict(like="smic", n_subjects=3), ["like", "n_subjects"]),
    (dict(like="smic", balance="casme2"), ["like", "balance"]),
    (dict(scale=0.5), ["scale", "like"]),
])
def test_bad_twin_requests_name_the_parameter_and_what_is_accepted(kwargs, words):
    with pytest.raises(ValueError) as err:
        make_corpus(**kwargs)
    for w in words:
        assert w in str(err.value)
