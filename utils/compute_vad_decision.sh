#!/usr/bin/env bash
# Kaldi steps/compute_vad_decision.sh: energy VAD on <data>/feats.scp (C0 = log energy, e.g. MFCC),
# through pytorch.bin.compute_vad; writes <data>/vad.scp only if every job succeeded.

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
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
set -euo pipefail

data=$1
logdir=${2:-$data/log}
vaddir=${3:-$data/data}
name=$(basename "$data")

for f in "$data/feats.scp" "$vad_config"; do
  [ -f "$f" ] || { echo "$0: no such file '$f'" >&2; exit 1; }
done
mkdir -p "$logdir" "$vaddir"
vaddir=$(cd "$vaddir" && pwd -P)
rm -f "$data/vad.scp"

split_data.sh "$data" "$nj"
sdata=$data/split$nj

if ! $cmd JOB=1:"$nj" "$logdir/vad_$name.JOB.log" \
    python -m pytorch.bin.compute_vad --config "$vad_config" \
      "$sdata/JOB/feats.scp" "$vaddir/vad_$name.JOB.ark" "$vaddir/vad_$name.JOB.scp"; then
  echo "$0: error computing VAD for $data; see $logdir/vad_$name.*.log" >&2
  exit 1
fi

for n in $(seq "$nj"); do cat "$vaddir/vad_$name.$n.scp"; done | sort > "$data/.vad.scp.tmp"
mv "$data/.vad.scp.tmp" "$data/vad.scp"

nc=$(wc -l < "$data/vad.scp")
nu=$(wc -l < "$data/feats.scp")
if [ "$nc" -ne "$nu" ]; then
  echo "$0: warning: it seems not all of the vad decisions were computed ($nc != $nu);" \
       "consider using utils/fix_data_dir.sh $data" >&2
  [ "$nc" -eq 0 ] && exit 1
fi
echo "$0: created VAD output for $name"
