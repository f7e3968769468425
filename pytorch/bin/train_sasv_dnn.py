"""Train the embedding-level SASV fusion DNN (baseline B2 of SASV 2022) on a labelled training set.

Usage: python -m pytorch.bin.train_sasv_dnn [options] --config <b2.yaml> --exp <exp-dir> --data <spoof-train-dir> \\
           --asv <asv xvector.scp> --cm <cm xvector.scp> [--dev-trials <trials> --dev-enroll <spk_xvector.scp> \\
           --dev-asv <xvector.scp> --dev-cm <xvector.scp>]
 e.g.: python -m pytorch.bin.train_sasv_dnn --config conf/b2.yaml --exp exp/b2_ecapa --data data/spoof_train \\
           --asv exp/asv/ecapa/embeddings/spoof_train/xvector.scp --cm exp/aasist/embeddings/spoof_train/xvector.scp \\
           --dev-trials data/sasv_dev/trials --dev-enroll exp/asv/ecapa/embeddings/sasv_dev_enroll/spk_xvector.scp \\
           --dev-asv exp/asv/ecapa/embeddings/spoof_dev/xvector.scp --dev-cm exp/aasist/embeddings/spoof_dev/xvector.scp

The DNN takes [enrollment ASV embedding, test ASV embedding, test CM embedding] (model.l2norm: length-normalise
each first). Training trials (target / nontarget / spoof) are resampled every epoch from --data (utt2spk =
claimed speaker, utt2attack) and its embeddings; see pytorch/training/sasv_trainer.py. With the --dev-*
options the epoch of the lowest dev SASV-EER is kept, otherwise the last. Writes exp/x/config.yaml (resolved,
with argv and git SHA) and exp/x/models/model.pt; score with pytorch.bin.score_sasv_dnn.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import ConfigError
from pytorch.config import load_config, save_resolved
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import pick_device

PROG = "train_sasv_dnn"
log = logging.getLogger(PROG)
DEV = ("--dev-trials", "--dev-enroll", "--dev-asv", "--dev-cm")


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--config", required=True, help="YAML with model (name: b2 ...), optim, train sections")
    ap.add_argument("--exp", required=True, help="output dir, e.g. exp/b2_ecapa")
    ap.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                    help="override a config value, e.g. --set model.l2norm=true (repeatable)")
    ap.add_argument("--data", required=True, help="training data dir with utt2spk and utt2attack")
    ap.add_argument("--asv", required=True, help="ASV embeddings of the --data utterances (scp)")
    ap.add_argument("--cm", required=True, help="CM embeddings of the --data utterances (scp)")
    ap.add_argument("--dev-trials", default=None, help="SASV dev trials, to keep the best epoch")
    ap.add_argument("--dev-enroll", default=None, help="ASV enrollment embeddings of the dev speakers")
    ap.add_argument("--dev-asv", default=None, help="ASV embeddings of the dev test utterances")
    ap.add_argument("--dev-cm", default=None, help="CM embeddings of the dev test utterances")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    setup_logging(PROG)

    def body() -> int:
        from pytorch.training.sasv_trainer import Table, TrainPairs, load_trial_inputs, train_sasv_dnn
        dev_args = [getattr(args, o[2:].replace("-", "_")) for o in DEV]
        if any(dev_args) and not all(dev_args):
            raise ConfigError(f"give all of {', '.join(DEV)} or none of them")
        exp = Path(args.exp)
        out = ckpt_io.models_dir(exp) / "model.pt"
        refuse_overwrite({"--exp (model)": str(out), "--exp (config)": str(exp / "config.yaml")},
                         {"--config": args.config, "--asv": args.asv, "--cm": args.cm})
        cfg = load_config(args.config, args.set)
        asv, cm = Table(args.asv), Table(args.cm)
        pairs = TrainPairs(args.data, asv, cm)
        dev = None
        if all(dev_args):
            enroll = Table(args.dev_enroll)
            test_asv = asv if args.dev_asv == args.asv else Table(args.dev_asv)
            test_cm = cm if args.dev_cm == args.cm else Table(args.dev_cm)
            dev = load_trial_inputs(args.dev_trials, enroll, test_asv, test_cm)[3]
        model, best = train_sasv_dnn(cfg, pairs, dev, pick_device(args.device, 0))
        (exp / "config.yaml").unlink(missing_ok=True)  # the model goes first: no config without a model
        out.unlink(missing_ok=True)
        ckpt_io.save_checkpoint({"model": model.state_dict(), "asv_dim": asv.dim, "cm_dim": cm.dim, **best}, out)
        save_resolved(cfg, exp / "config.yaml", [sys.argv[0] if sys.argv else PROG] + argv)
        dev_msg = "" if best["dev_sasv_eer"] is None else f", dev SASV-EER {best['dev_sasv_eer']:.3f}%"
        log.info("kept epoch %d%s -> %s", best["epoch"], dev_msg, out)
        return 0
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
