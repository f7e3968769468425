"""egs/sasv end to end.

Mini mode, on the session's tiny egs/mini run (tests/recipes/conftest.py): data from the mini run, features
and ASV embeddings with one of its systems (the per-system stages are loops: a second system adds time, not
coverage), a one-epoch tiny AASIST, CM scores, logit differences and embeddings, B2 without and with L2 norm,
every score fusion, CM metrics and exp/RESULTS.md; a rerun reuses the features, the embeddings and the CM scores.

LA mode, on a fake ASVspoof 2019 LA tree (real protocol lines, synthetic audio: fake_corpora.make_fake_la)
with the tiny mini run's ASV system and the official pretrained AASIST-L as the CM (no CM training).
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml

from common.embeddings import load_embeddings
from common.io import read_kv
from pytorch.bin import score_cm
from score.bin import cm_metrics
from tests.recipes.conftest import SYSTEMS
from tests.recipes.fake_corpora import LA_ASV_SCORES, make_fake_la
from tests.recipes.recipe_run import ROOT, recipe_copy, run_recipe

RECIPE = os.path.join(ROOT, "egs", "sasv")
METHODS = ("asv", "b1", "b1v2", "b2_nonorm", "b2_l2norm", "calibrated", "llr", "cascade")
PRETRAINED = ROOT.parent / "shared" / "data" / "pretrained" / "aasist"


def _recipe_copy(dst: str) -> None:
    recipe_copy("sasv", "asvspoof2019", dst)
    # a one-epoch AASIST of ~7k parameters on 0.25 s inputs, and a short B2 training
    with open(os.path.join(RECIPE, "conf", "aasist_mini.yaml")) as f:
        cm = yaml.safe_load(f)
    cm["model"].update(first_conv=32, filts=[24, [1, 4], [4, 4], [4, 8], [8, 8]], gat_dims=[8, 8], nb_samp=4000)
    cm["train"].update(epochs=1, batch_size=4, crop=0, bn_recalibrate=2)
    with open(os.path.join(dst, "conf", "tiny_aasist.yaml"), "w") as f:
        yaml.safe_dump(cm, f)
    with open(os.path.join(RECIPE, "conf", "b2.yaml")) as f:
        b2 = yaml.safe_load(f)
    b2["train"].update(epochs=1)
    with open(os.path.join(dst, "conf", "tiny_b2.yaml"), "w") as f:
        yaml.safe_dump(b2, f)


def _lines(path: str) -> list[str]:
    with open(path) as f:
        return f.read().splitlines()


def _check_systems(d: str, sys: str, cm_name: str) -> None:
    """Every method scores every SASV trial of dev and eval (same pairs, same order, finite); B2 kept its
    L2-norm setting; exp/RESULTS.md has one 6-column row per method and the CM's row."""
    for p in ("dev", "eval"):
        pairs = [t.split()[:2] for t in _lines(os.path.join(d, "data", f"sasv_{p}", "trials"))]
        for m in METHODS:
            rows = [line.split() for line in _lines(os.path.join(d, "exp", "sasv", sys, "scores", f"{p}.{m}"))]
            assert all(len(row) == 3 for row in rows) and [row[:2] for row in rows] == pairs, (sys, p, m)
            assert np.isfinite([float(row[2]) for row in rows]).all(), (sys, p, m)
    assert os.path.isfile(os.path.join(d, "exp", f"b2_{sys}_l2norm", "models", "model.pt"))
    with open(os.path.join(d, "exp", f"b2_{sys}_l2norm", "config.yaml")) as f:
        assert yaml.safe_load(f)["model"]["l2norm"] is True
    for p in ("dev", "eval"):
        with open(os.path.join(d, "exp", "sasv", f"cm_{p}.json")) as f:
            res = json.load(f)
        assert 0 <= res["cm_eer"] <= 100 and "min_tdcf" in res
    table = _lines(os.path.join(d, "exp", "RESULTS.md"))
    rows = [line for line in table if line.startswith(f"| {sys}:")]
    assert len(rows) == len(METHODS) and all(len(row.split("|")) == 9 for row in rows)
    assert any(line.startswith(f"| {cm_name} |") for line in table)


def _stamps(paths: list[str]) -> dict[str, float]:
    return {p: os.path.getmtime(p) for p in paths}


