"""LBP-TOP on decorrelated colour components (TICS-style colour LBP-TOP).

Wang et al. (2015) put a colour clip in a 4-D tensor (x, y, t, colour) and replaced RGB by
a *tensor independent colour space* (TICS): three colour components made as independent
of one another as possible, learned from training data, each then described with
LBP-TOP. mer_lab implements the colour step as a 3 x 3 linear transform of RGB:

* ``"ohta"`` (fixed): Ohta's ``I1 = (R+G+B)/3, I2 = (R-B)/2, I3 = (2G-R-B)/4``, shown by
  Ohta et al. to approximate the principal (Karhunen-Loeve) components of natural colour
  images -- no training data needed;
* ``"pca"`` (learned): the principal axes of the RGB pixels of the training clips
  (decorrelated components, largest variance first);
* ``"ica"`` (learned): FastICA unmixing of the RGB pixels (components as statistically
  independent as ICA can make them, ordered by variance, signs fixed so that the largest
  weight is positive);
* any 3 x 3 array: rows are the components' weights on (R, G, B).

:func:`lbp_top_tics` applies a transform and concatenates one LBP-TOP vector per
component; :class:`TICSLBPTOP` learns ``"pca"``/``"ica"`` transforms in ``fit`` (so only
the training folds shape them).

References
----------
.. [1] S.-J. Wang, W.-J. Yan, X. Li, G. Zhao, C.-G. Zhou, X. Fu, M. Yang and J. Tao,
   "Micro-expression recognition using color spaces", IEEE Trans. Image Processing 24(12),
   6034-6047, 2015. doi:10.1109/TIP.2015.2496314
.. [2] Y.-I. Ohta, T. Kanade and T. Sakai, "Color information for region segmentation",
   Computer Graphics and Image Processing 13(3), 222-241, 1980.
   doi:10.1016/0146-664X(80)90047-7
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from sklearn.exceptions import NotFittedError

from .._validate import check_array, check_choice, check_int, describe
from ..cube import validate_cube
from .base import CubeFeatures
from .lbp import lbp_top, lbp_top_names

__all__ = [
    "OHTA",
    "colour_volume",
    "learn_colour_transform",
    "colour_components",
    "lbp_top_tics",
    "lbp_top_tics_names",
    "TICSLBPTOP",
]

OHTA = np.array([[1 / 3, 1 / 3, 1 / 3],
                 [1 / 2, 0.0, -1 / 2],
                 [-1 / 4, 1 / 2, -1 / 4]])
OHTA.setflags(write=False)

_LEARNED = ("pca", "ica")


def colour_volume(cube, *, name: str = "cube") -> np.ndarray:
    """The ``(time, y, x, 3)`` RGB array of a colour cube (alpha dropped), checked."""
    if isinstance(cube, xr.DataArray):
        if cube.ndim != 4:
            raise ValueError(f"{name} must be a colour cube (dims time, y, x, channel), got dims {cube.dims}; "
                             "grey clips go to mer_lab.features.lbp.lbp_top")
        validate_cube(cube, name=name, grey=False)
        arr = np.asarray(cube.values)
    elif isinstance(cube, np.ndarray):
        arr = check_array(name, cube, ndim=4)
    else:
        raise TypeError(f"{name} must be a colour cube (xarray.DataArray) or a 4-D numpy array, got {describe(cube)}")
    if arr.shape[-1] < 3:
        raise ValueError(f"{name} must have at least 3 colour channels (R, G, B), got {arr.shape[-1]}")
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; only finite values are accepted")
    return arr[..., :3]


def _pixels(cubes, max_pixels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per = max(1, max_pixels // max(1, len(cubes)))
    out = []
    for i, c in enumerate(cubes):
        px = colour_volume(c, name=f"cubes[{i}]").reshape(-1, 3).astype(np.float64)
        if px.shape[0] > per:
            px = px[rng.choice(px.shape[0], per, replace=False)]
        out.append(px)
    return np.concatenate(out)


def learn_colour_transform(cubes, *, method: str = "pca", max_pixels: int = 200_000,
                           random_state: int = 0) -> np.ndarray:
    """Learn a 3 x 3 RGB -> component transform from colour clips.

    Parameters
    ----------
    cubes : sequence of colour cubes
        Training clips only (never the test fold).
    method : {"pca", "ica"}
        Principal axes of the RGB pixels, or FastICA's unmixing matrix.
    max_pixels : int
        Pixels sampled (evenly over clips) to fit the transform.
    random_state : int
        Seed of the pixel sampling and of FastICA.

    Returns
    -------
    ndarray, shape (3, 3)
        Rows are components (largest variance first), columns the weights on R, G, B.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.random.default_rng(0).random((2, 3, 8, 8, 3))
    >>> learn_colour_transform(list(rgb)).shape
    (3, 3)
    """
    check_choice("method", method, _LEARNED)
    max_pixels = check_int("max_pixels", max_pixels, low=10)
    if isinstance(cubes, (xr.DataArray, np.ndarray)) and np.ndim(cubes) == 4:
        cubes = [cubes]
    if len(cubes) == 0:
        raise ValueError("cubes holds no clips")
    px = _pixels(cubes, max_pixels, random_state)
    px = px - px.mean(axis=0)
    if method == "pca":
        cov = px.T @ px / max(1, px.shape[0] - 1)
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1]
        w = vecs[:, order].T
    else:
        from sklearn.decomposition import FastICA

        ica = FastICA(n_components=3, whiten="unit-variance", random_state=random_state, max_iter=1000)
        ica.fit(px)
        w = ica.components_
        variances = np.var(px @ w.T, axis=0)
        w = w[np.argsort(variances)[::-1]]
    # fix signs: the largest weight of each component is positive
    sign = np.sign(w[np.arange(3), np.abs(w).argmax(axis=1)])
    sign[sign == 0] = 1
    return w * sign[:, None]


def _matrix(colour_space) -> np.ndarray:
    if isinstance(colour_space, str):
        if colour_space == "ohta":
            return np.asarray(OHTA)
        if colour_space in _LEARNED:
            raise ValueError(f"colour_space={colour_space!r} is learned from training clips: use "
                             "learn_colour_transform(...) and pass the matrix, or the TICSLBPTOP transformer")
        check_choice("colour_space", colour_space, ("ohta",) + _LEARNED)
    m = check_array("colour_space", colour_space, ndim=2).astype(np.float64)
    if m.shape != (3, 3):
        raise ValueError(f"colour_space must be 'ohta' or a 3 x 3 matrix, got shape {m.shape}")
    if abs(np.linalg.det(m)) < 1e-12:
        raise ValueError("colour_space is a singular matrix: its components are not independent")
    return m


def colour_components(cube, *, colour_space="ohta") -> np.ndarray:
    """The three colour components of a clip, shape (3, time, y, x), float64.

    Examples
    --------
    >>> import numpy as np
    >>> grey_rgb = np.full((2, 4, 4, 3), 90.0)
    >>> c = colour_components(grey_rgb)
    >>> float(c[0].max()), float(abs(c[1:]).max())
    (90.0, 0.0)
    """
    m = _matrix(colour_space)
    rgb = colour_volume(cube).astype(np.float64)
    return np.moveaxis(rgb @ m.T, -1, 0)


def lbp_top_tics(cube, *, colour_space="ohta", radii=(1, 1, 1), points=(8, 8, 8), mapping: str = "u2",
                 blocks=(8, 8, 1), overlap: float = 0.0, neighbours: str = "interpolated",
                 normalise: bool = True) -> np.ndarray:
    """LBP-TOP of each decorrelated colour component of a colour clip, concatenated.

    Parameters
    ----------
    cube : xarray.DataArray or ndarray, shape (time, y, x, channel)
        A colour clip (RGB; an alpha channel is ignored).
    colour_space : "ohta" or ndarray of shape (3, 3)
        The colour transform (see the module notes); learned matrices come from
        :func:`learn_colour_transform` or :class:`TICSLBPTOP`.
    radii, points, mapping, blocks, overlap, neighbours, normalise
        As in :func:`mer_lab.features.lbp.lbp_top`.

    Returns
    -------
    ndarray of float64, shape (3 * lbp_top size,)
        ``[LBP-TOP(component 0) | LBP-TOP(component 1) | LBP-TOP(component 2)]``.

    Notes
    -----
    ``C_k(t, y, x) = sum_c M[k, c] RGB_c(t, y, x)``; LBP codes only compare values, so
    each component's codes do not depend on its scale or offset.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3)).astype(np.uint8)
    >>> lbp_top_tics(rgb, blocks=(2, 2, 1)).shape
    (2124,)
    """
    comps = colour_components(cube, colour_space=colour_space)
    return np.concatenate([
        lbp_top(c, radii=radii, points=points, mapping=mapping, blocks=blocks, overlap=overlap,
                neighbours=neighbours, normalise=normalise) for c in comps])


def lbp_top_tics_names(*, points=(8, 8, 8), mapping: str = "u2", blocks=(8, 8, 1)) -> list[str]:
    """Feature names of :func:`lbp_top_tics`: ``c{component}_`` + the LBP-TOP names."""
    base = lbp_top_names(points=points, mapping=mapping, blocks=blocks)
    return [f"c{k}_{n}" for k in range(3) for n in base]


class TICSLBPTOP(CubeFeatures):
    """Colour LBP-TOP transformer; ``fit`` learns the colour transform from the training clips.

    Parameters
    ----------
    colour_space : {"pca", "ica", "ohta"} or ndarray (3, 3), default "pca"
        Learned in ``fit`` (``"pca"``, ``"ica"``) or fixed.
    max_pixels, random_state
        As in :func:`learn_colour_transform`.
    radii, points, mapping, blocks, overlap, neighbours, normalise
        As in :func:`mer_lab.features.lbp.lbp_top`.

    Attributes
    ----------
    colour_matrix_ : ndarray (3, 3)
        The transform used by ``transform``.
    """

    def __init__(self, *, colour_space="pca", max_pixels=200_000, random_state=0, radii=(1, 1, 1),
                 points=(8, 8, 8), mapping="u2", blocks=(8, 8, 1), overlap=0.0, neighbours="interpolated",
                 normalise=True):
        self.colour_space = colour_space
        self.max_pixels = max_pixels
        self.random_state = random_state
        self.radii = radii
        self.points = points
        self.mapping = mapping
        self.blocks = blocks
        self.overlap = overlap
        self.neighbours = neighbours
        self.normalise = normalise

    def fit(self, X, y=None):
        X = self._check_X(X)
        if isinstance(self.colour_space, str) and self.colour_space in _LEARNED:
            self.colour_matrix_ = learn_colour_transform(list(X), method=self.colour_space,
                                                         max_pixels=self.max_pixels, random_state=self.random_state)
        else:
            self.colour_matrix_ = _matrix(self.colour_space).copy()
        return super().fit(X, y)

    def _extract(self, cube):
        if not hasattr(self, "colour_matrix_"):
            raise NotFittedError("call fit before transform: the colour transform is learned in fit")
        return lbp_top_tics(cube, colour_space=self.colour_matrix_, radii=self.radii, points=self.points,
                            mapping=self.mapping, blocks=self.blocks, overlap=self.overlap,
                            neighbours=self.neighbours, normalise=self.normalise)

    def _names(self, cube):
        return lbp_top_tics_names(points=self.points, mapping=self.mapping, blocks=self.blocks)
