"""Running a recipe as a user has it, in a scratch dir: the recipe's run.sh, cmd.sh and conf/ copied (conf
symlinks followed), utils and path.sh linked to the repo, local to local/<corpus>. The one copy/run helper
of every recipe test (conftest.py's shared egs/mini run uses it too)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def recipe_copy(recipe: str, corpus: str, dst: str | Path) -> Path:
    """egs/<recipe> as a user has it, in a scratch dir `dst` (so egs/ stays clean)."""
    src, dst = ROOT / "egs" / recipe, Path(dst)
    dst.mkdir(parents=True)
    for f in ("run.sh", "cmd.sh"):
        shutil.copy(src / f, dst)
    shutil.copytree(src / "conf", dst / "conf")
    for name, target in (("utils", "utils"), ("path.sh", "path.sh"), ("local", f"local/{corpus}")):
        os.symlink(ROOT / target, dst / name)
    return dst


def run_recipe(cwd: str | Path, *args: str, shim: str | None = None, fail: str = "",
               bindir: str | Path | None = None) -> subprocess.CompletedProcess:
    """Runs run.sh with the test's python first on PATH and one thread per job. With a `shim` dir (a `python`
    wrapper, see test_mini._python_shim) first on PATH, every python command line that matches the regex
    `fail` dies as a killed job would. `bindir` goes on PATH too (e.g. fake_corpora.write_ffmpeg_shim's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=os.path.dirname(sys.executable) + os.pathsep + env["PATH"], OMP_NUM_THREADS="1")
    if bindir:
        env["PATH"] = str(bindir) + os.pathsep + env["PATH"]
    if shim:  # path.sh activates the venv only when none is active; it must not go before the shim
        env.update(PATH=shim + os.pathsep + env["PATH"], VIRTUAL_ENV=sys.prefix, FAIL_MATCH=fail)
    return subprocess.run(["bash", "run.sh", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)


def tiny_config(src: Path, dst: Path, model: dict, **data) -> None:
    """A recipe config shrunk to a tiny model, one base epoch + the large-margin stage on 1 s chunks, no
    waveform augmentation, a 3-dim LDA before PLDA and a 3-speaker AS-Norm cohort."""
    cfg = yaml.safe_load(src.read_text())
    cfg["model"] = model
    cfg["data"].update(num_frames=80, min_frames=50, **data)
    cfg["augment"] = {"specaug": {"prob": 0.0}}
    cfg["train"].update(epochs=1, batch_size=4, num_workers=0, average_last=2, amp="none",
                        margin_scheduler={"start_epoch": 0, "end_epoch": 1, "initial": 0.0, "type": "linear"})
    cfg["stages"] = [{"name": "lm", "epochs": 1, "set": {"loss.margin": 0.3, "data.num_frames": 100}}]
    cfg["backend"] = {"chain": ["mean", "lnorm"], "plda_chain": ["mean", "lda:3", "lnorm", "plda"], "top_n": 3}
    dst.write_text(yaml.safe_dump(cfg))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()
