"""Metrics per condition from any utt2<key> table (e.g. utt2genre), as a Markdown table.

Usage: python -m score.bin.breakdown [options] --trials <trials> --scores <scores> --utt2key <utt2key>
 e.g.: python -m score.bin.breakdown --trials data/eval/trials --scores exp/x/scores/eval.plda \\
           --utt2key data/eval_test/utt2genre --enroll-utt2key data/eval_enroll/utt2genre --out genre.md

Each trial takes the condition of its test id; with --enroll-utt2key, the pair
`<enroll condition> x <test condition>`. An `all` row comes first. Without --out the table goes to stdout.
"""
from __future__ import annotations

import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.io import atomic_write, read_kv
from score.breakdown import breakdown, to_markdown, trial_conditions
from score.trials import join_scores, read_trials


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("breakdown", __doc__)
    ap.add_argument("--trials", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--utt2key", required=True, help="test id -> condition (any utt2<key> file)")
    ap.add_argument("--enroll-utt2key", help="enroll id -> condition: break down by enroll x test pairs")
    ap.add_argument("--key-name", help="column header (default: from the file name, utt2genre -> genre)")
    ap.add_argument("--p-target", type=float, default=0.01)
    ap.add_argument("--out", help="Markdown file (default: stdout)")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--out": args.out}, {"--trials": args.trials, "--scores": args.scores,
                                               "--utt2key": args.utt2key,
                                               "--enroll-utt2key": args.enroll_utt2key})
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

    return run_main(ap.prog, body)


if __name__ == "__main__":
    sys.exit(main())
