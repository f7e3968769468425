#!/usr/bin/env bash
# Kaldi utils/validate_data_dir.sh: check that a data dir is consistent; stops at the first
# problem with a message naming the file, the problem and the fix.
# Checks, for every data file present (utt2spk, spk2utt, wav.scp, segments, feats.scp, vad.scp,
# text, utt2*, spk2*, reco2*, cmvn.scp): a final newline, no CR, no empty lines or empty ids,
# ids in UTF-8, a value after each id, keys sorted (LC_ALL=C) and unique. Then: utt2spk has 2 fields a line
# and sorts the same by speaker (unless --no-spk-sort); spk2utt agrees with utt2spk; wav.scp
# (required unless --no-wav) covers the utterances, or the segments' recordings; feats.scp
# (required unless --no-feats), vad.scp, text (unless --no-text) and every utt2* file cover
# exactly the utterances of utt2spk; segments, utt2dur and utt2num_frames hold valid numbers.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 [--no-feats] [--no-wav] [--no-text] [--no-spk-sort] <data-dir>
 e.g.: $0 --no-feats data/train"
no_feats=false; no_wav=false; no_text=false; no_spk_sort=false
while [ $# -gt 0 ]; do
  case "$1" in
    --no-feats) no_feats=true; shift ;;
    --no-wav) no_wav=true; shift ;;
    --no-text) no_text=true; shift ;;
    --no-spk-sort) no_spk_sort=true; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then echo "$usage" >&2; exit 1; fi
data=${1%/}
prog=validate_data_dir.sh
fix="fix it with: utils/fix_data_dir.sh $data"
fail() { echo "$prog: error: $*" >&2; exit 1; }

[ -d "$data" ] || fail "no such directory $data"
[ -s "$data/utt2spk" ] || fail "$data/utt2spk is missing or empty (every data dir needs one)"
[ -f "$data/spk2utt" ] || fail "$data/spk2utt is missing; make it with: utils/utt2spk_to_spk2utt.pl $data/utt2spk > $data/spk2utt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Line-level checks shared by every file.
check_file() {
  local f=$1 p=$data/$1 msg
  [ -s "$p" ] || fail "$p is empty; remove it or regenerate it"
  [ "$(tail -c 1 "$p" | od -An -c | tr -d ' ')" = '\n' ] || fail "$p does not end with a newline"
  if grep -q $'\r' "$p"; then fail "$p has DOS line endings (CR); convert it with: sed -i 's/\\r\$//' $p"; fi
  msg=$(awk '
    /^$/ { printf "line %d is empty", NR; exit }
    /^[ \t]/ { printf "line %d starts with white space (an empty id)", NR; exit }
    NF < 2 { printf "line %d has an id (%s) but no value", NR, $1; exit }' "$p")
  [ -z "$msg" ] || fail "$p: $msg; $fix"
  awk '{print $1}' "$p" > "$tmp/$f.keys"
  # Ids are UTF-8 (later tools decode them); utt2spk and spk2utt hold nothing but ids.
  case "$f" in utt2spk|spk2utt) msg=$p ;; *) msg=$tmp/$f.keys ;; esac
  msg=$(perl -ne 'if (!utf8::decode(my $s = $_)) { print "$."; exit }' "$msg")
  [ -z "$msg" ] || fail "$p: line $msg: the id is not valid UTF-8; rename it (e.g. with iconv) and regenerate the dir"
  if ! sort -c "$tmp/$f.keys" 2>/dev/null; then
    msg=$(sort -c "$tmp/$f.keys" 2>&1 | sed -n 's/.*:\([0-9]*\): disorder: \(.*\)/line \1, key \2/p' || true)
    fail "$p is not sorted by key with LC_ALL=C (out of order at $msg); $fix"
  fi
  msg=$(uniq -d "$tmp/$f.keys" | head -n 1 || true)
  [ -z "$msg" ] || fail "$p has duplicate key '$msg'; $fix"
}

