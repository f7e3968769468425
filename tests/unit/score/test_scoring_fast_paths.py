"""The fast paths of the back-end (issue 8 §7) give the same results as the general ones: the dense grid and
the row-wise pair scoring (cosine and PLDA, single and multi-utterance enrollment), hashed id lookup and the
dict, word-wise text formatting / parsing and printf / float(), and the scoring CLIs import no scipy."""
import subprocess
import sys

import numpy as np
import pytest

from score import cosine
from score.cosine import cosine_scores, grid_scores, index_ids, row_dots
from score.norm import cohort_stats
from score.plda import PLDA
from score.textcols import _words_general, format_lines, parse3, parse_floats


def _trials(rng, n_e, n_t, kind):
    e, t = (a.ravel() for a in np.meshgrid(np.arange(n_e), np.arange(n_t), indexing="ij"))
    if kind == "shuffled":
        p = rng.permutation(len(e))
        e, t = e[p], t[p]
    elif kind == "subset":  # dense over the ids it uses, but not every scp row is used
        keep = (e % 3 != 1) & (t % 4 != 2)
        e, t = e[keep], t[keep]
    return e, t


@pytest.fixture
def sparse(monkeypatch):
    """Force the row-wise path, as for a sparse trial list."""
    monkeypatch.setattr(cosine, "DENSE_RATIO", 0)


@pytest.mark.parametrize("kind", ["grid", "shuffled", "subset"])
@pytest.mark.parametrize("cells", [1 << 22, 37, 1])
def test_cosine_dense_equals_sparse(kind, cells, monkeypatch):
    rng = np.random.default_rng(0)
    enroll, test = rng.normal(size=(13, 8)), rng.normal(size=(29, 8))
    e, t = _trials(rng, 13, 29, kind)
    monkeypatch.setattr(cosine, "GRID_CELLS", cells)  # 1 cell: one enroll row per block, order by radix sort
    dense = cosine_scores(enroll, test, e, t)
    monkeypatch.setattr(cosine, "DENSE_RATIO", 0)
    np.testing.assert_allclose(dense, cosine_scores(enroll, test, e, t), rtol=0, atol=1e-6)
    want = [a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(enroll[e], test[t])]
    np.testing.assert_allclose(dense, want, rtol=0, atol=1e-6)


def test_grid_declines_sparse_lists():
    e, t = np.arange(100), np.arange(100)  # a diagonal: 100 trials over a 100 x 100 grid
    assert grid_scores(lambda a, b: np.zeros((len(a), len(b))), e, t, 100, 100) is None


@pytest.mark.parametrize("per_row", [1, 3, 40])  # 1, 3: the blocked einsum; 40: grouped by row of a
@pytest.mark.parametrize("grouped", [True, False])
def test_row_dots_equal_brute_force(per_row, grouped, monkeypatch):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, 7)), rng.normal(size=(50, 7))
    a_idx = np.repeat(rng.permutation(30)[:20], per_row)  # some rows of a unused, runs of equal rows
    b_idx = rng.integers(0, 50, len(a_idx))
    if not grouped:
        p = rng.permutation(len(a_idx))
        a_idx, b_idx = a_idx[p], b_idx[p]
    monkeypatch.setattr(cosine, "BLOCK", 7)  # several einsum blocks
    want = np.array([a[i] @ b[j] for i, j in zip(a_idx, b_idx)])
    np.testing.assert_allclose(row_dots(a, b, a_idx, b_idx), want, rtol=1e-12, atol=1e-12)
    assert row_dots(a, b, a_idx[:0], b_idx[:0]).shape == (0,)


@pytest.mark.parametrize("n_enroll", [None, "counts"])
@pytest.mark.parametrize("kind", ["grid", "shuffled", "subset"])
def test_plda_dense_equals_sparse(kind, n_enroll, monkeypatch):
    rng = np.random.default_rng(1)
    spk = rng.integers(0, 20, 400)
    x = rng.normal(size=(20, 6))[spk] + 0.5 * rng.normal(size=(400, 6))
    plda = PLDA.fit(x, spk, n_iter=3)
    enroll, test = rng.normal(size=(11, 6)), rng.normal(size=(17, 6))
    counts = rng.integers(1, 5, 11) if n_enroll else None  # multi-utterance enrollment (Kaldi --num-utts)
    e, t = _trials(rng, 11, 17, kind)
    monkeypatch.setattr(cosine, "GRID_CELLS", 40)
    dense = plda.score_trials(enroll, test, e, t, counts)
    np.testing.assert_allclose(dense, plda.score_matrix(enroll, test, counts)[e, t], rtol=1e-12, atol=1e-9)
    monkeypatch.setattr(cosine, "DENSE_RATIO", 0)
    np.testing.assert_allclose(dense, plda.score_trials(enroll, test, e, t, counts), rtol=1e-12, atol=1e-9)


