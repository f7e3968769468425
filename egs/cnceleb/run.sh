#!/usr/bin/env bash
# CN-Celeb speaker verification and speaker retrieval (the CNSRC 2022 tasks): train on CN-Celeb.T
# (CN-Celeb1 dev + CN-Celeb2), enroll the CN-Celeb1 eval speakers (their concatenated *-enroll.flac)
# and score eval/lists/trials.lst; per-genre tables and the C-P map; with --sr-dev-root (and
# --sr-eval-root), the SR task: rank a pool of utterances for each target, mAP and top-k counts.
# Stage 0 prepares the data dirs (local/cnceleb/prepare_data.sh, prepare_sr.sh); stages 3-9 are the
# shared utils/stages/*.sh, as in every recipe. Every stage skips finished work, so a rerun resumes.
# The default system is the CNSRC 2022 baseline, ASV-Subtools' SE-ResNet-34 on 81-dim fbank with
# energy VAD (conf/resnet34se.yaml, shared with egs/voxceleb; stage 3 points it at cnceleb_train).
. ./path.sh; . ./cmd.sh

cnceleb1_root=${CNCELEB1_ROOT:-}   # CN-Celeb_flac: data/, dev/dev.lst, eval/{enroll,test,lists}
cnceleb2_root=${CNCELEB2_ROOT:-}   # CN-Celeb2_flac: data/, spk.lst
sr_dev_root=                       # CNSRC 2022 Task 2 SR.dev (target/, pool/, metadata/)
sr_eval_root=                      # SR.eval, same layout (no labels)
musan_root=${MUSAN_ROOT:-}         # MUSAN (OpenSLR 17), for wave-mode augmentation
rirs_root=${RIRS_ROOT:-}           # RIRS_NOISES (OpenSLR 28)
combine_short=0                    # >0: join training utterances shorter than this (s), CNSRC practice 5
min_dur=0                          # >0: then drop training utterances shorter than this (s)
nj=8
gpus=1                             # 0: CPU; 1: one GPU; n > 1: torchrun DDP on n GPUs
stage=0
stop_stage=100
configs="conf/resnet34se.yaml"     # one system per config, exp/<config stem>
config=                            # --config conf/x.yaml: that system only
train_set=cnceleb_train
enroll_set=eval_enroll             # eval_enroll_map: multi-utterance enrollment (where enroll.map exists)
test_set=eval_test
trials="eval=data/eval_test/trials"
top_n=10                           # SR: pool utterances ranked per target (mAP@10)
cp_k=10                            # C-P map: 10 x 10 groups (CNSRC 2022)
fusion=exp/fusion

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  data dirs data/{cnceleb_train,eval_enroll,eval_test} (+ eval_enroll_map); SR: data/sr_{dev,eval}_{enroll,pool}
  1  features for feature-mode systems (data/fbank81/<set> with VAD for resnet34se)
  2  augmentation data dirs data/musan_{noise,music,speech} and data/rirs
