"""pytorch.bin.compute_feats computes a recording in chunks (and writes uncompressed matrices block by
block) with the same result as the whole signal: dither, both framings, compressed or not, and a pipe."""
import kaldiio
import numpy as np
import pytest
import soundfile as sf

from pytorch.bin import compute_feats


@pytest.fixture
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "data"
    d.mkdir()
    lines = []
    for i, sec in enumerate([3.3, 0.5, 2.01]):
        path = tmp_path / f"r{i}.wav"
        sf.write(path, (rng.standard_normal(int(sec * 16000)) * 3000).astype(np.int16), 16000)
        lines.append(f"r{i} {path}\n")
    lines.append(f"r3 cat {tmp_path / 'r0.wav'} |\n")  # a pipe: its output read range by range from a temporary file
    (d / "wav.scp").write_text("".join(lines))
    return d


@pytest.mark.parametrize("snip_edges", ["true", "false"])
@pytest.mark.parametrize("compress", ["true", "false", "spill"])
def test_chunked_equals_whole(data_dir, tmp_path, snip_edges, compress):
    # "spill": compressed through the temporary file that long recordings use (--compress-buffer-mb 0)
    extra = ["--compress-buffer-mb", "0"] if compress == "spill" else []
    compress = "true" if compress == "spill" else compress
    conf = tmp_path / "fbank.yaml"
    conf.write_text(f"name: fbank\nnum_mel_bins: 40\ndither: 1.0\nsnip_edges: {snip_edges}\n")
    outs = {}
    for chunk in (37, 10**9):
        ark, scp = tmp_path / f"f{chunk}.ark", tmp_path / f"f{chunk}.scp"
        assert compute_feats.main(["--config", str(conf), "--compress", compress, "--chunk-frames", str(chunk),
                                   *(extra if chunk == 37 else []), str(data_dir), str(ark), str(scp)]) == 0
        outs[chunk] = dict(kaldiio.load_scp(str(scp)).items())
    assert list(outs[37]) == ["r0", "r1", "r2", "r3"]
    assert outs[37]["r0"].shape[0] > 37  # several chunks
    for k, whole in outs[10**9].items():
        np.testing.assert_array_equal(outs[37][k], whole)


@pytest.mark.parametrize("chunk", [37, 10**9])
def test_nan_samples_stop_at_the_utterance(tmp_path, capsys, chunk):
    """A float wav with a NaN sample: a one-line error naming the utterance and the first bad frame,
    and no scp (nothing that looks complete)."""
    d = tmp_path / "data"
    d.mkdir()
    x = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    x[8000] = np.nan   # frames of 400 samples every 160: frame 48 is the first to hold sample 8000
    sf.write(tmp_path / "bad.wav", x, 16000, subtype="FLOAT")
    sf.write(tmp_path / "ok.wav", x[:4000] * 0, 16000, subtype="FLOAT")
    (d / "wav.scp").write_text(f"a_ok {tmp_path / 'ok.wav'}\nb_bad {tmp_path / 'bad.wav'}\n")
    conf = tmp_path / "fbank.yaml"
    conf.write_text("name: fbank\nnum_mel_bins: 23\ndither: 0.0\n")
    assert compute_feats.main(["--config", str(conf), "--chunk-frames", str(chunk), str(d),
                               str(tmp_path / "f.ark"), str(tmp_path / "f.scp")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "utterance b_bad: non-finite feature values from frame 48 on" in err
    assert not (tmp_path / "f.scp").exists() and not (tmp_path / "f.ark").exists()


def _streamed(path, out):
    """`path`'s bytes with the data size a pipe writer leaves (it cannot seek back to fill it in)."""
    data = bytearray(path.read_bytes())
    pos = data.index(b"data") + 4
    data[pos:pos + 4] = (0x7FFFF000).to_bytes(4, "little")
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("compress", ["true", "false"])
def test_segments_and_pipes_are_read_by_range(tmp_path, compress):
    """Segments of a file and of pipes (one with a streamed header) are read range by range from the
    file or from the pipe's output on disk: the same features as each segment cut into its own file,
    dither included; the pipe's temporary file is gone afterwards."""
    rng = np.random.default_rng(1)
    seg_dir, cut_dir, out = tmp_path / "seg", tmp_path / "cut", tmp_path / "out"
    for d in (seg_dir, cut_dir, out):
        d.mkdir()
    audio = {}
    for reco, sec in (("ra", 4.2), ("rb", 3.1), ("rc", 2.5)):
        audio[reco] = (rng.standard_normal(int(sec * 16000)) * 3000).astype(np.int16)
        sf.write(tmp_path / f"{reco}.wav", audio[reco], 16000)
    stream = _streamed(tmp_path / "rc.wav", tmp_path / "rc_stream.wav")
    (seg_dir / "wav.scp").write_text(f"ra {tmp_path / 'ra.wav'}\nrb cat {tmp_path / 'rb.wav'} |\n"
                                     f"rc cat {stream} |\n")
    # start, end (-1: to the end; 3.4 s runs 0.3 s past rb's end, which Kaldi clips)
    segs = [("ra-1", "ra", 0.0, 1.37), ("ra-2", "ra", 1.2, 4.0), ("ra-3", "ra", 3.9, -1),
            ("rb-1", "rb", 0.52, 2.3), ("rb-2", "rb", 2.0, 3.4), ("rc-1", "rc", 0.0, -1), ("rc-2", "rc", 0.7, 1.9)]
    (seg_dir / "segments").write_text("".join(f"{u} {r} {s} {e}\n" for u, r, s, e in segs))
    cut_lines = []
    for u, r, s, e in segs:
        x = audio[r]
        sf.write(tmp_path / f"{u}.wav", x[round(s * 16000):len(x) if e == -1 else round(e * 16000)], 16000)
        cut_lines.append(f"{u} {tmp_path / f'{u}.wav'}\n")
    (cut_dir / "wav.scp").write_text("".join(cut_lines))
    conf = tmp_path / "fbank.yaml"
    conf.write_text("name: fbank\nnum_mel_bins: 40\ndither: 1.0\n")
    feats = {}
    for name, d in (("seg", seg_dir), ("cut", cut_dir)):
        ark, scp = out / f"{name}.ark", out / f"{name}.scp"
        assert compute_feats.main(["--config", str(conf), "--compress", compress, "--chunk-frames", "37",
                                   str(d), str(ark), str(scp)]) == 0
        feats[name] = dict(kaldiio.load_scp(str(scp)).items())
    assert list(feats["seg"]) == [u for u, *_ in segs]
    for u in feats["cut"]:
        np.testing.assert_array_equal(feats["seg"][u], feats["cut"][u])
    assert sorted(p.name for p in out.iterdir()) == ["cut.ark", "cut.scp", "cut.utt2num_frames",
                                                     "seg.ark", "seg.scp", "seg.utt2num_frames"]


def test_failing_pipe_leaves_no_output_and_no_temporary_file(tmp_path, capsys):
    d, out = tmp_path / "data", tmp_path / "out"
    d.mkdir()
    out.mkdir()
    sf.write(tmp_path / "a.wav", np.zeros(16000, np.int16), 16000)
    (d / "wav.scp").write_text(f"a cat {tmp_path / 'a.wav'} |\nb cat {tmp_path / 'missing.wav'} |\n")
    conf = tmp_path / "fbank.yaml"
    conf.write_text("name: fbank\nnum_mel_bins: 23\n")
    assert compute_feats.main(["--config", str(conf), str(d), str(out / "f.ark"), str(out / "f.scp")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "utterance b: command failed with exit status 1" in err and "missing.wav" in err
    assert list(out.iterdir()) == []
