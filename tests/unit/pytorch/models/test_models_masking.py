"""cat_channels: torch.cat over channels that keeps a time-major memory layout."""
import torch

from pytorch.models.masking import cat_channels


def test_cat_channels_values_and_layouts():
    a, b = torch.randn(2, 3, 7), torch.randn(2, 5, 7)
    ref = torch.cat([a, b], dim=1)
    plain = cat_channels([a, b])
    assert torch.equal(plain, ref) and plain.is_contiguous()
    tm = [x.transpose(1, 2).contiguous().transpose(1, 2) for x in (a, b)]
    out = cat_channels(tm)
    assert torch.equal(out, ref)
    assert out.stride(1) == 1 and out.transpose(1, 2).is_contiguous()