The stages 3-9 are the shared utils/stages/*.sh:
  3  train every system in \$configs on \$train_set (--gpus: one GPU, or torchrun DDP)
  4  average the last checkpoints and export to TorchScript
  5  extract x-vectors of the training, enroll and test sets (and the SR sets)
  6  back-ends: cosine (mean, lnorm) with the training-speaker cohort; PLDA when the config has one
  7  score the trials against the enrolled speakers: cosine, cosine + AS-Norm, PLDA (+ AS-Norm); SR rankings
  8  fuse the systems (mean of AS-Norm scores) into \$fusion
  9  exp/RESULTS.md and DET plots; per-genre tables and C-P maps (exp/<sys>/conditions/); SR mAP
Options:
  --cnceleb1-root <dir> --cnceleb2-root <dir>   # corpus roots (or CNCELEB1_ROOT, CNCELEB2_ROOT)
  --sr-dev-root <dir> --sr-eval-root <dir>      # the SR task's official folders (optional)
  --musan-root <dir> --rirs-root <dir>          # augmentation corpora (or MUSAN_ROOT, RIRS_ROOT)
  --combine-short <s> --min-dur <s>             # training-set clean-up (default: $combine_short $min_dur: off)
  --stage <n> --stop-stage <n>                  # default: $stage $stop_stage
  --nj <n>                                      # parallel jobs (default: $nj)
  --gpus <n>                                    # default: $gpus
  --configs \"<yaml...>\"                         # systems (default: $configs)
  --config <yaml>                               # one system only
  --enroll-set <set>                            # default: $enroll_set"

. utils/parse_options.sh
set -euo pipefail
[ -z "$config" ] || configs=$config
systems=()
for conf in $configs; do systems+=("exp/$(basename "$conf" .yaml)"); done
sr_tasks=()
if [ -n "$sr_dev_root" ]; then sr_tasks+=(sr_dev); fi
if [ -n "$sr_eval_root" ]; then sr_tasks+=(sr_eval); fi
sr_sets=""
for t in "${sr_tasks[@]}"; do sr_sets+=" ${t}_enroll ${t}_pool"; done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  for v in cnceleb1_root cnceleb2_root sr_dev_root sr_eval_root; do
    if { [ -n "${!v}" ] || [ $v = cnceleb1_root ]; } && [ ! -d "${!v}" ]; then
      echo "$0: --${v//_/-} '${!v}' is not a directory: give the corpus root (see --help)" >&2; exit 1
    fi
  done
  # The marker holds the options it was made with, so a changed root redoes the prep.
  opts=(--combine-short "$combine_short" --min-dur "$min_dur")
  if [ -n "$cnceleb2_root" ]; then opts+=(--cnceleb2-root "$cnceleb2_root"); fi
  opts+=("$cnceleb1_root" data)
  if [ "$(cat data/.prepared 2>/dev/null)" != "${opts[*]}" ]; then
    rm -f data/.prepared
    local/prepare_data.sh --nj "$nj" "${opts[@]}"
    echo "${opts[*]}" > data/.prepared
  fi
  for t in "${sr_tasks[@]}"; do
    root=$sr_dev_root; [ "$t" = sr_dev ] || root=$sr_eval_root
    if [ "$(cat "data/.prepared_$t" 2>/dev/null)" != "$root" ]; then
      rm -f "data/.prepared_$t"
      local/convert_sr.sh "$root" "data/local/$t"
      local/prepare_sr.sh "data/local/$t" data "$t"
      echo "$root" > "data/.prepared_$t"
    fi
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # shellcheck disable=SC2086  # $configs is a list
  utils/stages/feats.sh --nj "$nj" --cmd "$cmd" --sets "$train_set $enroll_set $test_set$sr_sets" $configs
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
  utils/stages/extract.sh --nj "$nj" --cmd "$cmd" --sets "$train_set $enroll_set $test_set$sr_sets" "${systems[@]}"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  utils/stages/backend.sh --train-set "$train_set" "${systems[@]}"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  utils/stages/score.sh --enroll-kind spk --enroll-set "$enroll_set" --test-set "$test_set" --trials "$trials" \
    "${systems[@]}"
  for t in "${sr_tasks[@]}"; do utils/stages/retrieve.sh --top-n "$top_n" "$t" "${systems[@]}"; done
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  # No held-out dev trial list comes with CN-Celeb (CN-Celeb1 dev is training data): the systems are
  # fused by the mean of their AS-Norm scores.
  utils/stages/fuse.sh --score cosine_asnorm --trials "$trials" --out "$fusion" "${systems[@]}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  with=("${systems[@]}")
  if [ -f "$fusion/results.tsv" ]; then with+=("$fusion"); fi
  utils/stages/conditions.sh --trials "$trials" --methods "cosine cosine_asnorm" --cp-k "$cp_k" \
    --utt2key "data/$test_set/utt2genre" "${systems[@]}"
  utils/stages/results.sh --title "egs/cnceleb" --trials "$trials" \
    --also "cosine_asnorm=$(basename "$fusion"):mean_asnorm" "${with[@]}"
  for t in "${sr_tasks[@]}"; do
    for sys in "${systems[@]}"; do
      if [ -s "$sys/$t.retrieval.txt" ]; then echo "$sys $t: $(head -1 "$sys/$t.retrieval.txt")"; fi
    done
  done
fi
