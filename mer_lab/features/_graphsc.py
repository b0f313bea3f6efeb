"""Graph regularised sparse coding (GraphSC; Zheng et al. 2011): the solver behind Sparse MDMO.

Problem
-------
Given data ``X`` (d x n, one sample per column), a graph Laplacian ``L = Deg - W``
(n x n) of a k-nearest-neighbour graph over the samples, and weights ``alpha`` (graph)
and ``beta`` (sparsity), GraphSC learns a dictionary ``D`` (d x K) and codes ``S``
(K x n)::

    min_{D, S}  ||X - D S||_F^2 + alpha Tr(S L S^T) + beta sum_i ||s_i||_1
    s.t.        ||d_j||^2 <= c,  j = 1..K

``Tr(S L S^T) = 1/2 sum_ij W_ij ||s_i - s_j||^2`` pulls the codes of neighbouring
samples together, so the codes follow the manifold of the data. The problem is solved
by alternating two convex steps, each of which never increases the objective:

* **codes** with ``D`` fixed, by one of
  - ``"feature_sign"`` (the paper's choice): Gauss-Seidel sweeps over the samples; each
    ``s_i`` is the exact minimiser of ``s^T A_i s - 2 b_i^T s + beta ||s||_1`` with
    ``A_i = D^T D + alpha L_ii I`` and ``b_i = D^T x_i - alpha sum_{j != i} L_ij s_j``,
    found by the feature-sign search of Lee et al. (2007), extended from ``D^T D`` to
    this quadratic. Exact, but a Python loop over samples: for teaching and checking.
  - ``"fista"`` (default): all codes at once by the monotone fast iterative
    shrinkage-thresholding algorithm (MFISTA, Beck & Teboulle 2009) on the same
    objective: gradient ``2 (D^T D S - D^T X) + 2 alpha S L``, step ``1 / Lip`` with
    ``Lip = 2 (lambda_max(D^T D) + alpha lambda_max(L))``, soft-thresholding at
    ``beta / Lip``. It converges to the same minimiser (a convex problem), is
    vectorised, and never accepts an iterate worse than the previous one.
* **dictionary** with ``S`` fixed, by one of
  - ``"dual"`` (the paper's choice): the Lagrange dual of Lee et al. (2007): maximise
    ``g(nu) = Tr(X^T X) - Tr(X S^T (S S^T + diag nu)^{-1} (X S^T)^T) - c sum nu``
    over ``nu >= 0`` (L-BFGS-B with the analytic gradient), then
    ``D = X S^T (S S^T + diag nu)^{-1}``. Atoms that no sample uses are kept.
  - ``"bcd"``: block coordinate descent over atoms (Mairal et al. 2010), each atom
    the exact constrained minimiser with the others fixed.

References
----------
M. Zheng, J. Bu, C. Chen, C. Wang, L. Zhang, G. Qiu, D. Cai (2011). Graph regularized
sparse coding for image representation. IEEE Transactions on Image Processing 20(5),
1327-1336. doi:10.1109/TIP.2010.2090535
H. Lee, A. Battle, R. Raina, A. Y. Ng (2007). Efficient sparse coding algorithms. NIPS 19.
A. Beck, M. Teboulle (2009). Fast gradient-based algorithms for constrained total
variation image denoising and deblurring problems. IEEE TIP 18(11), 2419-2434.
J. Mairal, F. Bach, J. Ponce, G. Sapiro (2010). Online learning for matrix
factorization and sparse coding. JMLR 11, 19-60.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse as sp

__all__ = [
    "knn_graph",
    "laplacian",
    "objective",
    "soft_threshold",
    "feature_sign",
    "codes_feature_sign",
    "codes_fista",
    "dictionary_dual",
    "dictionary_bcd",
    "encode",
    "GraphSCResult",
    "graphsc",
]


# --------------------------------------------------------------------------- graphs
def knn_graph(dist, *, k: int = 5, weight: str = "binary", t: float | None = None) -> sp.csr_matrix:
    """Symmetric k-nearest-neighbour graph from a square distance matrix.

    ``j`` is joined to ``i`` when ``j`` is among the ``k`` nearest samples of ``i`` or
    ``i`` among those of ``j`` (the diagonal is ignored). Weights are 1 (``"binary"``) or
    the heat kernel ``exp(-d_ij^2 / t)`` (``"heat"``; ``t`` defaults to the mean squared
    distance to the k nearest neighbours).
    """
    d = np.asarray(dist, dtype=np.float64)
    n = d.shape[0]
    k = min(int(k), n - 1)
    if k < 1:
        return sp.csr_matrix((n, n))
    d = d.copy()
    np.fill_diagonal(d, np.inf)
    nn = np.argpartition(d, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    cols = nn.ravel()
    dk = d[rows, cols]
    if weight == "binary":
        vals = np.ones_like(dk)
    elif weight == "heat":
        if t is None:
            t = float(np.mean(dk ** 2)) or 1.0
        vals = np.exp(-dk ** 2 / t)
    else:
        raise ValueError(f"weight={weight!r} is not accepted; choose 'binary' or 'heat'")
    w = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return w.maximum(w.T).tocsr()


def laplacian(w) -> sp.csr_matrix:
    """Graph Laplacian ``Deg - W`` of a symmetric weight matrix."""
    w = sp.csr_matrix(w)
    deg = np.asarray(w.sum(axis=1)).ravel()
    return (sp.diags(deg) - w).tocsr()


# --------------------------------------------------------------------------- objective
def _graph_term(S, L) -> float:
    if L is None:
        return 0.0
    return float(np.sum(S * (L @ S.T).T))


def objective(X, D, S, L, alpha: float, beta: float) -> float:
    """``||X - D S||_F^2 + alpha Tr(S L S^T) + beta sum |S|``."""
    r = X - D @ S
    return float(np.sum(r * r)) + alpha * _graph_term(S, L) + beta * float(np.abs(S).sum())


def soft_threshold(z, tau, out=None):
    """``sign(z) max(|z| - tau, 0)``, the proximal map of ``tau ||.||_1``.

    Computed as ``max(z - tau, 0) + min(z + tau, 0)``; ``out`` may be ``z`` itself.
    """
    z = np.asarray(z, dtype=np.float64)
    low = np.minimum(z + tau, 0.0)
    out = np.subtract(z, tau, out=out)
    np.maximum(out, 0.0, out=out)
    out += low
    return out


# --------------------------------------------------------------------------- feature-sign
def _fs_value(A, b, beta, x):
    return float(x @ (A @ x) - 2 * b @ x + beta * np.abs(x).sum())


def _solve_small(a, rhs):
    """Solution of a small dense system (LAPACK through numpy: no per-call checks)."""
    try:
        return np.linalg.solve(a, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, rhs, rcond=None)[0]


def feature_sign(A, b, beta: float, x0=None, *, max_iter: int = 1000, tol: float = 1e-9) -> np.ndarray:
    """Exact minimiser of ``x^T A x - 2 b^T x + beta ||x||_1`` by feature-sign search.

    ``A`` must be symmetric positive semi-definite (positive definite on the active
    sets visited). Follows Lee et al. (2007), Algorithm 1, for a general quadratic:
    activate the zero coefficient with the largest gradient beyond ``beta``, solve the
    sign-constrained quadratic on the active set in closed form, and line-search
    between the current point and that solution at the points where coefficients change
    sign, until the optimality conditions
    ``grad_j + beta sign(x_j) = 0`` (``x_j != 0``) and ``|grad_j| <= beta`` (``x_j = 0``)
    hold (within ``tol`` relative to ``max(1, beta, |b|)``).

    ``x0`` is a start (warm start): every step descends from it, and the conditions
    above define the minimiser, which is unique when ``A`` is positive definite, so a
    start near the solution changes the number of steps, not the answer. From zero the
    search activates one coefficient per step; from a start with the right signs it
    needs one or two steps.
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = b.size
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=np.float64)
    theta = np.sign(x)
    scale = tol * max(1.0, beta, float(np.abs(b).max(initial=0.0)))
    ax = A @ x
    for _ in range(max_iter):
        grad = 2 * (ax - b)
        nz = x != 0
        if np.all(np.abs(grad[nz] + beta * np.sign(x[nz])) <= scale):
            zeros = np.flatnonzero(~nz)
            if zeros.size == 0:
                return x
            i = zeros[np.argmax(np.abs(grad[zeros]))]
            if abs(grad[i]) <= beta + scale:
                return x
            theta[i] = -np.sign(grad[i])
        act = np.flatnonzero((x != 0) | (theta != 0))
        a_aa = A[np.ix_(act, act)]
        rhs = b[act] - beta * theta[act] / 2
        new = _solve_small(a_aa, rhs)
        cur = x[act]
        # line search: the end point and every point where a coefficient changes sign
        cands = [(1.0, None)]
        for j in np.flatnonzero((cur != 0) & (np.sign(new) != np.sign(cur))):
            t = cur[j] / (cur[j] - new[j])
            if 0 < t < 1:
                cands.append((float(t), j))
        a_act = A[:, act]
        best_x, best_ax = x, ax
        best_v = float(x @ ax - 2 * b @ x + beta * np.abs(x).sum())
        for t, j in cands:
            # the end point is the active-set solution itself, so the answer depends only on the
            # final active set and signs, not on the path (or start) that led there
            step = new.copy() if j is None else cur + t * (new - cur)
            if j is not None:
                step[j] = 0.0          # the coefficient that reaches zero here is exactly zero
            cand = x.copy()
            cand[act] = step
            a_cand = ax + a_act @ (step - cur)
            v = float(cand @ a_cand - 2 * b @ cand + beta * np.abs(cand).sum())
            if v < best_v - 1e-15 * max(1.0, abs(best_v)):
                best_x, best_ax, best_v = cand, a_cand, v
        if best_x is x:
            return x                   # no descent left (numerical floor): x is optimal
        x = best_x
        ax = A @ x                     # fresh product: no drift from the updates above
        theta = np.sign(x)
    return x


