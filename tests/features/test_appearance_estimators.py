"""The scikit-learn contract of the appearance-feature transformers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from mer_lab.cube import make_cube
from mer_lab.features.base import as_cube_array
from mer_lab.features.hog import HIGOTOP, HOGTOP
from mer_lab.features.lbp import ELBPTOP, LBPMOP, LBPSIP, LBPTOP, LBPXYOT


def _moving_texture(direction: str, seed: int, n=6, size=14):
    """A random texture translating one pixel per frame to the right or downwards."""
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (size + n, size + n), dtype=np.uint8)
    frames = []
    for t in range(n):
        if direction == "right":
            frames.append(big[:size, n - t:n - t + size])
        else:
            frames.append(big[n - t:n - t + size, :size])
    return make_cube(np.stack(frames), fps=100, subject=f"s{seed % 4}")


def _dataset():
    cubes, labels, groups = [], [], []
    for subject in range(4):
        for k, direction in enumerate(("right", "down")):
            for rep in range(2):
                cubes.append(_moving_texture(direction, seed=100 * subject + 10 * k + rep))
                labels.append(k)
                groups.append(subject)
    return as_cube_array(cubes), np.array(labels), np.array(groups)


ESTIMATORS = [
    LBPTOP(blocks=(2, 2, 1)),
    LBPTOP(blocks=(1, 1, 1), neighbours="rounded", mapping="riu2"),
    LBPXYOT(blocks=(2, 1, 1)),
    LBPSIP(blocks=(2, 2, 1)),
    LBPMOP(blocks=(2, 2, 1)),
    ELBPTOP(blocks=(1, 1, 1)),
    HOGTOP(blocks=(2, 2, 1)),
    HIGOTOP(blocks=(2, 2, 1), bins=6),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimator_contract(est):
    X, y, _ = _dataset()
    X = X[:4]
    before = [c.values.copy() for c in X]
    # clone / get_params round trip: __init__ only stores its arguments
    params = est.get_params()
    twin = clone(est)
    assert twin.get_params() == params
    assert type(est)(**params).get_params() == params
    # fit returns self, records the output size and names
    fitted = twin.fit(X, y[:4])
    assert fitted is twin
    Z = twin.transform(X)
    assert Z.shape == (4, twin.n_features_out_) and Z.dtype == np.float64
    names = twin.get_feature_names_out()
    assert len(names) == Z.shape[1] and len(set(names)) == len(names)
    # no mutation of X; determinism, also across fresh clones
    for c, b in zip(X, before):
        np.testing.assert_array_equal(c.values, b)
    np.testing.assert_array_equal(Z, twin.transform(X))
    np.testing.assert_array_equal(Z, clone(est).fit(X).transform(X))
    assert np.isfinite(Z).all()


@pytest.mark.parametrize("est", [LBPTOP(blocks=(1, 1, 1), neighbours="rounded"), LBPXYOT(blocks=(1, 1, 1)),
                                 HIGOTOP(blocks=(1, 1, 1))], ids=lambda e: type(e).__name__)
def test_grid_search_with_leave_one_subject_out(est):
    X, y, groups = _dataset()
    pipe = Pipeline([("features", est), ("svm", SVC(kernel="linear"))])
    search = GridSearchCV(pipe, {"svm__C": [0.1, 10.0]}, cv=LeaveOneGroupOut(), scoring="accuracy")
    search.fit(X, y, groups=groups)
    # horizontal vs vertical motion is what the XT / YT planes see: easy to tell apart
    assert search.best_score_ >= 0.9
    assert search.predict(X[:2]).shape == (2,)


def test_transform_rejects_a_single_cube_and_mixed_sizes():
    X, _, _ = _dataset()
    est = LBPTOP(blocks=(1, 1, 1))
    with pytest.raises(TypeError, match="sequence of cubes"):
        est.fit(X[0])
    other = make_cube(np.zeros((6, 20, 20), np.uint8), fps=100)
    # block histograms have a fixed size whatever the frame size
    assert est.fit_transform([X[0], other]).shape == (2, 177)
