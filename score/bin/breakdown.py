"""Metrics per condition from any utt2<key> table (e.g. utt2genre), as a Markdown table.

  python -m score.bin.breakdown --trials T --scores S --utt2key data/eval_test/utt2genre \\
      [--enroll-utt2key data/eval_enroll/utt2genre] [--key-name genre] [--out table.md]

Each trial takes the condition of its test id; with --enroll-utt2key, the pair
`<enroll condition> x <test condition>`. An `all` row comes first.
"""
from __future__ import annotations

import argparse
import logging
import sys

from common.io import atomic_write, read_kv
from score.bin._backend_io import join_scores, read_trials, run_cli, setup_logging
from score.breakdown import breakdown, to_markdown, trial_conditions

log = logging.getLogger("breakdown")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="breakdown", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--utt2key", required=True, help="test id -> condition (any utt2<key> file)")
    ap.add_argument("--enroll-utt2key", help="enroll id -> condition: break down by enroll x test pairs")
    ap.add_argument("--key-name", help="column header (default: from the file name, utt2genre -> genre)")
    ap.add_argument("--p-target", type=float, default=0.01)
    ap.add_argument("--out", help="Markdown file (default: stdout)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)

    def body() -> int:
        e, t, y = read_trials(args.trials)
        s = join_scores(e, t, args.scores)
        test_cond = trial_conditions(t, read_kv(args.utt2key), args.utt2key)
        enroll_cond = None
        if args.enroll_utt2key:
            enroll_cond = trial_conditions(e, read_kv(args.enroll_utt2key), args.enroll_utt2key)
        key = args.key_name or args.utt2key.rstrip("/").rsplit("/", 1)[-1].removeprefix("utt2")
        table = to_markdown(breakdown(s, y, test_cond, enroll_cond, args.p_target), key, args.p_target)
        if args.out:
            with atomic_write(args.out) as f:
                f.write(table)
        else:
            sys.stdout.write(table)
        return 0

    return run_cli(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
