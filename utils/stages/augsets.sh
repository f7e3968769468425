#!/usr/bin/env bash
# Recipe stage 2: the augmentation data dirs that wave-mode training reads (data.mode: wave with
# augment.noise/music/babble/reverb): <data>/musan_{noise,music,speech} from a MUSAN tree
# (local/musan/prepare_data.sh) and <data>/rirs from a RIRS_NOISES tree (local/rirs/prepare_data.sh);
# either root may be left out. A corpus is skipped when its marker <data>/.prepared_{musan,rirs} holds the
# same root and its dirs are there. The marker is removed before the prep and written after it, so a failed
# or killed prep leaves none, and a changed root redoes the prep. Run from a recipe dir with path.sh sourced.
set -euo pipefail

musan_root=
rirs_root=

help_message="Usage: $0 [options] <data-dir>
 e.g.: $0 --musan-root /export/corpora/musan --rirs-root /export/corpora/RIRS_NOISES data
Options:
  --musan-root <dir>   # MUSAN (OpenSLR 17): writes <data-dir>/musan_{noise,music,speech}
  --rirs-root <dir>    # RIRS_NOISES (OpenSLR 28): writes <data-dir>/rirs"

. "$(dirname "$0")/../parse_options.sh" || exit 1
need_args 1 1 $#
data=$1
preps=$(dirname "$0")/../../local

# prepared <marker> <root> <dir>...: the prep of <root> finished (the marker holds it) and its dirs are there.
prepared() {
  local marker=$1 root=$2 d
  shift 2
  [ "$(cat "$marker" 2>/dev/null)" = "$root" ] || return 1
  for d in "$@"; do [ -s "$d/wav.scp" ] || return 1; done
}

made=()
if [ -n "$musan_root" ]; then
  if ! prepared "$data/.prepared_musan" "$musan_root" "$data"/musan_{noise,music,speech}; then
    rm -f "$data/.prepared_musan"
    "$preps/musan/prepare_data.sh" "$musan_root" "$data"
    echo "$musan_root" > "$data/.prepared_musan"
  fi
  made+=("$data/musan_{noise,music,speech}")
fi
if [ -n "$rirs_root" ]; then
  if ! prepared "$data/.prepared_rirs" "$rirs_root" "$data/rirs"; then
    rm -f "$data/.prepared_rirs"
    "$preps/rirs/prepare_data.sh" "$rirs_root" "$data/rirs"
    echo "$rirs_root" > "$data/.prepared_rirs"
  fi
  made+=("$data/rirs")
fi
if [ ${#made[@]} -eq 0 ]; then
  echo "stage 2: no --musan-root / --rirs-root: no augmentation sets"
else
  echo "stage 2: augmentation data dirs ${made[*]}"
fi
