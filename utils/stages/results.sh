#!/usr/bin/env bash
# Recipe stage 9: <out-dir>/RESULTS.md from the results.tsv of every <exp-dir> (rows system x back-end
# x norm, one column per trial list), and one DET plot per trial list and scoring method with every
# <exp-dir> that has <exp>/scores/<trials-name>.<method> on it: <out-dir>/det_<method>.png for a single
# trial list, det_<trials-name>_<method>.png for several. Score files named otherwise (a baseline's, a
# fusion's) join a plot through --also. RESULTS.md is removed first and written last (the done marker).
# Run from a recipe dir with path.sh sourced.
set -euo pipefail

title=Results
trials="test=data/test/trials"
methods="cosine cosine_asnorm plda plda_asnorm"
also=
out_dir=exp

help_message="Usage: $0 [options] <exp-dir>...
 e.g.: $0 --title egs/mini --trials test=data/test/trials \\
          --also \"cosine=baseline_mfcc_stats:cos cosine_asnorm=fusion_mini:mean_asnorm\" \\
          exp/baseline_mfcc_stats exp/resnet_mini exp/ecapa_mini exp/fusion_mini
Options:
  --title <text>                  # heading of RESULTS.md and the plots (default: $title)
  --trials \"<name>=<file>...\"     # the trial lists (default: $trials)
  --methods \"<method>...\"         # one DET plot per method (default: $methods)
  --also \"<method>=<exp-name>:<suffix>...\"  # plot <exp>/scores/<trials-name>.<suffix> on that method's plot
  --out-dir <dir>                 # where RESULTS.md and the plots go (default: $out_dir)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"
parse_trials "$trials"

results=() heading=
for sys in "$@"; do
  [ -s "${sys%/}/results.tsv" ] || { echo "$0: no ${sys%/}/results.tsv (run stage 7 or 8)" >&2; exit 1; }
  results+=("${sys%/}/results.tsv")
done
for f in "${trials_files[@]}"; do heading+=${heading:+, }"$f ($(wc -l < "$f") trials)"; done
rm -f "$out_dir/RESULTS.md"
python -m score.bin.results_table --title "$title: $heading" \
  "${results[@]}" > "$out_dir/RESULTS.md.tmp"
for i in "${!trials_names[@]}"; do
  t=${trials_names[$i]}
  for m in $methods; do
    files=() labels=()
    for sys in "$@"; do
      name=$(sys_name "$sys") suffix=$m
      for a in $also; do
        case $a in "$m=$name:"*) suffix=${a#"$m=$name:"} ;; esac
      done
      [ -f "${sys%/}/scores/$t.$suffix" ] || continue
      files+=("${sys%/}/scores/$t.$suffix") labels+=("$name")
    done
    [ ${#files[@]} -gt 0 ] || continue
    png=$out_dir/det_${t}_$m.png plot_title="$title: $t $m"
    [ ${#trials_names[@]} -gt 1 ] || png=$out_dir/det_$m.png plot_title="$title: $m"
    python -m score.bin.plot_det --trials "${trials_files[$i]}" --scores "${files[@]}" --labels "${labels[@]}" \
      --title "$plot_title" --out "$png"
  done
done
mv "$out_dir/RESULTS.md.tmp" "$out_dir/RESULTS.md"
cat "$out_dir/RESULTS.md"
