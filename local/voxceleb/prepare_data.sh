#!/usr/bin/env bash
# VoxCeleb1 dev+test and VoxCeleb2 dev -> Kaldi data dirs under <data> (docs/data_formats.md §1-2):
#   vox1_dev/ vox1_test/ vox1/ (dev+test, the extraction set for Vox1-O/E/H) vox2_dev/ (with --vox2-root)
#   vox1/trials/vox1_{O,E,H}   `enroll_utt test_utt target|nontarget` from veri_test2.txt,
#                              list_test_all2.txt, list_test_hard2.txt (E/H only when present and dev is there)
# Utterance ids are <spk>-<ytid>-<NNNNN> (speaker = first 7 characters). Both VoxCeleb1 layouts are read;
# VoxCeleb2 .m4a files become ffmpeg pipes in wav.scp. All input is checked before anything is written;
# each dir is then validated with utils/validate_data_dir.sh. See local/voxceleb/README.md.
# Run with path.sh sourced (or PYTHONPATH at the repository root).
set -euo pipefail
export LC_ALL=C

vox2_root=
meta_dir=
check_audio=true
nj=4

help_message="Usage: $0 [options] <vox1-root> <data-dir>
 e.g.: $0 --vox2-root /export/voxceleb2 /export/voxceleb1 data
Options:
  --vox2-root <dir>              # VoxCeleb2 root: dev/aac/<spk>/<ytid>/*.m4a, or converted wavs under dev/aac or dev/wav
  --meta-dir <dir>               # holds veri_test2.txt, list_test_all2.txt, list_test_hard2.txt, vox1_meta.csv
                                 # (default: <vox1-root>)
  --check-audio <true|false>     # check every wav for truncation first (default: $check_audio)
  --nj <n>                       # threads for that check (default: $nj)"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

vox1=$1
data=$2
utils=$(dirname "$0")/../../utils
[ -d "$vox1" ] || { echo "$0: $vox1: no such directory; <vox1-root> must be the VoxCeleb1 root (dev/wav, test/wav or wav/)" >&2; exit 1; }
[ -z "$vox2_root" ] || [ -d "$vox2_root" ] || { echo "$0: --vox2-root $vox2_root: no such directory" >&2; exit 1; }

opts=(--check-audio "$check_audio" --nj "$nj")
[ -z "$vox2_root" ] || opts+=(--vox2-root "$vox2_root")
[ -z "$meta_dir" ] || opts+=(--meta-dir "$meta_dir")
python -m local.voxceleb.prepare "${opts[@]}" "$vox1" "$data"
for set in vox1_dev vox1_test vox1 vox2_dev; do
  [ -d "$data/$set" ] || continue
  "$utils/validate_data_dir.sh" --no-feats --no-text "$data/$set"
  echo "$data/$set: $(wc -l < "$data/$set/spk2utt") speakers, $(wc -l < "$data/$set/utt2spk") utterances"
done
for t in "$data"/vox1/trials/*; do
  awk -v t="$t" '{n[$3]++} END {print t ": " NR " trials, target=" n["target"]+0 " nontarget=" n["nontarget"]+0}' "$t"
done
echo "$0: done, data dirs in $data"
