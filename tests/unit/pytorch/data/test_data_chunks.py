import kaldiio
import numpy as np
import pytest

from common.errors import FormatError
from common.io import read_kv
from pytorch.data import featreader
from pytorch.data.chunks import random_chunk, read_voiced, repeat_pad
from pytorch.data.datadir import DataDir, voiced_counts
from pytorch.data.featreader import FeatReader


def _reader(d):
    return FeatReader(read_kv(d / "feats.scp"), str(d / "feats.scp"))


def test_offset_chunk_equals_slice_of_full_matrix(feats_dir_factory, monkeypatch):
    d, mats = feats_dir_factory(lengths={"a1": ("a", 37), "a2": ("a", 50), "b1": ("b", 9)}, dim=7)
    reader = _reader(d)
    # The in-place path must not fall back to kaldiio's whole-matrix reader.
    monkeypatch.setattr(kaldiio, "load_mat", lambda *a, **k: pytest.fail("read the whole matrix"))
    for utt, m in mats.items():
        info = reader.info(utt)
        assert (info.rows, info.cols) == m.shape and info.kind == "FM"
        for start, length in [(0, m.shape[0]), (3, 5), (m.shape[0] - 4, 4), (m.shape[0], 0)]:
            np.testing.assert_array_equal(reader.read(utt, start, length), m[start:start + length])
    with pytest.raises(IndexError):
        reader.read("b1", 5, 10)


@pytest.mark.parametrize("span_bytes", [None, 0])   # 0: short chunks of `CM` read column by column
@pytest.mark.parametrize("method,kind", [(2, "CM"), (3, "CM2"), (5, "CM3")])
def test_compressed_chunk_equals_slice_of_kaldiio_full_read(tmp_path, monkeypatch, method, kind, span_bytes):
    if span_bytes is not None:
        monkeypatch.setattr(featreader, "CM_SPAN_BYTES", span_bytes)
    rng = np.random.default_rng(4)
    mats = {"a1": rng.standard_normal((30, 4)).astype(np.float32),
            "a2": rng.standard_normal((17, 6)).astype(np.float32)}
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/f.ark,{tmp_path}/f.scp", compression_method=method) as w:
        for u, m in mats.items():
            w(u, m)
    scp = read_kv(tmp_path / "f.scp")
    full = {u: kaldiio.load_mat(scp[u]) for u in mats}
    reader = FeatReader(scp)
    monkeypatch.setattr(kaldiio, "load_mat", lambda *a, **k: pytest.fail("read the whole matrix"))
    for u, m in mats.items():
        info = reader.info(u)
        assert info.kind == kind and (info.rows, info.cols) == m.shape
        for start, length in [(0, m.shape[0]), (10, 6), (5, 2), (m.shape[0] - 1, 1), (3, 0)]:
            np.testing.assert_allclose(reader.read(u, start, length), full[u][start:start + length],
                                       atol=1e-6)
        assert np.abs(full[u] - m).max() < 0.1  # lossy, but the same matrix


def test_pipe_entries_fall_back_to_kaldiio(tmp_path):
    m = np.arange(12, dtype=np.float32).reshape(4, 3)
    kaldiio.save_mat(str(tmp_path / "m.mat"), m)
    reader = FeatReader({"u": f"cat {tmp_path / 'm.mat'} |"})
    info = reader.info("u")
    assert info.kind is None and (info.rows, info.cols) == (4, 3)
    np.testing.assert_array_equal(reader.read("u", 1, 2), m[1:3])


def test_truncated_ark_is_a_clear_error(feats_dir_factory):
    d, _ = feats_dir_factory(lengths={"a1": ("a", 40)}, dim=3)
    ark = d / "feats.ark"
    ark.write_bytes(ark.read_bytes()[:-100])
    with pytest.raises(FormatError, match="truncated"):
        _reader(d).read("a1", 30, 10)


def test_repeat_pad():
    m = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = repeat_pad(m, 7)
    np.testing.assert_array_equal(out[:, 0], [0, 2, 4, 0, 2, 4, 0])
    np.testing.assert_array_equal(repeat_pad(m, 2), m[:2])


def test_vad_selects_voiced_frames_then_chunks(feats_dir_factory):
    vad = {"a1": np.array([0, 1, 1, 0, 0, 1, 1, 1, 0, 1] * 3)}
    d, mats = feats_dir_factory(lengths={"a1": ("a", 30)}, dim=3, vad=vad)
    reader = _reader(d)
    info = reader.info("a1")
    mask = vad["a1"] > 0
    voiced = mats["a1"][mask]
    np.testing.assert_array_equal(read_voiced(reader, "a1", info, mask), voiced)
    np.testing.assert_array_equal(read_voiced(reader, "a1", info, mask, 4, 6), voiced[4:10])
    assert voiced_counts(d / "vad.scp", ["a1"]).tolist() == [mask.sum()]
    rng = np.random.default_rng(3)
    for _ in range(5):
        chunk = random_chunk(reader, "a1", info, mask, int(mask.sum()), 8, rng)
        # A chunk is a contiguous run of voiced frames.
        starts = [s for s in range(voiced.shape[0] - 7) if np.array_equal(voiced[s:s + 8], chunk)]
        assert starts
    # Fewer voiced frames than the chunk: the voiced frames repeated.
    long = random_chunk(reader, "a1", info, mask, int(mask.sum()), 40, rng)
    np.testing.assert_array_equal(long, repeat_pad(voiced, 40))


def test_missing_entries_and_dirs_are_clear_errors(tmp_path, feats_dir_factory):
    d, _ = feats_dir_factory(lengths={"a1": ("a", 10), "a2": ("a", 12)})
    (d / "feats.scp").write_text((d / "feats.scp").read_text().splitlines()[0] + "\n")
    with pytest.raises(FormatError, match="a2"):
        DataDir(d).table("feats.scp")
    with pytest.raises(FormatError, match="not found"):
        DataDir(tmp_path / "nope")


def test_concat_clips_appends_same_speaker_pieces_then_repeats():
    from pytorch.data.chunks import MAX_CONCAT, concat_clips
    clips = {1: np.full(3, 1.0), 2: np.full(1, 2.0)}

    def read(j, start, length):
        x = clips[j][start:]
        return x if length is None else x[:length]
    rng = np.random.default_rng(0)
    out = concat_clips(np.zeros(2), 6, np.array([1]), np.array([0, 3, 1]), read, rng)
    np.testing.assert_array_equal(out, [0, 0, 1, 1, 1, 1])   # the last clip is cut to what is missing
    long = concat_clips(np.zeros(1), MAX_CONCAT + 10, np.array([2]), np.array([0, 3, 1]), read, rng)
    assert long.size == MAX_CONCAT + 10 and long[MAX_CONCAT + 1] == 0.0  # after MAX_CONCAT clips: repetition
