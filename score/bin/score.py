"""Score a trial list by cosine or PLDA.

    python -m score.bin.score --method cosine|plda [--backend-dir exp/x/backend] \
        --enroll spk_xvector.scp --test xvector.scp --trials trials --out scores
    python -m score.bin.score --method cosine --enroll xvector.scp --enroll-spk2utt enroll/spk2utt \
        --enroll-mode mean-emb|mean-score|aqe [--aqe-alpha 3] --test xvector.scp --trials trials --out scores

Enroll embeddings are keyed by the trials' enroll ids (e.g. speaker means), test by test ids. With
--backend-dir the chain's transforms (mean, LDA, lnorm, ...) are applied to both sides first; plda
needs a chain that ends in plda. Output: one `enroll test score` line per trial, in trial order.
With --enroll-mode, --enroll is an utterance-level scp and --enroll-spk2utt maps each enroll id to its
utterances (see score/enroll.py for the modes; PLDA supports mean-emb, scored with the number of
utterances as Kaldi's --num-utts, and mean-score). Without --enroll-mode, --enroll-spk2utt only gives
PLDA the number of utterances behind each (already averaged) enroll embedding.
"""
from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

from common.errors import FormatError
from common.io import read_kv, read_spk2utt
from score.bin._backend_io import run_cli, setup_logging
from score.bin._scoring_io import load_multi_enroll_set, load_trial_set, write_scores
from score.chain import Chain
from score.cosine import cosine_scores
from score.enroll import AQE_REFS, ENROLL_MODES, mean_embeddings, multi_enroll_scores
from score.trials import read_pairs

log = logging.getLogger("score")


def _plda_of(chain: Chain | None, backend_dir: str | None):
    if chain is None or chain.plda is None:
        raise ValueError(f"--method plda needs --backend-dir with a chain ending in plda "
                         f"(got {backend_dir}); train one with score.bin.train_backend")
    return chain.plda


def _single(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = load_trial_set(args.trials, args.enroll, args.test, args.backend_dir)
    if args.method == "cosine":
        return ts.enroll_ids, ts.test_ids, cosine_scores(ts.enroll, ts.test, ts.e_idx, ts.t_idx)
    plda = _plda_of(ts.chain, args.backend_dir)
    n_enroll = None
    if args.enroll_spk2utt:
        spk2utt = read_spk2utt(args.enroll_spk2utt)
        n_enroll = np.array([len(spk2utt.get(k, [k])) for k in ts.enroll_keys])
    if args.num_utts:
        n_enroll = _num_utts(args.num_utts, ts.enroll_keys)
    return ts.enroll_ids, ts.test_ids, plda.score_trials(ts.enroll, ts.test, ts.e_idx, ts.t_idx, n_enroll)


def _num_utts(path: str, keys: list[str]) -> np.ndarray:
    """Kaldi's --num-utts table (`enroll_id count`); ids it lacks count 1 utterance."""
    table = read_kv(path)
    out = np.ones(len(keys), dtype=np.int64)
    for i, k in enumerate(keys):
        if k in table:
            v = table[k].split()[0]
            if not v.isdigit() or int(v) < 1:
                raise FormatError(f"{path}: {k}: utterance count {v!r} is not a positive integer")
            out[i] = int(v)
    return out


def _multi(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utterance-level enrollment aggregated per enroll id by --enroll-mode."""
    if not args.enroll_spk2utt:
        raise ValueError("--enroll-mode needs --enroll-spk2utt (enroll id -> its utterances in --enroll)")
    e_ids, t_ids, _ = read_pairs(args.trials, third=False)
    ms = load_multi_enroll_set((e_ids, t_ids), args.enroll, args.enroll_spk2utt, args.test, args.backend_dir)
    utt, groups, test, e_idx, t_idx, chain = ms.utt, ms.groups, ms.test, ms.e_idx, ms.t_idx, ms.chain
    if args.method == "cosine":
        s = multi_enroll_scores(utt, groups, test, e_idx, t_idx, args.enroll_mode, args.aqe_alpha,
                                args.aqe_ref)
        return e_ids, t_ids, s
    plda = _plda_of(chain, args.backend_dir)
    sizes = np.array([len(g) for g in groups])
    if args.enroll_mode == "mean-emb":
        s = plda.score_trials(mean_embeddings(utt, groups), test, e_idx, t_idx, sizes)
    elif args.enroll_mode == "mean-score":
        # One PLDA trial per (trial, enrollment utterance), then the mean per trial.
        rep = sizes[e_idx]
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        flat = np.concatenate(groups)
        first = np.repeat(starts[e_idx], rep)
        within = np.arange(rep.sum()) - np.repeat(np.r_[0, np.cumsum(rep)[:-1]], rep)
        per_utt = plda.score_trials(utt, test, flat[first + within], np.repeat(t_idx, rep), None)
        s = np.add.reduceat(per_utt, np.r_[0, np.cumsum(rep)[:-1]]) / rep
    else:
        raise ValueError(f"--enroll-mode {args.enroll_mode} is for cosine; PLDA takes mean-emb or mean-score")
    return e_ids, t_ids, s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="score", description=__doc__.split("\n")[0])
    ap.add_argument("--method", choices=("cosine", "plda"), required=True)
    ap.add_argument("--backend-dir", default=None)
    ap.add_argument("--enroll", required=True, help="enroll embeddings scp (keyed by trial enroll ids, or "
                    "utterance-level with --enroll-mode)")
    ap.add_argument("--test", required=True, help="test embeddings scp")
    ap.add_argument("--trials", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--enroll-spk2utt", default=None,
                    help="enroll id -> utterances; PLDA: number of utterances (Kaldi --num-utts)")
    ap.add_argument("--num-utts", default=None,
                    help="PLDA: `enroll_id count` table of utterances behind each enroll embedding (Kaldi)")
    ap.add_argument("--enroll-mode", choices=ENROLL_MODES, default=None,
                    help="aggregate utterance-level --enroll per enroll id (needs --enroll-spk2utt)")
    ap.add_argument("--aqe-alpha", type=float, default=3.0, help="alpha of --enroll-mode aqe (default 3)")
    ap.add_argument("--aqe-ref", choices=AQE_REFS, default="test",
                    help="aqe weights from similarity to the test embedding or to the enrollment mean")
    args = ap.parse_args(argv)
    setup_logging()

    def body() -> int:
        e_ids, t_ids, scores = (_multi if args.enroll_mode else _single)(args)
        write_scores(args.out, e_ids, t_ids, scores)
        log.info("%s: %d trials scored by %s", args.out, len(scores), args.method)
        return 0
    return run_cli("score", body)


if __name__ == "__main__":
    sys.exit(main())
