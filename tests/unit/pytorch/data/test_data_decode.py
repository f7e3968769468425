"""pytorch.data.decode: a wav.scp pipe decoded once into FLAC or WAV with the very samples the pipe
gives (8/16/24-bit PCM, 32-bit, float, several channels), kept on a rerun only when the same command
made it, and never left half-written."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pytorch.data import decode
from pytorch.data.audio import AudioError, read_audio, read_range
from pytorch.data.decode import decode_pipe, made_by, target_format

RATE = 16000


def _pipe(path: Path) -> str:
    # `cat` streams the file as a pipe would; the readers see the bytes of a command's stdout.
    return f"cat {shlex.quote(str(path))} |"


def _write(path: Path, subtype: str, channels: int = 1, frames: int = 40000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal((frames, channels)) * 0.3, -1, 0.999).astype(np.float64)
    sf.write(path, x, RATE, subtype=subtype, format="WAV")
    return sf.read(path, dtype="float64", always_2d=True)[0]   # what the file holds after quantisation


@pytest.mark.parametrize("subtype, container", [("PCM_U8", "FLAC"), ("PCM_16", "FLAC"), ("PCM_24", "FLAC"),
                                                ("PCM_32", "WAV"), ("FLOAT", "WAV"), ("DOUBLE", "WAV")])
def test_decoded_file_holds_the_pipes_samples_exactly(tmp_path, subtype, container):
    src = tmp_path / "in.wav"
    want = _write(src, subtype, channels=2)
    path, decoded = decode_pipe(_pipe(src), "rec1", tmp_path / "out")
    assert decoded and path.parent == tmp_path / "out"
    info = sf.info(path)
    assert info.format == container and (info.channels, info.samplerate) == (2, RATE)
    got = sf.read(path, dtype="float64", always_2d=True)[0]
    np.testing.assert_array_equal(got, want)
    # and what the readers return (float32, first channel) is the same as from the pipe
    x_pipe, _ = read_audio(_pipe(src), "rec1")
    x_file, _ = read_audio(str(path), "rec1")
    np.testing.assert_array_equal(x_file, x_pipe)
    np.testing.assert_array_equal(read_range(str(path), 1000, 500, "rec1", RATE), x_pipe[1000:1500])


def test_long_recording_is_copied_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(decode, "BLOCK_FRAMES", 1000)   # 40 blocks and a partial one
    src = tmp_path / "in.wav"
    want = _write(src, "PCM_16", frames=40321)
    path, _ = decode_pipe(_pipe(src), "long", tmp_path)
    np.testing.assert_array_equal(sf.read(path, dtype="float64", always_2d=True)[0], want)


def test_rerun_keeps_a_file_of_the_same_command_and_redoes_another(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    _write(a, "PCM_16", seed=1)
    want_b = _write(b, "PCM_16", seed=2)
    path, decoded = decode_pipe(_pipe(a), "rec", tmp_path / "out")
    assert decoded and made_by(path, _pipe(a))
    stamp = path.stat().st_mtime_ns
    assert decode_pipe(_pipe(a), "rec", tmp_path / "out") == (path, False)
    assert path.stat().st_mtime_ns == stamp
    # The recording's command changed: the old file does not count as its output.
    path2, decoded = decode_pipe(_pipe(b), "rec", tmp_path / "out")
    assert decoded and path2 == path and made_by(path, _pipe(b)) and not made_by(path, _pipe(a))
    np.testing.assert_array_equal(sf.read(path, dtype="float64", always_2d=True)[0], want_b)


def test_failing_or_truncated_pipe_leaves_no_file(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(AudioError, match="rec"):
        decode_pipe("exit 3 |", "rec", out)
    src = tmp_path / "in.wav"
    _write(src, "PCM_16")
    data = src.read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioError, match="truncated"):
        decode_pipe(_pipe(tmp_path / "cut.wav"), "rec", out)
    assert sorted(os.listdir(out)) == []     # no output, no temporary file
    path, _ = decode_pipe(_pipe(tmp_path / "cut.wav"), "rec", out, allow_truncated=True)
    assert sf.info(path).frames == (len(data) // 2 - 44) // 2


def test_a_killed_write_is_not_taken_for_a_decoded_file(tmp_path):
    src = tmp_path / "in.wav"
    _write(src, "PCM_16")
    out = tmp_path / "out"
    out.mkdir()
    # What a job killed mid-write leaves: the final name never exists; a stray file there has no tag.
    sf.write(out / "rec.flac", np.zeros(10), RATE)
    assert not made_by(out / "rec.flac", _pipe(src))
    path, decoded = decode_pipe(_pipe(src), "rec", out)
    assert decoded and made_by(path, _pipe(src))


def test_bad_recording_ids_and_formats(tmp_path):
    with pytest.raises(AudioError, match="no '/' allowed"):
        decode_pipe("cat x |", "a/b", tmp_path)
    with pytest.raises(ValueError, match="format"):
        decode_pipe("cat x |", "a", tmp_path, fmt="mp3")
    assert target_format("PCM_16", "wav") == ("WAV", "PCM_16", ".wav")
    assert target_format("ULAW", "flac") == ("WAV", "FLOAT", ".wav")


def test_cli_writes_a_wav_scp_of_files_and_keeps_plain_entries(tmp_path, capsys):
    from pytorch.bin import decode_pipes
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    _write(a, "PCM_16", seed=1)
    _write(b, "PCM_16", seed=2)
    scp = tmp_path / "wav.scp"
    scp.write_text(f"ra {_pipe(a)}\nrb {b}\n")
    assert decode_pipes.main([str(scp), str(tmp_path / "audio"), str(tmp_path / "out.scp")]) == 0
    assert (tmp_path / "out.scp").read_text() == f"ra {tmp_path / 'audio' / 'ra.flac'}\nrb {b}\n"
    # an output over the input is refused; so is an empty list
    assert decode_pipes.main([str(scp), str(tmp_path / "audio"), str(scp)]) == 1
    assert "also the input" in capsys.readouterr().err
    (tmp_path / "empty.scp").write_text("")
    assert decode_pipes.main([str(tmp_path / "empty.scp"), str(tmp_path / "audio"), str(tmp_path / "o2")]) == 1
    assert "empty.scp: empty" in capsys.readouterr().err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
