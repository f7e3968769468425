#!/usr/bin/env bash
# Kaldi utils/copy_data_dir.sh: copy a data dir, optionally renaming utterances and speakers:
# new utt = <utt-prefix><utt><utt-suffix>, new spk = <spk-prefix><spk><spk-suffix>.
# Per-utterance files get the new utterance ids (utt2spk and utt2spks also the new speaker ids),
# per-speaker files (spk2*, cmvn.scp) the new speaker ids; recording ids are untouched (segments
# keep their recording field, and wav.scp is copied as is when segments exist), as in Kaldi.
# Every file is re-sorted (an affix can change the order) and spk2utt is rebuilt.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib/datadir.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/datadir.sh"

usage="Usage: $0 [--utt-prefix p] [--utt-suffix s] [--spk-prefix p] [--spk-suffix s] <src-dir> <dest-dir>
 e.g.: $0 --utt-suffix -reverb data/train data/train_reverb"
utt_prefix=; utt_suffix=; spk_prefix=; spk_suffix=
while [ $# -gt 0 ]; do
  case "$1" in
    --utt-prefix|--utt-suffix|--spk-prefix|--spk-suffix)
      [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }
      v=${1#--}; printf -v "${v//-/_}" '%s' "$2"; shift 2 ;;
    --utt-prefix=*|--utt-suffix=*|--spk-prefix=*|--spk-suffix=*)
      v=${1%%=*}; v=${v#--}; printf -v "${v//-/_}" '%s' "${1#*=}"; shift ;;
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$0: unknown option $1" >&2; echo "$usage" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ $# -ne 2 ]; then echo "$usage" >&2; exit 1; fi
src=${1%/}; dest=${2%/}
for a in "$utt_prefix" "$utt_suffix" "$spk_prefix" "$spk_suffix"; do
  [[ $a != *[[:space:]]* ]] || dd_die "prefixes and suffixes must not contain white space: '$a'"
done
[ -f "$src/utt2spk" ] || dd_die "no such file $src/utt2spk"
[ "$(readlink -f "$src")" != "$(readlink -m "$dest")" ] || dd_die "<src-dir> and <dest-dir> are the same: $src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in $(dd_utt_files "$src"); do
  case "$f" in
    utt2spk|utt2spks) dd_rename "$src/$f" "$utt_prefix" "$utt_suffix" "$spk_prefix" "$spk_suffix" ;;
    *) dd_rename "$src/$f" "$utt_prefix" "$utt_suffix" ;;
  esac | sort -k1,1 > "$tmp/$f"
done
for f in $(dd_spk_files "$src"); do
  dd_rename "$src/$f" "$spk_prefix" "$spk_suffix" | sort -k1,1 > "$tmp/$f"
done
for f in $(dd_reco_files "$src") frame_shift; do
  if [ -f "$src/$f" ]; then cp "$src/$f" "$tmp/$f"; fi
done
dd_spk2utt "$tmp/utt2spk" > "$tmp/spk2utt"
dd_install "$tmp" "$dest"
echo "$0: copied $src to $dest ($(wc -l < "$dest/utt2spk") utterances)"
