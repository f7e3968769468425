"""SDR and PESQ improvement of separated two-speaker mixtures, and the trial lists for the verification EER
before and after separation.

Usage: python -m score.bin.separation_metrics [options] --data <mixture-dir> --sep <separated-dir> --out <tsv>
 e.g.: python -m score.bin.separation_metrics --data data/mix_test --sep exp/sep_none/sep_mix_test \\
           --permute true --out exp/sep_none/sep_mix_test.metrics.tsv --summary exp/sep_none/separation.tsv \\
           --system sep_none --speakers data/enroll/spk2utt --trials-out exp/sep_none/sep_mix_test.trials

--data is the mixture dir (wav.scp, utt2sources, utt2spks); --sep the output of pytorch.bin.separate (wav.scp,
utt2mix `utt mixture k`). Every mixture of --data needs its two outputs. --permute false scores output k against
source k (outputs conditioned on speaker k's enrollment); true takes the assignment with the higher mean SDR
(blind outputs). SDR: BSS-eval (fast-bss-eval); PESQ: wide band (the `pesq` package, 16 kHz audio only;
--pesq false skips it). --out gets one row per mixture (SDR and PESQ of the mixture and of the estimates,
per source, and the permutation); --summary appends one row (system, mixtures, mean SDR of mixture and
estimates, SDRi, the same for PESQ). --trials-out writes `enroll_spk separated_utt target|nontarget`: each
output against the speaker of the source it was assigned to (target) and every other speaker of --speakers
(a spk2utt or a list of speakers) that is not in its mixture (nontarget); --mix-trials-out the same for the
unprocessed mixtures (both of its speakers target), so both EERs come from the same speakers.
"""
from __future__ import annotations

import argparse
import logging
import math
import os

import numpy as np
import soundfile as sf

from common.cli import add_bool, make_parser, refuse_overwrite, run_main, setup_logging
from common.errors import FormatError
from common.io import atomic_write, read_kv, read_table
from score.separation import score_mixture

PROG = "separation_metrics"
log = logging.getLogger(PROG)
SUMMARY = ("system", "mixtures", "sdr_mix", "sdr_est", "sdri", "pesq_mix", "pesq_est", "pesqi")


def build_parser() -> argparse.ArgumentParser:
    ap = make_parser(PROG, __doc__)
    ap.add_argument("--data", required=True, help="mixture dir: wav.scp, utt2sources, utt2spks")
    ap.add_argument("--sep", required=True, help="separated dir: wav.scp, utt2mix")
    add_bool(ap, "--permute", True, "score the better assignment of outputs to sources")
    add_bool(ap, "--pesq", True, "compute wide-band PESQ as well")
    ap.add_argument("--out", required=True, help="per-mixture TSV")
    ap.add_argument("--summary", help="append a summary row to this TSV")
    ap.add_argument("--system", default="separator", help="--summary: the system's name")
    ap.add_argument("--speakers", help="spk2utt (or a speaker list) of the enrollment speakers for the trials")
    ap.add_argument("--trials-out", help="trial list of the separated utterances")
    ap.add_argument("--mix-trials-out", help="trial list of the unprocessed mixtures")
    return ap


def _read(path: str, where: str) -> tuple[np.ndarray, int]:
    try:
        x, rate = sf.read(path, dtype="float64")
    except (sf.LibsndfileError, RuntimeError) as e:
        raise FormatError(f"{where}: cannot read {path}: {e}") from None
    if x.ndim != 1:
        raise FormatError(f"{where}: {path} has {x.shape[1]} channels; mixtures and sources are mono")
    return x, rate


def _outputs(sep: str, mixes: list[str]) -> dict[str, list[str]]:
    """mixture -> [output 1 utt, output 2 utt] from utt2mix, checked complete."""
    path = os.path.join(sep, "utt2mix")
    outs: dict[str, dict[int, str]] = {}
    for n, (utt, mix, k) in enumerate(read_table(path, 3, 3), 1):
        if k not in ("1", "2"):
            raise FormatError(f"{path}:{n}: output index must be 1 or 2, got {k!r}")
        outs.setdefault(mix, {})[int(k)] = utt
    for mix in mixes:
        if sorted(outs.get(mix, {})) != [1, 2]:
            raise FormatError(f"{path}: mixture {mix!r} lacks its two outputs; rerun pytorch.bin.separate on "
                              "the same mixture dir")
    return {m: [outs[m][1], outs[m][2]] for m in mixes}


def _speakers(path: str) -> list[str]:
    return sorted({r[0] for r in read_table(path, 1)})


def _write_trials(path: str, tests: list[tuple[str, set[str], set[str]]], speakers: list[str]) -> None:
    """`tests`: (test utt, its target speakers, the speakers present in its mixture)."""
    with atomic_write(path) as f:
        for test, targets, present in tests:
            for spk in speakers:
                if spk in targets:
                    f.write(f"{spk} {test} target\n")
                elif spk not in present:
                    f.write(f"{spk} {test} nontarget\n")


