"""utils/split_data.sh: per-utterance and per-speaker splits into split<N>/<n>, each a valid data dir."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"


def _tool(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / name), *map(str, args)], capture_output=True, text=True)


def _make(tmp_path: Path, segments: bool = False) -> Path:
    # Speakers s1..s4 with 1, 5, 2, 3 utterances (11 in all).
    d = tmp_path / "data"
    d.mkdir()
    utts = [(f"s{s}-u{u}", f"s{s}") for s, n in ((1, 1), (2, 5), (3, 2), (4, 3)) for u in range(n)]
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utts))
    (d / "spk2utt").write_text("s1 s1-u0\ns2 " + " ".join(f"s2-u{i}" for i in range(5))
                               + "\ns3 s3-u0 s3-u1\ns4 s4-u0 s4-u1 s4-u2\n")
    (d / "feats.scp").write_text("".join(f"{u} f.ark:{i}\n" for i, (u, _) in enumerate(utts)))
    (d / "vad.scp").write_text("".join(f"{u} v.ark:{i}\n" for i, (u, _) in enumerate(utts)))
    (d / "utt2num_frames").write_text("".join(f"{u} {100 + i}\n" for i, (u, _) in enumerate(utts)))
    (d / "utt2dur").write_text("".join(f"{u} {1 + i}.5\n" for i, (u, _) in enumerate(utts)))
    (d / "utt2genre").write_text("".join(f"{u} speech\n" for u, _ in utts))
    (d / "spk2gender").write_text("s1 f\ns2 m\ns3 f\ns4 m\n")
    if segments:
        (d / "segments").write_text("".join(f"{u} rec-{s} {i} {i + 1}\n" for i, (u, s) in enumerate(utts)))
        (d / "wav.scp").write_text("".join(f"rec-s{k} /w/rec{k}.flac\n" for k in range(1, 5)))
    else:
        (d / "wav.scp").write_text("".join(f"{u} sox /w/{u}.wav -t wav - |\n" for u, _ in utts))
    assert _tool("validate_data_dir.sh", d).returncode == 0
    return d


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines()


@pytest.mark.parametrize("segments", [False, True])
def test_per_utt_split(tmp_path, segments):
    d = _make(tmp_path, segments)
    p = _tool("split_data.sh", d, 3)
    assert p.returncode == 0, p.stderr
    parts = [d / "split3" / str(n) for n in (1, 2, 3)]
    sizes = [len(_lines(q / "utt2spk")) for q in parts]
    assert sorted(sizes) == [3, 4, 4]
    assert max(sizes) - min(sizes) <= 1
    # Contiguous and complete, in order.
    assert sum((_lines(q / "utt2spk") for q in parts), []) == _lines(d / "utt2spk")
    for q in parts:
        assert _tool("validate_data_dir.sh", q).returncode == 0, _tool("validate_data_dir.sh", q).stderr
        for f in ("feats.scp", "vad.scp", "utt2num_frames", "utt2dur", "utt2genre"):
            assert [x.split()[0] for x in _lines(q / f)] == [x.split()[0] for x in _lines(q / "utt2spk")]
        spks = {x.split()[1] for x in _lines(q / "utt2spk")}
        assert {x.split()[0] for x in _lines(q / "spk2gender")} == spks
        if segments:
            recs = {x.split()[1] for x in _lines(q / "segments")}
            assert {x.split()[0] for x in _lines(q / "wav.scp")} == recs
    assert not (d / "split3" / "4").exists()


def test_per_spk_split_keeps_speakers_whole(tmp_path):
    d = _make(tmp_path)
    p = _tool("split_data.sh", "--per-spk", d, 3)
    assert p.returncode == 0, p.stderr
    seen: dict[str, int] = {}
    total = 0
    for n in (1, 2, 3):
        q = d / "split3" / str(n)
        assert _tool("validate_data_dir.sh", q).returncode == 0
        spks = {x.split()[1] for x in _lines(q / "utt2spk")}
        assert spks, f"part {n} is empty"
        for s in spks:
            assert s not in seen, f"speaker {s} split across parts {seen[s]} and {n}"
            seen[s] = n
        total += len(_lines(q / "utt2spk"))
    assert total == 11 and len(seen) == 4
    # Balanced by utterances: speakers of 1, 5, 2, 3 utterances in 2 parts give 6 + 5.
    assert _tool("split_data.sh", "--per-spk", d, 2).returncode == 0
    assert [len(_lines(d / "split2" / str(n) / "utt2spk")) for n in (1, 2)] == [6, 5]
    # 4 speakers in 4 parts: one each.
    assert _tool("split_data.sh", "--per-spk", d, 4).returncode == 0
    assert [len(_lines(d / "split4" / str(n) / "spk2utt")) for n in range(1, 5)] == [1, 1, 1, 1]


def test_too_many_parts_is_an_error(tmp_path):
    d = _make(tmp_path)
    p = _tool("split_data.sh", "--per-spk", d, 5)
    assert p.returncode != 0 and "4 speakers" in p.stderr
    p = _tool("split_data.sh", d, 12)
    assert p.returncode != 0 and "11 utterances" in p.stderr
    assert _tool("split_data.sh", d, 0).returncode != 0
    assert _tool("split_data.sh", d).returncode != 0


def test_reuses_an_up_to_date_split_and_redoes_a_stale_one(tmp_path):
    d = _make(tmp_path)
    assert _tool("split_data.sh", d, 2).returncode == 0
    p = _tool("split_data.sh", d, 2)
    assert "not re-splitting" in p.stdout
    # A source file newer than the split forces a new split.
    old = time.time() - 100
    for f in (d / "split2").rglob("*"):
        os.utime(f, (old, old))
    (d / "utt2genre").write_text((d / "utt2genre").read_text().replace("speech", "vlog"))
    p = _tool("split_data.sh", d, 2)
    assert "not re-splitting" not in p.stdout
    assert "vlog" in (d / "split2/1/utt2genre").read_text()
    # A file removed from the source disappears from the parts.
    (d / "vad.scp").unlink()
    assert _tool("split_data.sh", d, 2).returncode == 0
    assert not (d / "split2/1/vad.scp").exists()
    # The other mode is a different split.
    p = _tool("split_data.sh", "--per-spk", d, 2)
    assert "not re-splitting" not in p.stdout


def test_unsorted_source_is_an_error(tmp_path):
    d = _make(tmp_path)
    (d / "utt2spk").write_text("s2-u0 s2\ns1-u0 s1\n")
    p = _tool("split_data.sh", d, 2)
    assert p.returncode != 0 and "fix_data_dir.sh" in p.stderr
