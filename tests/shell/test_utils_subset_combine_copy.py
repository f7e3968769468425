"""utils/subset_data_dir.sh, combine_data.sh and copy_data_dir.sh."""
from __future__ import annotations

import subprocess
from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "utils"


def _tool(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / name), *map(str, args)], capture_output=True, text=True)


def _make(d: Path, prefix: str = "", segments: bool = False) -> Path:
    d.mkdir(parents=True)
    utts = [(f"{prefix}s{s}-u{u}", f"{prefix}s{s}") for s in range(1, 4) for u in range(3)]
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in utts))
    (d / "spk2utt").write_text("".join(f"{prefix}s{s} " + " ".join(f"{prefix}s{s}-u{u}" for u in range(3)) + "\n"
                                       for s in range(1, 4)))
    (d / "utt2dur").write_text("".join(f"{u} {i + 1}\n" for i, (u, _) in enumerate(utts)))
    (d / "utt2spks").write_text("".join(f"{u} {s} {prefix}s9\n" for u, s in utts))
    (d / "spk2gender").write_text("".join(f"{prefix}s{s} m\n" for s in range(1, 4)))
    if segments:
        (d / "segments").write_text("".join(f"{u} {s}-rec {i} {i + 1}\n" for i, (u, s) in enumerate(utts)))
        (d / "wav.scp").write_text("".join(f"{prefix}s{s}-rec /w/{prefix}{s}.flac\n" for s in range(1, 4)))
    else:
        (d / "wav.scp").write_text("".join(f"{u} /w/{u}.wav\n" for u, _ in utts))
        (d / "feats.scp").write_text("".join(f"{u} f.ark:{i}\n" for i, (u, _) in enumerate(utts)))
    return d


def _keys(p: Path) -> list[str]:
    return [x.split()[0] for x in p.read_text().splitlines()]


def _valid(d: Path) -> None:
    p = _tool("validate_data_dir.sh", "--no-feats", d)
    assert p.returncode == 0, p.stderr


def test_subset_first_last_random(tmp_path):
    src = _make(tmp_path / "src")
    assert _tool("subset_data_dir.sh", "--first", src, 4, tmp_path / "first").returncode == 0
    assert _keys(tmp_path / "first/utt2spk") == ["s1-u0", "s1-u1", "s1-u2", "s2-u0"]
    assert (tmp_path / "first/spk2utt").read_text() == "s1 s1-u0 s1-u1 s1-u2\ns2 s2-u0\n"
    assert _keys(tmp_path / "first/spk2gender") == ["s1", "s2"]
    assert _keys(tmp_path / "first/feats.scp") == _keys(tmp_path / "first/utt2spk")
    _valid(tmp_path / "first")
    assert _tool("subset_data_dir.sh", "--last", src, 2, tmp_path / "last").returncode == 0
    assert _keys(tmp_path / "last/utt2spk") == ["s3-u1", "s3-u2"]
    for name, seed in (("r1", 1), ("r2", 1), ("r3", 2)):
        p = _tool("subset_data_dir.sh", "--seed", seed, src, 5, tmp_path / name)
        assert p.returncode == 0, p.stderr
        _valid(tmp_path / name)
        assert len(_keys(tmp_path / name / "utt2spk")) == 5
    assert (tmp_path / "r1/utt2spk").read_text() == (tmp_path / "r2/utt2spk").read_text()  # deterministic
    assert (tmp_path / "r1/utt2spk").read_text() != (tmp_path / "r3/utt2spk").read_text()
    assert _tool("subset_data_dir.sh", src, 10, tmp_path / "big").returncode != 0


def test_subset_lists_with_segments(tmp_path):
    src = _make(tmp_path / "src", segments=True)
    (tmp_path / "spk.list").write_text("s3\ns1\n")
    assert _tool("subset_data_dir.sh", "--spk-list", tmp_path / "spk.list", src, tmp_path / "bys").returncode == 0
    assert _keys(tmp_path / "bys/spk2utt") == ["s1", "s3"]
    assert _keys(tmp_path / "bys/wav.scp") == ["s1-rec", "s3-rec"]
    _valid(tmp_path / "bys")
    (tmp_path / "utt.list").write_text("s2-u1\ns1-u0\nnot-there\n")
    p = _tool("subset_data_dir.sh", "--utt-list", tmp_path / "utt.list", src, tmp_path / "byu")
    assert p.returncode == 0, p.stderr
    assert "not in" in p.stderr  # the unknown id is reported
    assert _keys(tmp_path / "byu/segments") == ["s1-u0", "s2-u1"]
    assert _keys(tmp_path / "byu/wav.scp") == ["s1-rec", "s2-rec"]
    _valid(tmp_path / "byu")


def test_combine(tmp_path):
    a = _make(tmp_path / "a", prefix="x")
    b = _make(tmp_path / "b", prefix="y")
    (b / "feats.scp").unlink()  # not shared: left out
    p = _tool("combine_data.sh", tmp_path / "ab", a, b)
    assert p.returncode == 0, p.stderr
    assert "feats.scp" in p.stderr
    ab = tmp_path / "ab"
    assert not (ab / "feats.scp").exists()
    assert len(_keys(ab / "utt2spk")) == 18
    assert _keys(ab / "utt2spk") == sorted(_keys(a / "utt2spk") + _keys(b / "utt2spk"))
    assert len(_keys(ab / "spk2gender")) == 6
    _valid(ab)
    # The same utterance in two sources is an error.
    p = _tool("combine_data.sh", tmp_path / "aa", a, a)
    assert p.returncode != 0 and "xs1-u0" in p.stderr
    # Mixed segmented and unsegmented sources are refused.
    c = _make(tmp_path / "c", prefix="z", segments=True)
    assert _tool("combine_data.sh", tmp_path / "ac", a, c).returncode != 0


def test_copy_with_prefixes_and_suffixes(tmp_path):
    src = _make(tmp_path / "src", segments=True)
    p = _tool("copy_data_dir.sh", "--utt-prefix", "p-", "--utt-suffix", "-rev", "--spk-prefix", "p-", src,
              tmp_path / "dst")
    assert p.returncode == 0, p.stderr
    dst = tmp_path / "dst"
    assert (dst / "utt2spk").read_text().splitlines()[0] == "p-s1-u0-rev p-s1"
    assert (dst / "segments").read_text().splitlines()[0] == "p-s1-u0-rev s1-rec 0 1"  # recording untouched
    assert (dst / "wav.scp").read_text() == (src / "wav.scp").read_text()
    assert (dst / "utt2spks").read_text().splitlines()[0] == "p-s1-u0-rev p-s1 p-s9"
    assert _keys(dst / "spk2gender") == ["p-s1", "p-s2", "p-s3"]
    _valid(dst)


def test_copy_resorts_when_a_suffix_changes_the_order(tmp_path):
    # "a" < "a-b" but "a-x" > "a-b-x": the copy must be re-sorted.
    d = tmp_path / "src"
    d.mkdir()
    (d / "utt2spk").write_text("a a\na-b a\n")
    (d / "spk2utt").write_text("a a a-b\n")
    (d / "wav.scp").write_text("a /w/1.wav\na-b /w/2.wav\n")
    assert _tool("copy_data_dir.sh", "--utt-suffix", "-x", d, tmp_path / "dst").returncode == 0
    assert _keys(tmp_path / "dst/utt2spk") == ["a-b-x", "a-x"]
    _valid(tmp_path / "dst")
    assert _tool("copy_data_dir.sh", d, d).returncode != 0
