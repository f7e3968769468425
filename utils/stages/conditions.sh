#!/usr/bin/env bash
# Recipe stage 9 (CN-Celeb and any corpus with conditions): per-condition metrics and the C-P map of
# each system's scores: <exp>/conditions/<trials-name>.<method>.<key>.md (score.bin.breakdown by the
# test side's utt2<key>, e.g. utt2genre, with --enroll-utt2key by enroll x test pairs) and
# <exp>/conditions/<trials-name>.<method>.cp.{png,tsv} (score.bin.cp_map, CNSRC 2022).
# Run from a recipe dir with path.sh sourced.

trials="test=data/test/trials"
methods=plda
utt2key=
enroll_utt2key=
cp_metric=eer
cp_k=10

help_message="Usage: $0 [options] --utt2key <utt2key> <exp-dir>...
 e.g.: $0 --trials eval=data/eval_test/trials --utt2key data/eval_test/utt2genre exp/resnet34se
Options:
  --trials \"<name>=<file>...\"   # trial lists scored by stage 7 (default: $trials)
  --methods \"<method>...\"       # score files <exp>/scores/<trials-name>.<method> (default: $methods)
  --utt2key <file>              # test id -> condition (required)
  --enroll-utt2key <file>       # enroll id -> condition: tables by enroll x test condition pairs
  --cp-metric <eer|mindcf>      # the C-P map's metric (default: $cp_metric)
  --cp-k <n>                    # the C-P map's groups per axis (CNSRC: 10; needs n target trials)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
if [ $# -lt 1 ] || [ -z "$utt2key" ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"
parse_trials "$trials"
[ -s "$utt2key" ] || { echo "$0: no such file $utt2key" >&2; exit 1; }
key=$(basename "$utt2key"); key=${key#utt2}
pairs=()
[ -z "$enroll_utt2key" ] || pairs=(--enroll-utt2key "$enroll_utt2key")

for sys in "$@"; do
  sys=${sys%/}
  mkdir -p "$sys/conditions"
  for i in "${!trials_names[@]}"; do
    t=${trials_names[$i]} tf=${trials_files[$i]}
    for m in $methods; do
      sc=$sys/scores/$t.$m o=$sys/conditions/$t.$m
      [ -s "$sc" ] || { echo "$0: no $sc (run stage 7)" >&2; exit 1; }
      rm -f "$o.$key.md" "$o.cp.png" "$o.cp.tsv"
      python -m score.bin.breakdown --trials "$tf" --scores "$sc" --utt2key "$utt2key" "${pairs[@]}" \
        --out "$o.$key.md"
      python -m score.bin.cp_map --trials "$tf" --scores "$sc" --metric "$cp_metric" --k "$cp_k" \
        --title "$(sys_name "$sys") $t $m" --out "$o.cp.png" --tsv "$o.cp.tsv"
    done
  done
done
echo "stage 9: per-$key tables and C-P maps in <exp>/conditions/ for: $*"
