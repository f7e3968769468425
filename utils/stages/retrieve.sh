#!/usr/bin/env bash
# Recipe stages 7 and 9 of speaker retrieval (CNSRC 2022 Task 2): for each task <name>, rank the pool
# <data>/<name>_pool for every target of <data>/<name>_enroll (spk2utt: target -> its utterances) by
# cosine of the mean enrollment embedding (score.bin.retrieve), into <exp>/scores/<name>.ranking; with
# labels (<data>/<name>_pool/utt2target) also mAP, mAP@top-n and top-k counts per target
# (score.bin.eval_retrieval) in <exp>/<name>.retrieval.txt, written last (the done marker).
# The embeddings of <name>_enroll and <name>_pool come from stage 5. Run from a recipe dir (path.sh).
set -euo pipefail

data=data
top_n=10

help_message="Usage: $0 [options] <task-name> <exp-dir>...
 e.g.: $0 --top-n 10 sr_dev exp/resnet34se
Options:
  --data <dir>     # data dirs <data>/<name>_{enroll,pool} (default: $data)
  --top-n <n>      # pool utterances ranked per target; mAP@n is reported too (default: $top_n)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 2 - $#
name=$1; shift

for sys in "$@"; do
  sys=${sys%/}
  e=$sys/embeddings out=$sys/$name.retrieval.txt
  for f in "$e/${name}_enroll/xvector.scp" "$e/${name}_pool/xvector.scp" "$data/${name}_enroll/spk2utt"; do
    [ -s "$f" ] || { echo "$0: no $f (run stages 0 and 5 with the $name sets)" >&2; exit 1; }
  done
  rm -f "$out" "$sys/scores/$name.ranking"
  mkdir -p "$sys/scores"
  python -m score.bin.retrieve --enroll "$e/${name}_enroll/xvector.scp" \
    --enroll-spk2utt "$data/${name}_enroll/spk2utt" --pool "$e/${name}_pool/xvector.scp" --top-n "$top_n" \
    --out "$sys/scores/$name.ranking"
  if [ -s "$data/${name}_pool/utt2target" ]; then
    python -m score.bin.eval_retrieval --ranking "$sys/scores/$name.ranking" \
      --pool-labels "$data/${name}_pool/utt2target" --cutoff "$top_n" > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$(basename "$sys") $name: $(head -1 "$out")"
  else
    echo "$(basename "$sys") $name: $sys/scores/$name.ranking (no labels: $data/${name}_pool/utt2target)"
  fi
done