def evaluate(args: argparse.Namespace) -> None:
    refuse_overwrite({"--out": args.out, "--summary": args.summary, "--trials-out": args.trials_out,
                      "--mix-trials-out": args.mix_trials_out},
                     {"--data": [os.path.join(args.data, f) for f in ("wav.scp", "utt2sources", "utt2spks")],
                      "--sep": [os.path.join(args.sep, f) for f in ("wav.scp", "utt2mix")],
                      "--speakers": args.speakers})
    if (args.trials_out or args.mix_trials_out) and not args.speakers:
        raise ValueError("--trials-out/--mix-trials-out need --speakers (the enrollment spk2utt)")
    wav = read_kv(os.path.join(args.data, "wav.scp"))
    sources = {r[0]: r[1:] for r in read_table(os.path.join(args.data, "utt2sources"), 3, 3)}
    spks = {r[0]: r[1:] for r in read_table(os.path.join(args.data, "utt2spks"), 3, 3)}
    sep_wav = read_kv(os.path.join(args.sep, "wav.scp"))
    mixes = sorted(wav)
    for m in mixes:
        if m not in sources or m not in spks:
            raise FormatError(f"{args.data}: mixture {m!r} of wav.scp has no utt2sources/utt2spks entry")
    outs = _outputs(args.sep, mixes)
    rows, sep_tests = [], []
    for m in mixes:
        mix, rate = _read(wav[m], f"{args.data}/wav.scp")
        refs = [_read(p, f"{args.data}/utt2sources") for p in sources[m]]
        ests = []
        for u in outs[m]:
            if u not in sep_wav:
                raise FormatError(f"{args.sep}/wav.scp: no entry for {u!r} of utt2mix")
            ests.append(_read(sep_wav[u], f"{args.sep}/wav.scp"))
        if any(r != rate or len(x) != len(mix) for x, r in refs + ests):
            raise FormatError(f"{args.sep}: mixture {m!r}: sources and outputs must have the mixture's rate "
                              f"({rate} Hz) and length ({len(mix)} samples)")
        s = score_mixture(mix, np.stack([x for x, _ in refs]), np.stack([x for x, _ in ests]), rate,
                          args.permute, args.pesq)
        rows.append((m, s))
        sep_tests += [(outs[m][s.perm[i]], {spks[m][i]}, set(spks[m])) for i in range(2)]
    with atomic_write(args.out) as f:
        f.write("mixture\tperm\tsdr_mix1\tsdr_mix2\tsdr_est1\tsdr_est2\tsdri\tpesq_mix1\tpesq_mix2\t"
                "pesq_est1\tpesq_est2\tpesqi\n")
        for m, s in rows:
            pesq = [*s.pesq_mix, *s.pesq_est] or [math.nan] * 4
            f.write("\t".join([m, ",".join(str(p + 1) for p in s.perm)]
                              + [f"{v:.3f}" for v in [*s.sdr_mix, *s.sdr_est, s.sdri, *pesq, s.pesqi]]) + "\n")
    summary = {"system": args.system, "mixtures": len(rows),
               "sdr_mix": np.mean([s.sdr_mix for _, s in rows]), "sdr_est": np.mean([s.sdr_est for _, s in rows]),
               "sdri": np.mean([s.sdri for _, s in rows]),
               "pesq_mix": np.mean([s.pesq_mix for _, s in rows]) if args.pesq else math.nan,
               "pesq_est": np.mean([s.pesq_est for _, s in rows]) if args.pesq else math.nan,
               "pesqi": np.mean([s.pesqi for _, s in rows]) if args.pesq else math.nan}
    log.info("%s: %d mixtures, SDRi %.2f dB, PESQi %.3f", args.system, len(rows), summary["sdri"],
             summary["pesqi"])
    if args.summary:
        _append(args.summary, summary)
    if args.speakers:
        speakers = _speakers(args.speakers)
        if args.trials_out:
            _write_trials(args.trials_out, sep_tests, speakers)
        if args.mix_trials_out:
            _write_trials(args.mix_trials_out, [(m, set(spks[m]), set(spks[m])) for m in mixes], speakers)


def _append(path: str, row: dict) -> None:
    """Append a row (a header first when the file is new), rewriting the file atomically."""
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if old and old.splitlines()[0].split("\t") != list(SUMMARY):
            raise FormatError(f"{path}:1: not a separation summary (header {old.splitlines()[0]!r}); "
                              "use another --summary file")
    with atomic_write(path) as f:
        f.write(old or "\t".join(SUMMARY) + "\n")
        f.write("\t".join(str(v) if isinstance(v, (str, int)) else f"{v:.3f}" for v in row.values()) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(PROG)
    return run_main(PROG, lambda: evaluate(args))


if __name__ == "__main__":
    raise SystemExit(main())
