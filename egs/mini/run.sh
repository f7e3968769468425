#!/usr/bin/env bash
# The mini recipe: a synthetic corpus generated on the spot (local/synthetic, numpy/scipy only) that
# runs everywhere, end to end, on 2 CPU cores. Stage 0 generates the corpus (speakers, sessions and
# genres; enroll/test trials; spoofs; mixtures; MUSAN/RIRS_NOISES-style noise sets), writes Kaldi
# data dirs, and scores a non-neural baseline (mean and std of voiced MFCC frames, whitened on the
# training set, cosine) so you can see at once how hard the corpus is. Stage 1 computes fbank
# features; stages 2-9 train a small SE-ResNet and a small ECAPA-TDNN side by side, extract
# x-vectors, score them by cosine, cosine + AS-Norm and LDA+PLDA, fuse the two systems and write
# exp/RESULTS.md with DET plots. Every stage skips work that is already complete, so a rerun
# reuses it (training resumes from its last checkpoint).
. ./path.sh; . ./cmd.sh

corpus=corpus                 # generated here (egs/mini/corpus)
seed=7
nj=2
stage=0
stop_stage=100
num_train_spk=80              # corpus size (see README.md for what the defaults give)
num_eval_spk=30
utts_per_spk=12
gen_opts=                     # more generator options, e.g. "--min-dur 1 --max-dur 2 --num-mix-train 10"
mfcc_config=conf/mfcc.yaml
vad_config=conf/vad.yaml
fbank_config=conf/fbank.yaml   # 80 bins, in data/{train,enroll,test}
extra_fbank=fbank40            # more fbank sets, data/<name>/<set> from conf/<name>.yaml (resnet_mini)
baseline=exp/baseline_mfcc_stats
baseline_chain=mean,whiten,lnorm
configs="conf/resnet_mini.yaml conf/ecapa_mini.yaml"   # one system per config, exp/<config stem>
config=                       # --config conf/x.yaml: run stages 3-7 for that system only
train_threads=1               # torch threads per training job; the systems train in parallel
train_set=train                # data/<set> names
enroll_set=enroll              # speaker enrollment: data/enroll/spk2utt
test_set="test"
trials="test=data/test/trials" # name=file[@set] ...: one results column per list
corrupt_set=test_corrupt       # data/<set>: the test set under held-out noises and rooms; when stage 0
                               # wrote it, also extracted and scored as trials list <set> ("": skipped)
gpus=0                         # 0: the systems train side by side on CPU; n > 1: torchrun DDP
fusion=exp/fusion_mini        # stage 8: mean of the systems' AS-Norm scores

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  generate the corpus in \$corpus, prepare data/, score the MFCC-statistics baseline ($baseline,
     local/baseline/mfcc_stats.sh; on \$corrupt_set too, in ${baseline}_corrupt)
  1  fbank for \$train_set, \$enroll_set, \$test_set (and \$corrupt_set): data/<set> (\$fbank_config),
     data/<name>/<set> (\$extra_fbank)
  2  MUSAN / RIRS_NOISES augmentation data dirs from the corpus (data/musan_*, data/rirs)
