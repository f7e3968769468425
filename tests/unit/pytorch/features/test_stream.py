"""compute_in_chunks: the features of a signal computed block by block equal the whole-signal features,
for both framings (snip_edges), with dither (the same noise, drawn in order), energy and pre-emphasis."""
import numpy as np
import pytest
import torch

from pytorch.features import Fbank, Mfcc
from pytorch.features.stream import compute_in_chunks


def _signal(n: int) -> torch.Tensor:
    rng = np.random.default_rng(0)
    t = np.arange(n) / 16000
    x = 3000 * np.sin(2 * np.pi * 180 * t) + 400 * rng.standard_normal(n)
    return torch.from_numpy(x.astype(np.float32))


@pytest.mark.parametrize("snip_edges", [True, False])
@pytest.mark.parametrize("dither", [0.0, 1.0])
@pytest.mark.parametrize("kind", ["fbank", "fbank_energy", "mfcc"])
@pytest.mark.parametrize("chunk_frames", [1, 37, 100])
def test_chunks_equal_whole_signal(snip_edges, dither, kind, chunk_frames):
    n = 16000 + 1234  # 77 (snip) / 79 frames: several chunks, a partial last one
    opts = {"snip_edges": snip_edges, "dither": dither}
    module = {"fbank": lambda: Fbank(num_mel_bins=40, **opts),
              "fbank_energy": lambda: Fbank(num_mel_bins=23, use_energy=True, raw_energy=False, **opts),
              "mfcc": lambda: Mfcc(**opts)}[kind]()
    wave = _signal(n)
    whole = module(wave, generator=torch.Generator().manual_seed(7))
    reads = []

    def read(a: int, b: int) -> torch.Tensor:
        reads.append((a, b))
        return wave[a:b].clone()

    blocks = list(compute_in_chunks(module, read, n, torch.Generator().manual_seed(7), chunk_frames))
    got = torch.cat(blocks)
    assert got.shape == whole.shape
    assert max(b.shape[0] for b in blocks) == min(chunk_frames, whole.shape[0])
    torch.testing.assert_close(got, whole, rtol=1e-5, atol=1e-5)  # float32 rounding of other matmul shapes
    # Each sample is read once, in order: what makes the dither noise the whole-signal one (with
    # snip_edges=true the samples after the last frame are not needed).
    assert reads[0][0] == 0 and reads[-1][1] == n if not snip_edges else n - 160 < reads[-1][1] <= n
    assert all(b[0] == a[1] for a, b in zip(reads, reads[1:]))


def test_too_short_for_one_frame_gives_no_frames():
    module = Fbank(num_mel_bins=40, dither=0.0)
    blocks = list(compute_in_chunks(module, lambda a, b: torch.zeros(b - a), 100, None, 5))
    assert sum(b.shape[0] for b in blocks) == 0
