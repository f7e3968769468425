#!/usr/bin/env bash
# VoxCeleb speaker verification: train on VoxCeleb2 dev (--train-sets), score the cleaned Vox1-O,
# Vox1-E and Vox1-H utterance-vs-utterance trial lists (E and H need VoxCeleb1 dev on disk). Stage 0
# prepares the Kaldi data dirs (local/voxceleb/prepare_data.sh; VoxCeleb2 m4a is read through an ffmpeg
# pipe, which utils/decode_pipes.sh decodes once to FLAC for training), stage 2 the MUSAN and RIRS_NOISES
# augmentation sets; stages 3-9 are the shared utils/stages/*.sh, as in every recipe. Every stage
# skips finished work, so a rerun resumes.
# The default system is ECAPA-TDNN (C=512), the standard VoxCeleb system (Desplanques et al. 2020):
# it trains on raw waves with on-the-fly MUSAN/RIR augmentation, so VoxCeleb2's 1.1M utterances need
# no feature archive. conf/resnet34se.yaml (the CNSRC SE-ResNet-34) reads 81-dim fbank + VAD that
# stage 1 computes into data/fbank81/.
. ./path.sh; . ./cmd.sh

vox1_root=${VOX1_ROOT:-}       # VoxCeleb1 wav: <root>/{dev,test}/wav/... or <root>/wav/...
vox2_root=${VOX2_ROOT:-}       # VoxCeleb2: <root>/dev/aac/... (m4a or converted wav)
meta_dir=                      # veri_test2.txt, list_test_all2.txt, list_test_hard2.txt (default: vox1_root)
musan_root=${MUSAN_ROOT:-}     # MUSAN (OpenSLR 17), for wave-mode augmentation
rirs_root=${RIRS_ROOT:-}       # RIRS_NOISES (OpenSLR 28)
decode_dir=audio               # stage 0 decodes piped training recordings (VoxCeleb2 m4a) here once, as FLAC
nj=8
gpus=1                         # 0: CPU; 1: one GPU; n > 1: torchrun DDP on n GPUs
stage=0
stop_stage=100
configs="conf/ecapa_c512.yaml" # one system per config, exp/<config stem>
config=                        # --config conf/x.yaml: that system only
train_sets="vox2_dev"          # several (e.g. "vox1_dev vox2_dev") are combined into data/<a>_<b>
eval_set=vox1                  # all of VoxCeleb1: the enroll and test side of Vox1-O/E/H
trials_lists="vox1_O vox1_E vox1_H"   # those of data/vox1/trials/ that stage 0 wrote are scored
fusion=exp/fusion

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  data dirs: data/{vox1_dev,vox1_test,vox1,vox2_dev} and data/vox1/trials/{vox1_O,vox1_E,vox1_H};
     with --decode-dir, a training set read through pipes (VoxCeleb2 m4a) is decoded once to FLAC
     in <decode-dir>/<set>, and data/<set>_flac, which reads those files, is trained on instead
  1  features for feature-mode systems (data/<name>/<set>, e.g. data/fbank81 for resnet34se)
  2  augmentation data dirs data/musan_{noise,music,speech} and data/rirs
