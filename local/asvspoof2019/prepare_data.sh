#!/usr/bin/env bash
# ASVspoof 2019 LA (SASV 2022) -> Kaldi data dirs under <data-dir> (docs/data_formats.md §6-7):
#   spoof_{train,dev,eval}/  wav.scp utt2spk spk2utt utt2attack (bonafide|A01..A19) utt2label (bonafide|spoof)
#   sasv_{dev,eval}_enroll/  the enrollment utterances of the *.trn.txt lists; spk2utt = enrollment lists
#   sasv_{dev,eval}/trials   enroll_spk test_utt target|nontarget|spoof
# Utterance ids are <speaker>-<file id>. Every protocol line is checked (and its flac must exist)
# before anything is written; each dir is then validated with utils/validate_data_dir.sh.
# Run with path.sh sourced (or PYTHONPATH at the repository root).
set -euo pipefail
export LC_ALL=C

help_message="Usage: $0 <LA-root> <data-dir>
 e.g.: $0 /export/corpora/ASVspoof2019/LA data
<LA-root> is the LA/ folder of LA.zip (holding ASVspoof2019_LA_train/, ..._cm_protocols/, ..._asv_protocols/)."

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

root=$1
data=$2
[ -d "$root" ] || { echo "$0: $root: no such directory; <LA-root> must be the LA/ folder of LA.zip" >&2; exit 1; }
utils=$(dirname "$0")/../../utils

python -m local.asvspoof2019.prepare "$root" "$data"
for part in train dev eval; do
  "$utils/validate_data_dir.sh" --no-feats --no-text "$data/spoof_$part"
  echo "$data/spoof_$part: $(cut -d' ' -f2 "$data/spoof_$part/utt2attack" | sort | uniq -c | awk '{printf " %s=%s", $2, $1}')"
done
for part in dev eval; do
  "$utils/validate_data_dir.sh" --no-feats --no-text "$data/sasv_${part}_enroll"
  echo "$data/sasv_${part}_enroll: $(wc -l < "$data/sasv_${part}_enroll/spk2utt") speakers," \
    "$(wc -l < "$data/sasv_${part}_enroll/utt2spk") utterances"
  awk -v d="$data/sasv_$part/trials" '{n[$3]++} END {print d ": target=" n["target"] " nontarget=" n["nontarget"] " spoof=" n["spoof"]}' \
    "$data/sasv_$part/trials"
done
echo "$0: done, data dirs in $data"