def codes_feature_sign(X, D, S0, L, alpha: float, beta: float, *, sweeps: int = 1) -> np.ndarray:
    """Code step by Gauss-Seidel sweeps of exact per-sample feature-sign solutions."""
    S = np.array(S0, dtype=np.float64)
    gram = D.T @ D
    dtx = D.T @ X
    Lc = sp.csc_matrix(L) if L is not None else None
    eye = np.eye(D.shape[1])
    for _ in range(sweeps):
        for i in range(X.shape[1]):
            if Lc is not None and alpha > 0:
                col = Lc.getcol(i)
                idx, vals = col.indices, col.data
                lii = float(vals[idx == i].sum())
                off = idx != i
                coupling = S[:, idx[off]] @ vals[off] if off.any() else 0.0
                A = gram + alpha * lii * eye
                b = dtx[:, i] - alpha * coupling
            else:
                A, b = gram, dtx[:, i]
            S[:, i] = feature_sign(A, b, beta, S[:, i])
    return S


# --------------------------------------------------------------------------- FISTA
def _lambda_max_sym(M) -> float:
    """Largest eigenvalue of a small dense symmetric matrix (deterministic)."""
    M = M.toarray() if sp.issparse(M) else np.asarray(M)
    if M.size == 0:
        return 0.0
    return float(np.linalg.eigvalsh(M)[-1])


