#!/usr/bin/env bash
# Feature extraction for a Kaldi data dir (Kaldi's steps/make_{fbank,mfcc}.sh behaviour), behind
# make_fbank.sh and make_mfcc.sh; spectrograms: --feat-type spectrogram here.
#   lock the data dir (a second run on it is refused), validate it, split it into nj parts, run
#   pytorch.bin.compute_feats on each through $cmd, then write <data>/feats.scp and
#   <data>/utt2num_frames only if every job succeeded and they cover 95% of the utterances.
# Source path.sh first (PATH to utils/, PYTHONPATH to the repo, the venv).
set -euo pipefail

nj=4
cmd=run.pl
feat_type=fbank
config=
compress=true
write_utt2num_frames=true

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<feat-dir>]]
 e.g.: $0 --feat-type fbank --config conf/fbank.yaml --nj 8 data/train
Options:
  --feat-type <fbank|mfcc|spectrogram>     # default: $feat_type
  --config <yaml>                          # feature config (Kaldi option names)
  --nj <n>                                 # number of parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>              # how to run jobs (default: $cmd)
  --compress <true|false>                  # Kaldi compression method 2 (default: $compress)
  --write-utt2num-frames <true|false>      # also write <data>/utt2num_frames (default: $write_utt2num_frames)
<log-dir> defaults to <data-dir>/log, <feat-dir> to <data-dir>/data."

echo "$0 $*"
. "$(dirname "$0")/parse_options.sh" || exit 1

need_args 1 3 $#
lib=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=lib/datadir.sh
. "$lib/datadir.sh"
# shellcheck source=lib/jobs.sh
. "$lib/jobs.sh"

data=$1
logdir=${2:-$data/log}
featdir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/wav.scp" "$config"; do
  [ -f "$f" ] || { echo "$0: no such file '$f'" >&2; exit 1; }
done
jobs_lock "$data"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd -P)  # the scp must work from any directory
prefix=raw_${feat_type}_$name
jobs_clean_tmp "$featdir" "$prefix"

# An old feats.scp must not survive a failed run looking complete (and must not fail the
# validation below for covering other utterances).
backup=
for f in feats.scp utt2num_frames; do
  if [ -f "$data/$f" ]; then
    backup=${backup:-$(dd_backup_dir "$data")}
    echo "$0: moving $data/$f to $backup"
    mv "$data/$f" "$backup/$f"
  fi
done
# Bad ids, order or encoding would fail jobs later, or silently drop utterances.
validate_data_dir.sh --no-feats --no-text "$data"

if [ -f "$data/segments" ]; then
  num_utts=$(wc -l < "$data/segments")
  echo "$0: [info]: segments file exists: using that."
else
  num_utts=$(wc -l < "$data/wav.scp")
fi

log=$logdir/make_${feat_type}_$name.JOB.log
jobs_run "$data" "$nj" "$cmd" "$log" "computing $feat_type features for $data" \
  python -m pytorch.bin.compute_feats --feat-type "$feat_type" --config "$config" \
    --compress "$compress" --write-utt2num-frames "$write_utt2num_frames" \
    "$data/split$nj/JOB" "$featdir/$prefix.JOB.ark" "$featdir/$prefix.JOB.scp"

# Check the merged lists before they get their final names: feats.scp is the done marker.
outs=("$data/feats.scp")
jobs_merge "$nj" "$featdir/$prefix.JOB.scp" "$data/feats.scp"
if [ "$write_utt2num_frames" = true ]; then
  outs+=("$data/utt2num_frames")
  jobs_merge "$nj" "$featdir/$prefix.JOB.utt2num_frames" "$data/utt2num_frames"
fi
num_feats=$(wc -l < "$(jobs_tmp "$data/feats.scp")")
if [ "$num_feats" -ne "$num_utts" ]; then
  echo "$0: it seems not all of the feature files were successfully processed" \
       "($num_feats != $num_utts); consider using utils/fix_data_dir.sh $data" >&2
fi
if [ "$num_feats" -lt $((num_utts - num_utts / 20)) ]; then
  for f in "${outs[@]}"; do jobs_discard "$f"; done
  echo "$0: less than 95% of the features were successfully generated; probably a serious error." >&2
  exit 1
fi
for f in "${outs[@]}"; do jobs_install "$f"; done
echo "$0: succeeded creating $feat_type features for $name"
