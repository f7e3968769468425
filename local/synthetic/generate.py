"""Generate the synthetic mini corpus (audio tree + metadata) for egs/mini.

    PYTHONPATH=$ROOT python local/synthetic/generate.py --out corpus [--seed 7] [--num-train-spk 80] \
        [--num-eval-spk 30] [--utts-per-spk 12] [--min-dur 2 --max-dur 4] [--nj 2] ...

The same seed and options give the same bytes, whatever --nj. Files are written atomically and
<out>/.done is written last: a rerun with the same options reuses the finished corpus (or
resumes an interrupted one); different options in an existing directory are an error.
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
from dataclasses import fields

from common.io import atomic_write
from local.synthetic.metadata import write_metadata
from local.synthetic.plan import CorpusOptions, make_plan, options_dict
from local.synthetic.render import run_job

log = logging.getLogger("generate")
DONE = ".done"
OPTIONS = "options.json"


def parse_args(argv: list[str] | None) -> tuple[CorpusOptions, argparse.Namespace]:
    ap = argparse.ArgumentParser(prog="generate.py", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="corpus directory to create")
    ap.add_argument("--nj", type=int, default=2, help="parallel processes (does not change the output)")
    defaults = CorpusOptions()
    for f in fields(CorpusOptions):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if isinstance(default, bool):
            ap.add_argument(flag, choices=("true", "false"), default=str(default).lower())
        else:
            ap.add_argument(flag, type=type(default), default=default)
    args = ap.parse_args(argv)
    kw = {f.name: getattr(args, f.name) for f in fields(CorpusOptions)}
    kw = {k: (v == "true") if isinstance(getattr(defaults, k), bool) else v for k, v in kw.items()}
    return CorpusOptions(**kw), args


def generate(opts: CorpusOptions, out: str, nj: int = 2) -> bool:
    """Make the corpus; returns False when a finished corpus with these options was already there."""
    want = json.dumps(options_dict(opts), sort_keys=True)
    done, optf = os.path.join(out, DONE), os.path.join(out, OPTIONS)
    if os.path.exists(optf):
        with open(optf) as f:
            have = json.dumps(json.load(f), sort_keys=True)
        if have != want:
            raise ValueError(f"{optf}: {out} was generated with other options ({have}); "
                             f"remove {out} or choose another --out")
        if os.path.exists(done):
            return False
    os.makedirs(out, exist_ok=True)
    with atomic_write(optf) as f:
        f.write(want + "\n")
    plan = make_plan(opts)
    jobs = [(j, opts.seed, out) for j in plan.jobs()]
    # Long jobs first so the pool's tail is short.
    jobs.sort(key=lambda a: -getattr(a[0], "n", 0))
    if nj > 1:
        with multiprocessing.get_context("fork").Pool(nj) as pool:
            for _ in pool.imap_unordered(run_job, jobs, chunksize=8):
                pass
    else:
        for j in jobs:
            run_job(j)
    write_metadata(plan, out)
    with atomic_write(done) as f:
        f.write(want + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    opts, args = parse_args(argv)
    if args.nj < 1:
        print("generate.py: error: --nj must be >= 1", file=sys.stderr)
        return 1
    t0 = time.time()
    try:
        made = generate(opts, args.out, args.nj)
    except ValueError as e:
        print(f"generate.py: error: {e}", file=sys.stderr)
        return 1
    if made:
        log.info("generated %s in %.1f s (seed %d, nj %d)", args.out, time.time() - t0, opts.seed, args.nj)
    else:
        log.info("%s is complete (%s); nothing to do", args.out, DONE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
