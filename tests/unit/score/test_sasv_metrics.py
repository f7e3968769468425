"""SASV/SV/SPF-EER (score/sasv.py, score.bin.sasv_metrics) on hand-made trial sets, and on the organisers'
ASV scores of the real SASV eval trial list (../shared/data/asvspoof2019_la relative to the repository).

EER convention of score.metrics.eer_from_rates: walk the thresholds up; at the first one where
P_miss >= P_fa, interpolate linearly from the previous one. Where P_miss == P_fa exactly there, the EER is
that value."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from score.bin import sasv_metrics as cli
from score.sasv import sasv_eers

ROOT = Path(__file__).resolve().parents[3]
LA = ROOT.parent / "shared" / "data" / "asvspoof2019_la"

# Targets 10..13, nontargets 0,1,2,10.5, spoofs 0.5,3 (A01) and 4,11.5 (A02).
TARGET = [10, 11, 12, 13]
NONTARGET = [0, 1, 2, 10.5]
SPOOF = {"A01": [0.5, 3], "A02": [4, 11.5]}


def _write(tmp_path: Path, spoof: dict[str, list[float]]) -> tuple[Path, Path, Path]:
    trials, scores, u2a = [], [], []
    for i, s in enumerate(TARGET):
        trials.append(f"spkA spkA-t{i} target")
        scores.append(f"spkA spkA-t{i} {s}")
        u2a.append(f"spkA-t{i} bonafide")
    for i, s in enumerate(NONTARGET):
        trials.append(f"spkA spkB-n{i} nontarget")
        scores.append(f"spkA spkB-n{i} {s}")
    for a, vals in spoof.items():
        for i, s in enumerate(vals):
            trials.append(f"spkA spkA-{a}-{i} spoof")
            scores.append(f"spkA spkA-{a}-{i} {s}")
            u2a.append(f"spkA-{a}-{i} {a}")
    paths = tmp_path / "trials", tmp_path / "scores", tmp_path / "utt2attack"
    for p, lines in zip(paths, (trials, scores[::-1], u2a)):  # scores in another order: joined by pair
        p.write_text("".join(f"{x}\n" for x in lines))
    return paths


def _json(capsys, *argv: str) -> dict:
    assert cli.main([*argv, "--json", "true"]) == 0
    return json.loads(capsys.readouterr().out)


def test_hand_made_per_attack(tmp_path, capsys):
    trials, scores, u2a = _write(tmp_path, SPOOF)
    res = _json(capsys, "--trials", str(trials), "--scores", str(scores), "--utt2attack", str(u2a))
    # SV: at threshold 10.5, miss 1/4 (10), fa 1/4 (10.5); at 10, miss 0 < fa 1/4 -> 25%.
    assert res["sv_eer"] == pytest.approx(25.0)
    # SPF: at 11, miss 1/4 (10), fa 1/4 (11.5); at 10, miss 0 < fa 1/4 -> 25%.
    assert res["spf_eer"] == pytest.approx(25.0)
    # SASV (8 negatives): at 10.5, miss 1/4, fa 2/8 (10.5, 11.5); at 10, miss 0 < fa 2/8 -> 25%.
    assert res["sasv_eer"] == pytest.approx(25.0)
    # A01 (0.5, 3) lies below every target: 0%. A02 (4, 11.5): at 11.5, miss 2/4, fa 1/2; at 11, 1/4 < 1/2.
    assert res["spf_eer_per_attack"] == pytest.approx({"A01": 0.0, "A02": 50.0})
    assert (res["n_target"], res["n_nontarget"], res["n_spoof"]) == (4, 4, 4)


def test_hand_made_separated_spoofs_text(tmp_path, capsys):
    trials, scores, _ = _write(tmp_path, {"A01": [0.5, 3, 4, 5]})
    assert cli.main(["--trials", str(trials), "--scores", str(scores)]) == 0
    out = capsys.readouterr().out.split()
    # SV 25% as above; spoofs all below the targets: SPF 0%. SASV: at 10.5, miss 1/4 and fa 1/8; at 10,
    # miss 0 < fa 1/8: interpolate a = (1/8 - 0) / ((1/4 - 0) - (1/8 - 1/8)) = 1/2 -> 0 + 1/2 * 1/4 = 12.5%.
    assert out == ["SASV-EER=12.500%", "SV-EER=25.000%", "SPF-EER=0.000%"]


def test_no_spoof_trials_gives_n_a():
    res = sasv_eers(np.array([1.0, 0.0]), np.array([b"target", b"nontarget"]))
    assert res["spf_eer"] is None and res["sv_eer"] == res["sasv_eer"] == 0.0


def test_spoof_without_attack_is_an_error(tmp_path, capsys):
    trials, scores, u2a = _write(tmp_path, SPOOF)
    u2a.write_text("".join(line + "\n" for line in u2a.read_text().splitlines() if "A02-1" not in line))
    assert cli.main(["--trials", str(trials), "--scores", str(scores), "--utt2attack", str(u2a)]) == 1
    err = capsys.readouterr().err
    assert "utt2attack" in err and "spkA-A02-1" in err


def test_missing_score_is_an_error(tmp_path, capsys):
    trials, scores, _ = _write(tmp_path, SPOOF)
    scores.write_text("".join(line + "\n" for line in scores.read_text().splitlines()[1:]))
    assert cli.main(["--trials", str(trials), "--scores", str(scores)]) == 1
    assert "no score for trial pair" in capsys.readouterr().err


@pytest.mark.skipif(not (LA / "asv_scores").is_dir(), reason=f"organisers' ASV scores not present in {LA}")
def test_real_organiser_asv_scores(tmp_path, capsys):
    """The organisers' ASV scores follow the eval SASV trial list line for line (checked on the key column);
    as an ASV system with no countermeasure, it must do far better on nontargets than on spoofs."""
    trl = (LA / "protocols" / "ASVspoof2019.LA.asv.eval.gi.trl.txt").read_text().split("\n")
    asv = (LA / "asv_scores" / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt").read_text().split("\n")
    trl, asv = [x.split() for x in trl if x], [x.split() for x in asv if x]
    assert len(trl) == len(asv)
    assert all(t[3] == a[1] and (t[2] == a[0] or t[2] == "bonafide" == a[0]) for t, a in zip(trl, asv))
    (tmp_path / "trials").write_text("".join(f"{t[0]} {t[1]} {t[3]}\n" for t in trl))
    (tmp_path / "scores").write_text("".join(f"{t[0]} {t[1]} {a[2]}\n" for t, a in zip(trl, asv)))
    cm = (LA / "protocols" / "ASVspoof2019.LA.cm.eval.trl.txt").read_text().splitlines()
    (tmp_path / "utt2attack").write_text("".join(f"{x.split()[1]} {x.split()[3].replace('-', 'bonafide')}\n"
                                                 for x in cm))
    res = _json(capsys, "--trials", str(tmp_path / "trials"), "--scores", str(tmp_path / "scores"),
                "--utt2attack", str(tmp_path / "utt2attack"))
    assert (res["n_target"], res["n_nontarget"], res["n_spoof"]) == (5370, 33327, 63882)
    eers = [res["sasv_eer"], res["sv_eer"], res["spf_eer"], *res["spf_eer_per_attack"].values()]
    assert all(math.isfinite(v) and 0 <= v <= 100 for v in eers)
    assert sorted(res["spf_eer_per_attack"]) == [f"A{i:02d}" for i in range(7, 20)]
    assert res["sv_eer"] < res["spf_eer"]
    # SASV pools both negative sets, so its EER lies between theirs
    assert res["sv_eer"] <= res["sasv_eer"] <= res["spf_eer"]
