#!/usr/bin/env bash
# Decode the piped recordings of a data dir (wav.scp lines `cmd |`, e.g. VoxCeleb2's m4a through
# ffmpeg) once into FLAC files under <audio-dir>, and write <dest-data-dir>: a copy of the data dir
# whose wav.scp reads those files. Why: a pipe runs its command at every read, and wave-mode training
# reads a crop of every utterance each epoch (an ffmpeg start per crop: BENCHMARKS.md, "Piped audio").
# Lossless (pytorch.data.decode). One job per part of the data dir through $cmd (pytorch.bin.decode_pipes);
# a rerun keeps the files already decoded by the same command, so a killed run resumes.
# <dest-data-dir> appears only when every recording is decoded, with utt2dur (from the new files when
# <src-data-dir> has none).
set -euo pipefail

nj=4
cmd=run.pl
format=flac

help_message="Usage: $0 [options] <src-data-dir> <audio-dir> <dest-data-dir>
 e.g.: $0 --nj 8 data/vox2_dev audio/vox2_dev data/vox2_dev_flac
Options:
  --nj <n>                         # parallel jobs (default: $nj)
  --cmd <run.pl|slurm.pl ...>      # how to run jobs (default: $cmd)
  --format <flac|wav>              # container of 8-24-bit PCM; other samples go to WAV (default: $format)"

echo "$0 $*"
. "$(dirname "$0")/parse_options.sh" || exit 1
need_args 3 3 $#
lib=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib
# shellcheck source=lib/jobs.sh
. "$lib/jobs.sh"

src=${1%/}
audio=${2%/}
dest=${3%/}
[ -s "$src/wav.scp" ] || { echo "$0: no such file or empty: $src/wav.scp" >&2; exit 1; }
if [ "$(readlink -f "$src")" = "$(readlink -m "$dest")" ]; then
  echo "$0: <src-data-dir> and <dest-data-dir> are the same ($src); give a new dest dir" >&2; exit 1
fi
case "$format" in flac|wav) ;; *) echo "$0: --format must be flac or wav, not '$format'" >&2; exit 1 ;; esac
jobs_lock "$src"      # the split dirs are written there
jobs_lock "$audio"    # two runs must not decode into the same files
jobs_clean_tmp "$audio" ""   # what killed jobs left: their pipe outputs and half-written files
mkdir -p "$audio/log"

jobs_run "$src" "$nj" "$cmd" "$audio/log/decode.JOB.log" "decoding the pipes of $src" \
  python -m pytorch.bin.decode_pipes --format "$format" \
    "$src/split$nj/JOB/wav.scp" "$audio" "$audio/log/wav.JOB.scp"

# The new data dir is built beside <dest>, checked and renamed: it never exists half-written.
mkdir -p "$(dirname "$dest")"
tmp=$(dirname "$dest")/.$(basename "$dest").tmp.$$
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp"
for f in "$src"/*; do
  if [ -f "$f" ] && [ "$(basename "$f")" != wav.scp ]; then cp -p "$f" "$tmp/"; fi
done
# With segments, two parts can hold the same recording: keep one line per recording.
for n in $(seq "$nj"); do cat "$audio/log/wav.$n.scp"; done | LC_ALL=C sort -u > "$tmp/wav.scp"
have=$(wc -l < "$tmp/wav.scp")
want=$(wc -l < "$src/wav.scp")
if [ "$have" -ne "$want" ]; then
  echo "$0: error: the jobs wrote $have recordings, $src/wav.scp has $want; see $audio/log/decode.*.log" >&2
  exit 1
fi
# Durations now come from the files' headers in moments; without utt2dur every training run would
# read them again (and from the pipes, run every command once more).
if [ ! -s "$tmp/utt2dur" ]; then python -m pytorch.bin.get_utt2dur "$tmp"; fi
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "$0: decoded the piped recordings of $src into $audio; $dest reads them"
