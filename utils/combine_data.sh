#!/usr/bin/env bash
# Kaldi utils/combine_data.sh: the union of several data dirs.
# Every file that all sources have is combined (a file missing from some source is left out,
# with a warning) and sorted; spk2utt is rebuilt. An utterance id in two sources is an error;
# a speaker or recording in two sources is fine if their lines agree (e.g. spk2gender).
# Either every source has segments or none has.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 <dest-dir> <src-dir1> [<src-dir2> ...]
 e.g.: $0 data/train_aug data/train_reverb data/train_noise"
if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then echo "$usage"; exit 0; fi
if [ $# -lt 2 ] || [[ $1 == -* ]]; then echo "$usage" >&2; exit 1; fi
dest=${1%/}; shift
srcs=("${@%/}")
nseg=0
for s in "${srcs[@]}"; do
  [ -f "$s/utt2spk" ] || dd_die "no such file $s/utt2spk"
  [ "$(readlink -f "$s")" != "$(readlink -m "$dest")" ] || dd_die "<dest-dir> $dest is also a source"
  if [ -f "$s/segments" ]; then nseg=$((nseg + 1)); fi
done
if [ "$nseg" -ne 0 ] && [ "$nseg" -ne "${#srcs[@]}" ]; then
  dd_die "$nseg of ${#srcs[@]} sources have a segments file; make all or none of them segmented"
fi

# The files (and their kinds) of the first source that every source has.
declare -A kind
while read -r k f; do kind[$f]=$k; done < <(
  dd_utt_files "${srcs[0]}" | sed 's/^/utt /'
  { dd_spk_files "${srcs[0]}"; dd_reco_files "${srcs[0]}"; } | sed 's/^/shared /')
for s in "${srcs[@]}"; do
  for f in $(dd_data_files "$s"); do
    [ -n "${kind[$f]:-}" ] || [ "$f" = spk2utt ] || [ "$f" = frame_shift ] ||
      echo "$0: warning: not combining $f: it is not in ${srcs[0]}" >&2
  done
  for f in "${!kind[@]}"; do
    if [ ! -f "$s/$f" ]; then
      echo "$0: warning: not combining $f: it is not in $s" >&2
      unset "kind[$f]"
    fi
  done
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${!kind[@]}"; do
  if [ "${kind[$f]}" = utt ]; then
    for s in "${srcs[@]}"; do cat "$s/$f"; done | sort -k1,1 > "$tmp/$f"
  else
    for s in "${srcs[@]}"; do cat "$s/$f"; done | sort -u > "$tmp/$f"
  fi
  dup=$(awk '{print $1}' "$tmp/$f" | uniq -d | head -n 1 || true)
  if [ -n "$dup" ]; then
    where=$(for s in "${srcs[@]}"; do awk -v k="$dup" '$1 == k { print FILENAME; exit }' "$s/$f"; done | tr '\n' ' ')
    dd_die "id '$dup' appears more than once in $f (in: ${where% }); ids must be unique across sources" \
      "(rename with utils/copy_data_dir.sh --utt-prefix/--utt-suffix)"
  fi
done
if [ -f "${srcs[0]}/frame_shift" ]; then cp "${srcs[0]}/frame_shift" "$tmp/"; fi
dd_spk2utt "$tmp/utt2spk" > "$tmp/spk2utt"
dd_install "$tmp" "$dest"
echo "$0: combined ${#srcs[@]} data dirs into $dest ($(wc -l < "$dest/utt2spk") utterances)"
