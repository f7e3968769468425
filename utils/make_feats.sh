#!/usr/bin/env bash
# Feature extraction for a Kaldi data dir, shared by make_fbank.sh, make_mfcc.sh and
# make_spectrogram-style callers (Kaldi's steps/make_{fbank,mfcc}.sh behaviour):
#   split the data dir into nj parts, run pytorch.bin.compute_feats on each through $cmd,
#   then write <data>/feats.scp and <data>/utt2num_frames only if every job succeeded.
# Source path.sh first (PATH to utils/, PYTHONPATH to the repo, the venv).

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

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail

data=$1
logdir=${2:-$data/log}
featdir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/wav.scp" "$config"; do
  [ -f "$f" ] || { echo "$0: no such file '$f'" >&2; exit 1; }
done
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd -P)  # the scp must work from any directory

# An old feats.scp must not survive a failed run looking complete.
for f in feats.scp utt2num_frames; do
  if [ -f "$data/$f" ]; then
    mkdir -p "$data/.backup"
    echo "$0: moving $data/$f to $data/.backup"
    mv "$data/$f" "$data/.backup/$f"
  fi
done

if [ -f "$data/segments" ]; then
  num_utts=$(wc -l < "$data/segments")
  echo "$0: [info]: segments file exists: using that."
else
  num_utts=$(wc -l < "$data/wav.scp")
fi

split_data.sh "$data" "$nj"
sdata=$data/split$nj
prefix=raw_${feat_type}_$name

if ! $cmd JOB=1:"$nj" "$logdir/make_${feat_type}_$name.JOB.log" \
    python -m pytorch.bin.compute_feats --feat-type "$feat_type" --config "$config" \
      --compress "$compress" --write-utt2num-frames "$write_utt2num_frames" \
      "$sdata/JOB" "$featdir/$prefix.JOB.ark" "$featdir/$prefix.JOB.scp"; then
  echo "$0: error computing $feat_type features for $data; see $logdir/make_${feat_type}_$name.*.log" >&2
  for n in $(seq "$nj"); do
    grep -h "error" "$logdir/make_${feat_type}_$name.$n.log" 2>/dev/null | head -n 3 >&2 || true
  done
  rm -f "$data/feats.scp" "$data/utt2num_frames"
  exit 1
fi

# Concatenate through temp files so the final names appear only when complete.
for n in $(seq "$nj"); do cat "$featdir/$prefix.$n.scp"; done | sort > "$data/.feats.scp.tmp"
mv "$data/.feats.scp.tmp" "$data/feats.scp"
if [ "$write_utt2num_frames" = true ]; then
  for n in $(seq "$nj"); do cat "$featdir/$prefix.$n.utt2num_frames"; done | sort > "$data/.utt2num_frames.tmp"
  mv "$data/.utt2num_frames.tmp" "$data/utt2num_frames"
fi

num_feats=$(wc -l < "$data/feats.scp")
if [ "$num_feats" -ne "$num_utts" ]; then
  echo "$0: it seems not all of the feature files were successfully processed" \
       "($num_feats != $num_utts); consider using utils/fix_data_dir.sh $data" >&2
fi
if [ "$num_feats" -lt $((num_utts - num_utts / 20)) ]; then
  echo "$0: less than 95% of the features were successfully generated; probably a serious error." >&2
  exit 1
fi
echo "$0: succeeded creating $feat_type features for $name"
