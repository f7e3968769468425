"""Vectorised three-column parsing and score writing (score/textcols.py) against plain Python."""
import numpy as np
import pytest

from score.textcols import format_lines, parse3, parse_floats
from score.trials import read_pairs, read_scores, write_score_file


def test_parse3_fields_and_layout_checks():
    c = parse3(b"a x target\nbb yy nontarget\nc z target")  # no final newline is fine
    assert c.field(0).tolist() == [b"a", b"bb", b"c"]
    assert c.field(1).tolist() == [b"x", b"yy", b"z"]
    assert c.field(2).tolist() == [b"target", b"nontarget", b"target"]
    for bad in (b"a x t\n\nb y t\n", b"a  x t\n", b"a\tx t\n", b"a x t\r\n", b"a x\nb y t u\n", b" a x\n",
                b""):
        assert parse3(bad) is None, bad
    two = parse3(b"e1 t1\ne2 t2\n", 2)
    assert two.field(0).tolist() == [b"e1", b"e2"] and two.field(1).tolist() == [b"t1", b"t2"]
    assert parse_floats(np.array([b"1.5", b"-2e3"])).tolist() == [1.5, -2000.0]
    assert parse_floats(np.array([b"1.5", b"x"])) is None


def test_format_lines_matches_printf():
    s = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.25, 12345.678901, -987654.000001, 3e-7, -3e-7, 1e9 + 0.5])
    e = np.array([b"spk1"] * len(s))
    t = np.array([f"u{i}".encode() for i in range(len(s))])
    want = "".join(f"spk1 u{i} {v:.6f}\n" for i, v in enumerate(s)).encode()
    assert format_lines(e, t, s) == want
    rng = np.random.default_rng(0)
    r = rng.normal(size=5000) * np.logspace(-3, 5, 5000)
    lines = format_lines(np.array([b"e"] * len(r)), np.array([b"t"] * len(r)), r).split()
    np.testing.assert_allclose(np.array(lines[2::3], dtype=float), r, atol=1.01e-6, rtol=0)
    with pytest.raises(ValueError, match="finite"):
        format_lines(e[:1], t[:1], np.array([np.nan]))


def test_read_and_write_round_trip(tmp_path):
    p = tmp_path / "s"
    p.write_text("spk1 u1 0.5\nspk2 ü2 -1.25\n")  # non-ASCII ids travel as UTF-8 bytes
    e, t, s = read_scores(str(p))
    assert e.dtype.kind == "S" and s.tolist() == [0.5, -1.25]
    write_score_file(str(tmp_path / "o"), e, t, s)
    assert (tmp_path / "o").read_text() == "spk1 u1 0.500000\nspk2 ü2 -1.250000\n"
    # General layout (tabs): read line by line, same ids and output.
    p.write_text("spk1\tu1\t0.5\nspk2\tü2\t-1.25\n")
    e, t, s = read_scores(str(p))
    assert e.dtype.kind == "S" and e.tolist() == [b"spk1", b"spk2"]
    write_score_file(str(tmp_path / "o2"), e, t, s)
    assert (tmp_path / "o2").read_text() == (tmp_path / "o").read_text()
    # Unlabelled (two-column) trial lists are read for scoring.
    (tmp_path / "t2").write_text("spk1 u1\nspk2 u2\n")
    e, t, third = read_pairs(str(tmp_path / "t2"), third=False)
    assert e.tolist() == [b"spk1", b"spk2"] and third is None
