#!/usr/bin/env bash
# Kaldi utils/split_data.sh: split a data dir into <data>/split<N>/{1..N}, each a valid data dir
# (utt2spk, spk2utt, wav.scp/segments, feats.scp, vad.scp, utt2* ... filtered to its utterances).
#   default / --per-utt: contiguous blocks of utterances, sizes differing by at most one;
#   --per-spk:           contiguous blocks of whole speakers, balanced by utterance count.
# (Kaldi splits per speaker by default and uses split<N>utt for --per-utt; here both modes use
# split<N>, and the mode is recorded in split<N>/.mode so a split of the other mode is redone.)
# An existing split is reused when it has the same mode and every part-1 file is at least as
# new as its source file (Kaldi behaviour); otherwise it is rebuilt in a temp dir and swapped in.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 [--per-spk|--per-utt] <data-dir> <num-to-split>
 e.g.: $0 --per-spk data/train 8   (writes data/train/split8/{1..8})"

mode=per-utt
while [ $# -gt 0 ]; do
  case "$1" in
    --per-spk) mode=per-spk; shift ;;
    --per-utt) mode=per-utt; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then echo "$usage" >&2; exit 1; fi
data=${1%/}
nj=$2
[[ $nj =~ ^[1-9][0-9]*$ ]] || dd_die "<num-to-split> must be a positive integer, got '$nj'"
[ -s "$data/utt2spk" ] || dd_die "no such file or empty: $data/utt2spk"
dd_is_sorted "$data/utt2spk" || dd_die "$data/utt2spk is not sorted or has duplicate keys; run utils/fix_data_dir.sh $data"

dest=$data/split$nj

need_split() {
  local n f
  [ "$(cat "$dest/.mode" 2>/dev/null || true)" = "$mode" ] || return 0
  for n in $(seq "$nj"); do [ -s "$dest/$n/utt2spk" ] || return 0; done
  [ ! -d "$dest/$((nj + 1))" ] || return 0
  for f in $(dd_utt_files "$data") $(dd_spk_files "$data") $(dd_reco_files "$data"); do
    if [ ! -f "$dest/1/$f" ] || [ "$dest/1/$f" -ot "$data/$f" ]; then return 0; fi
  done
  # A file deleted from the source (e.g. an old feats.scp) must not survive in the parts.
  for f in $(dd_utt_files "$dest/1") $(dd_spk_files "$dest/1") $(dd_reco_files "$dest/1"); do
    [ -f "$data/$f" ] || return 0
  done
  return 1
}

if ! need_split; then
  echo "$0: $dest is up to date ($mode); not re-splitting"
  exit 0
fi

tmp=$(mktemp -d "$data/.split$nj.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
num_utts=$(wc -l < "$data/utt2spk")
if [ "$mode" = per-utt ]; then
  [ "$nj" -le "$num_utts" ] || dd_die "cannot split $num_utts utterances of $data into $nj parts"
  awk -v N="$nj" -v T="$num_utts" '{ print $1, int((NR - 1) * N / T) + 1 }' "$data/utt2spk" > "$tmp/utt.map"
else
  num_spks=$(awk '{print $2}' "$data/utt2spk" | sort -u | wc -l)
  [ "$nj" -le "$num_spks" ] || dd_die "cannot split $num_spks speakers of $data into $nj parts (--per-spk)"
  # Whole speakers in sorted order; move to the next part once this one holds its share of
  # utterances, or when each remaining part needs one of the remaining speakers.
  dd_spk2utt "$data/utt2spk" | awk -v N="$nj" -v T="$num_utts" -v S="$num_spks" '
    BEGIN { p = 1 }
    { cnt = NF - 1
      if (j > 0 && p < N && (cum >= p * T / N || S - j == N - p)) p++
      for (i = 2; i <= NF; i++) print $i, p
      cum += cnt; j++ }' | sort -k1,1 > "$tmp/utt.map"
fi
dd_distribute "$data" "$tmp/utt.map" "$tmp/parts"
echo "$mode" > "$tmp/parts/.mode"
rm -rf "$dest"
mv "$tmp/parts" "$dest"
echo "$0: split $data into $nj parts ($mode) in $dest"