def _mfista(S0, apply_a, B, const: float, lip, beta: float, *, max_iter: int, tol: float):
    """Monotone FISTA for ``F(S) = const - 2 <S, B> + <S, A(S)> + beta |S|_1``.

    ``A`` is a symmetric positive semi-definite linear map given by ``apply_a``;
    ``grad = 2 (A(S) - B)``. ``lip`` is a scalar or one value per column: a diagonal
    metric ``M >= 2 A``, so that ``S - M^-1 grad`` followed by soft-thresholding at
    ``beta M^-1`` is a majorise-minimise step (Beck & Teboulle's MFISTA in the metric
    ``M``). One application of ``A`` per iteration: the product at the extrapolated
    point is combined from the products at the last iterates. Never returns a point
    with a larger ``F`` than ``S0``.
    """
    def value(S, AS):
        return const - 2 * float(np.sum(S * B)) + float(np.sum(S * AS)) + beta * float(np.abs(S).sum())

    x_prev = np.array(S0, dtype=np.float64)
    ax_prev = apply_a(x_prev)
    f_prev = value(x_prev, ax_prev)
    y, ay = x_prev, ax_prev
    t = 1.0
    step = 1.0 / np.asarray(lip, dtype=np.float64)
    thresh = beta * step
    for _ in range(max_iter):
        z = ay - B
        z *= 2 * step
        np.subtract(y, z, out=z)
        soft_threshold(z, thresh, out=z)
        az = apply_a(z)
        fz = value(z, az)
        if fz <= f_prev:
            x, ax, fx = z, az, fz
        else:
            x, ax, fx = x_prev, ax_prev, f_prev
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        a, b = t / t_new, (t - 1) / t_new
        y = x + a * (z - x) + b * (x - x_prev)
        ay = ax + a * (az - ax) + b * (ax - ax_prev)
        done = f_prev - fx <= tol * max(abs(f_prev), 1e-12) and fx == fz
        x_prev, ax_prev, f_prev, t = x, ax, fx, t_new
        if done:
            break
    return x_prev


