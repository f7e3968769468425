#!/usr/bin/env bash
# Kaldi steps/make_fbank.sh interface on top of utils/make_feats.sh (pytorch.bin.compute_feats).
# Writes <data>/feats.scp and <data>/utt2num_frames; arks go to <feat-dir> (default <data>/data).

nj=4
cmd=run.pl
fbank_config=conf/fbank.yaml
compress=true
write_utt2num_frames=true

help_message="Usage: $0 [options] <data-dir> [<log-dir> [<fbank-dir>]]
 e.g.: $0 --nj 8 --fbank-config conf/fbank.yaml data/train
Options:
  --fbank-config <yaml>                    # default: $fbank_config
  --nj <n>                                 # default: $nj
  --cmd <run.pl|slurm.pl ...>              # default: $cmd
  --compress <true|false>                  # default: $compress
  --write-utt2num-frames <true|false>      # default: $write_utt2num_frames"

. "$(dirname "$0")/parse_options.sh" || exit 1
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2
  exit 1
fi
exec "$(dirname "$0")/make_feats.sh" --feat-type fbank --config "$fbank_config" --nj "$nj" --cmd "$cmd" \
  --compress "$compress" --write-utt2num-frames "$write_utt2num_frames" "$@"
