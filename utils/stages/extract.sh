#!/usr/bin/env bash
# Recipe stage 5: x-vectors of each set with each system, into <exp-dir>/embeddings/<set>
# (xvector.scp, and spk_xvector.scp: one mean per spk2utt entry, i.e. per enrollment speaker).
# A system's features for every set sit next to its training dir: <set> is read from the parent of
# the config's data.train (data/<set> for data/train, data/fbank40/<set> for data/fbank40/train).
# A set is skipped when its xvector.scp is newer than the model. Run from a recipe dir (path.sh).
set -euo pipefail

nj=4
cmd=run.pl
sets="train test"

help_message="Usage: $0 [options] <exp-dir>...
 e.g.: $0 --nj 8 --sets \"train enroll test\" exp/resnet_mini exp/ecapa_mini
Options:
  --nj <n>                      # parallel jobs per set (default: $nj)
  --cmd <run.pl|slurm.pl ...>   # how to run jobs (default: $cmd)
  --sets \"<set>...\"             # sets to extract (default: $sets)"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/recipe.sh
. "$(dirname "$0")/../lib/recipe.sh"
# shellcheck source=../lib/stages.sh
. "$(dirname "$0")/../lib/stages.sh"

for sys in "$@"; do
  sys=${sys%/}
  feats=$(feats_root "$sys")
  for set in $sets; do
    out=$sys/embeddings/$set
    up_to_date "$out/xvector.scp" "$sys/models/avg.pt" && continue
    [ -d "$feats/$set" ] || { echo "$0: no data dir $feats/$set for $sys (set '$set')" >&2; exit 1; }
    "$(dirname "$0")/../extract_embeddings.sh" --nj "$nj" --cmd "$cmd" "$sys" "$feats/$set" "$out"
  done
done
