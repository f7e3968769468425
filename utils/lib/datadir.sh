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

# Writes the spk2utt of each <in> of the "<in>\t<out>" lines of <pairs> to its <out>, in one
# pass: utterances in input order, speakers sorted (LC_ALL=C), as utt2spk_to_spk2utt.pl | sort
# gives. Streams while speakers ascend (no per-speaker strings: a speaker may have 100k
# utterances); prints the <in> of each file that needs the Perl script instead (speakers out of
# order, lines without exactly 2 fields, or \r \f \v, which Perl splits on and awk does not).
_dd_spk2utt_fast() {
  awk -F '\t' '
    { i = $1; o = $2; ok = 1; ls = ""; FS = " "
      while ((getline < i) > 0) {
        if (NF != 2 || $0 ~ /[\r\f\v]/) { ok = 0; break }
        s = $2 ""
        if (s != ls) {
          if (s < ls) { ok = 0; break }
          printf "%s%s", (ls == "" ? "" : "\n"), s > o; ls = s
        }
        printf " %s", $1 > o
      }
      printf (ls == "" ? "" : "\n") > o
      close(i); close(o); FS = "\t"
      if (!ok) print i }' "$1"
}

_dd_spk2utt_perl() { "$DD_UTILS/utt2spk_to_spk2utt.pl" "$1" | LC_ALL=C sort -k1,1; }

# spk2utt of <utt2spk>, sorted by speaker.
dd_spk2utt() {
  local t redo
  t=$(mktemp -d)
  printf '%s\t%s\n' "$1" "$t/spk2utt" > "$t/pairs"
  redo=$(_dd_spk2utt_fast "$t/pairs")
  if [ -z "$redo" ]; then cat "$t/spk2utt"; rm -rf "$t"; return 0; fi
  rm -rf "$t"
  _dd_spk2utt_perl "$1"
}

# Succeeds when the keys of <map> ("<key> <part>" lines) never descend (awk string order).
_dd_ascending() {
  awk '{ k = substr($0, 1, index($0, " ") - 1); if (k < l) exit 1; l = k }' "$1"
}

# _dd_route <map> <ascending> <file> <out> <name>
# Writes the lines of <file> whose first field maps to a part into <out>/<part>/<name>.
# <map> has "<key> <part>" lines; a key may map to several parts (speakers, recordings).
# With an ascending map (<ascending> = 1) and while the keys of <file> ascend too (sorted data
# dirs) it merge-joins them, as a 500k-key awk array costs mawk over a second to build; at the
# first key out of order it loads <map> into an array and looks the rest up there.
_dd_route() {
  awk -v map="$1" -v sorted="$2" -v out="$4" -v name="$5" '
    function rd(   i) {
      if ((getline ml < map) <= 0) return 0
      i = index(ml, " "); pk = substr(ml, 1, i - 1); pp = substr(ml, i + 1); return 1
    }
    # The next run of map lines with one key: its key gk and parts gp (first part first, no
    # repeats); gmore = 0 past the end.
    function group() {
      if (!pend) { gmore = 0; return }
      gk = pk; gp = pp
      while ((pend = rd()) && pk == gk) if (index(" " gp " ", " " pp " ") == 0) gp = gp " " pp
    }
    # m: a key first part; x: its other parts (rare: speakers and recordings split across parts).
    function tohash() {
      hash = 1; close(map)
      while (rd()) {
        if (!(pk in m)) m[pk] = pp
        else if (pp != m[pk] && index(" " x[pk] " ", " " pp " ") == 0) x[pk] = x[pk] " " pp
      }
    }
    function emit(ps,   n, a, j, p) {
      if (index(ps, " ") == 0) { if (!(ps in f)) f[ps] = out "/" ps "/" name; print > f[ps]; return }
      n = split(ps, a, " ")
      for (j = 1; j <= n; j++) { p = a[j]; if (!(p in f)) f[p] = out "/" p "/" name; print > f[p] }
    }
    BEGIN { if (sorted) { pend = rd(); gmore = 1; group() } else tohash() }
    !hash { k = $1 ""
            if (k >= lk) {
              lk = k
              while (gmore && gk < k) group()
              if (gmore && gk == k) emit(gp)
              next
            }
            tohash() }
    ($1 in m) { emit(($1 in x) ? m[$1] x[$1] : m[$1]) }
  ' "$3"
}

