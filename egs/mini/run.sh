#!/usr/bin/env bash
# The mini recipe: a synthetic corpus generated on the spot (local/synthetic, numpy/scipy only) that
# runs everywhere, end to end, on 2 CPU cores. Stage 0 generates the corpus (speakers, sessions and
# genres; enroll/test trials; spoofs; mixtures; MUSAN/RIRS_NOISES-style noise sets), writes Kaldi
# data dirs, and scores a non-neural baseline (mean and std of voiced MFCC frames, whitened on the
# training set, cosine) so you can see at once how hard the corpus is. Stage 1 computes fbank
# features. Every stage skips work that is already complete, so a rerun reuses it.
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
fbank_config=conf/fbank.yaml
baseline=exp/baseline_mfcc_stats
baseline_chain=mean,whiten,lnorm
config=conf/resnet_mini.yaml  # stages 3-5 (not yet implemented)

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  generate the corpus in \$corpus, prepare data/, score the MFCC-statistics baseline ($baseline)
  1  fbank features for train, enroll and test
  2  augmentation and training lists            (not yet implemented)
  3  train                                      (not yet implemented)
  4  average and export                         (not yet implemented)
  5  extract embeddings                         (not yet implemented)
  6  back-end training                          (not yet implemented)
  7  scoring                                    (not yet implemented)
  8  calibration and fusion                     (not yet implemented)
  9  results table and plots                    (not yet implemented)
Options:
  --stage <n> --stop-stage <n>     # default: $stage $stop_stage
  --nj <n>                         # parallel jobs (default: $nj)
  --seed <n>                       # corpus seed (default: $seed)
  --num-train-spk <n> --num-eval-spk <n> --utts-per-spk <n>   # corpus size
  --gen-opts \"<opts>\"              # extra local/generate.py options"

. utils/parse_options.sh
set -euo pipefail

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  # generate.py returns at once when $corpus/.done holds the same options.
  # shellcheck disable=SC2086
  python local/generate.py --out $corpus --seed $seed --nj $nj --num-train-spk $num_train_spk \
    --num-eval-spk $num_eval_spk --utts-per-spk $utts_per_spk $gen_opts
  if [ ! -f data/.prepared ] || [ $corpus/.done -nt data/.prepared ]; then
    local/prepare_data.sh $corpus data
    touch data/.prepared
  fi

  if [ ! -f $baseline/results.tsv ] || [ data/.prepared -nt $baseline/results.tsv ]; then
    for set in train enroll test; do
      rm -rf data/${set}_mfcc
      utils/copy_data_dir.sh data/$set data/${set}_mfcc
      utils/make_mfcc.sh --nj $nj --cmd "$train_cmd" --mfcc-config $mfcc_config \
        data/${set}_mfcc exp/make_mfcc/$set mfcc
      utils/compute_vad_decision.sh --nj $nj --cmd "$train_cmd" --vad-config $vad_config \
        data/${set}_mfcc exp/make_vad/$set mfcc
      python local/stats_embedding.py --data data/${set}_mfcc --out $baseline/embeddings/$set
    done
    python -m score.bin.train_backend --chain $baseline_chain --train $baseline/embeddings/train/xvector.scp \
      --utt2spk data/train/utt2spk --out $baseline/backend
    mkdir -p $baseline/scores
    python -m score.bin.score --method cosine --backend-dir $baseline/backend \
      --enroll $baseline/embeddings/enroll/spk_xvector.scp --test $baseline/embeddings/test/xvector.scp \
      --trials data/test/trials --out $baseline/scores/test.cos
    rm -f $baseline/results.tsv
    python -m score.bin.compute_metrics --trials data/test/trials --scores $baseline/scores/test.cos \
      --results $baseline/results.tsv --system baseline_mfcc_stats --backend "${baseline_chain//,/-}-cosine" \
      --trials-name mini | tee $baseline/metrics.txt
  fi
  echo "stage 0: baseline (MFCC mean+std, cosine): $(cat $baseline/metrics.txt)"
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  for set in train enroll test; do
    # make_fbank.sh writes feats.scp only when every job succeeded; prepare_data.sh rebuilds the
    # data dir (dropping feats.scp) when the corpus changes.
    if [ ! -s data/$set/feats.scp ]; then
      utils/make_fbank.sh --nj $nj --cmd "$train_cmd" --fbank-config $fbank_config \
        data/$set exp/make_fbank/$set fbank
    fi
  done
  echo "stage 1: fbank features in data/{train,enroll,test}/feats.scp"
fi
