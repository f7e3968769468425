"""Back-end CLIs end to end on tiny files: train_backend, calibrate, fuse, plot_det, cp_map, breakdown."""
import kaldiio
import numpy as np
import pytest

from score.bin import breakdown as breakdown_cli
from score.bin import calibrate, cp_map, fuse, plot_det, train_backend
from score.chain import Chain


@pytest.fixture()
def data(tmp_path):
    rng = np.random.default_rng(0)
    n_spk, per, dim = 12, 5, 6
    centres = rng.normal(size=(n_spk, dim)) * 2
    emb, utt2spk = {}, []
    for s in range(n_spk):
        for u in range(per):
            key = f"spk{s:02d}-u{u}"
            emb[key] = (centres[s] + rng.normal(size=dim)).astype(np.float32)
            utt2spk.append(f"{key} spk{s:02d}\n")
    kaldiio.save_ark(str(tmp_path / "train.ark"), emb, scp=str(tmp_path / "train.scp"))
    (tmp_path / "utt2spk").write_text("".join(utt2spk))
    # Trials and two systems' scores for dev and eval.
    lines, sa, sb, y = [], [], [], rng.random(400) < 0.3
    for i, t in enumerate(y):
        lines.append(f"e{i % 7} t{i} {'target' if t else 'nontarget'}\n")
        sa.append(2.0 * t + rng.normal())
        sb.append(1.0 * t + rng.normal() + 4)
    (tmp_path / "trials").write_text("".join(lines))
    for name, s in (("a", sa), ("b", sb)):
        (tmp_path / f"{name}.scores").write_text("".join(f"e{i % 7} t{i} {v:.6f}\n" for i, v in enumerate(s)))
    # Eval score file in another order (joined by pair, not by line).
    rows = (tmp_path / "b.scores").read_text().splitlines()[::-1]
    (tmp_path / "b_rev.scores").write_text("\n".join(rows) + "\n")
    (tmp_path / "utt2dur").write_text("".join(f"t{i} {1 + i % 5}.0\n" for i in range(400)))
    (tmp_path / "enroll_dur").write_text("".join(f"e{i} 20.0\n" for i in range(7)))
    genre = ["speech", "sing"]
    (tmp_path / "utt2genre").write_text("".join(f"t{i} {genre[i % 2]}\n" for i in range(400)))
    return tmp_path


def _read_scores(path):
    return np.array([float(line.split()[2]) for line in path.read_text().splitlines()])


def test_train_backend_with_adapt_and_cohort(data):
    out = data / "backend"
    rc = train_backend.main(["--chain", "[mean, lda:4, lnorm, plda]", "--train", str(data / "train.scp"),
                             "--utt2spk", str(data / "utt2spk"), "--out", str(out),
                             "--adapt-scp", str(data / "train.scp"),
                             "--cohort-out", str(data / "cohort.scp")])
    assert rc == 0
    chain = Chain.load(out)
    assert chain.spec == "mean,lda:4,lnorm,plda" and chain.plda.dim == 4
    cohort = dict(kaldiio.load_scp(str(data / "cohort.scp")))
    train = dict(kaldiio.load_scp(str(data / "train.scp")))
    assert len(cohort) == 12  # raw speaker means, not transformed
    assert np.allclose(cohort["spk03"], np.mean([train[f"spk03-u{u}"] for u in range(5)], axis=0), atol=1e-6)


@pytest.mark.parametrize("args,msg", [
    (["--chain", "mean,foo"], "unknown step 'foo'"),
    (["--chain", "mean,lda:50,plda"], "must be <="),
])
def test_train_backend_errors(data, capsys, args, msg):
    rc = train_backend.main(args + ["--train", str(data / "train.scp"), "--utt2spk", str(data / "utt2spk"),
                                    "--out", str(data / "be")])
    err = capsys.readouterr().err
    last = err.splitlines()[-1]  # INFO log lines come first
    assert rc == 1 and last.startswith("train_backend: error:") and msg in last and "Traceback" not in err


def test_calibrate_linear_and_qmf(data):
    out = data / "cal.scores"
    assert calibrate.main(["--train-trials", str(data / "trials"), "--train-scores", str(data / "a.scores"),
                           "--scores", str(data / "a.scores"), "--out", str(out),
                           "--save-model", str(data / "cal.json")]) == 0
    llr = _read_scores(out)
    raw = _read_scores(data / "a.scores")
    assert np.corrcoef(llr, raw)[0, 1] > 0.999 and not np.allclose(llr, raw)
    assert calibrate.main(["--model", str(data / "cal.json"), "--scores", str(data / "a.scores"),
                           "--out", str(data / "cal2.scores")]) == 0
    assert np.allclose(_read_scores(data / "cal2.scores"), llr)
    assert calibrate.main(["--train-trials", str(data / "trials"), "--train-scores", str(data / "a.scores"),
                           "--scores", str(data / "a.scores"), "--out", str(data / "qmf.scores"),
                           "--qmf", "true",
                           "--enroll-dur", str(data / "enroll_dur"),
                           "--test-dur", str(data / "utt2dur")]) == 0
    assert len(_read_scores(data / "qmf.scores")) == 400


def test_fuse_and_missing_pair(data, capsys):
    out = data / "fused"
    args = ["--train-trials", str(data / "trials"),
            "--train-scores", str(data / "a.scores"), str(data / "b.scores"),
            "--scores", str(data / "a.scores"), str(data / "b_rev.scores"), "--out", str(out)]
    assert fuse.main(["--method", "logreg"] + args) == 0
    assert len(_read_scores(out)) == 400
    assert fuse.main(["--method", "mean", "--scores", str(data / "a.scores"), str(data / "b_rev.scores"),
                      "--out", str(out)]) == 0
    mean = (_read_scores(data / "a.scores") + _read_scores(data / "b.scores")) / 2
    assert np.allclose(_read_scores(out), mean, atol=1e-5)
    lines = (data / "b_rev.scores").read_text().splitlines()
    (data / "b_missing.scores").write_text("\n".join(lines[1:]) + "\n")  # drop the first pair
    missing = lines[0].split()[:2]
    rc = fuse.main(["--method", "mean", "--scores", str(data / "a.scores"), str(data / "b_missing.scores"),
                    "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and f"no score for trial pair {missing[0]} {missing[1]}" in err


def test_plot_det_cp_map_breakdown(data, capsys):
    trials, a, b = str(data / "trials"), str(data / "a.scores"), str(data / "b.scores")
    assert plot_det.main(["--trials", trials, "--scores", a, b, "--labels", "A", "B", "--out",
                          str(data / "det.png")]) == 0
    assert cp_map.main(["--trials", trials, "--scores", a, "--scores-b", b, "--k", "3", "--metric", "mindcf",
                        "--out", str(data / "cp.png"), "--tsv", str(data / "cp.tsv")]) == 0
    assert (data / "det.png").read_bytes()[:4] == b"\x89PNG" and (data / "cp.png").stat().st_size > 0
    assert len((data / "cp.tsv").read_text().splitlines()) == 1 + 9
    assert breakdown_cli.main(["--trials", trials, "--scores", a, "--utt2key", str(data / "utt2genre")]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| genre |") and "| sing |" in md and "| speech |" in md
    assert plot_det.main(["--trials", trials, "--scores", a, "--labels", "A", "B", "--out", "x.png"]) == 1
    assert "one label per system" in capsys.readouterr().err
