#!/usr/bin/env bash
# One LibriSpeech subset (e.g. train-clean-100, test-clean) -> a Kaldi data dir:
#   wav.scp (utt /abs/path.flac; soundfile reads FLAC), utt2spk, spk2utt, text (from the
#   <spk>-<chapter>.trans.txt files), spk2gender (when <subset>/../SPEAKERS.TXT is there).
# The layout is <subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac; the utterance id is the file
# name, which starts with the speaker, so utt2spk and spk2utt sort alike. A file whose name does not
# match its folders, or an utterance without a transcript, stops the prep with a message naming it.
# The dir is built under a temporary name, checked by validate_data_dir.sh, then moved into place.
set -euo pipefail
export LC_ALL=C

help_message="Usage: $0 <LibriSpeech-subset-dir> <data-dir>
 e.g.: $0 /export/corpora/LibriSpeech/train-clean-100 data/src_train"

. "$(dirname "$0")/../../utils/parse_options.sh" || exit 1
need_args 2 2 $#

src=$1
data=$2
utils=$(dirname "$0")/../../utils
[ -d "$src" ] || { echo "$0: $src: no such directory; give a LibriSpeech subset folder, e.g. <root>/train-clean-100" >&2; exit 1; }
src=$(cd "$src" && pwd)
tmp=$(dirname "$data")/.$(basename "$data").tmp
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT

find -L "$src" -mindepth 3 -maxdepth 3 -name '*.flac' | sort > "$tmp/flac.list"
[ -s "$tmp/flac.list" ] || { echo "$0: $src: no <spk>/<chapter>/*.flac files; is this a LibriSpeech subset folder?" >&2; exit 1; }
awk -F/ '{
  n = NF; spk = $(n - 2); chap = $(n - 1); utt = $n; sub(/\.flac$/, "", utt)
  if (utt !~ ("^" spk "-" chap "-[0-9]+$")) {
    printf "%s: the name does not match its folders (want %s-%s-<utt>.flac)\n", $0, spk, chap > "/dev/stderr"; bad = 1; exit 1
  }
  print utt, $0 > wav; print utt, spk > u2s
} END { exit bad }' wav="$tmp/wav.scp" u2s="$tmp/utt2spk" "$tmp/flac.list" \
  || { echo "$0: fix or remove the file above" >&2; exit 1; }

find -L "$src" -mindepth 3 -maxdepth 3 -name '*.trans.txt' -print0 | sort -z | xargs -0 -r cat | \
  sed 's/\r$//' | sort > "$tmp/text"
missing=$(cut -d' ' -f1 "$tmp/wav.scp" | join -v1 - <(cut -d' ' -f1 "$tmp/text") | head -1)
[ -z "$missing" ] || { echo "$0: utterance $missing has no line in its <spk>-<chapter>.trans.txt" >&2; exit 1; }
# transcripts of utterances whose audio is absent are dropped
cut -d' ' -f1 "$tmp/wav.scp" | join - "$tmp/text" > "$tmp/text.kept"
mv "$tmp/text.kept" "$tmp/text"
"$utils/utt2spk_to_spk2utt" < "$tmp/utt2spk" > "$tmp/spk2utt"
speakers=$(dirname "$src")/SPEAKERS.TXT
if [ -f "$speakers" ]; then
  # ";ID  |SEX| SUBSET ..." lines; the speakers of this subset only
  awk -F'|' '!/^;/ {gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, tolower($2)}' "$speakers" | sort | \
    join - <(cut -d' ' -f1 "$tmp/spk2utt") > "$tmp/spk2gender"
fi
rm "$tmp/flac.list"
"$utils/validate_data_dir.sh" --no-feats "$tmp"
rm -rf "$data"
mkdir -p "$(dirname "$data")"
mv "$tmp" "$data"
trap - EXIT
echo "$0: $data: $(wc -l < "$data/utt2spk") utterances, $(wc -l < "$data/spk2utt") speakers"