The stages 3-9 are the shared utils/stages/*.sh (see their --help):
  3  train every system in \$configs (train.sh: in parallel on CPU, \$train_threads threads each)
  4  average the last checkpoints (done by training) and export to TorchScript (export.sh)
  5  extract x-vectors of the train, enroll and test sets (and \$corrupt_set) (extract.sh)
  6  back-ends: cosine (mean, lnorm) with the training-speaker cohort; the config's PLDA chain (backend.sh)
  7  score \$trials (and \$corrupt_set's trials) against the enrolled speakers: cosine, cosine + AS-Norm,
     PLDA, PLDA + AS-Norm; exp/<sys>/results.tsv (score.sh --enroll-kind spk)
  8  fuse the systems (mean of AS-Norm scores) into \$fusion (fuse.sh)
  9  exp/RESULTS.md and DET plots exp/det_*.png (results.sh)
Options:
  --stage <n> --stop-stage <n>     # default: $stage $stop_stage
  --nj <n>                         # parallel jobs (default: $nj)
  --seed <n>                       # corpus seed (default: $seed)
  --num-train-spk <n> --num-eval-spk <n> --utts-per-spk <n>   # corpus size
  --configs \"<yaml...>\"            # systems (default: $configs)
  --config <yaml>                  # one system only (stages 3-7)
  --gpus <n>                       # 0: CPU (default); 1: one GPU; n > 1: torchrun DDP
  --corrupt-set <set>              # the corrupted test set scored too when present (default: $corrupt_set)
  --gen-opts \"<opts>\"              # extra local/generate.py options"

. utils/parse_options.sh
set -euo pipefail
. utils/lib/recipe.sh    # up_to_date <output> <input>...
[ -z "$config" ] || configs=$config
systems=()
for conf in $configs; do systems+=("exp/$(basename "$conf" .yaml)"); done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  # generate.py returns at once when $corpus/.done holds the same options.
  # $gen_opts is a list of options: split on purpose.
  # shellcheck disable=SC2086
  python local/generate.py --out "$corpus" --seed "$seed" --nj "$nj" --num-train-spk "$num_train_spk" \
    --num-eval-spk "$num_eval_spk" --utts-per-spk "$utts_per_spk" $gen_opts
  if ! up_to_date data/.prepared "$corpus/.done"; then
    rm -f data/.prepared    # a failed prep must not leave the old marker looking current
    local/prepare_data.sh "$corpus" data
    touch data/.prepared
  fi
  # The corpus-independent baseline; it returns at once when its results are newer than data/.
  "$ROOT/local/baseline/mfcc_stats.sh" --nj "$nj" --cmd "$train_cmd" --mfcc-config "$mfcc_config" \
    --vad-config "$vad_config" --chain "$baseline_chain" --trials-name "${trials%%=*}" \
    "data/$train_set" "data/$enroll_set" "data/$test_set" "$baseline"
  echo "stage 0: baseline (MFCC mean+std, cosine): $(cat "$baseline/metrics.txt")"
  if [ -n "$corrupt_set" ] && [ -s "data/$corrupt_set/trials" ]; then
    "$ROOT/local/baseline/mfcc_stats.sh" --nj "$nj" --cmd "$train_cmd" --mfcc-config "$mfcc_config" \
      --vad-config "$vad_config" --chain "$baseline_chain" --trials-name "$corrupt_set" \
      --system "$(basename "$baseline")" "data/$train_set" "data/$enroll_set" "data/$corrupt_set" "${baseline}_corrupt"
    echo "stage 0: baseline on $corrupt_set: $(cat "${baseline}_corrupt/metrics.txt")"
  fi
fi

# The test sets and trial lists of stages 1-9: the corrupted test set joins them when stage 0 wrote it.
test_sets=$test_set all_trials=$trials
if [ -n "$corrupt_set" ] && [ -s "data/$corrupt_set/trials" ]; then
  test_sets+=" $corrupt_set" all_trials+=" $corrupt_set=data/$corrupt_set/trials@$corrupt_set"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # make_fbank.sh writes feats.scp only when every job succeeded; prepare_data.sh rebuilds the
  # data dir (dropping feats.scp) when the corpus changes, and the copies below follow it.
  for set in $train_set $enroll_set $test_sets; do
    up_to_date "data/$set/feats.scp" data/.prepared || utils/make_fbank.sh --nj "$nj" --cmd "$train_cmd" \
      --fbank-config "$fbank_config" "data/$set" "exp/make_fbank/$set" fbank
    for name in $extra_fbank; do
      if ! up_to_date "data/$name/$set/feats.scp" data/.prepared; then
        rm -rf "data/$name/$set"
        utils/copy_data_dir.sh "data/$set" "data/$name/$set"
        rm -f "data/$name/$set/"{feats.scp,utt2num_frames}
        utils/make_fbank.sh --nj "$nj" --cmd "$train_cmd" --fbank-config "conf/$name.yaml" \
          "data/$name/$set" "exp/make_$name/$set" "$name"
      fi
    done
  done
  echo "stage 1: fbank in data/<set>/feats.scp for $train_set $enroll_set $test_sets, and data/<name>/<set> for: $extra_fbank"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  # The generated corpus carries small MUSAN and RIRS_NOISES trees in the real layouts; the same
  # stage script as the full recipes turns them into data dirs for wave-mode augmentation.
  # The mini systems train on precomputed features with SpecAugment, so only wave-mode configs
  # (data.mode: wave, augment.noise/music/babble/reverb) read these dirs.
  if [ ! -d "$corpus/musan" ]; then
    echo "stage 2: $corpus has no musan/ or RIRS_NOISES/ (generated with --augsets false); skipped"
  else
    utils/stages/augsets.sh --musan-root "$corpus/musan" --rirs-root "$corpus/RIRS_NOISES" data
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # shellcheck disable=SC2086  # $configs is a list
  utils/stages/train.sh --cmd "$train_cmd" --gpus "$gpus" --threads "$train_threads" $configs
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  utils/stages/export.sh "${systems[@]}"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  utils/stages/extract.sh --nj "$nj" --cmd "$cmd" --sets "$train_set $enroll_set $test_sets" "${systems[@]}"
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  utils/stages/backend.sh --train-set "$train_set" "${systems[@]}"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  utils/stages/score.sh --enroll-kind spk --enroll-set "$enroll_set" --test-set "$test_set" --trials "$all_trials" \
    "${systems[@]}"
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  # The mini corpus has no held-out dev trials to train a calibration or logistic-regression
  # fusion on, so the systems are fused by the mean of their AS-Norm scores (already on a common,
  # cohort-normalised scale). Recipes with dev trials pass --dev-trials (logreg fusion).
  utils/stages/fuse.sh --score cosine_asnorm --trials "$all_trials" --out "$fusion" "${systems[@]}"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  with=("$baseline" "${systems[@]}")
  also="cosine=$(basename "$baseline"):cos cosine_asnorm=$(basename "$fusion"):mean_asnorm"
  if [ "$test_sets" != "$test_set" ]; then
    with+=("${baseline}_corrupt") also+=" cosine=$(basename "$baseline")_corrupt:cos"
  fi
  if [ -f "$fusion/results.tsv" ]; then with+=("$fusion"); fi
  # the baseline on the cosine DET plot, the fusion on the AS-Norm one
  utils/stages/results.sh --title "egs/mini" --trials "$all_trials" --also "$also" "${with[@]}"
  echo "stage 9: exp/RESULTS.md, exp/det_[<trials>_]{cosine,cosine_asnorm,plda,plda_asnorm}.png"
fi
