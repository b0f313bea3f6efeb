"""Classifiers used in micro-expression recognition, behind one factory.

The thesis (section 3.3) names the SVM as by far the most used classifier, followed by
AdaBoost, random forests, k-nearest neighbours and extreme learning machines. All of them
are available here as scikit-learn estimators through :func:`make_classifier`, each with
a small default search grid (:func:`default_param_grid`) for the grid searches of
:mod:`mer_lab.evaluation.search`.

Feature scaling is not part of these estimators: the protocols fit it inside every
training fold (see ``preprocessing`` in :func:`mer_lab.evaluation.search.search_predict`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import SVC
from sklearn.dummy import DummyClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validate import check_choice, check_int, check_number

__all__ = [
    "CLASSIFIERS",
    "make_classifier",
    "default_param_grid",
    "ExtremeLearningMachine",
    "DEEP_CLASSIFIERS",
]


class ExtremeLearningMachine(ClassifierMixin, BaseEstimator):
    """An extreme learning machine: a random hidden layer and a least-squares output layer.

    The input weights :math:`W` (``n_features x n_hidden``) and biases :math:`b` are
    drawn once at random and never trained; the hidden activations
    :math:`H = g(X W + b)` are mapped to one-hot targets :math:`T` by ridge regression,
    :math:`\\beta = (H^T H + \\alpha I)^{-1} H^T T`. Prediction is
    :math:`\\arg\\max_c (g(X W + b) \\beta)_c`.

    The input weights are drawn from :math:`N(0, s^2 / d)` for ``d`` input features and
    the biases from :math:`N(0, s^2)` (``s = weight_scale``): on standardised inputs each
    pre-activation then has variance about :math:`2 s^2` whatever ``d``, so a sigmoid
    hidden layer works in its graded range. Unscaled :math:`N(0, 1)` weights on
    hundreds of features give pre-activations of standard deviation
    :math:`\\sqrt{d}` and saturate most units at 0 or 1, which leaves the output layer
    a near-binary random code of the input.

    Parameters
    ----------
    n_hidden : int
        Hidden units (>= 1).
    activation : {"sigmoid", "tanh", "relu"}
        Hidden-layer non-linearity :math:`g`.
    alpha : float
        Ridge penalty on the output weights (>= 0; a small positive value keeps the
        solution stable when ``n_hidden`` exceeds the number of samples).
    weight_scale : float
        Scale ``s`` of the random input weights and biases (inputs are expected
        standardised).
    random_state : int or None
        Seed of the random hidden layer.

    Attributes
    ----------
    classes_ : ndarray
    input_weights_ : ndarray, shape (n_features_in_, n_hidden)
    biases_ : ndarray, shape (n_hidden,)
    output_weights_ : ndarray, shape (n_hidden, n_classes) (one column for two classes)
    n_features_in_ : int

    References
    ----------
    G.-B. Huang, Q.-Y. Zhu, C.-K. Siew, "Extreme learning machine: theory and
    applications", Neurocomputing 70 (2006) 489-501. doi:10.1016/j.neucom.2005.12.126

    Examples
    --------
    >>> X = np.r_[np.zeros((5, 2)), np.ones((5, 2))]
    >>> y = [0] * 5 + [1] * 5
    >>> ExtremeLearningMachine(n_hidden=20, random_state=0).fit(X, y).predict([[0, 0], [1, 1]]).tolist()
    [0, 1]
    """

    def __init__(self, n_hidden: int = 200, *, activation: str = "sigmoid", alpha: float = 1e-3,
                 weight_scale: float = 1.0, random_state=None):
        self.n_hidden = n_hidden
        self.activation = activation
        self.alpha = alpha
        self.weight_scale = weight_scale
        self.random_state = random_state

    def _hidden(self, X: np.ndarray) -> np.ndarray:
        Z = X @ self.input_weights_ + self.biases_
        if self.activation == "sigmoid":
            return expit(Z)
        if self.activation == "tanh":
            return np.tanh(Z)
        return np.maximum(Z, 0.0)

    def fit(self, X, y):
        check_int("n_hidden", self.n_hidden, low=1)
        check_choice("activation", self.activation, ["sigmoid", "tanh", "relu"])
        alpha = check_number("alpha", self.alpha, low=0)
        scale = check_number("weight_scale", self.weight_scale, low=0, low_open=True)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        codes = encoder.transform(y)
        rng = check_random_state(self.random_state)
        d = X.shape[1]
        self.input_weights_ = rng.normal(0.0, scale / np.sqrt(d), size=(d, self.n_hidden))
        self.biases_ = rng.normal(0.0, scale, size=self.n_hidden)
        H = self._hidden(X)
        n_out = 1 if self.classes_.size == 2 else self.classes_.size
        if n_out == 1:
            T = np.where(codes == 1, 1.0, -1.0)[:, None]
        else:
            T = np.zeros((X.shape[0], n_out))
            T[np.arange(X.shape[0]), codes] = 1.0
        A = H.T @ H + alpha * np.eye(self.n_hidden)
        try:
            self.output_weights_ = np.linalg.solve(A, H.T @ T)
        except np.linalg.LinAlgError:
            self.output_weights_ = np.linalg.lstsq(H, T, rcond=None)[0]
        return self

    def decision_function(self, X) -> np.ndarray:
        """Scores ``(n_samples, n_classes)``; for two classes ``(n_samples,)``, positive
        for ``classes_[1]`` (the scikit-learn convention)."""
        check_is_fitted(self, "output_weights_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = self._hidden(X) @ self.output_weights_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]


def _svm_poly(**p):
    if "coef" in p:
        p["coef0"] = p.pop("coef")
    return SVC(**{"kernel": "poly", "degree": 3, "coef0": 1.0, "gamma": "scale", "C": 1.0, **p})


def _svm_linear(**p):
    return SVC(**{"kernel": "linear", "C": 1.0, **p})


def _svm_rbf(**p):
    return SVC(**{"kernel": "rbf", "C": 1.0, "gamma": "scale", **p})


def _adaboost(**p):
    return AdaBoostClassifier(**{"n_estimators": 100, **p})


def _random_forest(**p):
    return RandomForestClassifier(**{"n_estimators": 200, **p})


def _knn(**p):
    return KNeighborsClassifier(**{"n_neighbors": 5, **p})


def _elm(**p):
    return ExtremeLearningMachine(**p)


def _majority(**p):
    if p:
        raise ValueError(f"the majority classifier takes no parameters, got {sorted(p)}")
    return DummyClassifier(strategy="most_frequent")


#: name -> (factory, description, default search grid, takes random_state)
CLASSIFIERS: dict[str, tuple] = {
    "svm_poly": (_svm_poly, "SVM, polynomial kernel (gamma x'y + coef)^degree (the thesis's classifier)",
                 None, False),
    "svm_linear": (_svm_linear, "SVM, linear kernel", {"C": [0.1, 1, 10, 100]}, False),
    "svm_rbf": (_svm_rbf, "SVM, RBF kernel",
                {"C": [0.1, 1, 10, 100], "gamma": ["scale", 0.001, 0.01, 0.1]}, False),
    "adaboost": (_adaboost, "AdaBoost on decision stumps", {"n_estimators": [50, 100, 200],
                                                              "learning_rate": [0.1, 1.0]}, True),
    "random_forest": (_random_forest, "random forest", {"n_estimators": [200], "max_depth": [None, 5, 10],
                                                         "max_features": ["sqrt", 0.3]}, True),
    "knn": (_knn, "k-nearest neighbours", {"n_neighbors": [1, 3, 5, 7, 9], "weights": ["uniform", "distance"]},
            False),
    "elm": (_elm, "extreme learning machine (random hidden layer + ridge output)",
            {"n_hidden": [100, 200, 500], "alpha": [1e-3, 1e-1, 10.0]}, True),
    "majority": (_majority, "majority-class dummy (the thesis's baseline)", {}, False),
}


def _deep(model):
    def factory(**p):
        from ..deep.estimators import DeepClassifier  # needs the optional extra "deep" (PyTorch)

        return DeepClassifier(model=model, **p)

    return factory


# The networks of mer_lab.deep (PyTorch, optional extra "deep"): fixed training recipes,
# no search grid; fold-batched under the protocols (DeepClassifier.fit_predict_folds).
CLASSIFIERS.update({
    "ststnet": (_deep("ststnet"), "STSTNet on u, v, strain maps (mer_lab.deep; needs mer_lab[deep])", {}, True),
    "off_apexnet": (_deep("off_apexnet"), "OFF-ApexNet on u, v maps (mer_lab.deep; needs mer_lab[deep])", {},
                    True),
    "cnn3d": (_deep("cnn3d"), "small 3D CNN on frame or flow sequences (mer_lab.deep; needs mer_lab[deep])", {},
              True),
    "cnn_lstm": (_deep("cnn_lstm"), "CNN + LSTM on per-frame flow (mer_lab.deep; needs mer_lab[deep])", {}, True),
})
#: Classifiers that are networks of mer_lab.deep.
DEEP_CLASSIFIERS = ("ststnet", "off_apexnet", "cnn3d", "cnn_lstm")


def make_classifier(name: str, *, random_state=None, **params):
    """A fresh, unfitted classifier by name.

    Parameters
    ----------
    name : str
        One of :data:`CLASSIFIERS`:

        * ``"svm_poly"`` - :class:`sklearn.svm.SVC` with the polynomial kernel
          :math:`(\\gamma x^T y + coef)^{degree}` (``coef`` is accepted for ``coef0``);
          defaults degree 3, coef 1, gamma ``"scale"``, C 1 (the thesis grid-searches
          these; see :mod:`mer_lab.evaluation.search`),
        * ``"svm_linear"``, ``"svm_rbf"`` - SVC with a linear or RBF kernel,
        * ``"adaboost"`` - :class:`sklearn.ensemble.AdaBoostClassifier`,
        * ``"random_forest"`` - :class:`sklearn.ensemble.RandomForestClassifier`,
        * ``"knn"`` - :class:`sklearn.neighbors.KNeighborsClassifier`,
        * ``"elm"`` - :class:`ExtremeLearningMachine`,
        * ``"majority"`` - :class:`sklearn.dummy.DummyClassifier` with
          ``strategy="most_frequent"`` (ties: the first class in sorted order).
    random_state : int, optional
        Seed, passed to the classifiers that are random (AdaBoost, random forest, ELM).
    **params
        Estimator parameters.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or parameter.

    Examples
    --------
    >>> make_classifier("knn", n_neighbors=3)
    KNeighborsClassifier(n_neighbors=3)
    """
    check_choice("classifier", name, list(CLASSIFIERS))
    factory, _, _, random = CLASSIFIERS[name]
    if random and random_state is not None:
        params.setdefault("random_state", random_state)
    try:
        return factory(**params)
    except TypeError as exc:
        raise ValueError(f"classifier {name!r} does not accept the parameters {sorted(params)}: {exc}") from None


def default_param_grid(name: str) -> dict[str, list]:
    """The default search grid of a classifier (``svm_poly``: use the thesis grid of
    :func:`mer_lab.evaluation.search.poly_grid` instead)."""
    check_choice("classifier", name, list(CLASSIFIERS))
    grid = CLASSIFIERS[name][2]
    if grid is None:
        raise ValueError("svm_poly is searched on the thesis grid; see mer_lab.evaluation.search.poly_grid")
    return {k: list(v) for k, v in grid.items()}
