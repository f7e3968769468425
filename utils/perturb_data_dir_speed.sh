#!/usr/bin/env bash
# Kaldi utils/perturb_data_dir_speed.sh: a speed-perturbed copy of a data dir.
# Utterance and speaker ids get the prefix sp<factor>- (a perturbed speaker is a new speaker,
# as in the CNSRC 2022 systems), and so do recording ids when segments exist. wav.scp entries
# become pipes through sox: a file path p gives "sox [-t wav] p -t wav - speed <factor> |"
# (-t wav only for .wav paths, so flac etc. are read by their extension); a command ending in
# "|" gets " sox -t wav - -t wav - speed <factor> |" appended. Segment times, utt2dur and reco2dur
# are divided by the factor. feats.scp, vad.scp, utt2num_frames and cmvn.scp are dropped (they
# must be recomputed); other per-utterance files (text, utt2genre, utt2spks ...) keep their
# values under the new ids (utt2spks values, being speakers, get the prefix too).
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 <factor> <src-dir> <dest-dir>
 e.g.: $0 0.9 data/train data/train_sp0.9"
if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then echo "$usage"; exit 0; fi
if [ $# -ne 3 ]; then echo "$usage" >&2; exit 1; fi
factor=$1; src=${2%/}; dest=${3%/}
if ! [[ $factor =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v f="$factor" 'BEGIN { exit !(f > 0) }'; then
  dd_die "<factor> must be a positive number, got '$factor'"
fi
[ -f "$src/utt2spk" ] || dd_die "no such file $src/utt2spk"
[ -f "$src/wav.scp" ] || dd_die "no such file $src/wav.scp"
[ "$(readlink -f "$src")" != "$(readlink -m "$dest")" ] || dd_die "<src-dir> and <dest-dir> are the same: $src"
p=sp$factor-

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in $(dd_utt_files "$src") $(dd_spk_files "$src") $(dd_reco_files "$src"); do
  case "$f" in feats.scp|vad.scp|utt2num_frames|cmvn.scp) continue ;; esac
  case "$f" in
    utt2spk|utt2spks) dd_rename "$src/$f" "$p" "" "$p" "" ;;
    segments)
      awk -v p="$p" -v f="$factor" '{ printf "%s%s %s%s %.4f %.4f\n", p, $1, p, $2, $3 / f, $4 / f }' "$src/$f" ;;
    utt2dur|reco2dur)
      awk -v p="$p" -v f="$factor" '{ printf "%s%s %.4f\n", p, $1, $2 / f }' "$src/$f" ;;
    wav.scp)
      awk -v p="$p" -v f="$factor" '{
        match($0, /^[^ \t]+[ \t]+/); key = $1; rest = substr($0, RLENGTH + 1)
        if (rest ~ /\|[ \t]*$/) print p key " " rest " sox -t wav - -t wav - speed " f " |"
        else print p key " sox " (rest ~ /\.[wW][aA][vV]$/ ? "-t wav " : "") rest " -t wav - speed " f " |"
      }' "$src/$f" ;;
    *) dd_rename "$src/$f" "$p" "" ;;
  esac | sort -k1,1 > "$tmp/$f"
done
if [ -f "$src/frame_shift" ]; then cp "$src/frame_shift" "$tmp/"; fi
dd_spk2utt "$tmp/utt2spk" > "$tmp/spk2utt"
dd_install "$tmp" "$dest"
echo "$0: generated speed-perturbed version ($factor) of $src in $dest"
