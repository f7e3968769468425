# shellcheck shell=bash
# Kaldi-style option parsing; source it after defining every option variable:
#   nj=4; cmd=run.pl; use_gpu=false; help_message="Usage: ..."
#   . utils/parse_options.sh || exit 1
# --foo-bar x and --foo-bar=x set the existing variable foo_bar; an undefined variable is an
# unknown option (error). A variable whose current value is true/false only accepts true|false.
# --help / -h prints $help_message and exits 0. --conf FILE sources a bash file of var=value
# lines before the command-line options are applied (so the command line wins, as in Kaldi);
# "--conf" is the reserved name so that "--config x.yaml" stays an ordinary variable.
# Parsing stops at the first non-option argument (or after "--"); positional args stay in "$@".
# It also defines need_args (below) for the positional-argument count.
# Local names are prefixed __po_ so they cannot clash with the caller's variables.

# Pass 1: the --conf files, so command-line options override them wherever they appear.
__po_n=$#
__po_i=1
while [ "$__po_i" -le "$__po_n" ]; do
  __po_arg=${!__po_i}
  case "$__po_arg" in
    --conf|--conf=*)
      if [ "$__po_arg" = --conf ]; then
        __po_i=$((__po_i + 1))
        [ "$__po_i" -le "$__po_n" ] || { echo "$0: missing argument to --conf" >&2; exit 1; }
        __po_file=${!__po_i}
      else
        __po_file=${__po_arg#--conf=}
      fi
      [ -f "$__po_file" ] || { echo "$0: error: --conf file '$__po_file' does not exist" >&2; exit 1; }
      # shellcheck disable=SC1090
      . "$__po_file" || { echo "$0: error: failed to source --conf file '$__po_file'" >&2; exit 1; }
      ;;
    --|--help|-h) break ;;
    --*=*) ;;
    --*) __po_i=$((__po_i + 1)) ;;  # skip the option's value
    *) break ;;
  esac
  __po_i=$((__po_i + 1))
done

# Pass 2: the options themselves.
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      if [ -z "${help_message:-}" ]; then echo "$0: no help message available"; else printf '%s\n' "$help_message"; fi
      exit 0 ;;
    --)
      shift; break ;;
    --conf)
      shift 2; continue ;;  # sourced in pass 1
    --conf=*)
      shift; continue ;;
    --*=*)
      __po_name=${1%%=*}; __po_val=${1#*=}; __po_shift=1 ;;
    --*)
      [ $# -ge 2 ] || { echo "$0: error: option $1 needs a value" >&2; exit 1; }
      __po_name=$1; __po_val=$2; __po_shift=2 ;;
    *)
      break ;;
  esac
  __po_var=${__po_name#--}
  __po_var=${__po_var//-/_}
  if ! [[ "$__po_var" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!__po_var+x}" ]; then
    echo "$0: error: invalid option $__po_name (no variable '$__po_var' defined before parse_options.sh)" >&2
    exit 1
  fi
  __po_old=${!__po_var}
  if [ "$__po_old" = true ] || [ "$__po_old" = false ]; then
    if [ "$__po_val" != true ] && [ "$__po_val" != false ]; then
      echo "$0: error: option $__po_name is boolean: expected true or false, got '$__po_val'" >&2
      exit 1
    fi
  fi
  printf -v "$__po_var" '%s' "$__po_val"
  shift "$__po_shift"
done

# An empty --cmd (e.g. an unset variable in cmd.sh) would run the job tools as the command.
if [ -n "${cmd+x}" ] && [ -z "$cmd" ]; then
  echo "$0: error: empty argument to --cmd option" >&2
  exit 1
fi

# need_args MIN MAX $#: after parsing, prints $help_message and exits 1 unless MIN <= $# <= MAX
# (MAX "-": no upper bound), e.g. `need_args 2 2 $#`.
need_args() {
  if [ "$3" -lt "$1" ] || { [ "$2" != - ] && [ "$3" -gt "$2" ]; }; then
    printf '%s\n' "${help_message:-$0: wrong number of arguments}" >&2
    exit 1
  fi
}

unset __po_n __po_i __po_arg __po_file __po_name __po_val __po_shift __po_var __po_old
true  # the sourcing script sees status 0
