"""The generated MUSAN / RIRS_NOISES trees are read by local/musan and local/rirs prepare_data.sh."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=ROOT,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.run(["bash", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def _ids(path: str) -> list[str]:
    with open(path) as f:
        return [line.split()[0] for line in f]


def test_musan_prepare_reads_the_tree(tiny_corpus, tmp_path):
    r = _run([os.path.join(ROOT, "local/musan/prepare_data.sh"), "--use-vocals", "false",
              os.path.join(tiny_corpus, "musan"), str(tmp_path)])
    assert r.returncode == 0, r.stderr
    assert len(_ids(tmp_path / "musan_noise" / "wav.scp")) == 8
    assert len(_ids(tmp_path / "musan_speech" / "wav.scp")) == 6
    music = _ids(tmp_path / "musan_music" / "wav.scp")
    assert music == ["music-fma-0000", "music-fma-0002", "music-hd-0000", "music-hd-0001"]  # vocals dropped


def test_rirs_prepare_reads_the_tree(tiny_corpus, tmp_path):
    out = tmp_path / "rirs"
    r = _run([os.path.join(ROOT, "local/rirs/prepare_data.sh"), "--sets", "smallroom mediumroom largeroom real",
              os.path.join(tiny_corpus, "RIRS_NOISES"), str(out)])
    assert r.returncode == 0, r.stderr
    ids = _ids(out / "wav.scp")
    assert len(ids) == 3 * 6 + 2
    assert "smallroom-Room001-00001" in ids and "largeroom-Room002-00003" in ids
