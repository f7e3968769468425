"""VoiceFilter (Wang et al., Interspeech 2019): a speaker-conditioned magnitude-mask separation network.

The mixture's compressed magnitude spectrogram goes through a dilated 2-D CNN; its output, flattened per frame
and concatenated with the speaker embedding repeated over time, feeds a (B)LSTM, then two FC layers; a sigmoid
gives a mask per time-frequency bin. The masked magnitude is put back with the mixture's phase (torch.istft).

The three conditionings of the MIRNet paper's Table 2 are one network:
  - `embed_dim > 0, num_outputs = 1`: one mask per (mixture, embedding); run once per source with that
    source's embedding, either of a clean enrollment utterance (conditioning `enroll`) or one of the two
    MIRNet embeddings of the mixture itself (conditioning `mixture`);
  - `embed_dim = 0, num_outputs = 2`: the same network with no embedding, two masks at once (uPIT).

The defaults are the paper's sizes (8 conv layers of 64 channels with time dilations 1..16, the last a 1x1 conv
with 8 channels, a 400-unit LSTM, FC 600); the STFT is 32 ms / 10 ms / 512 points (257 bins) at 16 kHz, the
MIRNet front-end's, rather than the paper's 1200-point one.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.errors import ConfigError
from common.registry import build_options
from pytorch.config import load_yaml
from pytorch.training.checkpoint import list_epochs, load_checkpoint

PAPER_KERNELS = ((1, 7), (7, 1), (5, 5), (5, 5), (5, 5), (5, 5), (5, 5), (1, 1))   # (time, freq)
PAPER_DILATIONS = (1, 1, 1, 2, 4, 8, 16, 1)                                          # along time
CONDITIONINGS = ("enroll", "mixture", "none")


class VoiceFilter(nn.Module):
    def __init__(self, embed_dim: int = 256, num_outputs: int = 1, n_fft: int = 512, win_length: int = 512,
                 hop_length: int = 160, conv_channels: int = 64, last_channels: int = 8,
                 kernels: Sequence[Sequence[int]] = PAPER_KERNELS, dilations: Sequence[int] = PAPER_DILATIONS,
                 lstm_hidden: int = 400, bidirectional: bool = False, fc_dim: int = 600,
                 compress: float = 0.3) -> None:
        super().__init__()
        if len(kernels) != len(dilations) or len(kernels) < 1:
            raise ConfigError(f"voicefilter: kernels ({len(kernels)}) and dilations ({len(dilations)}) "
                              "must be non-empty lists of the same length")
        if (embed_dim > 0) == (num_outputs != 1):
            raise ConfigError("voicefilter: a conditioned network (embed_dim > 0) has num_outputs 1; an "
                              f"unconditioned one (embed_dim 0) has num_outputs >= 2; got {embed_dim}, "
                              f"{num_outputs}")
        self.embed_dim, self.num_outputs = embed_dim, num_outputs
        self.n_fft, self.win_length, self.hop_length, self.compress = n_fft, win_length, hop_length, compress
        self.num_freq = n_fft // 2 + 1
        layers: list[nn.Module] = []
        cin = 1
        for i, ((kt, kf), d) in enumerate(zip(kernels, dilations)):
            cout = last_channels if i == len(kernels) - 1 else conv_channels
            # 'same' padding along both axes, so the frame count and the bins are kept
            layers += [nn.Conv2d(cin, cout, (kt, kf), dilation=(d, 1), padding=(d * (kt - 1) // 2, (kf - 1) // 2)),
                       nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        self.cnn = nn.Sequential(*layers)
        self.lstm = nn.LSTM(last_channels * self.num_freq + embed_dim, lstm_hidden, batch_first=True,
                            bidirectional=bidirectional)
        self.fc1 = nn.Linear(lstm_hidden * (2 if bidirectional else 1), fc_dim)
        self.fc2 = nn.Linear(fc_dim, self.num_freq * num_outputs)
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)

    # --- signal side -------------------------------------------------------------------------------------------
    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """[B, N] samples -> complex [B, T, F]."""
        spec = torch.stft(wav, self.n_fft, self.hop_length, self.win_length, self.window, center=True,
                          return_complex=True)
        return spec.transpose(1, 2)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """complex [..., T, F] -> [..., length] samples."""
        lead = spec.shape[:-2]
        spec = spec.reshape(-1, *spec.shape[-2:]).transpose(1, 2)
        wav = torch.istft(spec, self.n_fft, self.hop_length, self.win_length, self.window, center=True,
                          length=length)
        return wav.reshape(*lead, length)

    def magnitude(self, spec: torch.Tensor) -> torch.Tensor:
        """Power-law compressed magnitude, the network's input and the loss's domain (as in the paper)."""
        return spec.abs().clamp_min(1e-8) ** self.compress

    # --- network -----------------------------------------------------------------------------------------------
    def forward(self, mag: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        """Compressed magnitude [B, T, F] (and embeddings [B, D] when conditioned) -> masks [B, S, T, F] in
        (0, 1), S = num_outputs."""
        return self.decode(self.encode(mag), emb)

    def encode(self, mag: torch.Tensor) -> torch.Tensor:
        """The CNN part, which does not see the embedding: [B, T, F] -> [B, T, C*F]."""
        b, t, f = mag.shape
        if f != self.num_freq:
            raise ValueError(f"voicefilter: expected {self.num_freq} frequency bins, got {f}")
        x = self.cnn(mag.unsqueeze(1))                       # [B, C, T, F]
        return x.permute(0, 2, 1, 3).reshape(b, t, -1)

    def decode(self, x: torch.Tensor, emb: torch.Tensor | None) -> torch.Tensor:
        """CNN features [B, T, C*F] (+ embeddings [B, D]) -> masks [B, S, T, F]."""
        b, t, _ = x.shape
        if (emb is None) != (self.embed_dim == 0):
            raise ValueError("voicefilter: an embedding is required exactly when embed_dim > 0")
        if emb is not None:
            if emb.shape != (b, self.embed_dim):
                raise ValueError(f"voicefilter: embeddings must be [{b}, {self.embed_dim}], got {list(emb.shape)}")
            # unit-length embeddings have elements of about 1/sqrt(D), far below the batch-normalised CNN
            # features beside them; scaled to unit RMS, the LSTM learns to use them (enroll stalled without it)
            emb = emb * self.embed_dim ** 0.5
            x = torch.cat([x, emb.unsqueeze(1).expand(b, t, self.embed_dim)], dim=2)
        x, _ = self.lstm(x)
        x = torch.relu(self.fc1(x))
        mask = torch.sigmoid(self.fc2(x))                   # [B, T, S*F]
        return mask.reshape(b, t, self.num_outputs, self.num_freq).permute(0, 2, 1, 3)

    def estimates(self, wav: torch.Tensor, emb: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixtures [B, N] and, when conditioned, embeddings [B, K, D] (one per wanted source) -> (masked
        compressed magnitudes [B, K, T, F], mixture STFT [B, T, F]); K = num_outputs when unconditioned."""
        spec = self.stft(wav)
        mag = self.magnitude(spec)
        if emb is None:
            return self.forward(mag) * mag.unsqueeze(1), spec
        b, k, _ = emb.shape
        # the CNN runs once per mixture; only the LSTM and FC layers run once per embedding
        masks = self.decode(self.encode(mag).repeat_interleave(k, 0), emb.reshape(b * k, -1))   # [B*K, 1, T, F]
        return masks.reshape(b, k, *mag.shape[1:]) * mag.unsqueeze(1), spec

    def separate(self, wav: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        """Mixtures [B, N] (+ embeddings [B, K, D]) -> estimated sources [B, K, N], with the mixture's phase."""
        est, spec = self.estimates(wav, emb)
        mag = est.clamp_min(0) ** (1 / self.compress)
        phase = spec / spec.abs().clamp_min(1e-8)
        return self.istft(mag * phase.unsqueeze(1), wav.shape[-1])


def separation_loss(est: torch.Tensor, target: torch.Tensor, permute: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """MSE between masked and target compressed magnitudes [B, K, T, F]; with `permute` the assignment of
    estimates to targets is the one with the lowest loss per example (utterance-level PIT, K = 2).
    Returns (mean loss, the chosen permutation index per example: 0 = identity, 1 = swapped)."""
    direct = ((est - target) ** 2).mean(dim=(1, 2, 3))
    if not permute:
        return direct.mean(), torch.zeros_like(direct, dtype=torch.long)
    if est.shape[1] != 2:
        raise ValueError(f"permutation-invariant loss is for 2 sources, got {est.shape[1]}")
    swapped = ((est.flip(1) - target) ** 2).mean(dim=(1, 2, 3))
    both = torch.stack([direct, swapped], 1)
    best, perm = both.min(1)
    return best.mean(), perm


def build_separator(cfg: dict[str, Any], conditioning: str, embed_dim: int = 0) -> VoiceFilter:
    """The model section of a separator config for one conditioning; `embed_dim` (the embedding table's
    dimension) and the number of outputs are set by the program, so one config serves all three."""
    if conditioning not in CONDITIONINGS:
        raise ConfigError(f"conditioning {conditioning!r}: choose one of {', '.join(CONDITIONINGS)}")
    cfg = dict(cfg)
    if cfg.pop("name", "voicefilter") != "voicefilter":
        raise ConfigError("model.name: the separator is 'voicefilter'")
    where = f"model (voicefilter, conditioning {conditioning})"
    if conditioning == "none":
        return build_options(VoiceFilter, cfg, where, embed_dim=0, num_outputs=2)
    if embed_dim < 1:
        raise ConfigError(f"{where}: needs embeddings (embed_dim {embed_dim})")
    return build_options(VoiceFilter, cfg, where, embed_dim=embed_dim, num_outputs=1)


def load_separator(exp: str | os.PathLike) -> tuple[VoiceFilter, dict[str, Any]]:
    """The last checkpoint of a separator exp dir, in eval mode, and its resolved config."""
    cfg = load_yaml(Path(exp) / "config.yaml")
    epochs = list_epochs(exp)
    if not epochs:
        raise FileNotFoundError(f"{Path(exp) / 'models'}: no epoch_N.pt; train the separator first")
    model = build_separator(cfg["model"], cfg["data"]["conditioning"], cfg["data"]["embed_dim"])
    model.load_state_dict(load_checkpoint(epochs[-1][1])["model"])
    return model.eval(), cfg
