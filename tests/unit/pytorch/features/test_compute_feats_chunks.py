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
    lines.append(f"r3 cat {tmp_path / 'r0.wav'} |\n")  # a pipe: read whole, computed in chunks
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