def codes_fista(X, D, S0, L, alpha: float, beta: float, *, max_iter: int = 200, tol: float = 1e-7) -> np.ndarray:
    """Code step for all samples at once (monotone FISTA on the GraphSC objective).

    The step of sample ``i`` is ``1 / M_i`` with ``M_i = 2 (lambda_max(D^T D) + 2 alpha
    deg_i)``: since ``L <= 2 Deg`` (``x^T L x = 1/2 sum w_ij (x_i - x_j)^2 <= 2 x^T Deg x``)
    this diagonal metric bounds the Hessian, and lets weakly connected samples take
    long steps instead of all samples taking the step of the best connected one.
    """
    gram = D.T @ D
    dtx = D.T @ X
    use_graph = L is not None and alpha > 0
    n = X.shape[1]
    deg = np.asarray(L.diagonal(), dtype=np.float64) if use_graph else np.zeros(n)
    lip = np.maximum(2 * (_lambda_max_sym(gram) + 2 * alpha * deg), 1e-12)
    Lc = sp.csr_matrix(L) if use_graph else None

    def apply_a(S):                          # D^T D S + alpha S L  (L symmetric)
        out = gram @ S
        if use_graph:
            out += alpha * (Lc @ np.ascontiguousarray(S.T)).T
        return out

    return _mfista(S0, apply_a, dtx, float(np.sum(X * X)), lip, beta, max_iter=max_iter, tol=tol)


# --------------------------------------------------------------------------- dictionary
def dictionary_dual(X, S, c: float = 1.0, D0=None, nu0=None):
    """Dictionary step by the Lagrange dual (Lee et al. 2007). Returns ``(D, nu)``."""
    K = S.shape[0]
    D = np.array(D0, dtype=np.float64) if D0 is not None else np.zeros((X.shape[0], K))
    used = np.flatnonzero(np.abs(S).sum(axis=1) > 0)
    nu_full = np.ones(K) if nu0 is None else np.array(nu0, dtype=np.float64)
    if used.size == 0:
        return D, nu_full
    Su = S[used]
    sst = Su @ Su.T
    xst = X @ Su.T
    xx = float(np.sum(X * X))

    def neg_dual(nu):
        m = sst + np.diag(nu)
        try:
            cho = scipy.linalg.cho_factor(m)
            inv_b = scipy.linalg.cho_solve(cho, xst.T)        # (k, d) = m^-1 (X S^T)^T
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            inv_b = np.linalg.lstsq(m, xst.T, rcond=None)[0]
        g = xx - float(np.sum(xst * inv_b.T)) - c * float(nu.sum())
        grad = np.sum(inv_b * inv_b, axis=1) - c                # d g / d nu_j = ||X S^T m^-1 e_j||^2 - c
        return -g, -grad

    res = scipy.optimize.minimize(neg_dual, np.maximum(nu_full[used], 1e-6), jac=True, method="L-BFGS-B",
                                  bounds=[(0.0, None)] * used.size,
                                  options=dict(maxiter=500, ftol=1e-13, gtol=1e-9))
    nu = res.x
    m = sst + np.diag(nu)
    try:
        du = scipy.linalg.solve(m, xst.T, assume_a="pos").T
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        du = np.linalg.lstsq(m, xst.T, rcond=None)[0].T
    norms = np.sqrt(np.sum(du * du, axis=0))
    du = du / np.maximum(1.0, norms / np.sqrt(c))        # numerical safety: stay inside the ball
    new = D.copy()
    new[:, used] = du
    # keep the old dictionary if the solver failed to improve the reconstruction
    old_err = float(np.sum((X - D @ S) ** 2)) if D0 is not None else np.inf
    new_err = float(np.sum((X - new @ S) ** 2))
    nu_full = nu_full.copy()
    nu_full[used] = nu
    return (new, nu_full) if new_err <= old_err * (1 + 1e-12) else (D, nu_full)


