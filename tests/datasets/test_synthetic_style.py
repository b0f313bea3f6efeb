"""Subject idiosyncrasy in the synthetic corpus: each subject shows emotions their own way."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import LeaveOneGroupOut, LeaveOneOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mer_lab.datasets.synthetic import make_corpus


def _same_set_share(samples: pd.DataFrame) -> tuple[float, float]:
    """Share of clip pairs of one emotion with the same AU string: within subjects, across subjects."""
    within, across = [], []
    rows = samples[["subject", "emotion", "action_units"]].to_numpy()
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            if rows[i][1] != rows[j][1]:
                continue
            (within if rows[i][0] == rows[j][0] else across).append(rows[i][2] == rows[j][2])
    return float(np.mean(within)), float(np.mean(across))


def test_each_subject_has_their_own_action_units_side_and_timing():
    kw = dict(n_subjects=10, clips_per_subject=15, classes=["disgust", "repression", "others"], seed=3)
    plain = make_corpus(idiosyncrasy=0, **kw).samples
    styled = make_corpus(idiosyncrasy=1, **kw).samples
    w0, a0 = _same_set_share(plain)
    w1, a1 = _same_set_share(styled)
    assert w1 > a1 + 0.3  # a subject repeats their own AU set
    assert abs(w0 - a0) < 0.1  # without idiosyncrasy, subjects draw alike
    # asymmetry: more AUs on one side only
    assert plain["action_units"].str.contains(r"[RL]\d").mean() < styled["action_units"].str.contains(r"[RL]\d").mean()
    # timing and amplitude: subjects differ far more than clips of one subject would by chance
    for col in ("amplitude",):
        for frame, strong in ((plain, False), (styled, True)):
            between = frame.groupby("subject")[col].mean().var()
            within = frame.groupby("subject")[col].var().mean()
            ratio = between / (within / kw["clips_per_subject"])  # ~1 when subjects do not differ
            assert (ratio > 5) if strong else (ratio < 3)
    dur = (styled["offset"] - styled["onset"]) / styled["fps"]
    between = dur.groupby(styled["subject"]).mean().var()
    within = dur.groupby(styled["subject"]).var().mean()
    assert between / (within / kw["clips_per_subject"]) > 5


def _scores(idiosyncrasy, seed):
    corpus = make_corpus(n_subjects=8, clips_per_subject=10, size=64, difficulty=0, idiosyncrasy=idiosyncrasy,
                         seed=seed)
    # a cheap feature: the true expression motion averaged over 8 x 8 blocks
    X = np.array([corpus.ground_truth(uid)["flow_apex_expression"].values.reshape(2, 8, 8, 8, 8).mean(axis=(2, 4))
                  .ravel() for uid in corpus.uids])
    y, groups = corpus.labels, corpus.groups
    model = make_pipeline(StandardScaler(), RidgeClassifier(alpha=10.0))
    loso = f1_score(y, cross_val_predict(model, X, y, groups=groups, cv=LeaveOneGroupOut()), average="macro")
    lovo = f1_score(y, cross_val_predict(model, X, y, cv=LeaveOneOut()), average="macro")
    return loso, lovo


def test_leave_one_subject_out_is_harder_than_leave_one_video_out_with_idiosyncrasy():
    loso0, lovo0 = _scores(0.0, seed=2)
    loso1, lovo1 = _scores(1.0, seed=2)
    assert abs(lovo0 - loso0) < 0.08  # without it, an unseen subject is like an unseen clip
    assert lovo1 - loso1 > 0.15  # with it, the clips of the test subject teach what LOSO cannot see
    assert loso1 < loso0 - 0.05
