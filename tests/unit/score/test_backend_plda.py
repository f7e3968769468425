"""PLDA: covariance recovery, LLR vs brute-force Gaussians, trial scoring paths, adaptation vs Kaldi."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal as mvn

from common.errors import AsvError
from score.plda import PLDA


def _model(rng, dim):
    a = rng.normal(size=(dim, dim))
    b = a @ a.T / dim + 0.5 * np.eye(dim)
    c = rng.normal(size=(dim, dim))
    w = c @ c.T / dim * 0.5 + 0.2 * np.eye(dim)
    return rng.normal(size=dim), b, w


def _sample(rng, mu, b, w, counts):
    labels = np.repeat(np.arange(len(counts)), counts)
    y = rng.multivariate_normal(np.zeros(len(mu)), b, len(counts))
    return mu + y[labels] + rng.multivariate_normal(np.zeros(len(mu)), w, len(labels)), labels


def test_recovers_generating_covariances():
    rng = np.random.default_rng(0)
    mu, b, w = _model(rng, 4)
    x, labels = _sample(rng, mu, b, w, rng.integers(2, 9, size=4000))  # varied counts per speaker
    p = PLDA.fit(x, labels, n_iter=30)
    rel = lambda est, ref: np.linalg.norm(est - ref) / np.linalg.norm(ref)  # noqa: E731
    assert rel(p.between_cov, b) < 0.08
    assert rel(p.within_cov, w) < 0.03
    assert np.allclose(p.mean, mu, atol=0.1)
    # Simultaneous diagonalisation: T W T' = I, T B T' = diag(psi), psi sorted decreasing.
    t = p.transform
    assert np.allclose(t @ p.within_cov @ t.T, np.eye(4), atol=1e-8)
    assert np.allclose(t @ p.between_cov @ t.T, np.diag(p.psi), atol=1e-8)
    assert np.all(np.diff(p.psi) <= 0)


def _brute_llr(p, enroll_mean, test, n):
    """Same-speaker vs different-speaker likelihood of the pair, from the generative model.

    enroll mean of n utterances: e = mu + y + mean(residuals), residual mean ~ N(0, W/n);
    test: t = mu + y' + r, r ~ N(0, W). Same speaker (y = y'): [e; t] is jointly Gaussian with
    covariance [[B + W/n, B], [B, B + W]]; different speakers: the off-diagonal blocks are 0, i.e.
    the product of the marginals N(e; mu, B + W/n) N(t; mu, B + W). The LLR is the log-ratio.
    """
    b, w, mu = p.between_cov, p.within_cov, p.mean
    joint = np.block([[b + w / n, b], [b, b + w]])
    return (mvn.logpdf(np.concatenate([enroll_mean, test]), np.concatenate([mu, mu]), joint)
            - mvn.logpdf(enroll_mean, mu, b + w / n) - mvn.logpdf(test, mu, b + w))


@pytest.mark.parametrize("n_enroll", [None, 1, 3, np.array([1, 2, 5])])
def test_scores_equal_brute_force_llr(n_enroll):
    rng = np.random.default_rng(1)
    mu, b, w = _model(rng, 5)
    x, labels = _sample(rng, mu, b, w, np.full(200, 4))
    p = PLDA.fit(x, labels, n_iter=5)
    enroll, test = rng.normal(size=(3, 5)) + mu, rng.normal(size=(4, 5)) + mu
    n = np.broadcast_to(np.asarray(1 if n_enroll is None else n_enroll), (3,))
    ref = np.array([[_brute_llr(p, enroll[i], test[j], n[i]) for j in range(4)] for i in range(3)])
    got = p.score_matrix(enroll, test, n_enroll=n_enroll)
    assert np.allclose(got, ref, atol=1e-9)
    e_idx, t_idx = rng.integers(0, 3, 40), rng.integers(0, 4, 40)
    got = p.score_trials(enroll, test, e_idx, t_idx, n_enroll=n_enroll)
    assert np.allclose(got, ref[e_idx, t_idx], atol=1e-9)


def test_score_trials_sparse_path_matches_matrix():
    rng = np.random.default_rng(2)
    mu, b, w = _model(rng, 3)
    p = PLDA.fit(*_sample(rng, mu, b, w, np.full(50, 3)), n_iter=3)
    enroll, test = rng.normal(size=(400, 3)), rng.normal(size=(3000, 3))  # 1.2M pairs, 500 trials
    e_idx, t_idx = rng.integers(0, 400, 500), rng.integers(0, 3000, 500)
    n = rng.integers(1, 4, 400)
    full = p.score_matrix(enroll, test, n_enroll=n)
    assert np.allclose(p.score_trials(enroll, test, e_idx, t_idx, n_enroll=n), full[e_idx, t_idx])


def _kaldi_adapt_reference(mean, transform, psi, x, wcs, bcs, mds=1.0):
    """PldaUnsupervisedAdaptor::UpdatePlda followed step by step, with plain loops."""
    dim = len(mean)
    m = x.sum(0) / len(x)
    variance = sum(np.outer(v, v) for v in x) / len(x) - np.outer(m, m)
    diff = m - mean
    variance = variance + mds * np.outer(diff, diff)
    transform_mod = transform.copy()
    for i in range(dim):
        transform_mod[i] *= 1.0 / np.sqrt(1.0 + psi[i])
    variance_proj = transform_mod @ variance @ transform_mod.T
    s, pm = np.linalg.eigh(variance_proj)
    order = np.argsort(-s)
    s, pm = s[order], pm[:, order]
    wd, bd = np.zeros((dim, dim)), np.zeros((dim, dim))
    for i in range(dim):
        wd[i, i] = 1.0 / (1.0 + psi[i])
        bd[i, i] = psi[i] / (1.0 + psi[i])
    wproj2, bproj2 = pm.T @ wd @ pm, pm.T @ bd @ pm
    for i in range(dim):
        if s[i] > 1.0:
            wproj2[i, i] += (s[i] - 1.0) * wcs
            bproj2[i, i] += (s[i] - 1.0) * bcs
    inv = np.linalg.inv(pm.T @ transform_mod)
    wmod, bmod = inv @ wproj2 @ inv.T, inv @ bproj2 @ inv.T
    cinv = np.linalg.inv(np.linalg.cholesky(wmod))
    psi_new, q = np.linalg.eigh(cinv @ bmod @ cinv.T)
    order = np.argsort(-psi_new)
    return m, q[:, order].T @ cinv, psi_new[order]


def test_adaptation_matches_kaldi_formulas():
    rng = np.random.default_rng(3)
    mu, b, w = _model(rng, 4)
    p = PLDA.fit(*_sample(rng, mu, b, w, np.full(300, 4)), n_iter=5)
    # In-domain data: shifted mean, inflated variance in some directions.
    x = rng.normal(size=(200, 4)) @ np.diag([3.0, 1.0, 0.3, 2.0]) + mu + 0.5
    got = p.adapt(x, within_covar_scale=0.3, between_covar_scale=0.7)
    m_ref, t_ref, psi_ref = _kaldi_adapt_reference(p.mean, p.transform, p.psi, x, 0.3, 0.7)
    ref = PLDA(m_ref, t_ref, psi_ref)
    assert np.allclose(got.mean, m_ref)
    assert np.allclose(got.psi, psi_ref, atol=1e-9)
    assert np.allclose(got.within_cov, ref.within_cov, atol=1e-9)
    assert np.allclose(got.between_cov, ref.between_cov, atol=1e-9)
    enroll, test = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    assert np.allclose(got.score_matrix(enroll, test), ref.score_matrix(enroll, test))
    # The adaptation really changed the model (the test would be vacuous otherwise).
    assert not np.allclose(got.between_cov, p.between_cov, atol=1e-3)


def test_save_load_roundtrip(tmp_path):
    rng = np.random.default_rng(4)
    mu, b, w = _model(rng, 3)
    p = PLDA.fit(*_sample(rng, mu, b, w, np.full(30, 3)), n_iter=2)
    p.save(tmp_path / "plda.npz")
    q = PLDA.load(tmp_path / "plda.npz")
    e = rng.normal(size=(2, 3))
    assert np.allclose(p.score_matrix(e, e), q.score_matrix(e, e)) and q.n_iter == 2


def test_bad_input():
    rng = np.random.default_rng(5)
    mu, b, w = _model(rng, 3)
    x, labels = _sample(rng, mu, b, w, np.full(10, 3))
    with pytest.raises(AsvError, match="at least 2 speakers"):
        PLDA.fit(x, np.zeros(len(x)))
    with pytest.raises(AsvError, match="empty"):
        PLDA.fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(AsvError, match="one per row"):
        PLDA.fit(x, labels[:-1])
    p = PLDA.fit(x, labels, n_iter=2)
    with pytest.raises(AsvError, match="dimension mismatch"):
        p.score_matrix(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="out of range"):
        p.score_trials(np.zeros((2, 3)), np.zeros((2, 3)), np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="n_enroll"):
        p.score_matrix(np.zeros((2, 3)), np.zeros((2, 3)), n_enroll=0)
    with pytest.raises(AsvError, match="dimension mismatch"):
        p.adapt(np.zeros((5, 2)))
