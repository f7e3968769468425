"""WeSpeaker checkpoints (github.com/wenet-e2e/wespeaker): `avg_model.pt` + the training `config.yaml`.

Supported: ResNet18/34/50/101/152/221/293 (TSTP, TAP, ASTP or MQMHASTP pooling, one or two
embedding layers) and ECAPA_TDNN_{,GLOB_}c512/c1024 (ASTP). The training head `projection.*` is dropped.
WeSpeaker's conventions (wespeaker/models/resnet.py, pooling_layers.py), reproduced by model options:
- TSTP and ECAPA's global-context std: sqrt(torch.var(x) + 1e-7) (unbiased, floor added);
- ASTP's and MQMHASTP's weighted std: E[x^2] - mean^2 clamped at 1e-7 (one pass);
- a ResNet builds its pooling from `in_dim` alone, so the pooling's own defaults apply: ASTP
  bottleneck 128 without global context; MQMHASTP 2 queries x 8 heads, 2-layer MLPs of width 64,
  vector attention (d_s = 2 > 1) -> `mqmha_wespeaker` with the same parameter names;
- two_emb_layer: ReLU -> BatchNorm1d(affine=False) (`seg_bn_1`) -> Linear (`seg_2`); the embedding
  is the second layer's output (WeSpeaker extracts the last output) -> `seg_bn_affine: false`.
Front end: torchaudio's Kaldi fbank on int16-scaled audio with a hamming window, no energy, dither
in training only (extraction turns it off), then per-utterance mean subtraction.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pytorch.interchange.keymap import InterchangeError
from pytorch.models.resnet import DEPTHS

NAME = "wespeaker"
DROP = ("projection",)            # the training margin head (ArcMargin... weight [classes, D])
TSTP_STD = {"unbiased": True, "floor": 1e-7, "floor_mode": "add"}
ASTP_STD = {"two_pass": False, "floor": 1e-7, "floor_mode": "clamp"}
FBANK_KEYS = ("num_mel_bins", "frame_length", "frame_shift", "dither")
ASTP_MAP = {"pool.linear1": "pool.attn1", "pool.linear2": "pool.attn2"}
MQMHA = {"heads": 8, "queries": 2, "layers": 2, "hidden": 64, "vector": True}   # MQMHASTP(in_dim) defaults
RESNET_POOLS: dict[str, dict[str, Any]] = {
    "TSTP": {"name": "tsp", "std": TSTP_STD}, "TAP": {"name": "tap"},
    "ASTP": {"name": "asp", "hidden": 128, "global_context": False, "std": ASTP_STD},
    "MQMHASTP": {"name": "mqmha_wespeaker", **MQMHA, "std": ASTP_STD}}


def _pool_map(pool: str) -> dict[str, str]:
    """Key map of a ResNet's pooling (`mqmha_wespeaker` keeps WeSpeaker's names under `pool.`)."""
    if pool == "ASTP":
        return dict(ASTP_MAP)
    if pool == "MQMHASTP":
        return {f"pool.n_query.{q}.heads_att_trans.{h}.att_{i}": f"pool.n_query.{q}.heads_att_trans.{h}.att_{i}"
                for q in range(MQMHA["queries"]) for h in range(MQMHA["heads"]) for i in range(MQMHA["layers"])}
    return {}


def _resnet_map(depth: int) -> dict[str, str]:
    block, layers = DEPTHS[depth]
    convs = 2 if block.expansion == 1 else 3
    m = {"conv1": "stem.0.0", "bn1": "stem.0.1", "seg_1": "seg1"}
    for i, n in enumerate(layers):
        for j in range(n):
            theirs, ours = f"layer{i + 1}.{j}", f"stages.{i}.{j}"
            for c in range(convs):     # our body: conv_bn, ReLU, conv_bn[, ReLU, conv_bn]
                m[f"{theirs}.conv{c + 1}"] = f"{ours}.body.{2 * c}.0"
                m[f"{theirs}.bn{c + 1}"] = f"{ours}.body.{2 * c}.1"
            m[f"{theirs}.shortcut.0"] = f"{ours}.shortcut.0"
            m[f"{theirs}.shortcut.1"] = f"{ours}.shortcut.1"
    return m


def _ecapa_map(scale: int = 8, blocks: int = 3) -> dict[str, str]:
    m = {"layer1.conv": "stem.conv", "layer1.bn": "stem.bn", "conv": "mfa", **ASTP_MAP, "bn": "pool_bn",
         "linear": "fc", "bn2": "emb_bn"}
    for k in range(blocks):
        theirs, ours = f"layer{k + 2}.se_res2block", f"blocks.{k}"
        for t, o in (("0", "conv1"), ("2", "conv3")):
            m[f"{theirs}.{t}.conv"], m[f"{theirs}.{t}.bn"] = f"{ours}.{o}.conv", f"{ours}.{o}.bn"
        for i in range(scale - 1):
            m[f"{theirs}.1.convs.{i}"] = f"{ours}.res2.convs.{i}.conv"
            m[f"{theirs}.1.bns.{i}"] = f"{ours}.res2.convs.{i}.bn"
        m[f"{theirs}.3.linear1"], m[f"{theirs}.3.linear2"] = f"{ours}.se.fc1", f"{ours}.se.fc2"
    return m


def _args(model_args: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    extra = sorted(set(model_args) - set(allowed))
    if extra:
        raise InterchangeError(f"{where}: model_args.{extra[0]} is not supported by the importer "
                               f"(supported: {', '.join(allowed)})")
    return dict(model_args)


def _model(name: str, model_args: Mapping[str, Any], where: str) -> tuple[dict, dict[str, str]]:
    resnet = re.fullmatch(r"ResNet(\d+)", name)
    ecapa = re.fullmatch(r"ECAPA_TDNN_(GLOB_)?c(512|1024)", name)
    if resnet and int(resnet.group(1)) in DEPTHS:
        a = _args(model_args, ("feat_dim", "embed_dim", "pooling_func", "two_emb_layer"), where)
        pool = a.get("pooling_func", "TSTP")
        if pool not in RESNET_POOLS:
            raise InterchangeError(f"{where}: model_args.pooling_func: {pool!r} is not supported for "
                                   f"ResNets (supported: {', '.join(RESNET_POOLS)})")
        depth = int(resnet.group(1))
        cfg = {"name": "resnet", "feat_dim": a.get("feat_dim", 40), "depth": depth, "base_channels": 32,
               "se": False, "embed_dim": a.get("embed_dim", 128), "pooling": copy.deepcopy(RESNET_POOLS[pool])}
        key_map = {**_resnet_map(depth), **_pool_map(pool)}
        if a.get("two_emb_layer", False):
            cfg.update(two_emb_layer=True, seg_bn_affine=False)
            key_map.update({"seg_bn_1": "seg2.1", "seg_2": "seg2.2"})
        return cfg, key_map
    if ecapa:
        a = _args(model_args, ("feat_dim", "embed_dim", "pooling_func", "emb_bn"), where)
        if a.get("pooling_func", "ASTP") != "ASTP":
            raise InterchangeError(f"{where}: model_args.pooling_func: {a['pooling_func']!r} is not supported "
                                   "for ECAPA-TDNN (supported: ASTP)")
        pooling = {"name": "asp", "hidden": 128, "global_context": bool(ecapa.group(1)),
                   "std": dict(ASTP_STD), "context_std": dict(TSTP_STD)}
        cfg = {"name": "ecapa_tdnn", "feat_dim": a.get("feat_dim", 80), "channels": int(ecapa.group(2)),
               "embed_dim": a.get("embed_dim", 192), "pooling": pooling, "emb_bn": bool(a.get("emb_bn", False))}
        return cfg, _ecapa_map()
    raise InterchangeError(f"{where}: model {name!r} is not supported; supported: ResNet18/34/50/101/152/221/293, "
                           "ECAPA_TDNN_c512/c1024, ECAPA_TDNN_GLOB_c512/c1024")


def _features(dataset_args: Mapping[str, Any], where: str) -> tuple[dict, dict]:
    frontend = dataset_args.get("frontend", "fbank")
    if frontend != "fbank":
        raise InterchangeError(f"{where}: dataset_args.frontend: {frontend!r} is not supported (fbank only)")
    fbank_args = dict(dataset_args.get("fbank_args") or {})
    extra = sorted(set(fbank_args) - set(FBANK_KEYS))
    if extra:
        raise InterchangeError(f"{where}: dataset_args.fbank_args.{extra[0]} is not supported")
    features = {"name": "fbank", "sample_frequency": int(dataset_args.get("resample_rate", 16000)),
                "frame_length": fbank_args.get("frame_length", 25), "frame_shift": fbank_args.get("frame_shift", 10),
                "num_mel_bins": fbank_args.get("num_mel_bins", 80), "dither": fbank_args.get("dither", 1.0),
                "window_type": "hamming", "snip_edges": True, "low_freq": 20, "high_freq": 0,
                "use_energy": False}
    data = {"mode": "wave", "num_frames": int(dataset_args.get("num_frms", 200)), "cmn": True}
    return data, features


def convert(config: Mapping[str, Any] | None, where: str) -> tuple[dict, dict[str, str], dict]:
    """-> (our config sections data/features/model, key map, remap options)."""
    if config is None:
        raise InterchangeError(f"{where}: WeSpeaker checkpoints need their training config: pass --config "
                               "<config.yaml> (it ships with the model)")
    if not isinstance(config, Mapping) or "model" not in config:
        raise InterchangeError(f"{where}: not a WeSpeaker training config (no 'model' key)")
    model, key_map = _model(str(config["model"]), config.get("model_args") or {}, where)
    data, features = _features(config.get("dataset_args") or {}, where)
    if features["num_mel_bins"] != model["feat_dim"]:
        raise InterchangeError(f"{where}: fbank_args.num_mel_bins {features['num_mel_bins']} != "
                               f"model_args.feat_dim {model['feat_dim']}")
    return {"data": data, "features": features, "model": model}, key_map, {"drop": DROP}
