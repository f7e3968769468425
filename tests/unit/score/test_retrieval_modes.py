"""Retrieval with per-utterance max aggregation, spk2utt enrollment and the CNSRC SR.dev label layout."""
import numpy as np
import pytest

from common.embeddings import write_embeddings
from score.bin import eval_retrieval
from score.bin import retrieve as retrieve_cli
from score.retrieval import average_precision, evaluate, retrieve


def _n(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    pool = rng.normal(size=(50, 5)).astype(np.float32)
    enr = rng.normal(size=(5, 5)).astype(np.float32)
    owner = np.array([1, 0, 1, 2, 0])  # target of each enrollment row, deliberately unsorted
    return pool, enr, owner, [f"p{i:02d}" for i in range(50)]


@pytest.mark.parametrize("block", [3, 64])
def test_max_aggregation_equals_brute_force(data, block):
    pool, enr, owner, keys = data
    got, scores = retrieve(enr, _blocks(keys, pool, block), topk=7, owner=owner)
    cos = _n(enr) @ _n(pool).T
    for t in range(3):
        best = cos[owner == t].max(0)
        order = np.argsort(-best, kind="stable")[:7]
        assert got[t] == [keys[j] for j in order]
        np.testing.assert_allclose(scores[t], best[order], rtol=1e-5)


def test_ties_broken_by_pool_order_whatever_the_block():
    pool = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [2, 0]], np.float32)  # p0, p2, p3, p4 tie at cos 1
    keys = ["p0", "p1", "p2", "p3", "p4"]
    for block in (1, 2, 5):
        got, _ = retrieve(np.array([[1.0, 0.0]]), _blocks(keys, pool, block), topk=3)
        assert got == [["p0", "p2", "p3"]]


def test_bad_input(data):
    pool, enr, owner, keys = data
    with pytest.raises(ValueError, match="dim"):
        retrieve(enr[:, :3], _blocks(keys, pool, 8), 3)
    with pytest.raises(ValueError, match="empty pool"):
        retrieve(enr, iter([]), 3)
    with pytest.raises(ValueError, match="topk"):
        retrieve(enr, _blocks(keys, pool, 8), 0)
    with pytest.raises(ValueError, match="owner"):
        retrieve(enr, _blocks(keys, pool, 8), 3, owner=np.array([0, 2, 2, 2, 0]))


def test_ap_at_k_hand():
    # ranked: miss, hit, hit, miss, hit ; R = 4 relevant in the pool
    # AP   = (1/2 + 2/3 + 3/5) / 4 = 0.441666...
    # AP@3 = (1/2 + 2/3) / min(3, 4) = 0.388888...
    rel = np.array([0, 1, 1, 0, 1])
    assert average_precision(rel, 4) == pytest.approx((1 / 2 + 2 / 3 + 3 / 5) / 4)
    assert average_precision(rel, 4, k=3) == pytest.approx((1 / 2 + 2 / 3) / 3)
    res = evaluate({"A": ["x", "a1", "a2", "y"], "B": ["b1", "z"]},
                   {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "q": "C"})
    # A: (1/2 + 2/3) / 2 ; B: (1/1) / 2
    assert res["mAP"] == pytest.approx(((1 / 2 + 2 / 3) / 2 + 0.5) / 2)
    assert res["per_target"]["A"]["top1"] == 0 and res["per_target"]["A"]["top3"] == 2


def test_cli_spk2utt_max_and_cnsrc_labels(tmp_path, data, capsys):
    pool, enr, owner, keys = data
    write_embeddings(keys, pool, str(tmp_path / "pool.ark"), str(tmp_path / "pool.scp"))
    ukeys = [f"e{i}" for i in range(5)]
    write_embeddings(ukeys, enr, str(tmp_path / "enr.ark"), str(tmp_path / "enr.scp"))
    (tmp_path / "spk2utt").write_text("id00000 e1 e4\nid00001 e0 e2\nid00002 e3\n")
    out = tmp_path / "ranking"
    assert retrieve_cli.main(["--enroll", str(tmp_path / "enr.scp"),
                              "--enroll-spk2utt", str(tmp_path / "spk2utt"),
                              "--pool", str(tmp_path / "pool.scp"), "--top-n", "7",
                              "--enroll-mode", "max-score", "--block", "8", "--out", str(out)]) == 0
    rows = [ln.split() for ln in out.read_text().splitlines()]
    want, _ = retrieve(enr, _blocks(keys, pool, 50), 7, owner=owner)
    assert [r[1] for r in rows if r[0] == "id00001"] == want[1]
    assert [r[2] for r in rows[:7]] == [str(i) for i in range(1, 8)]
    # test.meta layout: `pool/<name>.wav <spk>-<...>`; p00..p09 of id00000, p10..p19 of id00001, others.
    meta = "".join(f"pool/{k}.wav {'id00000' if i < 10 else 'id00001' if i < 20 else 'id99999'}-x-{i}\n"
                   for i, k in enumerate(keys))
    (tmp_path / "test.meta").write_text(meta)
    assert eval_retrieval.main(["--ranking", str(out), "--pool-labels", str(tmp_path / "test.meta"),
                                "--pool-labels-format", "cnsrc-meta", "--cutoff", "5", "--json", "true"]) == 0
    import json
    res = json.loads(capsys.readouterr().out)
    labels = {k: ("id00000" if i < 10 else "id00001" if i < 20 else "id99999") for i, k in enumerate(keys)}
    ranked = {t: [r[1] for r in rows if r[0] == t] for t in ("id00000", "id00001", "id00002")}
    assert res["mAP"] == pytest.approx(evaluate(ranked, labels)["mAP"])
    assert res["mAP@5"] == pytest.approx(evaluate(ranked, labels, cutoff=5)["mAP"])
    assert res["no_relevant"] == ["id00002"]
    (tmp_path / "bad").write_text("t p00 one 0.5\n")
    assert eval_retrieval.main(["--ranking", str(tmp_path / "bad"),
                                "--pool-labels", str(tmp_path / "test.meta"),
                                "--pool-labels-format", "cnsrc-meta"]) == 1
    assert "rank 'one' is not a positive integer" in capsys.readouterr().err


def _blocks(keys, x, block):
    """The pool as the CLI streams it: (keys, rows) blocks of at most `block` embeddings."""
    return [(list(keys[i:i + block]), np.asarray(x[i:i + block], dtype=np.float32)) for i in range(0, len(keys), block)]
