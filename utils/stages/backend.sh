#!/usr/bin/env bash
# Recipe stage 6: each system's back-ends, trained on the embeddings of --train-set:
#   <exp>/backend/cosine   centre on the training mean, length-normalise (cosine scoring);
#   <exp>/backend/plda     backend.plda_chain, or backend.chain when it ends in plda (e.g.
#                          mean,lda:200,lnorm,plda); none for a config with neither;
#   <exp>/backend/cohort.scp   per-speaker means of --cohort-set, for S-/AS-Norm.
# Always recomputed (cheap next to extraction). Run from a recipe dir with path.sh sourced.
set -euo pipefail

data=data
train_set=train
cohort_set=

help_message="Usage: $0 [options] <exp-dir>...
 e.g.: $0 --train-set vox2_dev exp/resnet34se
Options:
  --data <dir>          # data dirs, for <data>/<set>/utt2spk (default: $data)
  --train-set <set>     # back-end training set, extracted by stage 5 (default: $train_set)
  --cohort-set <set>    # AS-Norm cohort: the speaker means of this set (default: the training set)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"
cohort_set=${cohort_set:-$train_set}

for sys in "$@"; do
  sys=${sys%/}
  emb=$sys/embeddings/$train_set/xvector.scp
  [ -s "$emb" ] || { echo "$0: no $emb (run stage 5 with set $train_set)" >&2; exit 1; }
  cohort=(--cohort-out "$sys/backend/cohort.scp")
  [ "$cohort_set" = "$train_set" ] || cohort=()
  python -m score.bin.train_backend --chain mean,lnorm --train "$emb" --utt2spk "$data/$train_set/utt2spk" \
    --out "$sys/backend/cosine" "${cohort[@]}"
  if [ "$cohort_set" != "$train_set" ]; then
    # train_backend writes the raw speaker means of its --train set; the scratch chain is not used
    python -m score.bin.train_backend --chain mean --train "$sys/embeddings/$cohort_set/xvector.scp" \
      --utt2spk "$data/$cohort_set/utt2spk" --out "$sys/backend/cohort_chain" --cohort-out "$sys/backend/cohort.scp"
  fi
  chain=$(plda_chain "$sys")
  rm -rf "$sys/backend/plda"    # a system without a PLDA chain must not be scored with an old one
  if [ -n "$chain" ]; then
    python -m score.bin.train_backend --chain "$chain" --train "$emb" --utt2spk "$data/$train_set/utt2spk" \
      --out "$sys/backend/plda"
  fi
done
echo "stage 6: back-ends in <exp>/backend/{cosine,plda} and cohort.scp for: $*"