@pytest.mark.slow
def test_sasv_mini_end_to_end(mini_run, tmp_path):
    mini, r = mini_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    d = str(tmp_path / "sasv")
    _recipe_copy(d)
    systems = [f"tiny_{SYSTEMS[0]}"]
    opts = ["--mini-dir", mini, "--asv-systems", f"{systems[0]}:fbank40", "--nj", "1",
            "--cm-config", "conf/tiny_aasist.yaml", "--b2-config", "conf/tiny_b2.yaml", "--train-threads", "1"]
    r = run_recipe(d, *opts)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    assert _lines(os.path.join(d, "data", "sasv_dev", "trials")) == _lines(os.path.join(mini, "data", "sasv_dev",
                                                                                       "trials"))
    for p in ("dev", "eval"):
        enroll = set(_lines(os.path.join(d, "data", f"sasv_{p}_enroll", "spk2utt")))
        assert {line.split()[0] for line in enroll} == \
            {line.split()[0] for line in _lines(os.path.join(d, "data", f"sasv_{p}", "trials"))}
    cm = os.path.join(d, "exp", "tiny_aasist")
    assert sorted(os.listdir(os.path.join(cm, "models"))) == ["best.pt", "epoch_1.pt"]
    for s in ("spoof_train", "spoof_dev", "spoof_eval"):
        n = len(_lines(os.path.join(d, "data", s, "wav.scp")))
        assert len(_lines(os.path.join(cm, "scores", s))) == n
        assert len(_lines(os.path.join(cm, "scores", f"{s}.logit_diff"))) == n
        assert len(_lines(os.path.join(cm, "embeddings", s, "xvector.scp"))) == n
    for sys in systems:
        _check_systems(d, sys, "tiny_aasist")

    # A rerun of stages 0-1 and 5 reuses the data, the features, the embeddings and the CM scores (stage 3
    # is left out: it is train_cm's own resume, which test_bin_train_cm checks, and a torch start-up here).
    keep = [os.path.join(cm, "scores", "spoof_eval"), os.path.join(cm, "scores", "spoof_eval.logit_diff"),
            os.path.join(d, "exp", f"asv_{systems[0]}", "embeddings", "spoof_eval", "xvector.scp"),
            os.path.join(d, "data", "fbank40", "spoof_dev", "feats.scp"), os.path.join(d, "data", ".prepared")]
    stamps = _stamps(keep)
    for stages in (("--stop-stage", "1"), ("--stage", "5", "--stop-stage", "5")):
        r = run_recipe(d, *stages, *opts)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == _stamps(keep)


