#!/usr/bin/env bash
# CNSRC 2022 speaker retrieval (Task 2) -> Kaldi data dirs <data>/<name>_enroll and <data>/<name>_pool,
# from one folder in the asvlab SR format (enroll.lst, pool.lst, optional pool.key; local/cnceleb/README.md);
# local/cnceleb/convert_sr.sh makes that folder from the official Task2 package.
# Score with score.bin.retrieve (--enroll-spk2utt <data>/<name>_enroll/spk2utt) and score.bin.eval_retrieval
# (--pool-labels <data>/<name>_pool/utt2target). Run with path.sh sourced.
set -euo pipefail
export LC_ALL=C

check_audio=true

help_message="Usage: $0 [options] <sr-dir> <data-dir> <name>
 e.g.: $0 data/local/sr_dev data sr_dev
Options:
  --check-audio <true|false>     # check every audio file for truncation first (default: $check_audio)"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 3 3 $#

sr=$1
data=$2
name=$3
utils=$(dirname "$0")/../../utils
[ -d "$sr" ] || { echo "$0: $sr: no such directory; it must hold enroll.lst and pool.lst (local/cnceleb/convert_sr.sh makes them)" >&2; exit 1; }
python -m local.cnceleb.prepare_sr --check-audio "$check_audio" "$sr" "$data" "$name"
for set in "${name}_enroll" "${name}_pool"; do
  "$utils/validate_data_dir.sh" --no-feats --no-text "$data/$set"
done
echo "$data/${name}_enroll: $(wc -l < "$data/${name}_enroll/spk2utt") targets, $(wc -l < "$data/${name}_enroll/utt2spk") enrollment utterances"
echo "$data/${name}_pool: $(wc -l < "$data/${name}_pool/utt2spk") pool utterances"
echo "$0: done"
