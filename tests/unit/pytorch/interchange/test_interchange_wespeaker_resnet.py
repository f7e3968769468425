"""WeSpeaker ResNets with ASTP or MQMHASTP pooling and with two_emb_layer import and give the same
embeddings. The checkpoints are built here: a model of ours with random weights, its state_dict
renamed to WeSpeaker's key names (wespeaker/models/resnet.py and pooling_layers.py at dfa74195; no
WeSpeaker code is needed). The names and shapes of the pooling and head tensors are written out from
WeSpeaker's module definitions, so a wrong key map fails here and not only on a real checkpoint."""
from __future__ import annotations

import pytest
import torch
import yaml
from torch.nn import functional as F

from pytorch.bin import import_model
from pytorch.inference import prepare_for_inference
from pytorch.interchange import wespeaker
from pytorch.models import build_model
from pytorch.training.checkpoint import load_model

FEAT, EMBED, CLASSES = 16, 32, 7
STATS = 32 * 8 * (FEAT // 8)     # ResNet18: stats_dim = int(feat_dim / 8) * m_channels * 8


def wespeaker_tensors(pool: str, two_emb_layer: bool) -> dict[str, tuple[int, ...]]:
    """Pooling and embedding-layer tensors of WeSpeaker's ResNet(pooling_func=pool, two_emb_layer)."""
    if pool == "ASTP":        # ASTP(in_dim): bottleneck_dim 128, Conv1d kernel 1, no global context
        out = {"pool.linear1.weight": (128, STATS, 1), "pool.linear1.bias": (128,),
               "pool.linear2.weight": (STATS, 128, 1), "pool.linear2.bias": (STATS,)}
        pool_out = 2 * STATS
    elif pool == "MQMHASTP":  # MQMHASTP(in_dim): query_num 2 x MHASTP(head_num 8, layer_num 2, d_s = d_model)
        d = STATS // 8
        out = {}
        for q in range(2):
            for h in range(8):
                p = f"pool.n_query.{q}.heads_att_trans.{h}"
                out |= {f"{p}.att_0.weight": (64, d, 1), f"{p}.att_0.bias": (64,),
                        f"{p}.att_1.weight": (d, 64, 1), f"{p}.att_1.bias": (d,)}
        pool_out = 2 * 2 * STATS
    else:
        out, pool_out = {}, 2 * STATS
    out |= {"seg_1.weight": (EMBED, pool_out), "seg_1.bias": (EMBED,)}
    if two_emb_layer:          # seg_bn_1 = BatchNorm1d(embed_dim, affine=False): running stats only
        out |= {"seg_bn_1.running_mean": (EMBED,), "seg_bn_1.running_var": (EMBED,),
                "seg_bn_1.num_batches_tracked": (), "seg_2.weight": (EMBED, EMBED), "seg_2.bias": (EMBED,)}
    return out


def _config(pool: str, two_emb_layer: bool) -> dict:
    return {"model": "ResNet18", "model_args": {"feat_dim": FEAT, "embed_dim": EMBED, "pooling_func": pool,
                                                "two_emb_layer": two_emb_layer},
            "dataset_args": {"fbank_args": {"num_mel_bins": FEAT}}}


def _randomise(model: torch.nn.Module) -> None:
    torch.manual_seed(3)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif t.is_floating_point():
                t.normal_(0.0, 0.1)


def _foreign_checkpoint(pool: str, two_emb_layer: bool) -> tuple[torch.nn.Module, dict]:
    """(our model with random weights, its state_dict under WeSpeaker's names + the projection head)."""
    sections, key_map, _ = wespeaker.convert(_config(pool, two_emb_layer), "config.yaml")
    model = build_model(sections["model"])
    _randomise(model)
    inverse = {v: k for k, v in key_map.items()}
    src = {}
    for key, t in model.state_dict().items():
        module, _, name = key.rpartition(".")
        src[f"{inverse[module]}.{name}"] = t.clone()
    src["projection.weight"] = torch.randn(CLASSES, EMBED)
    return model.eval(), src


@pytest.mark.parametrize("pool, two_emb_layer", [("ASTP", False), ("MQMHASTP", False), ("TSTP", True),
                                                 ("MQMHASTP", True)])
def test_import_gives_the_same_embeddings(tmp_path, pool, two_emb_layer):
    torch.set_num_threads(1)
    model, src = _foreign_checkpoint(pool, two_emb_layer)
    want = wespeaker_tensors(pool, two_emb_layer)
    got = {k: tuple(v.shape) for k, v in src.items() if k.startswith(("pool.", "seg_"))}
    assert got == want
    torch.save(src, tmp_path / "avg_model.pt")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_config(pool, two_emb_layer)))
    exp = tmp_path / "exp"
    assert import_model.main(["--from", "wespeaker", "--checkpoint", str(tmp_path / "avg_model.pt"),
                              "--config", str(tmp_path / "config.yaml"), "--exp", str(exp)]) == 0
    imported = load_model(exp)
    feats = torch.randn(2, 40, FEAT)
    with torch.no_grad():
        ref = model(feats)
        assert torch.equal(imported(feats), ref)
        torch.testing.assert_close(prepare_for_inference(imported)(feats), ref, atol=1e-5, rtol=1e-5)


def test_two_emb_layer_is_wespeakers_second_layer(tmp_path):
    """The embedding is seg_2(BN_noaffine(relu(seg_1(stats)))) with WeSpeaker's tensors, by hand."""
    model, src = _foreign_checkpoint("TSTP", True)
    feats = torch.randn(3, 40, FEAT)
    with torch.no_grad():
        frames = model.stages(model.stem(feats.transpose(1, 2).unsqueeze(1))).flatten(1, 2)
        stats = torch.cat([frames.mean(-1), torch.sqrt(frames.var(-1) + 1e-7)], dim=1)   # TSTP
        a = F.linear(stats, src["seg_1.weight"], src["seg_1.bias"])
        bn = F.batch_norm(F.relu(a), src["seg_bn_1.running_mean"], src["seg_bn_1.running_var"],
                          training=False, eps=1e-5)
        embed_b = F.linear(bn, src["seg_2.weight"], src["seg_2.bias"])
        torch.testing.assert_close(model(feats), embed_b, atol=1e-5, rtol=1e-5)


def test_unsupported_pooling_is_still_refused():
    with pytest.raises(wespeaker.InterchangeError, match="MHASTP.*supported: TSTP, TAP, ASTP, MQMHASTP"):
        wespeaker.convert(_config("MHASTP", False), "c.yaml")
