"""Chain: parsing, fit/transform order, save/load, PLDA adaptation through the chain, errors."""
import numpy as np
import pytest

from common.errors import AsvError
from score.chain import Chain, parse_spec
from score.plda import PLDA


def _data(rng, n_spk=20, per=6, dim=8):
    labels = np.repeat(np.arange(n_spk), per)
    x = rng.normal(size=(n_spk, dim))[labels] * 2 + rng.normal(size=(n_spk * per, dim)) + 5
    return x, labels


def test_parse_string_and_list():
    assert parse_spec("mean,lda:200,lnorm,plda") == [
        ("mean", None), ("lda", "200"), ("lnorm", None), ("plda", None)]
    assert parse_spec(["mean", "whiten:zca", "lnorm"]) == [("mean", None), ("whiten", "zca"), ("lnorm", None)]


@pytest.mark.parametrize("spec,msg", [
    ("mean,foo,plda", "unknown step 'foo'; choose one of: lda, lnorm, mean, plda, whiten"),
    ("plda,mean", "'plda' must be the last step"),
    ("mean,,plda", "empty step"),
])
def test_parse_errors(spec, msg):
    with pytest.raises(AsvError, match=msg):
        parse_spec(spec)


def test_fit_transform_save_load(tmp_path):
    rng = np.random.default_rng(0)
    x, labels = _data(rng)
    chain = Chain.fit("mean,lda:5,lnorm,plda", x, labels)
    assert chain.spec == "mean,lda:5,lnorm,plda" and isinstance(chain.plda, PLDA)
    y = chain.transform(x)
    assert y.shape == (len(x), 5) and np.allclose(np.linalg.norm(y, axis=1), 1)
    # The PLDA was trained on the transformed data, not the raw data.
    assert chain.plda.dim == 5
    chain.save(tmp_path / "be")
    assert sorted(p.name for p in (tmp_path / "be").iterdir()) == [
        "00_mean.npz", "01_lda.npz", "02_lnorm.npz", "03_plda.npz", "chain.yaml"]
    loaded = Chain.load(tmp_path / "be")
    assert loaded.spec == chain.spec
    assert np.allclose(loaded.transform(x), y)
    assert np.allclose(loaded.plda.score_matrix(y[:3], y[:4]), chain.plda.score_matrix(y[:3], y[:4]))


def test_chain_without_plda_and_adaptation():
    rng = np.random.default_rng(1)
    x, labels = _data(rng)
    assert Chain.fit(["mean", "whiten:pca"], x).plda is None  # no labels needed
    chain = Chain.fit("mean,plda", x, labels)
    adapted = chain.adapt_plda(x[:50] * 1.5)
    ref = chain.plda.adapt(chain.transform(x[:50] * 1.5))
    assert np.allclose(adapted.plda.between_cov, ref.between_cov)
    with pytest.raises(AsvError, match="no plda step"):
        Chain.fit("mean", x).adapt_plda(x)


def test_errors(tmp_path):
    rng = np.random.default_rng(2)
    x, labels = _data(rng)
    with pytest.raises(AsvError, match="empty"):
        Chain.fit("mean,plda", np.zeros((0, 8)), np.zeros(0))
    with pytest.raises(AsvError, match="needs speaker labels"):
        Chain.fit("mean,lda:3", x)
    with pytest.raises(FileNotFoundError, match="train_backend"):
        Chain.load(tmp_path / "nothing")
    chain = Chain.fit("mean,lnorm", x)
    with pytest.raises(AsvError, match="dimension mismatch"):
        chain.transform(np.zeros((2, 7)))