The stages 3-9 are the shared utils/stages/*.sh:
  3  train every system in \$configs on \$train_sets (--gpus: one GPU, or torchrun DDP)
  4  average the last checkpoints and export to TorchScript
  5  extract x-vectors of the training set (back-end, cohort) and of \$eval_set
  6  back-ends: cosine (mean, lnorm) with the training-speaker cohort; PLDA when the config has one
  7  score Vox1-O/E/H utterance against utterance: cosine, cosine + AS-Norm, PLDA (+ AS-Norm); exp/<sys>/results.tsv
  8  fuse the systems (mean of AS-Norm scores) into \$fusion
  9  exp/RESULTS.md (one column per trial list) and DET plots
Options:
  --vox1-root <dir> --vox2-root <dir>    # corpus roots (or VOX1_ROOT, VOX2_ROOT)
  --meta-dir <dir>                       # the trial lists, vox1_meta.csv (default: the vox1 root)
  --musan-root <dir> --rirs-root <dir>   # augmentation corpora (or MUSAN_ROOT, RIRS_ROOT)
  --decode-dir <dir>                     # default: $decode_dir (VoxCeleb2 dev: at most 280 GB); \"\" keeps
                                         # the ffmpeg pipes, which run at every read of a recording
  --stage <n> --stop-stage <n>           # default: $stage $stop_stage
  --nj <n>                               # parallel jobs (default: $nj)
  --gpus <n>                             # default: $gpus
  --configs \"<yaml...>\"                  # systems (default: $configs)
  --config <yaml>                        # one system only
  --train-sets \"<set...>\"                # default: $train_sets"

. utils/parse_options.sh
set -euo pipefail
. utils/lib/recipe.sh    # up_to_date <output> <input>...
[ -z "$config" ] || configs=$config
systems=()
for conf in $configs; do systems+=("exp/$(basename "$conf" .yaml)"); done
read -ra prepared <<< "$train_sets"
# The training sets as the later stages read them: <set>_flac for a piped set decoded in stage 0.
training_sets() {
  local s
  sets=()
  for s in "${prepared[@]}"; do
    if [ -n "$decode_dir" ] && grep -q '|[[:space:]]*$' "data/$s/wav.scp" 2>/dev/null; then
      sets+=("${s}_flac")
    else
      sets+=("$s")
    fi
  done
  train_set=$(IFS=_; echo "${sets[*]}")
}
training_sets
# the lists stage 0 wrote (Vox1-E/H only with VoxCeleb1 dev), as name=file for the scoring stages
trials() {
  local t
  for t in $trials_lists; do
    if [ -s "data/$eval_set/trials/$t" ]; then echo "$t=data/$eval_set/trials/$t"; fi
  done
}
if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  need=(vox1_root)
  if [[ " $train_sets " == *" vox2_dev "* ]] || [ -n "$vox2_root" ]; then need+=(vox2_root); fi
  for v in "${need[@]}"; do
    if [ -z "${!v}" ] || [ ! -d "${!v}" ]; then
      echo "$0: --${v//_/-} '${!v}' is not a directory: give the corpus root (see --help)" >&2; exit 1
    fi
  done
  # The marker holds the options it was made with, so a changed root redoes the prep.
  opts=(--meta-dir "${meta_dir:-$vox1_root}")
  if [ -n "$vox2_root" ]; then opts+=(--vox2-root "$vox2_root"); fi
  opts+=("$vox1_root" data)
  if [ "$(cat data/.prepared 2>/dev/null)" != "${opts[*]}" ]; then
    rm -f data/.prepared
    local/prepare_data.sh --nj "$nj" "${opts[@]}"
    echo "${opts[*]}" > data/.prepared
  fi
  training_sets
  for s in "${prepared[@]}"; do
    if [[ " ${sets[*]} " == *" ${s}_flac "* ]] && ! up_to_date "data/${s}_flac/wav.scp" "data/$s/wav.scp"; then
      utils/decode_pipes.sh --nj "$nj" --cmd "$cmd" "data/$s" "$decode_dir/$s" "data/${s}_flac"
    fi
  done
  scps=()
  for s in "${sets[@]}"; do scps+=("data/$s/wav.scp"); done
  if [ ${#sets[@]} -gt 1 ] && ! up_to_date "data/$train_set/.combined" data/.prepared "${scps[@]}"; then
    rm -rf "data/$train_set"
    utils/combine_data.sh "data/$train_set" "${sets[@]/#/data/}"
    touch "data/$train_set/.combined"
  fi
  echo "stage 0: data/{$(IFS=,; echo "${sets[*]}"),$eval_set}; trials: $(trials | tr "\n" " ")"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # shellcheck disable=SC2086  # $configs is a list
  utils/stages/feats.sh --nj "$nj" --cmd "$cmd" --sets "$train_set $eval_set" $configs
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  utils/stages/augsets.sh --musan-root "$musan_root" --rirs-root "$rirs_root" data
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # shellcheck disable=SC2086  # $configs is a list
  utils/stages/train.sh --cmd "$train_cmd" --gpus "$gpus" --train-set "$train_set" $configs
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  utils/stages/export.sh "${systems[@]}"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  utils/stages/extract.sh --nj "$nj" --cmd "$cmd" --sets "$train_set $eval_set" "${systems[@]}"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  utils/stages/backend.sh --train-set "$train_set" "${systems[@]}"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  # Vox1-O/E/H pair utterances: the test embeddings are the enroll side too.
  utils/stages/score.sh --enroll-kind utt --enroll-set "$eval_set" --test-set "$eval_set" --trials "$(trials)" \
    "${systems[@]}"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  # VoxCeleb has no standard held-out dev trial list: the systems are fused by the mean of their
  # AS-Norm scores (give one with utils/stages/fuse.sh --dev-trials for logistic-regression fusion).
  utils/stages/fuse.sh --score cosine_asnorm --trials "$(trials)" --out "$fusion" "${systems[@]}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  with=("${systems[@]}")
  if [ -f "$fusion/results.tsv" ]; then with+=("$fusion"); fi
  utils/stages/results.sh --title "egs/voxceleb" --trials "$(trials)" \
    --also "cosine_asnorm=$(basename "$fusion"):mean_asnorm" "${with[@]}"
fi
