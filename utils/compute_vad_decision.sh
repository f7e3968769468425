#!/usr/bin/env bash
# Kaldi steps/compute_vad_decision.sh: energy VAD on <data>/feats.scp (C0 = log energy, e.g. MFCC),
# through pytorch.bin.compute_vad; writes <data>/vad.scp only if every job succeeded. The split /
# $cmd / merge skeleton and the data-dir lock are those of make_feats.sh (utils/lib/jobs.sh).
set -euo pipefail

nj=4
cmd=run.pl
vad_config=conf/vad.yaml

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<vad-dir>]]
 e.g.: $0 --nj 8 --vad-config conf/vad.yaml data/train
Options:
  --vad-config <yaml>              # default: $vad_config
  --nj <n>                         # default: $nj
  --cmd <run.pl|slurm.pl ...>      # default: $cmd
<log-dir> defaults to <data-dir>/log, <vad-dir> to <data-dir>/data."

echo "$0 $*"
. "$(dirname "$0")/parse_options.sh" || exit 1
need_args 1 3 $#
# shellcheck source=lib/jobs.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/jobs.sh"

data=$1
logdir=${2:-$data/log}
vaddir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/feats.scp" "$vad_config"; do
  [ -f "$f" ] || { echo "$0: no such file '$f'" >&2; exit 1; }
done
jobs_lock "$data"
mkdir -p "$logdir" "$vaddir"
vaddir=$(cd "$vaddir" && pwd -P)
jobs_clean_tmp "$vaddir" "vad_$name"
rm -f "$data/vad.scp"

jobs_run "$data" "$nj" "$cmd" "$logdir/vad_$name.JOB.log" "computing VAD for $data" \
  python -m pytorch.bin.compute_vad --config "$vad_config" \
    "$data/split$nj/JOB/feats.scp" "$vaddir/vad_$name.JOB.ark" "$vaddir/vad_$name.JOB.scp"

jobs_merge "$nj" "$vaddir/vad_$name.JOB.scp" "$data/vad.scp"
nc=$(wc -l < "$(jobs_tmp "$data/vad.scp")")
nu=$(wc -l < "$data/feats.scp")
if [ "$nc" -ne "$nu" ]; then
  echo "$0: warning: it seems not all of the vad decisions were computed ($nc != $nu);" \
       "consider using utils/fix_data_dir.sh $data" >&2
  if [ "$nc" -eq 0 ]; then jobs_discard "$data/vad.scp"; exit 1; fi
fi
jobs_install "$data/vad.scp"
echo "$0: created VAD output for $name"
