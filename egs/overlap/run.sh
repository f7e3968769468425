#!/usr/bin/env bash
# Overlapped speech: MIRNet (Han, Chung & Kang) extracts one speaker embedding per talker from a
# single two-speaker mixture, trained with speaker labels only through a permutation-invariant
# cross-entropy; a single-speaker ResNet-18 (TAP) trained on clean speech is the baseline. Both are
# scored with the MIRNet paper's protocol: for each anchor mixture A+B, a positive A'+C and a
# negative C'+D, d = min_{i,j} ||I_i - I_j||, EER over (d_p, d_n), for speakers seen in training
# (held-out utterances) and unseen speakers. Training mixes new random pairs every epoch
# (data.mode: mixture); the test lists are fixed, seeded mixture data dirs (local/overlap).
# By default the source speech is the synthetic mini corpus (generated here as egs/mini does, or
# --corpus pointing to one already generated); with --librispeech-root it is LibriSpeech
# (train-clean-100 for training and seen speakers, test-clean for unseen), for a GPU
# (--mirnet-config conf/mirnet.yaml --baseline-config conf/resnet18_tap.yaml).
. ./path.sh; . ./cmd.sh

corpus=corpus                   # the synthetic corpus (generated when $corpus/.done is missing)
seed=7
# corpus size when generated here: few training speakers with many utterances each, so that a mini
# training gives each speaker many steps (README.md, "This toolkit's figures")
num_train_spk=30
num_eval_spk=20
utts_per_spk=30
gen_opts="--num-mix-train 0 --num-mix-test 0 --augsets false --spoof-per-attack 0"   # more generate.py options
librispeech_root=${LIBRISPEECH_ROOT:-}   # <root>/LibriSpeech; set it to use LibriSpeech instead
train_subset=train-clean-100
unseen_subset=test-clean
nj=2
stage=0
stop_stage=100
heldout_per_spk=4               # utterances of each training speaker kept for the seen-speaker test
triplets=200                    # anchor/positive/negative triplets per scenario (the paper: 200)
seg_dur=2.0                     # seconds per mixture segment (the paper: 3.0)
sir_db=0                        # mixing ratio (dB)
mix_seed=11
mirnet_config=conf/mirnet_mini.yaml
baseline_config=conf/resnet_tap_mini.yaml
train_threads=1                 # torch threads per training job; the two systems train side by side
mirnet_init=true                # MIRNet's ResNet starts from the trained baseline (train.init; the baseline
                                # then trains first, each job on 2 x train_threads threads on CPU)
gpus=0                          # 0: CPU; 1: one GPU; n > 1: DDP (utils/stages/train.sh)
sep_config=conf/voicefilter_mini.yaml   # VoiceFilter sizes (conf/voicefilter.yaml: the paper's); exp/<stem>_<cond>
sep_conditionings="enroll mixture none"  # (a) clean enrollment (baseline), (b) MIRNet from the mixture, (c) uPIT
sep_train_pairs=2000            # fixed training mixtures of the separators (data/train speakers; 200 overfit)
sep_test_pairs=40               # test mixtures of unseen speakers (their held-out utterances)
sep_src_per_spk=3               # utterances of each unseen speaker mixed for the test; the rest enroll
sep_pesq=true                   # wide-band PESQ as well as SDR (slow: about 1 s per mixture)
sep_train_opts=                 # more train_separator options, e.g. "--set train.epochs=2"

help_message="Usage: $0 [options]
Stages (--stage N --stop-stage M):
  0  source data dirs (the synthetic corpus, or LibriSpeech) and the held-out split:
     data/train (training), data/seen_src (held-out utterances of training speakers), data/unseen_src
  1  features: utt2dur (the spectra are computed on the fly, data.mode: mixture / wave)
  2  fixed mixture lists with trials: data/mix_seen, data/mix_unseen (\$triplets triplets each);
     data/mix_dev (random pairs); data/mix_test (mix_seen and mix_unseen in one dir, for extraction)
  3  train the single-speaker baseline (\$baseline_config) and MIRNet (\$mirnet_config), its ResNet
     initialised from the baseline's (--mirnet-init true) or from scratch side by side (false)
  4  average the last checkpoints
  5  embeddings of every test mixture (data/mix_test; MIRNet: two per mixture), protocol scores and EER
     (exp/<sys>/results.tsv), PCA plot exp/<sys>/pca_mix_test.png
  6  separation data: data/mix_sep_train (\$sep_train_pairs from data/train), data/sep_enroll and
     data/mix_sep_test (\$sep_test_pairs mixtures of held-out utterances of unseen speakers); the baseline's
     embeddings of data/train and data/sep_enroll, MIRNet's of both mixture sets
  7  train a VoiceFilter per conditioning in \$sep_conditionings (exp/<sep_config stem>_<cond>)
  8  separate data/mix_sep_test; SDRi, PESQi; the baseline's verification EER on the separated outputs
     and on the unprocessed mixtures (exp/separation/{summary,results}.tsv)
  9  exp/RESULTS.md
