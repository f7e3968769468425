#!/usr/bin/env bash
# Recipe stage 1: the features each feature-mode system trains on, for each set. A system whose
# data.train is <data>/<name>/<train-set> (mode: feats) gets <data>/<name>/<set>: a copy of <data>/<set>
# with feats.scp and utt2num_frames from the feature config <name>.yaml next to the system config
# (conf/fbank81.yaml for data/fbank81/...), and vad.scp from --vad-config when the system sets
# data.use_vad. Wave-mode systems need nothing here. A set is skipped when its outputs are newer
# than <data>/<set>/wav.scp; make_fbank.sh and compute_vad_decision.sh write feats.scp / vad.scp only
# when every job succeeded. Run from a recipe dir with path.sh sourced.

nj=4
cmd=run.pl
data=data
sets=
vad_config=conf/vad.yaml

help_message="Usage: $0 [options] --sets \"<set>...\" <system-config.yaml>...
 e.g.: $0 --nj 8 --sets \"cnceleb_train eval_enroll eval_test\" conf/resnet34se.yaml
Options:
  --nj <n>                      # parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>   # how to run jobs (default: $cmd)
  --data <dir>                  # the data dirs (default: $data)
  --sets \"<set>...\"             # the sets (required)
  --vad-config <yaml>           # energy VAD from C0, for systems with data.use_vad (default: $vad_config)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
if [ $# -lt 1 ] || [ -z "$sets" ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail
# shellcheck source=../lib/recipe.sh
. "$(dirname "$0")/../lib/recipe.sh"
utils=$(dirname "$0")/..
get() { python -m pytorch.bin.config_get --default "$3" "$1" "$2"; }

for sys_conf in "$@"; do
  [ "$(get "$sys_conf" data.mode feats)" = feats ] || { echo "stage 1: $sys_conf reads waves: no features"; continue; }
  name=$(basename "$(dirname "$(get "$sys_conf" data.train "")")")
  conf=$(dirname "$sys_conf")/$name.yaml
  [ -f "$conf" ] || { echo "$0: $sys_conf trains on $data/$name/...: no feature config $conf" >&2; exit 1; }
  vad=()
  [ "$(get "$sys_conf" data.use_vad false)" = false ] || vad=(--vad-config "$vad_config")
  for set in $sets; do
    src=$data/$set dst=$data/$name/$set
    [ -s "$src/wav.scp" ] || { echo "$0: no $src/wav.scp (run stage 0)" >&2; exit 1; }
    if up_to_date "$dst/feats.scp" "$src/wav.scp" "$conf" && \
       { [ ${#vad[@]} -eq 0 ] || up_to_date "$dst/vad.scp" "$dst/feats.scp" "$vad_config"; }; then
      continue
    fi
    rm -rf "$dst"
    "$utils/copy_data_dir.sh" "$src" "$dst"
    rm -f "$dst/"{feats.scp,utt2num_frames,vad.scp}
    "$utils/make_fbank.sh" --nj "$nj" --cmd "$cmd" --fbank-config "$conf" "$dst" "exp/make_$name/$set" "$name"
    if [ ${#vad[@]} -gt 0 ]; then
      "$utils/compute_vad_decision.sh" --nj "$nj" --cmd "$cmd" "${vad[@]}" "$dst" "exp/make_$name/$set" "$name"
    fi
  done
  echo "stage 1: $name features (conf $conf${vad[*]:+, VAD}) in $data/$name/<set> for: $sets"
done
