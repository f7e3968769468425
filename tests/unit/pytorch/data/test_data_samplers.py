import numpy as np
import pytest

from pytorch.data.samplers import RandomBatchSampler, SpeakerBalancedBatchSampler


def _utts(batches):
    return [u for b in batches for u, _ in b]


def test_random_sampler_is_a_permutation_and_reshuffles_per_epoch():
    s = RandomBatchSampler(23, batch_size=5, seed=7)
    e0 = list(s)
    assert len(e0) == len(s) == 4 and all(len(b) == 5 for b in e0)
    assert len(set(_utts(e0))) == 20
    assert list(s) == e0  # same epoch, same batches (items and seeds)
    s.set_epoch(1)
    assert _utts(list(s)) != _utts(e0)
    keep = RandomBatchSampler(23, batch_size=5, seed=7, drop_last=False)
    assert sorted(_utts(list(keep))) == list(range(23))


def test_speaker_balanced_gives_m_per_speaker_per_batch():
    rng = np.random.default_rng(0)
    spk_of = np.repeat(np.arange(7), rng.integers(1, 9, size=7))  # some speakers have 1 utterance
    s = SpeakerBalancedBatchSampler(spk_of, batch_size=6, utts_per_spk=2, seed=3)
    batches = list(s)
    assert len(batches) == len(s) == spk_of.size // 6
    for b in batches:
        spks = spk_of[[u for u, _ in b]]
        vals, counts = np.unique(spks, return_counts=True)
        assert len(vals) == 3 and (counts == 2).all()
        # Each speaker's M utterances are adjacent in the batch.
        assert (spks[0::2] == spks[1::2]).all()
    # Over an epoch the well-populated speakers are all visited.
    seen = set(spk_of[_utts(batches)])
    assert len(seen) >= 6
    with pytest.raises(ValueError, match="multiple"):
        SpeakerBalancedBatchSampler(spk_of, batch_size=5, utts_per_spk=2)
    with pytest.raises(ValueError, match="speakers"):
        SpeakerBalancedBatchSampler(np.array([0, 0, 1, 1]), batch_size=6, utts_per_spk=2)


@pytest.mark.parametrize("make", [
    lambda r, w: RandomBatchSampler(50, 4, seed=1, rank=r, world_size=w),
    lambda r, w: SpeakerBalancedBatchSampler(np.arange(50) % 9, 4, 2, seed=1, rank=r, world_size=w),
])
def test_distributed_split_is_disjoint_equal_and_matches_global_batch(make):
    world = 3
    ranks = [list(make(r, world)) for r in range(world)]
    sizes = {len(b) for b in ranks}
    assert len(sizes) == 1  # same number of batches on every rank
    items = [it for b in ranks for batch in b for it in batch]
    assert len(set(it[1] for it in items)) == len(items)  # disjoint (seeds are per position)
    # Rank r's batch k is part of the single-process global order: batches r, r+W, ...
    single = list(make(0, 1))
    kept = single[:len(ranks[0]) * world]
    assert sorted(items) == sorted(it for b in kept for it in b)  # covering
    for r in range(world):
        for k, batch in enumerate(ranks[r]):
            assert batch == single[k * world + r]