Options:
  --stage <n> --stop-stage <n>    # default: $stage $stop_stage
  --corpus <dir>                  # synthetic corpus (default: $corpus)
  --librispeech-root <dir>        # use LibriSpeech (<dir>/$train_subset, <dir>/$unseen_subset)
  --triplets <n> --seg-dur <s> --sir-db <dB>
  --mirnet-config <yaml> --baseline-config <yaml> --mirnet-init <true|false> --gpus <n>
  --sep-config <yaml> --sep-conditionings \"<enroll mixture none>\" --sep-train-pairs <n> --sep-test-pairs <n>
  --sep-pesq <true|false> --sep-train-opts \"<opts>\""

. utils/parse_options.sh
set -euo pipefail
. utils/lib/recipe.sh    # up_to_date <output> <input>...
systems="$mirnet_config $baseline_config"

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  if [ -n "$librispeech_root" ]; then
    [ -s data/src_train/utt2spk ] || "$ROOT/local/librispeech/prepare_data.sh" "$librispeech_root/$train_subset" data/src_train
    [ -s data/unseen_src/utt2spk ] || "$ROOT/local/librispeech/prepare_data.sh" "$librispeech_root/$unseen_subset" data/unseen_src
  else
    # A finished corpus (e.g. --corpus ../mini/corpus) is used as it is, whatever its options.
    if [ ! -f "$corpus/.done" ]; then
      # shellcheck disable=SC2086   # $gen_opts is a list of options
      python "$ROOT/local/synthetic/generate.py" --out "$corpus" --seed "$seed" --nj "$nj" \
        --num-train-spk "$num_train_spk" --num-eval-spk "$num_eval_spk" --utts-per-spk "$utts_per_spk" $gen_opts
    fi
    if ! up_to_date data/corpus/.prepared "$corpus/.done"; then
      rm -rf data/corpus
      "$ROOT/local/synthetic/prepare_data.sh" "$corpus" data/corpus
      touch data/corpus/.prepared
    fi
    # remade from a newly prepared corpus (a stale copy would keep the old corpus's speakers)
    if ! up_to_date data/src_train/utt2spk data/corpus/.prepared; then
      rm -rf data/src_train data/unseen_src
      utils/copy_data_dir.sh data/corpus/train data/src_train
      utils/combine_data.sh data/unseen_src data/corpus/enroll data/corpus/test
    fi
  fi
  # remade when the sources or the split's options changed (data/lists/heldout.opts, written last)
  split_opts="--per-spk $heldout_per_spk --seed $mix_seed"
  if ! up_to_date data/seen_src/utt2spk data/src_train/utt2spk || \
      [ "$(cat data/lists/heldout.opts 2>/dev/null)" != "$split_opts" ]; then
    rm -rf data/train data/seen_src data/lists/heldout.opts
    # shellcheck disable=SC2086   # $split_opts is a list of options
    python -m local.overlap.make_mixtures heldout $split_opts data/src_train data/lists/train data/lists/seen
    utils/subset_data_dir.sh --utt-list data/lists/train data/src_train data/train
    utils/subset_data_dir.sh --utt-list data/lists/seen data/src_train data/seen_src
    echo "$split_opts" > data/lists/heldout.opts
  fi
  echo "stage 0: data/train $(wc -l < data/train/utt2spk) utts, data/seen_src $(wc -l < data/seen_src/utt2spk), data/unseen_src $(wc -l < data/unseen_src/utt2spk)"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  for set in train seen_src unseen_src; do
    [ -s "data/$set/utt2dur" ] || utils/get_utt2dur.sh --nj "$nj" --cmd "$cmd" "data/$set"
  done
  echo "stage 1: utt2dur in data/{train,seen_src,unseen_src}"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for s in "seen seen_src" "unseen unseen_src"; do
    read -r name src <<< "$s"
    # remade when the sources changed or another number of triplets is asked for (2 trials each)
    up_to_date "data/mix_$name/trials" "data/$src/utt2spk" \
      && [ "$(wc -l < "data/mix_$name/trials")" -eq $((2 * triplets)) ] && continue
    python -m local.overlap.make_mixtures mix --triplets "$triplets" --seg-dur "$seg_dur" --sir-db "$sir_db" \
      --seed "$mix_seed" --prefix "$name" "data/$src" "data/wav/mix_$name" "data/mix_$name"
    utils/validate_data_dir.sh --no-feats --no-text "data/mix_$name"
  done
  if ! up_to_date data/mix_dev/utt2spks data/seen_src/utt2spk; then
    python -m local.overlap.make_mixtures mix --pairs "$triplets" --seg-dur "$seg_dur" --sir-db "$sir_db" \
      --seed "$((mix_seed + 1))" --prefix dev data/seen_src data/wav/mix_dev data/mix_dev
    utils/validate_data_dir.sh --no-feats --no-text data/mix_dev
  fi
  # one data dir of all test mixtures, so that each system extracts them in one job (ids: seen-*, unseen-*)
  if ! up_to_date data/mix_test/utt2spks data/mix_seen/trials data/mix_unseen/trials; then
    rm -rf data/mix_test
    utils/combine_data.sh data/mix_test data/mix_seen data/mix_unseen
  fi
  echo "stage 2: data/mix_{seen,unseen} ($(wc -l < data/mix_seen/trials) trials each) in data/mix_test, data/mix_dev"
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  if $mirnet_init; then
    # one after the other: MIRNet's ResNet is initialised from the baseline's averaged model
    threads=$train_threads; [ "$gpus" -gt 0 ] || threads=$((2 * train_threads))
    utils/stages/train.sh --cmd "$train_cmd" --gpus "$gpus" --threads "$threads" "$baseline_config"
    utils/stages/train.sh --cmd "$train_cmd" --gpus "$gpus" --threads "$threads" --train-opts \
      "--set train.init.checkpoint=exp/$(basename "$baseline_config" .yaml)/models/avg.pt --set train.init.prefix=backbone." \
      "$mirnet_config"
  else
    # shellcheck disable=SC2086   # $systems is a list of configs
    utils/stages/train.sh --cmd "$train_cmd" --gpus "$gpus" --threads "$train_threads" $systems
  fi
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for conf in $systems; do
    sys=$(basename "$conf" .yaml)
    up_to_date "exp/$sys/models/avg.pt" "exp/$sys"/models/epoch_*.pt || python -m pytorch.bin.average --exp "exp/$sys"
  done
  echo "stage 4: exp/<sys>/models/avg.pt"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  exps=()
  for conf in $systems; do exps+=("exp/$(basename "$conf" .yaml)"); done
  utils/stages/extract.sh --nj "$nj" --cmd "$cmd" --sets mix_test "${exps[@]}"
  for conf in $systems; do
    sys=$(basename "$conf" .yaml)
    emb=exp/$sys/embeddings/mix_test/xvector.scp
    # results.tsv is the stage's done marker: a rerun with the same embeddings and trials skips the scoring
    up_to_date "exp/$sys/results.tsv" "$emb" data/mix_seen/trials data/mix_unseen/trials && continue
    rm -f "exp/$sys/results.tsv" "exp/$sys/results.tsv.tmp"    # it goes first, so a failure leaves none
    mkdir -p "exp/$sys/scores"
    # MIRNet rows hold num_identities embeddings; a single-speaker model's one
    k=$(python -m pytorch.bin.config_get --default 1 "exp/$sys/config.yaml" model.num_identities)
    python -m score.bin.plot_overlap --embeddings "$emb" --utt2spks data/mix_test/utt2spks \
      --identities "$k" --title "$sys, mix_test (seen and unseen speakers)" --out "exp/$sys/pca_mix_test.png"
    for set in seen unseen; do
      python -m score.bin.score_overlap --embeddings "$emb" --trials "data/mix_$set/trials" \
        --identities "$k" --out "exp/$sys/scores/mix_$set"
      python -m score.bin.compute_metrics --trials "data/mix_$set/trials" --scores "exp/$sys/scores/mix_$set" \
        --results "exp/$sys/results.tsv.tmp" --system "$sys" --backend min-euclidean --norm none \
        --trials-name "$set" | sed "s/^/$sys $set: /"
    done
    mv "exp/$sys/results.tsv.tmp" "exp/$sys/results.tsv"
  done
