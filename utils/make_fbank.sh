#!/usr/bin/env bash
# Kaldi steps/make_fbank.sh and steps/make_mfcc.sh (a link to this file: the name it is called by sets
# the feature type and its --<type>-config option) on top of utils/make_feats.sh (pytorch.bin.compute_feats).
# Writes <data>/feats.scp and <data>/utt2num_frames; arks go to <feat-dir> (default <data>/data).

# A function, not a variable: every variable set before parse_options.sh becomes an option.
kind() { local k; k=$(basename "$0" .sh); echo "${k#make_}"; }
case $(kind) in
  fbank|mfcc) ;;
  *) echo "$0: call this script as make_fbank.sh or make_mfcc.sh" >&2; exit 1 ;;
esac
nj=4
cmd=run.pl
compress=true
write_utt2num_frames=true
printf -v "$(kind)_config" '%s' "conf/$(kind).yaml"

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<$(kind)-dir>]]
 e.g.: $0 --nj 8 --$(kind)-config conf/$(kind).yaml data/train
Options:
  --$(kind)-config <yaml>                    # default: conf/$(kind).yaml
  --nj <n>                                 # default: $nj
  --cmd <run.pl|slurm.pl ...>              # default: $cmd
  --compress <true|false>                  # default: $compress
  --write-utt2num-frames <true|false>      # default: $write_utt2num_frames"

. "$(dirname "$0")/parse_options.sh" || exit 1
need_args 1 3 $#
config=$(kind)_config
exec "$(dirname "$0")/make_feats.sh" --feat-type "$(kind)" --config "${!config}" --nj "$nj" --cmd "$cmd" \
  --compress "$compress" --write-utt2num-frames "$write_utt2num_frames" "$@"
