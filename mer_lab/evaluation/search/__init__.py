"""Hyper-parameter search under a cross-validation protocol: the thesis grid, fast.

The thesis (section 4.2.4) tunes an SVM with the polynomial kernel
:math:`K(x, y) = (\\gamma x^T y + coef)^{degree}` over degree 2..5, coef 0..3,
C in {0.1, 1, 10, 100} and gamma 0.01..1 in steps of 0.01 (0.1 for the large LBP-TOP and
Sparse MDMO features): 6,400 settings, each scored by the macro F1 of its pooled LOSO
predictions. Three ways of choosing a setting are offered:

``"nested"`` (the default)
    For every outer fold, an inner cross-validation over the training subjects only
    (leave one subject out up to 20 training subjects, grouped 5-fold above) picks the
    setting, which is then refitted on the whole training part and applied to the
    held-out fold. This is the honest estimate. On grids with more than ten gammas (the
    thesis grid has 100) the inner search is pruned coarse-to-fine by a stated rule:
    every setting at the ten coarse gammas 0.1, 0.2, ..., 1.0 (640 of 6,400), then the
    finer gammas between the best one's coarse neighbours (76 more). ``report_thesis``
    adds the ``"thesis"`` selection (one full-grid pass over the outer folds), so
    reports can show both and the gap.
``"thesis"``
    The setting with the best pooled score over the protocol's own test folds. This is
    what the thesis reports, and it is **optimistic**: the test subjects' labels choose
    the hyper-parameters (see Varanka et al. 2022, "Data leakage and evaluation issues
    in micro-expression analysis"). Use it to reproduce the thesis, next to nested.
``"none"``
    No search: the given parameters.

The package is three modules, each owning one responsibility:

:mod:`~mer_lab.evaluation.search.grids`
    Which settings exist and in what order: :class:`PolyGrid`, :func:`poly_grid`,
    :func:`thesis_gammas`, and the settings table of any classifier's grid.
:mod:`~mer_lab.evaluation.search.backend`
    The fits: per-fold preprocessing, the polynomial grid on precomputed Gram matrices
    with scikit-learn's ``SVC(kernel="precomputed")`` (how it is made fast is described
    there), any other classifier's grid, parallel and de-duplicated training sets.
:mod:`~mer_lab.evaluation.search.selection`
    The choice: :func:`search_predict`, the nested search's inner folds and pruning rule,
    pooled scores, :class:`SearchResult`, the duration estimate.

Every public name is importable from ``mer_lab.evaluation.search`` itself.
"""

from .backend import PREPROCESSING, estimator_grid_predictions, make_preprocessor, poly_grid_predictions
from .grids import THESIS_COEFS, THESIS_CS, THESIS_DEGREES, PolyGrid, poly_grid, thesis_gammas
from .selection import (
    INNER_FOLDS,
    INNER_LOSO_MAX_SUBJECTS,
    SEARCHES,
    SELECTION_METRICS,
    LongRunWarning,
    SearchResult,
    batch_scores,
    estimate_seconds,
    search_predict,
)

__all__ = [
    "SEARCHES",
    "PREPROCESSING",
    "SELECTION_METRICS",
    "PolyGrid",
    "poly_grid",
    "thesis_gammas",
    "make_preprocessor",
    "poly_grid_predictions",
    "estimator_grid_predictions",
    "batch_scores",
    "SearchResult",
    "search_predict",
    "LongRunWarning",
    "estimate_seconds",
]
