"""Cosine scoring and S-/AS-Norm against direct per-trial loops, and their CLIs."""
import numpy as np
import pytest

from common.embeddings import write_embeddings
from score.bin import norm as norm_cli
from score.bin import score as score_cli
from score.cosine import cosine_scores
from score.norm import cohort_stats, score_norm


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    enroll, test, cohort = rng.normal(size=(7, 5)), rng.normal(size=(11, 5)), rng.normal(size=(20, 5))
    e_idx, t_idx = rng.integers(0, 7, 60), rng.integers(0, 11, 60)
    return enroll, test, cohort, e_idx, t_idx


@pytest.mark.parametrize("sparse", [False, True])
def test_cosine_equals_loop(data, sparse):
    enroll, test, _, e_idx, t_idx = data
    if sparse:  # few trials relative to the grid: exercises the row-wise path
        e_idx, t_idx = e_idx[:5], t_idx[:5]
    got = cosine_scores(enroll, test, e_idx, t_idx)
    want = [_cos(enroll[e], test[t]) for e, t in zip(e_idx, t_idx)]
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("method,top_n", [("snorm", None), ("asnorm", 4)])
def test_norm_equals_loop(data, method, top_n):
    enroll, test, cohort, e_idx, t_idx = data
    raw = cosine_scores(enroll, test, e_idx, t_idx)
    got = score_norm(method, raw, enroll, test, e_idx, t_idx, cohort, top_n=top_n or 300)
    want = []
    for s, e, t in zip(raw, e_idx, t_idx):
        ce = np.array([_cos(enroll[e], c) for c in cohort])
        ct = np.array([_cos(test[t], c) for c in cohort])
        if top_n:
            ce, ct = np.sort(ce)[-top_n:], np.sort(ct)[-top_n:]
        want.append(0.5 * ((s - ce.mean()) / ce.std() + (s - ct.mean()) / ct.std()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 embeddings


def test_norm_errors(data):
    enroll, _, cohort, _, _ = data
    with pytest.raises(ValueError, match="empty cohort"):
        cohort_stats(enroll, cohort[:0], 3)
    with pytest.raises(ValueError, match="fewer than --top-n 300"):
        cohort_stats(enroll, cohort, 300)
    with pytest.raises(ValueError, match="dim"):
        cohort_stats(enroll, cohort[:, :3], 3)


def _write(tmp_path, name, keys, x):
    write_embeddings(keys, x, str(tmp_path / f"{name}.ark"), str(tmp_path / f"{name}.scp"))
    return str(tmp_path / f"{name}.scp")


def test_cli_score_and_norm(tmp_path, data, capsys):
    enroll, test, cohort, _, _ = data
    ek, tk = [f"spk{i}" for i in range(7)], [f"utt{i:02d}" for i in range(11)]
    e_scp, t_scp = _write(tmp_path, "enroll", ek, enroll), _write(tmp_path, "test", tk, test)
    c_scp = _write(tmp_path, "cohort", [f"c{i}" for i in range(20)], cohort)
    trials = tmp_path / "trials"
    trials.write_text("spk3 utt05 target\nspk0 utt10 nontarget\nspk6 utt00 nontarget\n")
    out = tmp_path / "scores"
    args = ["--method", "cosine", "--enroll", e_scp, "--test", t_scp, "--trials", str(trials)]
    assert score_cli.main(args + ["--out", str(out)]) == 0
    lines = [ln.split() for ln in out.read_text().splitlines()]
    assert [ln[:2] for ln in lines] == [["spk3", "utt05"], ["spk0", "utt10"], ["spk6", "utt00"]]
    assert float(lines[0][2]) == pytest.approx(_cos(enroll[3], test[5]), abs=1e-6)
    normed = tmp_path / "normed"
    assert norm_cli.main(["--method", "asnorm", "--top-n", "5", "--cohort", c_scp, "--enroll", e_scp,
                          "--test", t_scp, "--scores", str(out), "--out", str(normed)]) == 0
    assert len(normed.read_text().splitlines()) == 3
    # A trial whose test utterance has no embedding names it.
    trials.write_text("spk3 utt99 target\n")
    assert score_cli.main(args + ["--out", str(out)]) == 1
    assert "no embedding for test id 'utt99'" in capsys.readouterr().err
    # Enroll and test from different models (dims differ).
    t_scp2 = _write(tmp_path, "test3", tk, test[:, :3])
    assert score_cli.main(["--method", "cosine", "--enroll", e_scp, "--test", t_scp2, "--trials", str(trials),
                           "--out", str(out)]) == 1
    assert "dim" in capsys.readouterr().err
    # A cohort smaller than N.
    trials.write_text("spk3 utt05 target\n")
    assert score_cli.main(args + ["--out", str(out)]) == 0
    assert norm_cli.main(["--method", "asnorm", "--top-n", "300", "--cohort", c_scp, "--enroll", e_scp,
                          "--test", t_scp, "--scores", str(out), "--out", str(normed)]) == 1
    assert "fewer than --top-n" in capsys.readouterr().err
