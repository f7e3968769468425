"""utils/utt2spk_to_spk2utt, spk2utt_to_utt2spk, filter_scp (with and without the .pl name)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"


def _run(*args, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("suffix", ["", ".pl"])
def test_utt2spk_spk2utt_round_trip(suffix):
    utt2spk = "a-1 a\na-2 a\nb-1 b\nc-1 c\nc-2 c\n"
    p = _run(UTILS / f"utt2spk_to_spk2utt{suffix}", stdin=utt2spk)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "a a-1 a-2\nb b-1\nc c-1 c-2\n"
    q = _run(UTILS / f"spk2utt_to_utt2spk{suffix}", stdin=p.stdout)
    assert q.stdout == utt2spk


def test_utt2spk_to_spk2utt_rejects_bad_lines(tmp_path):
    (tmp_path / "utt2spk").write_text("a-1 a\na-2 a extra\n")
    p = _run(UTILS / "utt2spk_to_spk2utt", tmp_path / "utt2spk")
    assert p.returncode != 0
    assert "utt2spk:2" in p.stderr


@pytest.mark.parametrize("suffix", ["", ".pl"])
def test_filter_scp(tmp_path, suffix):
    (tmp_path / "ids").write_text("u3\nu1 anything\n")
    scp = "u1 /x/1.wav\nu2 /x/2.wav\nu3 cmd 3 |\n"
    tool = UTILS / f"filter_scp{suffix}"
    assert _run(tool, tmp_path / "ids", stdin=scp).stdout == "u1 /x/1.wav\nu3 cmd 3 |\n"
    (tmp_path / "in.scp").write_text(scp)
    assert _run(tool, "--exclude", tmp_path / "ids", tmp_path / "in.scp").stdout == "u2 /x/2.wav\n"
    trials = "e1 u1 target\ne2 u2 nontarget\ne3 u3 target\n"
    assert _run(tool, "-f", "2", tmp_path / "ids", stdin=trials).stdout == "e1 u1 target\ne3 u3 target\n"
    assert _run(tool, "-f", "-1", tmp_path / "ids", stdin="a u1\nb u2\n").stdout == "a u1\n"
    assert _run(tool, "--bogus", tmp_path / "ids", stdin=scp).returncode != 0
