"""Breakdown per condition, C-P map (cases by hand) and PNG plots."""
import numpy as np
import pytest

from common.errors import FormatError
from score import metrics
from score.breakdown import breakdown, to_markdown, trial_conditions
from score.cpmap import cp_map, quantile_groups, to_tsv
from score.plots import plot_cp_map, plot_det

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_cp_map_by_hand():
    # targets ascending: [1,2] | [3,4]; nontargets descending: [2.5,1.5] | [0,-1]
    s = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 1.5, 2.5, -1.0])
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    tg, ng = quantile_groups(s, y, 2)
    assert [sorted(s[g]) for g in tg] == [[1, 2], [3, 4]]
    assert [sorted(s[g]) for g in ng] == [[1.5, 2.5], [-1, 0]]
    m = cp_map(s, y, k=2, metric="eer")
    # Only the (hard target, hard nontarget) config overlaps: {1,2} vs {1.5,2.5} -> EER 1/2.
    assert np.allclose(m, [[0.5, 0.0], [0.0, 0.0]])
    assert to_tsv(m, "eer").splitlines()[:2] == ["tar_group\tnon_group\teer", "0\t0\t0.5"]
    # Groups from another system: B's scores evaluated on A's trial groups.
    b = s.copy()
    b[:2] = 5.0  # B gets the hardest targets right
    mb = cp_map(b, y, k=2, metric="eer", groups_from=s)
    assert mb[0, 0] < m[0, 0] and mb[1, 1] == 0


def test_cp_map_errors():
    s, y = np.arange(6.0), np.array([1, 1, 0, 0, 0, 0], bool)
    with pytest.raises(ValueError, match="at least 3 target"):
        cp_map(s, y, k=3)
    with pytest.raises(ValueError, match="unknown metric"):
        cp_map(s, y, k=2, metric="auc")


def test_breakdown_per_condition():
    s = np.array([3.0, 2.0, -1.0, -2.0, 1.0, -0.5, 0.5, 2.0])
    y = np.array([1, 1, 0, 0, 1, 0, 1, 0], bool)
    test_ids = np.array(["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"], dtype=object)
    utt2genre = {f"a{i}": "speech" for i in range(1, 5)} | {f"b{i}": "singing" for i in range(1, 5)}
    cond = trial_conditions(test_ids, utt2genre, "utt2genre")
    rows = breakdown(s, y, cond)
    assert [r.condition for r in rows] == ["all", "singing", "speech"]
    assert [(r.n_tar, r.n_non) for r in rows] == [(4, 4), (2, 2), (2, 2)]
    assert rows[2].eer == 0.0  # speech is separable
    sel = cond == "singing"
    assert rows[1].eer == pytest.approx(metrics.eer(s[sel], y[sel])) and rows[1].eer > 0
    md = to_markdown(rows, "genre")
    assert md.splitlines()[0].startswith("| genre | EER (%)") and "| speech | 0.00 |" in md
    pairs = breakdown(s, y, cond, np.full(8, "interview", dtype=object), include_all=False)
    assert [r.condition for r in pairs] == ["interview x singing", "interview x speech"]
    one_sided = breakdown(s[:2], y[:2], cond[:2])
    assert np.isnan(one_sided[0].eer)  # no nontargets: undefined, not a crash
    with pytest.raises(FormatError, match="no entry for 'zz'"):
        trial_conditions(np.array(["zz"], dtype=object), utt2genre, "utt2genre")


def test_plots_write_png(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(3000) < 300
    a = np.where(y, 2.0, 0.0) + rng.normal(size=3000)
    b = np.where(y, 1.0, 0.0) + rng.normal(size=3000)
    plot_det([("A", a, y), ("B", b, y)], tmp_path / "det.png", title="test")
    m = cp_map(a, y, k=4)
    plot_cp_map(m, tmp_path / "cp.png")
    plot_cp_map(m - cp_map(b, y, k=4, groups_from=a), tmp_path / "diff.png", diff=True)
    for name in ("det.png", "cp.png", "diff.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000
    with pytest.raises(ValueError, match="no systems"):
        plot_det([], tmp_path / "x.png")