def dictionary_bcd(X, S, c: float = 1.0, D0=None, *, sweeps: int = 50, tol: float = 1e-10) -> np.ndarray:
    """Dictionary step by block coordinate descent over atoms (exact per atom)."""
    A = S @ S.T
    B = X @ S.T
    D = np.array(D0, dtype=np.float64) if D0 is not None else np.zeros((X.shape[0], S.shape[0]))
    root_c = np.sqrt(c)
    for _ in range(sweeps):
        change = 0.0
        for j in range(S.shape[0]):
            if A[j, j] <= 0:
                continue
            u = D[:, j] + (B[:, j] - D @ A[:, j]) / A[j, j]
            u = u / max(1.0, float(np.linalg.norm(u)) / root_c)
            change = max(change, float(np.abs(u - D[:, j]).max()))
            D[:, j] = u
        if change <= tol:
            break
    return D


# --------------------------------------------------------------------------- out of sample
def encode(X, D, *, beta: float, alpha: float = 0.0, weights=None, train_codes=None,
           solver: str = "feature_sign", max_iter: int = 300, tol: float = 1e-8, start="neighbours") -> np.ndarray:
    """Codes of new samples with a fixed dictionary, linked to fixed training codes.

    Minimises, independently for every column ``x`` of ``X``::

        ||x - D s||^2 + alpha sum_j w_j ||s - t_j||^2 + beta ||s||_1

    where ``w`` is the sample's row of ``weights`` (n_new x n_train, its graph edges to
    the training samples) and ``t_j`` the training codes. This is the GraphSC objective
    restricted to one new node of the graph with all other codes held fixed; with
    ``alpha = 0`` or no weights it is plain sparse coding (lasso). The default solver,
    feature-sign search, solves each column exactly and on its own, so a sample's code
    never depends on the other samples coded with it; ``"fista"`` solves all columns
    together (faster for thousands of samples, to ``tol``).

    ``start`` is where feature-sign search starts each column: ``"neighbours"`` (default)
    the weighted mean ``sum_j w_j t_j / sum_j w_j`` of the training codes the sample is
    linked to, on the atoms that more than half of that weight uses with one sign (zero
    elsewhere, and without edges), ``"zeros"``, or an array ``(K, n)`` (e.g. GraphSC's
    own codes of the training samples when they are coded again). The minimiser does not
    depend on the start (it is unique when ``alpha sum_j w_j > 0``); a start near it saves
    most of the search's steps. The FISTA solver always starts from zero.
    """
    with _single_threaded():
        return _encode(X, D, beta=beta, alpha=alpha, weights=weights, train_codes=train_codes, solver=solver,
                       max_iter=max_iter, tol=tol, start=start)


def _encode(X, D, *, beta, alpha, weights, train_codes, solver, max_iter, tol, start="neighbours"):
    if solver not in ("feature_sign", "fista"):
        raise ValueError(f"solver={solver!r} is not accepted; choose 'feature_sign' or 'fista'")
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[1]
    K = D.shape[1]
    gram = D.T @ D
    dtx = D.T @ X
    if alpha > 0 and weights is not None and train_codes is not None:
        w = sp.csr_matrix(weights)
        deg = np.asarray(w.sum(axis=1)).ravel()
        pull = (w @ np.asarray(train_codes).T).T            # (K, n): sum_j w_j t_j
    else:
        deg = np.zeros(n)
        pull = np.zeros((K, n))
        alpha = 0.0
    B = dtx + alpha * pull
    if solver == "feature_sign":
        if isinstance(start, str):
            if start not in ("neighbours", "zeros"):
                raise ValueError(f"start={start!r} is not accepted; choose 'neighbours', 'zeros' or an array "
                                 f"of shape ({K}, {n})")
            S0 = np.zeros((K, n))
            if start == "neighbours" and alpha > 0:
                # the neighbours' mean code on the atoms most of them (by weight) use with one sign
                votes = (w @ np.sign(np.asarray(train_codes)).T).T
                keep = np.abs(votes) > 0.5 * deg
                S0[keep] = (pull / np.where(deg > 0, deg, 1.0))[keep]
        else:
            S0 = np.asarray(start, dtype=np.float64)
            if S0.shape != (K, n):
                raise ValueError(f"start has shape {S0.shape}; expected ({K}, {n}) (atoms x samples)")
        S = np.zeros((K, n))
        eye = np.eye(K)
        for i in range(n):
            S[:, i] = feature_sign(gram + alpha * deg[i] * eye, B[:, i], beta, S0[:, i])
        return S
    lip = 2 * (_lambda_max_sym(gram) + alpha * deg)          # exact diagonal term per sample
    if not np.all(lip > 0):
        return np.zeros((K, n))

    def apply_a(S):
        return gram @ S + (alpha * deg) * S

    return _mfista(np.zeros((K, n)), apply_a, B, 0.0, lip, beta, max_iter=max_iter, tol=tol)


