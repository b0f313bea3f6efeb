"""Sparse MDMO (Liu, Li & Lai 2018): graph-regularised sparse codes of per-frame MDMO.

MDMO (:mod:`mer_lab.features.mdmo`) averages the per-frame main-direction vectors of a
clip into one 72-d vector, which loses how the frames are arranged in feature space.
Sparse MDMO keeps the frames: every frame of every training clip is an *atomic* MDMO
vector, a dictionary is learned over them with graph regularised sparse coding
(GraphSC, Zheng et al. 2011) whose graph links frames that are close under a
micro-expression specific distance, and a clip is described by its frames' sparse codes.

Pipeline
--------
1. Clips are resampled to ``n_frames`` frames with TIM (the codes of all clips then come
   from the same number of frames; the thesis adds TIM for exactly this reason) and
   the per-frame MDMO matrix ``(T, 36, 2)`` is computed (:func:`mdmo.mdmo_frames`:
   flow from the first frame, flow-domain alignment, main direction per ROI).
2. Atoms: per frame, ``(rhotilde_k, theta_k)`` for the 36 ROIs, where ``rhotilde`` is
   ``rho`` divided by the clip's largest ``rho`` (over frames and ROIs; ``normalise=
   "clip"``, which keeps the rise and fall of the motion within the clip) or by the
   frame's own largest ``rho`` (``"frame"``, the MDMO normalisation applied per frame).
   As a data vector for the dictionary the atom is weighted like MDMO:
   ``x = (lam rhotilde_1, (1 - lam) theta_1, ..., lam rhotilde_36, (1 - lam) theta_36)``
   (``angle="linear"``, the paper's and the default), or with ``(1 - lam) (cos theta_k,
   sin theta_k)`` in place of each angle (``angle="circular"``, 108 values). On a synthetic
   corpus no reported figure comes from, the two gave the same LOSO macro F1 within 0.01
   (docs/mdmo.md), so the paper's stays the default.
3. The ME distance between two atoms (:func:`me_distance`) is the lambda-weighted
   convex combination of their magnitude and angle differences,
   ``d(a, b) = lam sum_k |rho_k^a - rho_k^b| + (1 - lam) sum_k delta(theta_k^a,
   theta_k^b)``, with ``delta`` the angular difference on the circle
   (``min(|t|, 2 pi - |t|)``, so 1 deg and 359 deg are 2 deg apart). The graph is the
   symmetric k-nearest-neighbour graph of the training frames under this distance with
   0/1 (``"binary"``) or heat-kernel weights.
4. GraphSC (:mod:`mer_lab.features._graphsc`) on the training frames only:
   ``min ||X - D S||_F^2 + alpha Tr(S L S^T) + beta sum_i ||s_i||_1`` s.t.
   ``||d_j||^2 <= c``, alternating a code step (monotone FISTA by default, or the
   paper's feature-sign search) and a dictionary step (the Lagrange dual).
5. Codes of new (test) frames use the learned dictionary and the *training* graph: each
   test frame is joined to its ``k`` nearest training frames (ME distance) and its code
   minimises ``||x - D s||^2 + alpha sum_j w_j ||s - s_j||^2 + beta ||s||_1`` with the
   training codes ``s_j`` held fixed: the GraphSC objective for one more node of the
   graph. Test frames never influence the dictionary, the training codes, or each
   other (``test_graph="none"`` codes them by plain sparse coding instead). We could not
   check how the paper codes test samples; this inductive extension is our choice and
   keeps the LOSO protocol free of leakage.
   The training clips are coded by this same rule after GraphSC, and those codes (not
   GraphSC's joint ones) are what ``fit_transform`` returns and the classifier is
   trained on: ``fit_transform(X) == fit(X).transform(X)``.
6. A clip's codes ``(K, T)`` are pooled over frames: ``"max"`` (largest absolute code
   per atom, as in sparse-coding spatial pyramids), ``"mean"``, or ``"concat"`` (frames
   kept in order, ``K * T`` values; needs equal frame counts, i.e. TIM). The pooled
   vectors are classified by an SVM downstream.

Nested selection
----------------
Learning the dictionary is the costly part (GraphSC over every training frame). In a
nested search (:func:`mer_lab.evaluation.search.search_predict`), each outer fold fits
the stage once on its whole training part, and that fold's inner folds reuse it through
:meth:`SparseMDMOFromFrames.nested_view` instead of learning a dictionary per inner
training set. The rule:

* the outer test subject's clips never reach the dictionary, the graph or the codes used
  to score them (the outer fit sees the outer training clips only);
* the inner folds train their classifier on the outer fit's codes of their training
  clips, and code the held-out inner subject's clips as new clips, linked only to the
  frames of the other inner-training clips (never to their own);
* the held-out inner subject's frames did take part, without labels, in learning that
  outer fold's dictionary (they belong to the outer training set). No label is used.

Scoring the outer test clips with the view over all outer training clips gives exactly
the codes of a fresh fit. A pipeline that refits the stage in every inner fold (the
stage on its own, e.g. in scikit-learn's ``GridSearchCV``) gives the stricter estimate
at about six times the cost on a 12-subject corpus.

Hyper-parameters
----------------
Defaults: ``n_atoms=128``, ``alpha=1``, ``beta=1`` (also the registry's), ``k=5`` with binary weights,
``c=1``, ``lam=0.9``, ``n_frames=10``, ``pooling="max"``. ``alpha=1``, ``k=5`` and
binary (0/1) weights follow the settings of GraphSC's authors (Zheng et al. 2011);
``lam=0.9`` is the thesis's MDMO weight. The per-dataset dictionary sizes and weights of
Liu et al. (2018) (the thesis used them, and CASME II's for SAMM) could not be checked
against the paper for this implementation, so none are hard-coded: ``n_atoms`` and
``beta`` were chosen for moderately sparse codes on MDMO atoms (on the default
synthetic corpus about 35-40 % non-zero codes at ``beta=1``, 20 % at 1.5, 6 % at 2; the
graph term keeps neighbouring frames' codes alike, which makes them denser than plain
sparse codes). Set them to the paper's values when you have it at hand.

References
----------
Y.-J. Liu, B.-J. Li, Y.-K. Lai (2018). Sparse MDMO: learning a discriminative feature
for micro-expression recognition. IEEE Transactions on Affective Computing 12(1),
254-261 (published online 2018). doi:10.1109/TAFFC.2018.2854166
M. Zheng, J. Bu, C. Chen, C. Wang, L. Zhang, G. Qiu, D. Cai (2011). Graph regularized
sparse coding for image representation. IEEE TIP 20(5), 1327-1336.
doi:10.1109/TIP.2010.2090535
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin

from .._validate import check_choice, check_int, check_number, describe
from . import _graphsc
from .base import as_cube_array
from .mdmo import ANGLES, as_frames_array, mdmo_frames
from .rois import BROW_OFFSET

__all__ = [
    "DEFAULTS",
    "mdmo_atoms",
    "atom_vectors",
    "me_distance",
    "me_graph",
    "pool_codes",
    "SparseMDMOFromFrames",
    "NestedView",
    "SparseMDMO",
    "clear_fit_memory",
]

_TWO_PI = 2 * np.pi

#: Default angle encoding of the atoms' data vectors: the paper's (module docs, step 2).
ANGLE_DEFAULT = "linear"

#: Default hyper-parameters (see the module docs for their sources).
DEFAULTS = dict(lam=0.9, angle=ANGLE_DEFAULT, n_atoms=128, alpha=1.0, beta=1.0, k=5, weight="binary", c=1.0,
                n_frames=10,
                pooling="max")


# --------------------------------------------------------------------------- atoms and distance
def mdmo_atoms(frames, *, normalise: str = "clip") -> np.ndarray:
    """Atomic MDMO vectors of one clip: ``(T, 36, 2)`` of ``(rhotilde, theta)``.

    Parameters
    ----------
    frames : array_like or DataArray, shape (T, 36, 2)
        Per-frame ``(rho, theta)`` (:func:`mer_lab.features.mdmo.mdmo_frames`).
    normalise : {"clip", "frame", "none"}
        Divide ``rho`` by the clip's largest ``rho`` (``"clip"``), by each frame's largest
        (``"frame"``) or not at all. All-zero frames/clips stay zero.

    Returns
    -------
    ndarray, shape (T, 36, 2), float64
    """
    check_choice("normalise", normalise, ("clip", "frame", "none"))
    arr = as_frames_array([frames], name="frames")[0].copy()
    rho = arr[..., 0]
    if normalise == "clip":
        top = rho.max()
        arr[..., 0] = rho / top if top > 0 else 0.0
    elif normalise == "frame":
        top = rho.max(axis=1, keepdims=True)
        arr[..., 0] = np.where(top > 0, rho / np.where(top > 0, top, 1), 0.0)
    arr[..., 1] = np.mod(arr[..., 1], _TWO_PI)
    return arr


def atom_vectors(atoms, *, lam: float = 0.9, angle: str = ANGLE_DEFAULT) -> np.ndarray:
    """``(n, 36, 2)`` atoms -> data vectors of the dictionary (module docs, step 2).

    ``angle="linear"``: ``(n, 72)``, ``(lam rho, (1 - lam) theta)`` per ROI, the angle
    as a coordinate in [0, 2 pi); ``"circular"``: ``(n, 108)``, ``(lam rho, (1 - lam) cos
    theta, (1 - lam) sin theta)`` per ROI (zero cos and sin where ``rho`` is 0), so that
    directions either side of 0 are close in the reconstruction term too.
    """
    lam = check_number("lam", lam, low=0, high=1)
    check_choice("angle", angle, ANGLES)
    a = np.asarray(atoms, dtype=np.float64)
    if angle == "linear":
        out = np.empty((a.shape[0], 72))
        out[:, 0::2] = lam * a[..., 0]
        out[:, 1::2] = (1 - lam) * a[..., 1]
        return out
    moving = a[..., 0] > 0
    out = np.empty((a.shape[0], 108))
    out[:, 0::3] = lam * a[..., 0]
    out[:, 1::3] = (1 - lam) * np.where(moving, np.cos(a[..., 1]), 0.0)
    out[:, 2::3] = (1 - lam) * np.where(moving, np.sin(a[..., 1]), 0.0)
    return out


def me_distance(a, b=None, *, lam: float = 0.9, chunk: int = 512) -> np.ndarray:
    """Pairwise ME distance between atoms (module docs, step 3).

    Parameters
    ----------
    a : array_like, shape (n_a, 36, 2)
    b : array_like, shape (n_b, 36, 2), optional
        Default ``a``.
    lam : float in [0, 1]
        Weight of the magnitude part.
    chunk : int
        Rows of ``a`` processed at once (memory ``2 * chunk * n_b`` float32).

    Returns
    -------
    ndarray, shape (n_a, n_b), float64

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 36, 2)); x[1, :, 1] = np.deg2rad(359)
    >>> round(float(np.degrees(me_distance(x, lam=0.0)[0, 1] / 36)), 3)   # 1 deg apart, not 359
    1.0
    """
    lam = check_number("lam", lam, low=0, high=1)
    a = np.asarray(a, dtype=np.float64)
    b = a if b is None else np.asarray(b, dtype=np.float64)
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 3 or x.shape[1:] != (36, 2):
            raise ValueError(f"{name} must have shape (n, 36, 2) (rho, theta per ROI), got {x.shape}")
    from scipy.spatial.distance import cdist

    # magnitude part: plain L1 (C loop of cdist)
    out = lam * cdist(a[..., 0], b[..., 0], metric="cityblock") if lam > 0 else np.zeros((a.shape[0], b.shape[0]))
    if lam < 1:
        # angle part: with angles in [0, 2 pi), |t| < 2 pi and min(|t|, 2 pi - |t|) = pi - |pi - |t||;
        # accumulated ROI by ROI on (rows x n_b) float32 blocks, in place
        ta = np.ascontiguousarray(np.mod(a[..., 1], _TWO_PI).T, dtype=np.float32)     # (36, n_a)
        tb = np.ascontiguousarray(np.mod(b[..., 1], _TWO_PI).T, dtype=np.float32)     # (36, n_b)
        pi = np.float32(np.pi)
        for s in range(0, a.shape[0], chunk):
            rows = ta[:, s:s + chunk]
            acc = np.zeros((rows.shape[1], tb.shape[1]), np.float32)
            tmp = np.empty_like(acc)
            for k in range(36):
                np.subtract(rows[k][:, None], tb[k][None, :], out=tmp)
                np.abs(tmp, out=tmp)
                np.subtract(tmp, pi, out=tmp)
                np.abs(tmp, out=tmp)
                acc += tmp                               # sum_k |pi - |t_k||
            out[s:s + chunk] += (1 - lam) * (36 * np.pi - acc.astype(np.float64))
    return out


def me_graph(atoms, *, lam: float = 0.9, k: int = 5, weight: str = "binary", t: float | None = None):
    """Symmetric kNN graph (scipy CSR weights) of atoms under the ME distance."""
    check_choice("weight", weight, ("binary", "heat"))
    k = check_int("k", k, low=1)
    return _graphsc.knn_graph(me_distance(atoms, lam=lam), k=k, weight=weight, t=t)


def _test_weights(test_atoms, train_atoms, *, lam, k, weight, t):
    """Edges from each test atom to its k nearest training atoms (n_test x n_train CSR)."""
    import scipy.sparse as sp

    d = me_distance(test_atoms, train_atoms, lam=lam)
    k = min(k, d.shape[1])
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(d.shape[0]), k)
    dk = d[rows, nn.ravel()]
    vals = np.ones_like(dk) if weight == "binary" else np.exp(-dk ** 2 / t)
    return sp.csr_matrix((vals, (rows, nn.ravel())), shape=d.shape)


def pool_codes(codes, *, pooling: str = "max") -> np.ndarray:
    """Pool one clip's codes ``(K, T)`` over frames.

    ``"max"``: ``max_t |s_kt|``; ``"mean"``: ``mean_t s_kt``; ``"concat"``: the codes of
    the frames one after the other (``K * T`` values, frame-major).
    """
    check_choice("pooling", pooling, ("max", "mean", "concat"))
    c = np.asarray(codes, dtype=np.float64)
    if pooling == "max":
        return np.abs(c).max(axis=1)
    if pooling == "mean":
        return c.mean(axis=1)
    return c.T.ravel()


# --------------------------------------------------------------------------- transformers
#: Fitted stages kept in memory (per process), keyed by the stage's parameters and a digest
#: of every training clip's per-frame matrices: fitting again on the same clips with the
#: same parameters (a dashboard's classifier change, a second search over the same folds)
#: reuses the dictionary instead of learning it again. Fitting is deterministic for a
#: given ``random_state``, so a reused fit is the fit. At most this many are kept.
FIT_MEMO_SIZE = 32
_FIT_MEMO: OrderedDict = OrderedDict()
_FIT_MEMO_LOCK = threading.Lock()


def clear_fit_memory() -> None:
    """Forget the fitted stages kept in memory (:data:`FIT_MEMO_SIZE`)."""
    with _FIT_MEMO_LOCK:
        _FIT_MEMO.clear()


class SparseMDMOFromFrames(TransformerMixin, BaseEstimator):
    """Sparse MDMO over precomputed per-frame MDMO matrices (module docs, steps 2-6).

    ``X`` holds one ``(T, 36, 2)`` per-frame matrix per clip, as returned by
    :func:`mer_lab.features.mdmo.mdmo_frames` (a 4-D array, a 2-D array of flattened
    matrices, or a list; see :func:`mer_lab.features.mdmo.as_frames_array`). ``fit``
    learns the dictionary from the training clips only; ``transform`` codes clips with
    it. Use it with cached per-frame MDMO in ``Pipeline`` + ``LeaveOneGroupOut``.

    Parameters
    ----------
    lam : float
        Magnitude weight of the atoms and of the ME distance (0.9).
    angle : {"linear", "circular"}
        Encoding of each ROI's angle in the data vectors (:func:`atom_vectors`); the ME
        distance of the graph measures angles on the circle either way.
    n_atoms : int
        Dictionary size K.
    alpha, beta : float
        Graph and sparsity weights of GraphSC.
    k : int
        Neighbours per frame in the graph.
    weight : {"binary", "heat"}
        Graph edge weights (heat: ``exp(-d^2 / t)``, ``t`` the mean squared kNN distance
        of the training frames).
    c : float
        Bound on the squared norm of each atom.
    normalise : {"clip", "frame", "none"}
        Magnitude normalisation of the atoms (:func:`mdmo_atoms`).
    pooling : {"max", "mean", "concat"}
        How a clip's frame codes become one vector (:func:`pool_codes`).
    test_graph : {"train_neighbours", "none"}
        How new clips are coded (module docs, step 5).
    n_iter : int
        Alternations of GraphSC (it stops earlier when the objective settles).
    code_solver : {"fista", "feature_sign"}
    dict_solver : {"dual", "bcd"}
    random_state : int
        Seed of the initial dictionary; refitting with the same seed is deterministic.

    Attributes
    ----------
    dictionary_ : ndarray, shape (72, n_atoms) or (108, n_atoms) (``angle="circular"``)
    train_codes_ : ndarray, shape (n_atoms, n_train_frames)
        The codes GraphSC learned jointly for the training frames (the graph's nodes that
        new frames are linked to).
    history_ : list of float
        GraphSC objective at the start and after each iteration (non-increasing).
    graph_sparsity_ : float
        Fraction of non-zero entries of ``train_codes_``.
    sparsity_ : float
        Fraction of non-zero codes of the training frames coded as ``transform`` codes
        them: the codes the classifier is trained on.
    n_features_out_ : int
    train_pooled_ : ndarray, shape (n_train_clips, n_features_out_)
        What ``fit_transform`` returns: the training clips' pooled codes.

    Notes
    -----
    A fit on the same clips with the same parameters as one of the last
    :data:`FIT_MEMO_SIZE` fits in this process reuses that fit (it is deterministic);
    :func:`clear_fit_memory` forgets them.

    Training and test clips are coded by the same rule: ``fit_transform(X)`` equals
    ``fit(X).transform(X)``. GraphSC's joint training codes define the graph new frames
    are linked to, but the classifier is never trained on them, since test clips cannot
    be coded that way (it would let them shape the dictionary). A training frame's
    nearest training frame is itself, so its code leans towards its GraphSC code; a test
    frame leans towards its neighbours'.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.random((6, 4, 36, 1)), rng.random((6, 4, 36, 1)) * 6], axis=-1)
    >>> sp = SparseMDMOFromFrames(n_atoms=16, n_iter=5).fit(X)
    >>> sp.dictionary_.shape, sp.transform(X).shape
    ((72, 16), (6, 16))
    """

    def __init__(self, *, lam=0.9, angle=ANGLE_DEFAULT, n_atoms=128, alpha=1.0, beta=1.0, k=5, weight="binary",
                 c=1.0, normalise="clip", pooling="max", test_graph="train_neighbours", n_iter=20,
                 code_solver="fista", dict_solver="dual", random_state=0):
        self.lam = lam
        self.angle = angle
        self.n_atoms = n_atoms
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.weight = weight
        self.c = c
        self.normalise = normalise
        self.pooling = pooling
        self.test_graph = test_graph
        self.n_iter = n_iter
        self.code_solver = code_solver
        self.dict_solver = dict_solver
        self.random_state = random_state

    # ----------------------------------------------------------------- helpers
    def _check_params(self):
        check_number("lam", self.lam, low=0, high=1)
        check_choice("angle", self.angle, ANGLES)
        check_int("n_atoms", self.n_atoms, low=1)
        check_number("alpha", self.alpha, low=0)
        check_number("beta", self.beta, low=0)
        check_int("k", self.k, low=1)
        check_choice("weight", self.weight, ("binary", "heat"))
        check_number("c", self.c, low=0, low_open=True)
        check_choice("normalise", self.normalise, ("clip", "frame", "none"))
        check_choice("pooling", self.pooling, ("max", "mean", "concat"))
        check_choice("test_graph", self.test_graph, ("train_neighbours", "none"))
        check_int("n_iter", self.n_iter, low=1)
        check_choice("code_solver", self.code_solver, ("fista", "feature_sign"))
        check_choice("dict_solver", self.dict_solver, ("dual", "bcd"))

    def _atoms(self, X, frames=None):
        frames = self._frames(X) if frames is None else frames
        clips = [mdmo_atoms(a, normalise=self.normalise) for a in frames]
        lengths = np.array([a.shape[0] for a in clips])
        if self.pooling == "concat" and np.unique(lengths).size > 1:
            raise ValueError(f"pooling='concat' needs clips of equal length, got lengths {sorted(set(lengths))}; "
                             "resample them with TIM (n_frames) or pool with 'max' or 'mean'")
        return np.concatenate(clips, axis=0), lengths

    def _frames(self, X):
        return as_frames_array(X)

    def _pool(self, codes, lengths):
        edges = np.concatenate([[0], np.cumsum(lengths)])
        return np.vstack([pool_codes(codes[:, a:b], pooling=self.pooling) for a, b in zip(edges[:-1], edges[1:])])

    # ----------------------------------------------------------------- sklearn API
    def fit(self, X, y=None):
        self._fit(X)
        return self

    def _fit(self, X):
        self._check_params()
        frames = self._frames(X)
        keys = self._clip_keys(X, frames)
        memo_key = (tuple((name, repr(getattr(self, name))) for name in _STAGE_PARAMS), tuple(keys))
        with _FIT_MEMO_LOCK:
            found = _FIT_MEMO.get(memo_key)
            if found is not None:
                _FIT_MEMO.move_to_end(memo_key)
        if found is not None:  # copies: changing this fit's arrays must not change the kept one
            self.__dict__.update({k: v.copy() if isinstance(v, np.ndarray) else v for k, v in found.items()})
            return None, None
        atoms, lengths = self._atoms(X, frames)
        data = atom_vectors(atoms, lam=self.lam, angle=self.angle).T     # (72 or 108, n)
        dist = me_distance(atoms, lam=self.lam)
        w = _graphsc.knn_graph(dist, k=self.k, weight=self.weight)
        if self.weight == "heat":
            d2 = dist.copy()
            np.fill_diagonal(d2, np.inf)
            kk = min(self.k, max(d2.shape[0] - 1, 1))
            self.heat_t_ = float(np.mean(np.partition(d2, kk - 1, axis=1)[:, :kk] ** 2)) or 1.0
            w = _graphsc.knn_graph(dist, k=self.k, weight="heat", t=self.heat_t_)
        else:
            self.heat_t_ = None
        L = _graphsc.laplacian(w)
        res = _graphsc.graphsc(data, L, n_atoms=self.n_atoms, alpha=float(self.alpha), beta=float(self.beta),
                               c=float(self.c), n_iter=self.n_iter, code_solver=self.code_solver,
                               dict_solver=self.dict_solver, random_state=self.random_state)
        self.dictionary_ = res.D
        self.train_codes_ = res.S
        self.train_atoms_ = atoms
        self.history_ = res.history
        self.n_iter_ = res.n_iter
        self.graph_sparsity_ = float(np.mean(res.S != 0))
        self.n_train_frames_ = atoms.shape[0]
        T = int(lengths[0])
        self.n_features_out_ = self.n_atoms * T if self.pooling == "concat" else self.n_atoms
        self._frames_per_clip = T
        # the classifier's training codes: the training frames coded like any new frame
        # (started from GraphSC's codes of the same frames, which only saves search steps)
        codes = self.codes(atoms, start=res.S)
        self.sparsity_ = float(np.mean(codes != 0))
        self.train_lengths_ = lengths
        self.train_pooled_ = self._pool(codes, lengths)
        self._train_keys = {}
        for i, key in enumerate(keys):
            self._train_keys.setdefault(key, i)
        fitted = {name: value for name, value in self.__dict__.items()
                  if name.endswith("_") or name in ("_frames_per_clip", "_train_keys")}
        with _FIT_MEMO_LOCK:
            _FIT_MEMO[memo_key] = fitted
            while len(_FIT_MEMO) > FIT_MEMO_SIZE:
                _FIT_MEMO.popitem(last=False)
        return codes, lengths

    def fit_transform(self, X, y=None, **fit_params):
        self._fit(X)
        return self.train_pooled_.copy()

    def _clip_keys(self, X, frames=None):
        """A digest of every clip's per-frame matrices (identifies the training clips)."""
        frames = self._frames(X) if frames is None else frames
        return [hashlib.sha1(np.ascontiguousarray(f, dtype=np.float64).tobytes()).hexdigest() for f in frames]

    def nested_view(self) -> "NestedView":
        """This fitted stage, reused for subsets of its training clips (module docs,
        "Nested selection"): see :class:`NestedView`."""
        if not hasattr(self, "dictionary_"):
            raise AttributeError("call fit before nested_view")
        return NestedView(self)

    def transform(self, X):
        if not hasattr(self, "dictionary_"):
            raise AttributeError("call fit before transform")
        atoms, lengths = self._atoms(X)
        if self.pooling == "concat" and lengths[0] != self._frames_per_clip:
            raise ValueError(f"pooling='concat' was fitted on clips of {self._frames_per_clip} frames; "
                             f"got clips of {lengths[0]}")
        return self._pool(self.codes(atoms), lengths)

    def codes(self, atoms, *, start="neighbours") -> np.ndarray:
        """Codes ``(n_atoms, n)`` of atoms ``(n, 36, 2)`` with the fitted dictionary (step 5).

        ``start`` only sets where the exact per-frame search starts (see
        :func:`mer_lab.features._graphsc.encode`); the codes do not depend on it.
        """
        return self._codes_against(atoms, self.train_atoms_, self.train_codes_, start=start)

    def _codes_against(self, atoms, node_atoms, node_codes, *, start="neighbours"):
        """Codes of atoms linked to the given training frames (their atoms and GraphSC codes)."""
        data = atom_vectors(atoms, lam=self.lam, angle=self.angle).T
        weights = None
        if self.test_graph == "train_neighbours" and self.alpha > 0:
            weights = _test_weights(atoms, node_atoms, lam=self.lam, k=self.k, weight=self.weight, t=self.heat_t_)
        return _graphsc.encode(data, self.dictionary_, beta=float(self.beta), alpha=float(self.alpha),
                               weights=weights, train_codes=node_codes, solver="feature_sign", start=start)

    def get_feature_names_out(self, input_features=None):
        if not hasattr(self, "n_features_out_"):
            raise AttributeError("call fit before get_feature_names_out")
        if self.pooling == "concat":
            names = [f"frame{t}_atom{j}" for t in range(self._frames_per_clip) for j in range(self.n_atoms)]
        else:
            names = [f"atom{j}" for j in range(self.n_atoms)]
        return np.asarray(names, dtype=object)


