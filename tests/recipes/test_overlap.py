"""egs/overlap on a tiny generated corpus, end to end: source dirs and the held-out split, fixed mixture
lists with the protocol's trials, one-epoch MIRNet and baseline trainings, extraction (two embeddings
per mixture for MIRNet), protocol scoring, PCA plots and exp/RESULTS.md; a rerun reuses the work."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPE = os.path.join(ROOT, "egs", "overlap")
TINY = ["--nj", "1", "--num-train-spk", "6", "--num-eval-spk", "4", "--utts-per-spk", "4",
        "--gen-opts", "--num-mix-train 0 --num-mix-test 0 --augsets false --min-dur 1 --max-dur 1.5 "
                      "--enroll-utts 1 --test-utts 3 --spoof-per-attack 1",
        "--triplets", "6", "--seg-dur", "1.0"]


def _recipe_copy(dst: str) -> None:
    """The recipe as a user has it (symlinks to the repo), with one-epoch tiny configs."""
    os.makedirs(dst)
    for f in ("run.sh", "cmd.sh"):
        shutil.copy(os.path.join(RECIPE, f), dst)
    shutil.copytree(os.path.join(RECIPE, "conf"), os.path.join(dst, "conf"))
    for name, target in (("utils", "utils"), ("path.sh", "path.sh"), ("local", "local/overlap")):
        os.symlink(os.path.join(ROOT, target), os.path.join(dst, name))
    for conf in ("mirnet_mini.yaml", "resnet_tap_mini.yaml"):
        path = os.path.join(dst, "conf", conf)
        with open(path) as f:
            cfg = yaml.safe_load(f)
        cfg["data"]["num_frames"] = 100
        cfg["model"].update(base_channels=4, embed_dim=16)
        if "encoder_channels" in cfg["model"]:
            cfg["model"]["encoder_channels"] = [16, 16, 16, 16, 32]
        cfg["train"].update(epochs=1, batch_size=4, average_last=1)
        with open(path, "w") as f:
            yaml.safe_dump(cfg, f)


def _run(cwd: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(["bash", "run.sh", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _lines(path: str) -> list[list[str]]:
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


@pytest.mark.slow
def test_overlap_recipe_end_to_end(tmp_path, monkeypatch):
    d = str(tmp_path / "overlap")
    _recipe_copy(d)
    r = _run(d, *TINY)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    # seen speakers: held-out utterances of training speakers, never trained on
    train = {u for u, _ in _lines(f"{d}/data/train/utt2spk")}
    seen = dict(_lines(f"{d}/data/seen_src/utt2spk"))
    assert not train & set(seen) and set(seen.values()) <= {s for _, s in _lines(f"{d}/data/train/utt2spk")}
    for name in ("seen", "unseen"):
        mix = f"{d}/data/mix_{name}"
        trials = _lines(f"{mix}/trials")
        assert len(trials) == 12 and sum(t[2] == "target" for t in trials) == 6
        spks = {r[0]: r[1:] for r in _lines(f"{mix}/utt2spks")}
        for anchor, other, label in trials:   # positives share exactly the anchor's first speaker
            shared = set(spks[anchor]) & set(spks[other])
            assert shared == ({spks[anchor][0]} if label == "target" else set())
        assert all(len(r) == 3 and os.path.isfile(r[1]) for r in _lines(f"{mix}/utt2sources"))

    from common.embeddings import load_embeddings
    monkeypatch.chdir(d)    # the scp points into the job arks by paths relative to the recipe
    _, mir = load_embeddings(f"{d}/exp/mirnet_mini/embeddings/mix_seen/xvector.scp")
    _, base = load_embeddings(f"{d}/exp/resnet_tap_mini/embeddings/mix_seen/xvector.scp")
    assert mir.shape == (18, 32) and base.shape == (18, 16)       # two 16-dim embeddings per mixture
    assert np.isfinite(mir).all()
    for sys_ in ("mirnet_mini", "resnet_tap_mini"):
        rows = _lines(f"{d}/exp/{sys_}/results.tsv")
        assert [r[3] for r in rows[1:]] == ["seen", "unseen"]
        assert os.path.getsize(f"{d}/exp/{sys_}/pca_mix_unseen.png") > 1000
    table = open(f"{d}/exp/RESULTS.md").read()
    assert "mirnet_mini" in table and "resnet_tap_mini" in table

    # a rerun reuses every finished step
    r = _run(d, *TINY, "--stage", "2", "--stop-stage", "4")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "training exp" in r.stdout and "data/mix_{seen,unseen}" in r.stdout
