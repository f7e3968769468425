"""egs/sasv in the mini mode on the session's tiny egs/mini run (tests/recipes/conftest.py): data from the
mini run, features and ASV embeddings with one of its systems (the per-system stages are loops: a second
system adds time, not coverage), a one-epoch tiny AASIST, CM scores, logit differences and embeddings,
B2 without and with L2 norm, every score fusion, CM metrics and exp/RESULTS.md; a rerun reuses the
features, the embeddings and the CM scores."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from tests.recipes.conftest import SYSTEMS
from tests.recipes.recipe_run import ROOT, recipe_copy, run_recipe

RECIPE = os.path.join(ROOT, "egs", "sasv")
METHODS = ("asv", "b1", "b1v2", "b2_nonorm", "b2_l2norm", "calibrated", "llr", "cascade")


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

    n_trials = {p: len(_lines(os.path.join(d, "data", f"sasv_{p}", "trials"))) for p in ("dev", "eval")}
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
        for p in ("dev", "eval"):
            for m in METHODS:
                rows = [line.split() for line in _lines(os.path.join(d, "exp", "sasv", sys, "scores", f"{p}.{m}"))]
                assert len(rows) == n_trials[p] and all(len(row) == 3 for row in rows), (sys, p, m)
        assert os.path.isfile(os.path.join(d, "exp", f"b2_{sys}_l2norm", "models", "model.pt"))
        with open(os.path.join(d, "exp", f"b2_{sys}_l2norm", "config.yaml")) as f:
            assert yaml.safe_load(f)["model"]["l2norm"] is True
    for p in ("dev", "eval"):
        with open(os.path.join(d, "exp", "sasv", f"cm_{p}.json")) as f:
            res = json.load(f)
        assert 0 <= res["cm_eer"] <= 100 and "min_tdcf" in res
    table = _lines(os.path.join(d, "exp", "RESULTS.md"))
    rows = [line for line in table if line.startswith(f"| {systems[0]}:")]
    assert len(rows) == len(METHODS) and all(len(row.split("|")) == 9 for row in rows)
    assert any(line.startswith("| tiny_aasist |") for line in table)

    # A rerun of stages 0-1 and 5 reuses the data, the features, the embeddings and the CM scores (stage 3
    # is left out: it is train_cm's own resume, which test_bin_train_cm checks, and a torch start-up here).
    keep = [os.path.join(cm, "scores", "spoof_eval"), os.path.join(cm, "scores", "spoof_eval.logit_diff"),
            os.path.join(d, "exp", f"asv_{systems[0]}", "embeddings", "spoof_eval", "xvector.scp"),
            os.path.join(d, "data", "fbank40", "spoof_dev", "feats.scp"), os.path.join(d, "data", ".prepared")]
    stamps = {p: os.path.getmtime(p) for p in keep}
    for stages in (("--stop-stage", "1"), ("--stage", "5", "--stop-stage", "5")):
        r = run_recipe(d, *stages, *opts)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(p) for p in keep}


def test_sasv_help_lists_stages(tmp_path):
    d = str(tmp_path / "sasv")
    _recipe_copy(d)
    r = run_recipe(d, "--help")
    assert r.returncode == 0
    for n in (0, 1, 3, 5, 6, 7, 8, 9):
        assert f"  {n}  " in r.stdout + r.stderr
