"""Degenerate evaluations are refused or flagged: one class, collapsed predictions, grid edges."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from mer_lab.datasets.synthetic import make_corpus
from mer_lab.evaluation.experiment import EvaluationWarning, Results, _edge_optima, run_experiment
from mer_lab.evaluation.protocols import run_protocol


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(n_subjects=4, clips_per_subject=6, size=32, fps=30,
                       classes=["happiness", "surprise", "disgust"], seed=5)


def separable(corpus, scale=3.0):
    """Features that carry the label (one-hot plus noise)."""
    labels = corpus.samples["label"].to_numpy()
    classes = sorted(set(labels))
    rng = np.random.default_rng(0)
    X = np.array([[scale * (lab == c) for c in classes] for lab in labels]) + rng.normal(0, 0.1, (len(labels), 3))
    return X, [f"f{i}" for i in range(3)]


# --------------------------------------------------------------------------- fewer than two classes
def test_a_single_class_corpus_is_refused_with_a_clear_error():
    one = make_corpus(n_subjects=3, clips_per_subject=2, size=32, fps=30, classes=["happiness"], seed=1)
    with pytest.raises(ValueError, match=r"holds 1 class \('happiness': 6\).*at least two classes"):
        run_experiment(one, "hoof", features=(np.zeros((6, 2)), ["a", "b"]), search="none",
                       classifier="knn", classifier_params={"n_neighbors": 1}, progress=False, cache=False)


def test_run_protocol_refuses_one_class_in_the_labels_or_in_the_tested_samples():
    X = np.random.default_rng(0).normal(size=(8, 2))
    with pytest.raises(ValueError, match=r"^y hold\(s\) 1 class"):
        run_protocol(X, ["a"] * 8, groups=np.repeat(["s1", "s2"], 4), classifier="knn",
                     params={"n_neighbors": 1})
    # cross-database: the test dataset holds only one class
    y = np.array(["a", "b", "a", "b", "a", "a", "a", "a"])
    ds = np.repeat(["d1", "d2"], 4)
    with pytest.raises(ValueError, match="test samples of protocol 'cross'.*'a': 4"):
        run_protocol(X, y, datasets=ds, protocol="cross", train="d1", test="d2", classifier="knn",
                     params={"n_neighbors": 1}, warn=False)


# --------------------------------------------------------------------------- collapsed predictions
def test_predictions_collapsed_to_one_class_are_flagged_and_warned(corpus):
    X = np.zeros((len(corpus), 3))                      # no information: one class is predicted
    with pytest.warns(EvaluationWarning, match="collapsed to one class"):
        res = run_experiment(corpus, "hoof", features=(X, ["a", "b", "c"]), search="none", classifier="svm_linear",
                             preprocessing="none", progress=False, cache=False)
    assert res.collapsed
    (mode, label), = res.flags["collapsed"].items()
    assert mode == "none" and label in set(corpus.samples["label"])
    assert any("collapsed" in n for n in res.notes)
    good = run_experiment(corpus, "hoof", features=separable(corpus), search="none", classifier="svm_linear",
                          preprocessing="standard", progress=False, cache=False)
    assert not good.collapsed and "collapsed" not in good.flags


def test_flags_survive_a_json_round_trip(corpus, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        res = run_experiment(corpus, "hoof", features=(np.zeros((len(corpus), 2)), ["a", "b"]), search="none",
                             classifier="svm_linear", preprocessing="none", progress=False, cache=False)
    back = Results.from_json(res.to_json(tmp_path / "r.json"))
    assert back.flags == json.loads(json.dumps(res.flags)) and back.collapsed


# --------------------------------------------------------------------------- grid edges
def test_optima_on_the_grid_edge_are_flagged(corpus):
    # perfectly separable: every n_neighbors ties and the first (smallest) wins
    with pytest.warns(EvaluationWarning, match="n_neighbors = 1, the smallest value of its grid"):
        res = run_experiment(corpus, "hoof", features=separable(corpus), classifier="knn", search="thesis",
                             grid={"n_neighbors": [1, 3, 5]}, preprocessing="standard", progress=False,
                             cache=False)
    edges = res.edge_optima
    row = edges[(edges["param"] == "n_neighbors")].iloc[0]
    assert (row["search"], row["edge"], row["value"], row["folds"], row["of"]) == ("thesis", "min", 1.0, 4, 4)


def test_edge_detection_counts_folds_and_ignores_interior_choices():
    scores = pd.DataFrame({"C": [0.1, 1, 10, 100] * 2, "degree": [2] * 4 + [3] * 4, "macro_f1": 0.5})
    selected = pd.DataFrame({"search": ["nested"] * 4, "fold": list("abcd"),
                             "params": [json.dumps({"C": c, "degree": d}) for c, d in
                                        ((100, 2), (100, 3), (1, 2), (0.1, 3))]})
    out = {(e["param"], e["edge"]): (e["value"], e["folds"], e["of"]) for e in _edge_optima(selected, scores)}
    assert out == {("C", "max"): (100.0, 2, 4), ("C", "min"): (0.1, 1, 4)}   # degree has only 2 values
    interior = selected.assign(params=[json.dumps({"C": 1, "degree": 2})] * 4)
    assert _edge_optima(interior, scores) == []


# --------------------------------------------------------------------------- flow-histogram defaults
@pytest.mark.parametrize("method", ["hoof", "biwoof"])
def test_flow_histogram_methods_standardise_by_default_so_a_linear_svm_does_not_collapse(corpus, method):
    # block HOOF / Bi-WOOF vectors sum to 1 over 200 values: each is about 0.005; unscaled,
    # a linear SVM (C=1) predicts the majority class for every sample
    labels = corpus.samples["label"].to_numpy()
    keep = np.ones(len(labels), bool)
    keep[np.flatnonzero(labels == "surprise")[:4]] = False          # an unbalanced corpus, as real ones
    keep[np.flatnonzero(labels == "happiness")[:4]] = False         # are: disgust 8, happiness 4, surprise 4
    corpus = corpus.filter(keep)
    codes = np.unique(corpus.labels, return_inverse=True)[1]
    rng = np.random.default_rng(0)
    hist = rng.random((len(codes), 200)) * 0.2
    for i, c in enumerate(codes):
        hist[i, 50 * c:50 * c + 50] += 1.0                             # each class moves its own 50 bins
    hist /= hist.sum(axis=1, keepdims=True)
    kw = dict(features=(hist, [f"h{i}" for i in range(200)]), search="none", classifier="svm_linear",
              progress=False, cache=False)
    with pytest.warns(EvaluationWarning, match="collapsed"):
        raw = run_experiment(corpus, method, preprocessing="none", **kw)
    assert raw.collapsed
    with warnings.catch_warnings():
        warnings.simplefilter("error", EvaluationWarning)
        res = run_experiment(corpus, method, **kw)                      # preprocessing="auto"
    assert res.config["preprocessing"] == "standard"
    assert not res.collapsed and res.scores()["macro_f1"] > 0.9
