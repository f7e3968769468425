"""Model and pooling registries, and `build_model(model_cfg)`.

Every model takes `feat_dim` (required config key) and returns embeddings from
`forward(feats[B, T, F]) -> emb[B, D]`, with the dimension in attribute `embed_dim`.
Poolings take the runtime argument `in_dim` and map [B, C, T] -> [B, out_dim].
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from common.errors import ConfigError
from common.registry import Registry

MODELS = Registry("model")
POOLING = Registry("pooling")


def build_model(model_cfg: Mapping[str, Any]) -> nn.Module:
    """Build the model named by `model_cfg['name']`; unknown keys raise ConfigError."""
    if isinstance(model_cfg, Mapping) and "name" in model_cfg and "feat_dim" not in model_cfg:
        raise ConfigError(f"model ({model_cfg['name']}): required key 'feat_dim' is missing "
                          "(the feature dimension, e.g. 80 for 80-dim fbank)")
    model = MODELS.build(model_cfg, where="model")
    if not hasattr(model, "embed_dim"):
        raise TypeError(f"model {model_cfg['name']!r} has no attribute embed_dim")
    return model


def build_pooling(cfg: Mapping[str, Any] | str | None, in_dim: int, default: str = "tsp") -> nn.Module:
    """`cfg` is a pooling section ({name: asp, ...}), a bare name, or None for the model's default."""
    if cfg is None:
        cfg = {"name": default}
    elif isinstance(cfg, str):
        cfg = {"name": cfg}
    return POOLING.build(cfg, where="model.pooling", in_dim=in_dim)


def preset(ctor: Callable[..., Any], **fixed: Any) -> Callable[..., Any]:
    """A named variant of `ctor` with some arguments fixed: the fixed ones are not config keys,
    so e.g. `resnet34` rejects `depth:` instead of silently building another depth."""
    sig = inspect.signature(ctor)
    for key in fixed:
        if key not in sig.parameters:
            raise TypeError(f"{ctor.__name__} has no parameter {key!r}")

    def build(**kwargs: Any) -> Any:
        return ctor(**fixed, **kwargs)

    build.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[p for n, p in sig.parameters.items() if n not in fixed])
    build.__name__ = getattr(ctor, "__name__", "preset")
    build.__doc__ = ctor.__doc__
    return build
