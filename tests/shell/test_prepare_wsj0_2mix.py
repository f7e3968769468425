"""local/wsj0_2mix/prepare_data.sh on a fake tree with the real WSJ0-2mix layout
(2speakers/wav{8k,16k}/{min,max}/{tr,cv,tt}/{mix,s1,s2}/<utt1>_<gain1>_<utt2>_<gain2>.wav)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.errors import FormatError
from common.io import read_kv
from local.wsj0_2mix.prepare import parse_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "local" / "wsj0_2mix" / "prepare_data.sh"
NAMES = {"tt": ["01aa010b_0.97482_209a010p_-0.97482", "050a050a_2.1_440c020f_-2.1"],
         "cv": ["011c0201_1.5_20ea0102_-1.5"]}


def _run(*args, check=True):
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(ROOT))
    env["PATH"] = f"{ROOT / 'utils'}:{Path(sys.executable).parent}:{env['PATH']}"
    p = subprocess.run(["bash", str(SCRIPT), *map(str, args)], env=env, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def _tree(root: Path, rate: str = "16k", names: dict[str, list[str]] = NAMES) -> Path:
    rng = np.random.default_rng(0)
    for s, ns in names.items():
        for n, name in enumerate(ns):
            d = root / "2speakers" / f"wav{rate}" / "min" / s
            src = [0.1 * rng.standard_normal(8000 + 800 * n) for _ in range(2)]
            for sub, x in (("s1", src[0]), ("s2", src[1]), ("mix", src[0] + src[1])):
                (d / sub).mkdir(parents=True, exist_ok=True)
                sf.write(d / sub / f"{name}.wav", x, 16000 if rate == "16k" else 8000, subtype="PCM_16")
    return root


def test_parse_name():
    m = parse_name("01aa010b_0.97482_209a010p_-0.97482", "x")
    assert (m.spk1, m.spk2, m.gain1, m.gain2) == ("01a", "209", 0.97482, -0.97482)
    with pytest.raises(FormatError, match="not a WSJ0-2mix name"):
        parse_name("01aa010b_209a010p", "x")


def test_prepare_writes_the_mixture_format(tmp_path):
    root = _tree(tmp_path / "wsj0-2mix")
    p = _run(root, tmp_path / "data")
    assert "wsj0_2mix_tt: 2 mixtures, 4 speakers" in p.stdout
    assert not (tmp_path / "data" / "wsj0_2mix_tr").exists()        # only the sets present
    tt = tmp_path / "data" / "wsj0_2mix_tt"
    names = sorted(NAMES["tt"])
    assert list(read_kv(tt / "wav.scp")) == names
    assert read_kv(tt / "utt2spks") == {names[0]: "01a 209", names[1]: "050 440"}
    sources = read_kv(tt / "utt2sources")[names[0]].split()
    base = root / "2speakers" / "wav16k" / "min" / "tt"
    assert sources == [str(base / "s1" / f"{names[0]}.wav"), str(base / "s2" / f"{names[0]}.wav")]
    assert read_kv(tt / "wav.scp")[names[0]] == str(base / "mix" / f"{names[0]}.wav")
    assert float(read_kv(tt / "utt2sir")[names[0]]) == pytest.approx(2 * 0.97482)
    assert float(read_kv(tt / "utt2dur")[names[1]]) == pytest.approx(8800 / 16000, abs=1e-3)
    assert read_kv(tt / "utt2spk") == {n: n for n in names}


def test_rate_and_mode_select_the_tree(tmp_path):
    root = _tree(tmp_path / "w", rate="8k")
    p = _run(root, tmp_path / "data", check=False)
    assert p.returncode != 0 and "wav16k/min: no such directory" in p.stderr
    _run("--rate", "8k", root, tmp_path / "data")
    assert (tmp_path / "data" / "wsj0_2mix_cv" / "utt2sources").is_file()


def test_missing_source_and_bad_name_write_nothing(tmp_path):
    root = _tree(tmp_path / "w")
    name = NAMES["tt"][0]
    (root / "2speakers" / "wav16k" / "min" / "tt" / "s2" / f"{name}.wav").unlink()
    p = _run(root, tmp_path / "data", check=False)
    assert p.returncode != 0 and f"s2/{name}.wav: missing" in p.stderr
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    root2 = _tree(tmp_path / "w2", names={"tt": ["mixture_one"]})
    p = _run(root2, tmp_path / "data", check=False)
    assert p.returncode != 0 and "mixture_one.wav is not a WSJ0-2mix name" in p.stderr
