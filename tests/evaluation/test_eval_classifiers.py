"""The classifier factory and the extreme learning machine's estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.svm import SVC

from mer_lab.evaluation.classifiers import (CLASSIFIERS, DEEP_CLASSIFIERS, ExtremeLearningMachine,
                                            default_param_grid, make_classifier)


def blobs(seed=0, n_per=15, k=3, d=4, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(k, d))
    X = np.concatenate([c + spread * rng.normal(size=(n_per, d)) for c in centres])
    y = np.repeat(np.arange(k), n_per)
    return X, y


# the networks of mer_lab.deep take image-shaped inputs: tests/deep covers them
@pytest.mark.parametrize("name", sorted(set(CLASSIFIERS) - set(DEEP_CLASSIFIERS)))
def test_every_classifier_fits_separable_blobs(name):
    X, y = blobs()
    clf = make_classifier(name, random_state=0)
    clf.fit(X, y)
    pred = clf.predict(X)
    if name == "majority":
        assert set(pred) == {0}          # ties broken towards the first class
    else:
        assert np.mean(pred == y) > 0.95, name


def test_svm_poly_is_the_thesis_kernel():
    clf = make_classifier("svm_poly", degree=2, coef=1.0, gamma=0.01, C=0.1)
    assert isinstance(clf, SVC)
    p = clf.get_params()
    assert (p["kernel"], p["degree"], p["coef0"], p["gamma"], p["C"]) == ("poly", 2, 1.0, 0.01, 0.1)


def test_unknown_name_and_parameter():
    with pytest.raises(ValueError) as err:
        make_classifier("svn")
    for name in CLASSIFIERS:
        assert repr(name) in str(err.value)
    with pytest.raises(ValueError, match="does not accept"):
        make_classifier("knn", depth=3)
    with pytest.raises(ValueError, match="thesis grid"):
        default_param_grid("svm_poly")
    assert "n_neighbors" in default_param_grid("knn")


def test_random_state_reaches_random_classifiers():
    X, y = blobs(1)
    a = make_classifier("random_forest", random_state=3, n_estimators=10).fit(X, y)
    b = make_classifier("random_forest", random_state=3, n_estimators=10).fit(X, y)
    assert a.random_state == 3
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_elm_estimator_contract():
    X, y = blobs(2)
    elm = ExtremeLearningMachine(n_hidden=50, alpha=1e-2, random_state=0)
    params = elm.get_params()
    assert clone(elm).get_params() == params
    X_copy = X.copy()
    assert elm.fit(X, y) is elm
    np.testing.assert_array_equal(X, X_copy)                      # X not modified
    again = ExtremeLearningMachine(**params).fit(X, y)
    np.testing.assert_array_equal(elm.decision_function(X), again.decision_function(X))   # deterministic
    assert np.mean(elm.predict(X) == y) == 1.0
    labels = np.array(["neg", "pos", "sur"])[y]
    assert set(ExtremeLearningMachine(n_hidden=30, random_state=1).fit(X, labels).predict(X)) <= set(labels)


def test_elm_output_layer_is_ridge_regression_on_its_hidden_layer():
    from sklearn.linear_model import Ridge

    X, y = blobs(3, k=2)
    elm = ExtremeLearningMachine(n_hidden=20, alpha=0.5, activation="tanh", random_state=0).fit(X, y)
    H = np.tanh(X @ elm.input_weights_ + elm.biases_)
    # two classes: one output, targets -1 / +1 (decision_function is 1-D, as in scikit-learn)
    ridge = Ridge(alpha=0.5, fit_intercept=False).fit(H, np.where(y == 1, 1.0, -1.0))
    np.testing.assert_allclose(elm.output_weights_[:, 0], ridge.coef_, rtol=1e-6, atol=1e-9)
    assert elm.decision_function(X).shape == (len(y),)
    X3, y3 = blobs(3, k=3)
    elm3 = ExtremeLearningMachine(n_hidden=20, alpha=0.5, activation="tanh", random_state=0).fit(X3, y3)
    H3 = np.tanh(X3 @ elm3.input_weights_ + elm3.biases_)
    ridge3 = Ridge(alpha=0.5, fit_intercept=False).fit(H3, np.eye(3)[y3])
    np.testing.assert_allclose(elm3.output_weights_, ridge3.coef_.T, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n_features", [10, 200, 2000])
def test_elm_sigmoid_activations_are_not_saturated_on_standardised_features(n_features):
    # input weights N(0, 1/d): each pre-activation has variance ~2 on standardised inputs,
    # whatever d; with N(0, 1) weights its standard deviation grew as sqrt(d) and most
    # sigmoid units sat at 0 or 1
    rng = np.random.default_rng(n_features)
    X = rng.standard_normal((300, n_features))
    y = rng.integers(0, 3, 300)
    elm = ExtremeLearningMachine(n_hidden=200, random_state=0).fit(X, y)
    H = 1 / (1 + np.exp(-(X @ elm.input_weights_ + elm.biases_)))
    saturated = np.mean((H < 0.01) | (H > 0.99))
    assert saturated < 0.01
    z = X @ elm.input_weights_ + elm.biases_
    assert 1.0 < z.std() < 2.0


def test_elm_in_grouped_cross_validation():
    X, y = blobs(4)
    groups = np.tile(np.arange(5), len(y) // 5)
    s = cross_val_score(ExtremeLearningMachine(n_hidden=40, random_state=0), X, y, groups=groups,
                        cv=LeaveOneGroupOut())
    assert s.shape == (5,) and s.mean() > 0.9


def test_elm_bad_input():
    with pytest.raises(ValueError, match="activation"):
        ExtremeLearningMachine(activation="softsign").fit(np.zeros((3, 2)), [0, 1, 0])
    with pytest.raises(ValueError, match="NaN"):
        ExtremeLearningMachine().fit(np.array([[np.nan, 1.0], [0, 1]]), [0, 1])
    elm = ExtremeLearningMachine(n_hidden=5).fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="2 features"):
        elm.predict(np.zeros((2, 3)))
