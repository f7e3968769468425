"""Train a speaker-embedding system from its YAML config.

    python -m pytorch.bin.train --config conf/x.yaml --exp exp/x [--set a.b=v ...] \\
        [--resume auto|none|PATH] [--force true|false]
    torchrun --nproc_per_node 2 -m pytorch.bin.train --config ... --exp ...   # DDP (gloo on CPU, nccl on GPU)

Writes exp/x/config.yaml (the resolved config with argv and git SHA), exp/x/log/train.log and
exp/x/models/epoch_N.pt after every epoch (and models/avg.pt when train.average_last > 0).

Experiment-dir rules, so a rerun never silently mixes two systems:
  - exp/x/config.yaml from an earlier run must equal the new resolved config (meta aside);
    otherwise the run stops and lists the differences. --force true accepts the new config
    (e.g. more epochs or an added stage) and continues under it.
  - --resume auto (default): continue from the highest epoch_N.pt, or start fresh if there is none.
    --resume PATH: continue from that checkpoint.
    --resume none: start from scratch; refused when checkpoints exist unless --force true,
    which then deletes exp/x/models/epoch_*.pt and avg.pt first.
Only rank 0 writes files.
"""
from __future__ import annotations

import argparse
import copy
import logging
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

from common.errors import ConfigError, FormatError
from pytorch.config import load_config, load_yaml, save_resolved
from pytorch.training import checkpoint as ckpt_io
from pytorch.training.distributed import DistInfo, barrier, cleanup, init_distributed

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


def setup_logging(exp: Path, info: DistInfo) -> list[logging.Handler]:
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    stream.setLevel(logging.INFO if info.is_main else logging.WARNING)
    root.addHandler(stream)
    if info.is_main:
        (exp / "log").mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(exp / "log" / "train.log")
        fh.setFormatter(fmt)
        root.addHandler(fh)
        return [stream, fh]
    return [stream]


def tqdm_progress(info: DistInfo):
    if not info.is_main:
        return None
    from tqdm import tqdm

    def progress(it: Iterable, total: int, desc: str) -> Iterable:
        return tqdm(it, total=total, desc=desc, unit="batch", dynamic_ncols=True, leave=False, disable=None)
    return progress


def run(args: argparse.Namespace, argv: list[str]) -> None:
    from pytorch.training.trainer import Trainer
    exp = Path(args.exp)
    force = args.force == "true"
    cfg = load_config(args.config, args.set)
    info = init_distributed((cfg.get("train") or {}).get("device", "auto"))
    handlers = setup_logging(exp, info)
    try:
        check_exp_config(exp, cfg, force)
        resume = resume_path(exp, args.resume, force)
        if info.is_main:
            if args.resume == "none" and force:
                for _, p in ckpt_io.list_epochs(exp):
                    p.unlink()
                (ckpt_io.models_dir(exp) / "avg.pt").unlink(missing_ok=True)
            save_resolved(cfg, exp / "config.yaml", argv)
        barrier(info)
        resolved = copy.deepcopy(cfg)
        resolved["meta"] = (load_yaml(exp / "config.yaml") or {}).get("meta", {})
        log.info("training %s with %s (world size %d, device %s)", exp, args.config, info.world_size,
                 info.device)
        Trainer(resolved, exp, info, progress=tqdm_progress(info)).run(resume)
    finally:
        cleanup()
        for h in handlers:              # main() may run again in the same process (tests)
            logging.getLogger().removeHandler(h)
            h.close()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--config", required=True, help="system config (YAML)")
    ap.add_argument("--exp", required=True, help="experiment dir, e.g. exp/ecapa_mini")
    ap.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                    help="override a config value, e.g. --set optim.lr=0.01 (repeatable)")
    ap.add_argument("--resume", default="auto", help="auto (default), none, or a checkpoint path")
    ap.add_argument("--force", default="false", choices=("true", "false"),
                    help="accept a changed config / restart over existing checkpoints (see above)")
    args = ap.parse_args(argv)
    try:
        run(args, [sys.argv[0] if sys.argv else PROG] + argv)
    except (ConfigError, FormatError, ckpt_io.CheckpointError, FloatingPointError, ValueError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
