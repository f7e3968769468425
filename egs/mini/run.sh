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
extract_sets="train enroll test"
fusion=exp/fusion_mini        # stage 8: mean of the systems' AS-Norm scores

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  generate the corpus in \$corpus, prepare data/, score the MFCC-statistics baseline ($baseline,
     local/baseline/mfcc_stats.sh)
  1  fbank for train, enroll and test: data/<set> (\$fbank_config), data/<name>/<set> (\$extra_fbank)
  2  MUSAN / RIRS_NOISES augmentation data dirs from the corpus (data/musan_*, data/rirs)
  3  train every system in \$configs (in parallel, \$train_threads threads each)
  4  average the last checkpoints (done by training) and export to TorchScript
  5  extract x-vectors of train, enroll and test
  6  back-ends: cosine (mean, lnorm) with the training-speaker cohort; the config's PLDA chain
  7  score the trials: cosine, cosine + AS-Norm, PLDA; exp/<sys>/results.tsv
  8  fuse the systems (mean of AS-Norm scores) into \$fusion
  9  exp/RESULTS.md and DET plots (exp/det_*.png)
Options:
  --stage <n> --stop-stage <n>     # default: $stage $stop_stage
  --nj <n>                         # parallel jobs (default: $nj)
  --seed <n>                       # corpus seed (default: $seed)
  --num-train-spk <n> --num-eval-spk <n> --utts-per-spk <n>   # corpus size
  --configs \"<yaml...>\"            # systems (default: $configs)
  --config <yaml>                  # one system only (stages 3-7)
  --gen-opts \"<opts>\"              # extra local/generate.py options"

