# shellcheck shell=bash
# Helpers for utils/stages/*.sh (sourced; defines functions only).

# sys_name <exp-dir>: the system name, i.e. the exp dir's last component (exp/<config stem>).
sys_name() { basename "${1%/}"; }

# feats_root <exp-dir>: the dir holding the system's per-set feature dirs, i.e. the parent of the
# config's data.train (data for data/train, data/fbank40 for data/fbank40/train).
feats_root() { dirname "$(python -m pytorch.bin.config_get "${1%/}/config.yaml" data.train)"; }

# parse_trials <list>: checks a list of `name=path[@set]` trial specs and fills the arrays trials_names,
# trials_files and trials_sets (the @set of each spec, "" when it has none), in order. A missing file or a
# malformed spec is an error naming it.
parse_trials() {
  local spec name file set
  trials_names=() trials_files=() trials_sets=()
  [ -n "$1" ] || { echo "$0: --trials is empty (give name=path ...)" >&2; return 1; }
  for spec in $1; do
    name=${spec%%=*} file=${spec#*=} set=
    if [[ "$file" == *@* ]]; then set=${file##*@} file=${file%@*}; fi
    if [[ "$spec" != *=* ]] || [ -z "$name" ] || [[ "$spec" == *@ ]]; then
      echo "$0: bad trials spec '$spec': expected name=path[@set], e.g. vox1_O=data/vox1/trials/vox1_O" >&2
      return 1
    fi
    [ -s "$file" ] || { echo "$0: trials '$name': no such file or empty: $file" >&2; return 1; }
    trials_names+=("$name") trials_files+=("$file") trials_sets+=("$set")
  done
}

# plda_chain <exp-dir>: the PLDA back-end's chain: backend.plda_chain, else backend.chain when it ends
# in plda; empty when the system has no PLDA back-end (e.g. a cosine-only config).
plda_chain() {
  local c
  c=$(python -m pytorch.bin.config_get --default "" "${1%/}/config.yaml" backend.plda_chain)
  [ -n "$c" ] || c=$(python -m pytorch.bin.config_get "${1%/}/config.yaml" backend.chain)
  if [[ "$c" == *plda ]]; then echo "$c"; fi
}
