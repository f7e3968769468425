"""Trial lists (Kaldi and SASV), score files and joining: formats and errors."""
import numpy as np
import pytest

from common.errors import FormatError
from score.trials import join_scores, read_sasv_trials, read_scores, read_trials


def test_read_and_join_any_order(tmp_path):
    (tmp_path / "t").write_text("a x target\na y nontarget\n\nb x nontarget\n")  # a blank line is skipped
    (tmp_path / "s").write_text("b x -1.5\na x 2e-1\na y 3\n")
    e, t, lab = read_trials(str(tmp_path / "t"))
    assert e.tolist() == [b"a", b"a", b"b"] and lab.tolist() == [True, False, False]  # ids as UTF-8 bytes
    np.testing.assert_allclose(join_scores(e, t, str(tmp_path / "s")), [0.2, 3.0, -1.5])


def test_sasv(tmp_path):
    (tmp_path / "t").write_text("s1 u1 target\ns1 u2 spoof\ns2 u1 nontarget\n")
    e, t, lab = read_sasv_trials(str(tmp_path / "t"))
    assert lab.tolist() == [b"target", b"spoof", b"nontarget"]
    with pytest.raises(FormatError, match=":2: label 'spoof' is not target/nontarget"):
        read_trials(str(tmp_path / "t"))
    (tmp_path / "t").write_text("s1 u1 bonafide\n")
    with pytest.raises(FormatError, match="t:1: label 'bonafide' is not target/nontarget/spoof"):
        read_sasv_trials(str(tmp_path / "t"))


@pytest.mark.parametrize("bad,msg", [("nan", "score is nan"), ("inf", "score is inf"),
                                     ("-inf", "score is -inf"), ("x1", "'x1' is not a number")])
def test_bad_scores(tmp_path, bad, msg):
    (tmp_path / "s").write_text(f"a x 0.5\na y {bad}\n")
    with pytest.raises(FormatError, match=msg):
        read_scores(str(tmp_path / "s"))


def test_join_errors(tmp_path):
    (tmp_path / "t").write_text("a x target\na y nontarget\n")
    e, t, _ = read_trials(str(tmp_path / "t"))
    (tmp_path / "s").write_text("a x 1\n")
    with pytest.raises(FormatError, match="no score for trial pair a y"):
        join_scores(e, t, str(tmp_path / "s"))
    (tmp_path / "s").write_text("a x 1\na y 2\nb z 3\n")
    with pytest.raises(FormatError, match="s:3: score for b z has no trial"):
        join_scores(e, t, str(tmp_path / "s"))
    (tmp_path / "s").write_text("a x 1\na x 2\n")
    with pytest.raises(FormatError, match="s:2: a x repeats line 1"):
        join_scores(e, t, str(tmp_path / "s"))
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(FormatError, match="empty trial list"):
        read_trials(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="no such trial list"):
        read_trials(str(tmp_path / "missing"))
    (tmp_path / "short").write_text("a x target\nb\n")
    with pytest.raises(FormatError, match="short:2: expected at least 3 fields"):
        read_trials(str(tmp_path / "short"))


@pytest.mark.parametrize("layout", ["same", "shuffled", "tabs", "crlf", "no-final-newline", "double-space"])
def test_trial_scores_fast_and_general_paths_agree(tmp_path, layout):
    from score.trials import trial_scores
    rng = np.random.default_rng(0)
    pairs = [(f"e{i}", f"t{j}") for i in range(5) for j in range(7)]
    lab = rng.random(len(pairs)) < 0.3
    sc = np.round(rng.normal(size=len(pairs)), 6)
    (tmp_path / "t").write_text("".join(f"{e} {t} {'target' if x else 'nontarget'}\n"
                                        for (e, t), x in zip(pairs, lab)))
    order = rng.permutation(len(pairs)) if layout == "shuffled" else np.arange(len(pairs))
    lines = [f"{pairs[i][0]} {pairs[i][1]} {sc[i]:.6f}" for i in order]
    sep = {"tabs": "\t", "double-space": "  "}.get(layout, " ")
    lines = [ln.replace(" ", sep) for ln in lines]
    end = "\r\n" if layout == "crlf" else "\n"
    text = end.join(lines) + ("" if layout == "no-final-newline" else end)
    (tmp_path / "s").write_bytes(text.encode())
    s, is_t = trial_scores(str(tmp_path / "t"), str(tmp_path / "s"))
    np.testing.assert_allclose(s, sc)
    assert is_t.tolist() == lab.tolist()


