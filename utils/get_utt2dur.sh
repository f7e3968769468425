#!/usr/bin/env bash
# Kaldi utils/data/get_utt2dur.sh: write <data>/utt2dur (seconds per utterance).
# From segments when they exist; else from the audio headers (file paths) or, for wav.scp
# lines that are commands, by running them (split over --nj jobs through $cmd).
set -euo pipefail

nj=4
cmd=run.pl

help_message="Usage: $0 [options] <data-dir>
 e.g.: $0 --nj 8 data/train
Options:
  --nj <n>                         # jobs when wav.scp has commands (default: $nj)
  --cmd <run.pl|slurm.pl ...>      # default: $cmd"

. "$(dirname "$0")/parse_options.sh" || exit 1
need_args 1 1 $#

data=$1
[ -f "$data/wav.scp" ] || { echo "$0: no such file $data/wav.scp" >&2; exit 1; }
if [ -s "$data/utt2dur" ] && [ -f "$data/utt2spk" ] && \
   [ "$(wc -l < "$data/utt2dur")" -eq "$(wc -l < "$data/utt2spk")" ]; then
  echo "$0: $data/utt2dur already exists with the expected number of lines"
  exit 0
fi

if [ -f "$data/segments" ] || ! grep -q '|[[:space:]]*$' "$data/wav.scp" || [ "$nj" -le 1 ]; then
  python -m pytorch.bin.get_utt2dur "$data"
else
  # Pipes must be run to learn their length: spread them over jobs.
  split_data.sh "$data" "$nj"
  sdata=$data/split$nj
  mkdir -p "$data/log"
  if ! $cmd JOB=1:"$nj" "$data/log/get_utt2dur.JOB.log" \
      python -m pytorch.bin.get_utt2dur --out "$sdata/JOB/utt2dur" "$sdata/JOB"; then
    echo "$0: error getting durations for $data; see $data/log/get_utt2dur.*.log" >&2
    exit 1
  fi
  for n in $(seq "$nj"); do cat "$sdata/$n/utt2dur"; done | sort > "$data/.utt2dur.tmp"
  mv "$data/.utt2dur.tmp" "$data/utt2dur"
fi
echo "$0: computed $data/utt2dur"
