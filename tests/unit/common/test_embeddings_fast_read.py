"""The direct ark reader of common/embeddings.py gives what kaldiio gives, and hands over to kaldiio for
every layout it does not handle."""
import kaldiio
import numpy as np
import pytest

from common import embeddings
from common.embeddings import iter_embedding_blocks, load_embeddings, write_embeddings


def _kaldiio(scp):
    keys, rows = zip(*((k, np.asarray(v, np.float32).reshape(-1))
                       for k, v in kaldiio.load_scp_sequential(scp)))
    return list(keys), np.stack(rows)


@pytest.fixture
def x():
    return np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)


def _check(scp, fast=True):
    assert (embeddings._fast_table(scp) is not None) == fast
    keys, got = load_embeddings(scp)
    want_keys, want = _kaldiio(scp)
    assert keys == want_keys and got.dtype == np.float32
    np.testing.assert_array_equal(got, want)
    blocks = list(iter_embedding_blocks(scp, block=7))
    assert [k for b in blocks for k in b[0]] == keys
    np.testing.assert_array_equal(np.concatenate([b[1] for b in blocks]), want)


def test_even_and_uneven_records(tmp_path, x):
    write_embeddings([f"u{i:03d}" for i in range(40)], x, tmp_path / "a.ark", tmp_path / "a.scp")
    _check(str(tmp_path / "a.scp"))  # evenly spaced: one strided view
    write_embeddings([f"u{'x' * (i % 4)}{i}" for i in range(40)], x, tmp_path / "b.ark", tmp_path / "b.scp")
    _check(str(tmp_path / "b.scp"))  # keys of several lengths: record by record


def test_several_arks_shuffled_and_doubles(tmp_path, x):
    keys = [f"u{i:03d}" for i in range(40)]
    write_embeddings(keys[:15], x[:15], tmp_path / "1.ark", tmp_path / "1.scp")
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/2.ark,{tmp_path}/2.scp") as w:  # Kaldi DV records
        for k, v in zip(keys[15:], x[15:]):
            w(k, v.astype(np.float64))
    _check(str(tmp_path / "2.scp"))
    lines = (tmp_path / "1.scp").read_text().splitlines(True)
    lines += [ln for ln in (tmp_path / "2.scp").read_text().splitlines(True)]
    order = np.random.default_rng(1).permutation(len(lines))
    (tmp_path / "m.scp").write_text("".join(lines[i] for i in order))
    # FV and DV records in one table: kaldiio reads it (one dtype per fast table)
    _check(str(tmp_path / "m.scp"), fast=False)
    write_embeddings(keys[15:], x[15:], tmp_path / "3.ark", tmp_path / "3.scp")
    lines = ((tmp_path / "1.scp").read_text().splitlines(True)
             + (tmp_path / "3.scp").read_text().splitlines(True))
    (tmp_path / "m2.scp").write_text("".join(lines[i] for i in order))
    _check(str(tmp_path / "m2.scp"))
    k, got = load_embeddings([str(tmp_path / "1.scp"), str(tmp_path / "3.scp")])
    assert k == keys
    np.testing.assert_array_equal(got, x)


def test_other_layouts_go_to_kaldiio(tmp_path, x):
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/m.ark,{tmp_path}/m.scp") as w:  # 1 x D matrices
        for i, v in enumerate(x):
            w(f"u{i}", v[None])
    _check(str(tmp_path / "m.scp"), fast=False)
    write_embeddings(["a", "b"], x[:2], tmp_path / "a.ark", tmp_path / "a.scp")
    off = (tmp_path / "a.scp").read_text().split()[1]
    (tmp_path / "t.scp").write_text(f"a\t{off}\n")  # a tab: not the plain layout
    _check(str(tmp_path / "t.scp"), fast=False)
    (tmp_path / "bad.scp").write_text(f"a\nb c {off}\n")  # 2 tokens per line on average, not on each line
    assert embeddings._fast_table(str(tmp_path / "bad.scp")) is None