def test_cohort_stats_of_used_rows_only():
    rng = np.random.default_rng(2)
    x, cohort = rng.normal(size=(9, 5)), rng.normal(size=(30, 5))
    full = cohort_stats(x, cohort, 7)
    rows = np.array([1, 4, 8])
    part = cohort_stats(x, cohort, 7, rows, cells=31)  # one row per block
    for a, b in zip(full, part):  # float32 matmuls of other shapes may round differently
        np.testing.assert_allclose(a[rows], b[rows], rtol=1e-6)
        assert np.isnan(np.delete(b, rows)).all()


def test_index_ids_hashed_equals_dict():
    rng = np.random.default_rng(3)
    keys = [f"spk{i}" if i % 3 else f"a-much-longer-utterance-id-{i:06d}" for i in range(5000)]
    pick = rng.integers(0, len(keys), 20000)
    ids = np.array([keys[i].encode() for i in pick])
    np.testing.assert_array_equal(index_ids(ids, keys, "test", "x.scp"), pick)
    np.testing.assert_array_equal(index_ids(ids.astype("S40"), keys, "test", "x.scp"), pick)
    np.testing.assert_array_equal(index_ids(np.array([keys[i] for i in pick], dtype=object), keys, "t", "x"),
                                  pick)
    with pytest.raises(ValueError, match="x.scp: no embedding for test id 'spk10x'"):
        index_ids(np.r_[ids[:5], [b"spk10x"], ids[5:9]], keys, "test", "x.scp")


def test_format_lines_fast_and_general_paths_match_printf():
    rng = np.random.default_rng(4)
    for scale in (1e-4, 1.0, 30.0, 1e4, 1e6):  # 1e6: integer parts of 1 to 7 digits, beyond a word's shift
        s = rng.normal(size=3000) * scale
        s[:4] = [0.0, -0.0, -4e-7, 9.9999996]
        for e, t in ((b"spk0001", b"utt-%06d"), (b"e", b"t")):  # 1-byte ids: the byte-matrix layout
            ee, tt = np.array([e] * len(s)), np.array([t % i if b"%" in t else t for i in range(len(s))])
            want = b"".join(b"%s %s %.6f\n" % (e, b, v) for b, v in zip(tt, s))
            got = format_lines(ee, tt, s)
            lines = [(g, w) for g, w in zip(got.split(b"\n"), want.split(b"\n")) if g != w]
            assert not lines, (scale, lines[:3])
    # The general word builder (any width) agrees with printf on its own as well.
    s = np.array([123456789.25, -1.5, 0.0])
    v = np.rint(s * 1e6).astype(np.int64)
    ip, fp = np.divmod(np.abs(v), 10 ** 6)
    nd = np.array([9, 1, 1])
    w = _words_general(np.signbit(s), ip, fp, nd, 9, 6)
    assert w.view("S24").ravel().tolist() == [b"%.6f" % x for x in s]


def test_parse_floats_equals_float():
    rng = np.random.default_rng(5)
    for d in range(1, 8):
        v = rng.normal(size=3000) * 10.0 ** rng.integers(-3, 7, 3000)
        tok = np.array([b"%.*f" % (d, x) for x in v])
        got, want = parse_floats(tok), np.array([float(x) for x in tok])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    for odd in ([b"1.5", b"2e3"], [b"1.50", b"-.5"], [b"1.5", b"+2.0"], [b"1.5", b"inf"], [b"3", b"-4"]):
        np.testing.assert_array_equal(parse_floats(np.array(odd)), [float(x) for x in odd])
    assert parse_floats(np.array([b"1.5", b"1.5x"])) is None


def _key_blob(c) -> bytes:
    """The plain reference: every line's `enroll test`, one space after each id."""
    return b"".join(e + b" " + t + b" " for e, t in zip(c.field(0).tolist(), c.field(1).tolist()))


def test_same_keys_equals_key_blob_comparison():
    a = b"spk1 utt1 0.5\nspk1 utt22 -1.25\nspk2 utt1 3.0"
    for b in (b"spk1 utt1 7.000000\nspk1 utt22 8.0\nspk2 utt1 9.5\n",
              b"spk1 utt1 7\nspk1 utt2 8\nspk2 utt1 9\n",
              b"spk1 utt1 7\nspk2 utt1 9\nspk1 utt22 8\n", b"spk1 utt1 7\nspk1 utt22 8\n"):
        ca, cb = parse3(a), parse3(b)
        assert ca.same_keys(cb) == (_key_blob(ca) == _key_blob(cb))
    assert parse3(a).same_keys(parse3(a + b"\n"))


def test_scoring_clis_import_no_scipy():
    code = ("import sys, score.bin.score, score.bin.norm, score.bin.compute_metrics; "
            "print(' '.join(m for m in ('scipy', 'matplotlib', 'kaldiio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
