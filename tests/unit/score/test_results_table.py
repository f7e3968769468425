"""results.tsv append/read and the Markdown table."""
import pytest

from common.errors import FormatError
from score.bin import results_table
from score.results import COLUMNS, append_result, read_results, render_markdown

M = {"eer": 2.5, "minDCF@0.01": 0.31, "minDCF@0.001": 0.45, "actDCF": 0.4, "Cllr": 0.9}


def test_append_and_render(tmp_path, capsys):
    a, b = tmp_path / "a" / "results.tsv", tmp_path / "b" / "results.tsv"
    append_result(a, "ecapa", "cosine", "none", "CNC-E", M, 100, date="2026-01-01", sha="abc")
    append_result(a, "ecapa", "cosine", "asnorm", "CNC-E", {**M, "eer": 2.0}, 100, date="2026-01-01",
                  sha="abc")
    append_result(a, "ecapa", "cosine", "none", "CNC-E", {**M, "eer": 2.25}, 100, date="2026-01-02",
                  sha="abd")
    append_result(b, "resnet", "plda", "none", "vox1-O", {k: v for k, v in M.items() if k != "Cllr"}, 7,
                  date="2026-01-01", sha="abc")
    rows = read_results(a)
    assert a.read_text().splitlines()[0].split("\t") == list(COLUMNS)
    assert len(rows) == 3 and rows[0]["eer"] == "2.5000" and rows[0]["git_sha"] == "abc"
    assert read_results(b)[0]["Cllr"] == "-"
    md = render_markdown(rows + read_results(b))
    lines = md.splitlines()
    assert lines[0] == "| system | backend | norm | CNC-E | vox1-O |"
    # The rerun (2026-01-02) replaces the first ecapa/cosine/none row; missing cells are a dash.
    assert lines[2] == "| ecapa | cosine | none | 2.2500% / 0.3100 | – |"
    assert lines[3] == "| ecapa | cosine | asnorm | 2.0000% / 0.3100 | – |"
    assert lines[4] == "| resnet | plda | none | – | 2.5000% / 0.3100 |"
    assert results_table.main([str(a), str(b)]) == 0
    assert "| ecapa | cosine | none | 2.2500% / 0.3100 | – |" in capsys.readouterr().out


def test_errors(tmp_path, capsys):
    bad = tmp_path / "results.tsv"
    bad.write_text("system\tEER\nx\t1\n")
    with pytest.raises(FormatError, match="header"):
        read_results(bad)
    assert results_table.main([str(bad)]) == 1
    assert "header" in capsys.readouterr().err
    assert results_table.main([str(tmp_path / "none.tsv")]) == 1
    assert "no such results file" in capsys.readouterr().err
    with pytest.raises(ValueError, match="lacks"):
        append_result(tmp_path / "r.tsv", "s", "b", "n", "t", {"eer": 1.0}, 3)
    with pytest.raises(ValueError, match="tab"):
        append_result(tmp_path / "r.tsv", "s\tx", "b", "n", "t", M, 3)
    good = tmp_path / "g.tsv"
    append_result(good, "s", "b", "n", "t", M, 3, sha="x")
    assert results_table.main([str(good), "--cell", "{nope}"]) == 1
    assert "unknown column 'nope'" in capsys.readouterr().err


def test_compute_metrics_appends_results(tmp_path, capsys):
    import json

    from score.bin import compute_metrics
    d = tmp_path / "data" / "eval"
    d.mkdir(parents=True)
    (d / "trials").write_text("a x target\na y nontarget\nb x nontarget\nb y target\n")
    (tmp_path / "scores").write_text("a x 0.9\na y 0.2\nb x 0.5\nb y 0.4\n")
    res = tmp_path / "exp" / "sys1" / "results.tsv"
    args = ["--trials", str(d / "trials"), "--scores", str(tmp_path / "scores")]
    assert compute_metrics.main(args + ["--results", str(res), "--system", "sys1", "--backend", "cosine",
                                        "--norm", "asnorm"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("EER=50.000% minDCF(p=0.01)=0.5000") and "actDCF(p=0.01)=" in out and "Cllr=" in out
    row = read_results(res)[0]
    # Same four trials as test_metrics: EER 50 %, minDCF(0.01) 0.5; trial list named after its directory.
    assert (row["system"], row["backend"], row["norm"], row["trials"]) == ("sys1", "cosine", "asnorm", "eval")
    assert row["eer"] == "50.0000" and row["minDCF@0.01"] == "0.5000" and row["n_trials"] == "4"
    # actDCF at p=0.01: Bayes threshold log(99) = 4.595 rejects all -> P_miss 1 -> 0.01 / 0.01 = 1.
    assert float(row["actDCF"]) == pytest.approx(1.0)
    assert compute_metrics.main(args + ["--json", "true"]) == 0
    assert json.loads(capsys.readouterr().out)["actDCF(p=0.01)"] == pytest.approx(1.0)
    with pytest.raises(SystemExit):
        compute_metrics.main(args + ["--results", str(res)])  # --system/--backend missing: usage error
