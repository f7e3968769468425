"""Train a speaker-embedding system from its YAML config.

Usage: python -m pytorch.bin.train [options] --config <config.yaml> --exp <exp-dir>
 e.g.: python -m pytorch.bin.train --config conf/ecapa_mini.yaml --exp exp/ecapa_mini --set optim.lr=0.1
       torchrun --nproc_per_node 2 -m pytorch.bin.train --config conf/x.yaml --exp exp/x   # DDP

Writes exp/x/config.yaml (the resolved config with argv and git SHA), exp/x/log/train.log and
exp/x/models/epoch_N.pt after every epoch (and models/avg.pt when train.average_last > 0).
The config is checked first (every stage's model, loss, optimiser, schedule and data dirs), and the
exp dir is written only once the first epoch's data and model are built: a config with a typo
leaves nothing behind, so the corrected rerun needs no --force.

Experiment-dir rules, so a rerun never silently mixes two systems:
  - exp/x/config.yaml from an earlier run must equal the new resolved config (meta aside);
    otherwise the run stops and lists the differences. --force true accepts the new config
    (e.g. more epochs or an added stage) and continues under it.
  - --resume auto (default): continue from the highest epoch_N.pt, or start fresh if there is none.
    --resume PATH: continue from that checkpoint.
    --resume none: start from scratch; refused when checkpoints exist unless --force true,
    which then deletes exp/x/models/epoch_*.pt and avg.pt first.
Only rank 0 writes files. DDP uses gloo on CPU, nccl on GPU.
"""
from __future__ import annotations

import argparse
import copy
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from common.cli import add_bool, make_parser, run_main, setup_logging
from common.errors import ConfigError
from pytorch.config import load_config, load_yaml, save_resolved
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import DistInfo, barrier, cleanup, init_distributed
from pytorch.training.loop import Progress

PROG = "train"
log = logging.getLogger(PROG)


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out or {prefix[:-1]: {}}
    return {prefix[:-1]: d}


def config_diff(old: dict, new: dict) -> list[str]:
    """`key: old -> new` for every leaf that differs, meta excluded; both sides normalised through YAML."""
    def norm(c: dict) -> dict:
        c = {k: v for k, v in c.items() if k != "meta"}
        return _flat(yaml.safe_load(yaml.safe_dump(c)))
    a, b = norm(old), norm(new)
    return [f"{k}: {a.get(k, '<unset>')!r} -> {b.get(k, '<unset>')!r}"
            for k in sorted(set(a) | set(b)) if a.get(k, "<unset>") != b.get(k, "<unset>")]


def check_exp_config(exp: Path, cfg: dict, force: bool) -> None:
    path = exp / "config.yaml"
    if not path.exists():
        return
    old = load_yaml(path) or {}
    diff = config_diff(old, cfg)
    if not diff:
        return
    shown = "; ".join(diff[:5]) + (f"; ... ({len(diff)} keys)" if len(diff) > 5 else "")
    if not force:
        raise ConfigError(f"{path}: an earlier run used another config ({shown}); use another --exp, "
                          "or --force true to train this exp dir under the new config")
    log.warning("%s: replacing the earlier config (--force): %s", path, shown)


def resume_path(exp: Path, resume: str, force: bool) -> Path | None:
    epochs = ckpt_io.list_epochs(exp)
    if resume == "auto":
        return epochs[-1][1] if epochs else None
    if resume == "none":
        if epochs and not force:
            raise ConfigError(f"{ckpt_io.models_dir(exp)}: has checkpoints up to epoch {epochs[-1][0]}; "
                              "--resume none would overwrite them: use --resume auto to continue, or "
                              "--force true to delete them and start over")
        return None
    path = Path(resume)
    if not path.is_file():
        raise ConfigError(f"--resume {resume}: no such checkpoint file; use auto, none or a path to "
                          "epoch_N.pt")
    return path


class TrainLog:
    """exp/x/log/train.log on rank 0. Records are held in memory until `open`, which the trainer
    reaches only once the config is sound, so a failed start writes nothing into the exp dir."""
    FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def __init__(self, info: DistInfo) -> None:
        setup_logging(PROG)
        root = logging.getLogger()
        if not info.is_main:
            root.setLevel(logging.WARNING)
        self.handler: logging.Handler | None = None
        if info.is_main:
            self.handler = logging.handlers.MemoryHandler(capacity=1 << 20, flushLevel=logging.CRITICAL + 1)
            root.addHandler(self.handler)

    def open(self, path: Path) -> None:
        if not isinstance(self.handler, logging.handlers.MemoryHandler):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(path)
        fh.setFormatter(self.FORMAT)
        self.handler.setTarget(fh)
        self.handler.flush()
        self.close()
        self.handler = fh
        logging.getLogger().addHandler(fh)

    def close(self) -> None:
        """Detach (main() may run again in the same process, in tests)."""
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)
            self.handler.close()
            self.handler = None


def tqdm_progress(info: DistInfo, bars: list) -> Progress | None:
    """Progress bars on rank 0. Each bar goes into `bars`, so that run() closes (clears) a bar left
    open by Ctrl-C or an error, and the error line does not end up glued to it."""
    if not info.is_main:
        return None
    from tqdm import tqdm

    def progress(it: Iterable, total: int, desc: str) -> Iterable:
        bars.append(tqdm(it, total=total, desc=desc, unit="batch", dynamic_ncols=True, leave=False,
                         disable=None))
        return bars[-1]
    return progress


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from pytorch.training.trainer import Trainer
    exp = Path(args.exp)
    cfg = load_config(args.config, args.set)
    info = init_distributed((cfg.get("train") or {}).get("device", "auto"))
    train_log = TrainLog(info)
    bars: list = []
    try:
        check_exp_config(exp, cfg, args.force)
        resume = resume_path(exp, args.resume, args.force)
        trainer = Trainer(copy.deepcopy(cfg), exp, info, progress=tqdm_progress(info, bars))
        trainer.check()

        def start() -> None:
            """The config is sound and the first stage is built: now write the exp dir."""
            if info.is_main:
                if args.resume == "none" and args.force:
                    for _, p in ckpt_io.list_epochs(exp):
                        p.unlink()
                    (ckpt_io.models_dir(exp) / "avg.pt").unlink(missing_ok=True)
                save_resolved(cfg, exp / "config.yaml", argv)
                train_log.open(exp / "log" / "train.log")
            barrier(info)
            trainer.cfg["meta"] = (load_yaml(exp / "config.yaml") or {}).get("meta", {})
        trainer.on_start = start
        log.info("training %s with %s (world size %d, device %s)", exp, args.config, info.world_size,
                 info.device)
        trainer.run(resume)
    finally:
        for bar in bars:
            bar.close()
        cleanup()
        train_log.close()


def add_run_options(ap: argparse.ArgumentParser, config_help: str, exp_example: str) -> None:
    """The options every training CLI shares (train, train_cm): config, exp dir, overrides, resume, force."""
    ap.add_argument("--config", required=True, help=config_help)
    ap.add_argument("--exp", required=True, help=f"experiment dir, e.g. {exp_example}")
    ap.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                    help="override a config value, e.g. --set optim.lr=0.01 (repeatable)")
    ap.add_argument("--resume", default="auto", help="auto (default), none, or a checkpoint path")
    add_bool(ap, "--force", False, "accept a changed config / restart over existing checkpoints")


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    add_run_options(ap, "system config (YAML)", "exp/ecapa_mini")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    return run_main(PROG, lambda: run(args, [sys.argv[0] if sys.argv else PROG] + argv))


if __name__ == "__main__":
    sys.exit(main())