@pytest.mark.extended   # ~3 min on 2 cores (25 python/torch starts); the mini mode covers the shared stages in CI
def test_sasv_la_fake_tree(mini_run, tmp_path, capsys, monkeypatch):
    """LA mode: local/asvspoof2019 prep of the fake tree, the tiny ASV system, the official AASIST-L weights
    (scores and 160-d embeddings; no training), B2, the fusions, CM metrics (eval min t-DCF on the organisers'
    ASV scores, as the official evaluation) and exp/RESULTS.md; a rerun of stages 0-5 skips finished work."""
    la = make_fake_la(tmp_path / "corpus")
    conf, pth = PRETRAINED / "AASIST-L.conf", PRETRAINED / "AASIST-L.pth"
    if not pth.is_file():
        pytest.skip(f"official AASIST-L weights not present at {pth}")
    mini, r = mini_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    d = str(tmp_path / "sasv")
    _recipe_copy(d)
    sys = f"tiny_{SYSTEMS[0]}"
    opts = ["--la-root", la.root, "--asv-dir", mini, "--asv-systems", f"{sys}:fbank40", "--nj", "1",
            "--cm-pretrained", PRETRAINED, "--cm-name", "AASIST-L", "--b2-config", "conf/tiny_b2.yaml"]
    r = run_recipe(d, *opts)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    # the data dirs hold what the fake protocols list, with speaker-prefixed ids
    data = os.path.join(d, "data")
    for p, lines in la.cm.items():
        want = {f"{f[0]}-{f[1]}": "bonafide" if f[3] == "-" else f[3] for f in map(str.split, lines)}
        assert read_kv(os.path.join(data, f"spoof_{p}", "utt2attack")) == want
    for p in ("dev", "eval"):
        trials = [t.split() for t in _lines(os.path.join(data, f"sasv_{p}", "trials"))]
        assert [(t[0], t[1].split("-", 1)[1], t[2]) for t in trials] == \
            [(f[0], f[1], f[3]) for f in map(str.split, la.trials[p])]
        enroll = {line.split()[0]: len(line.split()) - 1
                  for line in _lines(os.path.join(data, f"sasv_{p}_enroll", "spk2utt"))}
        assert enroll == {s: len(files) for s, files in la.enroll[p].items()}

    # CM: no training; scores, logit differences and 160-d embeddings of every utterance
    monkeypatch.chdir(d)   # the recipe's scp files name recipe-relative arks
    cm = os.path.join(d, "exp", "AASIST-L")
    assert not os.path.exists(os.path.join(cm, "models"))
    for s in ("spoof_train", "spoof_dev", "spoof_eval"):
        utts = list(read_kv(os.path.join(data, s, "wav.scp")))
        for f in (s, f"{s}.logit_diff"):
            assert [line.split()[0] for line in _lines(os.path.join(cm, "scores", f))] == utts
        keys, emb = load_embeddings(os.path.join(cm, "embeddings", s, "xvector.scp"))
        assert keys == utts and emb.shape == (len(utts), 160)
    # ... from the official weights: pytorch.bin.score_cm run directly on one eval file gives the same score and
    # embedding (to float rounding: the recipe scores in batches)
    utt, wav = next(iter(read_kv(os.path.join(data, "spoof_eval", "wav.scp")).items()))
    (tmp_path / "one_wav.scp").write_text(f"{utt} {wav}\n")
    assert score_cm.main(["--model-conf", str(conf), "--checkpoint", str(pth), "--wav-scp",
                          str(tmp_path / "one_wav.scp"), "--out", str(tmp_path / "one.score"),
                          "--embeddings", str(tmp_path / "one_emb.ark")]) == 0
    one = read_kv(tmp_path / "one.score")
    assert list(one) == [utt]
    assert float(one[utt]) == pytest.approx(float(read_kv(os.path.join(cm, "scores", "spoof_eval"))[utt]), abs=1e-4)
    keys, emb = load_embeddings(os.path.join(cm, "embeddings", "spoof_eval", "xvector.scp"))
    np.testing.assert_allclose(load_embeddings(str(tmp_path / "one_emb.scp"))[1][0], emb[keys.index(utt)], atol=1e-4)

    _check_systems(d, sys, "AASIST-L")
    # eval min t-DCF: the organisers' ASV scores of the kept eval trials, as cm_metrics computes it directly
    capsys.readouterr()
    assert cm_metrics.main(["--scores", os.path.join(cm, "scores", "spoof_eval"), "--utt2attack",
                            os.path.join(data, "spoof_eval", "utt2attack"), "--asv-scores",
                            str(la.root / "ASVspoof2019_LA_asv_scores" / LA_ASV_SCORES), "--json", "true"]) == 0
    with open(os.path.join(d, "exp", "sasv", "cm_eval.json")) as f:
        assert json.load(f) == json.loads(capsys.readouterr().out)

    # a rerun of stages 0-5 (prep, features, the pretrained CM, embeddings, CM scores) redoes nothing
    keep = [os.path.join(data, ".prepared"), os.path.join(data, "fbank40", "sasv_eval_enroll", "feats.scp"),
            os.path.join(d, "exp", f"asv_{sys}", "embeddings", "spoof_train", "xvector.scp"),
            os.path.join(cm, "scores", "spoof_dev"), os.path.join(cm, "embeddings", "spoof_dev", "xvector.scp")]
    stamps = _stamps(keep)
    r = run_recipe(d, "--stop-stage", "5", *opts)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == _stamps(keep)


def test_sasv_help_lists_stages(tmp_path):
    d = str(tmp_path / "sasv")
    _recipe_copy(d)
    r = run_recipe(d, "--help")
    assert r.returncode == 0
    for n in (0, 1, 3, 5, 6, 7, 8, 9):
        assert f"  {n}  " in r.stdout + r.stderr
