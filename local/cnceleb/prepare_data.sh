#!/usr/bin/env bash
# CN-Celeb1 (FLAC release) + CN-Celeb2 -> Kaldi data dirs under <data> (docs/data_formats.md §3-4):
#   cnceleb_train/    CN-Celeb.T = CN-Celeb1 dev (dev/dev.lst) + CN-Celeb2 (spk.lst); utt2genre
#   eval_enroll/      the concatenated eval/enroll/<spk>-enroll.flac (utt id00800-enroll, spk id00800)
#   eval_test/        eval/test utterances, utt2genre, trials `id00800 <test utt> target|nontarget`
#   eval_enroll_map/  multi-utterance enrollment from eval/lists/enroll.map (when the release has it)
# The lists name .wav files while the release has .flac: both are accepted. Utterance ids are
# <spk>-<file name> (speaker = first 7 characters). All input is checked before anything is written;
# each dir is then validated with utils/validate_data_dir.sh. See local/cnceleb/README.md.
# Run with path.sh sourced (or PYTHONPATH at the repository root).
set -euo pipefail
export LC_ALL=C

cnceleb2_root=
combine_short=0
min_dur=0
check_audio=true
nj=4

help_message="Usage: $0 [options] <cnceleb1-root> [<cnceleb2-root>] <data-dir>
 e.g.: $0 --cnceleb2-root /export/CN-Celeb2_flac /export/CN-Celeb_flac data
Options:
  --cnceleb2-root <dir>          # CN-Celeb2_flac/ (spk.lst, data/); same as the optional 2nd argument
  --combine-short <sec>          # join training clips of one speaker+genre shorter than <sec> until they
                                 # reach it (CNSRC/WeSpeaker practice: 5; needs sox) (default: $combine_short = off)
  --min-dur <sec>                # then drop training utterances shorter than <sec> (default: $min_dur = off)
  --check-audio <true|false>     # check every audio file for truncation first (default: $check_audio)
  --nj <n>                       # threads for reading audio headers (default: $nj)"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
if [ $# -eq 3 ]; then
  [ -z "$cnceleb2_root" ] || { echo "$0: give the CN-Celeb2 root either as --cnceleb2-root or as an argument" >&2; exit 1; }
  cnceleb2_root=$2
  set -- "$1" "$3"
fi
need_args 2 2 $#

cn1=$1
data=$2
utils=$(dirname "$0")/../../utils
[ -d "$cn1" ] || { echo "$0: $cn1: no such directory; <cnceleb1-root> must be CN-Celeb_flac/ (data/, dev/, eval/)" >&2; exit 1; }
[ -z "$cnceleb2_root" ] || [ -d "$cnceleb2_root" ] || { echo "$0: $cnceleb2_root: no such directory; the CN-Celeb2 root must be CN-Celeb2_flac/" >&2; exit 1; }

opts=(--combine-short "$combine_short" --min-dur "$min_dur" --check-audio "$check_audio" --nj "$nj")
[ -z "$cnceleb2_root" ] || opts+=(--cnceleb2-root "$cnceleb2_root")
python -m local.cnceleb.prepare "${opts[@]}" "$cn1" "$data"
for set in cnceleb_train eval_enroll eval_test eval_enroll_map; do
  [ -d "$data/$set" ] || continue
  "$utils/validate_data_dir.sh" --no-feats --no-text "$data/$set"
  echo "$data/$set: $(wc -l < "$data/$set/spk2utt") speakers, $(wc -l < "$data/$set/utt2spk") utterances"
done
awk -v t="$data/eval_test/trials" '{n[$3]++} END {print t ": " NR " trials, target=" n["target"]+0 " nontarget=" n["nontarget"]+0}' \
  "$data/eval_test/trials"
echo "$0: done, data dirs in $data"
