"""Score SASV trials with a trained embedding-level fusion DNN (B2; pytorch.bin.train_sasv_dnn).

Usage: python -m pytorch.bin.score_sasv_dnn [options] --exp <exp-dir> --trials <sasv-trials> \\
           --enroll <spk_xvector.scp> --test <xvector.scp> --cm <cm xvector.scp> --out <scores>
 e.g.: python -m pytorch.bin.score_sasv_dnn --exp exp/b2_ecapa --trials data/sasv_eval/trials \\
           --enroll exp/asv/ecapa/embeddings/sasv_eval_enroll/spk_xvector.scp \\
           --test exp/asv/ecapa/embeddings/spoof_eval/xvector.scp \\
           --cm exp/aasist/embeddings/spoof_eval/xvector.scp --out exp/b2_ecapa/scores/eval

Writes `enroll test score` lines in trial order; the score is the target log-odds logit[target] -
logit[non-target], which score.bin.sasv_metrics reads.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from common.cli import make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from common.io import atomic_write
from pytorch.config import load_yaml
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import pick_device

PROG = "score_sasv_dnn"
log = logging.getLogger(PROG)


def main(argv: list[str] | None = None) -> int:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--exp", required=True, help="the dir train_sasv_dnn wrote (config.yaml, models/model.pt)")
    ap.add_argument("--trials", required=True, help="`enroll_spk test_utt target|nontarget|spoof` lines")
    ap.add_argument("--enroll", required=True, help="ASV enrollment embeddings, keyed by enrollment id")
    ap.add_argument("--test", required=True, help="ASV embeddings of the test utterances")
    ap.add_argument("--cm", required=True, help="CM embeddings of the test utterances")
    ap.add_argument("--out", required=True, help="output score file")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = ap.parse_args(argv)
    setup_logging(PROG)

    def body() -> int:
        from pytorch.models.sasv_dnn import build_sasv_model
        from pytorch.training.sasv_trainer import Table, load_trial_inputs, score_trials
        refuse_overwrite({"--out": args.out}, {"--trials": args.trials, "--enroll": args.enroll,
                                               "--test": args.test, "--cm": args.cm})
        exp = Path(args.exp)
        state = ckpt_io.load_checkpoint(ckpt_io.models_dir(exp) / "model.pt")
        cfg = load_yaml(exp / "config.yaml") or {}
        model = build_sasv_model(cfg.get("model") or {"name": "b2"}, state["asv_dim"], state["cm_dim"])
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise FormatError(f"{exp}/models/model.pt: does not fit {exp}/config.yaml: {e}") from None
        enroll, test, cm = Table(args.enroll), Table(args.test), Table(args.cm)
        for t, want in ((enroll, state["asv_dim"]), (test, state["asv_dim"]), (cm, state["cm_dim"])):
            if t.dim != want:
                raise FormatError(f"{t.path}: {t.dim}-d embeddings, the model of {exp} takes {want}-d ones; "
                                  "use the ASV and CM systems it was trained with")
        e, u, _, rows = load_trial_inputs(args.trials, enroll, test, cm)
        device = pick_device(args.device, 0)
        scores = score_trials(model.to(device), rows.enroll, rows.test_asv, rows.test_cm)
        if not torch.isfinite(torch.from_numpy(scores)).all():
            raise FormatError(f"{args.trials}: non-finite scores; check the embeddings for NaN/inf")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(args.out) as f:
            f.writelines(f"{a} {b} {s:.6f}\n" for a, b, s in zip(e, u, scores))
        log.info("scored %d trials -> %s", len(e), args.out)
        return 0
    return run_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
