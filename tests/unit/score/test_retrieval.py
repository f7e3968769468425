"""Retrieval: blocked top-K equals a full sort, and mAP equals a brute-force computation."""
import numpy as np
import pytest

from common.embeddings import write_embeddings
from score.bin import eval_retrieval
from score.bin import retrieve as retrieve_cli
from score.retrieval import average_precision, evaluate, retrieve


@pytest.fixture
def pool():
    rng = np.random.default_rng(5)
    spk = rng.normal(size=(4, 8))
    lab = rng.integers(0, 6, 90)  # labels 4, 5 = utterances of no target
    x = (np.where(lab[:, None] < 4, spk[np.minimum(lab, 3)], rng.normal(size=(90, 8)))
         + rng.normal(size=(90, 8)))
    keys = [f"p{i:03d}" for i in range(90)]
    labels = {k: f"t{v}" for k, v in zip(keys, lab) if v < 4}
    return spk, x.astype(np.float32), keys, labels


def test_hand_ap():
    # ranked: hit, miss, hit; R = 2 -> (1/1 + 2/3) / 2
    assert average_precision(np.array([1, 0, 1]), 2) == pytest.approx((1 + 2 / 3) / 2)
    # AP@2 of the same list: only the first hit counts, divided by min(R, 2) = 2
    assert average_precision(np.array([1, 0, 1]), 2, k=2) == pytest.approx(0.5)


@pytest.mark.parametrize("block", [7, 1000])
def test_blocked_topk_and_map_brute_force(pool, block):
    spk, x, keys, labels = pool
    ranked, scores = retrieve(spk, _blocks(keys, x, block), topk=len(keys))
    got = evaluate({f"t{i}": r for i, r in enumerate(ranked)}, labels)["mAP"]
    aps = []
    for i, q in enumerate(spk):  # brute force: full cosine sort and AP by its definition
        cos = [q @ v / np.linalg.norm(q) / np.linalg.norm(v) for v in x]
        order = sorted(range(len(x)), key=lambda j: -cos[j])
        assert ranked[i][:5] == [keys[j] for j in order[:5]]
        rel = [labels.get(keys[j]) == f"t{i}" for j in order]
        hits, ap = 0, 0.0
        for n, r in enumerate(rel, 1):
            if r:
                hits += 1
                ap += hits / n
        aps.append(ap / sum(rel))
    assert got == pytest.approx(np.mean(aps))
    # A short list keeps the best items in order.
    short, _ = retrieve(spk, _blocks(keys, x, block), topk=3)
    assert [r for r in short] == [r[:3] for r in ranked]


def test_cli(tmp_path, pool, capsys):
    spk, x, keys, labels = pool
    write_embeddings(keys, x, str(tmp_path / "pool.ark"), str(tmp_path / "pool.scp"))
    write_embeddings([f"t{i}" for i in range(4)], spk, str(tmp_path / "q.ark"), str(tmp_path / "q.scp"))
    (tmp_path / "labels").write_text("".join(f"{k} {labels.get(k, 'none')}\n" for k in keys))
    out = tmp_path / "ranking"
    assert retrieve_cli.main(["--enroll", str(tmp_path / "q.scp"), "--pool", str(tmp_path / "pool.scp"),
                              "--top-n", "10", "--out", str(out), "--block", "16"]) == 0
    assert len(out.read_text().splitlines()) == 40
    assert eval_retrieval.main(["--ranking", str(out), "--pool-labels", str(tmp_path / "labels"),
                                "--cutoff", "10",
                                "--plot", str(tmp_path / "ap.png")]) == 0
    assert capsys.readouterr().out.startswith("mAP=")
    assert (tmp_path / "ap.png").read_bytes()[:4] == b"\x89PNG"


def _blocks(keys, x, block):
    """The pool as the CLI streams it: (keys, rows) blocks of at most `block` embeddings."""
    return [(list(keys[i:i + block]), np.asarray(x[i:i + block], dtype=np.float32)) for i in range(0, len(keys), block)]
