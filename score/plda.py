"""Two-covariance PLDA (Brümmer & de Villiers 2010; Sizov et al. 2014), in Kaldi's `Plda` form.

Model: x = mu + y + e, speaker variable y ~ N(0, B), residual e ~ N(0, W). After training we keep
`transform` T and `psi` such that T W T^T = I and T B T^T = diag(psi) (simultaneous
diagonalisation), so scoring is elementwise: every trial is O(D), or a matmul for a block.

Training is EM as in Kaldi's PldaEstimator, but each iteration first diagonalises the current
(W, B): there the posterior of the speaker variable of a class with n rows has the diagonal
covariance psi/(1+n psi), so no D x D inverse is needed per class or per distinct count.
"""
from __future__ import annotations

import logging

import numpy as np

from common.errors import AsvError, ConfigError
from score.classstats import check_matrix, class_stats, within_scatter_problem
from score.cosine import grid_scores, row_dots

log = logging.getLogger(__name__)

EM_ITERS = 10  # default EM iterations (Kaldi's ivector-compute-plda --num-em-iters)


def _diagonalise(within: np.ndarray, between: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """T (rows sorted by decreasing psi) with T W T^T = I and T B T^T = diag(psi)."""
    c = np.linalg.cholesky(within)
    # numpy's inverse of the triangular factor, not scipy's solve_triangular: importing scipy costs about
    # 0.4 s, a third of train_backend's whole run on a PLDA of 20,000 x 256 (issue 14).
    c_inv = np.linalg.inv(c)  # C^-1 W C^-T = I
    b_proj = c_inv @ between @ c_inv.T
    psi, u = np.linalg.eigh(0.5 * (b_proj + b_proj.T))
    psi, u = psi[::-1], u[:, ::-1]
    if psi.min() < 0:
        log.warning("flooring %d negative between-class eigenvalues to 0", int((psi < 0).sum()))
        psi = np.maximum(psi, 0.0)
    return u.T @ c_inv, psi


class PLDA:
    """Fitted two-covariance PLDA: `mean` [D], `transform` [D, D], `psi` [D]."""
    name = "plda"

    def __init__(self, mean: np.ndarray, transform: np.ndarray, psi: np.ndarray,
                 n_iter: int = EM_ITERS) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.transform = np.asarray(transform, dtype=np.float64)
        self.psi = np.asarray(psi, dtype=np.float64)
        self.n_iter = n_iter  # EM iterations it was trained with (kept in its spec)

    @property
    def dim(self) -> int:
        return len(self.mean)

    # -- model in the original space ------------------------------------------------------------
    @property
    def within_cov(self) -> np.ndarray:
        t_inv = np.linalg.inv(self.transform)
        return t_inv @ t_inv.T

    @property
    def between_cov(self) -> np.ndarray:
        t_inv = np.linalg.inv(self.transform)
        return (t_inv * self.psi) @ t_inv.T

    # -- training ---------------------------------------------------------------------------------
    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, n_iter: int = EM_ITERS) -> PLDA:
        """EM training on rows `x` [N, D] with speaker `labels` [N].

        Refuses a training set whose within-class scatter is singular (fewer samples than speakers plus
        dimensions): EM then drives the within-class variance to ~0 in some directions and the LLRs to
        ~1e9, so the fix (an LDA step first) is asked for instead of scores that look valid."""
        st = class_stats(x, labels)
        d, n_cls = st.dim, st.num_classes
        log.info("plda: %d speakers, %d samples, %d dims, %d EM iterations", n_cls, st.num_rows, d, n_iter)
        if n_cls < 2:
            raise AsvError(f"plda: needs at least 2 speakers in the training set, got {n_cls}")
        if n_iter < 1:
            raise ConfigError(f"plda: n_iter must be >= 1, got {n_iter}")
        problem = within_scatter_problem(st)
        if problem:
            k = max(1, min(n_cls - 1, problem[1]))
            raise AsvError(f"plda: {problem[0]}; reduce the dimension first with an LDA step, e.g. "
                           f"mean,lda:{k},lnorm,plda, or train on more data")
        mean = st.means.mean(axis=0)  # Kaldi: mean of class means (each class weight 1)
        m = st.means - mean  # [C, D] centred class means
        n = st.counts.astype(np.float64)[:, None]  # [C, 1]
        within_count_intra = float(st.num_rows - n_cls)
        within, between = np.eye(d), np.eye(d)
        for it in range(n_iter):
            t, psi = _diagonalise(within, between)
            t_inv = np.linalg.inv(t)
            y = m @ t.T  # class means in the space where W = I, B = diag(psi)
            post_var = psi / (1.0 + n * psi)  # [C, D]: (psi^-1 + n)^-1, safe for psi = 0
            w = n * post_var * y  # posterior mean of the speaker variable
            r = y - w  # posterior mean of the averaged residual
            # E-step statistics in the diagonal space, mapped back with T^-1 (. ) T^-T.
            b_stats = w.T @ w + np.diag(post_var.sum(axis=0))
            w_stats = (r * n).T @ r + np.diag((n * post_var).sum(axis=0))
            between = t_inv @ b_stats @ t_inv.T / n_cls
            within = (st.within_scatter + t_inv @ w_stats @ t_inv.T) / (within_count_intra + n_cls)
            between, within = 0.5 * (between + between.T), 0.5 * (within + within.T)
            log.debug("plda iter %d: trace(W)=%.4g trace(B)=%.4g", it, np.trace(within), np.trace(between))
        t, psi = _diagonalise(within, between)
        return cls(mean, t, psi, n_iter)

    # -- chain protocol ---------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        return "plda" if self.n_iter == EM_ITERS else f"plda:{self.n_iter}"

    @classmethod
    def fit_spec(cls, arg: str | None, x: np.ndarray, labels: np.ndarray | None) -> PLDA:
        if arg is not None and (not arg.isdigit() or int(arg) < 1):
            raise ConfigError(f"plda takes an optional number of EM iterations, e.g. plda:{EM_ITERS}; "
                              f"got plda:{arg}")
        if labels is None:
            raise AsvError("plda: needs speaker labels (utt2spk) to train")
        return cls.fit(x, labels, n_iter=int(arg) if arg else EM_ITERS)

    def to_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "transform": self.transform, "psi": self.psi,
                "n_iter": np.array(self.n_iter)}

    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> PLDA:
        return cls(d["mean"], d["transform"], d["psi"], int(d.get("n_iter", EM_ITERS)))

    def save(self, path: str) -> None:
        from common.io import atomic_write
        with atomic_write(path, "wb") as f:
            np.savez(f, **self.to_dict())

    @classmethod
    def load(cls, path: str) -> PLDA:
        with np.load(path) as z:
            return cls.from_dict(dict(z))

    # -- scoring ----------------------------------------------------------------------------------
    def project(self, x: np.ndarray, what: str = "embeddings") -> np.ndarray:
        """Map rows into the diagonal space (W = I, B = diag(psi))."""
        x = check_matrix(x, what, self.dim)
        return (x - self.mean) @ self.transform.T

    def _terms(self, enroll: np.ndarray, test: np.ndarray, n_enroll: np.ndarray | int | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Factor the LLR into per-enroll, per-test and per-(n, test) terms.

        In the diagonal space, with u the test vector and v the mean of n enrollment vectors,
        Kaldi's LogLikelihoodRatio is
          log N(u; a v, diag(c)) - log N(u; 0, diag(1 + psi)),
          a = n psi / (n psi + 1),  c = 1 + psi / (n psi + 1),
        which expands to   (a v / c) . u                                   [lin . u]
                         - 0.5 (1/c - 1/(1+psi)) . u^2                     [q[n, t]]
                         - 0.5 sum_i [a_i^2 v_i^2 / c_i + log c_i - log(1 + psi_i)]   [const[e]].
        q depends on the test and on n only, so it is computed once per distinct n.
        Returns lin [E, D], const [E], group [E] (index of n among the distinct n), q [K, T], u [T, D].
        """
        v = self.project(enroll, "enroll embeddings")
        u = self.project(test, "test embeddings")
        n = np.ones(len(v)) if n_enroll is None else np.broadcast_to(
            np.asarray(n_enroll, dtype=np.float64), (len(v),))
        if (n < 1).any():
            raise ValueError("plda: n_enroll must be >= 1 for every enroll row")
        n_values, group = np.unique(n, return_inverse=True)
        psi = self.psi[None, :]
        nk = n_values[:, None]
        a = nk * psi / (nk * psi + 1.0)  # [K, D]
        c = 1.0 + psi / (nk * psi + 1.0)
        q = (-0.5 * (1.0 / c - 1.0 / (1.0 + psi))) @ (u * u).T  # [K, T]
        lin = (a / c)[group] * v
        logdet = (np.log(c) - np.log1p(psi)).sum(axis=1)  # [K]
        const = -0.5 * ((a * a / c)[group] * v * v).sum(axis=1) - 0.5 * logdet[group]
        return lin, const, group, q, u

    def score_matrix(self, enroll: np.ndarray, test: np.ndarray,
                     n_enroll: np.ndarray | int | None = None) -> np.ndarray:
        """LLR of each enroll row (a mean of n_enroll utterances, default 1) vs each test row: [E, T]."""
        lin, const, group, q, u = self._terms(enroll, test, n_enroll)
        return lin @ u.T + const[:, None] + q[group]

    def score_trials(self, enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray,
                     n_enroll: np.ndarray | int | None = None) -> np.ndarray:
        """LLR of trials (enroll[e_idx[k]], test[t_idx[k]]): [N] float64.

        A trial list dense over the ids it uses (e.g. a full cross product) is scored as matmuls over
        blocks of that grid and gathered (score.cosine.grid_scores); a sparse one as dot products grouped by
        enroll row (score.cosine.row_dots). Memory stays bounded.
        """
        e_idx, t_idx = np.asarray(e_idx), np.asarray(t_idx)
        if e_idx.shape != t_idx.shape or e_idx.ndim != 1:
            raise ValueError(f"plda: e_idx and t_idx must be 1-D of equal length, "
                             f"got {e_idx.shape}, {t_idx.shape}")
        for idx, rows, what in ((e_idx, len(enroll), "e_idx"), (t_idx, len(test), "t_idx")):
            if len(idx) and (idx.min() < 0 or idx.max() >= rows):
                raise ValueError(f"plda: {what} out of range [0, {rows})")
        lin, const, group, q, u = self._terms(enroll, test, n_enroll)
        # Dense: the grid of the ids the trials use, in blocks; summed in the same order as the row-wise path.
        out = grid_scores(lambda re, rt: (const[re, None] + q[group[re, None], rt]) + lin[re] @ u[rt].T,
                          e_idx, t_idx, len(lin), len(u))
        if out is not None:
            return out
        out = const[e_idx] + q[group[e_idx], t_idx]
        out += row_dots(lin, u, e_idx, t_idx)
        return out

    # -- adaptation -------------------------------------------------------------------------------
    def adapt(self, x_indomain: np.ndarray, within_covar_scale: float = 0.3,
              between_covar_scale: float = 0.7, mean_diff_scale: float = 1.0) -> PLDA:
        """Unsupervised adaptation to unlabelled in-domain rows, as Kaldi's ivector-adapt-plda.

        In the space where the model's total covariance is I, the in-domain covariance (plus the
        mean shift, scaled by mean_diff_scale) is eigendecomposed; in each eigendirection with
        variance s > 1, the excess s - 1 is added to the within- and between-class variances
        with the two scales. The mean becomes the in-domain mean. Returns a new PLDA.
        """
        x = check_matrix(x_indomain, "plda adaptation data", self.dim)
        if min(within_covar_scale, between_covar_scale, mean_diff_scale) < 0:
            raise ValueError("plda.adapt: scales must be >= 0")
        mean = x.mean(axis=0)
        xc = x - mean
        var = xc.T @ xc / len(x)
        diff = mean - self.mean
        var += mean_diff_scale * np.outer(diff, diff)
        t_mod = self.transform / np.sqrt(1.0 + self.psi)[:, None]  # total covariance -> I
        var_proj = t_mod @ var @ t_mod.T
        s, p = np.linalg.eigh(0.5 * (var_proj + var_proj.T))
        s, p = s[::-1], p[:, ::-1]
        w_diag = 1.0 / (1.0 + self.psi)
        w2 = (p.T * w_diag) @ p  # P^T W P, W = diag(1/(1+psi)) in the t_mod space
        b2 = (p.T * (self.psi * w_diag)) @ p
        excess = np.maximum(s - 1.0, 0.0)
        w2[np.diag_indices_from(w2)] += within_covar_scale * excess
        b2[np.diag_indices_from(b2)] += between_covar_scale * excess
        comb_inv = np.linalg.inv(p.T @ t_mod)  # back to the original space
        within = comb_inv @ w2 @ comb_inv.T
        between = comb_inv @ b2 @ comb_inv.T
        t, psi = _diagonalise(0.5 * (within + within.T), 0.5 * (between + between.T))
        return PLDA(mean, t, psi, self.n_iter)
