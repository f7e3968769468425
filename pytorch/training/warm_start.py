"""Warm start: a new training run's model initialised from another run's checkpoint (`train.init`).

    train:
      init: {checkpoint: exp/resnet_tap_mini/models/avg.pt, prefix: backbone.}

Every tensor of the checkpoint's model goes to the parameter or buffer named `prefix` + its key
(e.g. a single-speaker ResNet into MIRNet's `backbone.`, or the same architecture with prefix ''),
and must fit it exactly; tensors of the new model that the checkpoint lacks keep their fresh init.
The classifier (the loss) always starts fresh: a warm start may change the training speakers or the
loss. It applies to a fresh run only: a resumed run loads its own epoch checkpoint instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from common.errors import ConfigError
from pytorch.training.checkpoint import load_checkpoint


@dataclass
class InitOptions:
    checkpoint: str = ""      # an epoch_N.pt or avg.pt of another run
    prefix: str = ""          # prepended to the checkpoint's model keys to name the new model's tensors

    def check(self, where: str) -> None:
        if not self.checkpoint:
            raise ConfigError(f"{where}.checkpoint: name a checkpoint, e.g. exp/<sys>/models/avg.pt")


def warm_start(model: nn.Module, opts: InitOptions, where: str = "train.init") -> int:
    """Copies the checkpoint's model tensors into `model` (in place); returns how many."""
    state = load_checkpoint(opts.checkpoint)
    if not isinstance(state.get("model"), dict):
        raise ConfigError(f"{where}.checkpoint: {opts.checkpoint} has no model weights; use an epoch_N.pt "
                          "or avg.pt written by pytorch.bin.train")
    target = model.state_dict()
    update: dict[str, torch.Tensor] = {}
    for key, value in state["model"].items():
        name = opts.prefix + key
        if name not in target:
            raise ConfigError(f"{where}: {opts.checkpoint} has {key!r} but the model has no {name!r}; "
                              f"set {where}.prefix to where that network sits in the model (e.g. backbone.)")
        if target[name].shape != value.shape:
            raise ConfigError(f"{where}: {opts.checkpoint}'s {key!r} is {tuple(value.shape)}, the model's "
                              f"{name!r} is {tuple(target[name].shape)}; the two configs must agree on it")
        update[name] = value
    model.load_state_dict({**target, **update})
    return len(update)
