"""Embedding ark/scp IO: round trip, streaming blocks, and bad input."""
import kaldiio
import numpy as np
import pytest

from common.embeddings import iter_embedding_blocks, load_embeddings, write_embeddings


def test_round_trip_and_blocks(tmp_path):
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    keys = [f"u{i}" for i in range(10)]
    write_embeddings(keys, x, str(tmp_path / "e.ark"), str(tmp_path / "e.scp"))
    assert not list(tmp_path.glob("*.tmp"))
    k, y = load_embeddings(str(tmp_path / "e.scp"))
    assert k == keys and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    blocks = list(iter_embedding_blocks(str(tmp_path / "e.scp"), block=4))
    assert [len(b[0]) for b in blocks] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), x)
    assert sum((b[0] for b in blocks), []) == keys


def test_bad_input(tmp_path):
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/m.ark,{tmp_path}/m.scp") as w:
        w("a", np.zeros(4, np.float32))
        w("b", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="b has dim 3, earlier embeddings have 4"):
        load_embeddings(str(tmp_path / "m.scp"))
    with pytest.raises(ValueError, match="b has dim 3"):
        list(iter_embedding_blocks(str(tmp_path / "m.scp"), block=8))
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/d.ark,{tmp_path}/d.scp") as w:
        w("a", np.zeros(4, np.float32))
        w("a", np.ones(4, np.float32))
    with pytest.raises(ValueError, match="key 'a' appears twice"):
        load_embeddings(str(tmp_path / "d.scp"))
    with pytest.raises(FileNotFoundError, match="no such embedding scp"):
        load_embeddings(str(tmp_path / "missing.scp"))
    (tmp_path / "empty.scp").write_text("")
    with pytest.raises(ValueError, match="no embeddings"):
        load_embeddings(str(tmp_path / "empty.scp"))
