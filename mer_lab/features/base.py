"""The scikit-learn face of mer_lab's feature functions.

Every feature family is a plain function ``f(cube, *, **params) -> 1-D float64 ndarray``
plus a function giving its feature names (the return-type rule of :mod:`mer_lab.features`). :class:`CubeFeatures` turns such a pair into a
scikit-learn transformer whose ``X`` is a sequence of cubes (a list, or a 1-D object
array so that cross-validation can index it), so that ``Pipeline``, ``GridSearchCV``
and ``LeaveOneGroupOut`` work unchanged::

    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC
    pipe = make_pipeline(LBPTOP(blocks=(4, 4, 1)), SVC())
    pipe.fit(cubes, labels)

Subclasses declare their hyper-parameters as ``__init__`` keyword arguments (stored
unchanged, per the scikit-learn contract) and either implement :meth:`_extract` and
:meth:`_names`, or, when the transformer's parameters are exactly the feature function's
keyword arguments, name the pair instead::

    class LBPTOP(CubeFeatures):
        _function = staticmethod(lbp_top)          # called with every get_params() value
        _names_function = staticmethod(lbp_top_names)
        _name_params = ("points", "mapping", "blocks")   # the ones lbp_top_names takes
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["CubeFeatures", "as_cube_array"]


def as_cube_array(cubes) -> np.ndarray:
    """A 1-D object array of cubes (what cross-validation can index)."""
    if isinstance(cubes, xr.DataArray):
        cubes = [cubes]
    out = np.empty(len(cubes), dtype=object)
    for i, c in enumerate(cubes):
        out[i] = c
    return out


class CubeFeatures(TransformerMixin, BaseEstimator):
    """Base class: a stateless feature extractor over a sequence of cubes.

    ``fit`` only checks its input and records ``n_features_out_``; ``transform``
    returns a 2-D float64 array with one row per cube.
    """

    def __sklearn_tags__(self):
        # stateless: transform needs no fit (scikit-learn's estimator checks read this)
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags

    #: The per-clip feature function, called with ``get_params()`` as keyword arguments
    #: (a ``staticmethod``); ``None``: the subclass implements :meth:`_extract`.
    _function = None
    #: Its names function (a ``staticmethod``), called with the parameters in ``_name_params``.
    _names_function = None
    _name_params: tuple = ()

    def _extract(self, cube: xr.DataArray) -> np.ndarray:
        if self._function is None:  # pragma: no cover - abstract
            raise NotImplementedError
        return self._function(cube, **self.get_params(deep=False))

    def _names(self, cube: xr.DataArray) -> list[str]:
        if self._names_function is None:  # pragma: no cover - abstract
            raise NotImplementedError
        params = self.get_params(deep=False)
        return self._names_function(**{k: params[k] for k in self._name_params})

    @staticmethod
    def _check_X(X) -> Sequence:
        if isinstance(X, xr.DataArray):
            raise TypeError("X must be a sequence of cubes (a list or a 1-D object array), not a single cube")
        if len(X) == 0:
            raise ValueError("X holds no cubes")
        for i, c in enumerate(X):
            if not isinstance(c, xr.DataArray):
                raise TypeError(f"X[{i}] is a {type(c).__name__}; X must hold cubes (xarray.DataArray)")
        return X

    def fit(self, X, y=None):
        X = self._check_X(X)
        first = self._extract(X[0])
        self.n_features_out_ = int(first.size)
        self._feature_names = np.asarray(self._names(X[0]), dtype=object)
        return self

    def transform(self, X) -> np.ndarray:
        X = self._check_X(X)
        rows = [np.asarray(self._extract(c), dtype=np.float64).ravel() for c in X]
        sizes = {r.size for r in rows}
        if len(sizes) != 1:
            raise ValueError(f"cubes gave feature vectors of different lengths {sorted(sizes)}; "
                             "resample clips to one size (e.g. TIM and a fixed crop) first")
        return np.vstack(rows)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if not hasattr(self, "_feature_names"):
            raise AttributeError("call fit before get_feature_names_out")
        return self._feature_names.copy()
