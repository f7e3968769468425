"""SASV score fusions (score/sasv.py, score.bin.sasv_fuse): hand-made cases, and synthetic ASV/CM scores with
known distributions where the known best fusion wins on held-out trials.

Synthetic set, on the scales of the real systems: ASV cosines target ~ N(0.6, 0.1), nontarget ~ N(0.1, 0.1),
spoof ~ N(0.55, 0.1) (the spoofs fool the ASV); CM bona fide logits bona fide ~ N(8, 4), spoof ~ N(-8, 4) (a good
CM whose raw logits are large next to the cosines)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from common.errors import ConfigError
from score.bin import sasv_fuse as cli
from score.bin import sasv_metrics
from score.sasv import cm_eer_threshold, sasv_eers, train_sasv_fusion

N = {"target": 600, "nontarget": 1500, "spoof": 1500}


def _synthetic(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.full(n, k.encode(), dtype="S9") for k, n in N.items()])
    spoof = labels == b"spoof"
    asv = np.select([labels == b"target", spoof], [0.6, 0.55], 0.1) + rng.normal(0, 0.1, labels.size)
    cm = np.where(spoof, -8.0, 8.0) + rng.normal(0, 4, labels.size)
    test = np.array([f"{seed}-u{i}" for i in range(labels.size)], dtype="S")
    return asv, cm, labels, test


def _eers(method: str, **kw) -> dict:
    fusion = train_sasv_fusion(method, _synthetic(1), **kw)
    asv, cm, labels, _ = _synthetic(2)  # held out
    return sasv_eers(fusion.apply(asv, cm), labels)


def test_fixed_fusions_by_hand():
    asv, cm = np.array([0.5, -0.2]), np.array([2.0, -3.0])
    assert train_sasv_fusion("asv").apply(asv, cm).tolist() == [0.5, -0.2]
    assert train_sasv_fusion("cm").apply(asv, cm).tolist() == [2.0, -3.0]
    assert train_sasv_fusion("b1").apply(asv, cm) == pytest.approx([2.5, -3.2])
    assert train_sasv_fusion("b1v2").apply(asv, cm) == pytest.approx([0.5 + 1 / (1 + np.exp(-2)),
                                                                      -0.2 + 1 / (1 + np.exp(3))])


def test_cascade_by_hand():
    # gate at 0: trials 2 and 3 blocked; span = 0.9 - (-0.4) + 1 = 2.3 shifts them below every passed trial
    fused = train_sasv_fusion("cascade", cm_threshold=0.0).apply(np.array([0.1, 0.9, -0.4, 0.8]),
                                                                  np.array([0.0, 5.0, 3.0, -1.0]))
    assert fused == pytest.approx([0.1, 0.9, -0.4, 0.8 - 2.3])
    fused = train_sasv_fusion("cascade", cm_threshold=4.0).apply(np.array([0.1, 0.9, -0.4, 0.8]),
                                                                  np.array([0.0, 5.0, 3.0, -1.0]))
    assert fused == pytest.approx([0.1 - 2.3, 0.9, -0.4 - 2.3, 0.8 - 2.3])


def test_cm_eer_threshold_by_hand():
    # bona 1,2,3,4; spoofs 0, 2.5: at 2.5 P_miss 2/4 >= P_fa 1/2 first
    assert cm_eer_threshold(np.array([1, 2, 3, 4, 0, 2.5]), np.array([1, 1, 1, 1, 0, 0], bool)) == 2.5


def test_asv_alone_fails_on_spoofs_and_b1_on_nontargets():
    asv, b1 = _eers("asv"), _eers("b1")
    assert asv["sv_eer"] < 10 and asv["spf_eer"] > 40
    # raw logits with std 4 swamp the cosines' separation of the nontargets
    assert b1["sv_eer"] > asv["sv_eer"] + 20


def test_softmax_calibrated_and_cascade_beat_b1():
    asv, b1, b1v2, cal, cas = (_eers(m) for m in ("asv", "b1", "b1v2", "calibrated", "cascade"))
    assert b1v2["sasv_eer"] < b1["sasv_eer"] / 2
    assert cal["sasv_eer"] < b1["sasv_eer"] / 2
    assert cas["spf_eer"] < 5 and cas["sasv_eer"] < asv["sasv_eer"] / 3


def test_llr_fusion_wins():
    """The data follow the llr fusion's model (the ASV barely tells spoofs from targets, the CM cannot tell
    nontargets from targets), so its combination of the calibrated LLRs is the best of all on held-out trials."""
    llr = _eers("llr")["sasv_eer"]
    others = {m: _eers(m)["sasv_eer"] for m in ("asv", "cm", "b1", "b1v2", "calibrated", "cascade")}
    assert all(llr <= v for v in others.values()), (llr, others)


def test_calibrated_fusion_is_the_best_linear_one():
    """On these Gaussians the best linear fusion is found by a scan of the CM weight; the logistic regression
    trained on dev must come within a small margin of it on held-out trials."""
    asv, cm, labels, _ = _synthetic(2)
    scan = min(sasv_eers(asv + w * cm, labels)["sasv_eer"] for w in np.linspace(0, 1, 101))
    assert _eers("calibrated")["sasv_eer"] <= scan + 0.5


def test_cascade_blocks_spoofs_below_every_passed_trial():
    fusion = train_sasv_fusion("cascade", _synthetic(1))
    asv, cm, labels, _ = _synthetic(2)
    fused = fusion.apply(asv, cm)
    passed = cm >= fusion.cm_threshold
    assert fused[~passed].max() < fused[passed].min()
    assert (~passed[labels == b"spoof"]).mean() > 0.9


def test_trained_fusions_need_dev():
    with pytest.raises(ConfigError, match="trained on dev"):
        train_sasv_fusion("calibrated")
    asv, cm, labels, test = _synthetic(1)
    keep = labels != b"spoof"
    with pytest.raises(ConfigError, match="needs dev nontarget and spoof"):
        train_sasv_fusion("llr", (asv[keep], cm[keep], labels[keep], test[keep]))
    with pytest.raises(ConfigError, match="unknown SASV fusion"):
        train_sasv_fusion("b3")
    with pytest.raises(ConfigError, match="for the cascade"):
        train_sasv_fusion("b1", cm_threshold=0.0)


def _files(tmp_path: Path, seed: int) -> tuple[Path, Path, Path]:
    asv, cm, labels, test = _synthetic(seed)
    enroll = [f"spk{i % 7}" for i in range(labels.size)]
    d = tmp_path / str(seed)
    d.mkdir()
    (d / "trials").write_text("".join(f"{e} {t.decode()} {k.decode()}\n" for e, t, k in zip(enroll, test, labels)))
    (d / "asv").write_text("".join(f"{e} {t.decode()} {s!r}\n" for e, t, s in zip(enroll, test, asv.tolist())))
    # CM scores keyed by test utterance, in another order
    (d / "cm").write_text("".join(f"{t.decode()} {s!r}\n" for t, s in zip(test[::-1], cm[::-1].tolist())))
    return d / "trials", d / "asv", d / "cm"


def test_cli_calibrated_end_to_end(tmp_path, capsys):
    dev, ev = _files(tmp_path, 1), _files(tmp_path, 2)
    out = tmp_path / "fused"
    assert cli.main(["--method", "calibrated", "--dev-trials", str(dev[0]), "--dev-asv-scores", str(dev[1]),
                     "--dev-cm-scores", str(dev[2]), "--asv-scores", str(ev[1]), "--cm-scores", str(ev[2]),
                     "--out", str(out)]) == 0
    assert sasv_metrics.main(["--trials", str(ev[0]), "--scores", str(out), "--json", "true"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["sasv_eer"] == pytest.approx(_eers("calibrated")["sasv_eer"], abs=0.05)  # %.6f output


def test_cli_b1v2_and_errors(tmp_path, capsys):
    _, asv, cm = _files(tmp_path, 1)
    out = tmp_path / "fused"
    assert cli.main(["--method", "b1v2", "--asv-scores", str(asv), "--cm-scores", str(cm), "--out", str(out)]) == 0
    a, c, _, _ = _synthetic(1)
    got = np.array([float(x.split()[2]) for x in out.read_text().splitlines()])
    assert got == pytest.approx(a + expit(c), abs=1e-6)
    assert cli.main(["--method", "b1", "--asv-scores", str(asv), "--out", str(tmp_path / "x")]) == 1
    assert "needs --cm-scores" in capsys.readouterr().err
    assert cli.main(["--method", "cascade", "--asv-scores", str(asv), "--cm-scores", str(cm),
                     "--out", str(tmp_path / "x")]) == 1
    assert "trained on dev" in capsys.readouterr().err
    cm.write_text("".join(x + "\n" for x in cm.read_text().splitlines()[1:]))
    assert cli.main(["--method", "b1", "--asv-scores", str(asv), "--cm-scores", str(cm), "--out", str(out)]) == 1
    assert f"{cm}: no entry for '1-u3599'" in capsys.readouterr().err
    assert cli.main(["--method", "asv", "--asv-scores", str(asv), "--out", str(asv)]) == 1
