"""local/librispeech/prepare_data.sh on a fake tree in the real LibriSpeech layout:
<root>/SPEAKERS.TXT and <subset>/<spk>/<chapter>/{<spk>-<chapter>-<utt>.flac, <spk>-<chapter>.trans.txt}."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from common.io import read_kv

ROOT = Path(__file__).resolve().parents[2]
PREP = ROOT / "local" / "librispeech" / "prepare_data.sh"
RATE = 16000
SPEAKERS = """; LibriSpeech speakers (fake)
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
103  | F | train-clean-100  | 25.23 | Karen Savage
911  | M | train-other-500  | 30.00 | Someone Else
"""
TREE = {("19", "198"): 3, ("19", "227"): 2, ("103", "1240"): 2}


def _tree(root: Path) -> Path:
    sub = root / "LibriSpeech" / "train-clean-100"
    (root / "LibriSpeech").mkdir(parents=True)
    (root / "LibriSpeech" / "SPEAKERS.TXT").write_text(SPEAKERS)
    rng = np.random.default_rng(0)
    for (spk, chap), n in TREE.items():
        d = sub / spk / chap
        d.mkdir(parents=True)
        lines = []
        for k in range(n):
            utt = f"{spk}-{chap}-{k:04d}"
            sf.write(d / f"{utt}.flac", (0.1 * rng.standard_normal(RATE // 4)).astype(np.float32), RATE)
            lines.append(f"{utt} WORDS OF {utt}\n")
        (d / f"{spk}-{chap}.trans.txt").write_text("".join(lines))
    return sub


def _run(*args):
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{ROOT / 'utils'}:{Path(sys.executable).parent}:{env['PATH']}"
    return subprocess.run(["bash", str(PREP), *map(str, args)], env=env, capture_output=True, text=True)


def test_prepares_the_subset(tmp_path):
    sub = _tree(tmp_path)
    r = _run(sub, tmp_path / "data" / "train")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "data" / "train"
    u2s = read_kv(d / "utt2spk")
    assert len(u2s) == 7 and set(u2s.values()) == {"19", "103"}
    assert u2s["103-1240-0001"] == "103"
    wav = read_kv(d / "wav.scp")
    assert wav["19-227-0001"] == str(sub / "19" / "227" / "19-227-0001.flac")
    assert sf.info(wav["19-198-0000"]).samplerate == RATE
    assert read_kv(d / "text")["19-198-0002"] == "WORDS OF 19-198-0002"
    assert read_kv(d / "spk2gender") == {"103": "f", "19": "f"}
    assert (d / "spk2utt").read_text().splitlines()[0].startswith("103 103-1240-0000 103-1240-0001")
    assert not list((tmp_path / "data").glob(".*tmp"))


def test_errors_name_the_file(tmp_path):
    sub = _tree(tmp_path)
    bad = sub / "19" / "198" / "19-999-0000.flac"
    sf.write(bad, np.zeros(100, dtype=np.float32), RATE)
    r = _run(sub, tmp_path / "data" / "x")
    assert r.returncode != 0 and str(bad) in r.stderr and not (tmp_path / "data" / "x").exists()
    bad.unlink()
    trans = sub / "103" / "1240" / "103-1240.trans.txt"
    trans.write_text(trans.read_text().splitlines()[0] + "\n")
    r = _run(sub, tmp_path / "data" / "x")
    assert r.returncode != 0 and "103-1240-0001" in r.stderr
    r = _run(tmp_path / "nowhere", tmp_path / "data" / "x")
    assert r.returncode != 0 and "no such directory" in r.stderr
