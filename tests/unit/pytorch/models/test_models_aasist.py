"""AASIST / AASIST-L countermeasure (asvlab issue 10 section 2): the official pretrained weights
(../shared/data/pretrained/aasist, clovaai/aasist) load strictly with no key map, the output is
deterministic and batch-independent in eval mode, the CM embedding is the 160-d input of the output layer,
the input rule is the official repeat-padding / cut, and the sinc front end is checked against its formula."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from common.errors import ConfigError, FormatError
from pytorch.models import aasist
from pytorch.models.aasist import AASIST, BONAFIDE, NB_SAMP, build_aasist, fix_length, load_aasist
from pytorch.models.graph_attention import GraphPool

torch.set_num_threads(2)

PRETRAINED = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "pretrained" / "aasist"
needs_weights = pytest.mark.skipif(not (PRETRAINED / "AASIST.pth").is_file(),
                                   reason=f"official AASIST weights absent: {PRETRAINED}")
# Logits of the official code (clovaai/aasist a04c9863, models/AASIST.py, eval mode, CPU) for the same
# weights on `_wave()`: a parity fixture, not a metric; float32 reorderings stay far below the tolerance.
REFERENCE_LOGITS = {"AASIST": [2.45504, -2.65239], "AASIST-L": [4.70742, -4.16787]}
SMALL = {"first_conv": 128, "filts": [70, [1, 8], [8, 8], [8, 16], [16, 16]], "gat_dims": [16, 8],
         "pool_ratios": [0.5, 0.5, 0.5, 0.5], "temperatures": [2.0, 2.0, 100.0, 100.0]}


@needs_weights
@pytest.mark.parametrize("name", ["AASIST", "AASIST-L"])
def test_official_weights_load_strictly(name):
    model = build_aasist(PRETRAINED / f"{name}.conf")
    state = torch.load(PRETRAINED / f"{name}.pth", map_location="cpu", weights_only=True)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert model.embed_dim == 160
    load_aasist(PRETRAINED / f"{name}.conf", PRETRAINED / f"{name}.pth")  # strict=True path


def _wave() -> torch.Tensor:
    return torch.from_numpy(0.1 * np.random.default_rng(0).standard_normal((1, NB_SAMP)).astype(np.float32))


@needs_weights
def test_aasist_matches_the_official_code():
    model = load_aasist(PRETRAINED / "AASIST.conf", PRETRAINED / "AASIST.pth")
    with torch.no_grad():
        logits = model(_wave())
    assert logits[0].tolist() == pytest.approx(REFERENCE_LOGITS["AASIST"], abs=1e-4)


@needs_weights
def test_pretrained_is_deterministic_batch_independent_and_embedding_feeds_the_output():
    model = load_aasist(PRETRAINED / "AASIST-L.conf", PRETRAINED / "AASIST-L.pth")
    x = torch.cat([_wave(), 0.1 * torch.randn(1, NB_SAMP, generator=torch.Generator().manual_seed(1))])
    with torch.no_grad():
        emb, logits = model.embed(x)
        again = model(x)
        alone = model(x[1:])
    assert emb.shape == (2, 160) and logits.shape == (2, 2)
    assert torch.isfinite(logits).all()
    assert torch.equal(logits, again)
    assert torch.allclose(alone, logits[1:], atol=1e-5)  # no cross-talk between batch entries
    assert torch.allclose(model.out_layer(emb), logits, atol=1e-6)
    assert logits[0].tolist() == pytest.approx(REFERENCE_LOGITS["AASIST-L"], abs=1e-4)


@needs_weights
def test_checkpoint_of_the_other_size_is_a_format_error():
    with pytest.raises(FormatError, match="AASIST.pth"):
        load_aasist(PRETRAINED / "AASIST-L.conf", PRETRAINED / "AASIST.pth")


def test_random_model_trains_on_random_audio():
    torch.manual_seed(0)
    model = AASIST(**SMALL).train()
    logits = model(0.1 * torch.randn(2, 16000), freq_mask=True)
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, torch.tensor([BONAFIDE, 0])).backward()
    assert all(p.grad is not None for n, p in model.named_parameters()
               if ".bn1." not in n), "every parameter but the dead bn1 gets a gradient"


def test_fix_length_repeats_or_cuts_like_the_official_eval():
    x = np.array([1.0, 2.0, 3.0])
    assert fix_length(x, 7).tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert fix_length(x, 6).tolist() == [1, 2, 3, 1, 2, 3]
    assert fix_length(np.arange(10.0), 4).tolist() == [0, 1, 2, 3]
    assert fix_length(torch.tensor([[1.0, 2.0]]), 5).tolist() == [[1, 2, 1, 2, 1]]
    with pytest.raises(ValueError, match="empty"):
        fix_length(np.zeros(0), 4)


def test_sinc_bank_sums_to_an_impulse():
    # The bands tile 0..Nyquist, so the sum of the ideal band-passes is the ideal all-pass,
    # sinc(t) at integer t: 1 at the centre, 0 elsewhere (and the Hamming window is 1 at the centre).
    bank = aasist.sinc_filters(70, 129).double()
    impulse = torch.zeros(129, dtype=torch.float64)
    impulse[64] = 1.0
    assert torch.allclose(bank.sum(0), impulse, atol=1e-5)
    assert torch.equal(bank, bank.flip(1))  # symmetric (linear phase)


def test_graph_pool_keeps_the_top_scored_nodes_scaled():
    pool = GraphPool(0.5, 1, p=0.0)
    with torch.no_grad():
        pool.proj.weight.fill_(1.0)
        pool.proj.bias.zero_()
    h = torch.tensor([[[0.0], [3.0], [-1.0], [2.0]]])
    out = pool(h)
    assert out.flatten().tolist() == pytest.approx([3 * torch.sigmoid(torch.tensor(3.0)).item(),
                                                    2 * torch.sigmoid(torch.tensor(2.0)).item()])


def test_config_forms_and_errors(tmp_path):
    official = {"model_config": {"architecture": "AASIST", "nb_samp": 64600, **SMALL}}
    (tmp_path / "a.conf").write_text(json.dumps(official))
    (tmp_path / "a.yaml").write_text("model:\n  name: aasist\n" + "".join(
        f"  {k}: {json.dumps(v)}\n" for k, v in SMALL.items()))
    a, b = build_aasist(tmp_path / "a.conf"), build_aasist(tmp_path / "a.yaml")
    assert a.embed_dim == b.embed_dim == 40
    with pytest.raises(ConfigError, match="filt"):
        build_aasist({**SMALL, "filt": [1]})
    with pytest.raises(ConfigError, match="not AASIST"):
        build_aasist({"name": "ecapa_tdnn"})
    (tmp_path / "bad.conf").write_text("{\n  'x': 1\n}")
    with pytest.raises(ConfigError, match="line 2"):
        build_aasist(tmp_path / "bad.conf")


def test_input_norm_makes_the_level_no_cue():
    torch.manual_seed(0)
    kw = dict(first_conv=32, filts=[24, [1, 4], [4, 4], [4, 8], [8, 8]], gat_dims=[8, 8], nb_samp=4000)
    wave = 0.02 * torch.randn(2, 4000)
    normed = AASIST(**kw, input_norm=True).eval()
    with torch.no_grad():
        assert torch.allclose(normed(wave), normed(30 * wave), atol=1e-4)
        plain = AASIST(**kw).eval()
        plain.load_state_dict(normed.state_dict())      # same weights; only the input scaling differs
        assert not torch.allclose(plain(wave), plain(30 * wave), atol=1e-2)
    with pytest.raises(ConfigError, match="dropout"):
        AASIST(**kw, dropout=1.5)
