"""What a dataset builder (feats or wave mode) hands the loader builder."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass
class TrainSet:
    dataset: Dataset
    labels: np.ndarray                  # class index per item, for the samplers
    feat_dim: int
    spk2id: dict[str, int]              # the classes (wave mode adds the speed-perturbed speakers)
    device_features: torch.nn.Module | None = None  # wave mode, fbank_on: device: run in to_features
