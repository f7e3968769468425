"""score/bin CLIs on inputs that used to pass silently: repeated trials, outputs over inputs, a training set
too small for PLDA/LDA, NaN embeddings."""
import numpy as np
import pytest

from common.embeddings import write_embeddings
from score.bin import calibrate, compute_metrics, fuse, norm, score, train_backend
from score.chain import Chain


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(3)
    sets = (("enroll", ["s1", "s2"]), ("test", [f"u{i}" for i in range(6)]), ("cohort", ["c1", "c2"]))
    for name, keys in sets:
        write_embeddings(keys, rng.normal(size=(len(keys), 4)).astype(np.float32),
                         str(tmp_path / f"{name}.ark"), str(tmp_path / f"{name}.scp"))
    (tmp_path / "trials").write_text("".join(f"s{1 + i % 2} u{i} {'target' if i % 3 == 0 else 'nontarget'}\n"
                                             for i in range(6)))
    return tmp_path


def _score(d, out):
    return score.main(["--method", "cosine", "--enroll", str(d / "enroll.scp"), "--test", str(d / "test.scp"),
                       "--trials", str(d / "trials"), "--out", str(out)])


def test_repeated_trial_line_is_an_error_not_a_double_count(files, capsys):
    assert _score(files, files / "scores") == 0
    lines = (files / "trials").read_text().splitlines(keepends=True)
    (files / "trials2").write_text("".join(lines + lines[:1]))
    rc = compute_metrics.main(["--trials", str(files / "trials2"), "--scores", str(files / "scores")])
    assert rc == 1 and "trials2:7: s1 u0 repeats line 1" in capsys.readouterr().err


@pytest.mark.parametrize("tool", ["score", "norm", "fuse", "calibrate"])
def test_no_cli_writes_over_its_input(files, capsys, tool):
    assert _score(files, files / "scores") == 0
    d = files
    victim = d / ("trials" if tool == "score" else "scores")
    before = victim.read_text()
    if tool == "score":
        rc = _score(d, victim)
    elif tool == "norm":
        rc = norm.main(["--method", "snorm", "--cohort", str(d / "cohort.scp"),
                        "--enroll", str(d / "enroll.scp"), "--test", str(d / "test.scp"),
                        "--scores", str(victim), "--out", str(victim)])
    elif tool == "fuse":
        rc = fuse.main(["--method", "mean", "--scores", str(d / "scores"), str(d / "scores"),
                        "--out", str(victim)])
    else:
        rc = calibrate.main(["--train-trials", str(d / "trials"), "--train-scores", str(d / "scores"),
                             "--scores", str(victim), "--out", str(victim)])
    err = capsys.readouterr().err
    assert rc == 1 and f"--out {victim} is also the input" in err
    assert victim.read_text() == before


def _small_train(tmp_path, n_spk=4, per=10, dim=128, nan_key=None):
    rng = np.random.default_rng(0)
    lab = np.repeat(np.arange(n_spk), per)
    x = (rng.normal(size=(n_spk, dim))[lab] + rng.normal(size=(len(lab), dim))).astype(np.float32)
    keys = [f"spk{s}-u{i:02d}" for i, s in enumerate(lab)]
    if nan_key:
        x[keys.index(nan_key), 3] = np.nan
    write_embeddings(keys, x, str(tmp_path / "train.ark"), str(tmp_path / "train.scp"))
    (tmp_path / "utt2spk").write_text("".join(f"{k} spk{s}\n" for k, s in zip(keys, lab)))
    return x, lab


def test_plda_refuses_a_singular_within_class_scatter(tmp_path, capsys):
    _small_train(tmp_path)  # 40 vectors of 4 speakers in 128 dims: used to exit 0 with scores of +-7e9
    rc = train_backend.main(["--chain", "mean,lnorm,plda", "--train", str(tmp_path / "train.scp"),
                             "--utt2spk", str(tmp_path / "utt2spk"), "--out", str(tmp_path / "be")])
    err = capsys.readouterr().err  # the log (speakers and samples used, as Kaldi logs) and the error line
    assert rc == 1 and "plda: 4 speakers, 40 samples, 128 dims" in err
    last = err.splitlines()[-1]
    assert "plda: fewer samples (40) than dimensions (128)" in last and "lda:3" in last
    assert not (tmp_path / "be" / "chain.yaml").exists()


def test_lda_on_too_few_samples_stays_bounded_on_unseen_data(tmp_path):
    """Fewer within-class degrees of freedom than dims: LDA runs in the principal subspace instead of
    scaling the null space of Sw by 1/sqrt(shrinkage), which sent held-out projections (and PLDA) to ~1e10."""
    x, lab = _small_train(tmp_path)
    rng = np.random.default_rng(1)
    held_out = x[::2] + rng.normal(size=x[::2].shape)
    chain = Chain.fit("mean,lda:3,plda", x, lab)
    train_y, test_y = chain.transform(x), chain.transform(held_out)
    assert np.abs(test_y).std() < 10 * np.abs(train_y).std()
    s = chain.plda.score_matrix(test_y, test_y)
    assert np.isfinite(s).all() and np.abs(s).max() < 1e6


def test_nan_embedding_is_named_by_its_id(files, tmp_path, capsys):
    keys, x = ["s1", "s2"], np.ones((2, 4), np.float32)
    x[1, 2] = np.nan
    write_embeddings(keys, x, str(files / "enroll.ark"), str(files / "enroll.scp"))
    assert _score(files, files / "scores") == 1
    assert "'s2' has NaN or inf values" in capsys.readouterr().err
    _small_train(tmp_path, n_spk=10, per=10, dim=4, nan_key="spk3-u31")
    assert train_backend.main(["--chain", "mean,plda", "--train", str(tmp_path / "train.scp"),
                               "--utt2spk", str(tmp_path / "utt2spk"), "--out", str(tmp_path / "be")]) == 1
    assert "'spk3-u31' has NaN or inf values" in capsys.readouterr().err
