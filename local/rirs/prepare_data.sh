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

sets="smallroom mediumroom real"

help_message="Usage: $0 [options] <RIRS_NOISES-root> <out-data-dir>
 e.g.: $0 /export/corpora/RIRS_NOISES data/rirs
Options:
  --sets \"<list>\"    # any of smallroom mediumroom largeroom real (default: \"$sets\")"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
if [ $# -ne 2 ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail
export LC_ALL=C

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

# Every listed file must exist; ids must be unique.
while IFS=$'\t' read -r _ path where; do
  [ -f "$path" ] || { echo "$0: $where: file not found: $path" >&2; exit 1; }
done < "$tmp/list"
sort -k1,1 "$tmp/list" > "$tmp/list.sorted"
dup=$(cut -f1 "$tmp/list.sorted" | uniq -d | head -n 1)
[ -z "$dup" ] || { echo "$0: RIR id $dup appears twice in the rir_lists" >&2; exit 1; }

dir=$tmp/data
mkdir -p "$dir"
awk -F'\t' '{print $1, $2}' "$tmp/list.sorted" > "$dir/wav.scp"
awk -F'\t' '{print $1, $1}' "$tmp/list.sorted" > "$dir/utt2spk"
cp "$dir/utt2spk" "$dir/spk2utt"
python -m pytorch.bin.get_utt2dur "$dir"
if [ -x "$(dirname "$0")/../../utils/validate_data_dir.sh" ]; then
  "$(dirname "$0")/../../utils/validate_data_dir.sh" --no-feats --no-text "$dir"
fi
rm -rf "$out"
mv "$dir" "$out"
echo "$0: $out: $(wc -l < "$out/wav.scp") RIRs ($sets)"
