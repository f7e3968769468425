"""Shared fixtures of the recipe tests: one tiny egs/mini run per test session (test_mini.py checks it,
test_sasv.py builds egs/sasv's mini mode on it), so the mini recipe runs once per CI."""
from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from tests.recipes.recipe_run import ROOT, recipe_copy, run_recipe

MINI = os.path.join(ROOT, "egs", "mini")
TINY = ["--nj", "1", "--num-train-spk", "4", "--num-eval-spk", "4", "--utts-per-spk", "3",
        "--gen-opts", "--num-mix-train 2 --num-mix-test 2 --augsets false --min-dur 1 --max-dur 1.5 "
                      "--enroll-utts 2 --test-utts 3 --spoof-per-attack 1 --spoof-train-per-attack 1"]


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


SYSTEMS = ("resnet_mini", "ecapa_mini")
CONFIGS = " ".join(f"conf/tiny_{s}.yaml" for s in SYSTEMS)


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory) -> tuple[str, subprocess.CompletedProcess]:
    """One full run of the recipe on the tiny corpus, shared by test_mini.py (end-to-end and failure tests)
    and test_sasv.py."""
    d = str(tmp_path_factory.mktemp("e2e") / "mini")
    recipe_copy("mini", "synthetic", d)
    for s in SYSTEMS:
        _tiny_config(os.path.join(MINI, "conf", f"{s}.yaml"), os.path.join(d, "conf", f"tiny_{s}.yaml"))
    return d, run_recipe(d, "--configs", CONFIGS, "--fusion", "exp/fusion_tiny", *TINY)
