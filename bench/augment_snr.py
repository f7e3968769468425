"""What the wave-mode augmenter really applies: SNR of speech over the added signal, peak level, per kind.

  . ./path.sh && python bench/augment_snr.py --recipe egs/mini [--utts 10 --stride 97]

Reads the recipe's data/train and the augmentation dirs of stage 2 (data/musan_{noise,music,speech},
data/rirs), draws `--utts` training segments per kind with fixed seeds, and prints the range of the SNR
actually applied (speech power over the power of augmented - clean) and the peak sample. egs/mini/README.md
("Augmentation") quotes its output.
"""
from __future__ import annotations

import argparse
import os

import numpy as np
import torch

from pytorch.data.augment import power
from pytorch.data.builder import build_train_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipe", default="egs/mini", help="recipe dir holding data/ (default egs/mini)")
    ap.add_argument("--utts", type=int, default=10, help="segments per augmentation kind")
    ap.add_argument("--stride", type=int, default=97, help="take every stride-th training utterance")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.chdir(args.recipe)
    if not os.path.isfile("data/musan_noise/wav.scp"):
        print(f"bench/augment_snr.py: {args.recipe}/data has no augmentation dirs; run its stages 0-2 first")
        return
    base = {"data": {"train": "data/train", "mode": "wave", "num_frames": 150, "min_frames": 100, "cmn": True},
            "features": {"name": "fbank", "num_mel_bins": 80, "dither": 0.0}, "train": {"batch_size": 8, "seed": 1}}
    aug = {"noise": {"data": "data/musan_noise", "prob": 0.2}, "music": {"data": "data/musan_music", "prob": 0.2},
           "babble": {"data": "data/musan_speech", "prob": 0.2}, "reverb": {"data": "data/rirs", "prob": 0.3}}
    clean = build_train_data(base).dataset
    augmenter = build_train_data({**base, "augment": aug}).dataset.augmenter
    for kind in ("noise", "music", "babble", "reverb"):
        rows = []
        for i in range(0, args.stride * args.utts, args.stride):
            rng = np.random.default_rng(i)
            w = clean._segment(i, clean.num_samples, rng)
            y = augmenter._reverb(w, rng) if kind == "reverb" else augmenter._additive(kind, w, rng)
            rows.append((10 * np.log10(power(w) / max(power(y - w), 1e-12)), np.abs(y).max()))
        snr, peak = np.array(rows).T
        print(f"{kind:7s} SNR of speech over added signal: {snr.min():.1f} to {snr.max():.1f} dB "
              f"(mean {snr.mean():.1f}) | peak {peak.max():.2f} of full scale")


if __name__ == "__main__":
    main()