. utils/parse_options.sh
set -euo pipefail
. utils/lib/recipe.sh    # up_to_date <output> <input>...
[ -z "$config" ] || configs=$config

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
    --vad-config "$vad_config" --chain "$baseline_chain" --trials-name mini \
    data/train data/enroll data/test "$baseline"
  echo "stage 0: baseline (MFCC mean+std, cosine): $(cat "$baseline/metrics.txt")"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  # make_fbank.sh writes feats.scp only when every job succeeded; prepare_data.sh rebuilds the
  # data dir (dropping feats.scp) when the corpus changes, and the copies below follow it.
  for set in train enroll test; do
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
  echo "stage 1: fbank in data/{train,enroll,test}/feats.scp, and data/<name>/<set> for: $extra_fbank"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  # The generated corpus carries small MUSAN and RIRS_NOISES trees in the real layouts; the same
  # prep scripts as the full recipes turn them into data dirs for wave-mode augmentation.
  # The mini systems train on precomputed features with SpecAugment, so only wave-mode configs
  # (data.mode: wave, augment.noise/music/babble/reverb) read these dirs.
  if [ ! -d "$corpus/musan" ]; then
    echo "stage 2: $corpus has no musan/ or RIRS_NOISES/ (generated with --augsets false); skipped"
  else
    [ -s data/musan_noise/wav.scp ] || "$ROOT/local/musan/prepare_data.sh" "$corpus/musan" data
    [ -s data/rirs/wav.scp ] || "$ROOT/local/rirs/prepare_data.sh" "$corpus/RIRS_NOISES" data/rirs
    echo "stage 2: augmentation data dirs data/musan_{noise,music,speech} data/rirs"
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # One job per system, all at once: on a small CPU machine two 1-thread trainings finish sooner
  # than two 2-thread trainings in a row. train.py resumes from the last epoch (a finished run
  # returns at once); a changed config is refused rather than mixed into the old exp dir.
  pids=()
  for conf in $configs; do
    sys=$(basename "$conf" .yaml)
    mkdir -p "exp/$sys/log"
    echo "stage 3: training exp/$sys with $conf (log: exp/$sys/log/train.log)"
    OMP_NUM_THREADS=$train_threads $train_cmd "exp/$sys/log/train_job.log" \
      python -m pytorch.bin.train --config "$conf" --exp "exp/$sys" &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed -eq 0 ] || { echo "$0: training failed; see exp/*/log/train_job.log" >&2; exit 1; }
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for conf in $configs; do
    sys=$(basename "$conf" .yaml)
    # training writes avg.pt too; one older than an epoch is left from a killed or extended run
    up_to_date "exp/$sys/models/avg.pt" "exp/$sys"/models/epoch_*.pt || python -m pytorch.bin.average --exp "exp/$sys"
    up_to_date "exp/$sys/models/avg.ts.pt" "exp/$sys/models/avg.pt" || \
      python -m pytorch.bin.export --exp "exp/$sys" --checkpoint avg --formats torchscript
  done
  echo "stage 4: exp/<sys>/models/avg.pt (average of the last epochs) and avg.ts.pt (TorchScript)"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for conf in $configs; do
    sys=$(basename "$conf" .yaml)
    # a system's features for every set sit next to its training dir (data/<set>, data/fbank40/<set>)
    feats=$(dirname "$(python -m pytorch.bin.config_get "exp/$sys/config.yaml" data.train)")
    for set in $extract_sets; do
      out=exp/$sys/embeddings/$set
      up_to_date "$out/xvector.scp" "exp/$sys/models/avg.pt" && continue
      utils/extract_embeddings.sh --nj "$nj" --cmd "$cmd" "exp/$sys" "$feats/$set" "$out"
    done
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  for conf in $configs; do
    sys=$(basename "$conf" .yaml)
    emb=exp/$sys/embeddings/train/xvector.scp
    # cosine: centre on the training mean, length-normalise; the cohort (training-speaker means)
    # serves AS-Norm.
    python -m score.bin.train_backend --chain mean,lnorm --train "$emb" --utt2spk data/train/utt2spk \
      --out "exp/$sys/backend/cosine" --cohort-out "exp/$sys/backend/cohort.scp"
    chain=$(python -m pytorch.bin.config_get "exp/$sys/config.yaml" backend.chain)
    python -m score.bin.train_backend --chain "$chain" --train "$emb" --utt2spk data/train/utt2spk \
      --out "exp/$sys/backend/plda"
  done
  echo "stage 6: back-ends in exp/<sys>/backend/{cosine,plda}"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  for conf in $configs; do
    sys=$(basename "$conf" .yaml)
    e=exp/$sys/embeddings sc=exp/$sys/scores
    rm -f "exp/$sys/results.tsv"    # the stage's done marker goes first, so a failure leaves none
    plda_chain=$(python -m pytorch.bin.config_get "exp/$sys/config.yaml" backend.chain)
    top_n=$(python -m pytorch.bin.config_get --default 300 "exp/$sys/config.yaml" backend.top_n)
    mkdir -p "$sc"
    python -m score.bin.score --method cosine --backend-dir "exp/$sys/backend/cosine" \
      --enroll "$e/enroll/spk_xvector.scp" --test "$e/test/xvector.scp" --trials data/test/trials \
      --out "$sc/test.cosine"
    python -m score.bin.norm --method asnorm --top-n "$top_n" --cohort "exp/$sys/backend/cohort.scp" \
      --backend-dir "exp/$sys/backend/cosine" --enroll "$e/enroll/spk_xvector.scp" \
      --test "$e/test/xvector.scp" --scores "$sc/test.cosine" --out "$sc/test.cosine_asnorm"
    python -m score.bin.score --method plda --backend-dir "exp/$sys/backend/plda" \
      --enroll-spk2utt data/enroll/spk2utt --enroll "$e/enroll/spk_xvector.scp" --test "$e/test/xvector.scp" \
      --trials data/test/trials --out "$sc/test.plda"
    plda_name=${plda_chain//:/}                 # mean,lda:64,lnorm,plda -> mean-lda64-lnorm-plda
    for s in "cosine cosine none" "cosine_asnorm cosine asnorm$top_n" "plda ${plda_name//,/-} none"; do
      read -r method backend norm <<< "$s"
      python -m score.bin.compute_metrics --trials data/test/trials --scores "$sc/test.$method" \
        --results "exp/$sys/results.tsv" --system "$sys" --backend "$backend" --norm "$norm" \
        --trials-name mini | sed "s/^/$sys $method: /"
    done
  done
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  # The mini corpus has no held-out dev trials to train a calibration or logistic-regression
  # fusion on, so the systems are fused by the mean of their AS-Norm scores (already on a common,
  # cohort-normalised scale). Recipes with dev trials use `score.bin.fuse --method logreg`.
  scores=() members=()
  for conf in $configs; do
    members+=("$(basename "$conf" .yaml)")
    scores+=("exp/${members[-1]}/scores/test.cosine_asnorm")
  done
  if [ ${#scores[@]} -lt 2 ]; then
    echo "stage 8: one system only, nothing to fuse"
  else
    mkdir -p "$fusion/scores"
    rm -f "$fusion/results.tsv"
    python -m score.bin.fuse --method mean --scores "${scores[@]}" --out "$fusion/scores/test.mean_asnorm"
    python -m score.bin.compute_metrics --trials data/test/trials --scores "$fusion/scores/test.mean_asnorm" \
      --results "$fusion/results.tsv" --system "$(basename "$fusion")" \
      --backend "mean($(IFS=+; echo "${members[*]}"))" \
      --norm asnorm --trials-name mini | sed "s/^/fusion: /"
  fi
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  results=("$baseline/results.tsv")
  for conf in $configs; do results+=("exp/$(basename "$conf" .yaml)/results.tsv"); done
  if [ -f "$fusion/results.tsv" ]; then results+=("$fusion/results.tsv"); fi
  title="egs/mini: data/test/trials ($(wc -l < data/test/trials) trials)"
  rm -f exp/RESULTS.md    # written last: a stage that fails leaves no results table
  python -m score.bin.results_table --title "$title" "${results[@]}" > exp/RESULTS.md.tmp
  # One DET plot per scoring method, every system on it; the baseline and the fusion on the cosine one.
  for m in cosine cosine_asnorm plda; do
    files=() labels=()
    if [ $m = cosine ]; then files+=("$baseline/scores/test.cos"); labels+=(baseline_mfcc_stats); fi
    for conf in $configs; do
      sys=$(basename "$conf" .yaml)
      files+=("exp/$sys/scores/test.$m"); labels+=("$sys")
    done
    if [ $m = cosine_asnorm ] && [ -f "$fusion/scores/test.mean_asnorm" ]; then
      files+=("$fusion/scores/test.mean_asnorm"); labels+=("$(basename "$fusion")")
    fi
    python -m score.bin.plot_det --trials data/test/trials --scores "${files[@]}" --labels "${labels[@]}" \
      --title "egs/mini: $m" --out "exp/det_$m.png"
  done
  mv exp/RESULTS.md.tmp exp/RESULTS.md
  cat exp/RESULTS.md
  echo "stage 9: exp/RESULTS.md, exp/det_{cosine,cosine_asnorm,plda}.png"
fi
