"""S-/AS-Norm of PLDA scores (score.norm with a PLDA, score.bin.norm --scoring plda): a 1-D case worked by
hand, and a random case against the two-covariance model's joint-Gaussian LLR computed here."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from common.embeddings import write_embeddings
from score.bin import norm as norm_cli
from score.bin import score as score_cli
from score.chain import Chain
from score.norm import cohort_stats, score_norm
from score.plda import PLDA


def test_plda_asnorm_by_hand():
    # 1-D, mean 0, W = 1, B = psi = 1. A mean of n enrollment vectors v against a test u:
    # LLR = log N(u; a v, c) - log N(u; 0, 2), a = n/(n+1), c = 1 + 1/(n+1).
    #   n = 1, v = 0:  0.5 log(4/3) - u^2/12;   n = 2, v = 0:  0.5 log(3/2) - u^2/8;
    #   n = 1, v = 1 (the test row against cohort w):  0.5 log(4/3) - (w - 1/2)^2/3 + w^2/4.
    plda = PLDA(np.zeros(1), np.eye(1), np.ones(1))
    cohort = np.array([[0.0], [1.0], [-1.0], [2.0]])
    enroll, test = np.array([[0.0]]), np.array([[1.0]])
    k1, k2 = 0.5 * np.log(4 / 3), 0.5 * np.log(3 / 2)
    # enroll (n = 2) vs the cohort: k2 + {0, -1/8, -1/8, -1/2}; top 2: mean k2 - 1/16, std 1/16
    mu, sd = cohort_stats(enroll, cohort, 2, plda=plda, n_x=np.array([2]))
    assert mu[0] == pytest.approx(k2 - 1 / 16) and sd[0] == pytest.approx(1 / 16)
    # test vs the cohort: k1 + {-1/12, 1/6, -1/2, 1/4}; top 2: mean k1 + 5/24, std 1/24
    mu, sd = cohort_stats(test, cohort, 2, plda=plda)
    assert mu[0] == pytest.approx(k1 + 5 / 24) and sd[0] == pytest.approx(1 / 24)
    raw = plda.score_trials(enroll, test, np.array([0]), np.array([0]), np.array([2]))
    assert raw[0] == pytest.approx(k2 - 1 / 8)
    got = score_norm("asnorm", raw, enroll, test, np.array([0]), np.array([0]), cohort, top_n=2,
                     plda=plda, n_enroll=np.array([2]))
    # ((k2 - 1/8 - k2 + 1/16) * 16 + (k2 - 1/8 - k1 - 5/24) * 24) / 2 = (-1 + 12 log(9/8) - 8) / 2
    assert got[0] == pytest.approx(6 * np.log(9 / 8) - 4.5)


def _llr(v, u, n, w, b):
    """Joint-Gaussian LLR of a mean of n enrollment vectors v and one test vector u (zero mean)."""
    d = len(v)
    same = np.block([[b + w / n, b], [b, b + w]])
    return (multivariate_normal(np.zeros(2 * d), same).logpdf(np.r_[v, u])
            - multivariate_normal(np.zeros(d), b + w / n).logpdf(v) - multivariate_normal(np.zeros(d), b + w).logpdf(u))


@pytest.fixture
def model():
    rng = np.random.default_rng(5)
    d = 3
    t, psi, mean = rng.normal(size=(d, d)) + 2 * np.eye(d), np.array([2.0, 0.7, 0.1]), rng.normal(size=d)
    t_inv = np.linalg.inv(t)
    w, b = t_inv @ t_inv.T, (t_inv * psi) @ t_inv.T  # T W T' = I, T B T' = diag(psi)
    x = {k: rng.normal(size=(m, d)) + mean for k, m in (("enroll", 4), ("test", 5), ("cohort", 6))}
    return PLDA(mean, t, psi), w, b, x, rng


@pytest.mark.parametrize("method,top_n", [("snorm", None), ("asnorm", 3)])
def test_plda_norm_equals_joint_gaussian(model, method, top_n):
    plda, w, b, x, rng = model
    n_enroll = np.array([1, 2, 3, 1])
    e_idx, t_idx = rng.integers(0, 4, 15), rng.integers(0, 5, 15)
    raw = plda.score_trials(x["enroll"], x["test"], e_idx, t_idx, n_enroll)
    got = score_norm(method, raw, x["enroll"], x["test"], e_idx, t_idx, x["cohort"], top_n=top_n or 300,
                     plda=plda, n_enroll=n_enroll)
    m = plda.mean
    want = []
    for s, e, t in zip(raw, e_idx, t_idx):
        assert s == pytest.approx(_llr(x["enroll"][e] - m, x["test"][t] - m, n_enroll[e], w, b))
        ce = np.array([_llr(x["enroll"][e] - m, c - m, n_enroll[e], w, b) for c in x["cohort"]])
        ct = np.array([_llr(x["test"][t] - m, c - m, 1, w, b) for c in x["cohort"]])
        if top_n:
            ce, ct = np.sort(ce)[-top_n:], np.sort(ct)[-top_n:]
        want.append(0.5 * ((s - ce.mean()) / ce.std() + (s - ct.mean()) / ct.std()))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def _scp(tmp_path, name, keys, x):
    write_embeddings(keys, x, str(tmp_path / f"{name}.ark"), str(tmp_path / f"{name}.scp"))
    return str(tmp_path / f"{name}.scp")


def test_cli_plda_asnorm(tmp_path, model, capsys):
    plda, _, _, x, _ = model
    ek, tk = [f"spk{i}" for i in range(4)], [f"utt{i}" for i in range(5)]
    e_scp, t_scp = _scp(tmp_path, "enroll", ek, x["enroll"]), _scp(tmp_path, "test", tk, x["test"])
    c_scp = _scp(tmp_path, "cohort", [f"c{i}" for i in range(6)], x["cohort"])
    Chain([plda]).save(tmp_path / "plda")
    (tmp_path / "spk2utt").write_text("spk1 a b\nspk2 c d e\n")  # spk0, spk3: one utterance each
    (tmp_path / "trials").write_text("spk2 utt4 target\nspk0 utt1 nontarget\nspk3 utt0 nontarget\n")
    common = ["--backend-dir", str(tmp_path / "plda"), "--enroll-spk2utt", str(tmp_path / "spk2utt"),
              "--enroll", e_scp, "--test", t_scp]
    assert score_cli.main(["--method", "plda", *common, "--trials", str(tmp_path / "trials"),
                           "--out", str(tmp_path / "scores")]) == 0
    out = tmp_path / "normed"
    assert norm_cli.main(["--method", "asnorm", "--scoring", "plda", "--top-n", "3", "--cohort", c_scp, *common,
                          "--scores", str(tmp_path / "scores"), "--out", str(out)]) == 0
    lines = [ln.split() for ln in out.read_text().splitlines()]
    assert [ln[:2] for ln in lines] == [["spk2", "utt4"], ["spk0", "utt1"], ["spk3", "utt0"]]
    e_idx, t_idx, n = np.array([2, 0, 3]), np.array([4, 1, 0]), np.array([1, 2, 3, 1])
    raw = plda.score_trials(x["enroll"], x["test"], e_idx, t_idx, n)
    want = score_norm("asnorm", raw, x["enroll"], x["test"], e_idx, t_idx, x["cohort"], 3, plda, n)
    np.testing.assert_allclose([float(ln[2]) for ln in lines], want, rtol=1e-5)
    # PLDA scoring with a back-end that has no PLDA says how to get one.
    Chain.fit("mean,lnorm", x["cohort"]).save(tmp_path / "cos")
    assert norm_cli.main(["--method", "asnorm", "--scoring", "plda", "--top-n", "3", "--cohort", c_scp,
                          "--backend-dir", str(tmp_path / "cos"), "--enroll", e_scp, "--test", t_scp,
                          "--scores", str(tmp_path / "scores"), "--out", str(tmp_path / "n2")]) == 1
    assert "chain ending in plda" in capsys.readouterr().err
    assert not (tmp_path / "n2").exists()
