# shellcheck shell=bash
# The skeleton shared by the utils/ tools that run one job per part of a data dir
# (make_feats.sh, compute_vad_decision.sh): a lock on the data dir, removal of the temp files
# of killed jobs, the split, `$cmd JOB=1:nj` with the first errors of the failed logs, and the
# merge of the per-job lists into one file that appears only when it is complete.
# Sourced; defines functions only. Needs split_data.sh on PATH (path.sh).

jobs_prog() { basename "$0"; }

# jobs_lock <dir>: an exclusive lock on <dir>/.lock, held until this shell and the jobs it
# started exit (the kernel drops it, so a killed run leaves no stale lock). Two runs writing
# the same feats.scp and split dirs would corrupt each other, so a second run is refused.
jobs_lock() {
  local dir=$1 fd
  mkdir -p "$dir"
  exec {fd}>>"$dir/.lock"
  if ! flock -n "$fd"; then
    echo "$(jobs_prog): error: another run is writing to $dir (it holds $dir/.lock);" \
      "wait for it to finish or stop it, then run this again" >&2
    exit 1
  fi
}

# jobs_clean_tmp <dir> <prefix>: removes <dir>/.<prefix>*.tmp, the temp arks and scps
# (.<name>.<pid>.tmp) of jobs that were killed before they could clean up. Call it under
# jobs_lock, so no live job of this step owns them.
jobs_clean_tmp() {
  local dir=$1 prefix=$2 f n=0
  for f in "$dir/.$prefix"*.tmp; do
    if [ -f "$f" ]; then rm -f "$f"; n=$((n + 1)); fi
  done
  if [ "$n" -gt 0 ]; then echo "$(jobs_prog): removed $n temp file(s) of killed jobs from $dir"; fi
  return 0
}

# jobs_run <data> <nj> <cmd> <log> <what> <command...>: splits <data> into <nj> parts
# (<data>/split<nj>/JOB) and runs <command> through `<cmd> JOB=1:<nj> <log>`. On failure prints
# where the logs are and their first error lines, and returns 1.
jobs_run() {
  local data=$1 nj=$2 cmd=$3 log=$4 what=$5 n
  shift 5
  split_data.sh "$data" "$nj" || return 1
  # $cmd is a command line with its own options (e.g. "slurm.pl --mem 4G"): split on purpose.
  # shellcheck disable=SC2086
  if $cmd JOB=1:"$nj" "$log" "$@"; then return 0; fi
  echo "$(jobs_prog): error $what; see ${log//JOB/*}" >&2
  for n in $(seq "$nj"); do
    grep -h "error" "${log//JOB/$n}" 2>/dev/null | head -n 3 >&2 || true
  done
  return 1
}

# jobs_tmp <out>: the temp name of <out> (<dir>/.<name>.tmp) that jobs_merge writes.
jobs_tmp() { echo "$(dirname "$1")/.$(basename "$1").tmp"; }

# jobs_merge <nj> <part> <out>: the per-job files <part> (JOB replaced by 1..nj), concatenated
# and sorted, into $(jobs_tmp <out>). The caller checks it and then renames it with jobs_install
# (or drops it with jobs_discard), so <out>, a done marker, never appears incomplete.
jobs_merge() {
  local nj=$1 part=$2 out=$3 n
  for n in $(seq "$nj"); do cat "${part//JOB/$n}"; done | LC_ALL=C sort > "$(jobs_tmp "$out")"
}

jobs_install() { mv "$(jobs_tmp "$1")" "$1"; }
jobs_discard() { rm -f "$(jobs_tmp "$1")"; }
