"""egs/mini on a tiny corpus: stages 0-1 (data dirs, the MFCC-statistics baseline, fbank), then 2-9 with
one-epoch configs (training, export, extraction, back-ends, scoring, fusion, results); reruns reuse."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MINI = os.path.join(ROOT, "egs", "mini")
TINY = ["--nj", "1", "--num-train-spk", "4", "--num-eval-spk", "4", "--utts-per-spk", "3",
        "--gen-opts", "--num-mix-train 2 --num-mix-test 2 --augsets false --min-dur 1 --max-dur 1.5 "
                      "--enroll-utts 2 --test-utts 3 --spoof-per-attack 1"]


def _recipe_copy(dst: str) -> None:
    """The recipe as a user has it (symlinks to the repo), in a scratch dir so egs/mini stays clean."""
    os.makedirs(dst)
    for f in ("run.sh", "cmd.sh"):
        shutil.copy(os.path.join(MINI, f), dst)
    shutil.copytree(os.path.join(MINI, "conf"), os.path.join(dst, "conf"))
    for name, target in (("utils", "utils"), ("path.sh", "path.sh"), ("local", "local/synthetic")):
        os.symlink(os.path.join(ROOT, target), os.path.join(dst, name))


def _run(cwd: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    return subprocess.run(["bash", "run.sh", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _lines(path: str) -> list[str]:
    with open(path) as f:
        return f.read().splitlines()


@pytest.mark.slow
def test_mini_stage0_1(tmp_path):
    d = str(tmp_path / "mini")
    _recipe_copy(d)
    r = _run(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for s, n in (("train", 12), ("enroll", 8), ("test", 12)):
        for feats in (os.path.join(d, "data", s), os.path.join(d, "data", "fbank40", s)):
            assert len(_lines(os.path.join(feats, "feats.scp"))) == n
            assert len(_lines(os.path.join(feats, "utt2num_frames"))) == n
    assert len(_lines(os.path.join(d, "data", "test", "trials"))) == 4 * 12
    for s in ("spoof_train", "spoof_dev", "spoof_eval", "mix_train", "mix_test", "sasv_dev", "sasv_eval"):
        assert os.path.isdir(os.path.join(d, "data", s))
    res = _lines(os.path.join(d, "exp", "baseline_mfcc_stats", "results.tsv"))
    assert len(res) == 2 and res[0].split("\t")[:5] == ["system", "backend", "norm", "trials", "eer"]
    assert 0.0 <= float(res[1].split("\t")[4]) <= 100.0
    assert "stage 0: baseline" in r.stdout

    # A rerun finds everything done: nothing is regenerated or recomputed.
    stamps = {p: os.path.getmtime(os.path.join(d, p))
              for p in ("corpus/.done", "data/.prepared", "data/train/feats.scp", "data/fbank40/test/feats.scp",
                        "exp/baseline_mfcc_stats/results.tsv")}
    r = _run(d, "--stage", "0", "--stop-stage", "1", *TINY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(os.path.join(d, p)) for p in stamps}
    assert "make_fbank" not in r.stdout


def test_mini_help_lists_stages(tmp_path):
    d = str(tmp_path / "mini")
    _recipe_copy(d)
    r = _run(d, "--help")
    assert r.returncode == 0
    for n in range(10):
        assert f"  {n}  " in r.stdout + r.stderr


def _tiny_config(src: str, dst: str) -> None:
    """A mini config shrunk to one base epoch + the large-margin stage on 1-1.5 s utterances of 4 speakers."""
    with open(src) as f:
        cfg = yaml.safe_load(f)
    cfg["data"].update(num_frames=80, min_frames=50)
    cfg["train"].update(epochs=1, batch_size=4, average_last=2,
                        margin_scheduler={"start_epoch": 0, "end_epoch": 1, "initial": 0.0, "type": "linear"})
    cfg["stages"][0]["set"]["data.num_frames"] = 100
    cfg["backend"] = {"chain": ["mean", "lda:3", "lnorm", "plda"], "top_n": 3}
    with open(dst, "w") as f:
        yaml.safe_dump(cfg, f)


@pytest.mark.slow
def test_mini_end_to_end(tmp_path):
    d = str(tmp_path / "mini")
    _recipe_copy(d)
    systems = ("resnet_mini", "ecapa_mini")
    for s in systems:
        _tiny_config(os.path.join(MINI, "conf", f"{s}.yaml"), os.path.join(d, "conf", f"tiny_{s}.yaml"))
    configs = " ".join(f"conf/tiny_{s}.yaml" for s in systems)
    r = _run(d, "--configs", configs, "--fusion", "exp/fusion_tiny", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    for s in (f"tiny_{s}" for s in systems):
        exp = os.path.join(d, "exp", s)
        assert sorted(os.listdir(os.path.join(exp, "models"))) == \
            ["avg.pt", "avg.ts.pt", "epoch_1.pt", "epoch_2.pt"]
        for part, n in (("train", 12), ("enroll", 8), ("test", 12)):
            assert len(_lines(os.path.join(exp, "embeddings", part, "xvector.scp"))) == n
        assert len(_lines(os.path.join(exp, "embeddings", "enroll", "spk_xvector.scp"))) == 4
        for m in ("cosine", "cosine_asnorm", "plda"):
            assert len(_lines(os.path.join(exp, "scores", f"test.{m}"))) == 4 * 12
        rows = [line.split("\t") for line in _lines(os.path.join(exp, "results.tsv"))[1:]]
        assert [(row[0], row[2]) for row in rows] == [(s, "none"), (s, "asnorm3"), (s, "none")]
        with open(os.path.join(exp, "config.yaml")) as f:
            assert yaml.safe_load(f)["meta"]["git_sha"]
    assert len(_lines(os.path.join(d, "exp", "fusion_tiny", "scores", "test.mean_asnorm"))) == 4 * 12
    table = open(os.path.join(d, "exp", "RESULTS.md")).read()
    for name in ("baseline_mfcc_stats", "tiny_resnet_mini", "tiny_ecapa_mini", "fusion_tiny"):
        assert name in table
    for m in ("cosine", "cosine_asnorm", "plda"):
        assert os.path.getsize(os.path.join(d, "exp", f"det_{m}.png")) > 10000

    # A rerun of the neural stages reuses the models and embeddings: nothing is retrained or re-extracted.
    keep = [os.path.join(d, "exp", f"tiny_{s}", p) for s in systems
            for p in ("models/epoch_2.pt", "models/avg.ts.pt", "embeddings/test/xvector.scp")]
    stamps = {p: os.path.getmtime(p) for p in keep}
    r = _run(d, "--stage", "3", "--configs", configs, "--fusion", "exp/fusion_tiny", *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert stamps == {p: os.path.getmtime(p) for p in keep}
