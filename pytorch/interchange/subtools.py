"""ASV-Subtools checkpoints (github.com/Snowdar/asv-subtools): `<epoch>.params`, a plain state_dict.

Supported: the CNSRC 2022 SV baseline, `SEResNetXvector` of recipe/cnsrc/model/resnet-se-xvector.py
with the `model_params` of recipe/cnsrc/sv/run_cnsrc_sv.py (the architecture is fixed by that recipe,
so no config is read): 81-dim fbank, SE-ResNet-34 (32/64/128/256 channels, SE bottleneck
channels // 16 without floor, original block order), statistics pooling (population variance,
two-pass, floor 1e-10), fc2 = Linear -> ReLU -> BatchNorm1d(affine=False), embedding `near` (after
that BatchNorm). Margin-loss weights (`loss.*`) are dropped.
Front end (subtools/conf/sre-fbank-81.conf, vad-5.0.conf): Kaldi fbank with energy; the recipe
extracts with Kaldi sliding CMN (300 frames, centred; data.cmn_window) and without VAD (extract.use_vad).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytorch.interchange.keymap import InterchangeError
from pytorch.models.resnet import DEPTHS

NAME = "subtools"
DROP = ("loss",)
DEPTH = 34
FBANK81: dict[str, Any] = {"name": "fbank", "sample_frequency": 16000, "frame_length": 25, "frame_shift": 10,
                           "num_mel_bins": 80, "dither": 0.0, "window_type": "povey", "snip_edges": True,
                           "low_freq": 40, "high_freq": -200, "use_energy": True}
VAD: dict[str, Any] = {"vad_energy_threshold": 5.0, "vad_energy_mean_scale": 0.5}
CMN_WINDOW = 300
MODEL: dict[str, Any] = {
    "name": "resnet", "feat_dim": 81, "depth": DEPTH, "base_channels": 32, "se": True, "se_reduction": 16,
    "se_min_hidden": 1, "embed_dim": 256, "pooling": {"name": "tsp", "std": {"floor": 1e-10}},
    "head": "xvector", "embed_point": "near"}


def _key_map() -> dict[str, str]:
    m = {"resnet.conv1": "stem.0.0", "resnet.bn1": "stem.0.1", "fc2.affine": "seg1", "fc2.batchnorm": "head_bn"}
    for i, n in enumerate(DEPTHS[DEPTH][1]):
        for j in range(n):
            theirs, ours = f"resnet.layer{i + 1}.{j}", f"stages.{i}.{j}"
            for c in range(2):
                m[f"{theirs}.conv{c + 1}"] = f"{ours}.body.{2 * c}.0"
                m[f"{theirs}.bn{c + 1}"] = f"{ours}.body.{2 * c}.1"
            m[f"{theirs}.downsample.0"], m[f"{theirs}.downsample.1"] = f"{ours}.shortcut.0", f"{ours}.shortcut.1"
            m[f"{theirs}.se.fc_1"], m[f"{theirs}.se.fc_2"] = f"{ours}.se.fc1", f"{ours}.se.fc2"
    return m


def convert(config: Mapping[str, Any] | None, where: str) -> tuple[dict, dict[str, str], dict]:
    """-> (our config sections data/features/model, key map, remap options)."""
    if config is not None:
        raise InterchangeError(f"{where}: --config is not read for ASV-Subtools: the architecture is the "
                               "CNSRC SE-ResNet-34 of recipe/cnsrc/sv/run_cnsrc_sv.py; drop --config")
    # Subtools trains on voiced frames but extracts without VAD (extract_xvectors_for_pytorch.sh
    # --vad false), both after sliding CMN (apply-cmvn-sliding --center=true --cmn-window=300).
    data = {"mode": "feats", "num_frames": 200, "cmn": True, "cmn_window": CMN_WINDOW, "use_vad": True}
    sections = {"data": data, "features": dict(FBANK81), "model": dict(MODEL),
                "extract": {"use_vad": False}}
    return sections, _key_map(), {"drop": DROP, "squeeze": ("fc2.affine.weight",)}
