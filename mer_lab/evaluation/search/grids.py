"""Grids of the hyper-parameter search: which settings exist and in what order.

Owns the thesis's polynomial-SVM grid (:class:`PolyGrid`, :func:`poly_grid`,
:func:`thesis_gammas`, the named grids) and the settings tables of every classifier's search
(:func:`_settings_for`: parameter dicts plus a display table, for the polynomial grid or
for any classifier's parameter grid). Nothing here fits a model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import ParameterGrid

from ..._validate import check_choice, check_int
from ..classifiers import default_param_grid

__all__ = ["THESIS_DEGREES", "THESIS_COEFS", "THESIS_CS", "thesis_gammas", "PolyGrid", "poly_grid"]

THESIS_DEGREES = (2, 3, 4, 5)
THESIS_COEFS = (0.0, 1.0, 2.0, 3.0)
THESIS_CS = (0.1, 1.0, 10.0, 100.0)



def params_json(value) -> str:
    """A setting as JSON for the search tables; a callable (a network's per-epoch progress
    callback) is recorded by its name."""
    return json.dumps(value, sort_keys=True, default=lambda v: getattr(v, "__qualname__", type(v).__name__))

def thesis_gammas(step: float = 0.01) -> np.ndarray:
    """Gamma values of the thesis grid: ``step, 2*step, ..., 1`` (0.01 -> 100 values)."""
    n = int(round(1.0 / step))
    if n < 1 or not math.isclose(n * step, 1.0, rel_tol=1e-9):
        raise ValueError(f"step must divide 1 (e.g. 0.01 or 0.1), got {step!r}")
    return np.round(np.arange(1, n + 1) * step, 12)


@dataclass(frozen=True)
class PolyGrid:
    """A grid of polynomial-kernel SVM settings (every combination of the four axes).

    Settings are ordered degree-major, then coef, gamma and C (all ascending); this order
    breaks ties between equally good settings (the first wins).
    """

    degrees: tuple = THESIS_DEGREES
    coefs: tuple = THESIS_COEFS
    gammas: tuple = tuple(thesis_gammas(0.01))
    Cs: tuple = THESIS_CS

    def __post_init__(self):
        for name in ("degrees", "coefs", "gammas", "Cs"):
            values = tuple(getattr(self, name))
            if not values:
                raise ValueError(f"PolyGrid.{name} is empty")
            object.__setattr__(self, name, values)
        for d in self.degrees:
            check_int("degree", d, low=1)
        if any(not np.isfinite(g) or g <= 0 for g in self.gammas):
            raise ValueError(f"gammas must be positive, got {self.gammas}")
        if any(not np.isfinite(c) or c <= 0 for c in self.Cs):
            raise ValueError(f"Cs must be positive, got {self.Cs}")
        if any(not np.isfinite(c) for c in self.coefs):
            raise ValueError(f"coefs must be finite, got {self.coefs}")

    @property
    def n_settings(self) -> int:
        return len(self.degrees) * len(self.coefs) * len(self.gammas) * len(self.Cs)

    def settings(self) -> pd.DataFrame:
        """One row per setting, columns degree, coef, gamma, C, in grid order."""
        d, c, g, C = np.meshgrid(self.degrees, self.coefs, self.gammas, self.Cs, indexing="ij")
        return pd.DataFrame({"degree": d.ravel().astype(int), "coef": c.ravel().astype(float),
                             "gamma": g.ravel().astype(float), "C": C.ravel().astype(float)})

    def index(self, degree, coef, gamma, C) -> int:
        """Position of a setting in grid order."""
        i = [self.degrees.index(degree), self.coefs.index(coef), self.gammas.index(gamma), self.Cs.index(C)]
        n = [len(self.degrees), len(self.coefs), len(self.gammas), len(self.Cs)]
        return ((i[0] * n[1] + i[1]) * n[2] + i[2]) * n[3] + i[3]


_NAMED_GRIDS = {
    "thesis": lambda: PolyGrid(),
    "thesis_coarse": lambda: PolyGrid(gammas=tuple(thesis_gammas(0.1))),
    "small": lambda: PolyGrid(degrees=(2, 3), coefs=(0.0, 1.0), gammas=(0.01, 0.1, 0.5, 1.0), Cs=(0.1, 1.0, 10.0)),
}


def poly_grid(grid="thesis", *, n_features: int | None = None) -> PolyGrid:
    """Resolve a grid name or mapping into a :class:`PolyGrid`.

    Parameters
    ----------
    grid : str, mapping or PolyGrid
        ``"thesis"`` (6,400 settings, gamma step 0.01), ``"thesis_coarse"`` (640
        settings, gamma step 0.1: the thesis's grid for the large LBP-TOP and Sparse
        MDMO features), ``"small"`` (48 settings, for demonstrations), ``"auto"``
        (``"thesis_coarse"`` when ``n_features`` > 1000, else ``"thesis"``), or a
        mapping with keys among degrees, coefs, gammas, Cs (missing axes take the thesis
        values).
    n_features : int, optional
        Feature dimension, used by ``"auto"``.

    Examples
    --------
    >>> poly_grid("thesis").n_settings, poly_grid("thesis_coarse").n_settings
    (6400, 640)
    """
    if isinstance(grid, PolyGrid):
        return grid
    if isinstance(grid, Mapping):
        unknown = set(grid) - {"degrees", "coefs", "gammas", "Cs"}
        if unknown:
            raise ValueError(f"grid has unknown keys {sorted(unknown)}; use degrees, coefs, gammas, Cs")
        return PolyGrid(**{k: tuple(v) for k, v in grid.items()})
    check_choice("grid", grid, ["auto", *_NAMED_GRIDS])
    if grid == "auto":
        grid = "thesis_coarse" if (n_features or 0) > 1000 else "thesis"
    return _NAMED_GRIDS[grid]()



def _settings_for(classifier, grid, params, search, n_features):
    """(parameter dicts, settings table, engine) for a classifier/grid/search combination."""
    if search == "none":
        rows = [dict(params or {})]
        return rows, _table(rows), "estimator"
    if classifier == "svm_poly":
        if params:
            raise ValueError("params fixes the parameters of search='none'; for a search give grid instead")
        table = poly_grid(grid, n_features=n_features).settings()
        rows = [{"degree": int(r.degree), "coef": float(r.coef), "gamma": float(r.gamma), "C": float(r.C)}
                for r in table.itertuples(index=False)]
        return rows, table, "poly"
    if isinstance(grid, Mapping):
        param_grid = {k: list(v) for k, v in grid.items()}
    elif grid in (None, "auto"):
        param_grid = default_param_grid(classifier)
    else:
        raise ValueError(f"grid for classifier {classifier!r} must be 'auto' or a mapping "
                         f"parameter -> list of values, got {grid!r}")
    fixed = dict(params or {})
    rows = [{**fixed, **p} for p in ParameterGrid(param_grid)] if param_grid else [fixed]
    return rows, _table(rows), "estimator"


def _table(rows: list[dict]) -> pd.DataFrame:
    """Settings as a table for display (values that are not plain numbers/strings as JSON)."""
    def plain(v):
        return v if isinstance(v, (int, float, str)) and not isinstance(v, bool) else params_json(v)

    return pd.DataFrame([{k: plain(v) for k, v in r.items()} for r in rows], index=range(len(rows)))

