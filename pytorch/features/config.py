"""Build feature modules from YAML configs whose keys are Kaldi option names.

A feature config is a flat mapping, e.g. conf/fbank.yaml:
    name: fbank          # optional; fbank | mfcc | spectrogram
    num_mel_bins: 80
    dither: 1.0
The kind comes from `name` or from the caller (e.g. `--feat-type`); when both are given they must agree.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from common.errors import ConfigError
from common.registry import build_options
from pytorch.config import load_yaml
from pytorch.features.base import KaldiFeature
from pytorch.features.fbank import Fbank
from pytorch.features.mfcc import Mfcc
from pytorch.features.options import VadOptions
from pytorch.features.spectrogram import Spectrogram

FEATURES: dict[str, type[KaldiFeature]] = {"fbank": Fbank, "mfcc": Mfcc, "spectrogram": Spectrogram}


def from_config(cfg: Mapping[str, Any] | None, kind: str | None = None,
                where: str = "feature config") -> tuple[KaldiFeature, str]:
    """-> (module, kind). Unknown keys raise ConfigError naming the key, `where` and the valid keys."""
    if cfg is not None and not isinstance(cfg, Mapping):
        raise ConfigError(f"{where}: expected a mapping of Kaldi option names, got {cfg!r}")
    cfg = dict(cfg or {})
    name = cfg.pop("name", None)
    if name is not None and kind is not None and name != kind:
        raise ConfigError(f"{where}: config says name: {name} but {kind} was requested")
    kind = kind or name
    if kind is None:
        raise ConfigError(f"{where}: no feature type; add 'name: <{'|'.join(FEATURES)}>' or pass --feat-type")
    if kind not in FEATURES:
        raise ConfigError(f"{where}: unknown feature type {kind!r}; choose one of: {', '.join(FEATURES)}")
    try:
        return FEATURES[kind](**cfg), kind
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_feature_config(path: str | os.PathLike, kind: str | None = None) -> tuple[KaldiFeature, str]:
    return from_config(load_yaml(path), kind, where=str(path))


def load_vad_config(path: str | os.PathLike) -> dict[str, Any]:
    """Validated VAD options (Kaldi's vad.conf keys) as a kwargs dict for compute_vad."""
    cfg = load_yaml(path)
    build_options(VadOptions, cfg, str(path))
    return dict(cfg or {})
