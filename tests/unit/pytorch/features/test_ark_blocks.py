"""The ark writers that bound memory (block by block, compressed a few columns at a time) write the same
bytes and scp as kaldiio's whole-matrix writer."""
from collections.abc import Callable

import numpy as np
import pytest

from pytorch.features.ark import ArkScpWriter, ark_scp_writer


def _assert_same_as_kaldiio(tmp_path, mats: dict, compress: bool,
                            write: Callable[[ArkScpWriter, str, np.ndarray], None]) -> None:
    """`write(writer, key, matrix)` for every matrix gives kaldiio's ark bytes and scp."""
    with ark_scp_writer(tmp_path / "ref.ark", tmp_path / "ref.scp", compress) as w:
        for k, m in mats.items():
            w(k, m.astype(np.float32))
    with ark_scp_writer(tmp_path / "new.ark", tmp_path / "new.scp", compress) as w:
        for k, m in mats.items():
            write(w, k, m.astype(np.float32))
    assert (tmp_path / "new.ark").read_bytes() == (tmp_path / "ref.ark").read_bytes()
    assert (tmp_path / "new.scp").read_text() == (tmp_path / "ref.scp").read_text().replace("ref.ark", "new.ark")


@pytest.mark.parametrize("compress", [False, True])
def test_same_bytes_as_kaldiio(tmp_path, compress):
    rng = np.random.default_rng(0)
    mats = {"a": rng.standard_normal((1001, 83)) * 5, "b": rng.standard_normal((3, 83)), "c": rng.random((9, 83))}

    def write(w: ArkScpWriter, k: str, m: np.ndarray) -> None:
        if compress:
            w.write_compressed(k, m, cols_per_pass=8)
        else:
            w.write_blocks(k, len(m), m.shape[1], [m[:2], m[2:]])
    _assert_same_as_kaldiio(tmp_path, mats, compress, write)


def test_block_rows_must_match_the_header(tmp_path):
    with pytest.raises(ValueError, match="header says 5"), \
            ark_scp_writer(tmp_path / "x.ark", tmp_path / "x.scp") as w:
        w.write_blocks("k", 5, 4, [np.zeros((3, 4), np.float32)])
    assert not (tmp_path / "x.scp").exists() and not (tmp_path / "x.ark").exists()


@pytest.mark.parametrize("in_memory_bytes", [0, 1 << 30])
def test_compressed_blocks_same_bytes_as_kaldiio(tmp_path, in_memory_bytes):
    # 0: every matrix goes through the column-major temporary file (long recordings); 1 GB: in memory.
    rng = np.random.default_rng(1)
    mats = {"a": rng.standard_normal((1001, 83)) * 5, "b": rng.random((9, 7)), "c": np.full((20, 4), 3.0),
            "d": rng.standard_normal((5000, 80)) ** 3}

    def write(w: ArkScpWriter, k: str, m: np.ndarray) -> None:
        w.write_compressed_blocks(k, len(m), m.shape[1], [m[:3], m[3:8], m[8:]], in_memory_bytes)
        assert not w.spill.exists()
    _assert_same_as_kaldiio(tmp_path, mats, True, write)


@pytest.mark.parametrize("in_memory_bytes", [0, 1 << 30])
@pytest.mark.parametrize("given", [5, 15])
def test_compressed_blocks_rows_must_match(tmp_path, in_memory_bytes, given):
    with pytest.raises(ValueError, match="rows"), ark_scp_writer(tmp_path / "x.ark", tmp_path / "x.scp", True) as w:
        w.write_compressed_blocks("k", 10, 4, [np.zeros((given, 4), np.float32)], in_memory_bytes)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
