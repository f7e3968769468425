"""Batch samplers whose batches depend only on (seed, epoch), never on workers or scheduling.

Each sampler builds the whole epoch's global order from `default_rng([seed, epoch])`, cuts it into
batches of `batch_size`, keeps a multiple of `world_size` batches and gives rank r the batches
r, r+W, r+2W, ... So every rank has the same number of batches, ranks are disjoint, and rank r's
batch k is a slice of the single-process order with batch size W*B (DDP sees the same samples as
one process with the global batch). Every item is `(utt_index, item_seed)`: the seed fixes all the
randomness of that sample (crop, augmentation) inside whichever worker loads it.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pytorch.data.speakers import group_by_speaker

Item = tuple[int, int]


class _EpochBatchSampler:
    def __init__(self, batch_size: int, seed: int, rank: int, world_size: int, drop_last: bool) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_order(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = self.global_order(rng)
        seeds = rng.integers(0, 2**62, size=order.size)
        items = np.stack([order, seeds], axis=1)
        bs = self.batch_size
        nfull = order.size // bs
        batches = [items[i * bs:(i + 1) * bs] for i in range(nfull)]
        if not self.drop_last and order.size % bs and self.world_size == 1:
            batches.append(items[nfull * bs:])
        keep = len(batches) - len(batches) % self.world_size
        return batches[self.rank:keep:self.world_size]

    def __iter__(self) -> Iterator[list[Item]]:
        for b in self._batches():
            yield [(int(u), int(s)) for u, s in b]

    def __len__(self) -> int:
        return len(self._batches())


class RandomBatchSampler(_EpochBatchSampler):
    """Every utterance once per epoch, in random order."""

    def __init__(self, num_items: int, batch_size: int, seed: int = 0, rank: int = 0,
                 world_size: int = 1, drop_last: bool = True, shuffle: bool = True) -> None:
        super().__init__(batch_size, seed, rank, world_size, drop_last)
        self.num_items = num_items
        self.shuffle = shuffle

    def global_order(self, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(self.num_items) if self.shuffle else np.arange(self.num_items)

    def __len__(self) -> int:
        n = self.num_items // self.batch_size
        if not self.drop_last and self.num_items % self.batch_size and self.world_size == 1:
            n += 1
        return n // self.world_size


class SpeakerBalancedBatchSampler(_EpochBatchSampler):
    """Batches of P = batch_size / M distinct speakers with M utterances each.

    An epoch is as many batches as a random epoch would have. Speakers are visited in rounds (a
    fresh permutation per round, the leftover speakers of a round that do not fill a batch wait for
    the next round), and each speaker's utterances are drawn from its own shuffled pool, reshuffled
    when used up, so all utterances are seen before any repeats; speakers with fewer than M
    utterances repeat some within the batch.
    """

    def __init__(self, spk_of: np.ndarray, batch_size: int, utts_per_spk: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1) -> None:
        super().__init__(batch_size, seed, rank, world_size, drop_last=True)
        if utts_per_spk < 1 or batch_size % utts_per_spk:
            raise ValueError(f"batch_size {batch_size} must be a multiple of utts_per_spk {utts_per_spk}")
        self.m = utts_per_spk
        self.p = batch_size // utts_per_spk
        spk_of = np.asarray(spk_of)
        self.num_items = spk_of.size
        self.pools = list(group_by_speaker(spk_of).values())
        if self.p > len(self.pools):
            raise ValueError(f"batch of {self.p} speakers x {self.m} utterances needs {self.p} speakers, "
                             f"the data has {len(self.pools)}; lower batch_size or raise utts_per_spk")

    def global_order(self, rng: np.random.Generator) -> np.ndarray:
        nbatches = self.num_items // self.batch_size
        pools = [rng.permutation(p) for p in self.pools]
        pos = np.zeros(len(pools), dtype=np.int64)
        out = np.empty(nbatches * self.batch_size, dtype=np.int64)
        spk_queue: list[int] = []
        for b in range(nbatches):
            while len(spk_queue) < self.p:
                # Leftovers of the last round go first, so every speaker is visited once per round.
                spk_queue.extend(rng.permutation(len(pools)).tolist())
            chosen, spk_queue = spk_queue[:self.p], spk_queue[self.p:]
            chosen = self._distinct(chosen, spk_queue)
            for j, s in enumerate(chosen):
                out[b * self.batch_size + j * self.m:b * self.batch_size + (j + 1) * self.m] = \
                    self._draw(s, pools, pos, rng)
        return out

    @staticmethod
    def _distinct(chosen: list[int], queue: list[int]) -> list[int]:
        """A batch that straddles two rounds may hold a speaker twice; swap repeats with the queue."""
        seen: set[int] = set()
        for j, s in enumerate(chosen):
            if s in seen:
                k = next(i for i, q in enumerate(queue) if q not in seen and q not in chosen)
                chosen[j], queue[k] = queue[k], s
                s = chosen[j]
            seen.add(s)
        return chosen

    def _draw(self, s: int, pools: list[np.ndarray], pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        pool, got = pools[s], []
        need = self.m
        while need:
            if pos[s] >= pool.size:
                pools[s] = pool = rng.permutation(pool)
                pos[s] = 0
            take = pool[pos[s]:pos[s] + need]
            got.append(take)
            pos[s] += take.size
            need -= take.size
        return np.concatenate(got)

    def __len__(self) -> int:
        return (self.num_items // self.batch_size) // self.world_size
