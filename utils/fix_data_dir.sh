#!/usr/bin/env bash
# Kaldi utils/fix_data_dir.sh: make a data dir consistent, in place.
#  - sorts every data file by key (LC_ALL=C), keeping the first line of a duplicated key;
#  - drops malformed lines (utt2spk without exactly 2 fields, segments without 4, other lines
#    with a key but no value) and segments whose recording is not in wav.scp;
#  - keeps only the utterances present in every per-utterance file (utt2spk, segments or
#    wav.scp, feats.scp, vad.scp, text, utt2*), rebuilds spk2utt, and filters the per-speaker
#    (spk2*, cmvn.scp) and per-recording files (wav.scp with segments, reco2*) to what is used.
#  - strips carriage returns (DOS line endings).
# Only files that change are rewritten; their originals go to a new backup dir, <dir>/.backup
# (or .backup.1, .backup.2 ... when older backups exist, so a rerun never overwrites them).
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 <data-dir>
 e.g.: $0 data/train"
if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then echo "$usage"; exit 0; fi
if [ $# -ne 1 ] || [[ $1 == -* ]]; then echo "$usage" >&2; exit 1; fi
data=${1%/}
prog=fix_data_dir.sh
[ -d "$data" ] || dd_die "no such directory $data"
[ -f "$data/utt2spk" ] || dd_die "no such file $data/utt2spk (every data dir needs one)"

mapfile -t utt_files < <(dd_utt_files "$data")
mapfile -t other_files < <(dd_spk_files "$data"; dd_reco_files "$data")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sort and clean each file into $tmp/in (so nothing in $data changes until the end).
mkdir -p "$tmp/in" "$tmp/keys"
for f in "${utt_files[@]}" "${other_files[@]}"; do
  case "$f" in
    utt2spk) want='NF == 2' ;;
    segments) want='NF == 4' ;;
    *) want='NF >= 2' ;;
  esac
  k=$(grep -c $'\r' "$data/$f" || true)
  if [ "$k" -gt 0 ]; then
    echo "$prog: $f: stripped carriage returns (DOS line endings) from $k line(s)" >&2
    tr -d '\r' < "$data/$f" > "$tmp/$f.nocr"
    in=$tmp/$f.nocr
  else
    in=$data/$f
  fi
  awk -v cnt="$tmp/count" "NF > 0 { n++ } $want; END { print n + 0 > cnt }" "$in" > "$tmp/clean"
  # Most files are sorted already: checking is ten times cheaper than sorting.
  if sort -c -k1,1 -u "$tmp/clean" 2>/dev/null; then
    mv "$tmp/clean" "$tmp/in/$f"
  else
    sort -k1,1 -u "$tmp/clean" > "$tmp/in/$f"
  fi
  rm -f "$tmp/$f.nocr" "$tmp/clean"
  before=$(cat "$tmp/count")
  # Malformed and duplicate lines of utt2spk count as dropped utterances too.
  if [ "$f" = utt2spk ]; then total=$before; fi
  after=$(wc -l < "$tmp/in/$f")
  if [ "$before" -ne "$after" ]; then
    echo "$prog: $f: removed $((before - after)) malformed or duplicate-key line(s)" >&2
  fi
done
if [ -f "$tmp/in/segments" ] && [ -f "$tmp/in/wav.scp" ]; then
  n=$(wc -l < "$tmp/in/segments")
  "$DD_UTILS/filter_scp.pl" -f 2 "$tmp/in/wav.scp" "$tmp/in/segments" > "$tmp/segments"
  mv "$tmp/segments" "$tmp/in/segments"
  k=$((n - $(wc -l < "$tmp/in/segments")))
  if [ "$k" -gt 0 ]; then echo "$prog: segments: removed $k segment(s) whose recording is not in wav.scp" >&2; fi
fi

awk '{print $1}' "$tmp/in/utt2spk" > "$tmp/keys/utt2spk"
cp "$tmp/keys/utt2spk" "$tmp/keep"
n_utts=$(wc -l < "$tmp/keys/utt2spk")
for f in "${utt_files[@]}"; do
  [ "$f" = utt2spk ] && continue
  awk '{print $1}' "$tmp/in/$f" > "$tmp/keys/$f"
  # The usual case, nothing to drop so far, costs no comm.
  if cmp -s "$tmp/keys/$f" "$tmp/keys/utt2spk" && cmp -s "$tmp/keep" "$tmp/keys/utt2spk"; then continue; fi
  k=$(comm -23 "$tmp/keys/utt2spk" "$tmp/keys/$f" | wc -l)
  if [ "$k" -gt 0 ]; then echo "$prog: $f lacks $k of the $n_utts utterances in utt2spk" >&2; fi
  comm -12 "$tmp/keep" "$tmp/keys/$f" > "$tmp/keep.new"
  mv "$tmp/keep.new" "$tmp/keep"
done
kept=$(wc -l < "$tmp/keep")
if [ "$kept" -eq 0 ]; then
  dd_die "no utterances would remain in $data (originals untouched; see the messages above)"
fi

# A per-utterance file holding exactly the kept utterances needs no filtering: set it aside
# (segments stays: it decides whether wav.scp is per utterance or per recording).
mkdir -p "$tmp/asis"
for f in "${utt_files[@]}"; do
  case "$f" in utt2spk|segments) continue ;; esac
  if cmp -s "$tmp/keep" "$tmp/keys/$f"; then mv "$tmp/in/$f" "$tmp/asis/$f"; fi
done
awk '{print $1, "."}' "$tmp/keep" > "$tmp/utt.map"
dd_distribute "$tmp/in" "$tmp/utt.map" "$tmp/out"
for f in "$tmp/asis"/*; do
  if [ -f "$f" ]; then mv "$f" "$tmp/out/"; fi
done
backup=
for f in "${utt_files[@]}" "${other_files[@]}" spk2utt; do
  if cmp -s "$tmp/out/$f" "$data/$f"; then continue; fi  # unchanged: keep it (and its mtime)
  backup=${backup:-$(dd_backup_dir "$data")}
  if [ -f "$data/$f" ]; then cp -p "$data/$f" "$backup/$f"; fi
  mv "$tmp/out/$f" "$data/$f"
done
echo "$prog: kept $kept of $total utterances (dropped $((total - kept)))"
if [ -n "$backup" ]; then
  echo "$prog: the original files are in $backup"
else
  echo "$prog: $data was already consistent; nothing changed"
fi
