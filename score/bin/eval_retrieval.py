"""Evaluate a retrieval ranking against pool labels: mAP, mAP@K and top-k counts per target.

Usage: python -m score.bin.eval_retrieval [options] --ranking <ranking> --pool-labels <file>
 e.g.: python -m score.bin.eval_retrieval --ranking exp/x/scores/sr.ranking \
           --pool-labels data/sr_pool/utt2spk --cutoff 10 --plot exp/x/sr_ap.png

Label file (--pool-labels-format kv, the default): `pool_utt speaker` per line; a pool utterance is
relevant to a target when its speaker equals the target id. Utterances of no target may be absent or
labelled `none`.
--pool-labels-format cnsrc-meta reads the CNSRC 2022 SR.dev `metadata/test.meta` layout instead:
`pool/<name>.wav <meta-id>`, pool utterance id = <name> (the wav basename without extension), speaker =
the part of <meta-id> before the first '-' (as the ASV-Subtools / sunine SR scripts read it).
Ranking file: `target pool_utt rank score` (the output of score.bin.retrieve).
mAP and AP@K are defined in score/retrieval.py.
"""
from __future__ import annotations

import json
import os
import sys

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from common.io import atomic_write, read_kv, read_table
from score.retrieval import evaluate


def read_kv_labels(path: str) -> dict[str, str]:
    return {u: s.split()[0] for u, s in read_kv(path).items() if s.split()[0] != "none"}


def read_cnsrc_meta(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, (wav, meta) in enumerate(read_table(path, 2, 2), 1):
        utt = os.path.splitext(os.path.basename(wav))[0]
        if utt in out:
            raise FormatError(f"{path}:{n}: pool utterance {utt!r} listed twice")
        out[utt] = meta.split("-")[0]
    return out


LABEL_READERS = {"kv": read_kv_labels, "cnsrc-meta": read_cnsrc_meta}


def main(argv: list[str] | None = None) -> int:
    ap = make_parser("eval_retrieval", __doc__)
    ap.add_argument("--ranking", required=True,
                    help="`target pool_utt rank score` (score.bin.retrieve --out)")
    ap.add_argument("--pool-labels", required=True, help="pool utterance -> speaker")
    ap.add_argument("--pool-labels-format", choices=tuple(LABEL_READERS), default="kv")
    ap.add_argument("--cutoff", type=int, default=None, help="also report mAP@K")
    add_bool(ap, "--json", False, "print one JSON object instead of text")
    ap.add_argument("--plot", default=None, help="PNG bar chart of AP per target")
    add_bool(ap, "--verbose", False, "debug logging")
    args = ap.parse_args(argv)
    setup_logging(ap.prog, args.verbose)

    def body() -> int:
        refuse_overwrite({"--plot": args.plot},
                         {"--ranking": args.ranking, "--pool-labels": args.pool_labels})
        ranking: dict[str, list[tuple[int, str]]] = {}
        for n, row in enumerate(read_table(args.ranking, 4, 4), 1):
            if not row[2].isdigit():
                raise FormatError(f"{args.ranking}:{n}: rank {row[2]!r} is not a positive integer; "
                                  "expected `target pool_utt rank score`")
            ranking.setdefault(row[0], []).append((int(row[2]), row[1]))
        ranked = {t: [u for _, u in sorted(v)] for t, v in ranking.items()}
        labels = LABEL_READERS[args.pool_labels_format](args.pool_labels)
        res = evaluate(ranked, labels)
        if args.cutoff:
            res[f"mAP@{args.cutoff}"] = evaluate(ranked, labels, cutoff=args.cutoff)["mAP"]
        if args.json:
            print(json.dumps(res))
        else:
            extra = f" mAP@{args.cutoff}={res[f'mAP@{args.cutoff}']:.4f}" if args.cutoff else ""
            print(f"mAP={res['mAP']:.4f}{extra} targets={len(ranked)}")
            print("target\tAP\ttop1\ttop3\ttop5\ttop10")
            for t, v in sorted(res["per_target"].items()):
                print(f"{t}\t{v['ap']:.4f}\t{v['top1']}\t{v['top3']}\t{v['top5']}\t{v['top10']}")
        if args.plot:
            _plot(res["per_target"], args.plot)
        return 0
    return run_main(ap.prog, body)


def _plot(per_target: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(per_target)
    fig, ax = plt.subplots(figsize=(max(4, 0.3 * len(names)), 3))
    ax.bar(range(len(names)), [per_target[n]["ap"] for n in names])
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    ax.set_ylabel("AP")
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
