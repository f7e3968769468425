"""egs/mini on a tiny corpus: stages 0-1 (data dirs, the MFCC-statistics baseline, fbank), then 2-9 with
one-epoch configs (training, export, extraction, back-ends, scoring, fusion, results); reruns reuse."""
from __future__ import annotations

import os
import sys

import pytest
import yaml

from tests.recipes.conftest import CONFIGS, SYSTEMS, TINY
from tests.recipes.recipe_run import recipe_copy, run_recipe


def _python_shim(d: str) -> str:
    os.makedirs(d)
    with open(os.path.join(d, "python"), "w") as f:
        f.write(f"""#!/usr/bin/env bash
if [ -n "${{FAIL_MATCH:-}}" ] && [[ "$*" =~ $FAIL_MATCH ]]; then
  echo "$*" >> "$(dirname "$0")/killed"; kill -9 $$
fi
exec {sys.executable} "$@"
""")
    os.chmod(os.path.join(d, "python"), 0o755)
    return d


def _lines(path: str) -> list[str]:
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.slow
@pytest.mark.extended  # stages 0-1 also run in the shared mini_run fixture; left out of CI for time
def test_mini_stage0_1(tmp_path):
    d = str(tmp_path / "mini")
    recipe_copy("mini", "synthetic", d)
    r = run_recipe(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for s, n in (("train", 12), ("enroll", 8), ("test", 12), ("test_corrupt", 12)):
        for feats in (os.path.join(d, "data", s), os.path.join(d, "data", "fbank40", s)):
            assert len(_lines(os.path.join(feats, "feats.scp"))) == n
            assert len(_lines(os.path.join(feats, "utt2num_frames"))) == n
    assert len(_lines(os.path.join(d, "data", "test", "trials"))) == 4 * 12
    for s in ("spoof_train", "spoof_dev", "spoof_eval", "mix_train", "mix_test", "sasv_dev", "sasv_eval"):
        assert os.path.isdir(os.path.join(d, "data", s))
    for exp, trials in (("baseline_mfcc_stats", "test"), ("baseline_mfcc_stats_corrupt", "test_corrupt")):
        res = _lines(os.path.join(d, "exp", exp, "results.tsv"))
        assert len(res) == 2 and res[0].split("\t")[:5] == ["system", "backend", "norm", "trials", "eer"]
        assert res[1].split("\t")[0] == "baseline_mfcc_stats" and res[1].split("\t")[3] == trials
        assert 0.0 <= float(res[1].split("\t")[4]) <= 100.0
        assert len(_lines(os.path.join(d, "exp", exp, "scores", f"{trials}.cos"))) == 4 * 12
    assert "stage 0: baseline" in r.stdout

    # A rerun finds everything done: nothing is regenerated or recomputed.
    stamps = {p: os.path.getmtime(os.path.join(d, p))
              for p in ("corpus/.done", "data/.prepared", "data/train/feats.scp", "data/fbank40/test/feats.scp",
                        "exp/baseline_mfcc_stats/results.tsv", "exp/baseline_mfcc_stats_corrupt/results.tsv")}
    r = run_recipe(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(os.path.join(d, p)) for p in stamps}
    assert "make_fbank" not in r.stdout


def test_mini_help_lists_stages(tmp_path):
    d = str(tmp_path / "mini")
    recipe_copy("mini", "synthetic", d)
    r = run_recipe(d, "--help")
    assert r.returncode == 0
    for n in range(10):
        assert f"  {n}  " in r.stdout + r.stderr


@pytest.mark.slow
def test_mini_end_to_end(mini_run):
    d, r = mini_run
    systems, configs = SYSTEMS, CONFIGS
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    for s in (f"tiny_{s}" for s in systems):
        exp = os.path.join(d, "exp", s)
        assert sorted(os.listdir(os.path.join(exp, "models"))) == \
            ["avg.pt", "avg.ts.pt", "epoch_1.pt", "epoch_2.pt"]
        for part, n in (("train", 12), ("enroll", 8), ("test", 12), ("test_corrupt", 12)):
            assert len(_lines(os.path.join(exp, "embeddings", part, "xvector.scp"))) == n
        assert len(_lines(os.path.join(exp, "embeddings", "enroll", "spk_xvector.scp"))) == 4
        for t in ("test", "test_corrupt"):
            for m in ("cosine", "cosine_asnorm", "plda", "plda_asnorm"):
                assert len(_lines(os.path.join(exp, "scores", f"{t}.{m}"))) == 4 * 12
        rows = [line.split("\t") for line in _lines(os.path.join(exp, "results.tsv"))[1:]]
        assert [(row[0], row[2], row[3]) for row in rows] == [
            (s, n, t) for t in ("test", "test_corrupt") for n in ("none", "asnorm3", "none", "asnorm3")]
        with open(os.path.join(exp, "config.yaml")) as f:
            assert yaml.safe_load(f)["meta"]["git_sha"]
    for t in ("test", "test_corrupt"):
        assert len(_lines(os.path.join(d, "exp", "fusion_tiny", "scores", f"{t}.mean_asnorm"))) == 4 * 12
    with open(os.path.join(d, "exp", "RESULTS.md")) as f:
        table = f.read()
    for name in ("baseline_mfcc_stats", "tiny_resnet_mini", "tiny_ecapa_mini", "fusion_tiny"):
        assert name in table
    # the baseline's clean and corrupted runs share one row, with a cell in each trials column
    baseline = [ln for ln in table.splitlines() if ln.startswith("| baseline_mfcc_stats ")]
    assert len(baseline) == 1 and "%" in baseline[0].split("|")[-2], table
    for t in ("test", "test_corrupt"):
        for m in ("cosine", "cosine_asnorm", "plda", "plda_asnorm"):
            assert os.path.getsize(os.path.join(d, "exp", f"det_{t}_{m}.png")) > 10000

    # A rerun of the neural stages reuses the models and embeddings: nothing is retrained or re-extracted.
    keep = [os.path.join(d, "exp", f"tiny_{s}", p) for s in systems
            for p in ("models/epoch_2.pt", "models/avg.ts.pt", "embeddings/test/xvector.scp")]
    stamps = {p: os.path.getmtime(p) for p in keep}
    # (stages 6-9 always recompute; the failure cases below run them again)
    r = run_recipe(d, "--stage", "3", "--stop-stage", "5", "--configs", configs, "--fusion", "exp/fusion_tiny", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(p) for p in keep}


def _mtimes(d: str) -> dict[str, float]:
    """Every file under data/, exp/, the feature dirs (not corpus/, not logs), by path."""
    out = {}
    for top in ("data", "exp", "fbank", "fbank40", "mfcc"):
        for root, _, files in os.walk(os.path.join(d, top)):
            if "/log" not in root and "/split" not in root:
                out.update({os.path.join(root, f): os.path.getmtime(os.path.join(root, f)) for f in files})
    return out


# stage, the python command line to kill (regex), what to remove first so the stage has work to do,
# the outputs that must be absent after the failure (done markers) and present after the rerun.
# CI time: the two stage-0 cases (they redo the data prep and the MFCC baseline, about 2 minutes), and 5, 7
# and 9 (the same marker mechanism as 1, 6 and 8), run with `pytest -m extended`.
_SLOW = pytest.mark.extended
FAILURES = [
    pytest.param(0, r"local\.synthetic\.datadirs", ["data/.prepared"], ["data/.prepared"], marks=_SLOW, id="0-prep"),
    pytest.param(0, r"stats_embedding.*test_mfcc", ["exp/baseline_mfcc_stats/results.tsv"],
                 ["exp/baseline_mfcc_stats/results.tsv", "exp/baseline_mfcc_stats/metrics.txt"], marks=_SLOW,
                 id="0-baseline"),
    pytest.param(1, r"compute_feats.*fbank40/test", ["data/fbank40/test/feats.scp"],
                 ["data/fbank40/test/feats.scp", "data/fbank40/test/utt2num_frames"], id="1-fbank"),
    pytest.param(3, r"pytorch\.bin\.train.*tiny_ecapa", ["exp/tiny_ecapa_mini/models/epoch_2.pt"],
                 ["exp/tiny_ecapa_mini/models/epoch_2.pt"], id="3-train"),
    pytest.param(4, r"pytorch\.bin\.export.*tiny_resnet", ["exp/tiny_resnet_mini/models/avg.ts.pt"],
                 ["exp/tiny_resnet_mini/models/avg.ts.pt"], id="4-export"),
    pytest.param(5, r"pytorch\.bin\.extract .*enroll", ["exp/tiny_resnet_mini/embeddings/enroll/xvector.scp"],
                 ["exp/tiny_resnet_mini/embeddings/enroll/xvector.scp",
                  "exp/tiny_resnet_mini/embeddings/enroll/spk_xvector.scp"], marks=_SLOW, id="5-extract"),
    pytest.param(6, r"train_backend.*tiny_ecapa_mini/backend/plda", [], [], id="6-backend"),
    pytest.param(7, r"score\.bin\.norm.*tiny_ecapa", [], ["exp/tiny_ecapa_mini/results.tsv"], marks=_SLOW,
                 id="7-score"),
    pytest.param(8, r"score\.bin\.fuse", [], ["exp/fusion_tiny/results.tsv"], id="8-fuse"),
    pytest.param(9, r"plot_det.*plda", [], ["exp/RESULTS.md"], marks=_SLOW, id="9-results"),
]
# The stages whose rerun starts at stage 0, to show that the skip checks of every earlier stage hold: one
# case is enough for CI (each from-0 rerun pays every earlier stage's checks); the others rerun their stage.
_FROM_ZERO = (0, 3)


@pytest.mark.slow
@pytest.mark.parametrize("stage,fail,remove,markers", FAILURES)
def test_mini_failed_stage_is_redone_alone(mini_run, tmp_path, stage, fail, remove, markers):
    """A stage killed once leaves no done marker, and the rerun redoes that stage and nothing before it.
    Stages 0-5 skip finished work, so a rerun from stage 0 (stage 3's case) redoes only the killed stage;
    6-9 always recompute. (Stage 2 has nothing to do on the tiny corpus, generated without augsets.)
    Every case starts from, and ends in, the complete run of the shared fixture."""
    d, r = mini_run
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    shim = _python_shim(str(tmp_path / "shim"))
    opts = ["--configs", CONFIGS, "--fusion", "exp/fusion_tiny", *TINY]
    for p in remove:
        os.remove(os.path.join(d, p))
    r = run_recipe(d, "--stage", str(stage), "--stop-stage", str(stage), *opts, shim=shim, fail=fail)
    assert r.returncode != 0 and os.path.exists(os.path.join(shim, "killed")), (stage, fail, r.stdout[-2000:])
    assert not [p for p in markers if os.path.exists(os.path.join(d, p))], (stage, fail)
    before = _mtimes(d)
    first = 0 if stage in _FROM_ZERO else stage
    r = run_recipe(d, "--stage", str(first), "--stop-stage", str(stage), *opts, shim=shim)
    assert r.returncode == 0, (stage, r.stdout[-3000:] + r.stderr[-3000:])
    after = _mtimes(d)
    assert all(os.path.exists(os.path.join(d, p)) for p in markers), stage
    redone = {p for p in after if before.get(p) != after[p]}
    assert redone, stage
    # Nothing an earlier stage made was touched (data/ belongs to stages 0-2, features to 1).
    earlier = {0: [], 1: ["/data/.prepared", "/exp/baseline_mfcc_stats/"],
               3: ["/data/", "/fbank", "/mfcc/", "/exp/baseline"], 4: ["/models/epoch_", "/data/"],
               5: ["/models/", "/data/"], 6: ["/embeddings/", "/models/"], 7: ["/backend/", "/embeddings/"],
               8: ["/mini/exp/tiny_", "/embeddings/"], 9: ["/scores/", "/results.tsv"]}[stage]
    assert not [p for p in redone if any(e in p for e in earlier)], (stage, sorted(redone)[:10])
