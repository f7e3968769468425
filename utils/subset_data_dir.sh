#!/usr/bin/env bash
# Kaldi utils/subset_data_dir.sh: a data dir holding a subset of the utterances of another.
#   subset_data_dir.sh [--seed S] <src> <N> <dest>     N utterances drawn at random (a shuffle
#                                                      seeded by S, default 777: deterministic)
#   subset_data_dir.sh --first <src> <N> <dest>        the first N utterances (sorted order)
#   subset_data_dir.sh --last <src> <N> <dest>         the last N utterances
#   subset_data_dir.sh --spk-list <file> <src> <dest>  all utterances of the listed speakers
#   subset_data_dir.sh --utt-list <file> <src> <dest>  the listed utterances
# Lists take the first field of each line. All per-utterance, per-speaker and per-recording
# files are filtered and spk2utt is rebuilt.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 [--first|--last] [--seed S] <src-dir> <num-utt> <dest-dir>
       $0 --spk-list <speaker-list> <src-dir> <dest-dir>
       $0 --utt-list <utterance-list> <src-dir> <dest-dir>
 e.g.: $0 --first data/train 100 data/train_100"
mode=random; seed=777; list=
while [ $# -gt 0 ]; do
  case "$1" in
    --first) mode=first; shift ;;
    --last) mode=last; shift ;;
    --seed) [ $# -ge 2 ] || { echo "$usage" >&2; exit 1; }; seed=$2; shift 2 ;;
    --spk-list|--utt-list)
      [ $# -ge 2 ] || { echo "$usage" >&2; exit 1; }
      mode=${1#--}; list=$2; shift 2 ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
case "$mode" in
  spk-list|utt-list)
    if [ $# -ne 2 ]; then echo "$usage" >&2; exit 1; fi
    src=${1%/}; dest=${2%/}
    [ -f "$list" ] || dd_die "no such list file: $list" ;;
  *)
    if [ $# -ne 3 ]; then echo "$usage" >&2; exit 1; fi
    src=${1%/}; num=$2; dest=${3%/}
    if ! [[ $num =~ ^[0-9]+$ ]] || [ "$num" -eq 0 ]; then dd_die "<num-utt> must be a positive integer, got '$num'"; fi ;;
esac
[[ $seed =~ ^[0-9]+$ ]] || dd_die "--seed must be a non-negative integer, got '$seed'"
[ -f "$src/utt2spk" ] || dd_die "no such file $src/utt2spk"
dd_is_sorted "$src/utt2spk" || dd_die "$src/utt2spk is not sorted or has duplicate keys; run utils/fix_data_dir.sh $src"
[ "$(readlink -f "$src")" != "$(readlink -m "$dest")" ] || dd_die "<src-dir> and <dest-dir> are the same: $src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
total=$(wc -l < "$src/utt2spk")
if [ -n "${num:-}" ] && [ "$num" -gt "$total" ]; then
  dd_die "cannot take $num utterances: $src has only $total"
fi
case "$mode" in
  first) head -n "$num" "$src/utt2spk" ;;
  last) tail -n "$num" "$src/utt2spk" ;;
  random)
    # Fisher-Yates with Perl's seeded generator (drand48: the same on every platform).
    perl -e 'srand($ARGV[0]); my $n = $ARGV[1]; my @l = <STDIN>;
      for (my $i = $#l; $i > 0; $i--) { my $j = int(rand($i + 1)); @l[$i, $j] = @l[$j, $i]; }
      print @l[0 .. $n - 1];' "$seed" "$num" < "$src/utt2spk" | sort -k1,1 ;;
  utt-list) "$DD_UTILS/filter_scp.pl" "$list" "$src/utt2spk" ;;
  spk-list) "$DD_UTILS/filter_scp.pl" -f 2 "$list" "$src/utt2spk" ;;
esac | awk '{ print $1, "." }' > "$tmp/utt.map"
n=$(wc -l < "$tmp/utt.map")
[ "$n" -gt 0 ] || dd_die "the subset of $src is empty (check the $mode)"
if [ "$mode" = utt-list ] && [ "$n" -lt "$(awk 'NF' "$list" | wc -l)" ]; then
  echo "$0: warning: $(( $(awk 'NF' "$list" | wc -l) - n )) id(s) of $list are not in $src" >&2
fi
dd_distribute "$src" "$tmp/utt.map" "$tmp/out"
dd_install "$tmp/out" "$dest"
echo "$0: created a subset of $src with $n of $total utterances in $dest"
