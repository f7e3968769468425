"""Truncated audio (issue 12): a file that holds fewer frames than its header promises fails by default,
naming the utterance and the file; allow_truncated turns that into one warning and uses what is there."""
from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import soundfile as sf

from pytorch.bin import compute_feats
from pytorch.data.audio import AudioError, audio_duration, iter_data_dir, read_audio, read_range
from pytorch.data.builder import build_train_data

RATE = 16000
PROMISED = int(2.65 * RATE)
KEPT = int(0.6 * RATE)


def _truncated(path, fmt="WAV"):
    """A 2.65 s file cut by hand after about 0.6 s of samples (the header still promises 2.65 s)."""
    x = (np.random.default_rng(0).standard_normal(PROMISED) * 3000).astype(np.int16)
    sf.write(path, x, RATE, subtype="PCM_16", format=fmt)
    header = os.path.getsize(path) - 2 * PROMISED
    with open(path, "r+b") as f:
        f.truncate(header + 2 * KEPT)
    return x


@pytest.mark.parametrize("fmt, ext", [("WAV", "wav"), ("AIFF", "aiff")])
def test_truncated_file_fails_naming_utterance_and_file(tmp_path, fmt, ext):
    path = tmp_path / f"u1.{ext}"
    _truncated(path, fmt)
    msg = rf"utterance u1: truncated audio in .*u1.{ext}.*promises {PROMISED} "
    with pytest.raises(AudioError, match=msg):
        read_audio(str(path), "u1")
    with pytest.raises(AudioError, match="utterance u1: truncated"):
        audio_duration(str(path), "u1")
    # A range inside the frames present still comes from a broken file.
    with pytest.raises(AudioError, match="truncated"):
        read_range(str(path), 0, 100, "u1", RATE)


def test_truncated_pipe_fails(tmp_path):
    _truncated(tmp_path / "u1.wav")
    with pytest.raises(AudioError, match="utterance u1: truncated"):
        read_audio(f"cat {tmp_path}/u1.wav |", "u1")


def test_allow_truncated_warns_once_and_reads_what_is_there(tmp_path, caplog):
    x = _truncated(tmp_path / "u1.wav")
    with caplog.at_level(logging.WARNING, logger="pytorch.data.audio"):
        y, _ = read_audio(str(tmp_path / "u1.wav"), "u1", allow_truncated=True)
        read_audio(str(tmp_path / "u1.wav"), "u1", allow_truncated=True)
    assert y.size == KEPT
    np.testing.assert_array_equal(y * 32768, x[:KEPT])
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "truncated" in caplog.records[0].message
    assert audio_duration(str(tmp_path / "u1.wav"), "u1", allow_truncated=True) == KEPT / RATE
    np.testing.assert_array_equal(read_range(str(tmp_path / "u1.wav"), 10, 5, "u1", RATE, True) * 32768,
                                  x[10:15])


def test_complete_and_streamed_files_pass(tmp_path):
    x = (np.random.default_rng(1).standard_normal(800) * 3000).astype(np.int16)
    sf.write(tmp_path / "ok.wav", x, RATE, subtype="PCM_16")
    assert read_audio(str(tmp_path / "ok.wav"))[0].size == 800
    # sox writing to a pipe cannot seek back, so its header says 0x7FFFF000 bytes: not a truncation.
    data = bytearray((tmp_path / "ok.wav").read_bytes())
    pos = data.index(b"data") + 4
    data[pos:pos + 4] = (0x7FFFF000).to_bytes(4, "little")
    (tmp_path / "stream.wav").write_bytes(bytes(data))
    y, _ = read_audio(f"cat {tmp_path}/stream.wav |", "s")
    np.testing.assert_array_equal(y * 32768, x)


def test_data_dir_and_compute_feats(tmp_path, capsys):
    _truncated(tmp_path / "u1.wav")
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(f"u1 {tmp_path}/u1.wav\n")
    (d / "utt2spk").write_text("u1 s1\n")
    with pytest.raises(AudioError, match="utterance u1: truncated"):
        list(iter_data_dir(d))
    assert [s.size for _, s, _ in iter_data_dir(d, allow_truncated=True)] == [KEPT]
    cfg = tmp_path / "fbank.yaml"
    cfg.write_text("name: fbank\ndither: 0.0\n")
    out = [str(tmp_path / "f.ark"), str(tmp_path / "f.scp")]
    assert compute_feats.main(["--config", str(cfg), str(d), *out]) == 1
    assert "u1: truncated audio" in capsys.readouterr().err
    assert compute_feats.main(["--config", str(cfg), "--allow-truncated-audio", "true", str(d), *out]) == 0


def test_wave_mode_training_fails_unless_data_allows_truncated_audio(tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    for u in ("a-1", "b-1"):
        _truncated(d / f"{u}.wav")
    (d / "wav.scp").write_text("".join(f"{u} {d}/{u}.wav\n" for u in ("a-1", "b-1")))
    (d / "utt2spk").write_text("a-1 a\nb-1 b\n")
    (d / "utt2dur").write_text("a-1 2.65\nb-1 2.65\n")   # what the header says
    cfg = {"data": {"train": str(d), "mode": "wave", "num_frames": 20},
           "features": {"num_mel_bins": 10, "dither": 0.0}, "train": {"batch_size": 2}}
    td = build_train_data(cfg)
    with pytest.raises(AudioError, match="utterance a-1: truncated"):
        td.dataset[(0, 3)]
    cfg["data"]["allow_truncated_audio"] = True
    td = build_train_data(cfg)
    assert td.dataset[(0, 3)]["feats"].shape == (20, 10)
