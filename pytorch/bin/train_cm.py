"""Train a spoofing countermeasure (AASIST / AASIST-L) on raw waveforms; the best epoch is chosen on dev CM EER.

Usage: python -m pytorch.bin.train_cm [options] --config <cm.yaml> --exp <exp-dir>
 e.g.: python -m pytorch.bin.train_cm --config conf/aasist_mini.yaml --exp exp/aasist_mini --set train.epochs=2

The config's data.train and data.dev are data dirs with wav.scp and utt2attack (`bonafide` or an attack id);
the loss is cross-entropy weighted by train.class_weights [spoof, bona fide] for the class imbalance
(the official AASIST uses [0.1, 0.9] on LA), with optional RawBoost-style augmentation (augment.rawboost).
Writes exp/x/config.yaml (resolved, with argv and git SHA), exp/x/log/train.log, exp/x/models/epoch_N.pt
every epoch and exp/x/models/best.pt (the lowest dev CM EER so far; {model, epoch, dev_eer}). The exp dir
works as a model config for score_cm: `score_cm --model-conf exp/x/config.yaml --checkpoint
exp/x/models/best.pt`. A rerun resumes from the last epoch (a finished run returns at once); a changed
config is refused unless --force true, as in pytorch.bin.train.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.cli import make_parser, run_main
from pytorch.bin.train import TrainLog, add_run_options, check_exp_config, resume_path
from pytorch.config import load_config, save_resolved
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import DistInfo

PROG = "train_cm"
log = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    add_run_options(ap, "CM config (YAML: data, model, optim, train, augment)", "exp/aasist_mini")
    return ap


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from pytorch.training.cm_trainer import parse_config, train_cm
    exp = Path(args.exp)
    cfg = load_config(args.config, args.set)
    parse_config(cfg, args.config)  # a bad config fails before anything is written
    train_log = TrainLog(DistInfo())
    try:
        check_exp_config(exp, cfg, args.force)
        resume = resume_path(exp, args.resume, args.force)

        def start() -> None:
            if args.resume == "none" and args.force:
                for _, p in ckpt_io.list_epochs(exp):
                    p.unlink()
                (ckpt_io.models_dir(exp) / "best.pt").unlink(missing_ok=True)
            save_resolved(cfg, exp / "config.yaml", argv)
            train_log.open(exp / "log" / "train.log")
        log.info("training the CM %s with %s", exp, args.config)
        best = train_cm(cfg, exp, resume, on_start=start)
        log.info("done: best dev CM EER %.3f%% at epoch %d -> %s", best["dev_eer"], best["epoch"],
                 ckpt_io.models_dir(exp) / "best.pt")
    finally:
        train_log.close()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    return run_main(PROG, lambda: run(args, [sys.argv[0] if sys.argv else PROG] + argv))


if __name__ == "__main__":
    sys.exit(main())