#: The parameters that shape a fit once the per-frame matrices are known.
_STAGE_PARAMS = tuple(SparseMDMOFromFrames._get_param_names())


class NestedView(TransformerMixin, BaseEstimator):
    """A fitted Sparse MDMO stage reused for a subset of its training clips.

    Made by :meth:`SparseMDMOFromFrames.nested_view`; used by the nested search for the
    inner folds of an outer fold (module docs, "Nested selection").

    ``fit(X)`` accepts only clips the stage was fitted on (matched by their per-frame
    matrices) and learns nothing: ``fit_transform(X)`` returns the stage's own codes of
    those clips. ``transform(X)`` codes clips with the stage's dictionary, each frame
    linked to its ``k`` nearest frames among the clips given to ``fit`` (with their
    GraphSC codes), so a held-out subject's frames are never linked to themselves.
    Fitted on all of the stage's training clips, it gives exactly the stage's
    ``fit_transform`` and ``transform``.

    ``sklearn.base.clone`` gives a new, unfitted view of the same fitted stage (the stage
    itself is never refitted).
    """

    def __init__(self, stage=None):
        self.stage = stage

    def __sklearn_clone__(self):
        return NestedView(self.stage)

    def _rows(self, X):
        if self.stage is None or not hasattr(self.stage, "_train_keys"):
            raise ValueError("NestedView needs a fitted SparseMDMOFromFrames stage; make it with stage.nested_view()")
        keys = self.stage._clip_keys(X)
        rows = []
        for i, key in enumerate(keys):
            j = self.stage._train_keys.get(key)
            if j is None:
                raise ValueError(f"X[{i}] is not one of the {len(self.stage.train_pooled_)} clips the stage was "
                                 "fitted on; a nested view only serves subsets of its stage's training clips "
                                 "(fit a new SparseMDMOFromFrames for other clips)")
            rows.append(j)
        return np.asarray(rows, dtype=np.int64)

    def fit(self, X, y=None):
        rows = self._rows(X)
        edges = np.concatenate([[0], np.cumsum(self.stage.train_lengths_)])
        mask = np.zeros(int(edges[-1]), dtype=bool)
        for r in rows:
            mask[edges[r]:edges[r + 1]] = True
        self.rows_ = rows
        self.frame_mask_ = mask
        self.n_features_out_ = self.stage.n_features_out_
        return self

    def fit_transform(self, X, y=None, **fit_params):
        self.fit(X)
        return self.stage.train_pooled_[self.rows_].copy()

    def transform(self, X):
        if not hasattr(self, "frame_mask_"):
            raise AttributeError("call fit before transform")
        st = self.stage
        atoms, lengths = st._atoms(X)
        if st.pooling == "concat" and lengths[0] != st._frames_per_clip:
            raise ValueError(f"pooling='concat' was fitted on clips of {st._frames_per_clip} frames; "
                             f"got clips of {lengths[0]}")
        m = self.frame_mask_
        codes = st._codes_against(atoms, st.train_atoms_[m], st.train_codes_[:, m])
        return st._pool(codes, lengths)

    def get_feature_names_out(self, input_features=None):
        return self.stage.get_feature_names_out(input_features)


