"""Metrics against scikit-learn, hand counts and the thesis's Table 3 baselines."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, precision_recall_fscore_support

from mer_lab.evaluation.metrics import (
    METRICS,
    MajorityClassifier,
    accuracy,
    baseline_scores,
    confusion_matrix,
    macro_f1,
    per_class_scores,
    scores,
    uar,
    uf1,
    weighted_f1,
)

# Thesis Table 2 counts behind Table 3's baseline rows. Only the majority count, the
# total and the number of classes matter; the CASME minority counts are illustrative
# (the thesis used 189 clips in 8 classes with 69 "disgust").
SMIC = {"negative": 70, "positive": 51, "surprise": 43}
CASME = {"contempt": 3, "disgust": 69, "fear": 2, "happiness": 9, "repression": 38, "sadness": 6,
         "surprise": 21, "tense": 41}
CASME2 = {"others": 99, "disgust": 63, "happiness": 33, "repression": 27, "surprise": 25}
SAMM = {"anger": 57, "contempt": 12, "fear": 8, "disgust": 9, "happiness": 26, "other": 26, "sadness": 6,
        "surprise": 15}
TABLE3_BASELINE = {"smic": (SMIC, 0.4268, 0.1994), "casme": (CASME, 0.3651, 0.0669),
                   "casme2": (CASME2, 0.4008, 0.1145), "samm": (SAMM, 0.3585, 0.0660)}


def random_labels(seed, n=60, k=4):
    rng = np.random.default_rng(seed)
    classes = np.array(["anger", "joy", "fear", "surprise", "calm"][:k])
    t = classes[rng.integers(0, k, n)]
    p = classes[rng.integers(0, k, n)]
    return t, p


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_sklearn(seed):
    t, p = random_labels(seed)
    assert accuracy(t, p) == pytest.approx(accuracy_score(t, p))
    assert macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"))
    assert weighted_f1(t, p) == pytest.approx(f1_score(t, p, average="weighted"))
    assert uf1(t, p) == pytest.approx(f1_score(t, p, average="macro"))
    assert uar(t, p) == pytest.approx(balanced_accuracy_score(t, p))
    table = per_class_scores(t, p)
    prec, rec, f1, sup = precision_recall_fscore_support(t, p, labels=table.index.to_numpy(), zero_division=0)
    np.testing.assert_allclose(table["precision"], prec)
    np.testing.assert_allclose(table["recall"], rec)
    np.testing.assert_allclose(table["f1"], f1)
    np.testing.assert_array_equal(table["support"], sup)


def test_class_only_predicted_counts_in_macro_f1_but_not_in_uar():
    t = ["a", "a", "b", "b"]
    p = ["a", "c", "b", "b"]           # "c" never occurs in the truth
    # F1: a = 2/3, b = 1, c = 0 -> macro over the union of 3 classes
    assert macro_f1(t, p) == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"))
    # recall over the true classes only: a = 1/2, b = 1
    assert uar(t, p) == pytest.approx(0.75)


def test_confusion_matrix_hand_counts():
    t = ["neg", "neg", "neg", "pos", "pos", "sur"]
    p = ["neg", "pos", "neg", "pos", "sur", "sur"]
    cm = confusion_matrix(t, p)
    assert list(cm.index) == ["neg", "pos", "sur"] and cm.index.name == "true"
    assert cm.values.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    table = per_class_scores(t, p)
    # neg: TP 2, FP 0, FN 1 -> F1 = 4/5; pos: TP 1, FP 1, FN 1 -> 1/2; sur: TP 1, FP 1, FN 0 -> 2/3
    np.testing.assert_allclose(table["f1"], [0.8, 0.5, 2 / 3])
    assert macro_f1(t, p) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_pooled_and_per_fold_differ_and_are_labelled():
    # fold 1: one class, all right; fold 2: two classes, half right
    t = np.array(["a", "a", "a", "b", "a", "b"])
    p = np.array(["a", "a", "a", "a", "a", "b"])
    folds = np.array([1, 1, 1, 2, 2, 2])
    pooled = scores(t, p)
    per = scores(t, p, folds=folds, average="per_fold")
    assert pooled["average"] == "pooled" and per["average"] == "per_fold" and per["n_folds"] == 2
    assert pooled["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"))
    expected = np.mean([f1_score(t[folds == k], p[folds == k], average="macro") for k in (1, 2)])
    assert per["macro_f1"] == pytest.approx(expected)
    assert per["macro_f1"] != pytest.approx(pooled["macro_f1"])
    assert set(METRICS) <= set(pooled) and set(METRICS) <= set(per)


@pytest.mark.parametrize("name", sorted(TABLE3_BASELINE))
def test_table3_baseline_rows_from_counts(name):
    counts, acc, f1 = TABLE3_BASELINE[name]
    b = baseline_scores(counts)
    assert round(b["accuracy"], 4) == acc
    assert round(b["macro_f1"], 4) == f1
    assert b["uf1"] == b["macro_f1"]
    assert b["uar"] == pytest.approx(1 / len(counts))


def test_casme_baseline_arithmetic():
    # 69/189 = 0.3651 and (2*69/(69+189))/8 = 0.0669
    b = baseline_scores(CASME)
    assert sum(CASME.values()) == 189 and len(CASME) == 8 and b["majority"] == "disgust"
    assert b["macro_f1"] == pytest.approx((2 * 69 / (69 + 189)) / 8)


def test_weighted_macro_remark():
    """Thesis 4.3: weighted macro F1 of the baseline would be [0.26, 0.20, 0.23, 0.19]."""
    got = [round(baseline_scores(c)["weighted_f1"], 2) for c in (SMIC, CASME, CASME2, SAMM)]
    assert got == [0.26, 0.20, 0.23, 0.19]


@pytest.mark.parametrize("name", sorted(TABLE3_BASELINE))
def test_baseline_scores_agree_with_a_dummy_classifier(name):
    counts = TABLE3_BASELINE[name][0]
    y = np.repeat(list(counts), list(counts.values()))
    X = np.zeros((y.size, 1))
    pred = DummyClassifier(strategy="most_frequent").fit(X, y).predict(X)
    ours = MajorityClassifier().fit(X, y).predict(X)
    np.testing.assert_array_equal(ours, pred)
    b = baseline_scores(counts)
    s = scores(y, pred)
    for m in METRICS:
        assert b[m] == pytest.approx(s[m]), m


def test_majority_ties_follow_sorted_order():
    y = ["b", "a", "b", "a", "c"]
    X = np.zeros((5, 2))
    assert MajorityClassifier().fit(X, y).predict(X[:1])[0] == DummyClassifier(strategy="most_frequent").fit(
        X, y).predict(X[:1])[0] == "a"
    assert baseline_scores({"b": 2, "a": 2, "c": 1})["majority"] == "a"


def test_bad_input_errors():
    with pytest.raises(ValueError, match="same length"):
        accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        macro_f1([], [])
    with pytest.raises(ValueError, match="folds"):
        scores([1, 2], [1, 2], average="per_fold")
    with pytest.raises(ValueError, match="average"):
        scores([1, 2], [1, 2], average="mean")
    with pytest.raises(ValueError, match="non-negative integers"):
        baseline_scores({"a": -1, "b": 3})
    with pytest.raises(ValueError, match="sum to zero"):
        baseline_scores([0, 0])
    with pytest.raises(AttributeError, match="fit"):
        MajorityClassifier().predict([[0]])
