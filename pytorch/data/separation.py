"""Two-speaker mixture data dirs for separation, and the speaker embeddings that condition the separator.

A mixture dir is the overlap format (local/synthetic, local/overlap, local/wsj0_2mix): `wav.scp`, `utt2spks`
(`mix spk1 spk2`) and, for training and scoring, `utt2sources` (`mix s1.wav s2.wav`, the two source images
with mix = s1 + s2 (+ noise)).

Embeddings come as Kaldi ark/scp tables, so any embedding source plugs in:
  - conditioning `enroll`: clean enrollment embeddings of the target speakers, keyed by speaker (e.g. a
    `spk_xvector.scp` of speaker means) or by utterance with `--enroll-utt2spk`; training draws a random
    utterance of the speaker each time, separation takes the speaker's first utterance (sorted keys);
  - conditioning `mixture`: embeddings from the mixture itself (MIRNet), one row per mixture holding the two
    embeddings concatenated, [I1, I2] (dim 2D); which one belongs to which source is unknown, so training
    and scoring assign them by permutation;
  - conditioning `none`: no table.
Every embedding is length-normalised (I1 and I2 each on its own).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from common.embeddings import load_embeddings
from common.errors import FormatError
from common.io import read_kv, read_table
from pytorch.data.audio import read_audio
from pytorch.models.voicefilter import CONDITIONINGS


def _unit(x: np.ndarray) -> np.ndarray:
    """Length-normalised rows, as VoiceFilter's d-vectors: speaker means and single-utterance embeddings then
    have one scale, and the network sees directions only."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class MixtureDir:
    """The mixtures of a data dir (sorted), their wav.scp, speakers and, if present, sources."""

    def __init__(self, path: str | os.PathLike, need_sources: bool) -> None:
        self.path = Path(path)
        for name in ("wav.scp", "utt2spks") + (("utt2sources",) if need_sources else ()):
            if not (self.path / name).is_file():
                raise FormatError(f"{self.path / name}: missing; a mixture dir needs wav.scp, utt2spks and, "
                                  "to train or score, utt2sources (local/overlap or local/wsj0_2mix write them)")
        self.wav = read_kv(self.path / "wav.scp")
        self.spks = {r[0]: r[1:] for r in read_table(self.path / "utt2spks", 3, 3)}
        self.sources = ({r[0]: r[1:] for r in read_table(self.path / "utt2sources", 3, 3)}
                        if (self.path / "utt2sources").is_file() else {})
        self.utts = sorted(self.wav)
        for name, tab in (("utt2spks", self.spks), ("utt2sources", self.sources)):
            if (name == "utt2spks" or need_sources) and (missing := [u for u in self.utts if u not in tab]):
                raise FormatError(f"{self.path / name}: no entry for {len(missing)} mixture(s) of wav.scp, "
                                  f"first {missing[0]!r}; run utils/fix_data_dir.sh on {self.path}")

    def load(self, utt: str, rate: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(mixture [N], sources [2, N] or None), float32, checked for rate and length."""
        mix = self._read(self.wav[utt], utt, rate)
        if utt not in self.sources:
            return mix, None
        src = np.stack([self._read(p, utt, rate) for p in self.sources[utt]])
        if src.shape[1] != len(mix):
            raise FormatError(f"{self.path / 'utt2sources'}: {utt}: the sources have {src.shape[1]} samples, "
                              f"the mixture {len(mix)}; sources must be the mixture's images, sample-aligned")
        return mix, src

    def _read(self, spec: str, utt: str, rate: int) -> np.ndarray:
        x, sr = read_audio(spec, utt)
        if sr != rate:
            raise FormatError(f"{self.path}: {utt}: {spec} is {sr} Hz, the separator runs at {rate} Hz; "
                              "resample the data (or set --sample-rate)")
        return x


class Conditioner:
    """Embeddings [2, D] for a mixture's two sources (row k for speaker k of utt2spks), per conditioning."""

    def __init__(self, conditioning: str, embeddings: str | None = None, utt2spk: str | None = None) -> None:
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning {conditioning!r}: choose one of {', '.join(CONDITIONINGS)}")
        if (conditioning == "none") != (embeddings is None):
            raise ValueError(f"conditioning {conditioning}: " + ("takes no --embeddings" if embeddings
                             else "needs --embeddings (an scp of speaker embeddings)"))
        self.conditioning, self.path = conditioning, embeddings
        self.embed_dim = 0
        if embeddings is None:
            return
        keys, x = load_embeddings(embeddings)
        if conditioning == "mixture":
            if x.shape[1] % 2:
                raise FormatError(f"{embeddings}: mixture embeddings hold the two embeddings of a mixture "
                                  f"side by side (dim 2D); got the odd dim {x.shape[1]}")
            self.embed_dim = x.shape[1] // 2
            self.rows = {k: _unit(x[i].reshape(2, self.embed_dim)) for i, k in enumerate(keys)}
            return
        x = _unit(x)
        self.embed_dim = x.shape[1]
        if utt2spk is None:
            self.rows = {k: x[i:i + 1] for i, k in enumerate(keys)}
            return
        u2s = read_kv(utt2spk)
        by_spk: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k not in u2s:
                raise FormatError(f"{utt2spk}: no speaker for embedding {k!r} of {embeddings}; pass the "
                                  "utt2spk of the data dir the embeddings were extracted from")
            by_spk.setdefault(u2s[k], []).append(i)
        self.rows = {s: x[sorted(ix, key=lambda i: keys[i])] for s, ix in by_spk.items()}

    def __call__(self, mix: str, spks: list[str], rng: np.random.Generator | None = None) -> np.ndarray:
        """[2, D] float32 (an empty [2, 0] for `none`); `rng` draws the enrollment utterance when training."""
        if self.conditioning == "none":
            return np.zeros((2, 0), np.float32)
        if self.conditioning == "mixture":
            if mix not in self.rows:
                raise FormatError(f"{self.path}: no embedding for mixture {mix!r}; extract the mixture "
                                  "embeddings of this data dir")
            return self.rows[mix]
        out = []
        for spk in spks:
            if spk not in self.rows:
                raise FormatError(f"{self.path}: no enrollment embedding for speaker {spk!r} (of mixture "
                                  f"{mix}); extract embeddings of clean speech of every mixture speaker")
            rows = self.rows[spk]
            out.append(rows[0 if rng is None else rng.integers(len(rows))])
        return np.stack(out)


class ChunkDataset(torch.utils.data.Dataset):
    """Random `chunk`-sample windows of the mixtures (the same window of the mixture and its sources, zero-
    padded when shorter), with the conditioning embeddings; the mixtures are read once and kept."""

    def __init__(self, mixtures: MixtureDir, cond: Conditioner, rate: int, chunk: int, seed: int) -> None:
        self.mixtures, self.cond, self.chunk = mixtures, cond, chunk
        self.audio = [mixtures.load(u, rate) for u in mixtures.utts]
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.audio)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        utt = self.mixtures.utts[i]
        mix, src = self.audio[i]
        n = len(mix)
        start = int(self.rng.integers(n - self.chunk + 1)) if n > self.chunk else 0
        m = np.zeros(self.chunk, np.float32)
        s = np.zeros((2, self.chunk), np.float32)
        m[:min(n, self.chunk)] = mix[start:start + self.chunk]
        s[:, :min(n, self.chunk)] = src[:, start:start + self.chunk]
        emb = self.cond(utt, self.mixtures.spks[utt], self.rng)
        return torch.from_numpy(m), torch.from_numpy(s), torch.from_numpy(np.ascontiguousarray(emb))
