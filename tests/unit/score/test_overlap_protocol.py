"""The MIRNet paper's protocol on constructed embeddings whose distances are known: d = min over the
pairs of the two mixtures' embeddings, score -d, EER over (d_p, d_n); the identity assignment used
for the PCA plot; the CLIs."""
from __future__ import annotations

import numpy as np
import pytest

from common.embeddings import write_embeddings
from score import metrics
from score.bin import plot_overlap, score_overlap
from score.overlap import assign_identities, min_distances, pca_2d, protocol_scores, split_identities

D_P = [0.0, 1.0, 3.0]       # anchor-positive distances
D_N = [2.0, 2.5, 4.0]       # anchor-negative distances; EER by hand: 1 miss (3.0) and 1 false alarm
EER = 1 / 3                 # (2.0) of 3 each at the threshold between 2.0 and 2.5


def _triplets(swap: bool) -> tuple[list[str], np.ndarray, list[tuple[str, str, bool]]]:
    """Embeddings on the x axis: the anchor's first one at 0 (its second far away at 100); the other
    mixture's matching one at d (its second at -50), in the second slot when `swap`."""
    keys, rows, trials = [], [], []
    for k, (dp, dn) in enumerate(zip(D_P, D_N)):
        for name, d in (("anc", None), ("pos", dp), ("neg", dn)):
            pair = [[0.0, 0.0], [100.0, 0.0]] if d is None else [[d, 0.0], [-50.0, 0.0]]
            if swap and d is not None:
                pair = pair[::-1]
            keys.append(f"t{k}-{name}")
            rows.append(np.ravel(pair))
        trials += [(f"t{k}-anc", f"t{k}-pos", True), (f"t{k}-anc", f"t{k}-neg", False)]
    return keys, np.array(rows), trials


@pytest.mark.parametrize("swap", [False, True])
def test_min_distance_and_eer_by_hand(swap):
    keys, mat, trials = _triplets(swap)
    emb = split_identities(mat, 2)
    index = {k: i for i, k in enumerate(keys)}
    a = np.array([index[t[0]] for t in trials])
    b = np.array([index[t[1]] for t in trials])
    scores = protocol_scores(emb, a, b, length_norm=False)
    want = [d for pair in zip(D_P, D_N) for d in pair]
    np.testing.assert_allclose(-scores, want, atol=1e-9)
    assert metrics.eer(scores, np.array([t[2] for t in trials])) == pytest.approx(EER)


def test_single_embedding_rows_and_blocks():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((50, 1, 4)), rng.standard_normal((50, 3, 4))
    want = np.array([min(np.linalg.norm(a[t, 0] - b[t, j]) for j in range(3)) for t in range(50)])
    np.testing.assert_allclose(min_distances(a, b), want, rtol=1e-9)


def test_split_refuses_a_wrong_count():
    with pytest.raises(Exception, match="--identities"):
        split_identities(np.zeros((2, 5)), 2)


def test_assign_identities_recovers_the_speakers():
    rng = np.random.default_rng(1)
    centres = {s: rng.standard_normal(8) * 3 for s in ("a", "b", "c", "d")}
    spks = [list(p) for p in (("a", "b"), ("b", "c"), ("c", "d"), ("a", "c"), ("b", "d"), ("d", "a"))] * 3
    emb, truth = [], []
    for pair in spks:
        order = pair if rng.random() < 0.5 else pair[::-1]    # the model's order is arbitrary
        emb.append([centres[s] + 0.3 * rng.standard_normal(8) for s in order])
        truth.append(order)
    assert assign_identities(np.array(emb), spks) == truth


def test_pca_keeps_a_plane():
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.standard_normal((6, 2)))[0]          # an orthonormal plane in 6-D
    x = rng.standard_normal((30, 2)) * [5.0, 1.0] @ basis.T + 7.0
    p = pca_2d(x)
    dist = lambda m: np.linalg.norm(m[:, None] - m[None], axis=-1)  # noqa: E731
    np.testing.assert_allclose(dist(p), dist(x), atol=1e-9)


def test_clis(tmp_path):
    keys, mat, trials = _triplets(swap=True)
    write_embeddings(keys, list(mat), tmp_path / "x.ark", tmp_path / "x.scp")
    (tmp_path / "trials").write_text("".join(f"{a} {b} {'target' if t else 'nontarget'}\n" for a, b, t in trials))
    out = tmp_path / "scores"
    assert score_overlap.main(["--embeddings", str(tmp_path / "x.scp"), "--trials", str(tmp_path / "trials"),
                               "--identities", "2", "--length-norm", "false", "--out", str(out)]) == 0
    got = {(r.split()[0], r.split()[1]): float(r.split()[2]) for r in out.read_text().splitlines()}
    assert got[("t2-anc", "t2-pos")] == pytest.approx(-3.0) and got[("t1-anc", "t1-neg")] == pytest.approx(-2.5)
    # a mixture row that does not split into 3 embeddings: one error line, nothing written
    assert score_overlap.main(["--embeddings", str(tmp_path / "x.scp"), "--trials", str(tmp_path / "trials"),
                               "--identities", "3", "--out", str(tmp_path / "bad")]) == 1
    assert not (tmp_path / "bad").exists()
    (tmp_path / "utt2spks").write_text("".join(f"{k} s{i % 4} s{(i + 1) % 4}\n" for i, k in enumerate(keys)))
    png = tmp_path / "pca.png"
    assert plot_overlap.main(["--embeddings", str(tmp_path / "x.scp"), "--utt2spks", str(tmp_path / "utt2spks"),
                              "--identities", "2", "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
