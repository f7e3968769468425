#!/usr/bin/env bash
# Extract speaker embeddings of a data dir with a trained system, in parallel jobs:
#   split <data-dir> by utterance into nj parts (split_data.sh --per-utt), run
#   `python -m pytorch.bin.extract` on each part through `$cmd JOB=1:nj <out>/log/extract.JOB.log`
#   (outputs in <out>/split/JOB), then merge: <out>/xvector.scp (pointing into the job arks),
#   <out>/utt2num_frames, and the speaker means <out>/spk_xvector.{ark,scp} over the whole dir's
#   spk2utt (for an enrollment dir, one mean per enrollment id).
# Options not given here (chunking, batch size, device) come from the exp's config.yaml `extract`
# section. Old outputs are removed first, so a failed run never leaves a stale complete-looking
# xvector.scp. Two runs into one <out-dir> at once are refused (a lock). Source path.sh first.
set -euo pipefail

nj=4
cmd=run.pl
checkpoint=avg
max_chunk_frames=
batch_size=
device=
num_threads=1

help_message="Usage: $0 [options] <exp-dir> <data-dir> <out-dir>
 e.g.: $0 --nj 8 --cmd run.pl exp/ecapa_mini data/test exp/ecapa_mini/embeddings/test
Options:
  --nj <n>                     # parallel jobs, at most one per utterance (default: $nj)
  --cmd <run.pl|slurm.pl ...>  # how to run jobs (default: $cmd)
  --checkpoint <name>          # checkpoint under <exp-dir>/models (default: $checkpoint)
  --max-chunk-frames <n>       # 0: whole utterances; n: average the embeddings of n-frame chunks
  --batch-size <n>             # chunks per forward pass
  --device <cpu|cuda>          # default: the config's extract.device
  --num-threads <n>            # torch threads per job (default: $num_threads)"

. "$(dirname "$0")/parse_options.sh" || exit 1
need_args 3 3 $#
# shellcheck source=lib/jobs.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/jobs.sh"

exp=$1
data=$2
out=$3
[ -f "$exp/config.yaml" ] || { echo "$0: $exp/config.yaml not found; train the system first" >&2; exit 1; }
[ -f "$data/utt2spk" ] || { echo "$0: $data/utt2spk not found" >&2; exit 1; }

nutt=$(wc -l < "$data/utt2spk")
[ "$nutt" -gt 0 ] || { echo "$0: $data has no utterances" >&2; exit 1; }
[ "$nj" -le "$nutt" ] || nj=$nutt

opts=(--exp "$exp" --checkpoint "$checkpoint" --num-threads "$num_threads" --speaker-means false)
[ -z "$max_chunk_frames" ] || opts+=(--max-chunk-frames "$max_chunk_frames")
[ -z "$batch_size" ] || opts+=(--batch-size "$batch_size")
[ -z "$device" ] || opts+=(--device "$device")

jobs_lock "$out"  # a second run into the same <out-dir> is refused
mkdir -p "$out/log"
rm -rf "$out/split" "$out/xvector.scp" "$out/spk_xvector.scp" "$out/spk_xvector.ark" "$out/utt2num_frames"

split_data.sh --per-utt "$data" "$nj"
sdata=$data/split${nj}utt
[ -d "$sdata" ] || sdata=$data/split$nj
[ -d "$sdata/1" ] || { echo "$0: split_data.sh did not create $sdata/1" >&2; exit 1; }

echo "$0: extracting embeddings of $data with $exp ($checkpoint) in $nj jobs"
if ! $cmd JOB=1:"$nj" "$out/log/extract.JOB.log" \
    python -m pytorch.bin.extract "${opts[@]}" --data "$sdata/JOB" --out "$out/split/JOB"; then
  echo "$0: extraction failed; see $out/log/extract.*.log" >&2
  grep -h "error" "$out"/log/extract.*.log | head -n 3 >&2 || true
  exit 1
fi

jobs=()
for j in $(seq "$nj"); do jobs+=("$out/split/$j"); done
python -m pytorch.bin.extract --merge "${jobs[@]}" --data "$data" --out "$out" 2> "$out/log/merge.log" || {
  cat "$out/log/merge.log" >&2
  exit 1
}
echo "$0: wrote $out/xvector.scp ($(wc -l < "$out/xvector.scp") utterances) and" \
  "$out/spk_xvector.scp ($(wc -l < "$out/spk_xvector.scp") speakers)"
