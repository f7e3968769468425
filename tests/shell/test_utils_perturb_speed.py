"""utils/perturb_data_dir_speed.sh: sp<factor>- ids for utterances, speakers (and recordings), and
wav.scp pipes through sox whose audio really is original/factor long."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"
pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


def _tool(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / name), *map(str, args)], capture_output=True, text=True)


def _sox_file(path: Path, seconds: float) -> None:
    subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(path), "synth", str(seconds),
                    "sine", "300"], check=True)


def _pipe_duration(entry: str, tmp: Path) -> tuple[float, int]:
    """Runs a wav.scp value that ends in '|' and returns (seconds, sample rate) of its output."""
    assert entry.endswith("|")
    out = tmp / "out.wav"
    subprocess.run(["bash", "-c", f"{entry[:-1]} > {out}"], check=True)
    dur = float(subprocess.run(["soxi", "-D", str(out)], capture_output=True, text=True, check=True).stdout)
    rate = int(subprocess.run(["soxi", "-r", str(out)], capture_output=True, text=True, check=True).stdout)
    return dur, rate


def test_perturb_without_segments(tmp_path):
    _sox_file(tmp_path / "a1.wav", 1.0)
    _sox_file(tmp_path / "b1.flac", 0.5)
    src = tmp_path / "src"
    src.mkdir()
    (src / "utt2spk").write_text("a-1 a\na-2 a\nb-1 b\n")
    (src / "spk2utt").write_text("a a-1 a-2\nb b-1\n")
    (src / "wav.scp").write_text(f"a-1 {tmp_path}/a1.wav\na-2 sox {tmp_path}/a1.wav -t wav - trim 0 0.8 |\n"
                                 f"b-1 {tmp_path}/b1.flac\n")
    (src / "utt2dur").write_text("a-1 1.0\na-2 0.8\nb-1 0.5\n")
    (src / "feats.scp").write_text("a-1 f:1\na-2 f:2\nb-1 f:3\n")
    (src / "utt2num_frames").write_text("a-1 98\na-2 78\nb-1 48\n")
    (src / "utt2genre").write_text("a-1 speech\na-2 singing\nb-1 vlog\n")
    (src / "utt2spks").write_text("a-1 a b\na-2 a\nb-1 b\n")
    (src / "spk2gender").write_text("a f\nb m\n")
    p = _tool("perturb_data_dir_speed.sh", "0.9", src, tmp_path / "sp")
    assert p.returncode == 0, p.stderr
    sp = tmp_path / "sp"
    assert (sp / "utt2spk").read_text() == "sp0.9-a-1 sp0.9-a\nsp0.9-a-2 sp0.9-a\nsp0.9-b-1 sp0.9-b\n"
    assert (sp / "spk2utt").read_text() == "sp0.9-a sp0.9-a-1 sp0.9-a-2\nsp0.9-b sp0.9-b-1\n"
    assert (sp / "utt2genre").read_text() == "sp0.9-a-1 speech\nsp0.9-a-2 singing\nsp0.9-b-1 vlog\n"
    assert (sp / "utt2spks").read_text().splitlines()[0] == "sp0.9-a-1 sp0.9-a sp0.9-b"
    assert (sp / "spk2gender").read_text() == "sp0.9-a f\nsp0.9-b m\n"
    for f in ("feats.scp", "utt2num_frames", "vad.scp"):
        assert not (sp / f).exists()
    durs = dict(line.split() for line in (sp / "utt2dur").read_text().splitlines())
    assert float(durs["sp0.9-a-1"]) == pytest.approx(1.0 / 0.9, abs=1e-3)
    wav = dict(line.split(" ", 1) for line in (sp / "wav.scp").read_text().splitlines())
    assert wav["sp0.9-a-1"] == f"sox -t wav {tmp_path}/a1.wav -t wav - speed 0.9 |"
    assert wav["sp0.9-a-2"].endswith("trim 0 0.8 | sox -t wav - -t wav - speed 0.9 |")
    for utt, orig in (("sp0.9-a-1", 1.0), ("sp0.9-a-2", 0.8), ("sp0.9-b-1", 0.5)):
        dur, rate = _pipe_duration(wav[utt], tmp_path)
        assert dur == pytest.approx(orig / 0.9, abs=0.01), utt
        assert rate == 16000
    assert _tool("validate_data_dir.sh", "--no-feats", sp).returncode == 0


def test_perturb_with_segments(tmp_path):
    _sox_file(tmp_path / "r1.wav", 2.0)
    src = tmp_path / "src"
    src.mkdir()
    (src / "utt2spk").write_text("a-1 a\na-2 a\n")
    (src / "spk2utt").write_text("a a-1 a-2\n")
    (src / "segments").write_text("a-1 r1 0 0.9\na-2 r1 1.1 2.0\n")
    (src / "wav.scp").write_text(f"r1 {tmp_path}/r1.wav\n")
    (src / "reco2dur").write_text("r1 2.0\n")
    p = _tool("perturb_data_dir_speed.sh", "1.1", src, tmp_path / "sp")
    assert p.returncode == 0, p.stderr
    sp = tmp_path / "sp"
    seg = [line.split() for line in (sp / "segments").read_text().splitlines()]
    assert [s[:2] for s in seg] == [["sp1.1-a-1", "sp1.1-r1"], ["sp1.1-a-2", "sp1.1-r1"]]
    assert float(seg[1][2]) == pytest.approx(1.0, abs=1e-3) and float(seg[1][3]) == pytest.approx(2.0 / 1.1, abs=1e-3)
    assert (sp / "reco2dur").read_text().split()[0] == "sp1.1-r1"
    wav = (sp / "wav.scp").read_text().split(" ", 1)
    assert wav[0] == "sp1.1-r1"
    dur, _ = _pipe_duration(wav[1].strip(), tmp_path)
    assert dur == pytest.approx(2.0 / 1.1, abs=0.01)
    assert _tool("validate_data_dir.sh", "--no-feats", sp).returncode == 0


def test_bad_arguments(tmp_path):
    assert _tool("perturb_data_dir_speed.sh", "fast", tmp_path, tmp_path / "x").returncode != 0
    assert _tool("perturb_data_dir_speed.sh", "0.9", tmp_path).returncode != 0
    assert _tool("perturb_data_dir_speed.sh", "0.9", tmp_path / "missing", tmp_path / "x").returncode != 0
