#!/usr/bin/env bash
# RIRS_NOISES (OpenSLR 28) -> one Kaldi data dir of room impulse responses for reverberation:
# by default the simulated small and medium rooms (what Kaldi's voxceleb/cnceleb recipes use) and
# the real RIRs, each read from its rir_list:
#   simulated_rirs/{smallroom,mediumroom,largeroom}/rir_list, real_rirs_isotropic_noises/rir_list
# A rir_list line is `--rir-id <id> --room-id <room> ... <path>`; the path (last field) is relative
# to the parent of RIRS_NOISES (RIRS_NOISES/simulated_rirs/...), so it is resolved against <root>
# whatever the directory is called. Ids come from the paths because room numbering restarts in
# every size folder: smallroom-Room001-00001, mediumroom-Room001-00001, real-<file name>.
# Writes wav.scp, utt2spk, spk2utt (utterance = speaker), utt2dur; built under a temp name.
# Some real RIRs have several channels: the augmenter uses the first. Run with path.sh sourced.
# --pointsource-noises <dir> also writes the point-source noises of pointsource_noises/noise_list as a
# noise data dir (ids pointsource-<file name>: the files are MUSAN free-sound noises under the same
# names, so the prefix keeps them apart from musan_noise ids).
set -euo pipefail
export LC_ALL=C

sets="smallroom mediumroom real"
pointsource_noises=

help_message="Usage: $0 [options] <RIRS_NOISES-root> <out-data-dir>
 e.g.: $0 /export/corpora/RIRS_NOISES data/rirs
Options:
  --sets \"<list>\"    # any of smallroom mediumroom largeroom real (default: \"$sets\")
  --pointsource-noises <dir>   # also write pointsource_noises/noise_list as a noise data dir here"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

root=$1
out=$2
[ -d "$root" ] || { echo "$0: $root not found" >&2; exit 1; }
root=$(cd "$root" && pwd -P)
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.rirs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

: > "$tmp/list"
for set in $sets; do
  case $set in
    smallroom|mediumroom|largeroom) list=$root/simulated_rirs/$set/rir_list; prefix=$set ;;
    real) list=$root/real_rirs_isotropic_noises/rir_list; prefix=real ;;
    *) echo "$0: unknown set '$set' in --sets; choose from smallroom mediumroom largeroom real" >&2; exit 1 ;;
  esac
  [ -f "$list" ] || { echo "$0: $list not found (is $root a RIRS_NOISES tree?)" >&2; exit 1; }
  # id<TAB>absolute path<TAB>list:line; the id is <prefix>-<file name without .wav>.
  awk -v root="$root" -v prefix="$prefix" -v list="$list" 'NF {
      rel = $NF
      if (rel !~ /\.wav$/) { printf "%s:%d: expected a .wav path as the last field, got %s\n", list, NR, rel > "/dev/stderr"; exit 1 }
      sub(/^[^\/]*\//, "", rel)                       # drop the leading RIRS_NOISES/
      path = root "/" rel
      n = split(rel, parts, "/"); id = parts[n]; sub(/\.wav$/, "", id)
      print prefix "-" id "\t" path "\t" list ":" NR }' "$list" >> "$tmp/list"
done

# <id-TAB-path-TAB-where list> <out>: every listed file must exist, ids must be unique; the data dir is
# built under $tmp and renamed to <out>.
write_dir() {
  local list=$1 dest=$2 dir dup
  while IFS=$'\t' read -r _ path where; do
    [ -f "$path" ] || { echo "$0: $where: file not found: $path" >&2; exit 1; }
  done < "$list"
  sort -k1,1 "$list" > "$list.sorted"
  dup=$(cut -f1 "$list.sorted" | uniq -d | head -n 1)
  [ -z "$dup" ] || { echo "$0: id $dup appears twice in the lists" >&2; exit 1; }
  dir=$(mktemp -d "$tmp/data.XXXXXX")
  awk -F'\t' '{print $1, $2}' "$list.sorted" > "$dir/wav.scp"
  awk -F'\t' '{print $1, $1}' "$list.sorted" > "$dir/utt2spk"
  cp "$dir/utt2spk" "$dir/spk2utt"
  python -m pytorch.bin.get_utt2dur "$dir"
  if [ -x "$(dirname "$0")/../../utils/validate_data_dir.sh" ]; then
    "$(dirname "$0")/../../utils/validate_data_dir.sh" --no-feats --no-text "$dir"
  fi
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$dir" "$dest"
}

if [ -n "$pointsource_noises" ]; then
  list=$root/pointsource_noises/noise_list
  [ -f "$list" ] || { echo "$0: $list not found (is $root a RIRS_NOISES tree?)" >&2; exit 1; }
  # noise_list: `--noise-id <id> --noise-type point-source [--bg-fg-type ..] <path relative to RIRS_NOISES/..>`
  awk -v root="$root" -v list="$list" 'NF {
      rel = $NF
      if (rel !~ /\.wav$/) { printf "%s:%d: expected a .wav path as the last field, got %s\n", list, NR, rel > "/dev/stderr"; exit 1 }
      sub(/^[^\/]*\//, "", rel)
      n = split(rel, parts, "/"); id = parts[n]; sub(/\.wav$/, "", id)
      print "pointsource-" id "\t" root "/" rel "\t" list ":" NR }' "$list" > "$tmp/noises"
fi
write_dir "$tmp/list" "$out"
echo "$0: $out: $(wc -l < "$out/wav.scp") RIRs ($sets)"
if [ -n "$pointsource_noises" ]; then
  write_dir "$tmp/noises" "$pointsource_noises"
  echo "$0: $pointsource_noises: $(wc -l < "$pointsource_noises/wav.scp") point-source noises"
fi
