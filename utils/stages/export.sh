#!/usr/bin/env bash
# Recipe stage 4: average the last checkpoints (training writes models/avg.pt too; one older than an
# epoch is left from a killed or extended run) and export the average to TorchScript. Each step
# runs only when its output is older than its inputs. Run from a recipe dir with path.sh sourced.
set -euo pipefail

help_message="Usage: $0 <exp-dir>...
 e.g.: $0 exp/resnet_mini exp/ecapa_mini"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 - $#
# shellcheck source=../lib/recipe.sh
. "$(dirname "$0")/../lib/recipe.sh"

for sys in "$@"; do
  sys=${sys%/}
  ls "$sys"/models/epoch_*.pt > /dev/null 2>&1 || { echo "$0: no checkpoints in $sys/models (run stage 3)" >&2; exit 1; }
  up_to_date "$sys/models/avg.pt" "$sys"/models/epoch_*.pt || python -m pytorch.bin.average --exp "$sys"
  up_to_date "$sys/models/avg.ts.pt" "$sys/models/avg.pt" || \
    python -m pytorch.bin.export --exp "$sys" --checkpoint avg --formats torchscript
done
echo "stage 4: <exp>/models/avg.pt (average of the last epochs) and avg.ts.pt (TorchScript) for: $*"
