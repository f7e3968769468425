#!/usr/bin/env bash
# WSJ0-2mix -> Kaldi mixture data dirs <data-dir>/wsj0_2mix_{tr,cv,tt}/ in the overlap recipe's format
# (wav.scp utt2spk spk2utt utt2spks utt2sources utt2sir utt2dur; see local/wsj0_2mix/prepare.py), each
# validated with utils/validate_data_dir.sh. Run with path.sh sourced (or PYTHONPATH at the repository root).
set -euo pipefail
export LC_ALL=C

rate=16k    # wav8k or wav16k
mode=min    # min or max

help_message="Usage: $0 [--rate 8k|16k] [--mode min|max] <wsj0-2mix-root> <data-dir>
 e.g.: $0 --rate 16k --mode min /export/corpora/wsj0-2mix data
<wsj0-2mix-root> holds 2speakers/wav{8k,16k}/{min,max}/{tr,cv,tt}/{mix,s1,s2}/*.wav."

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

root=$1
data=$2
[ -d "$root" ] || { echo "$0: $root: no such directory" >&2; exit 1; }
utils=$(dirname "$0")/../../utils

python -m local.wsj0_2mix.prepare --rate "$rate" --mode "$mode" "$root" "$data"
for set in tr cv tt; do
  d=$data/wsj0_2mix_$set
  [ -d "$d" ] || continue
  "$utils/validate_data_dir.sh" --no-feats --no-text "$d"
  echo "$d: $(wc -l < "$d/wav.scp") mixtures, $(cut -d' ' -f2,3 "$d/utt2spks" | tr ' ' '\n' | sort -u | wc -l) speakers"
done
echo "$0: done, data dirs in $data"
