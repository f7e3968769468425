"""Train a VoiceFilter separator on two-speaker mixtures, with one of three conditionings.

Usage: python -m pytorch.bin.train_separator [options] --config <x.yaml> --conditioning enroll|mixture|none \\
           --data <mixture-dir> --exp <exp-dir> [--embeddings <scp> [--enroll-utt2spk <utt2spk>]]
 e.g.: python -m pytorch.bin.train_separator --config conf/voicefilter_mini.yaml --conditioning enroll \\
           --data data/mix_train --embeddings exp/resnet18_tap/embeddings/train/xvector.scp \\
           --enroll-utt2spk data/train/utt2spk --exp exp/sep_enroll

Conditionings (the MIRNet paper's Table 2):
  enroll   the target speaker's embedding from clean enrollment speech (--embeddings keyed by speaker, or by
           utterance with --enroll-utt2spk: a random utterance of the speaker per example); each mixture is
           used twice, once per source, and the loss is the plain MSE;
  mixture  the two embeddings extracted from the mixture itself (MIRNet; one row [I1, I2] per mixture); each
           produces one estimate and the estimates are assigned to the sources by PIT on the loss;
  none     no embedding: the same network outputting both sources, trained with utterance-level PIT.
The loss is the MSE of power-law compressed magnitudes (masked mixture against each source image).
--data needs wav.scp, utt2spks and utt2sources. The config has sections model (VoiceFilter's keys but
embed_dim and num_outputs, set from the table and the conditioning) and train (TrainOptions below); the
resolved config (with the conditioning, the embedding dim and argv) goes to <exp>/config.yaml, checkpoints to
<exp>/models/epoch_N.pt, the one that separate.py loads being the last. A rerun resumes from the last
checkpoint (so raising train.epochs trains on); it refuses an exp dir whose config otherwise differs.
"""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from common.cli import make_parser, run_main, setup_logging
from common.errors import ConfigError
from common.registry import build_options
from pytorch.config import load_config, save_resolved
from pytorch.data.separation import ChunkDataset, Conditioner, MixtureDir
from pytorch.models.voicefilter import CONDITIONINGS, VoiceFilter, build_separator, separation_loss
from pytorch.training.checkpoint import epoch_path, list_epochs, load_checkpoint, save_checkpoint

PROG = "train_separator"
log = logging.getLogger(PROG)


@dataclass
class TrainOptions:
    epochs: int = 20
    batch_size: int = 8
    chunk_seconds: float = 3.0
    sample_rate: int = 16000
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    seed: int = 1
    num_threads: int = 0        # torch threads; 0 leaves torch's default

    def check(self, where: str) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.chunk_seconds <= 0 or self.lr <= 0:
            raise ConfigError(f"{where}: epochs, batch_size, chunk_seconds and lr must be positive")


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--config", required=True, help="YAML with model and train sections")
    ap.add_argument("--conditioning", required=True, choices=CONDITIONINGS)
    ap.add_argument("--data", required=True, help="training mixture dir (wav.scp, utt2spks, utt2sources)")
    ap.add_argument("--embeddings", help="embedding scp (enroll: speakers or utterances; mixture: [I1, I2])")
    ap.add_argument("--enroll-utt2spk", help="utt2spk of utterance-keyed enrollment embeddings")
    ap.add_argument("--exp", required=True, help="experiment dir to write")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, e.g. "
                    "train.epochs=5 (repeatable)")
    return ap


def _resolved(args: argparse.Namespace, cond: Conditioner) -> tuple[dict, TrainOptions]:
    cfg = load_config(args.config, args.set)
    unknown = set(cfg) - {"model", "train"}
    if unknown:
        raise ConfigError(f"{args.config}: a separator config has sections model and train, not "
                          f"{', '.join(sorted(unknown))}")
    opts = build_options(TrainOptions, cfg.get("train"), "train")
    cfg["train"] = dict(vars(opts))
    cfg["model"] = dict(cfg.get("model") or {"name": "voicefilter"})
    cfg["data"] = {"conditioning": args.conditioning, "embed_dim": cond.embed_dim, "train": args.data,
                   "embeddings": args.embeddings, "enroll_utt2spk": args.enroll_utt2spk}
    return cfg, opts


def _start(exp: Path, cfg: dict, model: VoiceFilter, optim: torch.optim.Optimizer) -> int:
    """The epoch to start from: 0, or after the last checkpoint of an earlier run with the same config."""
    old = exp / "config.yaml"
    if old.is_file():
        with open(old) as f:
            prev = {k: v for k, v in (yaml.safe_load(f) or {}).items() if k != "meta"}
        now = yaml.safe_load(yaml.safe_dump(cfg))
        for c in (prev, now):            # more epochs continues the same run
            c.get("train", {}).pop("epochs", None)
        if prev != now:
            raise ConfigError(f"{old}: this exp dir was trained with another config or data; use a new --exp "
                              "or delete it")
    epochs = list_epochs(exp)
    if not epochs:
        return 0
    state = load_checkpoint(epochs[-1][1])
    model.load_state_dict(state["model"])
    optim.load_state_dict(state["optim"])
    log.info("resuming after %s", epochs[-1][1])
    return epochs[-1][0]


def train(args: argparse.Namespace) -> None:
    cond = Conditioner(args.conditioning, args.embeddings, args.enroll_utt2spk)
    cfg, opts = _resolved(args, cond)
    if opts.num_threads:
        torch.set_num_threads(opts.num_threads)
    torch.manual_seed(opts.seed)
    model = build_separator(cfg["model"], args.conditioning, cond.embed_dim)
    mixtures = MixtureDir(args.data, need_sources=True)
    data = ChunkDataset(mixtures, cond, opts.sample_rate, int(opts.chunk_seconds * opts.sample_rate), opts.seed)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    exp = Path(args.exp)
    start = _start(exp, cfg, model, optim)
    save_resolved(cfg, exp / "config.yaml")
    data.rng = np.random.default_rng([opts.seed, start])   # a resumed run does not replay epoch 1's windows
    gen = torch.Generator().manual_seed(opts.seed + start)
    loader = torch.utils.data.DataLoader(data, batch_size=opts.batch_size, shuffle=True, generator=gen,
                                         drop_last=len(data) > opts.batch_size)
    permute = args.conditioning != "enroll"
    log.info("%s: %d mixtures, %d parameters, conditioning %s", exp, len(data),
             sum(p.numel() for p in model.parameters()), args.conditioning)
    for epoch in range(start + 1, opts.epochs + 1):
        model.train()
        t0, total, n = time.time(), 0.0, 0
        for mix, src, emb in loader:
            est, _ = model.estimates(mix, emb if cond.embed_dim else None)
            target = model.magnitude(model.stft(src.flatten(0, 1))).reshape(est.shape)
            loss, _ = separation_loss(est, target, permute)
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
            optim.step()
            total, n = total + loss.item() * len(mix), n + len(mix)
        log.info("epoch %d/%d: loss %.5f (%.1f s)", epoch, opts.epochs, total / max(n, 1), time.time() - t0)
        save_checkpoint({"model": model.state_dict(), "optim": optim.state_dict(), "epoch": epoch},
                        epoch_path(exp, epoch))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: train(args))


if __name__ == "__main__":
    raise SystemExit(main())
