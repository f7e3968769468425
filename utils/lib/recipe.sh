# shellcheck shell=bash
# Helpers for recipes' run.sh (sourced after path.sh; defines functions only).

# up_to_date <output> <input>...: succeeds when <output> exists and is newer than every
# <input> that exists, i.e. the step that makes <output> from the inputs need not run again.
# A missing input does not count (as with `-nt`); remove the output to force a redo.
up_to_date() {
  local out=$1 in
  shift
  [ -e "$out" ] || return 1
  for in in "$@"; do
    if [ -e "$in" ] && ! [ "$out" -nt "$in" ]; then return 1; fi
  done
  return 0
}
