"""Audio reading for Kaldi data dirs: files, pipes, segments, and errors naming utterance and path."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from pytorch.data.audio import AudioError, PipeOutput, audio_duration, iter_data_dir, read_audio, read_range

RATE = 16000


def _wav(path, n, rate=RATE, seed=0, fmt="WAV"):
    x = (np.random.default_rng(seed).standard_normal(n) * 3000).astype(np.int16)
    sf.write(path, x, rate, subtype="PCM_16", format=fmt)
    return x


def test_read_file_and_flac_and_pipe(tmp_path):
    x = _wav(tmp_path / "a.wav", 1600)
    y, rate = read_audio(str(tmp_path / "a.wav"), "u1")
    assert rate == RATE and y.dtype == np.float32
    np.testing.assert_array_equal(y * 32768, x)
    _wav(tmp_path / "b.flac", 800, fmt="FLAC", seed=1)
    assert read_audio(str(tmp_path / "b.flac"))[0].size == 800
    y2, _ = read_audio(f"cat {tmp_path}/a.wav |", "u1")
    np.testing.assert_array_equal(y2, y)


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_read_sox_pipe(tmp_path):
    x = _wav(tmp_path / "a.wav", 1600)
    y, _ = read_audio(f"sox {tmp_path}/a.wav -t wav - |", "u1")
    np.testing.assert_array_equal(y * 32768, x)


def test_errors_name_utterance_and_source(tmp_path):
    with pytest.raises(AudioError, match=r"utterance u9: audio file not found: .*missing.wav"):
        read_audio(str(tmp_path / "missing.wav"), "u9")
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(AudioError, match=r"utterance u2: cannot read audio from .*junk.wav"):
        read_audio(str(tmp_path / "junk.wav"), "u2")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), RATE, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"utterance u3: empty audio .*empty.wav"):
        read_audio(str(tmp_path / "empty.wav"), "u3")
    with pytest.raises(AudioError, match=r"utterance u4: command failed with exit status 1: 'cat /nonex"):
        read_audio("cat /nonexistent |", "u4")


def test_iter_data_dir_with_segments_and_rate_check(tmp_path):
    rec1 = _wav(tmp_path / "r1.wav", 3 * RATE, seed=1)
    rec2 = _wav(tmp_path / "r2.wav", 2 * RATE, seed=2)
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(f"r1 {tmp_path}/r1.wav\nr2 cat {tmp_path}/r2.wav |\n")
    (d / "segments").write_text("s1 r1 0.5 1.0\ns2 r1 1.0 2.25\ns3 r2 0 -1\n")
    out = list(iter_data_dir(d, sample_rate=RATE, int16_scale=True))
    assert [u for u, _, _ in out] == ["s1", "s2", "s3"]
    np.testing.assert_array_equal(out[0][1], rec1[8000:16000])
    np.testing.assert_array_equal(out[1][1], rec1[16000:36000])
    np.testing.assert_array_equal(out[2][1], rec2)
    with pytest.raises(AudioError, match=r"utterance s1: sample rate 16000 Hz in .*r1.wav.*expected 8000"):
        next(iter_data_dir(d, sample_rate=8000))
    (d / "segments").write_text("s1 r1 5.0 6.0\n")
    with pytest.raises(AudioError, match=r"utterance s1: segment 5.0-6.0 s lies outside"):
        list(iter_data_dir(d))
    (d / "segments").write_text("s1 r3 0 1\n")
    with pytest.raises(AudioError, match=r"utterance s1: recording 'r3'"):
        list(iter_data_dir(d))


def test_audio_duration(tmp_path):
    _wav(tmp_path / "a.wav", 24000)
    assert audio_duration(str(tmp_path / "a.wav")) == 1.5
    assert audio_duration(f"cat {tmp_path}/a.wav |") == 1.5


def test_pipe_output_runs_each_command_once_in_a_row_and_cleans_up(tmp_path):
    a, b = _wav(tmp_path / "a.wav", 4000), _wav(tmp_path / "b.wav", 3000, seed=1)
    runs = tmp_path / "runs"
    spec = {k: f"echo {k} >> {runs}; cat {tmp_path}/{k}.wav |" for k in "ab"}
    pipes = PipeOutput(tmp_path, prefix=".t.")
    got = [read_range(spec[k], s, n, k, RATE, pipes=pipes) * 32768
           for k, s, n in (("a", 0, 100), ("a", 3900, None), ("b", 5, 10), ("a", 7, 3))]
    for y, want in zip(got, (a[:100], a[3900:], b[5:15], a[7:10])):
        np.testing.assert_array_equal(y, want)
    assert runs.read_text().split() == ["a", "b", "a"]     # again only after another command ran
    assert len(list(tmp_path.glob(".t.*"))) == 1
    bad = "false |"
    with pytest.raises(AudioError, match="utterance u: command failed with exit status 1"):
        read_range(bad, 0, 10, "u", RATE, pipes=pipes)
    with pytest.raises(AudioError, match="command failed"):  # not taken for the output of the last good run
        read_range(bad, 0, 10, "u", RATE, pipes=pipes)
    pipes.close()
    assert list(tmp_path.glob(".t.*")) == []


def test_flac_stream_of_unknown_length_is_a_clear_error(tmp_path):
    """A FLAC writer that cannot seek back leaves STREAMINFO's sample count 0; libsndfile then
    reports 2**63 - 1 frames, and reading allocated that (a bare ValueError before)."""
    _wav(tmp_path / "a.flac", 1600, fmt="FLAC")
    data = bytearray((tmp_path / "a.flac").read_bytes())
    field = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)   # STREAMINFO: total samples, 36 bits
    data[18:26] = field.to_bytes(8, "big")
    (tmp_path / "s.flac").write_bytes(bytes(data))
    for read in (lambda: read_audio(f"cat {tmp_path}/s.flac |", "u1"),
                 lambda: audio_duration(f"cat {tmp_path}/s.flac |", "u1"),
                 lambda: read_range(str(tmp_path / "s.flac"), 0, 10, "u1", RATE)):
        with pytest.raises(AudioError, match="utterance u1: .*s.flac.* unknown length .*write WAV"):
            read()
