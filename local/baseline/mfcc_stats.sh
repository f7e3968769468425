#!/usr/bin/env bash
# The non-neural baseline of any recipe: mean and std of the voiced MFCC frames of each utterance
# (C0 dropped; local/baseline/stats_embedding.py), a back-end chain trained on the training set
# (default: centre, whiten, length-normalise), cosine scores of the trials (<test-dir>/trials, or --trials)
# against the enrollment speakers' means (<enroll-dir>/spk2utt; --enroll-kind spk) or, for utterance trials
# as VoxCeleb's (--enroll-kind utt), against the utterances of <enroll-dir>, which may be <test-dir> itself.
# It shows how hard a corpus is before any training. MFCCs and VAD go into copies <dir>_mfcc of the data
# dirs (arks in --mfcc-dir), once per dir.
# Writes <exp-dir>/{embeddings/<set>,backend,scores/<trials-name>.cos,results.tsv,metrics.txt}, with
# results.tsv last (the done marker); returns at once when results.tsv is newer than the inputs.
# Run from a recipe dir with path.sh sourced (PYTHONPATH=$ROOT).
set -euo pipefail

nj=4
cmd="run.pl"
mfcc_config=conf/mfcc.yaml
vad_config=conf/vad.yaml
mfcc_dir=mfcc
chain=mean,whiten,lnorm
enroll_kind=spk
trials=
trials_name="test"
system=

help_message="Usage: $0 [options] <train-dir> <enroll-dir> <test-dir> <exp-dir>
 e.g.: $0 --nj 2 --trials-name mini data/train data/enroll data/test exp/baseline_mfcc_stats
       $0 --enroll-kind utt --trials data/vox1/trials/vox1_O --trials-name vox1_O \\
          data/vox2_dev data/vox1 data/vox1 exp/baseline_mfcc_stats
Options:
  --nj <n>                       # parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>    # how to run jobs (default: $cmd)
  --mfcc-config <yaml>           # MFCCs with C0 = log energy (default: $mfcc_config)
  --vad-config <yaml>            # energy VAD on C0 (default: $vad_config)
  --mfcc-dir <dir>               # where the MFCC and VAD arks go (default: $mfcc_dir)
  --chain <steps>                # back-end chain before cosine (default: $chain)
  --enroll-kind <spk|utt>        # trials against enrollment speakers or utterances (default: $enroll_kind)
  --trials <file>                # the trial list (default: <test-dir>/trials)
  --trials-name <name>           # the trials column of results.tsv and the score file's name (default: $trials_name)
  --system <name>                # the system column of results.tsv (default: the exp-dir's name)"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 4 4 $#
utils=$(cd "$(dirname "$0")/../../utils" && pwd -P)
# shellcheck source=../../utils/lib/recipe.sh
. "$utils/lib/recipe.sh"

train=${1%/} enroll=${2%/} test=${3%/} exp=${4%/}
trials=${trials:-$test/trials}
case $enroll_kind in
  spk) enroll_scp=spk_xvector.scp ;;   # the speaker means of <enroll-dir>/spk2utt
  utt) enroll_scp=xvector.scp ;;
  *) echo "$0: --enroll-kind must be spk or utt, not '$enroll_kind'" >&2; exit 1 ;;
esac
sets=(train enroll test) enroll_side=enroll
if [ "$enroll" = "$test" ]; then sets=(train test) enroll_side=test; fi   # one dir on both sides: MFCCs once
for f in "$train/utt2spk" "$enroll/spk2utt" "$test/utt2spk" "$trials" "$mfcc_config" "$vad_config"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
inputs=("$trials" "$mfcc_config" "$vad_config")
for d in "$train" "$enroll" "$test"; do inputs+=("$d/utt2spk" "$d/spk2utt" "$d/wav.scp" "$d/segments"); done
if up_to_date "$exp/results.tsv" "${inputs[@]}"; then
  echo "$0: $exp/results.tsv is up to date"
  exit 0
fi
rm -f "$exp/results.tsv" "$exp/metrics.txt"

for set in "${sets[@]}"; do
  src=${!set}
  rm -rf "${src}_mfcc"
  "$utils/copy_data_dir.sh" "$src" "${src}_mfcc"
  "$utils/make_mfcc.sh" --nj "$nj" --cmd "$cmd" --mfcc-config "$mfcc_config" \
    "${src}_mfcc" "$exp/log/make_mfcc_$set" "$mfcc_dir"
  "$utils/compute_vad_decision.sh" --nj "$nj" --cmd "$cmd" --vad-config "$vad_config" \
    "${src}_mfcc" "$exp/log/make_vad_$set" "$mfcc_dir"
  python -m local.baseline.stats_embedding --data "${src}_mfcc" --out "$exp/embeddings/$set"
done
python -m score.bin.train_backend --chain "$chain" --train "$exp/embeddings/train/xvector.scp" \
  --utt2spk "$train/utt2spk" --out "$exp/backend"
mkdir -p "$exp/scores"
python -m score.bin.score --method cosine --backend-dir "$exp/backend" \
  --enroll "$exp/embeddings/$enroll_side/$enroll_scp" --test "$exp/embeddings/test/xvector.scp" \
  --trials "$trials" --out "$exp/scores/$trials_name.cos"
python -m score.bin.compute_metrics --trials "$trials" --scores "$exp/scores/$trials_name.cos" \
  --results "$exp/results.tsv" --system "${system:-$(basename "$exp")}" --backend "${chain//,/-}-cosine" \
  --trials-name "$trials_name" > "$exp/metrics.txt.tmp"
mv "$exp/metrics.txt.tmp" "$exp/metrics.txt"
cat "$exp/metrics.txt"
