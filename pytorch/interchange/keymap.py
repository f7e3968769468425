"""Renaming a foreign state_dict onto one of this toolkit's models, refusing anything it cannot place.

A key map sends a foreign *module* path to ours (`layer1.0.bn1` -> `stages.0.0.body.0.1`); a key is
its module path plus the tensor name (weight, bias, running_mean, ...), which is kept. Every foreign
key must be mapped or dropped (a training-only head), every tensor of the model must be filled, and
every shape must agree: otherwise InterchangeError names the key, in one line.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

import torch
from torch import nn

from common.errors import AsvError

log = logging.getLogger(__name__)


class InterchangeError(AsvError, ValueError):
    """A foreign checkpoint or config this toolkit cannot reproduce; the message names the key."""


def remap_state_dict(src: Mapping[str, torch.Tensor], key_map: Mapping[str, str], model: nn.Module,
                     where: str, drop: Collection[str] = (), squeeze: Collection[str] = ()) -> dict:
    """`src` renamed by `key_map` into a state_dict that fits `model` exactly.

    drop: foreign key prefixes of training-only parts (discarded, logged).
    squeeze: foreign keys whose trailing size-1 axes go (a Conv1d with kernel 1 stored for a Linear)."""
    target = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    dropped = []
    for key, tensor in src.items():
        if not isinstance(tensor, torch.Tensor):
            raise InterchangeError(f"{where}: key {key!r} holds a {type(tensor).__name__}, not a tensor")
        if any(key == p or key.startswith(p + ".") for p in drop):
            dropped.append(key)
            continue
        module, _, name = key.rpartition(".")
        if module not in key_map:
            raise InterchangeError(f"{where}: unknown key {key!r}: no counterpart in the key map; "
                                   "the checkpoint is not the model its config describes")
        ours = f"{key_map[module]}.{name}"
        if ours not in target:
            raise InterchangeError(f"{where}: key {key!r} maps to {ours!r}, which the model does not have "
                                   "(its config disagrees with the checkpoint)")
        if key in squeeze:
            while tensor.dim() > target[ours].dim() and tensor.shape[-1] == 1:
                tensor = tensor.squeeze(-1)
        if tuple(tensor.shape) != tuple(target[ours].shape):
            raise InterchangeError(f"{where}: key {key!r} has shape {tuple(tensor.shape)}, the model's "
                                   f"{ours!r} has {tuple(target[ours].shape)}")
        if ours in out:
            raise InterchangeError(f"{where}: key {key!r} maps onto {ours!r} a second time")
        out[ours] = tensor.to(target[ours].dtype)
    missing = [k for k in target if k not in out]
    if missing:
        inverse = {v: k for k, v in key_map.items()}
        module, _, name = missing[0].rpartition(".")
        theirs = f"{inverse[module]}.{name}" if module in inverse else "(no key map entry)"
        raise InterchangeError(f"{where}: missing key {theirs!r} (for {missing[0]!r}); "
                               f"{len(missing)} tensor(s) of the model are not in the checkpoint")
    if dropped:
        log.info("%s: dropped %d training-only tensor(s): %s", where, len(dropped), ", ".join(dropped[:4]))
    return out