class SparseMDMO(SparseMDMOFromFrames):
    """Sparse MDMO over cubes: TIM, per-frame MDMO, then :class:`SparseMDMOFromFrames`.

    ``X`` is a sequence of cubes. The per-frame MDMO matrices are computed with
    :func:`mer_lab.features.mdmo.mdmo_frames` (``landmarks``, ``engine``, ``align``,
    ``n_frames``, ``n_bins``, ``brow_offset``, ``cache``, ``engine_params`` are passed on;
    ``n_frames`` defaults to 10 TIM frames) and cached on disk with the flows, so a LOSO
    run computes each clip's flow once. All other parameters are those of
    :class:`SparseMDMOFromFrames`.

    Examples
    --------
    >>> # make_pipeline(SparseMDMO(landmarks=corpus_landmarks(corpus), engine="farneback"),
    >>> #               StandardScaler(), SVC())
    """

    def __init__(self, *, landmarks="auto", engine="tvl1", align="affine", n_frames=10, n_bins=8,
                 brow_offset=BROW_OFFSET, cache=None, engine_params=None, lam=0.9, angle=ANGLE_DEFAULT,
                 n_atoms=128, alpha=1.0,
                 beta=1.0, k=5, weight="binary", c=1.0, normalise="clip", pooling="max",
                 test_graph="train_neighbours", n_iter=20, code_solver="fista", dict_solver="dual",
                 random_state=0):
        super().__init__(lam=lam, angle=angle, n_atoms=n_atoms, alpha=alpha, beta=beta, k=k, weight=weight, c=c,
                         normalise=normalise, pooling=pooling, test_graph=test_graph, n_iter=n_iter,
                         code_solver=code_solver, dict_solver=dict_solver, random_state=random_state)
        self.landmarks = landmarks
        self.engine = engine
        self.align = align
        self.n_frames = n_frames
        self.n_bins = n_bins
        self.brow_offset = brow_offset
        self.cache = cache
        self.engine_params = engine_params

    def _frames(self, X):
        if isinstance(X, xr.DataArray):
            raise TypeError("X must be a sequence of cubes (a list or a 1-D object array), not a single cube")
        cubes = as_cube_array(X)
        if len(cubes) == 0:
            raise ValueError("X holds no cubes")
        out = []
        for i, c in enumerate(cubes):
            if not isinstance(c, xr.DataArray):
                raise TypeError(f"X[{i}] is {describe(c)}; X must hold cubes (xarray.DataArray)")
            m = mdmo_frames(c, landmarks=self.landmarks, engine=self.engine, align=self.align,
                            n_frames=self.n_frames, n_bins=self.n_bins, brow_offset=self.brow_offset,
                            cache=self.cache, **(self.engine_params or {}))
            out.append(m.values)
        return out
