# shellcheck shell=bash
# Shared helpers for the Kaldi data-dir tools in utils/ (sourced; defines functions only).
# Kinds of files in a data dir:
#   per-utterance: utt2spk, segments (or wav.scp when there are no segments), feats.scp, vad.scp,
#                  text, and every utt2* file (utt2dur, utt2num_frames, utt2genre, utt2attack, utt2spks ...)
#   per-speaker:   spk2utt (always rebuilt from utt2spk), other spk2* files, cmvn.scp
#   per-recording: wav.scp when segments exist, reco2* files (recording = utterance without segments)
# Only names made of [A-Za-z0-9_] after the prefix count, so backups like utt2spk.bak are ignored.

dd_prog() { basename "$0"; }
dd_die() { echo "$(dd_prog): error: $*" >&2; exit 1; }
DD_UTILS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# Files matching <prefix><word> in <dir>, one basename a line (sorted by the glob).
_dd_glob() {
  local dir=$1 prefix=$2 f b
  for f in "$dir/$prefix"*; do
    b=${f##*/}
    if [[ $b =~ ^${prefix}[A-Za-z0-9_]+$ ]] && [ -f "$f" ]; then echo "$b"; fi
  done
  return 0
}

# Per-utterance files present in <dir>; utt2spk first (it defines the utterances).
dd_utt_files() {
  local d=$1 f
  if [ -f "$d/utt2spk" ]; then echo utt2spk; fi
  if [ -f "$d/segments" ]; then echo segments; elif [ -f "$d/wav.scp" ]; then echo wav.scp; fi
  for f in feats.scp vad.scp text; do
    if [ -f "$d/$f" ]; then echo "$f"; fi
  done
  _dd_glob "$d" utt2 | grep -vx utt2spk || true
}

# Per-speaker files present in <dir>, spk2utt excluded (the tools rebuild it).
dd_spk_files() {
  local d=$1
  if [ -f "$d/cmvn.scp" ]; then echo cmvn.scp; fi
  _dd_glob "$d" spk2 | grep -vx spk2utt || true
}

# Per-recording files present in <dir>.
dd_reco_files() {
  local d=$1
  if [ -f "$d/segments" ] && [ -f "$d/wav.scp" ]; then echo wav.scp; fi
  _dd_glob "$d" reco2
}

# dd_backup_dir <dir>: makes and prints a new backup dir of <dir>: .backup, or .backup.1,
# .backup.2 ... when older ones exist, so a later run never overwrites the originals of an earlier one.
dd_backup_dir() {
  local d=$1/.backup n=0
  while [ -e "$d" ]; do n=$((n + 1)); d=$1/.backup.$n; done
  mkdir -p "$d" && echo "$d"
}

# Succeeds when the first fields of <file> are strictly increasing under LC_ALL=C.
dd_is_sorted() { awk '{print $1}' "$1" | LC_ALL=C sort -c -u 2>/dev/null; }

# Sorts <file> in place by key (LC_ALL=C), keeping the first line of duplicate keys.
dd_sort_inplace() {
  LC_ALL=C sort -k1,1 -u "$1" > "$1.dd_tmp" && mv "$1.dd_tmp" "$1"
}

# spk2utt of <utt2spk>, sorted by speaker.
dd_spk2utt() { "$DD_UTILS/utt2spk_to_spk2utt.pl" "$1" | LC_ALL=C sort -k1,1; }

# Writes the lines of <file> whose first field maps to a part into <out>/<part>/<name>.
# <map> has "<key> <part>" lines; a key may map to several parts (speakers, recordings).
_dd_route() {
  local map=$1 file=$2 out=$3 name=$4
  # m: a key's first part; x: its other parts (rare: speakers and recordings split across parts).
  # Kept apart so the common one-part key costs one lookup a line (500k-line dirs).
  awk -v out="$out" -v name="$name" '
    NR == FNR { if (!($1 in m)) m[$1] = $2
                else if ($2 != m[$1] && index(" " x[$1] " ", " " $2 " ") == 0) x[$1] = x[$1] " " $2
                next }
    ($1 in m) { p = m[$1]; if (!(p in f)) f[p] = out "/" p "/" name; print > f[p]
                if ($1 in x) {
                  n = split(x[$1], a, " ")
                  for (i = 1; i <= n; i++) { p = a[i]; if (!(p in f)) f[p] = out "/" p "/" name; print > f[p] }
                } }
  ' "$map" "$file"
}

# dd_distribute <src-dir> <utt-map> <out-base>
# Builds one data dir <out-base>/<part> per part named in <utt-map> ("<utt> <part>" lines; part
# "." means <out-base> itself): every per-utt file filtered to the part's utterances, per-speaker
# and per-recording files to the speakers and recordings those use, spk2utt rebuilt.
# Input order is kept, so sorted inputs give sorted outputs.
dd_distribute() {
  local src=$1 map=$2 out=$3 tmp f p
  local -a parts utt_files spk_files reco_files
  mapfile -t parts < <(awk '{print $2}' "$map" | LC_ALL=C sort -u)
  mapfile -t utt_files < <(dd_utt_files "$src")
  mapfile -t spk_files < <(dd_spk_files "$src")
  mapfile -t reco_files < <(dd_reco_files "$src")
  tmp=$(mktemp -d)
  for p in "${parts[@]}"; do
    mkdir -p "$out/$p"
    for f in "${utt_files[@]}" "${spk_files[@]}" "${reco_files[@]}"; do : > "$out/$p/$f"; done
  done
  for f in "${utt_files[@]}"; do _dd_route "$map" "$src/$f" "$out" "$f"; done
  awk 'NR == FNR { p[$1] = $2; next } ($1 in p) { print $2, p[$1] }' "$map" "$src/utt2spk" > "$tmp/spk.map"
  for f in "${spk_files[@]}"; do _dd_route "$tmp/spk.map" "$src/$f" "$out" "$f"; done
  if [ -f "$src/segments" ]; then
    awk 'NR == FNR { p[$1] = $2; next } ($1 in p) { print $2, p[$1] }' "$map" "$src/segments" > "$tmp/reco.map"
  else
    cp "$map" "$tmp/reco.map"
  fi
  for f in "${reco_files[@]}"; do _dd_route "$tmp/reco.map" "$src/$f" "$out" "$f"; done
  for p in "${parts[@]}"; do
    dd_spk2utt "$out/$p/utt2spk" > "$out/$p/spk2utt"
    if [ -f "$src/frame_shift" ]; then cp "$src/frame_shift" "$out/$p/"; fi
  done
  rm -rf "$tmp"
}

# Every data file of <dir> (the kinds above plus spk2utt and frame_shift), one basename a line.
dd_data_files() {
  local d=$1 f
  { dd_utt_files "$d"; dd_spk_files "$d"; dd_reco_files "$d"
  for f in spk2utt frame_shift wav.scp segments; do
    if [ -f "$d/$f" ]; then echo "$f"; fi
  done; } | sort -u
}

# dd_install <built-dir> <dest>: replaces the data files of <dest> by those of <built-dir>, so no
# stale file (e.g. an old feats.scp) survives from a previous content of <dest>.
dd_install() {
  local built=$1 dest=$2 f
  mkdir -p "$dest"
  for f in $(dd_data_files "$dest"); do rm -f "${dest:?}/$f"; done
  for f in "$built"/*; do
    if [ -f "$f" ]; then mv "$f" "$dest/"; fi
  done
}

# dd_rename <in> <key-prefix> <key-suffix> [<val-prefix> <val-suffix>] > out
# Renames the first field; with value affixes also every other field (utt2spk, utt2spks).
# Without them the rest of the line is kept byte for byte.
dd_rename() {
  local vals=0
  if [ $# -ge 4 ]; then vals=1; fi
  awk -v kp="$2" -v ks="$3" -v vp="${4-}" -v vs="${5-}" -v vals="$vals" '
    !vals { match($0, /^[^ \t]+/); print kp substr($0, 1, RLENGTH) ks substr($0, RLENGTH + 1); next }
    { line = kp $1 ks
      for (i = 2; i <= NF; i++) line = line " " vp $i vs
      print line }' "$1"
}