# _dd_part_keys <out> <name> <part>...: "<field 2> <part>" for the lines of each <out>/<part>/<name>, a repeat of the line before
# left out, sorted stably by key: the speakers (utt2spk) or recordings (segments) of each part.
_dd_part_keys() {
  local out=$1 name=$2 p
  local -a files=()
  shift 2
  for p; do files+=("$out/$p/$name"); done
  awk -v n=$((${#out} + 2)) -v m=$((${#name} + 1)) '
    FNR == 1 { p = substr(FILENAME, n, length(FILENAME) - n - m + 1); l = "" }
    { o = $2 " " p; if (o != l) print o; l = o }' "${files[@]}" | LC_ALL=C sort -s -k1,1
}

# dd_distribute <src-dir> <utt-map> <out-base>
# Builds one data dir <out-base>/<part> per part named in <utt-map> ("<utt> <part>" lines; part
# "." means <out-base> itself): every per-utt file filtered to the part's utterances, per-speaker
# and per-recording files to the speakers and recordings those use, spk2utt rebuilt.
# Input order is kept, so sorted inputs give sorted outputs.
dd_distribute() {
  local src=$1 map=$2 out=$3 tmp f p sorted
  local -a parts utt_files spk_files reco_files
  # <map> lines are "<key> <part>" (one space); uniq first as a part is mostly one run of lines.
  mapfile -t parts < <(cut -d ' ' -f 2 "$map" | uniq | LC_ALL=C sort -u)
  mapfile -t utt_files < <(dd_utt_files "$src")
  mapfile -t spk_files < <(dd_spk_files "$src")
  mapfile -t reco_files < <(dd_reco_files "$src")
  tmp=$(mktemp -d)
  for p in "${parts[@]}"; do
    mkdir -p "$out/$p"
    for f in "${utt_files[@]}" "${spk_files[@]}" "${reco_files[@]}" spk2utt; do : > "$out/$p/$f"; done
    printf '%s\t%s\n' "$out/$p/utt2spk" "$out/$p/spk2utt" >> "$tmp/pairs"
  done
  _dd_ascending "$map" && sorted=1 || sorted=0
  for f in "${utt_files[@]}"; do _dd_route "$map" "$sorted" "$src/$f" "$out" "$f"; done
  _dd_spk2utt_fast "$tmp/pairs" > "$tmp/redo"
  while IFS= read -r f; do _dd_spk2utt_perl "$f" > "${f%utt2spk}spk2utt"; done < "$tmp/redo"
  if [ ${#spk_files[@]} -gt 0 ]; then
    _dd_part_keys "$out" utt2spk "${parts[@]}" > "$tmp/spk.map"
    _dd_ascending "$tmp/spk.map" && sorted=1 || sorted=0
    for f in "${spk_files[@]}"; do _dd_route "$tmp/spk.map" "$sorted" "$src/$f" "$out" "$f"; done
  fi
  if [ ${#reco_files[@]} -gt 0 ]; then
    if [ -f "$src/segments" ]; then
      _dd_part_keys "$out" segments "${parts[@]}" > "$tmp/reco.map"
      _dd_ascending "$tmp/reco.map" && sorted=1 || sorted=0
    else
      cp "$map" "$tmp/reco.map"
      _dd_ascending "$map" && sorted=1 || sorted=0
    fi
    for f in "${reco_files[@]}"; do _dd_route "$tmp/reco.map" "$sorted" "$src/$f" "$out" "$f"; done
  fi
  if [ -f "$src/frame_shift" ]; then
    for p in "${parts[@]}"; do cp "$src/frame_shift" "$out/$p/"; done
  fi
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