fi

# Stages 6-8: speaker-conditioned separation (VoiceFilter) with the three conditionings of the MIRNet
# paper's Table 2. The test mixtures are of unseen speakers, from utterances held out of their enrollment.

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  base=exp/$(basename "$baseline_config" .yaml)
  mir=exp/$(basename "$mirnet_config" .yaml)
  if ! up_to_date data/sep_src/utt2spk data/unseen_src/utt2spk; then
    rm -rf data/sep_enroll data/sep_src
    python -m local.overlap.make_mixtures heldout --per-spk "$sep_src_per_spk" --seed "$mix_seed" \
      data/unseen_src data/lists/sep_enroll data/lists/sep_src
    utils/subset_data_dir.sh --utt-list data/lists/sep_enroll data/unseen_src data/sep_enroll
    utils/subset_data_dir.sh --utt-list data/lists/sep_src data/unseen_src data/sep_src
  fi
  for s in "mix_sep_test sep_src $sep_test_pairs 2" "mix_sep_train train $sep_train_pairs 3"; do
    read -r name src pairs off <<< "$s"
    # remade when the sources changed or another number of mixtures is asked for
    up_to_date "data/$name/utt2sources" "data/$src/utt2spk" && [ "$(wc -l < "data/$name/wav.scp")" -eq "$pairs" ] \
      && continue
    python -m local.overlap.make_mixtures mix --pairs "$pairs" --seg-dur "$seg_dur" --sir-db "$sir_db" \
      --seed "$((mix_seed + off))" --prefix "${name#mix_}" "data/$src" "data/wav/$name" "data/$name"
  done
  # the baseline's embeddings of clean speech (enrollment), MIRNet's of the mixtures ([I1, I2] per row)
  for s in "$base train" "$base sep_enroll" "$mir mix_sep_train" "$mir mix_sep_test"; do
    read -r e set <<< "$s"
    up_to_date "$e/embeddings/$set/xvector.scp" "$e/models/avg.pt" "data/$set/utt2spk" || \
      utils/extract_embeddings.sh --nj "$nj" --cmd "$cmd" "$e" "data/$set" "$e/embeddings/$set"
  done
  echo "stage 6: data/mix_sep_train $(wc -l < data/mix_sep_train/wav.scp), data/mix_sep_test" \
    "$(wc -l < data/mix_sep_test/wav.scp) mixtures, data/sep_enroll $(wc -l < data/sep_enroll/spk2utt) speakers"
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  base=exp/$(basename "$baseline_config" .yaml)
  mir=exp/$(basename "$mirnet_config" .yaml)
  pids=()
  for c in $sep_conditionings; do
    x=exp/$(basename "$sep_config" .yaml)_$c
    case $c in
      enroll) emb=(--embeddings "$base/embeddings/train/xvector.scp" --enroll-utt2spk data/train/utt2spk) ;;
      mixture) emb=(--embeddings "$mir/embeddings/mix_sep_train/xvector.scp") ;;
      none) emb=() ;;
      *) echo "$0: unknown conditioning $c (enroll, mixture or none)" >&2; exit 1 ;;
    esac
    mkdir -p "$x/log"
    echo "stage 7: training $x (log: $x/log/train_job.log)"
    # shellcheck disable=SC2086   # $sep_train_opts is a list of options
    OMP_NUM_THREADS=$train_threads $train_cmd "$x/log/train_job.log" \
      python -m pytorch.bin.train_separator --config "$sep_config" --conditioning "$c" --data data/mix_sep_train \
        "${emb[@]}" --exp "$x" --set "train.num_threads=$train_threads" $sep_train_opts &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed -eq 0 ] || { echo "$0: separator training failed; see exp/*/log/train_job.log" >&2; exit 1; }
