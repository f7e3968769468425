"""Transforms: LDA against scipy's generalized eigensolver, whitening, lnorm, save/load, bad input."""
import numpy as np
import pytest
import scipy.linalg

from common.errors import AsvError
from score.transforms import LDA, TRANSFORMS, LengthNorm, MeanSubtraction, Whiten


def _speakers(rng, n_spk=30, per=8, dim=6):
    centres = rng.normal(size=(n_spk, dim)) * np.linspace(3, 0.2, dim)
    labels = np.repeat(np.arange(n_spk), per)
    x = centres[labels] + rng.normal(size=(n_spk * per, dim)) @ rng.normal(size=(dim, dim)) * 0.5
    return x, labels


def _scatter(x, labels):
    mu = x.mean(0)
    sw, sb = np.zeros((x.shape[1],) * 2), np.zeros((x.shape[1],) * 2)
    for c in np.unique(labels):  # plain per-class loop: the reference
        xc = x[labels == c]
        mc = xc.mean(0)
        sw += (xc - mc).T @ (xc - mc)
        sb += len(xc) * np.outer(mc - mu, mc - mu)
    return sw / len(x), sb / len(x)


def test_lda_spans_top_generalized_eigenvectors_and_maximises_fisher():
    rng = np.random.default_rng(0)
    x, labels = _speakers(rng)
    k = 3
    lda = LDA("3")
    lda.reg = 0.0  # exact problem; the default shrinkage is tiny (checked loosely below)
    lda.fit(x, labels)
    assert np.allclose(LDA("3").fit(x, labels).proj, lda.proj, rtol=1e-2, atol=1e-2)
    sw, sb = _scatter(x, labels)
    evals, evecs = scipy.linalg.eigh(sb, sw)
    ref = evecs[:, ::-1][:, :k]
    # Same subspace: projecting our directions onto the reference span loses nothing.
    coef, *_ = np.linalg.lstsq(ref, lda.proj, rcond=None)
    assert np.allclose(ref @ coef, lda.proj, atol=1e-6)
    # Fisher criterion trace((P'SwP)^-1 P'SbP) equals the sum of the top-k eigenvalues, and beats
    # random k-dim projections.
    def fisher(p):
        return np.trace(np.linalg.solve(p.T @ sw @ p, p.T @ sb @ p))
    assert fisher(lda.proj) == pytest.approx(evals[::-1][:k].sum(), rel=1e-4)
    for _ in range(20):
        assert fisher(rng.normal(size=(x.shape[1], k))) < fisher(lda.proj)
    # Projected within-class covariance is the identity (eigenvectors are Sw-orthonormal).
    y = lda.transform(x)
    sw_y, _ = _scatter(y, labels)
    assert np.allclose(sw_y, np.eye(k), atol=1e-4)


@pytest.mark.parametrize("kind", ["pca", "zca"])
def test_whitening_gives_identity_covariance(kind):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 5)) @ rng.normal(size=(5, 5)) + 3.0
    w = Whiten(kind).fit(x)
    y = w.transform(x)
    assert np.allclose(y.mean(0), 0, atol=1e-10)
    assert np.allclose(np.cov(y.T, bias=True), np.eye(5), atol=1e-8)
    if kind == "zca":  # ZCA's matrix is symmetric (the whitening closest to the identity)
        assert np.allclose(w.proj, w.proj.T)


def test_mean_and_lnorm():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 4)) + 7
    m = MeanSubtraction().fit(x)
    assert np.allclose(m.transform(x).mean(0), 0)
    y = LengthNorm().fit(x).transform(x)
    assert np.allclose(np.linalg.norm(y, axis=1), 1.0)


@pytest.mark.parametrize("spec", ["mean", "lda:2", "whiten:pca", "whiten:zca", "lnorm"])
def test_roundtrip_to_dict(spec, tmp_path):
    rng = np.random.default_rng(3)
    x, labels = _speakers(rng, dim=4)
    name, _, arg = spec.partition(":")
    t = TRANSFORMS.get(name).fit_spec(arg or None, x, labels)
    np.savez(tmp_path / "t.npz", **t.to_dict())
    with np.load(tmp_path / "t.npz") as z:
        t2 = TRANSFORMS.get(name).from_dict(dict(z))
    assert t2.spec == spec
    assert np.allclose(t.transform(x), t2.transform(x))


def test_bad_input():
    rng = np.random.default_rng(4)
    x, labels = _speakers(rng, n_spk=5, dim=6)
    with pytest.raises(AsvError, match="at least 2 speakers"):
        LDA("1").fit(x, np.zeros(len(x)))
    with pytest.raises(AsvError, match="must be <="):
        LDA("5").fit(x, labels)  # 5 speakers -> at most 4 dims
    with pytest.raises(AsvError, match="needs speaker labels"):
        LDA("2").fit(x)
    with pytest.raises(AsvError, match="empty"):
        MeanSubtraction().fit(np.zeros((0, 6)))
    with pytest.raises(AsvError, match="dimension mismatch"):
        MeanSubtraction().fit(x).transform(np.zeros((3, 5)))
    with pytest.raises(AsvError, match="NaN"):
        MeanSubtraction().fit(np.array([[1.0, np.nan]]))
    with pytest.raises(AsvError, match="positive output dimension"):
        LDA("abc")
    with pytest.raises(AsvError, match="whiten:pca or whiten:zca"):
        Whiten("foo")
