# shellcheck shell=bash
# Source this from a recipe dir (egs/<corpus>/path.sh is a symlink to this file).
# readlink -f: recipes source this through a symlink, and ROOT must be the repository root.
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
export ROOT
export PATH=$ROOT/utils:$PATH
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
export LC_ALL=C
export PYTHONUNBUFFERED=1
if [ -f "$ROOT/.venv/bin/activate" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
  # shellcheck disable=SC1091
  . "$ROOT/.venv/bin/activate"
fi
