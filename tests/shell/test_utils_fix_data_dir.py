"""utils/fix_data_dir.sh: sorts, keeps the utterances present in every per-utt file, rebuilds
spk2utt, filters speakers and recordings, backs up, and reports the counts."""
from __future__ import annotations

import subprocess
from pathlib import Path

UTILS = Path(__file__).resolve().parents[2] / "utils"


def _write(d: Path, files: dict[str, str]) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


def _tool(name: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(UTILS / name), *map(str, args)], capture_output=True, text=True)


def test_drops_and_reports_without_segments(tmp_path):
    d = _write(tmp_path / "d", {
        "utt2spk": "c-1 c\nb-1 b\na-1 a\na-2 a\nbroken\n",
        "spk2utt": "stale line\n",
        "wav.scp": "a-1 /w/a1.wav\na-2 gunzip -c /w/a2.wav.gz |\nb-1 /w/b1.flac\nc-1 /w/c1.wav\nz-9 /w/z.wav\n",
        "feats.scp": "a-1 f:1\nb-1 f:2\nc-1 f:3\na-2 f:4\n",
        "utt2dur": "a-1 1\na-2 2\nb-1 3\n",                 # lacks c-1
        "utt2attack": "a-1 bonafide\na-2 A01\nb-1 bonafide\nc-1 A02\n",
        "spk2gender": "a f\nb m\nc m\n",
    })
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode == 0, p.stderr
    # 5 utterance lines: the malformed one and c-1 (no utt2dur) are dropped.
    assert "fix_data_dir.sh: kept 3 of 5 utterances (dropped 2)" in p.stdout
    assert "utt2dur lacks 1 of the 4 utterances" in p.stderr
    assert (d / "utt2spk").read_text() == "a-1 a\na-2 a\nb-1 b\n"
    assert (d / "spk2utt").read_text() == "a a-1 a-2\nb b-1\n"
    assert (d / "wav.scp").read_text() == "a-1 /w/a1.wav\na-2 gunzip -c /w/a2.wav.gz |\nb-1 /w/b1.flac\n"
    assert (d / "feats.scp").read_text() == "a-1 f:1\na-2 f:4\nb-1 f:2\n"
    assert (d / "utt2attack").read_text() == "a-1 bonafide\na-2 A01\nb-1 bonafide\n"
    assert (d / "spk2gender").read_text() == "a f\nb m\n"
    assert (d / ".backup/utt2spk").read_text().startswith("c-1 c\n")
    assert _tool("validate_data_dir.sh", d).returncode == 0
    # A second run changes nothing: no file is rewritten and the first backup keeps the originals.
    stamps = {f.name: f.stat().st_mtime_ns for f in d.iterdir() if f.is_file()}
    p = _tool("fix_data_dir.sh", d)
    assert "kept 3 of 3 utterances (dropped 0)" in p.stdout and "nothing changed" in p.stdout
    assert stamps == {f.name: f.stat().st_mtime_ns for f in d.iterdir() if f.is_file()}
    assert (d / ".backup/utt2spk").read_text().startswith("c-1 c\n") and not (d / ".backup.1").exists()


def test_rerun_after_a_change_keeps_every_backup(tmp_path):
    d = _write(tmp_path / "d", {"utt2spk": "b-1 b\na-1 a\n", "wav.scp": "a-1 /a.wav\nb-1 /b.wav\n"})
    assert _tool("fix_data_dir.sh", d).returncode == 0
    (d / "wav.scp").write_text("a-1 /a.wav\n")  # the dir changes, then is fixed again
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode == 0 and f"the original files are in {d}/.backup.1" in p.stdout
    assert (d / ".backup/utt2spk").read_text() == "b-1 b\na-1 a\n"      # the first originals survive
    assert (d / ".backup.1/utt2spk").read_text() == "a-1 a\nb-1 b\n"
    assert (d / "utt2spk").read_text() == "a-1 a\n"


def test_malformed_line_is_counted_as_dropped(tmp_path):
    d = _write(tmp_path / "d", {"utt2spk": "a-1 a\na-2\nb-1 b\n", "wav.scp": "a-1 /a\na-2 /a2\nb-1 /b\n"})
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode == 0 and "kept 2 of 3 utterances (dropped 1)" in p.stdout
    assert (d / "wav.scp").read_text() == "a-1 /a\nb-1 /b\n"


def test_carriage_returns_are_stripped(tmp_path):
    d = _write(tmp_path / "d", {"utt2spk": "a-1 a\r\nb-1 b\r\n", "wav.scp": "a-1 /a.wav\r\nb-1 /b.wav\n"})
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode == 0 and "kept 2 of 2 utterances (dropped 0)" in p.stdout
    assert "utt2spk: stripped carriage returns (DOS line endings) from 2 line(s)" in p.stderr
    assert b"\r" not in (d / "utt2spk").read_bytes() + (d / "wav.scp").read_bytes() + (d / "spk2utt").read_bytes()
    assert (d / ".backup/utt2spk").read_bytes() == b"a-1 a\r\nb-1 b\r\n"
    assert _tool("validate_data_dir.sh", "--no-feats", d).returncode == 0


def test_segments_and_recordings(tmp_path):
    d = _write(tmp_path / "d", {
        "utt2spk": "a-1 a\na-2 a\nb-1 b\nb-2 b\n",
        "segments": "b-2 r3 0 1\na-1 r1 0 1\na-2 r1 1 2\nb-1 r9 0 1\n",  # r9 has no audio
        "wav.scp": "r3 sox /w/r3.flac -t wav - |\nr1 /w/r1.wav\nr2 /w/r2.wav\n",  # r2 unused
        "reco2dur": "r1 2\nr2 5\nr3 1\n",
    })
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode == 0, p.stderr
    assert "kept 3 of 4 utterances (dropped 1)" in p.stdout
    assert (d / "segments").read_text() == "a-1 r1 0 1\na-2 r1 1 2\nb-2 r3 0 1\n"
    assert (d / "wav.scp").read_text() == "r1 /w/r1.wav\nr3 sox /w/r3.flac -t wav - |\n"
    assert (d / "reco2dur").read_text() == "r1 2\nr3 1\n"
    assert (d / "spk2utt").read_text() == "a a-1 a-2\nb b-2\n"
    assert _tool("validate_data_dir.sh", "--no-feats", d).returncode == 0


def test_nothing_left_is_an_error_and_leaves_files(tmp_path):
    d = _write(tmp_path / "d", {"utt2spk": "a-1 a\n", "wav.scp": "b-1 /w.wav\n"})
    p = _tool("fix_data_dir.sh", d)
    assert p.returncode != 0 and "no utterances" in p.stderr
    assert (d / "utt2spk").read_text() == "a-1 a\n"


def test_usage(tmp_path):
    assert _tool("fix_data_dir.sh").returncode != 0
    assert _tool("fix_data_dir.sh", tmp_path).returncode != 0  # no utt2spk
