"""score / norm CLIs on bad or unusual input: one-line errors, unlabelled trial lists."""
import numpy as np
import pytest

from common.embeddings import write_embeddings
from score.bin import norm as norm_cli
from score.bin import score as score_cli


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(9)
    sets = (("enroll", ["s1", "s2"]), ("test", ["u1", "u2", "u3"]), ("cohort", ["c1", "c2", "c3"]))
    for name, keys in sets:
        write_embeddings(keys, rng.normal(size=(len(keys), 4)).astype(np.float32),
                         str(tmp_path / f"{name}.ark"), str(tmp_path / f"{name}.scp"))
    return tmp_path


def _score(d, trials, out="scores"):
    return score_cli.main(["--method", "cosine", "--enroll", str(d / "enroll.scp"),
                           "--test", str(d / "test.scp"), "--trials", str(trials), "--out", str(d / out)])


def _norm(d, scores, top_n="2", cohort="cohort.scp"):
    return norm_cli.main(["--method", "asnorm", "--top-n", top_n, "--cohort", str(d / cohort),
                          "--enroll", str(d / "enroll.scp"), "--test", str(d / "test.scp"),
                          "--scores", str(scores), "--out", str(d / "normed")])


def test_unlabelled_trials_and_round_trip(files):
    (files / "trials").write_text("s1 u1\ns2 u3\ns1 u2\n")  # eval lists often carry no labels
    assert _score(files, files / "trials") == 0
    lines = (files / "scores").read_text().splitlines()
    assert [ln.split()[:2] for ln in lines] == [["s1", "u1"], ["s2", "u3"], ["s1", "u2"]]
    assert _norm(files, files / "scores") == 0
    assert len((files / "normed").read_text().splitlines()) == 3


def test_errors(files, capsys):
    (files / "empty").write_text("")
    assert _score(files, files / "empty") == 1
    err = capsys.readouterr().err
    assert err.startswith("score: error:") and "empty trial list" in err and len(err.splitlines()) == 1
    (files / "bad").write_text("s1 u1 0.5\ns2 u2 nan\n")
    assert _norm(files, files / "bad") == 1
    assert "bad:2: score is nan (s2 u2)" in capsys.readouterr().err
    (files / "bad").write_text("s1 u1 0.5\ns2 u2 inf\n")
    assert _norm(files, files / "bad") == 1
    assert "score is inf" in capsys.readouterr().err
    (files / "good").write_text("s1 u1 0.5\n")
    (files / "none.scp").write_text("")
    assert _norm(files, files / "good", cohort="none.scp") == 1
    assert "no embeddings" in capsys.readouterr().err
    assert _norm(files, files / "good", top_n="4") == 1
    assert "cohort has 3 speakers, fewer than --top-n 4" in capsys.readouterr().err
    (files / "t").write_text("s9 u1 target\n")
    assert _score(files, files / "t") == 1
    assert "no embedding for enroll id 's9'" in capsys.readouterr().err