fi

if [ "$stage" -le 8 ] && [ "$stop_stage" -ge 8 ]; then
  base=exp/$(basename "$baseline_config" .yaml)
  mir=exp/$(basename "$mirnet_config" .yaml)
  out=exp/separation
  rm -f "$out/summary.tsv" "$out/results.tsv"    # the stage's results go first, so a failure leaves none
  mkdir -p "$out/scores"
  enroll=$base/embeddings/sep_enroll/spk_xvector.scp
  for c in $sep_conditionings; do
    sys=$(basename "$sep_config" .yaml)_$c
    x=exp/$sys
    case $c in
      enroll) emb=(--embeddings "$enroll") ; permute=false ;;   # output k is conditioned on speaker k
      mixture) emb=(--embeddings "$mir/embeddings/mix_sep_test/xvector.scp") ; permute=true ;;
      *) emb=() ; permute=true ;;
    esac
    python -m pytorch.bin.separate --model "$x" --data data/mix_sep_test "${emb[@]}" --out "$x/sep_test" \
      --num-threads "$train_threads"
    python -m score.bin.separation_metrics --data data/mix_sep_test --sep "$x/sep_test" --permute "$permute" \
      --pesq "$sep_pesq" --out "$x/separation_sep_test.tsv" --summary "$out/summary.tsv" --system "$sys" \
      --speakers data/sep_enroll/spk2utt --trials-out "$x/sep_test.trials" --mix-trials-out "$out/mix_sep_test.trials"
    # the target speaker's verification after separation: the baseline's embeddings of the outputs
    utils/extract_embeddings.sh --nj "$nj" --cmd "$cmd" "$base" "$x/sep_test" "$x/embeddings/sep_test"
    python -m score.bin.score --method cosine --enroll "$enroll" --test "$x/embeddings/sep_test/xvector.scp" \
      --trials "$x/sep_test.trials" --out "$out/scores/$sys"
    python -m score.bin.compute_metrics --trials "$x/sep_test.trials" --scores "$out/scores/$sys" \
      --results "$out/results.tsv" --system "$sys" --backend cosine --trials-name sep_test | sed "s/^/$sys: /"
  done
  up_to_date "$base/embeddings/mix_sep_test/xvector.scp" "$base/models/avg.pt" data/mix_sep_test/utt2spk || \
    utils/extract_embeddings.sh --nj "$nj" --cmd "$cmd" "$base" data/mix_sep_test "$base/embeddings/mix_sep_test"
  python -m score.bin.score --method cosine --enroll "$enroll" --test "$base/embeddings/mix_sep_test/xvector.scp" \
    --trials "$out/mix_sep_test.trials" --out "$out/scores/unprocessed"
  python -m score.bin.compute_metrics --trials "$out/mix_sep_test.trials" --scores "$out/scores/unprocessed" \
    --results "$out/results.tsv" --system unprocessed --backend cosine --trials-name sep_test | sed "s/^/unprocessed: /"
  python -m score.bin.separation_table --summary "$out/summary.tsv" --results "$out/results.tsv"
fi

if [ "$stage" -le 9 ] && [ "$stop_stage" -ge 9 ]; then
  results=()
  for conf in $systems; do results+=("exp/$(basename "$conf" .yaml)/results.tsv"); done
  rm -f exp/RESULTS.md    # written last: a stage that fails leaves no results table
  python -m score.bin.results_table --cell "{eer}%" \
    --title "egs/overlap: protocol EER on data/mix_{seen,unseen} ($(wc -l < data/mix_seen/trials) trials each)" \
    "${results[@]}" > exp/RESULTS.md.tmp
  if [ -s exp/separation/results.tsv ]; then    # stages 6-8 ran
    echo >> exp/RESULTS.md.tmp
    python -m score.bin.separation_table --summary exp/separation/summary.tsv --results exp/separation/results.tsv \
      --title "Separation: data/mix_sep_test ($(wc -l < data/mix_sep_test/wav.scp) mixtures of unseen speakers)" \
      >> exp/RESULTS.md.tmp
  fi
  mv exp/RESULTS.md.tmp exp/RESULTS.md
  cat exp/RESULTS.md
fi
