#!/usr/bin/env bash
# Synthetic mini corpus (local/synthetic/generate.py) -> Kaldi data dirs under <data-dir>:
#   train enroll test (test/trials), test_corrupt (the test set under held-out noises and rooms,
#   when the corpus has one: generate.py --corrupt-test true, the default), spoof_{train,dev,eval}
#   (utt2attack), sasv_{dev,eval}/trials, mix_{train,test} (utt2spks, utt2overlap, utt2sir, utt2sources, rttm).
# See local/synthetic/datadirs.py for the file formats. Every dir is checked by validate_data_dir.sh.
# Run with path.sh sourced (PYTHONPATH=$ROOT).
set -euo pipefail
export LC_ALL=C

help_message="Usage: $0 <corpus-dir> <data-dir>
 e.g.: $0 corpus data"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

corpus=$1
data=$2
[ -f "$corpus/.done" ] || { echo "$0: $corpus/.done not found; generate the corpus first (local/synthetic/generate.py)" >&2; exit 1; }

dirs=$(python -m local.synthetic.datadirs "$corpus" "$data")
for d in $dirs; do
  "$(dirname "$0")/../../utils/validate_data_dir.sh" --no-feats --no-text "$data/$d"
  echo "$0: $data/$d: $(wc -l < "$data/$d/utt2spk") utterances, $(wc -l < "$data/$d/spk2utt") speakers"
done
for t in test/trials test_corrupt/trials sasv_dev/trials sasv_eval/trials; do
  [ -f "$data/$t" ] && echo "$0: $data/$t: $(awk '{n[$3]++} END {for (k in n) printf "%s %d ", k, n[k]}' "$data/$t")"
done
