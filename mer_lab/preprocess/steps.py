"""Cube steps: stateless scikit-learn transformers over a sequence of cubes.

A named method's pipeline (:func:`mer_lab.methods.make_pipeline`) starts with these
steps. Each takes a sequence of cubes (a list, or a 1-D object array so that
cross-validation can index it) and returns a 1-D object array of transformed cubes, one
per input cube; nothing is learned in ``fit``. A step that is switched off is
``"passthrough"`` in the pipeline.

* :class:`Magnify` - Eulerian video magnification (:func:`mer_lab.preprocess.evm.magnify`);
* :class:`TIM` - the Temporal Interpolation Model (:func:`mer_lab.preprocess.tim.tim`).

Examples
--------
>>> import numpy as np
>>> from mer_lab.cube import make_cube
>>> cubes = [make_cube(np.zeros((14, 16, 16), np.uint8), fps=100) for _ in range(2)]
>>> [c.sizes["time"] for c in TIM(n_frames=5).fit_transform(cubes)]
[5, 5]
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin

from .._validate import check_int, check_number, describe

__all__ = ["CubeStep", "Magnify", "TIM", "cube_sequence"]


def cube_sequence(X, *, name: str = "X") -> np.ndarray:
    """``X`` as a 1-D object array of cubes, or a TypeError/ValueError saying what is accepted."""
    if isinstance(X, xr.DataArray):
        raise TypeError(f"{name} must be a sequence of cubes (a list or a 1-D object array), not a single cube; "
                        "wrap one cube in a list")
    try:
        n = len(X)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of cubes (a list or a 1-D object array), got "
                        f"{describe(X)}") from None
    if n == 0:
        raise ValueError(f"{name} holds no cubes")
    out = np.empty(n, dtype=object)
    for i, c in enumerate(X):
        if not isinstance(c, xr.DataArray):
            raise TypeError(f"{name}[{i}] is {describe(c)}; {name} must hold cubes (xarray.DataArray with "
                            "time, y, x dims)")
        out[i] = c
    return out


class CubeStep(TransformerMixin, BaseEstimator):
    """Base class of the stateless cube steps: ``transform`` maps every cube with
    :meth:`_apply` after :meth:`_check_params` has checked the parameters."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False          # stateless: transform needs no fit
        return tags

    def _check_params(self) -> None:  # pragma: no cover - overridden
        pass

    def _apply(self, cube: xr.DataArray) -> xr.DataArray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y=None):
        self._check_params()
        cube_sequence(X)
        return self

    def transform(self, X) -> np.ndarray:
        self._check_params()
        cubes = cube_sequence(X)
        out = np.empty(len(cubes), dtype=object)
        for i, c in enumerate(cubes):
            out[i] = self._apply(c)
        return out


def _evm_levels(cube, wanted: int) -> int:
    """Pyramid levels EVM can use on this clip (fewer on small frames: the coarsest level
    keeps at least 4 pixels)."""
    smallest = min(cube.sizes["y"], cube.sizes["x"])
    levels = wanted
    while levels > 1 and smallest // 2 ** levels < 4:
        levels -= 1
    return levels


def _keep_landmarks(cube, out):
    # the first frame's landmarks (where MDMO places its regions) stay those of the clip
    if cube.attrs.get("landmarks") is not None and out.attrs.get("landmarks") is None:
        out.attrs["landmarks"] = cube.attrs["landmarks"]
    return out


class Magnify(CubeStep):
    """Eulerian video magnification of every clip (:func:`mer_lab.preprocess.evm.magnify`).

    Parameters
    ----------
    alpha : float
        Magnification factor, in (0, 50].
    levels : int
        Laplacian pyramid levels wanted (1..8); fewer are used on frames too small for
        them (the coarsest level keeps at least 4 pixels).
    """

    def __init__(self, *, alpha=10.0, levels=4):
        self.alpha = alpha
        self.levels = levels

    def _check_params(self):
        check_number("alpha", self.alpha, low=0, high=50, low_open=True)
        check_int("levels", self.levels, low=1, high=8)

    def _apply(self, cube):
        from .evm import magnify

        out = magnify(cube, alpha=float(self.alpha), levels=_evm_levels(cube, int(self.levels)))
        return _keep_landmarks(cube, out)


class TIM(CubeStep):
    """Temporal Interpolation Model: every clip resampled to ``n_frames`` frames
    (:func:`mer_lab.preprocess.tim.tim`).

    Parameters
    ----------
    n_frames : int
        Frames of every output clip (2..200; the thesis uses 10).
    """

    def __init__(self, *, n_frames=10):
        self.n_frames = n_frames

    def _check_params(self):
        check_int("n_frames", self.n_frames, low=2, high=200)

    def _apply(self, cube):
        from .tim import tim

        out = tim(cube, int(self.n_frames))
        return _keep_landmarks(cube, out)