# Files keyed by utterance must cover exactly the utterances of utt2spk.
check_covers() {
  local f=$1 missing extra n_miss n_extra
  n_miss=$(comm -23 "$tmp/utt2spk.keys" "$tmp/$f.keys" | wc -l)
  n_extra=$(comm -13 "$tmp/utt2spk.keys" "$tmp/$f.keys" | wc -l)
  if [ "$n_miss" -gt 0 ] || [ "$n_extra" -gt 0 ]; then
    missing=$(comm -23 "$tmp/utt2spk.keys" "$tmp/$f.keys" | head -n 1 || true)
    extra=$(comm -13 "$tmp/utt2spk.keys" "$tmp/$f.keys" | head -n 1 || true)
    fail "$data/$f and utt2spk do not cover the same utterances: $n_miss in utt2spk missing from" \
      "$f${missing:+ (e.g. $missing)}, $n_extra in $f not in utt2spk${extra:+ (e.g. $extra)}; $fix"
  fi
}

# Numeric fields: check_numbers <file> <awk condition on the line> <what is expected>
check_numbers() {
  local msg
  msg=$(awk -v what="$3" "!($2) { printf \"line %d (%s): expected %s\", NR, \$0, what; exit }" "$data/$1")
  [ -z "$msg" ] || fail "$data/$1: $msg"
}
num='[0-9]+([.][0-9]*)?([eE][-+]?[0-9]+)?'

mapfile -t files < <(dd_utt_files "$data"; echo spk2utt; dd_spk_files "$data"; dd_reco_files "$data")
for f in "${files[@]}"; do check_file "$f"; done

check_numbers utt2spk 'NF == 2' "'<utt> <spk>' (2 fields; no spaces in ids)"
if ! $no_spk_sort && ! cmp -s <(sort "$data/utt2spk") <(sort -k2 "$data/utt2spk"); then
  fail "$data/utt2spk is not in the same order when sorted by speaker; make speaker ids" \
    "prefixes of utterance ids (or pass --no-spk-sort if this is by design)"
fi
dd_spk2utt "$data/utt2spk" > "$tmp/spk2utt.expected"
if ! cmp -s "$tmp/spk2utt.expected" "$data/spk2utt"; then
  line=$(diff "$tmp/spk2utt.expected" "$data/spk2utt" | grep -m 1 '^[<>]' || true)
  fail "$data/spk2utt does not agree with utt2spk (first difference: $line); regenerate it with:" \
    "utils/utt2spk_to_spk2utt.pl $data/utt2spk | LC_ALL=C sort > $data/spk2utt, or $fix"
fi

if [ -f "$data/segments" ]; then
  check_numbers segments "NF == 4 && \$3 ~ /^$num\$/ && \$4 ~ /^$num\$/ && \$4 + 0 > \$3 + 0" \
    "'<utt> <recording> <start> <end>' with 0 <= start < end"
  check_covers segments
fi
if ! $no_wav; then
  [ -f "$data/wav.scp" ] || fail "no such file $data/wav.scp (pass --no-wav if this is by design)"
  if [ -f "$data/segments" ]; then
    awk '{print $2}' "$data/segments" | sort -u | comm -23 - "$tmp/wav.scp.keys" > "$tmp/no_wav"
    if [ -s "$tmp/no_wav" ]; then
      fail "$data/segments uses $(wc -l < "$tmp/no_wav") recording(s) that are not in wav.scp" \
        "(e.g. $(head -n 1 "$tmp/no_wav")); $fix"
    fi
  else
    check_covers wav.scp
  fi
fi
if ! $no_feats; then
  [ -f "$data/feats.scp" ] || fail "no such file $data/feats.scp (pass --no-feats if this is by design)"
fi
for f in feats.scp vad.scp text; do
  if [ "$f" = text ] && $no_text; then continue; fi
  if [ -f "$data/$f" ]; then check_covers "$f"; fi
done
for f in $(_dd_glob "$data" utt2); do
  if [ "$f" != utt2spk ]; then check_covers "$f"; fi
done
if [ -f "$data/utt2dur" ]; then
  check_numbers utt2dur "NF == 2 && \$2 ~ /^$num\$/ && \$2 + 0 > 0" "'<utt> <seconds>' with seconds > 0"
fi
if [ -f "$data/utt2num_frames" ]; then
  # shellcheck disable=SC2016  # an awk condition: $2 is awk's field, not a shell variable
  check_numbers utt2num_frames 'NF == 2 && $2 ~ /^[0-9]+$/ && $2 + 0 > 0' "'<utt> <frames>' with frames > 0"
fi
echo "$prog: Successfully validated data-directory $data"
