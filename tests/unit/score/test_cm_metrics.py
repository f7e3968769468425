"""CM metrics (score/tdcf.py, score.bin.cm_metrics): CM EER, EER per attack and the ASVspoof 2019 min t-DCF,
on hand-made cases and on the organisers' real ASV scores (../shared/data/asvspoof2019_la) with synthetic CM
scores, against the t-DCF formula evaluated independently here, threshold by threshold."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from score.bin import cm_metrics as cli
from score.tdcf import COST_2019, asv_operating_point, cm_metrics, min_tdcf, read_organiser_asv_scores

ROOT = Path(__file__).resolve().parents[3]
ASV_EVAL = ROOT.parent / "shared/data/asvspoof2019_la/asv_scores/ASVspoof2019.LA.asv.eval.gi.trl.scores.txt"

BONA = [1.0, 2.0, 3.0, 4.0]
SPOOF = {"A01": [0.0, 0.5], "A02": [2.5]}


def _write(tmp_path: Path, spoof: dict[str, list[float]] = SPOOF) -> tuple[Path, Path, Path]:
    scores, u2a = [f"b{i} {s}" for i, s in enumerate(BONA)], [f"b{i} bonafide" for i in range(len(BONA))]
    for a, vals in spoof.items():
        scores += [f"{a}-{i} {s}" for i, s in enumerate(vals)]
        u2a += [f"{a}-{i} {a}" for i in range(len(vals))]
    paths = tmp_path / "scores", tmp_path / "utt2attack", tmp_path / "utt2label"
    labels = [f"{x.split()[0]} {'bonafide' if x.endswith('bonafide') else 'spoof'}" for x in u2a]
    for p, lines in zip(paths, (scores[::-1], u2a, labels)):
        p.write_text("".join(f"{x}\n" for x in lines))
    return paths


def _json(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json", "true"]) == 0
    return json.loads(capsys.readouterr().out)


def test_eer_and_per_attack_by_hand(tmp_path, capsys):
    scores, u2a, u2l = _write(tmp_path)
    res = _json(capsys, "--scores", str(scores), "--utt2attack", str(u2a))
    # all: 0s .5s 1b 2b 2.5s 3b 4b. At 2.5 miss 2/4 >= fa 1/3; at 2 miss 1/4, fa 1/3: interpolate
    # a = (1/3 - 1/4) / ((2/4 - 1/4) - 0) = 1/3 -> 1/4 + 1/3 * 1/4 = 1/3.
    assert res["cm_eer"] == pytest.approx(100 / 3)
    # A01 lies below every bona fide: 0. A02 (2.5): at 3, miss 2/4 >= fa 0; at 2.5 miss 2/4, fa 1 -> 50%.
    assert res["eer_per_attack"] == pytest.approx({"A01": 0.0, "A02": 50.0})
    assert (res["n_bonafide"], res["n_spoof"]) == (4, 3)
    res = _json(capsys, "--scores", str(scores), "--utt2label", str(u2l))
    assert res["cm_eer"] == pytest.approx(100 / 3) and "eer_per_attack" not in res


def test_min_tdcf_by_hand():
    # ASV: 0n 5n 10t 15n 20t 25n 30t 40t. Rejecting <= v: v=10 gives miss 1/4, fa 2/4; v=15 gives 1/4, 1/4:
    # closest, so v = 15, then accepted at >= 15: P_miss 1/4, P_fa 2/4 (15 and 25), spoofs rejected 1/2.
    op = asv_operating_point(np.array([10, 20, 30, 40.0]), np.array([0, 5, 15, 25.0]), np.array([12, 35.0]))
    assert (op.threshold, op.p_miss, op.p_fa, op.p_miss_spoof) == (15.0, 0.25, 0.5, 0.5)
    c1 = 0.95 * 0.99 * (1 - 0.25) - 0.95 * 0.01 * 10 * 0.5   # 0.657875
    c2 = 10 * 0.05 * (1 - 0.5)                                # 0.25 = min(C1, C2)
    # CM bona 1,2,3,4; spoofs 0,1.5,1.8. Thresholds: 0 -> Pfa 1 (t-DCF 1); 1 -> Pfa 2/3; 1.5 -> Pmiss 1/4,
    # Pfa 2/3; 2 -> Pmiss 1/4, Pfa 0: C1/C2 * 1/4 = 0.657875, the minimum; 3 -> 1/2; 4 -> 3/4; inf -> 1.
    assert min_tdcf(np.array(BONA), np.array([0, 1.5, 1.8]), op) == pytest.approx(c1 / c2 / 4)
    assert c1 / c2 / 4 < 2 / 3


@pytest.mark.skipif(not ASV_EVAL.is_file(), reason=f"organisers' ASV scores not present: {ASV_EVAL}")
def test_min_tdcf_real_organiser_asv_scores(tmp_path, capsys):
    asv = read_organiser_asv_scores(str(ASV_EVAL))
    assert {k: len(v) for k, v in asv.items()} == {"target": 5370, "nontarget": 33327, "spoof": 63882}
    tar, non, spf = asv["target"], asv["nontarget"], asv["spoof"]
    # The ASV threshold, independently: the candidate v (a sorted target/nontarget score) where the rates
    # of rejecting scores <= v are closest; the ASV then accepts >= v.
    cand = np.sort(np.r_[tar, non])
    frr = np.searchsorted(np.sort(tar), cand, side="right") / tar.size
    far = 1 - np.searchsorted(np.sort(non), cand, side="right") / non.size
    v = cand[np.argmin(np.abs(frr - far))]
    p_miss, p_fa, p_miss_spoof = np.mean(tar < v), np.mean(non >= v), np.mean(spf < v)
    c1 = 0.9405 * (1 - p_miss) - 0.0095 * 10 * p_fa
    c2 = 10 * 0.05 * (1 - p_miss_spoof)
    # synthetic CM: 300 bona fide ~ N(2, 1), 2 attacks of 400 ~ N(-1, 1) and N(1, 1.5)
    rng = np.random.default_rng(7)
    bona, a1, a2 = rng.normal(2, 1, 300), rng.normal(-1, 1, 400), rng.normal(1, 1.5, 400)
    spoof = np.r_[a1, a2]
    cm_thr = np.r_[np.unique(np.r_[bona, spoof]), np.inf]
    tdcf = [(c1 * np.mean(bona < s) + c2 * np.mean(spoof >= s)) / min(c1, c2) for s in cm_thr]
    expected = min(tdcf)
    assert 0 < expected < 1
    (tmp_path / "scores").write_text("".join(f"u{i} {s!r}\n" for i, s in enumerate(np.r_[bona, spoof].tolist())))
    (tmp_path / "u2a").write_text("".join(f"u{i} {'bonafide' if i < 300 else 'A0' + str(1 + (i >= 700))}\n"
                                          for i in range(1100)))
    res = _json(capsys, "--scores", str(tmp_path / "scores"), "--utt2attack", str(tmp_path / "u2a"),
                "--asv-scores", str(ASV_EVAL))
    assert res["min_tdcf"] == pytest.approx(expected, rel=1e-12)
    assert (res["asv"]["threshold"], res["asv"]["p_miss"], res["asv"]["p_fa"]) == (v, p_miss, p_fa)
    assert res["eer_per_attack"]["A01"] < res["cm_eer"] < res["eer_per_attack"]["A02"]
    # the same ASV scores as an `enroll test score` file on SASV trials give the same operating point
    keys = np.r_[["target"] * tar.size, ["nontarget"] * non.size, ["spoof"] * spf.size]
    (tmp_path / "trials").write_text("".join(f"e t{i} {k}\n" for i, k in enumerate(keys)))
    (tmp_path / "asv").write_text("".join(f"e t{i} {s!r}\n" for i, s in enumerate(np.r_[tar, non, spf].tolist())))
    res2 = _json(capsys, "--scores", str(tmp_path / "scores"), "--utt2attack", str(tmp_path / "u2a"),
                 "--asv-trials", str(tmp_path / "trials"), "--asv-scores", str(tmp_path / "asv"))
    assert res2["min_tdcf"] == res["min_tdcf"]


def test_cost_model_is_asvspoof2019():
    c = COST_2019
    assert (c.p_spoof, c.c_miss_asv, c.c_fa_asv, c.c_miss_cm, c.c_fa_cm) == (0.05, 1, 10, 1, 10)
    assert c.p_tar == pytest.approx(0.9405) and c.p_non == pytest.approx(0.0095)


def test_unscored_and_unlabelled_utterances_are_errors(tmp_path, capsys):
    scores, u2a, _ = _write(tmp_path)
    scores.write_text("".join(x + "\n" for x in scores.read_text().splitlines() if not x.startswith("b2 ")))
    assert cli.main(["--scores", str(scores), "--utt2attack", str(u2a)]) == 1
    assert "no score for b2" in capsys.readouterr().err
    scores.write_text(scores.read_text() + "b2 3\nextra 1\n")
    assert cli.main(["--scores", str(scores), "--utt2attack", str(u2a)]) == 1
    assert "no entry for the scored utterance extra" in capsys.readouterr().err


def test_bad_inputs_name_the_line(tmp_path, capsys):
    scores, u2a, u2l = _write(tmp_path)
    assert cli.main(["--scores", str(scores), "--utt2label", str(u2a)]) == 1
    assert "not bonafide|spoof" in capsys.readouterr().err
    scores.write_text(scores.read_text() + "b9 nan\n")
    assert cli.main(["--scores", str(scores), "--utt2label", str(u2l)]) == 1
    assert f"{scores}:8: score of b9 is nan" in capsys.readouterr().err
    (tmp_path / "asv").write_text("bonafide target 1\nA07 spoofed 2\n")
    _write(tmp_path)
    assert cli.main(["--scores", str(scores), "--utt2label", str(u2l), "--asv-scores", str(tmp_path / "asv")]) == 1
    assert f"{tmp_path / 'asv'}:2: key 'spoofed'" in capsys.readouterr().err


def test_no_spoof_is_an_error():
    with pytest.raises(ValueError, match="both bona fide and spoofed"):
        cm_metrics({"a": 1.0, "b": 2.0}, {"a": "bonafide", "b": "bonafide"})
