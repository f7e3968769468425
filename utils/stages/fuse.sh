#!/usr/bin/env bash
# Recipe stage 8: calibration and fusion of the systems' <exp>/scores/<trials-name>.<score> files.
# Without --dev-trials the systems are fused by the mean of their scores (AS-Norm scores are on a
# common, cohort-normalised scale); with --dev-trials <name> (a list scored by stage 7 with held-out
# labels) each system is calibrated (score.bin.calibrate, linear or --qmf) and the systems are fused
# by logistic regression (score.bin.fuse --method logreg), both trained on that list and applied to
# the others. Outputs: <out>/scores/<trials-name>.<mean|logreg>_<norm> (and <sys>.<trials-name>.cal
# per system with a dev list), rows in <out>/results.tsv, written last (the done marker).
# Run from a recipe dir with path.sh sourced.
set -euo pipefail

score=cosine_asnorm
trials="test=data/test/trials"
dev_trials=
qmf=false
dur=
out=exp/fusion

help_message="Usage: $0 [options] <exp-dir>...
 e.g.: $0 --score cosine_asnorm --trials test=data/test/trials --out exp/fusion exp/resnet_mini exp/ecapa_mini
       $0 --dev-trials dev --trials \"dev=data/dev/trials eval=data/eval/trials\" --out exp/fusion exp/a exp/b
Options:
  --score <method>              # which score files to fuse (default: $score)
  --trials \"<name>=<file>...\"   # the trial lists scored by stage 7 (default: $trials)
  --dev-trials <name>           # one of them to train calibration and logreg fusion on (default: none, mean)
  --qmf <true|false>            # quality-aware calibration, needs --dur (default: $qmf)
  --dur \"<utt2dur>...\"          # duration tables of the enroll and test ids, for --qmf
  --out <dir>                   # fusion dir (default: $out)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"
parse_trials "$trials"
dev_file=
for i in "${!trials_names[@]}"; do [ "${trials_names[$i]}" != "$dev_trials" ] || dev_file=${trials_files[$i]}; done
if [ -n "$dev_trials" ] && [ -z "$dev_file" ]; then
  echo "$0: --dev-trials $dev_trials is not one of the --trials names: ${trials_names[*]}" >&2; exit 1
fi
if [ -z "$dev_trials" ] && [ $# -lt 2 ]; then
  echo "stage 8: one system only and no dev trials: nothing to fuse or calibrate"; exit 0
fi

norm=${score#cosine}; norm=${norm#_}; norm=${norm:-none}   # cosine_asnorm -> asnorm, plda -> plda
method=mean; [ -z "$dev_trials" ] || method=logreg
members=() for_sys=()
for sys in "$@"; do members+=("$(sys_name "$sys")"); for_sys+=("${sys%/}"); done
label="$method($(IFS=+; echo "${members[*]}"))"
fname=$(sys_name "$out")
mkdir -p "$out/scores"
rm -f "$out/results.tsv" "$out/results.tsv.tmp"
metrics() {  # <trials> <scores> <system> <backend> <norm> <trials-name>
  python -m score.bin.compute_metrics --trials "$1" --scores "$2" --results "$out/results.tsv.tmp" \
    --system "$3" --backend "$4" --norm "$5" --trials-name "$6" | sed "s/^/$3 $6: /"
}
qmf_opts=(--qmf "$qmf")
read -ra dur_files <<< "$dur"
[ "$qmf" = false ] || qmf_opts+=(--enroll-dur "${dur_files[@]}" --test-dur "${dur_files[@]}")
for i in "${!trials_names[@]}"; do
  t=${trials_names[$i]} tf=${trials_files[$i]}
  [ "$t" != "$dev_trials" ] || continue
  files=() dev=()
  for sys in "${for_sys[@]}"; do files+=("$sys/scores/$t.$score"); dev+=("$sys/scores/$dev_trials.$score"); done
  rm -f "$out/scores/$t.${method}_$norm"
  if [ -n "$dev_trials" ]; then
    for j in "${!for_sys[@]}"; do
      cal=$out/scores/${members[$j]}.$t.cal
      rm -f "$cal"
      python -m score.bin.calibrate "${qmf_opts[@]}" --train-trials "$dev_file" --train-scores "${dev[$j]}" \
        --scores "${files[$j]}" --out "$cal"
      metrics "$tf" "$cal" "${members[$j]}" "$score-cal" "$norm" "$t"
    done
    [ ${#files[@]} -ge 2 ] || continue
    python -m score.bin.fuse --method logreg --train-trials "$dev_file" --train-scores "${dev[@]}" \
      --scores "${files[@]}" --out "$out/scores/$t.${method}_$norm"
  else
    python -m score.bin.fuse --method mean --scores "${files[@]}" --out "$out/scores/$t.${method}_$norm"
  fi
  metrics "$tf" "$out/scores/$t.${method}_$norm" "$fname" "$label" "$norm" "$t"
done
[ -s "$out/results.tsv.tmp" ] || { echo "$0: no trial list besides the dev list $dev_trials to fuse" >&2; exit 1; }
mv "$out/results.tsv.tmp" "$out/results.tsv"