# --------------------------------------------------------------------------- the loop
@dataclass
class GraphSCResult:
    """Dictionary ``D`` (d x K), codes ``S`` (K x n) and the objective after each iteration."""

    D: np.ndarray
    S: np.ndarray
    history: list = field(default_factory=list)
    n_iter: int = 0


def _single_threaded():
    """BLAS limited to one thread: these matrices are small, and several BLAS threads per
    process oversubscribe the cores when folds or other jobs run in parallel."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def graphsc(X, L, *, n_atoms: int, alpha: float, beta: float, c: float = 1.0, n_iter: int = 20,
            tol: float = 1e-4, code_solver: str = "fista", dict_solver: str = "dual", random_state=0,
            inner_iter: int = 10, final_iter: int = 100) -> GraphSCResult:
    """Learn a dictionary and graph-regularised sparse codes (see the module docs).

    ``history[0]`` is the objective at the start (random unit-norm dictionary scaled to
    ``sqrt(c)``, zero codes); ``history[i]`` after the i-th pair of steps. Stops after
    ``n_iter`` iterations or when an iteration lowers the objective by less than ``tol``
    (relative). ``inner_iter`` bounds the FISTA iterations of each code step (warm
    started from the previous codes; early steps need not be exact), and a last code
    step of up to ``final_iter`` iterations settles the codes for the final dictionary
    (its objective is the last entry of ``history``). Deterministic for a given
    ``random_state``.
    """
    with _single_threaded():
        return _graphsc(X, L, n_atoms=n_atoms, alpha=alpha, beta=beta, c=c, n_iter=n_iter, tol=tol,
                        code_solver=code_solver, dict_solver=dict_solver, random_state=random_state,
                        inner_iter=inner_iter, final_iter=final_iter)


def _graphsc(X, L, *, n_atoms, alpha, beta, c, n_iter, tol, code_solver, dict_solver, random_state, inner_iter,
             final_iter):
    X = np.asarray(X, dtype=np.float64)
    d, n = X.shape
    rng = np.random.default_rng(random_state)
    D = rng.standard_normal((d, n_atoms))
    D *= np.sqrt(c) / np.linalg.norm(D, axis=0, keepdims=True)
    S = np.zeros((n_atoms, n))
    hist = [objective(X, D, S, L, alpha, beta)]
    nu = None
    it = 0
    for it in range(1, n_iter + 1):
        if code_solver == "feature_sign":
            S = codes_feature_sign(X, D, S, L, alpha, beta)
        else:
            S = codes_fista(X, D, S, L, alpha, beta, max_iter=inner_iter)
        if dict_solver == "bcd":
            D = dictionary_bcd(X, S, c, D)
        else:
            D, nu = dictionary_dual(X, S, c, D, nu)
        hist.append(objective(X, D, S, L, alpha, beta))
        if hist[-2] - hist[-1] <= tol * max(abs(hist[-2]), 1e-12):
            break
    if code_solver != "feature_sign" and final_iter > 0:
        S = codes_fista(X, D, S, L, alpha, beta, max_iter=final_iter)
        hist.append(objective(X, D, S, L, alpha, beta))
    return GraphSCResult(D=D, S=S, history=hist, n_iter=it)
