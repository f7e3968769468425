"""utils/validate_data_dir.sh: accepts good dirs (file paths or pipes, with or without segments) and
names the file and the problem for bad ones."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / "utils"
UTT2SPK = "a-1 a\na-2 a\nb-1 b\nb-2 b\n"


def _write(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def _good(tmp_path: Path, segments: bool = False) -> Path:
    files = {"utt2spk": UTT2SPK, "spk2utt": "a a-1 a-2\nb b-1 b-2\n",
             "utt2dur": "a-1 1.5\na-2 2\nb-1 0.75\nb-2 3e0\n", "utt2num_frames": "a-1 148\na-2 198\nb-1 73\nb-2 298\n",
             "feats.scp": "a-1 f.ark:10\na-2 f.ark:20\nb-1 f.ark:30\nb-2 f.ark:40\n",
             "utt2genre": "a-1 speech\na-2 singing\nb-1 speech\nb-2 vlog\n"}
    if segments:
        files["segments"] = "a-1 rec1 0 1.5\na-2 rec1 1.5 3.5\nb-1 rec2 0.25 1\nb-2 rec3 0 3\n"
        files["wav.scp"] = "rec1 /data/rec1.flac\nrec2 sox /data/r2.wav -t wav - |\nrec3 /data/rec3.wav\n"
    else:
        files["wav.scp"] = "a-1 /data/a1.wav\na-2 flac -c -d -s /data/a2.flac |\nb-1 /data/b1.flac\nb-2 /data/b2.wav\n"
    return _write(tmp_path / "data", files)


def _validate(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / "validate_data_dir.sh"), *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("segments", [False, True])
def test_good_dir_passes(tmp_path, segments):
    d = _good(tmp_path, segments)
    p = _validate(d)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"validate_data_dir.sh: Successfully validated data-directory {d}"


def test_feats_and_wav_are_required_unless_told(tmp_path):
    d = _good(tmp_path)
    (d / "feats.scp").unlink()
    p = _validate(d)
    assert p.returncode != 0 and "feats.scp" in p.stderr and "--no-feats" in p.stderr
    assert _validate("--no-feats", d).returncode == 0
    (d / "wav.scp").unlink()
    assert _validate("--no-feats", d).returncode != 0
    assert _validate("--no-feats", "--no-wav", d).returncode == 0


BAD_CASES = {
    "unsorted": ({"utt2dur": "a-1 1.5\nb-1 0.75\na-2 2\nb-2 3\n"}, ["utt2dur", "not sorted", "fix_data_dir.sh"]),
    "duplicate": ({"feats.scp": "a-1 f:1\na-2 f:2\na-2 f:3\nb-1 f:4\nb-2 f:5\n"}, ["feats.scp", "duplicate", "a-2"]),
    "spk2utt_mismatch": ({"spk2utt": "a a-1\nb b-1 b-2\n"}, ["spk2utt", "agree"]),
    "spk2utt_unsorted_utts": ({"spk2utt": "a a-2 a-1\nb b-1 b-2\n"}, ["spk2utt", "agree"]),
    "feats_missing_utt": ({"feats.scp": "a-1 f:1\na-2 f:2\nb-1 f:4\n"}, ["feats.scp", "same utterances", "b-2"]),
    "wav_extra_utt": ({"wav.scp": "a-1 x.wav\na-2 y.wav\nb-1 z.wav\nb-2 w.wav\nc-1 v.wav\n"},
                      ["wav.scp", "c-1"]),
    "utt2genre_missing": ({"utt2genre": "a-1 speech\nb-1 speech\n"}, ["utt2genre", "same utterances"]),
    "id_with_space_in_utt2spk": ({"utt2spk": "a-1 a\na-2 a x\nb-1 b\nb-2 b\n"}, ["utt2spk", "line 2"]),
    "empty_id": ({"utt2dur": "a-1 1\n a-2 2\nb-1 1\nb-2 1\n"}, ["utt2dur", "line 2", "empty id"]),
    "id_without_value": ({"utt2dur": "a-1 1\na-2\nb-1 1\nb-2 1\n"}, ["utt2dur", "line 2", "no value"]),
    "empty_line": ({"utt2dur": "a-1 1\n\na-2 2\nb-1 1\nb-2 1\n"}, ["utt2dur", "line 2", "empty"]),
    "no_final_newline": ({"utt2genre": "a-1 s\na-2 s\nb-1 s\nb-2 s"}, ["utt2genre", "newline"]),
    "crlf": ({"utt2genre": "a-1 s\r\na-2 s\r\nb-1 s\r\nb-2 s\r\n"}, ["utt2genre", "CR"]),
    "bad_duration": ({"utt2dur": "a-1 1\na-2 0\nb-1 1\nb-2 1\n"}, ["utt2dur", "line 2"]),
    "bad_frames": ({"utt2num_frames": "a-1 1\na-2 2.5\nb-1 1\nb-2 1\n"}, ["utt2num_frames", "line 2"]),
    "speaker_order": ({"utt2spk": "a-1 b\na-2 a\nb-1 b\nb-2 b\n", "spk2utt": "a a-2\nb a-1 b-1 b-2\n"},
                      ["utt2spk", "sorted by speaker"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_dirs_are_caught_with_a_clear_message(tmp_path, case):
    changes, words = BAD_CASES[case]
    d = _write(_good(tmp_path), changes)
    p = _validate(d)
    assert p.returncode != 0, p.stdout
    assert "Successfully" not in p.stdout
    msg = p.stderr
    assert msg.startswith("validate_data_dir.sh: error:")
    for w in words:
        assert w in msg, (w, msg)


def test_no_spk_sort_allows_other_speaker_order(tmp_path):
    d = _write(_good(tmp_path), BAD_CASES["speaker_order"][0])
    assert _validate("--no-spk-sort", d).returncode == 0


def test_segments_problems(tmp_path):
    d = _good(tmp_path, segments=True)
    (d / "wav.scp").write_text("rec1 /data/rec1.flac\nrec3 /data/rec3.wav\n")
    p = _validate(d)
    assert p.returncode != 0 and "rec2" in p.stderr and "segments" in p.stderr
    d = _good(tmp_path / "x", segments=True)
    (d / "segments").write_text("a-1 rec1 0 1.5\na-2 rec1 3.5 1.5\nb-1 rec2 0.25 1\nb-2 rec3 0 3\n")
    p = _validate(d)
    assert p.returncode != 0 and "segments: line 2" in p.stderr


def test_usage(tmp_path):
    assert _validate().returncode != 0
    assert _validate("--bogus", _good(tmp_path)).returncode != 0
    assert _validate(tmp_path / "missing").returncode != 0


@pytest.mark.parametrize("name, where", [("utt2spk", "utt2spk: line 4"), ("feats.scp", "feats.scp: line 4"),
                                         ("spk2utt", "utt2spk: line 3")])
def test_non_utf8_id_is_rejected(tmp_path, name, where):
    d = _good(tmp_path)
    raw = (d / name).read_bytes()
    if name == "spk2utt":  # a speaker id; utt2spk must agree, so change both
        (d / "utt2spk").write_bytes((d / "utt2spk").read_bytes().replace(b" b\n", b" b\xe9\n"))
        raw = raw.replace(b"b b-1", b"b\xe9 b-1")
    else:  # b-2 -> b-\xe9 sorts last under LC_ALL=C, as b-2 did
        raw = raw.replace(b"b-2", b"b-\xe9")
    (d / name).write_bytes(raw)
    p = _validate(d)
    assert p.returncode != 0
    assert f"{d}/{where}: the id is not valid UTF-8" in p.stderr


def test_utf8_ids_pass(tmp_path):
    d = _good(tmp_path)
    for name in ("utt2spk", "spk2utt", "feats.scp", "wav.scp", "utt2dur", "utt2num_frames", "utt2genre"):
        (d / name).write_text((d / name).read_text().replace("b-2", "b-ü"), encoding="utf-8")
    p = _validate(d)
    assert p.returncode == 0, p.stderr
