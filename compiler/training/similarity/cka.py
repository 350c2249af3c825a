"""Hidden-state similarity: `linear_cka` (Kornblith et al. 2019) and `unit_cka`, linear CKA
after scaling every unit to unit rms, so a function-equivalent copy of a network scores 1."""
from __future__ import annotations

import numpy as np


def linear_cka(X, Y) -> float:
    """Centred linear CKA between X (rows, p) and Y (rows, q), rows the same inputs:
    ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F). 1 for X vs X; invariant to orthogonal maps
    and isotropic scaling of either side. A side that is constant over the rows carries no
    information: CKA is then 1 if both are constant, else 0 (defined, so reports stay finite).
    NaN when either side has a non-finite entry (a diverged network)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"linear_cka needs (rows, p) and (rows, q) arrays, got {X.shape} "
                         f"and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        return float("nan")
    # a side whose centred norm is rounding noise relative to its raw norm is constant
    cx = np.linalg.norm(X - X.mean(axis=0)) > 1e-10 * np.linalg.norm(X)
    cy = np.linalg.norm(Y - Y.mean(axis=0)) > 1e-10 * np.linalg.norm(Y)
    if not (cx and cy):
        return 1.0 if not (cx or cy) else 0.0
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)  # scale-free; keeps products in range
    if X.shape[0] <= max(X.shape[1], Y.shape[1]):
        K, L = X @ X.T, Y @ Y.T  # Gram form: cheaper when there are fewer rows than units
        num, dx, dy = np.sum(K * L), np.linalg.norm(K), np.linalg.norm(L)
    else:
        num = np.linalg.norm(Y.T @ X) ** 2
        dx, dy = np.linalg.norm(X.T @ X), np.linalg.norm(Y.T @ Y)
    return float(min(1.0, max(0.0, num / (dx * dy))))


def unit_cka(X, Y) -> float:
    """Linear CKA after scaling every unit (column) of X and of Y to unit rms over the rows:
    invariant to permutations and positive (or any nonzero) per-unit scales of either side, so 1
    between a network's hidden states and those of a function-equivalent copy. Columns constant
    over the rows are dropped (after centring they carry nothing); see `linear_cka`."""
    def standard(Z):
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2:
            raise ValueError(f"unit_cka needs (rows, units) arrays, got {Z.shape}")
        if not np.isfinite(Z).all():
            return Z
        Z = Z - Z.mean(axis=0)
        rms = np.sqrt((Z * Z).mean(axis=0))
        keep = rms > 1e-12 * max(float(rms.max(initial=0.0)), 1e-300)
        return Z[:, keep] / rms[keep]
    Xs, Ys = standard(X), standard(Y)
    if Xs.shape[1] == 0 or Ys.shape[1] == 0:
        return 1.0 if Xs.shape[1] == Ys.shape[1] else 0.0
    return linear_cka(Xs, Ys)
