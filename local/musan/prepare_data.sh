#!/usr/bin/env bash
# MUSAN (OpenSLR 17) -> Kaldi data dirs for augmentation, as Kaldi's steps/data/make_musan.sh does:
#   <data>/musan_noise   every noise/*/*.wav
#   <data>/musan_music   music/*/*.wav listed in that source's ANNOTATIONS (vocals Y dropped
#                        with --use-vocals false); unlisted music is skipped, as in Kaldi
#   <data>/musan_speech  every speech/*/*.wav (summed 3-7 at a time as babble by the augmenter)
# Each dir gets wav.scp, utt2spk, spk2utt (utterance = speaker = file name without .wav) and
# utt2dur. Ids are the MUSAN file names (noise-free-sound-0000, music-fma-wa-0000, ...), so the
# type is also the first word of every id. Dirs are built under temp names and renamed when done.
# Run with path.sh sourced (durations use python -m pytorch.bin.get_utt2dur).
set -euo pipefail
export LC_ALL=C

use_vocals=true
sampling_rate=16000

help_message="Usage: $0 [options] <musan-root> <data-dir>
 e.g.: $0 /export/corpora/musan data
Options:
  --use-vocals <true|false>    # keep music with vocals (ANNOTATIONS column 3 = Y) (default: $use_vocals)
  --sampling-rate <hz>         # MUSAN is 16 kHz; other rates resample with a sox pipe (default: $sampling_rate)"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

root=$1
data=$2
case $use_vocals in true|false) ;; *) echo "$0: --use-vocals must be true or false" >&2; exit 1 ;; esac
for sub in music noise speech; do
  [ -d "$root/$sub" ] || { echo "$0: $root/$sub not found; <musan-root> must hold music/ noise/ speech/" >&2; exit 1; }
done
root=$(cd "$root" && pwd -P)
mkdir -p "$data"
tmp=$(mktemp -d "$data/.musan.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# id<TAB>path of every wav of one type, sorted; duplicate ids are an error (ids must be unique).
list_wavs() {
  find "$root/$1" -name '*.wav' -type f | awk -v t="$1" '{
      n = split($0, p, "/"); id = p[n]; sub(/\.wav$/, "", id)
      if (id in seen) { printf "duplicate MUSAN id %s: %s and %s\n", id, seen[id], $0 > "/dev/stderr"; bad = 1 }
      seen[id] = $0; print id "\t" $0 }
    END { exit bad }' | sort -k1,1
}

write_dir() {  # <name> <id-TAB-path list>
  local dir=$tmp/$1 list=$2
  mkdir -p "$dir"
  if [ ! -s "$list" ]; then
    echo "$0: no files for $1 under $root" >&2
    exit 1
  fi
  # Durations come from the file headers (resampling does not change them).
  awk -F'\t' '{print $1, $2}' "$list" > "$dir/wav.scp"
  python -m pytorch.bin.get_utt2dur "$dir"
  if [ "$sampling_rate" != 16000 ]; then
    awk -F'\t' -v sr="$sampling_rate" '{print $1, "sox -t wav " $2 " -r " sr " -t wav - |"}' "$list" > "$dir/wav.scp"
  fi
  awk -F'\t' '{print $1, $1}' "$list" > "$dir/utt2spk"
  cp "$dir/utt2spk" "$dir/spk2utt"
}

list_wavs noise > "$tmp/noise.list"
list_wavs speech > "$tmp/speech.list"
list_wavs music > "$tmp/music.all"
# ANNOTATIONS: <utt> <genres> <Y|N vocals> <artist>; keep listed music, without vocals unless asked.
find "$root/music" -name ANNOTATIONS -type f -exec cat {} + |
  awk -v vocals="$use_vocals" 'NF >= 3 && (vocals == "true" || $3 != "Y") {print $1}' | sort -u > "$tmp/music.keep"
join -t "$(printf '\t')" "$tmp/music.all" "$tmp/music.keep" > "$tmp/music.list"
nall=$(wc -l < "$tmp/music.all")
nkeep=$(wc -l < "$tmp/music.list")
[ "$nkeep" -eq "$nall" ] || echo "$0: kept $nkeep of $nall music files (ANNOTATIONS, --use-vocals $use_vocals)"

for type in noise music speech; do
  write_dir "musan_$type" "$tmp/$type.list"
done
for type in noise music speech; do
  if [ -x "$(dirname "$0")/../../utils/validate_data_dir.sh" ]; then
    "$(dirname "$0")/../../utils/validate_data_dir.sh" --no-feats --no-text "$tmp/musan_$type"
  fi
  rm -rf "${data:?}/musan_$type"
  mv "$tmp/musan_$type" "$data/musan_$type"
  echo "$0: $data/musan_$type: $(wc -l < "$data/musan_$type/wav.scp") files"
done