def test_trial_scores_errors(tmp_path):
    from score.trials import trial_scores
    (tmp_path / "t").write_text("a x target\na y nontarget\n")
    (tmp_path / "s").write_text("a x 0.1\na y nan\n")
    with pytest.raises(FormatError, match="score is nan"):
        trial_scores(str(tmp_path / "t"), str(tmp_path / "s"))
    (tmp_path / "s").write_text("a x 0.1\na z 0.2\n")  # equal length: the unscored trial is named first
    with pytest.raises(FormatError, match="no score for trial pair a y"):
        trial_scores(str(tmp_path / "t"), str(tmp_path / "s"))
    (tmp_path / "s").write_text("a x 0.1\na y 0.2\n")
    (tmp_path / "t").write_text("a x target\na y spoof\n")
    with pytest.raises(FormatError, match="'spoof' is not target/nontarget"):
        trial_scores(str(tmp_path / "t"), str(tmp_path / "s"))


@pytest.mark.parametrize("layout", ["canonical", "tabs"])
def test_repeated_trial_is_refused_by_every_reader(tmp_path, layout):
    """A trial listed twice would be counted twice by the metrics (the EER moves); every reader refuses it,
    naming the line and the line it repeats, on the vectorised and on the line-by-line path."""
    from score.trials import read_pairs, trial_scores
    sep = "\t" if layout == "tabs" else " "
    lines = [f"e{i % 3}{sep}t{i}{sep}{'target' if i % 4 == 0 else 'nontarget'}" for i in range(20)]
    lines.insert(15, lines[6])  # line 16 repeats line 7
    (tmp_path / "t").write_text("\n".join(lines) + "\n")
    (tmp_path / "s").write_text("".join(f"{ln.split()[0]} {ln.split()[1]} {i * 0.1:.6f}\n"
                                        for i, ln in enumerate(lines)))
    t, s = str(tmp_path / "t"), str(tmp_path / "s")
    for read in (read_trials, read_sasv_trials, read_pairs, lambda p: trial_scores(p, s)):
        with pytest.raises(FormatError, match=r"t:16: e0 t6 repeats line 7; each pair must appear once"):
            read(t)
    with pytest.raises(FormatError, match=r"s:16: e0 t6 repeats line 7"):
        read_scores(s)


def test_repeat_detection_is_exact_and_fast():
    """Hash collisions are confirmed exactly; 3.5M distinct pairs (a CN-Celeb-sized grid) pass quickly."""
    import time

    from score.trials import reject_repeated_pairs
    e = np.repeat(np.array([f"id{i:05d}".encode() for i in range(196)]), 17_777)
    t = np.tile(np.array([f"id{i % 999:05d}/utt-{i:06d}.wav".encode() for i in range(17_777)]), 196)
    t0 = time.perf_counter()
    reject_repeated_pairs("trials", "trial list", e, t)
    assert time.perf_counter() - t0 < 5  # typically ~0.3 s; the sort of 3.5M uint64 dominates
    # Pairs that differ only after the first 8 bytes, or by the split between enroll and test, are distinct.
    reject_repeated_pairs("x", "trial list", np.array([b"spk_0000001", b"spk_0000002", b"ab"]),
                          np.array([b"u", b"u", b"cd"]))
    reject_repeated_pairs("x", "trial list", np.array([b"a", b"ab"]), np.array([b"bc", b"c"]))
