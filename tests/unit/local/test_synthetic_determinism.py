"""Same seed and options -> the same bytes, whatever --nj; another seed -> other audio; reruns reuse."""
from __future__ import annotations

import dataclasses
import hashlib
import os

import pytest

from local.synthetic.generate import generate, main


def _digest(root: str) -> dict[str, str]:
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def test_same_seed_same_bytes_any_nj(tmp_path, tiny_corpus, tiny_options):
    other = str(tmp_path / "again")
    assert generate(tiny_options, other, nj=2)
    a, b = _digest(tiny_corpus), _digest(other)
    assert sorted(a) == sorted(b)
    assert a == b
    assert sum(k.endswith(".wav") for k in a) > 50


def test_other_seed_other_audio(tmp_path, tiny_corpus, tiny_options):
    other = str(tmp_path / "seed4")
    generate(dataclasses.replace(tiny_options, seed=4), other, nj=1)
    a, b = _digest(tiny_corpus), _digest(other)
    wavs = [k for k in a if k.startswith("wav/") and k in b]
    assert wavs, "the two corpora should share utterance names"
    assert all(a[k] != b[k] for k in wavs)


def test_rerun_reuses_and_resumes(tmp_path, tiny_options):
    out = str(tmp_path / "c")
    assert generate(tiny_options, out, nj=1)
    assert not generate(tiny_options, out, nj=1)          # .done present: nothing to do
    before = _digest(out)
    victim = sorted(k for k in before if k.startswith("wav/"))[0]
    os.remove(os.path.join(out, victim))
    os.remove(os.path.join(out, ".done"))
    assert generate(tiny_options, out, nj=1)              # resumes: only the missing file is made
    assert _digest(out) == before


def test_other_options_in_same_dir_is_an_error(tmp_path, tiny_options, capsys):
    out = str(tmp_path / "c")
    generate(tiny_options, out, nj=1)
    with pytest.raises(ValueError, match="other options"):
        generate(dataclasses.replace(tiny_options, utts_per_spk=3), out, nj=1)
    assert main(["--out", out, "--num-train-spk", "5"]) == 1
    assert "generate.py: error:" in capsys.readouterr().err


def test_bad_sizes_are_clear_errors(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "x"), "--min-dur", "3", "--max-dur", "2"]) == 1
    assert "--min-dur" in capsys.readouterr().err
